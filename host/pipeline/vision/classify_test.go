package vision

import (
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/sdk"
)

// fakeRunner answers with fixed logits; it checks what the pipeline feeds.
type fakeRunner struct {
	info   *sdk.ModelInfo
	logits []float32
	shape  []int64
	got    []*sdk.RunRequest
}

func (f *fakeRunner) Model(string) *sdk.ModelInfo { return f.info }

func (f *fakeRunner) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	f.got = append(f.got, req)
	t, _ := sdk.NewTensor(f.shape, f.logits)
	return &sdk.RunResult{Outputs: []sdk.Value{{Name: req.Outputs[0].Name, Tensor: t}}}, nil
}

func modelDir(t *testing.T, config, preproc string) *models.Dir {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(preproc), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := models.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const grayPreproc = `{"image_processor_type":"ViTImageProcessor","do_convert_grayscale":true,"do_resize":true,
"size":{"height":4,"width":4},"resample":2,"do_rescale":false,"do_normalize":false}`

func gray() image.Image {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.SetGray(1, 1, color.Gray{200})
	return img
}

func TestFixedBatchRunsOneImageAtATime(t *testing.T) {
	d := modelDir(t, `{"model_type":"x","architectures":["XForImageClassification"],"id2label":{"0":"a","1":"b"}}`, grayPreproc)
	r := &fakeRunner{
		info:   &sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "img", DType: sdk.Float32, Shape: []int64{1, 1, 4, 4}}}, Outputs: []sdk.ValueInfo{{Name: "scores"}}},
		logits: []float32{0, 2}, shape: []int64{1, 2},
	}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := c.Classify(context.Background(), []image.Image{gray(), gray(), gray()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 3 || len(out) != 3 || out[2][0].Label != "b" || out[2][0].Score < 0.88 || out[2][0].Score > 0.881 {
		t.Fatalf("runs %d, out %+v", len(r.got), out)
	}
	if in := r.got[0].Inputs[0]; in.Name != "img" || sdk.FormatShape(in.Tensor.Shape) != "[1,1,4,4]" {
		t.Fatalf("fed %s %v", in.Name, in.Tensor.Shape)
	}
}

func TestClassifierErrors(t *testing.T) {
	rgbPreproc := `{"image_processor_type":"ViTImageProcessor","size":{"height":4,"width":4}}`
	cases := []struct {
		name, config, preproc string
		info                  *sdk.ModelInfo
		want                  string
	}{
		{"no id2label", `{"model_type":"x","architectures":["XForImageClassification"]}`, grayPreproc,
			&sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 1, 4, 4}}}, Outputs: []sdk.ValueInfo{{Name: "logits"}}}, "no id2label"},
		{"channels", `{"id2label":{"0":"a"}}`, rgbPreproc,
			&sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 1, 4, 4}}}, Outputs: []sdk.ValueInfo{{Name: "logits"}}}, "wants 1 channels"},
		{"rank", `{"id2label":{"0":"a"}}`, rgbPreproc,
			&sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3}}}, Outputs: []sdk.ValueInfo{{Name: "logits"}}}, "want float32 [N,C,H,W]"},
		{"which output", `{"id2label":{"0":"a"}}`, rgbPreproc,
			&sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, 4, 4}}}, Outputs: []sdk.ValueInfo{{Name: "a"}, {Name: "b"}}}, "cannot tell which"},
		{"no preprocessor", `{"id2label":{"0":"a"}}`, `{"image_processor_type":"NoSuchProcessor"}`,
			&sdk.ModelInfo{}, "NoSuchProcessor"},
	}
	for _, tc := range cases {
		_, err := NewClassifier(modelDir(t, tc.config, tc.preproc), &fakeRunner{info: tc.info})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestWrongOutputShape(t *testing.T) {
	d := modelDir(t, `{"id2label":{"0":"a","1":"b","2":"c"}}`, grayPreproc)
	r := &fakeRunner{
		info:   &sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "x", DType: sdk.Float32, Shape: []int64{-1, 1, 4, 4}}}, Outputs: []sdk.ValueInfo{{Name: "logits"}}},
		logits: []float32{1, 2}, shape: []int64{1, 2},
	}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Classify(context.Background(), []image.Image{gray()}, 1); err == nil || !strings.Contains(err.Error(), "want [1,3]") {
		t.Fatalf("got %v", err)
	}
}
