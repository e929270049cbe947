package text

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/sdk"
)

const featuresFixture = "bert-feature-extraction"

// TestFeaturesMatchPipelineOnRecordedStates feeds PyTorch's recorded hidden states back
// through the pipeline and compares them with transformers' pipeline.json, value by value.
func TestFeaturesMatchPipelineOnRecordedStates(t *testing.T) {
	d := openFixture(t, featuresFixture)
	for name, raw := range fixtureCases(t, featuresFixture) {
		t.Run(name, func(t *testing.T) {
			texts, _ := caseTexts(t, raw)
			r := newReplay(t, featuresFixture, name, "last_hidden_state")
			f, err := NewFeatureExtractor(d, r)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := f.Extract(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			// pipeline.json holds [tokens][hidden] per text (the generator drops the pipeline's
			// leading batch axis of 1).
			var want [][][]float64
			pipelineOutput(t, featuresFixture, name, &want)
			if len(got) != len(want) {
				t.Fatalf("%d results; transformers gave %d", len(got), len(want))
			}
			worst := 0.0
			for i := range want {
				w := want[i]
				if len(got[i]) != len(w) || len(got[i][0]) != len(w[0]) {
					t.Fatalf("text %d: %dx%d; transformers gave %dx%d", i, len(got[i]), len(got[i][0]), len(w), len(w[0]))
				}
				for tok := range w {
					for h := range w[tok] {
						worst = math.Max(worst, math.Abs(float64(got[i][tok][h])-w[tok][h]))
					}
				}
			}
			// The replayed values are PyTorch's float32 hidden states; pipeline.json prints the
			// same float32 values as float64.
			if worst > 1e-6 {
				t.Errorf("max difference %g from pipeline.json; want the same values", worst)
			}
		})
	}
}

func TestFeatureExtractorErrors(t *testing.T) {
	d := openFixture(t, featuresFixture)
	info := fixtureInfo(t, featuresFixture)
	two := *info
	two.Outputs = []sdk.ValueInfo{{Name: "a"}, {Name: "b"}}
	if _, err := NewFeatureExtractor(d, &fakeRunner{info: &two}); err == nil || !strings.Contains(err.Error(), "last_hidden_state") {
		t.Errorf("two outputs: err %v", err)
	}
	one := *info
	one.Outputs = []sdk.ValueInfo{{Name: "pooled"}}
	f, err := NewFeatureExtractor(d, &fakeRunner{info: &one})
	if err != nil || f.Output() != "pooled" {
		t.Errorf("single output: %v, output %q; want the only output used", err, f.Output())
	}
	boom := errors.New("backend gone")
	f, _ = NewFeatureExtractor(d, &replayRunner{info: info, err: boom})
	if _, _, err := f.Extract(context.Background(), []string{"hi"}); !errors.Is(err, boom) {
		t.Errorf("run error: %v; want the runner's error", err)
	}
	long := strings.Repeat("word ", 600)
	f, _ = NewFeatureExtractor(d, &replayRunner{info: info})
	var se *sdk.Error
	if _, _, err := f.Extract(context.Background(), []string{long}); !errors.As(err, &se) || se.Code != sdk.InvalidInput || !strings.Contains(err.Error(), "max_position_embeddings") {
		t.Errorf("text past the position table: err %v; want an invalid-input error naming max_position_embeddings", err)
	}
}
