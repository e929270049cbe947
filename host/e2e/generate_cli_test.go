package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCLIRunTextGeneration runs the built hfhost binary on the gpt2 and llama fixtures. hfhost
// run generates 20 tokens greedily; the first 12 must be the ones transformers' generate
// produced (the fixtures record 12), and the text must begin with transformers' pipeline text
// for those 12 tokens when that text does not end in a partial character.
func TestCLIRunTextGeneration(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	for _, model := range []string{"gpt2", "llama"} {
		t.Run(model, func(t *testing.T) {
			dir := filepath.Join(root, "testdata", "models", model)
			var summary struct {
				Cases []struct {
					Name  string   `json:"name"`
					Texts []string `json:"texts"`
				} `json:"cases"`
			}
			readJSON(t, filepath.Join(dir, "expected", "summary.json"), &summary)
			for _, c := range summary.Cases {
				if c.Name != "prompt" {
					continue
				}
				stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", dir, "--text", c.Texts[0], "--json")
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				var out struct {
					Task         string `json:"task"`
					Backend      string `json:"backend"`
					MaxNewTokens int    `json:"max_new_tokens"`
					Results      []struct {
						Text          string  `json:"text"`
						GeneratedText string  `json:"generated_text"`
						NewTokenIDs   []int64 `json:"new_token_ids"`
					} `json:"results"`
				}
				if err := json.Unmarshal([]byte(stdout), &out); err != nil {
					t.Fatalf("json output: %v\n%s", err, stdout)
				}
				if out.Task != "text-generation" || out.Backend != "cpu" || out.MaxNewTokens != 20 || len(out.Results) != 1 {
					t.Fatalf("output: %s", stdout)
				}
				r := out.Results[0]
				ids := readNpyFile(t, filepath.Join(dir, "expected", c.Name, "generated_ids.npy"))
				prompt := readNpyFile(t, filepath.Join(dir, "expected", c.Name, "input_ids.npy"))
				want := ids.Int64s()[prompt.Shape[1]:]
				if len(r.NewTokenIDs) < len(want) || !equalIDs(r.NewTokenIDs[:len(want)], want) {
					t.Errorf("new ids %v; transformers' first %d are %v", r.NewTokenIDs, len(want), want)
				}
				var p struct {
					Output [][]struct {
						GeneratedText string `json:"generated_text"`
					} `json:"output"`
				}
				readJSON(t, filepath.Join(dir, "expected", c.Name, "pipeline.json"), &p)
				head := p.Output[0][0].GeneratedText
				if last, _ := utf8.DecodeLastRuneInString(head); last != utf8.RuneError && !strings.HasPrefix(r.GeneratedText, head) {
					t.Errorf("generated %q; want it to begin with transformers' 12-token text %q", r.GeneratedText, head)
				}
				t.Logf("%s: %d new tokens, %q", c.Name, len(r.NewTokenIDs), r.GeneratedText)

				// Plain output: the generated text alone, the backend on stderr.
				plain, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", dir, "--text", c.Texts[0])
				if code != 0 || plain != r.GeneratedText+"\n" || !strings.Contains(stderr, "backend: cpu") {
					t.Errorf("exit %d stdout %q stderr %q; want the generated text %q", code, plain, stderr, r.GeneratedText)
				}
			}
		})
	}

	model := filepath.Join(root, "testdata", "models", "gpt2")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no text", nil, "--text"},
		{"pair", []string{"--text", "a", "--text-pair", "b"}, "--text-pair does not apply"},
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
}
