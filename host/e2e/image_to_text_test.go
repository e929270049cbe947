package e2e

import (
	"image"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/host/pipeline/generate"
	"github.com/hfhost/hfhost/sdk"
)

// TestImageToTextMatchesTransformers runs the vision-encoder-decoder fixture through the CPU
// plugin: from transformers' recorded pixel_values, the generated ids must equal
// model.generate(pixel_values, max_new_tokens=10, num_beams=1) exactly and every step's logits
// must match PyTorch's; from the PNG files (Go decoding and image processor), the text must equal
// the image-to-text pipeline's.
func TestImageToTextMatchesTransformers(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, rec := openSeq2Seq(t, m, "vision-encoder-decoder")
	exp := filepath.Join(d.Path, "expected")
	var p struct {
		Outputs map[string]struct {
			GeneratedIDs []int64 `json:"generated_ids"`
			Pipeline     []struct {
				GeneratedText string `json:"generated_text"`
			} `json:"pipeline"`
		} `json:"outputs"`
	}
	readJSON(t, filepath.Join(exp, "pipeline.json"), &p)
	if len(p.Outputs) == 0 {
		t.Fatal("pipeline.json has no outputs")
	}
	g, err := generate.NewSeq2Seq(d, rec)
	if err != nil {
		t.Fatal(err)
	}
	captioner, err := generate.NewImageToText(d, rec)
	if err != nil {
		t.Fatal(err)
	}
	prompt := g.DecoderPrompt()
	for name, want := range p.Outputs {
		pv := readNpyFile(t, filepath.Join(exp, name+".pixel_values.npy"))
		shape := make([]int64, len(pv.Shape))
		for i, n := range pv.Shape {
			shape[i] = int64(n)
		}
		pt, err := sdk.NewTensor(shape, pv.Float32s())
		if err != nil {
			t.Fatal(err)
		}
		logits := readNpyFile(t, filepath.Join(exp, name+".decoder_logits.npy"))
		lv, vocab := logits.Float32s(), int(logits.Shape[len(logits.Shape)-1])
		positions := len(lv) / vocab
		var diffs []float64
		got, st, err := g.Observe(func(step int, row []float32) {
			pos := len(prompt) - 1 + step
			if pos >= positions || len(row) != vocab {
				t.Errorf("%s step %d: no reference logits", name, step)
				return
			}
			ref := lv[pos*vocab : (pos+1)*vocab]
			d := 0.0
			for i := range row {
				d = math.Max(d, math.Abs(float64(row[i])-float64(ref[i])))
			}
			diffs = append(diffs, d)
		}).GenerateEncoded(ctx, []sdk.Value{{Name: "pixel_values", Tensor: pt}}, 10)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !equalIDs(want.GeneratedIDs[:len(prompt)], prompt) || !equalIDs(got, want.GeneratedIDs[len(prompt):]) {
			t.Errorf("%s: prompt %v + generated %v; transformers generated %v", name, prompt, got, want.GeneratedIDs)
		}
		worst := 0.0
		for _, d := range diffs {
			worst = math.Max(worst, d)
		}
		if worst > 1e-4 {
			t.Errorf("%s: logits differ from PyTorch by %g; want <= 1e-4", name, worst)
		}
		t.Logf("%s: %d steps, ids %v; logits max abs diff vs PyTorch per step %.2g", name, st.Steps, got, diffs)

		f, err := os.Open(filepath.Join(exp, "inputs", name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, _, err := captioner.Caption(ctx, img, 10)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(want.Pipeline) != 1 || res.GeneratedText != want.Pipeline[0].GeneratedText {
			t.Errorf("%s: caption %q (ids %v); transformers' pipeline %+v", name, res.GeneratedText, res.NewTokenIDs, want.Pipeline)
		}
	}
}
