// Package vision holds the vision family's pipelines: image classification (Classifier),
// object detection (Detector), semantic segmentation (Segmenter) and depth estimation
// (DepthEstimator). Image decoding and HF image-processor preprocessing live in
// preprocess/imageproc; this package only adds what is specific to each task: which tensors to
// feed and how the outputs become labels, boxes, masks or depth maps, as transformers' pipelines
// and image processors' post-processing compute them.
package vision

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/imageproc"
	"github.com/hfhost/hfhost/sdk"
)

// Classifier is the image-classification pipeline: HF preprocessing, one model call per batch,
// softmax (or sigmoid for multi-label models) and top-k with id2label.
type Classifier struct {
	runner    pipeline.Runner
	proc      *imageproc.Processor
	input     sdk.ValueInfo
	output    string
	multi     bool
	numLabels int
	labels    []string
}

// NewClassifier prepares an image classifier for a model directory whose graph "model" is
// loaded in runner.
func NewClassifier(dir *models.Dir, runner pipeline.Runner) (*Classifier, error) {
	proc, err := imageproc.FromDir(dir.Path)
	if err != nil {
		return nil, fmt.Errorf("image classifier: %w", err)
	}
	info := runner.Model("model")
	if info == nil {
		return nil, fmt.Errorf("image classifier: no graph \"model\" loaded")
	}
	in, err := pipeline.SingleInput(info, "pixel_values")
	if err != nil {
		return nil, fmt.Errorf("image classifier: %w", err)
	}
	if in.DType != sdk.Float32 || len(in.Shape) != 4 {
		return nil, fmt.Errorf("image classifier: model input %q is %s %s; want float32 [N,C,H,W]", in.Name, in.DType, sdk.FormatShape(in.Shape))
	}
	if c := in.Shape[1]; c > 0 && int(c) != proc.Channels() {
		return nil, fmt.Errorf("image classifier: model input %q wants %d channels, preprocessor_config.json produces %d; check do_convert_grayscale / do_convert_rgb", in.Name, c, proc.Channels())
	}
	out := "logits"
	found := false
	for _, o := range info.Outputs {
		found = found || o.Name == out
	}
	if !found {
		if len(info.Outputs) != 1 {
			return nil, fmt.Errorf("image classifier: model has no output \"logits\" and %d outputs; cannot tell which holds the class scores", len(info.Outputs))
		}
		out = info.Outputs[0].Name
	}
	numLabels := len(dir.Config.ID2Label)
	if numLabels == 0 {
		return nil, fmt.Errorf("image classifier: config.json has no id2label; cannot name the classes")
	}
	pt, _ := dir.Config.Raw["problem_type"].(string)
	return &Classifier{
		runner: runner, proc: proc, input: in, output: out, multi: pt == "multi_label_classification" || numLabels == 1,
		numLabels: numLabels, labels: dir.Config.Labels(numLabels),
	}, nil
}

// Classify returns the top k labels for each image (k <= 0: all labels).
func (c *Classifier) Classify(ctx context.Context, imgs []image.Image, k int) ([][]pipeline.Label, pipeline.Stats, error) {
	var stats pipeline.Stats
	// A model exported with a fixed batch dimension (MNIST-8's is 1) runs one image at a time.
	step := len(imgs)
	if b := c.input.Shape[0]; b > 0 {
		step = int(b)
	}
	var out [][]pipeline.Label
	for start := 0; start < len(imgs); start += step {
		end := min(start+step, len(imgs))
		labels, s, err := c.classifyBatch(ctx, imgs[start:end], k)
		stats.Add(s)
		if err != nil {
			return nil, stats, err
		}
		out = append(out, labels...)
	}
	return out, stats, nil
}

func (c *Classifier) classifyBatch(ctx context.Context, imgs []image.Image, k int) ([][]pipeline.Label, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	batch, err := c.proc.Preprocess(imgs)
	if err != nil {
		return nil, stats, err
	}
	pv, err := sdk.NewTensor(batch.Shape, batch.Data)
	if err != nil {
		return nil, stats, err
	}
	stats.Preprocess = time.Since(t0)

	t1 := time.Now()
	res, err := c.runner.Run(ctx, "model", &sdk.RunRequest{
		Inputs:  []sdk.Value{{Name: c.input.Name, Tensor: pv}},
		Outputs: []sdk.OutputRequest{{Name: c.output}},
	})
	stats.Model = time.Since(t1)
	if err != nil {
		if sdk.CodeOf(err) == sdk.InvalidInput {
			return nil, stats, fmt.Errorf("%w; check preprocessor_config.json size and channels against the model", err)
		}
		return nil, stats, err
	}

	t2 := time.Now()
	logits, shape, err := pipeline.Output(res, c.output)
	if err != nil {
		return nil, stats, err
	}
	if len(shape) != 2 || int(shape[0]) != len(imgs) || int(shape[1]) != c.numLabels {
		return nil, stats, fmt.Errorf("model output %q has shape %s; want [%d,%d] (batch, id2label size)", c.output, sdk.FormatShape(shape), len(imgs), c.numLabels)
	}
	out := make([][]pipeline.Label, len(imgs))
	for i := range imgs {
		row := logits[i*c.numLabels : (i+1)*c.numLabels]
		var scores []float32
		if c.multi {
			scores = pipeline.Sigmoid(row)
		} else {
			scores = pipeline.Softmax(row)
		}
		out[i] = pipeline.TopK(scores, c.labels, k)
	}
	stats.Postprocess = time.Since(t2)
	return out, stats, nil
}
