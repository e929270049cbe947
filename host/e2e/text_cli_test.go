package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readPipelineTop returns the best label and its score in a case's pipeline.json (first text).
func readPipelineTop(t *testing.T, caseDir string) hfLabel {
	t.Helper()
	var p struct {
		Output [][]hfLabel `json:"output"`
	}
	b, err := os.ReadFile(filepath.Join(caseDir, "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil || len(p.Output) == 0 || len(p.Output[0]) == 0 {
		t.Fatalf("%s/pipeline.json: no output (%v)", caseDir, err)
	}
	return p.Output[0][0]
}

// TestCLIRunTextClassification runs the built hfhost binary on the bert fixture, for a single
// text and a sentence pair, and checks the top label against transformers' pipeline.json.
func TestCLIRunTextClassification(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	model := filepath.Join(root, "testdata", "models", "bert")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ascii", []string{"--text", "Hello world!"}},
		{"pair", []string{"--text", "How old is the house?", "--text-pair", "The house is about 100 years old."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := readPipelineTop(t, filepath.Join(model, "expected", tc.name))
			args := append([]string{"run", "--pipeline", "text-encoder", "--config", cfg, "--model", model, "--top-k", "1", "--json"}, tc.args...)
			stdout, stderr, code := hfhost(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var out struct {
				Task    string `json:"task"`
				Backend string `json:"backend"`
				Results []struct {
					Text   string    `json:"text"`
					Labels []hfLabel `json:"labels"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("json output: %v\n%s", err, stdout)
			}
			if out.Task != "text-classification" || out.Backend != "cpu" || len(out.Results) != 1 || len(out.Results[0].Labels) != 1 {
				t.Fatalf("output: %s", stdout)
			}
			got := out.Results[0].Labels[0]
			if got.Label != want.Label || math.Abs(got.Score-want.Score) > 1e-4 {
				t.Errorf("top label %s %.6f; transformers gave %s %.6f", got.Label, got.Score, want.Label, want.Score)
			}
			t.Logf("%s: top label %s %.6f (transformers %s %.6f)", tc.name, got.Label, got.Score, want.Label, want.Score)
		})
	}

	t.Run("text output", func(t *testing.T) {
		want := readPipelineTop(t, filepath.Join(model, "expected", "ascii"))
		stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", model, "--text", "Hello world!", "--top-k", "1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.HasPrefix(stdout, "\"Hello world!\"\n  "+want.Label+" ") || !strings.Contains(stderr, "backend: cpu") {
			t.Errorf("stdout %q stderr %q; want the text then its top label %s", stdout, stderr, want.Label)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no text", nil, "--text"},
		{"pair count", []string{"--text", "a", "--text", "b", "--text-pair", "c"}, "one --text-pair per --text"},
		{"file input", []string{"x.png"}, "not input files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--config", cfg, "--model", model}, tc.args...)
			stdout, stderr, code := hfhost(t, nil, args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d stdout %q stderr %q; want exit 2 and a message containing %q", code, stdout, stderr, tc.want)
			}
		})
	}

	t.Run("unknown architecture", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"bert","architectures":["BertForMultipleChoice"]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", dir, "--text", "Once upon a time")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "BertForMultipleChoice") || !strings.Contains(stderr, "known architecture suffixes") {
			t.Errorf("exit %d stdout %q stderr %q; want exit 1 naming the architecture hfhost does not know", code, stdout, stderr)
		}
	})
}
