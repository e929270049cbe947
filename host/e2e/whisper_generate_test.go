package e2e

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/host/pipeline/generate"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
	"github.com/hfhost/hfhost/sdk"
)

// TestWhisperGenerationMatchesTransformers runs the whisper fixture through the CPU plugin:
// from transformers' recorded input_features, the generated ids must equal
// model.generate(input_features, max_new_tokens=10, num_beams=1) exactly and every step's logits
// must match PyTorch's; from the WAV files (Go decoding, resampling and features), the text must
// equal the ASR pipeline's.
func TestWhisperGenerationMatchesTransformers(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, rec := openSeq2Seq(t, m, "whisper")
	exp := filepath.Join(d.Path, "expected")
	var p struct {
		InputFeatures map[string]struct {
			Shape []int64 `json:"shape"`
			Head  int     `json:"frames_before_constant_tail"`
			Tail  float32 `json:"constant_tail_value"`
			File  string  `json:"file"`
		} `json:"input_features"`
		Outputs map[string]struct {
			GeneratedIDs []int64 `json:"generated_ids"`
			Pipeline     struct {
				Text string `json:"text"`
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
	asr, err := generate.NewSpeechToText(d, rec)
	if err != nil {
		t.Fatal(err)
	}
	prompt := g.DecoderPrompt()
	for name, want := range p.Outputs {
		f, ok := p.InputFeatures[name]
		if !ok || len(f.Shape) != 3 {
			t.Fatalf("%s: no input_features entry", name)
		}
		arr := readNpyFile(t, filepath.Join(exp, f.File))
		data := arr.Float32s()
		mels, frames := int(f.Shape[1]), int(f.Shape[2])
		if len(data) != mels*frames {
			// Only the first frames are stored; the rest are the constant tail value.
			if len(data) != mels*f.Head {
				t.Fatalf("%s: %d stored values; want %d or %d", name, len(data), mels*frames, mels*f.Head)
			}
			full := make([]float32, mels*frames)
			for c := 0; c < mels; c++ {
				for i := 0; i < frames; i++ {
					if i < f.Head {
						full[c*frames+i] = data[c*f.Head+i]
					} else {
						full[c*frames+i] = f.Tail
					}
				}
			}
			data = full
		}
		ft, err := sdk.NewTensor(f.Shape, data)
		if err != nil {
			t.Fatal(err)
		}
		logits := readNpyFile(t, filepath.Join(exp, name+".decoder_logits.npy"))
		lv, vocab := logits.Float32s(), int(logits.Shape[2])
		var diffs []float64
		got, st, err := g.Observe(func(step int, row []float32) {
			pos := len(prompt) - 1 + step
			if pos >= int(logits.Shape[1]) || len(row) != vocab {
				t.Errorf("%s step %d: no reference logits", name, step)
				return
			}
			ref := lv[pos*vocab : (pos+1)*vocab]
			d := 0.0
			for i := range row {
				d = math.Max(d, math.Abs(float64(row[i])-float64(ref[i])))
			}
			diffs = append(diffs, d)
		}).GenerateEncoded(ctx, []sdk.Value{{Name: "input_features", Tensor: ft}}, 10)
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
		if worst > 1e-3 {
			t.Errorf("%s: logits differ from PyTorch by %g; want <= 1e-3", name, worst)
		}
		t.Logf("%s: %d steps, ids %v; logits max abs diff vs PyTorch per step %.2g", name, st.Steps, got, diffs)

		// From the WAV file: Go decoding, resampling and Whisper features.
		b, err := os.ReadFile(filepath.Join(exp, "inputs", name+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		clip, err := audioproc.DecodeBytes(b, audioproc.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, _, err := asr.Transcribe(ctx, clip, 10)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Text != want.Pipeline.Text {
			t.Errorf("%s: transcribed %q (ids %v); transformers' pipeline %q", name, res.Text, res.NewTokenIDs, want.Pipeline.Text)
		}
	}
}
