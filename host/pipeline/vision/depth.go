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

// Depth is one image's depth estimate, as transformers' depth-estimation pipeline returns it.
type Depth struct {
	// Predicted is the model's predicted_depth resized to the original image, row-major
	// [Height, Width] (the pipeline's "predicted_depth" tensor).
	Predicted []float32
	Width     int
	Height    int
	// Image is Predicted normalised to 0..255 as the pipeline's "depth" PIL image:
	// uint8((d - min) / (max - min) * 255), truncated. A constant map gives all zeros.
	Image *image.Gray
}

// DepthEstimator is the depth-estimation pipeline for models whose image processor's
// post_process_depth_estimation resizes predicted_depth to the image size with bicubic
// interpolation (DPT, GLPN, Depth Anything): HF preprocessing, one model call per image, the
// resize, and the normalised depth image.
type DepthEstimator struct {
	runner pipeline.Runner
	proc   *imageproc.Processor
	input  sdk.ValueInfo
	output string
}

// NewDepthEstimator prepares a depth estimator for a model directory whose graph "model" is
// loaded in runner. The graph must take pixel_values and return predicted_depth [N,h,w].
func NewDepthEstimator(dir *models.Dir, runner pipeline.Runner) (*DepthEstimator, error) {
	proc, info, in, err := openImageModel("depth estimator", dir, runner)
	if err != nil {
		return nil, err
	}
	out := "predicted_depth"
	if !hasOutput(info, out) {
		if len(info.Outputs) != 1 {
			return nil, fmt.Errorf("depth estimator: model has outputs %v and none named \"predicted_depth\"; cannot tell which holds the depth", outputNames(info))
		}
		out = info.Outputs[0].Name
	}
	return &DepthEstimator{runner: runner, proc: proc, input: in, output: out}, nil
}

// Estimate returns one depth estimate per image, each at its image's original size. Each image
// runs alone, as the pipeline's batch size of one does.
func (e *DepthEstimator) Estimate(ctx context.Context, imgs []image.Image) ([]Depth, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([]Depth, len(imgs))
	for i, img := range imgs {
		d, st, err := e.estimateOne(ctx, img)
		stats.Add(st)
		if err != nil {
			if len(imgs) > 1 {
				err = fmt.Errorf("image %d: %w", i, err)
			}
			return nil, stats, err
		}
		out[i] = d
	}
	return out, stats, nil
}

func (e *DepthEstimator) estimateOne(ctx context.Context, img image.Image) (Depth, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	batch, err := e.proc.Preprocess([]image.Image{img})
	if err != nil {
		return Depth{}, stats, err
	}
	pv, err := sdk.NewTensor(batch.Shape, batch.Data)
	if err != nil {
		return Depth{}, stats, err
	}
	stats.Preprocess = time.Since(t0)

	t1 := time.Now()
	res, err := e.runner.Run(ctx, "model", &sdk.RunRequest{
		Inputs:  []sdk.Value{{Name: e.input.Name, Tensor: pv}},
		Outputs: []sdk.OutputRequest{{Name: e.output}},
	})
	stats.Model = time.Since(t1)
	if err != nil {
		return Depth{}, stats, runError(err)
	}

	t2 := time.Now()
	pred, shape, err := pipeline.Output(res, e.output)
	if err != nil {
		return Depth{}, stats, err
	}
	// [1,h,w], or [1,1,h,w] as some exports keep the channel.
	if len(shape) == 4 && shape[1] == 1 {
		shape = []int64{shape[0], shape[2], shape[3]}
	}
	if len(shape) != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 {
		return Depth{}, stats, fmt.Errorf("model output %q has shape %s; want [1,height,width]", e.output, sdk.FormatShape(shape))
	}
	orig := batch.OriginalSizes[0]
	H, W := orig[0], orig[1]
	d := Depth{Predicted: ResizeBicubic(pred, int(shape[1]), int(shape[2]), H, W), Width: W, Height: H}
	d.Image = depthImage(d.Predicted, W, H)
	stats.Postprocess = time.Since(t2)
	return d, stats, nil
}

// depthImage is the pipeline's normalisation, in float32 as numpy does it on a float32 array.
func depthImage(depth []float32, w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range depth {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := float32(hi - lo)
	if !(span > 0) || math.IsInf(float64(span), 0) {
		// numpy divides 0 by 0 here and casts NaN to uint8, which is undefined; all zeros is
		// what it gives on x86-64.
		return img
	}
	for i, v := range depth {
		n := float32(float32(float32(v-lo)/span) * 255)
		img.Pix[i] = uint8(min(max(n, 0), 255))
	}
	return img
}

// ResizeBicubic resizes one [h,w] plane to [H,W] as torch.nn.functional.interpolate(
// mode="bicubic", align_corners=False) does on CPU in float32: ATen's separable
// upsample_bicubic2d kernel (A = -0.75, source index scale*(dst+0.5)-0.5, border indices
// clamped, height outermost) with the multiply-adds that the x86-64 build of torch 2.9.1 fuses.
// Measured: bit-equal to torch on all values of the DPT fixture's three resizes.
func ResizeBicubic(src []float32, h, w, H, W int) []float32 {
	ys := cubicTaps(h, H)
	xs := cubicTaps(w, W)
	out := make([]float32, H*W)
	for oy, ty := range ys {
		for ox, tx := range xs {
			var rows [4]float32
			for j := range 4 {
				row := src[ty.idx[j]*w:]
				rows[j] = sum4(row[tx.idx[0]], row[tx.idx[1]], row[tx.idx[2]], row[tx.idx[3]], &tx.w)
			}
			acc := sum4(rows[0], rows[1], rows[2], rows[3], &ty.w)
			out[oy*W+ox] = acc
		}
	}
	return out
}

// sum4 is ATen's Interpolate over four taps, v0*w0 + v1*w1 + v2*w2 + v3*w3, with the first two
// products fused as fma(v0, w0, v1*w1) and the others accumulated by FMA.
func sum4(v0, v1, v2, v3 float32, w *[4]float32) float32 {
	r := fma32(v0, w[0], float32(v1*w[1]))
	r = fma32(v2, w[2], r)
	return fma32(v3, w[3], r)
}

// cubicTap is one output index's four source indices and weights along one axis.
type cubicTap struct {
	idx [4]int
	w   [4]float32
}

// cubicTaps computes ATen's HelperInterpCubic::compute_indices_weights for align_corners=False
// and no explicit scale, with the source index's multiply-add fused as torch's x86-64 build does
// (the cubic coefficients are not fused there: fusing them broke bit-equality).
func cubicTaps(in, out int) []cubicTap {
	const a = float32(-0.75)
	conv1 := func(x float32) float32 { // |x| <= 1
		return float32(float32(float32(float32(float32(a+2)*x)-(a+3))*x)*x) + 1
	}
	conv2 := func(x float32) float32 { // 1 < |x| < 2
		return float32(float32(float32(float32(float32(a*x)-5*a)*x)+8*a)*x) - 4*a
	}
	scale := float32(in) / float32(out)
	taps := make([]cubicTap, out)
	for i := range taps {
		// No clamp at 0 for cubic.
		src := fma32(scale, float32(i)+0.5, -0.5)
		i0 := min(int(math.Floor(float64(src))), in-1)
		t := min(max(src-float32(i0), 0), 1)
		x2 := 1 - t
		tp := cubicTap{w: [4]float32{conv2(t + 1), conv1(t), conv1(x2), conv2(x2 + 1)}}
		for j := range 4 {
			tp.idx[j] = min(max(i0-1+j, 0), in-1)
		}
		taps[i] = tp
	}
	return taps
}
