package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRunImageToText captions the fixture images with the built binary and compares with
// transformers' image-to-text pipeline recorded for the same images (greedy, 10 new tokens: the
// CLI generates 20, so the recorded caption must be where the CLI's starts).
func TestCLIRunImageToText(t *testing.T) {
	dir := filepath.Join(root, "testdata", "models", "vision-encoder-decoder")
	b, err := os.ReadFile(filepath.Join(dir, "expected", "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Outputs map[string]json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	checked := 0
	for name, raw := range p.Outputs {
		var want []struct {
			GeneratedText string `json:"generated_text"`
		}
		var entry struct {
			Pipeline json.RawMessage `json:"pipeline"`
		}
		if json.Unmarshal(raw, &entry) != nil || json.Unmarshal(entry.Pipeline, &want) != nil || len(want) != 1 {
			continue
		}
		img := filepath.Join(dir, "expected", "inputs", name+".png")
		out, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", dir, "--json", img)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		var got struct {
			Results []struct {
				GeneratedText string `json:"generated_text"`
			}
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Results) != 1 {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if !strings.HasPrefix(got.Results[0].GeneratedText, want[0].GeneratedText) {
			t.Errorf("%s: caption %q does not start with transformers' %q", name, got.Results[0].GeneratedText, want[0].GeneratedText)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no image-to-text outputs found in pipeline.json")
	}
}
