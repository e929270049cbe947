package text

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/sdk"
)

const tokenFixture = "distilbert-token-classification"

// TestTokenClassifierMatchesPipelineOnRecordedLogits feeds PyTorch's recorded logits back
// through the pipeline and compares every entity with transformers' pipeline.json.
func TestTokenClassifierMatchesPipelineOnRecordedLogits(t *testing.T) {
	d := openFixture(t, tokenFixture)
	for name, raw := range fixtureCases(t, tokenFixture) {
		t.Run(name, func(t *testing.T) {
			texts, _ := caseTexts(t, raw)
			r := newReplay(t, tokenFixture, name, "logits")
			c, err := NewTokenClassifier(d, r)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := c.Classify(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			var want [][]Entity
			pipelineOutput(t, tokenFixture, name, &want)
			if len(got) != len(want) {
				t.Fatalf("%d results; transformers gave %d", len(got), len(want))
			}
			for i := range want {
				if len(got[i]) != len(want[i]) {
					t.Fatalf("text %d: %d entities %+v; transformers gave %d %+v", i, len(got[i]), got[i], len(want[i]), want[i])
				}
				for j, w := range want[i] {
					g := got[i][j]
					if g.Entity != w.Entity || g.Index != w.Index || g.Word != w.Word || g.Start != w.Start || g.End != w.End || math.Abs(float64(g.Score-w.Score)) > 1e-6 {
						t.Errorf("text %d entity %d: %+v; transformers gave %+v", i, j, g, w)
					}
				}
			}
		})
	}
}

func TestTokenClassifierErrors(t *testing.T) {
	d := openFixture(t, tokenFixture)
	info := fixtureInfo(t, tokenFixture)

	noLabels := copyDir(t, tokenFixture, `{"model_type":"distilbert"}`, map[string]string{})
	if _, err := NewTokenClassifier(noLabels, &replayRunner{info: info}); err == nil || !strings.Contains(err.Error(), "id2label") {
		t.Errorf("no id2label: err %v; want one naming id2label", err)
	}
	bad := *info
	bad.Outputs = []sdk.ValueInfo{{Name: "last_hidden_state"}}
	if _, err := NewTokenClassifier(d, &replayRunner{info: &bad}); err == nil || !strings.Contains(err.Error(), "logits") {
		t.Errorf("no logits output: err %v", err)
	}
	fixed := *info
	fixed.Inputs = []sdk.ValueInfo{{Name: inputIDs, DType: sdk.Int64, Shape: []int64{1, 128}}}
	if _, err := NewTokenClassifier(d, &replayRunner{info: &fixed}); err == nil || !strings.Contains(err.Error(), "fixed sequence length") {
		t.Errorf("fixed length: err %v", err)
	}
	boom := errors.New("backend gone")
	c, err := NewTokenClassifier(d, &replayRunner{info: info, err: boom})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Classify(context.Background(), []string{"hello"}); !errors.Is(err, boom) {
		t.Errorf("run error: %v; want the runner's error", err)
	}
	// Recorded logits of a different length than the text: the shape check names it.
	r := newReplay(t, tokenFixture, "ascii", "logits")
	c, _ = NewTokenClassifier(d, r)
	r.cut = 2
	if _, _, err := c.Classify(context.Background(), []string{"Hello world!"}); err == nil || !strings.Contains(err.Error(), "want [1,5,width]") {
		t.Errorf("wrong output shape: err %v", err)
	}
}
