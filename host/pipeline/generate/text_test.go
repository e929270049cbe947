package generate

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/models"
)

func TestTextGeneratorDecodesAfterThePrompt(t *testing.T) {
	d, err := models.Open("../../../testdata/models/gpt2")
	if err != nil {
		t.Fatal(err)
	}
	// gpt2's eos_token_id is 0; the script stops on it.
	f := newFake(t, []int64{3, 4, 0, 5})
	g, err := NewTextGenerator(d, f)
	if err != nil {
		t.Fatal(err)
	}
	res, st, err := g.Generate(context.Background(), "Hello, this is", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.NewTokenIDs, []int64{3, 4, 0}) || st.Steps != 3 {
		t.Errorf("new ids %v in %d steps; want [3 4 0] in 3", res.NewTokenIDs, st.Steps)
	}
	if !strings.HasPrefix(res.GeneratedText, "Hello, this is") || len(res.GeneratedText) <= len("Hello, this is") {
		t.Errorf("generated text %q; want the prompt followed by the new tokens", res.GeneratedText)
	}
	if _, _, err := g.Generate(context.Background(), "", 3); err == nil || !strings.Contains(err.Error(), "no tokens") {
		t.Errorf("empty prompt: error %v; want one saying it has no tokens", err)
	}
}

func TestNewTextGeneratorNeedsTokenizer(t *testing.T) {
	_, err := NewTextGenerator(modelDir(t, `{}`), newFake(t))
	if err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("error %v; want one naming the missing tokenizer.json", err)
	}
}
