package vision

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/sdk"
)

type hfDepth struct {
	PredictedDepthNpy   string `json:"predicted_depth_npy"`
	PredictedDepthShape [2]int `json:"predicted_depth_shape"`
	DepthNpy            string `json:"depth_npy"`
	DepthMode           string `json:"depth_mode"`
	DepthSizeWH         [2]int `json:"depth_size_wh"`
}

// compareDepth returns the largest |got - transformers| of the resized predicted_depth relative
// to the map's largest magnitude, and how many depth-image pixels differ.
func compareDepth(t *testing.T, expected, name string, got Depth, want hfDepth) (rel float64, off int) {
	t.Helper()
	pd := readNpyArray(t, filepath.Join(expected, want.PredictedDepthNpy))
	if len(pd.Shape) != 2 || pd.Shape[0] != want.PredictedDepthShape[0] || pd.Shape[1] != want.PredictedDepthShape[1] {
		t.Fatalf("%s: %s has shape %v; pipeline.json says %v", name, want.PredictedDepthNpy, pd.Shape, want.PredictedDepthShape)
	}
	if got.Height != pd.Shape[0] || got.Width != pd.Shape[1] || len(got.Predicted) != len(pd.F32) {
		t.Fatalf("%s: depth %dx%d, transformers %dx%d", name, got.Width, got.Height, pd.Shape[1], pd.Shape[0])
	}
	var worst, scale float64
	exact := 0
	for i, v := range pd.F32 {
		if got.Predicted[i] == v {
			exact++
		}
		worst = math.Max(worst, math.Abs(float64(got.Predicted[i])-float64(v)))
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	t.Logf("%s: %d of %d resized depth values bit-equal to transformers'; max abs diff %.3g", name, exact, len(pd.F32), worst)
	img := readNpyArray(t, filepath.Join(expected, want.DepthNpy))
	if want.DepthMode != "L" || img.U8 == nil || img.Shape[1] != want.DepthSizeWH[0] || img.Shape[0] != want.DepthSizeWH[1] {
		t.Fatalf("%s: %s is %s %v mode %s", name, want.DepthNpy, img.DType, img.Shape, want.DepthMode)
	}
	if b := got.Image.Bounds(); b.Dx() != want.DepthSizeWH[0] || b.Dy() != want.DepthSizeWH[1] {
		t.Fatalf("%s: depth image %dx%d, transformers %v", name, b.Dx(), b.Dy(), want.DepthSizeWH)
	}
	for i, v := range img.U8 {
		if got.Image.Pix[i] != v {
			off++
		}
	}
	return worst / math.Max(scale, 1), off
}

// TestDepthPostprocessMatchesTransformers feeds the PyTorch predicted_depth recorded for the
// DPT fixture through a fake runner and compares the bicubic-resized depth and the uint8 depth
// image with transformers' depth-estimation pipeline output (bit-equal).
func TestDepthPostprocessMatchesTransformers(t *testing.T) {
	dir := fixtureDir("dpt")
	expected := filepath.Join(dir, "expected")
	var p struct {
		Outputs map[string]hfDepth `json:"outputs"`
	}
	readJSON(t, filepath.Join(expected, "pipeline.json"), &p)
	d, err := models.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for _, name := range fixtureInputs {
		pred, _ := readNpy(t, filepath.Join(expected, name+".predicted_depth.npy"))
		r := &outputsRunner{
			info: &sdk.ModelInfo{
				Inputs:  []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}}},
				Outputs: []sdk.ValueInfo{{Name: "predicted_depth"}},
			},
			outputs: map[string]*sdk.Tensor{"predicted_depth": pred},
		}
		est, err := NewDepthEstimator(d, r)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := est.Estimate(context.Background(), []image.Image{decodePNG(t, filepath.Join(expected, "inputs", name+".png"))})
		if err != nil {
			t.Fatal(err)
		}
		checkFed(t, r, filepath.Join(expected, name+".pixel_values.npy"))
		rel, off := compareDepth(t, expected, name, got[0], p.Outputs[name])
		worst = math.Max(worst, rel)
		if off != 0 {
			t.Errorf("%s: %d depth image pixels differ from transformers'", name, off)
		}
	}
	t.Logf("dpt: max |predicted_depth - transformers| / max|depth| = %.3g", worst)
	// The resize reproduces ATen's float32 arithmetic, so the values must be bit-equal.
	if worst != 0 {
		t.Errorf("resized predicted_depth differs by %g relative; want bit-equal values", worst)
	}
}

func TestResizeBicubicKeepsConstantsAndSize(t *testing.T) {
	src := make([]float32, 3*5)
	for i := range src {
		src[i] = 7
	}
	out := ResizeBicubic(src, 3, 5, 4, 9)
	if len(out) != 36 {
		t.Fatalf("%d values", len(out))
	}
	for _, v := range out {
		// The four cubic weights sum to 1 up to float32 rounding.
		if math.Abs(float64(v)-7) > 1e-5 {
			t.Fatalf("constant plane resized to %v", out)
		}
	}
	// A constant map has no range to normalise: numpy gives NaN, cast to 0 on x86-64.
	if img := depthImage(src, 5, 3); img.Pix[0] != 0 || img.Pix[14] != 0 {
		t.Fatalf("constant depth image %v", img.Pix)
	}
}

func TestDepthErrors(t *testing.T) {
	d := modelDir(t, `{"model_type":"dpt"}`, `{"image_processor_type":"DPTImageProcessor","size":{"height":4,"width":4}}`)
	in := []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, 4, 4}}}
	if _, err := NewDepthEstimator(d, &outputsRunner{info: &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "a"}, {Name: "b"}}}}); err == nil || !strings.Contains(err.Error(), "predicted_depth") {
		t.Errorf("two outputs: %v", err)
	}
	pt, _ := sdk.NewTensor([]int64{1, 2, 2, 2}, make([]float32, 8))
	est, err := NewDepthEstimator(d, &outputsRunner{info: &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "predicted_depth"}}}, outputs: map[string]*sdk.Tensor{"predicted_depth": pt}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := est.Estimate(context.Background(), []image.Image{image.NewRGBA(image.Rect(0, 0, 4, 4))}); err == nil || !strings.Contains(err.Error(), "want [1,height,width]") {
		t.Errorf("rank 4: %v", err)
	}
}
