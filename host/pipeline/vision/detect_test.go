package vision

import (
	"context"
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/internal/npy"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/preprocess/imageproc"
	"github.com/hfhost/hfhost/sdk"
)

// outputsRunner answers every run with the same named outputs; it records what was fed.
type outputsRunner struct {
	info    *sdk.ModelInfo
	outputs map[string]*sdk.Tensor
	got     []*sdk.RunRequest
}

func (f *outputsRunner) Model(string) *sdk.ModelInfo { return f.info }

func (f *outputsRunner) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	f.got = append(f.got, req)
	res := &sdk.RunResult{}
	for _, o := range req.Outputs {
		if t, ok := f.outputs[o.Name]; ok {
			res.Outputs = append(res.Outputs, sdk.Value{Name: o.Name, Tensor: t})
		}
	}
	return res, nil
}

func fixtureDir(arch string) string {
	return filepath.Join("..", "..", "..", "testdata", "models", arch)
}

func readNpy(t *testing.T, path string) (*sdk.Tensor, *npy.Array) {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	shape := make([]int64, len(a.Shape))
	for i, s := range a.Shape {
		shape[i] = int64(s)
	}
	var tt *sdk.Tensor
	switch {
	case a.F32 != nil:
		tt, err = sdk.NewTensor(shape, a.F32)
	case a.I64 != nil:
		tt, err = sdk.NewTensor(shape, a.I64)
	case a.U8 != nil:
		tt, err = sdk.NewTensor(shape, a.U8)
	}
	if err != nil || tt == nil {
		t.Fatalf("%s: %s %v: %v", path, a.DType, a.Shape, err)
	}
	return tt, a
}

func readNpyArray(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := imageproc.Decode(f, imageproc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// readJSON decodes a JSON file into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkFed checks that the first run was fed exactly the pixel_values transformers recorded.
func checkFed(t *testing.T, r *outputsRunner, path string) {
	t.Helper()
	_, pv := readNpy(t, path)
	fed, _ := sdk.Values[float32](r.got[0].Inputs[0].Tensor)
	if len(fed) != len(pv.F32) {
		t.Fatalf("fed %d pixel values %v, transformers %d %v", len(fed), r.got[0].Inputs[0].Tensor.Shape, len(pv.F32), pv.Shape)
	}
	for i := range fed {
		if fed[i] != pv.F32[i] {
			t.Fatalf("pixel_values[%d] = %v, transformers %v (%s)", i, fed[i], pv.F32[i], path)
		}
	}
}

var fixtureInputs = []string{"gradient_64x48", "shapes_80x100", "noise_40x40"}

type hfDetection struct {
	Score float64 `json:"score"`
	Label string  `json:"label"`
	Box   Box     `json:"box"`
}

// TestDetectorPostprocessMatchesTransformers feeds the PyTorch logits and pred_boxes recorded
// for the DETR and YOLOS fixtures through a fake runner and compares the detections with
// transformers' pipeline output (threshold 0.0, as recorded); it also checks that the pipeline
// fed the recorded pixel_values.
func TestDetectorPostprocessMatchesTransformers(t *testing.T) {
	for _, arch := range []string{"detr", "yolos"} {
		t.Run(arch, func(t *testing.T) {
			dir := fixtureDir(arch)
			var p struct {
				Call    string `json:"call"`
				Outputs map[string]struct {
					Detections []hfDetection `json:"detections"`
				} `json:"outputs"`
			}
			readJSON(t, filepath.Join(dir, "expected", "pipeline.json"), &p)
			if !strings.Contains(p.Call, "threshold=0.0") {
				t.Fatalf("pipeline.json call %q; this test assumes threshold=0.0", p.Call)
			}
			d, err := models.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for _, name := range fixtureInputs {
				logits, _ := readNpy(t, filepath.Join(dir, "expected", name+".logits.npy"))
				boxes, _ := readNpy(t, filepath.Join(dir, "expected", name+".pred_boxes.npy"))
				r := &outputsRunner{
					info: &sdk.ModelInfo{
						Inputs:  []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}}},
						Outputs: []sdk.ValueInfo{{Name: "logits"}, {Name: "pred_boxes"}},
					},
					outputs: map[string]*sdk.Tensor{"logits": logits, "pred_boxes": boxes},
				}
				det, err := NewDetector(d, r)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := det.Detect(context.Background(), []image.Image{decodePNG(t, filepath.Join(dir, "expected", "inputs", name+".png"))}, 0.0)
				if err != nil {
					t.Fatal(err)
				}
				checkFed(t, r, filepath.Join(dir, "expected", name+".pixel_values.npy"))
				want := p.Outputs[name].Detections
				if len(got[0]) != len(want) {
					t.Fatalf("%s: %d detections, transformers %d", name, len(got[0]), len(want))
				}
				for i, w := range want {
					g := got[0][i]
					worst = math.Max(worst, math.Abs(float64(g.Score)-w.Score))
					if g.Label != w.Label || g.Box != w.Box {
						t.Errorf("%s: detection %d: %s %+v, transformers %s %+v", name, i, g.Label, g.Box, w.Label, w.Box)
					}
				}
			}
			t.Logf("%s: max |score - transformers| = %.3g", arch, worst)
			if worst > 1e-6 {
				t.Errorf("max score difference %g exceeds 1e-6", worst)
			}
		})
	}
}

