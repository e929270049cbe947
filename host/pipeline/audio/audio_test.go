package audio

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/models"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
	"github.com/hfhost/hfhost/sdk"
)

// fakeRunner answers with fixed logits and records what the pipeline feeds.
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

func fixture(t *testing.T, name string) *models.Dir {
	t.Helper()
	d, err := models.Open(filepath.Join("..", "..", "..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wav2vec2Info() *sdk.ModelInfo {
	return &sdk.ModelInfo{
		Inputs:  []sdk.ValueInfo{{Name: "input_values", DType: sdk.Float32, Shape: []int64{-1, -1}}},
		Outputs: []sdk.ValueInfo{{Name: "logits"}},
	}
}

func tone(rate, n int) *audioproc.Clip {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(float64(i)*0.05))
	}
	return &audioproc.Clip{Samples: [][]float32{x}, Rate: rate}
}

// TestCTCDecode checks Wav2Vec2CTCTokenizer's decode rules on the fixture's vocabulary: repeats
// collapse, the blank <pad> separates real repeats and is dropped, "|" becomes a space, the
// text is stripped, and special tokens other than the blank stay.
func TestCTCDecode(t *testing.T) {
	c, err := NewCTC(fixture(t, "wav2vec2"), &fakeRunner{info: wav2vec2Info()})
	if err != nil {
		t.Fatal(err)
	}
	// vocab.json: <pad> 0, <s> 1, </s> 2, | 4, E 5, T 6, A 7, L 15.
	for _, tc := range []struct {
		ids  []int
		want string
	}{
		{[]int{4, 4, 6, 6, 0, 6, 5, 0, 0, 15, 15, 4, 7, 4, 4}, "TTEL A"},
		{[]int{0, 0, 0}, ""},
		{[]int{2, 6, 1, 1, 4, 0, 4, 5}, "</s>T<s>  E"},
	} {
		got, err := c.Decode(tc.ids)
		if err != nil || got != tc.want {
			t.Errorf("Decode(%v) = %q (%v), want %q", tc.ids, got, err, tc.want)
		}
	}
	if _, err := c.Decode([]int{99}); err == nil || !strings.Contains(err.Error(), "outside vocab.json") {
		t.Errorf("out-of-vocab id: got %v", err)
	}
}

