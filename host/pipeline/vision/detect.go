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

// DefaultDetectionThreshold is transformers' ObjectDetectionPipeline default: a detection is
// kept when its score is strictly above it.
const DefaultDetectionThreshold = 0.5

// Box is a detection's corners in pixels of the original image. The values are truncated toward
// zero, as the pipeline's box.int() does (not rounded).
type Box struct {
	XMin int `json:"xmin"`
	YMin int `json:"ymin"`
	XMax int `json:"xmax"`
	YMax int `json:"ymax"`
}

// Detection is one detected object, as transformers' object-detection pipeline returns it.
type Detection struct {
	Score float32 `json:"score"`
	Label string  `json:"label"`
	ID    int     `json:"id"`
	Box   Box     `json:"box"`
}

// Detector is the object-detection pipeline for DETR-style models (DETR, YOLOS, and others whose
// image processor's post_process_object_detection softmaxes over the classes plus a last
// "no object" class): HF preprocessing, one model call per image, then the post-processing of
// transformers' ObjectDetectionPipeline.
type Detector struct {
	runner pipeline.Runner
	proc   *imageproc.Processor
	input  sdk.ValueInfo
	// mask is the name of the graph's pixel_mask input, "" when the graph has none.
	mask   string
	labels []string
}

// NewDetector prepares an object detector for a model directory whose graph "model" is loaded
// in runner. The graph must take pixel_values (and optionally pixel_mask) and return logits
// [N,queries,classes+1] and pred_boxes [N,queries,4].
func NewDetector(dir *models.Dir, runner pipeline.Runner) (*Detector, error) {
	proc, info, in, err := openImageModel("object detector", dir, runner)
	if err != nil {
		return nil, err
	}
	for _, want := range []string{"logits", "pred_boxes"} {
		if !hasOutput(info, want) {
			return nil, fmt.Errorf("object detector: model has outputs %v, none named %q; this pipeline wants logits and pred_boxes as Optimum's object-detection export names them", outputNames(info), want)
		}
	}
	d := &Detector{runner: runner, proc: proc, input: in}
	for _, i := range info.Inputs {
		if i.Name == "pixel_mask" {
			d.mask = i.Name
		}
	}
	if len(dir.Config.ID2Label) == 0 {
		return nil, fmt.Errorf("object detector: config.json has no id2label; cannot name the classes")
	}
	d.labels = dir.Config.Labels(len(dir.Config.ID2Label))
	return d, nil
}

// Detect returns, for each image, the detections scoring strictly above threshold, in query
// order (the pipeline does not sort them). Each image runs alone, as the pipeline's batch size of
// one does, so no image is padded to another's size.
func (d *Detector) Detect(ctx context.Context, imgs []image.Image, threshold float64) ([][]Detection, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([][]Detection, len(imgs))
	for i, img := range imgs {
		dets, s, err := d.detectOne(ctx, img, threshold)
		stats.Add(s)
		if err != nil {
			if len(imgs) > 1 {
				err = fmt.Errorf("image %d: %w", i, err)
			}
			return nil, stats, err
		}
		out[i] = dets
	}
	return out, stats, nil
}

func (d *Detector) detectOne(ctx context.Context, img image.Image, threshold float64) ([]Detection, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	batch, err := d.proc.Preprocess([]image.Image{img})
	if err != nil {
		return nil, stats, err
	}
	pv, err := sdk.NewTensor(batch.Shape, batch.Data)
	if err != nil {
		return nil, stats, err
	}
	inputs := []sdk.Value{{Name: d.input.Name, Tensor: pv}}
	if d.mask != "" {
		pm := batch.PixelMask
		if pm == nil {
			// A processor that does not pad has no mask: every pixel is real.
			pm = make([]int64, batch.Shape[2]*batch.Shape[3])
			for i := range pm {
				pm[i] = 1
			}
		}
		mt, err := sdk.NewTensor([]int64{1, batch.Shape[2], batch.Shape[3]}, pm)
		if err != nil {
			return nil, stats, err
		}
		inputs = append(inputs, sdk.Value{Name: d.mask, Tensor: mt})
	}
	stats.Preprocess = time.Since(t0)

	t1 := time.Now()
	res, err := d.runner.Run(ctx, "model", &sdk.RunRequest{
		Inputs:  inputs,
		Outputs: []sdk.OutputRequest{{Name: "logits"}, {Name: "pred_boxes"}},
	})
	stats.Model = time.Since(t1)
	if err != nil {
		return nil, stats, runError(err)
	}

	t2 := time.Now()
	logits, lshape, err := pipeline.Output(res, "logits")
	if err != nil {
		return nil, stats, err
	}
	boxes, bshape, err := pipeline.Output(res, "pred_boxes")
	if err != nil {
		return nil, stats, err
	}
	if len(lshape) != 3 || lshape[0] != 1 || lshape[2] < 2 {
		return nil, stats, fmt.Errorf("model output \"logits\" has shape %s; want [1,queries,classes+1] (the last class is \"no object\")", sdk.FormatShape(lshape))
	}
	if len(bshape) != 3 || bshape[0] != 1 || bshape[1] != lshape[1] || bshape[2] != 4 {
		return nil, stats, fmt.Errorf("model output \"pred_boxes\" has shape %s; want [1,%d,4] (cx, cy, w, h per query, as many queries as logits)", sdk.FormatShape(bshape), lshape[1])
	}
	classes := int(lshape[2]) - 1
	labels := d.labels
	if classes != len(labels) {
		// transformers indexes id2label with the class id; names beyond it would be a KeyError
		// there. LABEL_<id> is what a config without that id would name it by default.
		labels = make([]string, classes)
		copy(labels, d.labels)
		for i := len(d.labels); i < classes; i++ {
			labels[i] = fmt.Sprintf("LABEL_%d", i)
		}
	}
	orig := batch.OriginalSizes[0]
	dets := postprocessDetections(logits, boxes, int(lshape[1]), classes, orig[0], orig[1], float32(threshold), labels)
	stats.Postprocess = time.Since(t2)
	return dets, stats, nil
}

