package e2e

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// cliLabels is hfhost run --json's output for label-producing tasks.
type cliLabels struct {
	Task    string `json:"task"`
	Backend string `json:"backend"`
	Results []struct {
		Input  string    `json:"input"`
		Labels []hfLabel `json:"labels"`
	} `json:"results"`
}

func checkTop(t *testing.T, stdout, task string, want []hfLabel) {
	t.Helper()
	var out cliLabels
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
	if out.Task != task || out.Backend != "cpu" || len(out.Results) != 1 || len(out.Results[0].Labels) != len(want) {
		t.Fatalf("output: %s", stdout)
	}
	for i, w := range want {
		got := out.Results[0].Labels[i]
		if got.Label != w.Label || math.Abs(got.Score-w.Score) > 1e-4 {
			t.Errorf("rank %d: %s %.6f; transformers gave %s %.6f", i, got.Label, got.Score, w.Label, w.Score)
		}
	}
}

// TestCLIRunZeroShotImageClassification runs the built hfhost binary on the CLIP and SigLIP
// fixtures with --label and checks all labels against transformers' pipeline.json.
func TestCLIRunZeroShotImageClassification(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	model := filepath.Join(root, "testdata", "models", "clip")
	var p zeroShotFixture
	readJSON(t, filepath.Join(model, "expected", "pipeline.json"), &p)
	img := filepath.Join(model, "expected", "inputs", "shapes_80x100.png")
	stdout, stderr, code := hfhost(t, nil, "run", "--pipeline", "vision-text", "--config", cfg, "--model", model,
		"--label", "cat", "--label", "dog", "--label", "car", "--json", "--input", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkTop(t, stdout, "zero-shot-image-classification", p.Outputs["shapes_80x100"])

	t.Run("siglip", func(t *testing.T) {
		model := filepath.Join(root, "testdata", "models", "siglip")
		var p zeroShotFixture
		readJSON(t, filepath.Join(model, "expected", "pipeline.json"), &p)
		stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", model, "--label", "cat", "--label", "dog", "--label", "car", "--json",
			"--input", filepath.Join(model, "expected", "inputs", "gradient_64x48.png"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		checkTop(t, stdout, "zero-shot-image-classification", p.OutputsWithoutAttentionMask["gradient_64x48"])
	})

	t.Run("text output and top-k", func(t *testing.T) {
		stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", model, "--label", "cat", "--label", "dog", "--label", "car", "--top-k", "1", img)
		want := p.Outputs["shapes_80x100"][0]
		if code != 0 || !strings.HasPrefix(stdout, "shapes_80x100.png\n  "+want.Label+" ") || strings.Count(stdout, "\n") != 2 || !strings.Contains(stderr, "backend: cpu") {
			t.Errorf("exit %d stdout %q stderr %q; want the file then its top label %s only", code, stdout, stderr, want.Label)
		}
	})
	for _, tc := range []struct {
		name  string
		model string
		args  []string
		code  int
		want  string
	}{
		{"no label", "clip", []string{img}, 2, "--label"},
		{"text", "clip", []string{"--label", "a", "--text", "x"}, 2, "not --text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--config", cfg, "--model", filepath.Join(root, "testdata", "models", tc.model)}, tc.args...)
			stdout, stderr, code := hfhost(t, nil, args...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d and a message containing %q", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestCLIRunAudio runs the built hfhost binary on the AST fixture (audio-classification) and
// the wav2vec2 fixture (CTC speech recognition) with the 44.1 kHz clip, and checks the results
// against transformers' pipeline.json; a Whisper model is refused with a clear message.
func TestCLIRunAudio(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	t.Run("audio-classification", func(t *testing.T) {
		model := filepath.Join(root, "testdata", "models", "audio-spectrogram-transformer")
		var p struct {
			Outputs map[string][]hfLabel `json:"outputs"`
		}
		readJSON(t, filepath.Join(model, "expected", "pipeline.json"), &p)
		stdout, stderr, code := hfhost(t, nil, "run", "--pipeline", "audio", "--config", cfg, "--model", model, "--json",
			"--input", filepath.Join(model, "expected", "inputs", "chirp_44k1.wav"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		checkTop(t, stdout, "audio-classification", p.Outputs["chirp_44k1"])
	})
	t.Run("ctc", func(t *testing.T) {
		model := filepath.Join(root, "testdata", "models", "wav2vec2")
		var p struct {
			Outputs map[string]struct {
				Pipeline struct {
					Text string `json:"text"`
				} `json:"pipeline"`
			} `json:"outputs"`
		}
		readJSON(t, filepath.Join(model, "expected", "pipeline.json"), &p)
		for _, clip := range []string{"chirp_44k1", "tone_16k"} {
			stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", model, "--json",
				filepath.Join(model, "expected", "inputs", clip+".wav"))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var out struct {
				Task    string `json:"task"`
				Results []struct {
					Text string `json:"text"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Task != "automatic-speech-recognition" || len(out.Results) != 1 {
				t.Fatalf("output %s (%v)", stdout, err)
			}
			if want := p.Outputs[clip].Pipeline.Text; out.Results[0].Text != want {
				t.Errorf("%s: text %q, transformers %q", clip, out.Results[0].Text, want)
			}
		}
	})
	for _, tc := range []struct {
		name, model string
		args        []string
		code        int
		want        string
	}{
		{"whisper missing file", "whisper", []string{"x.wav"}, 1, "x.wav"},
		{"no input", "wav2vec2", nil, 2, "--input"},
		{"label", "audio-spectrogram-transformer", []string{"--label", "a", "x.wav"}, 2, "not --text or --label"},
		{"not audio", "wav2vec2", []string{filepath.Join(root, "testdata", "models", "clip", "expected", "inputs", "noise_40x40.png")}, 1, "noise_40x40.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--config", cfg, "--model", filepath.Join(root, "testdata", "models", tc.model)}, tc.args...)
			stdout, stderr, code := hfhost(t, nil, args...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d and a message containing %q", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
}
