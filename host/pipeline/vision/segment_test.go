package vision

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/sdk"
)

type hfSegment struct {
	Score       *float64 `json:"score"`
	Label       string   `json:"label"`
	MaskNpy     string   `json:"mask_npy"`
	MaskShapeHW [2]int   `json:"mask_shape_hw"`
	Pixels255   int      `json:"mask_pixels_255"`
}

// compareSegments checks segments against the pipeline's recorded ones: same labels in the same
// order, null scores, and masks equal pixel for pixel to the recorded uint8 [H,W] arrays. It
// returns the number of differing mask pixels.
func compareSegments(t *testing.T, expected, name string, got []Segment, want []hfSegment) int {
	t.Helper()
	if len(got) != len(want) {
		labels := make([]string, len(got))
		for i, g := range got {
			labels[i] = g.Label
		}
		t.Fatalf("%s: segments %v, transformers has %d", name, labels, len(want))
	}
	off := 0
	for i, w := range want {
		g := got[i]
		if g.Label != w.Label || g.Score != nil || w.Score != nil {
			t.Errorf("%s: segment %d: %s score %v, transformers %s score %v", name, i, g.Label, g.Score, w.Label, w.Score)
		}
		_, m := readNpy(t, filepath.Join(expected, w.MaskNpy))
		if len(m.Shape) != 2 || m.Shape[0] != w.MaskShapeHW[0] || m.Shape[1] != w.MaskShapeHW[1] || m.U8 == nil {
			t.Fatalf("%s: %s is %s %v; want uint8 %v", name, w.MaskNpy, m.DType, m.Shape, w.MaskShapeHW)
		}
		if b := g.Mask.Bounds(); b.Dy() != m.Shape[0] || b.Dx() != m.Shape[1] {
			t.Fatalf("%s: mask %dx%d, transformers %dx%d", name, b.Dx(), b.Dy(), m.Shape[1], m.Shape[0])
		}
		for p, v := range m.U8 {
			if g.Mask.Pix[p] != v {
				off++
			}
		}
		if off == 0 && g.Pixels != w.Pixels255 {
			t.Errorf("%s: segment %d counts %d pixels, transformers %d", name, i, g.Pixels, w.Pixels255)
		}
	}
	return off
}

// TestSegmenterPostprocessMatchesTransformers feeds the PyTorch logits recorded for the
// SegFormer fixture through a fake runner and compares labels and masks with transformers'
// image-segmentation pipeline output.
func TestSegmenterPostprocessMatchesTransformers(t *testing.T) {
	dir := fixtureDir("segformer")
	expected := filepath.Join(dir, "expected")
	var p struct {
		Outputs map[string]struct {
			Segments []hfSegment `json:"segments"`
		} `json:"outputs"`
	}
	readJSON(t, filepath.Join(expected, "pipeline.json"), &p)
	d, err := models.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fixtureInputs {
		logits, _ := readNpy(t, filepath.Join(expected, name+".logits.npy"))
		r := &outputsRunner{
			info: &sdk.ModelInfo{
				Inputs:  []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}}},
				Outputs: []sdk.ValueInfo{{Name: "logits"}},
			},
			outputs: map[string]*sdk.Tensor{"logits": logits},
		}
		seg, err := NewSegmenter(d, r)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := seg.Segment(context.Background(), []image.Image{decodePNG(t, filepath.Join(expected, "inputs", name+".png"))})
		if err != nil {
			t.Fatal(err)
		}
		checkFed(t, r, filepath.Join(expected, name+".pixel_values.npy"))
		if off := compareSegments(t, expected, name, got[0], p.Outputs[name].Segments); off != 0 {
			t.Errorf("%s: %d mask pixels differ from transformers'", name, off)
		}
	}
}

func TestSemanticMapBilinear(t *testing.T) {
	// One class ramps 0..3 along x over 4 columns, the other is constant 1.4. Upsampled to 8
	// columns (align_corners=False) the ramp reads 0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3:
	// class 1 wins the first four columns, class 0 the rest.
	logits := []float32{0, 1, 2, 3, 1.4, 1.4, 1.4, 1.4}
	got := SemanticMap(logits, 2, 1, 4, 2, 8)
	want := []int32{1, 1, 1, 1, 0, 0, 0, 0}
	for y := range 2 {
		for x := range 8 {
			if got[y*8+x] != want[x] {
				t.Fatalf("row %d: %v, want %v", y, got[y*8:y*8+8], want)
			}
		}
	}
}

func TestSegmenterErrors(t *testing.T) {
	d := modelDir(t, `{"id2label":{"0":"a","1":"b"}}`, `{"image_processor_type":"SegformerImageProcessor","size":{"height":4,"width":4}}`)
	in := []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, 4, 4}}}
	if _, err := NewSegmenter(d, &outputsRunner{info: &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "a"}, {Name: "b"}}}}); err == nil || !strings.Contains(err.Error(), "cannot tell which") {
		t.Errorf("two outputs: %v", err)
	}
	img := []image.Image{image.NewRGBA(image.Rect(0, 0, 4, 4))}
	for _, tc := range []struct {
		shape []int64
		want  string
	}{
		{[]int64{1, 2, 2}, "want [1,classes,height,width]"},
		{[]int64{1, 3, 1, 1}, "3 classes but config.json id2label names 2"},
	} {
		n := 1
		for _, s := range tc.shape {
			n *= int(s)
		}
		lt, _ := sdk.NewTensor(tc.shape, make([]float32, n))
		seg, err := NewSegmenter(d, &outputsRunner{info: &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "logits"}}}, outputs: map[string]*sdk.Tensor{"logits": lt}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := seg.Segment(context.Background(), img); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("shape %v: %v, want %q", tc.shape, err, tc.want)
		}
	}
}