// postprocessDetections is DetrImageProcessor.post_process_object_detection (YOLOS has the same)
// followed by the pipeline's formatting, for one image: softmax over classes+1, the best class
// among all but the last ("no object"), kept when its score is > threshold (compared in float32,
// as torch compares a float32 tensor with a Python float), boxes from (cx, cy, w, h) relative to
// corners scaled by the original image's width and height, in float32, truncated to ints.
func postprocessDetections(logits, boxes []float32, queries, classes, height, width int, threshold float32, labels []string) []Detection {
	var out []Detection
	w, h := float32(width), float32(height)
	for q := 0; q < queries; q++ {
		prob := pipeline.Softmax(logits[q*(classes+1) : (q+1)*(classes+1)])
		best := 0
		for c := 1; c < classes; c++ {
			if prob[c] > prob[best] {
				best = c
			}
		}
		if !(prob[best] > threshold) {
			continue
		}
		b := boxes[q*4 : q*4+4]
		cx, cy, bw, bh := b[0], b[1], b[2], b[3]
		// Explicit float32 conversions keep each step rounded as torch's float32 ops are (the Go
		// spec lets a compiler fuse x*y+z otherwise).
		hw, hh := float32(0.5*bw), float32(0.5*bh)
		out = append(out, Detection{
			Score: prob[best], Label: labels[best], ID: best,
			Box: Box{
				XMin: truncInt(float32(float32(cx-hw) * w)),
				YMin: truncInt(float32(float32(cy-hh) * h)),
				XMax: truncInt(float32(float32(cx+hw) * w)),
				YMax: truncInt(float32(float32(cy+hh) * h)),
			},
		})
	}
	return out
}

// truncInt is torch's float32 -> int32 conversion (Tensor.int()): toward zero. Values outside
// int32 (or NaN) are undefined in C++; they are clamped here.
func truncInt(v float32) int {
	switch {
	case v != v:
		return 0
	case v >= 2147483647:
		return 2147483647
	case v <= -2147483648:
		return -2147483648
	}
	return int(v)
}

// openImageModel reads the image processor and checks the graph's image input, as every
// single-graph vision pipeline needs.
func openImageModel(who string, dir *models.Dir, runner pipeline.Runner) (*imageproc.Processor, *sdk.ModelInfo, sdk.ValueInfo, error) {
	proc, err := imageproc.FromDir(dir.Path)
	if err != nil {
		return nil, nil, sdk.ValueInfo{}, fmt.Errorf("%s: %w", who, err)
	}
	info := runner.Model("model")
	if info == nil {
		return nil, nil, sdk.ValueInfo{}, fmt.Errorf("%s: no graph \"model\" loaded", who)
	}
	in, err := pipeline.SingleInput(info, "pixel_values")
	if err != nil {
		return nil, nil, sdk.ValueInfo{}, fmt.Errorf("%s: %w", who, err)
	}
	if in.DType != sdk.Float32 || len(in.Shape) != 4 {
		return nil, nil, sdk.ValueInfo{}, fmt.Errorf("%s: model input %q is %s %s; want float32 [N,C,H,W]", who, in.Name, in.DType, sdk.FormatShape(in.Shape))
	}
	if c := in.Shape[1]; c > 0 && int(c) != proc.Channels() {
		return nil, nil, sdk.ValueInfo{}, fmt.Errorf("%s: model input %q wants %d channels, preprocessor_config.json produces %d; check do_convert_grayscale / do_convert_rgb", who, in.Name, c, proc.Channels())
	}
	return proc, info, in, nil
}

// runError adds what to check to a backend's invalid-input answer.
func runError(err error) error {
	if sdk.CodeOf(err) == sdk.InvalidInput {
		return fmt.Errorf("%w; check preprocessor_config.json size and channels against the model", err)
	}
	return err
}

func hasOutput(info *sdk.ModelInfo, name string) bool {
	for _, o := range info.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

func outputNames(info *sdk.ModelInfo) []string {
	names := make([]string, len(info.Outputs))
	for i, o := range info.Outputs {
		names[i] = o.Name
	}
	return names
}
