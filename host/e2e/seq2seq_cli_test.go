package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRunText2TextGeneration runs the built hfhost binary on the t5 and bart fixtures. hfhost
// run generates up to 20 tokens greedily. The fixtures record 12 from
// model.generate(max_new_tokens=12); bart forces EOS at its last allowed step, so only the
// first 11 are comparable there, t5 (no forced EOS) all 12.
func TestCLIRunText2TextGeneration(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	for _, model := range []string{"t5", "bart"} {
		t.Run(model, func(t *testing.T) {
			dir := filepath.Join(root, "testdata", "models", model)
			var gc struct {
				ForcedEOS any `json:"forced_eos_token_id"`
			}
			readJSON(t, filepath.Join(dir, "generation_config.json"), &gc)
			var summary struct {
				Cases []struct {
					Name  string   `json:"name"`
					Texts []string `json:"texts"`
				} `json:"cases"`
			}
			readJSON(t, filepath.Join(dir, "expected", "summary.json"), &summary)
			var texts []string
			var wants [][]int64
			for _, c := range summary.Cases {
				ids := readNpyFile(t, filepath.Join(dir, "expected", c.Name, "generated_ids.npy"))
				w := int(ids.Shape[1])
				for r, text := range c.Texts {
					want := ids.Int64s()[r*w+1 : (r+1)*w] // without decoder_start_token_id
					if gc.ForcedEOS != nil {
						want = want[:len(want)-1]
					}
					texts = append(texts, text)
					wants = append(wants, want)
				}
			}
			args := []string{"run", "--config", cfg, "--model", dir, "--json"}
			for _, text := range texts {
				args = append(args, "--text", text)
			}
			stdout, stderr, code := hfhost(t, nil, args...)
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
					Steps         int     `json:"steps"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("json output: %v\n%s", err, stdout)
			}
			if out.Task != "text2text-generation" || out.Backend != "cpu" || out.MaxNewTokens != 20 || len(out.Results) != len(texts) {
				t.Fatalf("output: %s", stdout)
			}
			var plainWant strings.Builder
			for i, r := range out.Results {
				want := wants[i]
				if r.Text != texts[i] || len(r.NewTokenIDs) < len(want) || !equalIDs(r.NewTokenIDs[:len(want)], want) {
					t.Errorf("text %q: new ids %v; transformers' first %d are %v", r.Text, r.NewTokenIDs, len(want), want)
				}
				if r.Steps != len(r.NewTokenIDs) {
					t.Errorf("text %q: %d steps for %d tokens", r.Text, r.Steps, len(r.NewTokenIDs))
				}
				plainWant.WriteString(r.GeneratedText + "\n")
				t.Logf("%q -> %d new tokens, %q", r.Text, len(r.NewTokenIDs), r.GeneratedText)
			}

			// Plain output: the generated texts alone, the backend on stderr.
			plainArgs := append(append([]string{}, args[:5]...), args[6:]...) // args without --json
			plain, stderr, code := hfhost(t, nil, plainArgs...)
			if code != 0 || plain != plainWant.String() || !strings.Contains(stderr, "backend: cpu") {
				t.Errorf("exit %d stdout %q stderr %q; want the generated texts %q", code, plain, stderr, plainWant.String())
			}
		})
	}

	for _, tc := range []struct {
		name, model string
		args        []string
		code        int
		want        string
	}{
		{"no text", "t5", nil, 2, "--text"},
		{"pair", "t5", []string{"--text", "a", "--text-pair", "b"}, 2, "--text-pair does not apply"},
		{"file input", "bart", []string{"x.png"}, 2, "not input files"},
		{"no tokenizer.json", "marian", []string{"--text", "a"}, 1, "no tokenizer.json"},
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
