package vision

import (
	"context"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/imageproc"
	"github.com/hfhost/hfhost/sdk"
)

// Segment is one label's region, as transformers' image-segmentation pipeline returns it.
type Segment struct {
	// Score is nil for semantic segmentation: the pipeline gives no score there.
	Score *float32 `json:"score"`
	Label string   `json:"label"`
	ID    int      `json:"id"`
	// Mask has the original image's size: 255 where the pixel's class is ID, 0 elsewhere (the
	// pipeline's PIL "L" mask).
	Mask *image.Gray `json:"-"`
	// Pixels counts the mask's 255 pixels.
	Pixels int `json:"pixels"`
}

// Segmenter is the image-segmentation pipeline for semantic-segmentation models (SegFormer and
// others whose image processor has post_process_semantic_segmentation and no panoptic or
// instance post-processing): HF preprocessing, one model call per image, logits upsampled
// bilinearly to the original size, argmax per pixel, and one mask per class present.
type Segmenter struct {
	runner pipeline.Runner
	proc   *imageproc.Processor
	input  sdk.ValueInfo
	output string
	labels []string
}

// NewSegmenter prepares a semantic segmenter for a model directory whose graph "model" is
// loaded in runner. The graph must take pixel_values and return logits [N,classes,h,w].
func NewSegmenter(dir *models.Dir, runner pipeline.Runner) (*Segmenter, error) {
	proc, info, in, err := openImageModel("image segmenter", dir, runner)
	if err != nil {
		return nil, err
	}
	out := "logits"
	if !hasOutput(info, out) {
		if len(info.Outputs) != 1 {
			return nil, fmt.Errorf("image segmenter: model has outputs %v and none named \"logits\"; cannot tell which holds the class scores", outputNames(info))
		}
		out = info.Outputs[0].Name
	}
	if len(dir.Config.ID2Label) == 0 {
		return nil, fmt.Errorf("image segmenter: config.json has no id2label; cannot name the classes")
	}
	return &Segmenter{runner: runner, proc: proc, input: in, output: out, labels: dir.Config.Labels(len(dir.Config.ID2Label))}, nil
}

// Segment returns, for each image, one segment per class that is the argmax somewhere, in
// class-id order (numpy.unique's order), as the pipeline's semantic subtask does. Each image runs
// alone, as the pipeline's batch size of one does.
func (s *Segmenter) Segment(ctx context.Context, imgs []image.Image) ([][]Segment, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([][]Segment, len(imgs))
	for i, img := range imgs {
		segs, st, err := s.segmentOne(ctx, img)
		stats.Add(st)
		if err != nil {
			if len(imgs) > 1 {
				err = fmt.Errorf("image %d: %w", i, err)
			}
			return nil, stats, err
		}
		out[i] = segs
	}
	return out, stats, nil
}

func (s *Segmenter) segmentOne(ctx context.Context, img image.Image) ([]Segment, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	batch, err := s.proc.Preprocess([]image.Image{img})
	if err != nil {
		return nil, stats, err
	}
	pv, err := sdk.NewTensor(batch.Shape, batch.Data)
	if err != nil {
		return nil, stats, err
	}
	stats.Preprocess = time.Since(t0)

	t1 := time.Now()
	res, err := s.runner.Run(ctx, "model", &sdk.RunRequest{
		Inputs:  []sdk.Value{{Name: s.input.Name, Tensor: pv}},
		Outputs: []sdk.OutputRequest{{Name: s.output}},
	})
	stats.Model = time.Since(t1)
	if err != nil {
		return nil, stats, runError(err)
	}

	t2 := time.Now()
	logits, shape, err := pipeline.Output(res, s.output)
	if err != nil {
		return nil, stats, err
	}
	if len(shape) != 4 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 || shape[3] < 1 {
		return nil, stats, fmt.Errorf("model output %q has shape %s; want [1,classes,height,width]", s.output, sdk.FormatShape(shape))
	}
	classes := int(shape[1])
	if classes > len(s.labels) {
		return nil, stats, fmt.Errorf("model output %q has %d classes but config.json id2label names %d; check that config.json belongs to this model", s.output, classes, len(s.labels))
	}
	orig := batch.OriginalSizes[0]
	H, W := orig[0], orig[1]
	classMap := SemanticMap(logits, classes, int(shape[2]), int(shape[3]), H, W)
	present := make([]bool, classes)
	for _, v := range classMap {
		present[v] = true
	}
	// One segment per present class, in id order (numpy.unique's).
	var segs []Segment
	index := make([]int, classes)
	for c, ok := range present {
		if ok {
			index[c] = len(segs)
			segs = append(segs, Segment{Label: s.labels[c], ID: c, Mask: image.NewGray(image.Rect(0, 0, W, H))})
		}
	}
	for p, v := range classMap {
		seg := &segs[index[v]]
		seg.Mask.Pix[p] = 255
		seg.Pixels++
	}
	stats.Postprocess = time.Since(t2)
	return segs, stats, nil
}

