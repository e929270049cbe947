package text

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/sdk"
)

const fillMaskFixture = "bert-fill-mask"

// fillMaskWant reads a case's pipeline.json: one list of predictions per text (transformers
// returns a bare list for a single text).
func fillMaskWant(t *testing.T, cs string) [][]Prediction {
	t.Helper()
	var raw json.RawMessage
	pipelineOutput(t, fillMaskFixture, cs, &raw)
	var many [][]Prediction
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	var one []Prediction
	if err := json.Unmarshal(raw, &one); err != nil {
		t.Fatalf("%s: pipeline.json output: %v", cs, err)
	}
	return [][]Prediction{one}
}

// TestFillMaskMatchesPipelineOnRecordedLogits feeds PyTorch's recorded logits back through the
// pipeline and compares tokens, decoded strings and sequences with transformers' pipeline.json.
func TestFillMaskMatchesPipelineOnRecordedLogits(t *testing.T) {
	d := openFixture(t, fillMaskFixture)
	for name, raw := range fixtureCases(t, fillMaskFixture) {
		t.Run(name, func(t *testing.T) {
			texts, _ := caseTexts(t, raw)
			r := newReplay(t, fillMaskFixture, name, "logits")
			f, err := NewFillMask(d, r)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := f.Fill(context.Background(), texts, DefaultFillMaskTopK)
			if err != nil {
				t.Fatal(err)
			}
			want := fillMaskWant(t, name)
			if len(got) != len(want) {
				t.Fatalf("%d results; transformers gave %d", len(got), len(want))
			}
			for i := range want {
				if len(got[i]) != 1 || len(got[i][0]) != len(want[i]) {
					t.Fatalf("text %d: %+v; transformers gave %+v", i, got[i], want[i])
				}
				for j, w := range want[i] {
					g := got[i][0][j]
					if g.Token != w.Token || g.TokenStr != w.TokenStr || g.Sequence != w.Sequence || math.Abs(float64(g.Score-w.Score)) > 1e-6 {
						t.Errorf("text %d rank %d: %+v; transformers gave %+v", i, j, g, w)
					}
				}
			}
		})
	}
}

func TestFillMaskTwoMasksKeepsSpecialTokens(t *testing.T) {
	d := openFixture(t, fillMaskFixture)
	f, err := NewFillMask(d, &fakeRunner{info: fixtureInfo(t, fillMaskFixture)})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := f.enc.tok.Encode("hello [MASK] [MASK]", tokenizerOpts())
	if err != nil {
		t.Fatal(err)
	}
	logits := make([][]float32, enc.Len())
	for i := range logits {
		logits[i] = make([]float32, f.enc.tok.VocabSize())
		logits[i][10+i] = 5
	}
	got, err := f.predict(enc, []int{2, 3}, logits, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0]) != 2 || got[0][0].Token != 12 || got[1][0].Token != 13 {
		t.Fatalf("two masks: %+v; want one list per mask, best token 12 then 13", got)
	}
	// With two masks transformers decodes without skip_special_tokens: the other mask and
	// [CLS]/[SEP] stay in the sequence.
	if !strings.Contains(got[0][0].Sequence, "[MASK]") || !strings.HasPrefix(got[0][0].Sequence, "[CLS]") {
		t.Errorf("sequence %q; want the other [MASK] and the special tokens kept", got[0][0].Sequence)
	}
}

func TestFillMaskErrors(t *testing.T) {
	d := openFixture(t, fillMaskFixture)
	info := fixtureInfo(t, fillMaskFixture)
	f, err := NewFillMask(d, &fakeRunner{info: info})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Fill(context.Background(), []string{"no mask here"}, 5); err == nil || !strings.Contains(err.Error(), "no mask token [MASK]") {
		t.Errorf("no mask: err %v", err)
	}
	bad := *info
	bad.Outputs = []sdk.ValueInfo{{Name: "last_hidden_state"}}
	if _, err := NewFillMask(d, &fakeRunner{info: &bad}); err == nil || !strings.Contains(err.Error(), "logits") {
		t.Errorf("no logits output: err %v", err)
	}
	noMask := copyDir(t, fillMaskFixture, `{"model_type":"bert"}`, map[string]string{})
	if err := writeFile(noMask.Path, "tokenizer_config.json", `{"pad_token":"[PAD]"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFillMask(noMask, &fakeRunner{info: info}); err == nil || !strings.Contains(err.Error(), "mask_token") {
		t.Errorf("no mask_token: err %v", err)
	}
	// The fake runner answers [batch, cols]: a 2-D output is refused with the shape wanted.
	f, _ = NewFillMask(d, &fakeRunner{info: info, cols: 3})
	if _, _, err := f.Fill(context.Background(), []string{"a [MASK]"}, 5); err == nil || !strings.Contains(err.Error(), "want [1,4,width]") {
		t.Errorf("2-D output: err %v", err)
	}
}