func TestCTCTranscribeFeedsAndArgmax(t *testing.T) {
	d := fixture(t, "wav2vec2")
	// Two frames over the 32-token vocabulary: frame 0 best "T" (6), frame 1 best "A" (7).
	logits := make([]float32, 64)
	logits[6], logits[32+7] = 1, 2
	r := &fakeRunner{info: wav2vec2Info(), logits: logits, shape: []int64{1, 2, 32}}
	c, err := NewCTC(d, r)
	if err != nil {
		t.Fatal(err)
	}
	// An 8 kHz clip is resampled to the extractor's 16 kHz before the features.
	got, _, err := c.Transcribe(context.Background(), []*audioproc.Clip{tone(8000, 800), tone(16000, 100)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "TA" || len(r.got) != 2 {
		t.Fatalf("texts %q after %d runs; want one run per clip giving \"TA\"", got, len(r.got))
	}
	if s := r.got[0].Inputs[0].Tensor.Shape; sdk.FormatShape(s) != "[1,1600]" {
		t.Errorf("fed %v for 800 samples at 8 kHz; want [1,1600] (resampled to 16 kHz)", s)
	}
	r.shape = []int64{1, 2, 31}
	r.logits = logits[:62]
	if _, _, err := c.Transcribe(context.Background(), []*audioproc.Clip{tone(16000, 100)}); err == nil || !strings.Contains(err.Error(), "want [1, frames, 32]") {
		t.Errorf("wrong vocab size: got %v", err)
	}
}

func TestCTCRefusesSeq2Seq(t *testing.T) {
	_, err := NewCTC(fixture(t, "whisper"), &fakeRunner{info: wav2vec2Info()})
	if err == nil || !strings.Contains(err.Error(), "generation loop") || !strings.Contains(err.Error(), "not implemented yet") {
		t.Fatalf("got %v; want an error saying generation is not implemented", err)
	}
}

func TestCTCVocabErrors(t *testing.T) {
	src := fixture(t, "wav2vec2")
	for _, tc := range []struct{ name, vocab, tokcfg, want string }{
		{"no vocab", "", `{}`, "no vocab.json"},
		{"nested without lang", `{"en":{"<pad>":0}}`, `{}`, "target_lang"},
		{"nested wrong lang", `{"en":{"<pad>":0}}`, `{"target_lang":"fr"}`, "no vocabulary for target_lang \"fr\""},
		{"bad vocab", `[1,2]`, `{}`, "neither"},
	} {
		dir := t.TempDir()
		for _, f := range []string{"config.json", "preprocessor_config.json"} {
			b, err := os.ReadFile(filepath.Join(src.Path, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(tc.tokcfg), 0o644)
		if tc.vocab != "" {
			os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(tc.vocab), 0o644)
		}
		d, err := models.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewCTC(d, &fakeRunner{info: wav2vec2Info()}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestClassifierSoftmaxTopK(t *testing.T) {
	d := fixture(t, "audio-spectrogram-transformer")
	info := &sdk.ModelInfo{
		Inputs:  []sdk.ValueInfo{{Name: "input_values", DType: sdk.Float32, Shape: []int64{-1, 1024, 128}}},
		Outputs: []sdk.ValueInfo{{Name: "logits"}},
	}
	r := &fakeRunner{info: info, logits: []float32{0, 1, 2, 3, 4}, shape: []int64{1, 5}}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := c.Classify(context.Background(), []*audioproc.Clip{tone(16000, 16000)}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := 0; i < 5; i++ {
		sum += math.Exp(float64(i))
	}
	if len(out[0]) != 2 || out[0][0].Label != "Chirp" || out[0][1].Label != "Tone" || math.Abs(float64(out[0][0].Score)-math.Exp(4)/sum) > 1e-6 {
		t.Fatalf("labels %+v", out)
	}
	if s := r.got[0].Inputs[0].Tensor.Shape; sdk.FormatShape(s) != "[1,1024,128]" {
		t.Errorf("fed %v", s)
	}
	r.shape, r.logits = []int64{1, 4}, []float32{1, 2, 3, 4}
	if _, _, err := c.Classify(context.Background(), []*audioproc.Clip{tone(16000, 16000)}, 2); err == nil || !strings.Contains(err.Error(), "want [1,5]") {
		t.Errorf("wrong output shape: got %v", err)
	}
	// A graph that wants other features than the extractor makes.
	info.Inputs[0].Shape = []int64{-1, 512, 128}
	if c, err = NewClassifier(d, r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Classify(context.Background(), []*audioproc.Clip{tone(16000, 16000)}, 2); err == nil || !strings.Contains(err.Error(), "check preprocessor_config.json") {
		t.Errorf("feature shape mismatch: got %v", err)
	}
}

func TestClassifierErrors(t *testing.T) {
	d := fixture(t, "audio-spectrogram-transformer")
	for _, tc := range []struct {
		name string
		info *sdk.ModelInfo
		want string
	}{
		{"no graph", nil, "no graph"},
		{"int input", &sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "input_values", DType: sdk.Int64, Shape: []int64{-1, 2}}}, Outputs: []sdk.ValueInfo{{Name: "logits"}}}, "want float32"},
		{"which output", &sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "input_values", DType: sdk.Float32, Shape: []int64{-1, 2}}}, Outputs: []sdk.ValueInfo{{Name: "a"}, {Name: "b"}}}, "cannot tell which"},
	} {
		if _, err := NewClassifier(d, &fakeRunner{info: tc.info}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
