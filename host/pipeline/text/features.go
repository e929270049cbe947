package text

import (
	"context"
	"fmt"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

// FeatureExtractor is the feature-extraction pipeline with transformers' defaults: each text is
// tokenized as is (special tokens added, no truncation), runs alone, and the model's first
// output (last_hidden_state for an encoder) comes back as one vector per token, special tokens
// included, with no pooling. It is safe for concurrent use if its runner is.
type FeatureExtractor struct {
	enc    *encoder
	output string
}

// NewFeatureExtractor prepares a feature extractor for a model directory whose graph "model"
// is loaded in runner. It returns the graph's last_hidden_state output, or its only output.
func NewFeatureExtractor(dir *models.Dir, runner pipeline.Runner) (*FeatureExtractor, error) {
	const what = "feature extraction"
	e, err := newEncoder(what, dir, runner)
	if err != nil {
		return nil, err
	}
	f := &FeatureExtractor{enc: e, output: "last_hidden_state"}
	if !e.hasOutput(f.output) {
		outs := runner.Model("model").Outputs
		if len(outs) != 1 {
			return nil, fmt.Errorf("%s: model has no output \"last_hidden_state\" and %d outputs; cannot tell which holds the features (export with --task feature-extraction)", what, len(outs))
		}
		f.output = outs[0].Name
	}
	return f, nil
}

// Output returns the name of the model output the extractor returns.
func (f *FeatureExtractor) Output() string { return f.output }

// Extract returns, for each text, one feature vector per token ([tokens][hidden]), as
// transformers' pipeline returns pipeline(text)[0].
func (f *FeatureExtractor) Extract(ctx context.Context, texts []string) ([][][]float32, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([][][]float32, len(texts))
	for i, text := range texts {
		t0 := time.Now()
		enc, err := f.enc.tok.Encode(text, tokenizer.EncodeOptions{NoTruncation: true, NoPadding: true})
		if err != nil {
			return nil, stats, fmt.Errorf("feature extraction: text %d: %w", i, err)
		}
		stats.Preprocess += time.Since(t0)
		res, d, err := f.enc.run(ctx, enc, f.output)
		stats.Model += d
		if err != nil {
			return nil, stats, err
		}
		t1 := time.Now()
		if out[i], err = rows(res, f.output, enc.Len()); err != nil {
			return nil, stats, fmt.Errorf("feature extraction: %w", err)
		}
		stats.Postprocess += time.Since(t1)
	}
	return out, stats, nil
}
