package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/internal/npy"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline/text"
)

// textCase is one recorded case of a text-classification fixture: its texts (strings, or
// [text, text_pair] pairs) from expected/summary.json and transformers' pipeline output.
type textCase struct {
	name   string
	texts  []string
	pairs  []string
	output [][]hfLabel
}

// textClassificationFixtures returns the model dirs under testdata/models whose expected/
// cases hold pipeline("text-classification") outputs, with their cases.
func textClassificationFixtures(t *testing.T) map[string][]textCase {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "testdata", "models", "*", "expected", "*", "pipeline.json"))
	out := map[string][]textCase{}
	summaries := map[string]map[string]json.RawMessage{}
	for _, pj := range files {
		var p struct {
			Task   string      `json:"task"`
			Output [][]hfLabel `json:"output"`
		}
		b, err := os.ReadFile(pj)
		if err != nil {
			t.Fatal(err)
		}
		if json.Unmarshal(b, &p) != nil || p.Task != "text-classification" {
			continue
		}
		caseDir := filepath.Dir(pj)
		modelDir := filepath.Dir(filepath.Dir(caseDir))
		if summaries[modelDir] == nil {
			var s struct {
				Cases []struct {
					Name  string          `json:"name"`
					Texts json.RawMessage `json:"texts"`
				} `json:"cases"`
			}
			b, err := os.ReadFile(filepath.Join(modelDir, "expected", "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("%s: summary.json: %v", modelDir, err)
			}
			summaries[modelDir] = map[string]json.RawMessage{}
			for _, c := range s.Cases {
				summaries[modelDir][c.Name] = c.Texts
			}
		}
		raw, ok := summaries[modelDir][filepath.Base(caseDir)]
		if !ok {
			t.Fatalf("%s: no case %s in summary.json", modelDir, filepath.Base(caseDir))
		}
		tc := textCase{name: filepath.Base(caseDir), output: p.Output}
		if json.Unmarshal(raw, &tc.texts) != nil {
			var pairs [][2]string
			if err := json.Unmarshal(raw, &pairs); err != nil {
				t.Fatalf("%s/%s: texts %s are neither strings nor pairs", modelDir, tc.name, raw)
			}
			tc.texts = nil
			for _, p := range pairs {
				tc.texts = append(tc.texts, p[0])
				tc.pairs = append(tc.pairs, p[1])
			}
		}
		out[modelDir] = append(out[modelDir], tc)
	}
	return out
}

// TestTextClassificationMatchesTransformers runs every text-classification fixture model
// through hfhost's text pipeline (Go tokenizer, CPU plugin, softmax/top-k) and compares the
// labels and scores with transformers' pipeline("text-classification", top_k=None) and the
// logits with the PyTorch model's, as recorded by tools/fixtures/gen_models_text.py.
func TestTextClassificationMatchesTransformers(t *testing.T) {
	fixtures := textClassificationFixtures(t)
	if len(fixtures) == 0 {
		t.Fatal("no text-classification fixtures found under testdata/models/*/expected/*/pipeline.json")
	}
	dirs := make([]string, 0, len(fixtures))
	for d := range fixtures {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	for _, modelDir := range dirs {
		cases := fixtures[modelDir]
		name := filepath.Base(modelDir)
		t.Run(name, func(t *testing.T) {
			d, err := models.Open(modelDir)
			if err != nil {
				t.Fatal(err)
			}
			graph, err := d.ONNX("model", "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.Open(ctx, backend.Request{Family: string(models.TextEncoder), Graphs: map[string]string{"model": graph}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			clf, err := text.NewClassifier(d, s)
			if err != nil {
				t.Fatal(err)
			}
			var worstScore, worstLogit float64
			texts := 0
			for _, tc := range cases {
				got, _, err := clf.Classify(ctx, tc.texts, tc.pairs, 0)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if len(got) != len(tc.output) {
					t.Fatalf("%s: %d results, transformers gave %d", tc.name, len(got), len(tc.output))
				}
				for j, want := range tc.output {
					texts++
					if len(got[j]) != len(want) {
						t.Fatalf("%s[%d]: %d labels, want %d", tc.name, j, len(got[j]), len(want))
					}
					for i := range want {
						worstScore = math.Max(worstScore, math.Abs(float64(got[j][i].Score)-want[i].Score))
						tie := (i+1 < len(want) && math.Abs(want[i].Score-want[i+1].Score) < 1e-5) || (i > 0 && math.Abs(want[i].Score-want[i-1].Score) < 1e-5)
						if got[j][i].Label != want[i].Label && !tie {
							t.Errorf("%s[%d] rank %d: got %s (%.6f), want %s (%.6f)", tc.name, j, i, got[j][i].Label, got[j][i].Score, want[i].Label, want[i].Score)
						}
					}
				}
				logits, _, err := clf.Logits(ctx, tc.texts, tc.pairs)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				want, err := npy.ReadFile(filepath.Join(modelDir, "expected", tc.name, "logits.npy"))
				if err != nil {
					t.Fatal(err)
				}
				wv := want.Float32s()
				if len(want.Shape) != 2 || want.Shape[0] != len(logits) {
					t.Fatalf("%s: logits.npy has shape %v; got %d rows", tc.name, want.Shape, len(logits))
				}
				for r, row := range logits {
					if len(row) != want.Shape[1] {
						t.Fatalf("%s: row %d has %d logits, want %d", tc.name, r, len(row), want.Shape[1])
					}
					for k, v := range row {
						worstLogit = math.Max(worstLogit, math.Abs(float64(v)-float64(wv[r*want.Shape[1]+k])))
					}
				}
			}
			t.Logf("%s: %d cases, %d texts: max |score - transformers score| = %.2g, max |logit - PyTorch logit| = %.2g", name, len(cases), texts, worstScore, worstLogit)
			if worstScore > 1e-4 {
				t.Errorf("max score difference %g exceeds 1e-4", worstScore)
			}
			if worstLogit > 1e-4 {
				t.Errorf("max logit difference %g exceeds 1e-4", worstLogit)
			}
		})
	}
}
