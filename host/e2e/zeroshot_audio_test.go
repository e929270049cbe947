package e2e

import (
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/audio"
	"github.com/hfhost/hfhost/host/pipeline/visiontext"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
)

// zeroShotFixture is the part of a zero-shot-image-classification pipeline.json these tests read.
type zeroShotFixture struct {
	Task                        string               `json:"task"`
	Texts                       []string             `json:"texts"`
	Outputs                     map[string][]hfLabel `json:"outputs"`
	OutputsWithoutAttentionMask map[string][]hfLabel `json:"outputs_without_attention_mask"`
}

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

// compareLabels checks got against transformers' sorted labels and returns the max score
// difference. Labels must come in the same order except where HF's scores are so close that
// float rounding may swap them.
func compareLabels(t *testing.T, what string, got []pipeline.Label, want []hfLabel) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d labels, want %d", what, len(got), len(want))
	}
	var worst float64
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i].Score)-want[i].Score))
		if got[i].Label != want[i].Label && !(i+1 < len(want) && math.Abs(want[i].Score-want[i+1].Score) < 1e-5) && !(i > 0 && math.Abs(want[i].Score-want[i-1].Score) < 1e-5) {
			t.Errorf("%s: rank %d: got %s (%.6f), want %s (%.6f)", what, i, got[i].Label, got[i].Score, want[i].Label, want[i].Score)
		}
	}
	return worst
}

