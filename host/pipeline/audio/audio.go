// Package audio holds the audio family's pipelines. Decoding, resampling and feature extraction
// (Wav2Vec2, AST, Whisper) live in preprocess/audio; this package only adds what is specific to
// each task: for audio classification, softmax and top-k over id2label; for CTC speech
// recognition, greedy CTC decoding with the model's character vocabulary.
//
// Every clip is first downmixed to mono and resampled to the feature extractor's
// sampling_rate with torchaudio's default kernel (preprocess/audio's Clip.MonoAt), as
// transformers' pipelines do for audio at another rate. One exception in transformers 4.57.3:
// its ASR pipeline calls F.resample(x, in_sr, in_sr, 16000), which does not resample
// (huggingface/transformers#41298), so for a 44.1 kHz clip CTC here matches a correctly
// resampling transformers, not 4.57.3 itself.
//
// Each clip runs alone, as the HF pipelines run with their default batch_size 1: a Wav2Vec2
// graph without an attention_mask input would otherwise see the padding of shorter clips.
package audio

import (
	"context"
	"fmt"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
	"github.com/hfhost/hfhost/sdk"
)

// featureModel is what both pipelines share: a feature extractor and a graph "model" with one
// float32 input for its features.
type featureModel struct {
	runner pipeline.Runner
	ext    audioproc.Extractor
	input  sdk.ValueInfo
	output string
}

func newFeatureModel(what string, dir *models.Dir, runner pipeline.Runner) (*featureModel, error) {
	ext, err := audioproc.FromDir(dir.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	info := runner.Model("model")
	if info == nil {
		return nil, fmt.Errorf("%s: no graph \"model\" loaded", what)
	}
	in, err := pipeline.SingleInput(info, "input_values")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if in.DType != sdk.Float32 {
		return nil, fmt.Errorf("%s: model input %q is %s; want float32 features from %s", what, in.Name, in.DType, ext.Type())
	}
	out := "logits"
	found := false
	for _, o := range info.Outputs {
		found = found || o.Name == out
	}
	if !found {
		if len(info.Outputs) != 1 {
			return nil, fmt.Errorf("%s: model has no output \"logits\" and %d outputs; cannot tell which holds the scores", what, len(info.Outputs))
		}
		out = info.Outputs[0].Name
	}
	return &featureModel{runner: runner, ext: ext, input: in, output: out}, nil
}

// run extracts the features of one clip, runs the graph and returns its output.
func (m *featureModel) run(ctx context.Context, clip *audioproc.Clip, stats *pipeline.Stats) ([]float32, []int64, error) {
	if clip == nil {
		return nil, nil, fmt.Errorf("audio: nil clip")
	}
	t0 := time.Now()
	x, err := clip.MonoAt(m.ext.SampleRate())
	if err != nil {
		return nil, nil, err
	}
	f, err := m.ext.Extract(ctx, [][]float32{x})
	if err != nil {
		return nil, nil, err
	}
	if len(f.Shape) != len(m.input.Shape) {
		return nil, nil, fmt.Errorf("model input %q has shape %s; %s makes %s features %s: the graph does not take this extractor's features", m.input.Name, sdk.FormatShape(m.input.Shape), m.ext.Type(), f.Name, sdk.FormatShape(f.Shape))
	}
	for i, d := range m.input.Shape {
		if d > 0 && d != f.Shape[i] {
			return nil, nil, fmt.Errorf("model input %q wants %s, %s makes %s %s; check preprocessor_config.json against the model", m.input.Name, sdk.FormatShape(m.input.Shape), m.ext.Type(), f.Name, sdk.FormatShape(f.Shape))
		}
	}
	t, err := sdk.NewTensor(f.Shape, f.Data)
	if err != nil {
		return nil, nil, err
	}
	stats.Preprocess += time.Since(t0)

	t1 := time.Now()
	res, err := m.runner.Run(ctx, "model", &sdk.RunRequest{
		Inputs:  []sdk.Value{{Name: m.input.Name, Tensor: t}},
		Outputs: []sdk.OutputRequest{{Name: m.output}},
	})
	stats.Model += time.Since(t1)
	if err != nil {
		return nil, nil, err
	}
	return pipeline.Output(res, m.output)
}

// Classifier is the audio-classification pipeline (AST, Wav2Vec2ForSequenceClassification...):
// features, one model call per clip, softmax over the logits (transformers'
// function_to_apply default, whatever problem_type says) and top-k with id2label.
type Classifier struct {
	m         *featureModel
	numLabels int
	labels    []string
}

// DefaultTopK is the HF audio-classification pipeline's default top_k.
const DefaultTopK = 5

// NewClassifier prepares an audio classifier for a model directory (preprocessor_config.json,
// config.json with id2label) whose graph "model" is loaded in runner.
func NewClassifier(dir *models.Dir, runner pipeline.Runner) (*Classifier, error) {
	m, err := newFeatureModel("audio classifier", dir, runner)
	if err != nil {
		return nil, err
	}
	n := len(dir.Config.ID2Label)
	if n == 0 {
		return nil, fmt.Errorf("audio classifier: config.json has no id2label; cannot name the classes")
	}
	return &Classifier{m: m, numLabels: n, labels: dir.Config.Labels(n)}, nil
}

// Classify returns the top k labels for each clip, best first (k <= 0: all labels; the HF
// pipeline's default is DefaultTopK).
func (c *Classifier) Classify(ctx context.Context, clips []*audioproc.Clip, k int) ([][]pipeline.Label, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([][]pipeline.Label, len(clips))
	for i, clip := range clips {
		logits, shape, err := c.m.run(ctx, clip, &stats)
		if err != nil {
			return nil, stats, fmt.Errorf("audio classifier: clip %d: %w", i, err)
		}
		t0 := time.Now()
		if len(shape) != 2 || shape[0] != 1 || int(shape[1]) != c.numLabels {
			return nil, stats, fmt.Errorf("audio classifier: model output %q has shape %s; want [1,%d] (batch, id2label size)", c.m.output, sdk.FormatShape(shape), c.numLabels)
		}
		out[i] = pipeline.TopK(pipeline.Softmax(logits), c.labels, k)
		stats.Postprocess += time.Since(t0)
	}
	return out, stats, nil
}