// SemanticMap is SegformerImageProcessor.post_process_semantic_segmentation for one image:
// logits [classes,h,w] are resized to [H,W] as torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False) does on CPU in float32, and each pixel takes the class with the largest
// value (the first on ties, as torch.argmax). The class scores are interpolated one output pixel
// at a time, so memory stays at H*W whatever the number of classes.
//
// ATen has two float kernels and picks by size: outputs with H+W <= 128 go through its
// channels-last kernel (weights multiplied per corner), larger ones through its generic separable
// kernel. Both are reproduced with the multiply-adds that the x86-64 build of torch 2.9.1 fuses
// (measured: bit-equal interpolated logits on the segformer fixture, 100% of values for
// both kernels). Not reproduced: the channels-last kernel's SIMD path, taken for the first
// classes in multiples of the vector width (8 or 16) when a model has at least that many, which
// sums in another order; such differences are float32 ulps and only matter on argmax ties.
func SemanticMap(logits []float32, classes, h, w, H, W int) []int32 {
	smallOutput := H+W <= 128
	ys := linearTaps(h, H, smallOutput)
	xs := linearTaps(w, W, smallOutput)
	out := make([]int32, H*W)
	plane := h * w
	for oy, ty := range ys {
		for ox, tx := range xs {
			var w00, w01, w10, w11 float32
			if smallOutput {
				w00, w01 = float32(ty.w0*tx.w0), float32(ty.w0*tx.w1)
				w10, w11 = float32(ty.w1*tx.w0), float32(ty.w1*tx.w1)
			}
			best, bestV := 0, float32(0)
			for c := range classes {
				src := logits[c*plane:]
				r0, r1 := src[ty.i0*w:], src[ty.i1*w:]
				var v float32
				if smallOutput {
					// cpu_upsample_linear_channels_last: i00*w00 + i01*w01 + i10*w10 + i11*w11.
					v = fma32(r0[tx.i0], w00, float32(r0[tx.i1]*w01))
					v = fma32(r1[tx.i0], w10, v)
					v = fma32(r1[tx.i1], w11, v)
				} else {
					// Interpolate<2>: t0*w0 + t1*w1 per axis, height outermost.
					t0 := fma32(r0[tx.i0], tx.w0, float32(r0[tx.i1]*tx.w1))
					t1 := fma32(r1[tx.i0], tx.w0, float32(r1[tx.i1]*tx.w1))
					v = fma32(t0, ty.w0, float32(t1*ty.w1))
				}
				if c == 0 || v > bestV {
					best, bestV = c, v
				}
			}
			out[oy*W+ox] = int32(best)
		}
	}
	return out
}

// linearTap is one output index's two source indices and weights along one axis.
type linearTap struct {
	i0, i1 int
	w0, w1 float32
}

// linearTaps computes ATen's source indices and weights for align_corners=False and no explicit
// scale: scale = in/out in float32, src = scale*(dst+0.5)-0.5 clamped at 0 (fused in the
// channels-last kernel, fused selects that).
func linearTaps(in, out int, fused bool) []linearTap {
	scale := float32(in) / float32(out)
	taps := make([]linearTap, out)
	for i := range taps {
		var src float32
		if fused {
			src = fma32(scale, float32(i)+0.5, -0.5)
		} else {
			src = float32(float32(scale*float32(float32(i)+0.5)) - 0.5)
		}
		if src < 0 {
			src = 0
		}
		i0 := min(int(src), in-1)
		lambda := min(max(src-float32(i0), 0), 1)
		i1 := i0
		if i0 < in-1 {
			i1 = i0 + 1
		}
		taps[i] = linearTap{i0: i0, i1: i1, w0: 1 - lambda, w1: lambda}
	}
	return taps
}

// fma32 is a float32 fused multiply-add a*b+c, as the FMA instructions torch's x86-64 kernels
// are compiled to. The product is exact in float64, so the only rounding besides the final one
// is that of the float64 sum (a double rounding that differs from a true float32 FMA only on
// exact float32 midpoints).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}