// TestZeroShotImageClassificationMatchesTransformers runs the CLIP and SigLIP fixtures through
// the visiontext pipeline on the CPU plugin and compares with transformers'
// pipeline("zero-shot-image-classification") recorded by tools/fixtures/gen_models_vision.py.
// Both run end to end: CLIP with its tokenizer.json, SigLIP with the slow tokenizer's
// spiece.model; SigLIP is compared with outputs_without_attention_mask, the oracle for its graph,
// which has no attention_mask input.
func TestZeroShotImageClassificationMatchesTransformers(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	for _, name := range []string{"clip", "siglip"} {
		t.Run(name, func(t *testing.T) {
			modelDir := filepath.Join(root, "testdata", "models", name)
			var p zeroShotFixture
			readJSON(t, filepath.Join(modelDir, "expected", "pipeline.json"), &p)
			want := p.Outputs
			if p.OutputsWithoutAttentionMask != nil {
				want = p.OutputsWithoutAttentionMask
			}
			d, err := models.Open(modelDir)
			if err != nil {
				t.Fatal(err)
			}
			graph, err := d.ONNX("model", "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.Open(ctx, backend.Request{Family: "vision-text", Graphs: map[string]string{"model": graph}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			z, err := visiontext.NewZeroShotClassifier(d, s)
			if err != nil {
				t.Fatal(err)
			}
			labels := []string{"cat", "dog", "car"}
			if got := z.Prompts(labels); len(got) != len(p.Texts) || got[0] != p.Texts[0] || got[2] != p.Texts[2] {
				t.Fatalf("prompts %q, transformers used %q", got, p.Texts)
			}
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			imgs := make([]image.Image, len(keys))
			for i, k := range keys {
				imgs[i] = decodeFile(t, filepath.Join(modelDir, "expected", "inputs", k+".png"))
			}
			got, _, err := z.Classify(ctx, imgs, labels)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i, k := range keys {
				worst = math.Max(worst, compareLabels(t, k, got[i], want[k]))
			}
			t.Logf("%s: %d images x %d labels, max |score - transformers score| = %.2g", name, len(keys), len(labels), worst)
			if worst > 1e-4 {
				t.Errorf("max score difference %g exceeds 1e-4", worst)
			}
		})
	}
}

func decodeWAV(t *testing.T, path string) *audioproc.Clip {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := audioproc.Decode(f, audioproc.DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func openAudioModel(t *testing.T, m *backend.Manager, name string) (*models.Dir, *backend.Session) {
	t.Helper()
	d, err := models.Open(filepath.Join(root, "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	graph, err := d.ONNX("model", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Open(testContext(t), backend.Request{Family: "audio", Graphs: map[string]string{"model": graph}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(testContext(t)) })
	return d, s
}

// TestAudioClassificationMatchesTransformers runs the AST fixture through the audio pipeline
// (WAV decoding, resampling to 16 kHz, AST fbank features, CPU plugin, softmax, top-k) for every
// recorded clip, 44.1 kHz included (transformers' audio-classification pipeline resamples it
// with torchaudio; the fixture recorded that), and compares with pipeline.json.
func TestAudioClassificationMatchesTransformers(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, s := openAudioModel(t, m, "audio-spectrogram-transformer")
	var p struct {
		Outputs map[string][]hfLabel `json:"outputs"`
	}
	readJSON(t, filepath.Join(d.Path, "expected", "pipeline.json"), &p)
	clf, err := audio.NewClassifier(d, s)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(p.Outputs))
	for k := range p.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 3 {
		t.Fatalf("pipeline.json has %d clips, want 3", len(keys))
	}
	var worst float64
	for _, k := range keys {
		clip := decodeWAV(t, filepath.Join(d.Path, "expected", "inputs", k+".wav"))
		got, _, err := clf.Classify(ctx, []*audioproc.Clip{clip}, audio.DefaultTopK)
		if err != nil {
			t.Fatal(err)
		}
		diff := compareLabels(t, k, got[0], p.Outputs[k])
		t.Logf("%s (%d Hz): max |score - transformers score| = %.2g", k, clip.Rate, diff)
		worst = math.Max(worst, diff)
	}
	if worst > 1e-4 {
		t.Errorf("max score difference %g exceeds 1e-4", worst)
	}
}

// TestCTCMatchesTransformers runs the wav2vec2 fixture through the CTC pipeline for every
// recorded clip and compares the per-frame argmax ids and the text with pipeline.json. For the
// 44.1 kHz clip the oracle is the recorded "pipeline" output, made with correct resampling;
// transformers 4.57.3 itself does not resample in its ASR pipeline
// (hf_4_57_3_pipeline_on_44k1_input, see testdata/models/README.vision.md).
func TestCTCMatchesTransformers(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, s := openAudioModel(t, m, "wav2vec2")
	var p struct {
		Outputs map[string]struct {
			ArgmaxIDs []int `json:"argmax_ids"`
			Pipeline  struct {
				Text string `json:"text"`
			} `json:"pipeline"`
		} `json:"outputs"`
	}
	readJSON(t, filepath.Join(d.Path, "expected", "pipeline.json"), &p)
	ctc, err := audio.NewCTC(d, s)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(p.Outputs))
	for k := range p.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 3 {
		t.Fatalf("pipeline.json has %d clips, want 3", len(keys))
	}
	for _, k := range keys {
		want := p.Outputs[k]
		clip := decodeWAV(t, filepath.Join(d.Path, "expected", "inputs", k+".wav"))
		ids, _, err := ctc.ArgmaxIDs(ctx, clip)
		if err != nil {
			t.Fatal(err)
		}
		same := len(ids) == len(want.ArgmaxIDs)
		for i := 0; same && i < len(ids); i++ {
			same = ids[i] == want.ArgmaxIDs[i]
		}
		if !same {
			t.Errorf("%s: argmax ids %v, transformers %v", k, ids, want.ArgmaxIDs)
		}
		// The decode of transformers' own ids must give transformers' text.
		if txt, err := ctc.Decode(want.ArgmaxIDs); err != nil || txt != want.Pipeline.Text {
			t.Errorf("%s: Decode(transformers' ids) = %q (%v), transformers %q", k, txt, err, want.Pipeline.Text)
		}
		got, _, err := ctc.Transcribe(ctx, []*audioproc.Clip{clip})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != want.Pipeline.Text {
			t.Errorf("%s: text %q, transformers %q", k, got[0], want.Pipeline.Text)
		}
		t.Logf("%s (%d Hz): %d frames, %q (transformers %q)", k, clip.Rate, len(ids), got[0], want.Pipeline.Text)
	}
}
