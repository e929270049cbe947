package e2e

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCLIRunWhisper runs the built hfhost binary on the whisper fixture's WAV files. hfhost run
// generates greedily up to generation_config.json's max_length; the fixtures record 10 new
// tokens from model.generate(max_new_tokens=10), which must be the first 10 here, and the text
// must begin with the ASR pipeline's text for those 10 when it does not end in a partial
// character.
func TestCLIRunWhisper(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	dir := filepath.Join(root, "testdata", "models", "whisper")
	var p struct {
		Outputs map[string]struct {
			GeneratedIDs []int64 `json:"generated_ids"`
			Pipeline     struct {
				Text string `json:"text"`
			} `json:"pipeline"`
		} `json:"outputs"`
	}
	readJSON(t, filepath.Join(dir, "expected", "pipeline.json"), &p)
	names := []string{"chirp_16k", "tone_16k", "chirp_44k1"}
	args := []string{"run", "--config", cfg, "--model", dir}
	for _, n := range names {
		args = append(args, filepath.Join(dir, "expected", "inputs", n+".wav"))
	}
	jsonArgs := append(append(append([]string{}, args[:5]...), "--json"), args[5:]...) // flags before files
	stdout, stderr, code := hfhost(t, nil, jsonArgs...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Task         string `json:"task"`
		Backend      string `json:"backend"`
		MaxNewTokens int    `json:"max_new_tokens"`
		Results      []struct {
			Input       string  `json:"input"`
			Text        string  `json:"text"`
			NewTokenIDs []int64 `json:"new_token_ids"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
	// max_length 448 minus the 2-token prompt <|startoftranscript|> <|notimestamps|>.
	if out.Task != "automatic-speech-recognition" || out.Backend != "cpu" || out.MaxNewTokens != 446 || len(out.Results) != len(names) {
		t.Fatalf("output: %s", stdout)
	}
	var plainWant strings.Builder
	for i, r := range out.Results {
		want, ok := p.Outputs[names[i]]
		if !ok || len(want.GeneratedIDs) < 3 {
			t.Fatalf("%s: no recorded output", names[i])
		}
		ids := want.GeneratedIDs[2:]
		if len(r.NewTokenIDs) < len(ids) || !equalIDs(r.NewTokenIDs[:len(ids)], ids) {
			t.Errorf("%s: new ids %v; transformers' first %d are %v", names[i], r.NewTokenIDs, len(ids), ids)
		}
		head := want.Pipeline.Text
		if last, _ := utf8.DecodeLastRuneInString(head); last != utf8.RuneError && !strings.HasPrefix(r.Text, head) {
			t.Errorf("%s: text %q; want it to begin with transformers' 10-token text %q", names[i], r.Text, head)
		}
		t.Logf("%s: %d new tokens, text begins %q", names[i], len(r.NewTokenIDs), []rune(r.Text)[:min(40, len([]rune(r.Text)))])
		plainWant.WriteString(names[i] + ".wav\n  " + strconv.Quote(r.Text) + "\n")
	}
	plain, stderr, code := hfhost(t, nil, args...)
	if code != 0 || plain != plainWant.String() || !strings.Contains(stderr, "backend: cpu") {
		t.Errorf("exit %d stdout %q stderr %q; want %q", code, plain, stderr, plainWant.String())
	}
}