func TestDetectorThresholdAndMask(t *testing.T) {
	d := modelDir(t, `{"id2label":{"0":"a","1":"b"}}`, `{"image_processor_type":"DetrImageProcessor","size":{"shortest_edge":8,"longest_edge":8}}`)
	// Two queries over classes a, b and no-object: the first scores b at ~0.665 (kept at 0.5),
	// the second gives no-object most and a at ~0.245 (dropped).
	logits, _ := sdk.NewTensor([]int64{1, 2, 3}, []float32{0, 1, -1, 0, -1, 1})
	boxes, _ := sdk.NewTensor([]int64{1, 2, 4}, []float32{0.5, 0.5, 0.5, 0.25, 0.1, 0.1, 0.4, 0.4})
	r := &outputsRunner{
		info: &sdk.ModelInfo{
			Inputs:  []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}}, {Name: "pixel_mask", DType: sdk.Int64, Shape: []int64{-1, -1, -1}}},
			Outputs: []sdk.ValueInfo{{Name: "logits"}, {Name: "pred_boxes"}},
		},
		outputs: map[string]*sdk.Tensor{"logits": logits, "pred_boxes": boxes},
	}
	det, err := NewDetector(d, r)
	if err != nil {
		t.Fatal(err)
	}
	// 10 wide, 7 high: corners (0.25*10, 0.375*7, 0.75*10, 0.625*7) truncate to 2, 2, 7, 4.
	img := image.NewRGBA(image.Rect(0, 0, 10, 7))
	got, _, err := det.Detect(context.Background(), []image.Image{img}, DefaultDetectionThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 1 || got[0][0].Label != "b" || got[0][0].Box != (Box{2, 2, 7, 4}) || math.Abs(float64(got[0][0].Score)-0.66524) > 1e-4 {
		t.Fatalf("got %+v", got)
	}
	if len(r.got[0].Inputs) != 2 || r.got[0].Inputs[1].Name != "pixel_mask" || sdk.FormatShape(r.got[0].Inputs[1].Tensor.Shape) != "[1,6,8]" {
		t.Fatalf("fed %+v", r.got[0].Inputs)
	}
	all, _, _ := det.Detect(context.Background(), []image.Image{img}, 0)
	if len(all[0]) != 2 || all[0][1].Label != "a" {
		t.Fatalf("threshold 0: %+v", all)
	}
}

func TestDetectorErrors(t *testing.T) {
	d := modelDir(t, `{"id2label":{"0":"a"}}`, `{"image_processor_type":"DetrImageProcessor","size":{"shortest_edge":8,"longest_edge":8}}`)
	in := []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}}}
	if _, err := NewDetector(d, &outputsRunner{info: &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "logits"}}}}); err == nil || !strings.Contains(err.Error(), "pred_boxes") {
		t.Errorf("missing pred_boxes: %v", err)
	}
	logits, _ := sdk.NewTensor([]int64{1, 2, 2}, []float32{0, 1, 0, 1})
	boxes, _ := sdk.NewTensor([]int64{1, 3, 4}, make([]float32, 12))
	r := &outputsRunner{info: &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "logits"}, {Name: "pred_boxes"}}},
		outputs: map[string]*sdk.Tensor{"logits": logits, "pred_boxes": boxes}}
	det, err := NewDetector(d, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := det.Detect(context.Background(), []image.Image{image.NewRGBA(image.Rect(0, 0, 4, 4))}, 0.5); err == nil || !strings.Contains(err.Error(), "want [1,2,4]") {
		t.Errorf("mismatched queries: %v", err)
	}
}
