package e2e

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// textTaskCLI runs hfhost run --json on a fixture model and decodes the output.
func textTaskCLI(t *testing.T, cfg, model string, results any, args ...string) {
	t.Helper()
	dir := filepath.Join(root, "testdata", "models", model)
	args = append([]string{"run", "--config", cfg, "--model", dir, "--json"}, args...)
	stdout, stderr, code := hfhost(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Task    string          `json:"task"`
		Backend string          `json:"backend"`
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
	if out.Backend != "cpu" {
		t.Errorf("backend %q; want cpu", out.Backend)
	}
	if err := json.Unmarshal(out.Results, results); err != nil {
		t.Fatalf("results: %v\n%s", err, out.Results)
	}
}

// TestCLIRunTextTasks runs the built hfhost binary on the token-classification, fill-mask,
// question-answering and feature-extraction fixtures and checks the results against
// transformers' pipeline.json, then the human-readable output and the input errors.
func TestCLIRunTextTasks(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))

	t.Run("token-classification", func(t *testing.T) {
		const model = "distilbert-token-classification"
		var want [][]struct {
			Entity string  `json:"entity"`
			Score  float64 `json:"score"`
			Word   string  `json:"word"`
			Start  int     `json:"start"`
		}
		textTaskPipeline(t, model, "unicode", &want)
		var got []struct {
			Entities []struct {
				Entity string  `json:"entity"`
				Score  float64 `json:"score"`
				Word   string  `json:"word"`
				Start  int     `json:"start"`
			} `json:"entities"`
		}
		_, cases := textTaskCases(t, model)
		var texts []string
		if err := json.Unmarshal(cases["unicode"], &texts); err != nil {
			t.Fatal(err)
		}
		textTaskCLI(t, cfg, model, &got, "--text", texts[0])
		if len(got) != 1 || len(got[0].Entities) != len(want[0]) {
			t.Fatalf("got %+v; transformers gave %+v", got, want)
		}
		for i, w := range want[0] {
			g := got[0].Entities[i]
			if g.Entity != w.Entity || g.Word != w.Word || g.Start != w.Start || math.Abs(g.Score-w.Score) > 1e-4 {
				t.Errorf("entity %d: %+v; transformers gave %+v", i, g, w)
			}
		}
	})

	t.Run("fill-mask", func(t *testing.T) {
		const model = "bert-fill-mask"
		var want []struct {
			Score    float64 `json:"score"`
			TokenStr string  `json:"token_str"`
			Sequence string  `json:"sequence"`
		}
		textTaskPipeline(t, model, "sentence", &want)
		var got []struct {
			Masks [][]struct {
				Score    float64 `json:"score"`
				TokenStr string  `json:"token_str"`
				Sequence string  `json:"sequence"`
			} `json:"masks"`
		}
		textTaskCLI(t, cfg, model, &got, "--text", "The quick brown [MASK] jumps over the lazy dog.")
		if len(got) != 1 || len(got[0].Masks) != 1 || len(got[0].Masks[0]) != len(want) {
			t.Fatalf("got %+v; transformers gave %+v", got, want)
		}
		for i, w := range want {
			g := got[0].Masks[0][i]
			if g.TokenStr != w.TokenStr || g.Sequence != w.Sequence || math.Abs(g.Score-w.Score) > 1e-4 {
				t.Errorf("rank %d: %+v; transformers gave %+v", i, g, w)
			}
		}
	})

	t.Run("question-answering", func(t *testing.T) {
		const model = "distilbert-question-answering"
		var wants []struct {
			Score  float64 `json:"score"`
			Start  int     `json:"start"`
			End    int     `json:"end"`
			Answer string  `json:"answer"`
		}
		textTaskPipeline(t, model, "qa", &wants)
		if len(wants) != 1 {
			t.Fatalf("qa/pipeline.json has %d answers; want 1", len(wants))
		}
		want := wants[0]
		var got []struct {
			Answers []struct {
				Score  float64 `json:"score"`
				Start  int     `json:"start"`
				End    int     `json:"end"`
				Answer string  `json:"answer"`
			} `json:"answers"`
		}
		textTaskCLI(t, cfg, model, &got, "--text", "How old is the house?", "--text-pair", "The house is about 100 years old. It stands near the sea shore, by the garden.")
		if len(got) != 1 || len(got[0].Answers) != 1 {
			t.Fatalf("got %+v; want one answer", got)
		}
		g := got[0].Answers[0]
		if g.Answer != want.Answer || g.Start != want.Start || g.End != want.End || math.Abs(g.Score-want.Score) > 1e-4 {
			t.Errorf("answer %+v; transformers gave %+v", g, want)
		}
	})

	t.Run("feature-extraction", func(t *testing.T) {
		const model = "bert-feature-extraction"
		var want [][][]float64
		textTaskPipeline(t, model, "ascii", &want)
		var got []struct {
			Features [][]float64 `json:"features"`
		}
		textTaskCLI(t, cfg, model, &got, "--text", "Hello world!")
		if len(got) != 1 || len(got[0].Features) != len(want[0]) {
			t.Fatalf("%d results; want 1 of %d tokens", len(got), len(want[0]))
		}
		worst := 0.0
		for tok, row := range want[0] {
			if len(got[0].Features[tok]) != len(row) {
				t.Fatalf("token %d: %d values; want %d", tok, len(got[0].Features[tok]), len(row))
			}
			for h, w := range row {
				worst = math.Max(worst, math.Abs(got[0].Features[tok][h]-w))
			}
		}
		if worst > 1e-4 {
			t.Errorf("max difference %g from transformers' features", worst)
		}
	})

	t.Run("text output", func(t *testing.T) {
		for _, tc := range []struct {
			model string
			args  []string
			want  []string
		}{
			{"distilbert-token-classification", []string{"--text", "Hello world!"}, []string{"\"Hello world!\"\n", "B-PER", "\"hello\"", "[0,5)"}},
			{"bert-fill-mask", []string{"--text", "The quick brown [MASK] jumps over the lazy dog."}, []string{"\"##ar\"", "\"the quick brownar jumps over the lazy dog.\""}},
			{"distilbert-question-answering", []string{"--text", "How old is the house?", "--text-pair", "The house is about 100 years old. It stands near the sea shore, by the garden."}, []string{"\"How old is the house?\"\n", "\"stands near\" [37,48)"}},
			{"bert-feature-extraction", []string{"--text", "Hello world!"}, []string{"\"Hello world!\": 5 tokens x 32 (last_hidden_state", "  [4] "}},
		} {
			dir := filepath.Join(root, "testdata", "models", tc.model)
			stdout, stderr, code := hfhost(t, nil, append([]string{"run", "--config", cfg, "--model", dir}, tc.args...)...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", tc.model, code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("%s: stdout %q; want it to contain %q", tc.model, stdout, w)
				}
			}
			if !strings.Contains(stderr, "backend: cpu") {
				t.Errorf("%s: stderr %q; want the backend line", tc.model, stderr)
			}
		}
	})

	for _, tc := range []struct {
		name  string
		model string
		args  []string
		want  string
	}{
		{"qa without context", "distilbert-question-answering", []string{"--text", "Why?"}, "--text-pair"},
		{"no mask", "bert-fill-mask", []string{"--text", "no mask here"}, "has no mask token: write [MASK]"},
		{"pair to a single-text task", "distilbert-token-classification", []string{"--text", "a", "--text-pair", "b"}, "not --text-pair"},
		{"file input", "bert-feature-extraction", []string{"x.png"}, "not input files"},
		{"no text", "bert-fill-mask", nil, "--text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, "testdata", "models", tc.model)
			stdout, stderr, code := hfhost(t, nil, append([]string{"run", "--config", cfg, "--model", dir}, tc.args...)...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d stdout %q stderr %q; want exit 2 and a message containing %q", code, stdout, stderr, tc.want)
			}
		})
	}
}
