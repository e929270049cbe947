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

// textTaskCases returns a fixture's cases (name -> texts as recorded in summary.json), sorted
// by name.
func textTaskCases(t *testing.T, model string) ([]string, map[string]json.RawMessage) {
	t.Helper()
	var s struct {
		Cases []struct {
			Name  string          `json:"name"`
			Texts json.RawMessage `json:"texts"`
		} `json:"cases"`
	}
	textTaskJSON(t, filepath.Join(root, "testdata", "models", model, "expected", "summary.json"), &s)
	out := map[string]json.RawMessage{}
	var names []string
	for _, c := range s.Cases {
		out[c.Name] = c.Texts
		names = append(names, c.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("%s: summary.json has no cases", model)
	}
	return names, out
}

func textTaskJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// textTaskPipeline decodes a case's pipeline.json output into v.
func textTaskPipeline(t *testing.T, model, cs string, v any) {
	t.Helper()
	var p struct {
		Output json.RawMessage `json:"output"`
	}
	textTaskJSON(t, filepath.Join(root, "testdata", "models", model, "expected", cs, "pipeline.json"), &p)
	if err := json.Unmarshal(p.Output, v); err != nil {
		t.Fatalf("%s/%s pipeline.json: %v", model, cs, err)
	}
}

// openTextTask opens a fixture model on the CPU plugin.
func openTextTask(t *testing.T, m *backend.Manager, model string) (*models.Dir, *backend.Session) {
	t.Helper()
	ctx := testContext(t)
	d, err := models.Open(filepath.Join(root, "testdata", "models", model))
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
	t.Cleanup(func() { s.Close(ctx) })
	return d, s
}

// TestTokenClassificationMatchesTransformers runs the distilbert token-classification fixture
// through the CPU plugin and compares every entity (label, index, word, offsets, score) with
// transformers' pipeline("token-classification") as recorded in pipeline.json.
func TestTokenClassificationMatchesTransformers(t *testing.T) {
	const model = "distilbert-token-classification"
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, s := openTextTask(t, m, model)
	c, err := text.NewTokenClassifier(d, s)
	if err != nil {
		t.Fatal(err)
	}
	names, cases := textTaskCases(t, model)
	var worst float64
	entities := 0
	for _, name := range names {
		var texts []string
		if err := json.Unmarshal(cases[name], &texts); err != nil {
			t.Fatalf("%s: texts: %v", name, err)
		}
		got, _, err := c.Classify(ctx, texts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want [][]text.Entity
		textTaskPipeline(t, model, name, &want)
		if len(got) != len(want) {
			t.Fatalf("%s: %d results; transformers gave %d", name, len(got), len(want))
		}
		for i := range want {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("%s[%d]: %d entities; transformers gave %d:\n%+v\n%+v", name, i, len(got[i]), len(want[i]), got[i], want[i])
			}
			for j, w := range want[i] {
				g := got[i][j]
				entities++
				worst = math.Max(worst, math.Abs(float64(g.Score-w.Score)))
				if g.Entity != w.Entity || g.Index != w.Index || g.Word != w.Word || g.Start != w.Start || g.End != w.End {
					t.Errorf("%s[%d] entity %d: %+v; transformers gave %+v", name, i, j, g, w)
				}
			}
		}
	}
	t.Logf("%s: %d cases, %d entities equal in label/index/word/offsets; max |score - transformers score| = %.2g", model, len(names), entities, worst)
	if worst > 1e-4 {
		t.Errorf("max score difference %g exceeds 1e-4", worst)
	}
}

// TestFillMaskMatchesTransformers runs the bert fill-mask fixture through the CPU plugin and
// compares the top 5 tokens, their decoded strings, the filled sequences and the scores with
// transformers' pipeline("fill-mask") as recorded in pipeline.json.
func TestFillMaskMatchesTransformers(t *testing.T) {
	const model = "bert-fill-mask"
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, s := openTextTask(t, m, model)
	f, err := text.NewFillMask(d, s)
	if err != nil {
		t.Fatal(err)
	}
	names, cases := textTaskCases(t, model)
	var worst float64
	preds := 0
	for _, name := range names {
		var texts []string
		if err := json.Unmarshal(cases[name], &texts); err != nil {
			t.Fatalf("%s: texts: %v", name, err)
		}
		got, _, err := f.Fill(ctx, texts, text.DefaultFillMaskTopK)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var raw json.RawMessage
		textTaskPipeline(t, model, name, &raw)
		var want [][]text.Prediction
		if json.Unmarshal(raw, &want) != nil {
			var one []text.Prediction
			if err := json.Unmarshal(raw, &one); err != nil {
				t.Fatalf("%s: pipeline.json: %v", name, err)
			}
			want = [][]text.Prediction{one}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d results; transformers gave %d", name, len(got), len(want))
		}
		for i := range want {
			if len(got[i]) != 1 || len(got[i][0]) != len(want[i]) {
				t.Fatalf("%s[%d]: %+v; transformers gave %+v", name, i, got[i], want[i])
			}
			for j, w := range want[i] {
				g := got[i][0][j]
				preds++
				worst = math.Max(worst, math.Abs(float64(g.Score-w.Score)))
				if g.Token != w.Token || g.TokenStr != w.TokenStr || g.Sequence != w.Sequence {
					t.Errorf("%s[%d] rank %d: %+v; transformers gave %+v", name, i, j, g, w)
				}
			}
		}
	}
	t.Logf("%s: %d cases, %d predictions equal in token/token_str/sequence; max |score - transformers score| = %.2g", model, len(names), preds, worst)
	if worst > 1e-4 {
		t.Errorf("max score difference %g exceeds 1e-4", worst)
	}
}

// TestQuestionAnsweringMatchesTransformers runs the distilbert question-answering fixture
// through the CPU plugin and compares answer, offsets and score with transformers'
// pipeline("question-answering") as recorded in pipeline.json.
func TestQuestionAnsweringMatchesTransformers(t *testing.T) {
	const model = "distilbert-question-answering"
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, s := openTextTask(t, m, model)
	q, err := text.NewQuestionAnswerer(d, s)
	if err != nil {
		t.Fatal(err)
	}
	names, cases := textTaskCases(t, model)
	var worst float64
	pairs := 0
	for _, name := range names {
		var texts [][2]string
		if err := json.Unmarshal(cases[name], &texts); err != nil {
			t.Fatalf("%s: texts: %v", name, err)
		}
		var questions, contexts []string
		for _, p := range texts {
			questions = append(questions, p[0])
			contexts = append(contexts, p[1])
		}
		got, _, err := q.Answer(ctx, questions, contexts, 1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var raw json.RawMessage
		textTaskPipeline(t, model, name, &raw)
		var want []text.Answer
		if json.Unmarshal(raw, &want) != nil {
			var one text.Answer
			if err := json.Unmarshal(raw, &one); err != nil {
				t.Fatalf("%s: pipeline.json: %v", name, err)
			}
			want = []text.Answer{one}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d results; transformers gave %d", name, len(got), len(want))
		}
		for i, w := range want {
			if len(got[i]) != 1 {
				t.Fatalf("%s[%d]: %d answers; want 1", name, i, len(got[i]))
			}
			g := got[i][0]
			pairs++
			worst = math.Max(worst, math.Abs(float64(g.Score-w.Score)))
			if g.Answer != w.Answer || g.Start != w.Start || g.End != w.End {
				t.Errorf("%s[%d]: %+v; transformers gave %+v", name, i, g, w)
			}
		}
	}
	t.Logf("%s: %d cases, %d pairs with equal answer/start/end; max |score - transformers score| = %.2g", model, len(names), pairs, worst)
	if worst > 1e-4 {
		t.Errorf("max score difference %g exceeds 1e-4", worst)
	}
}

// TestFeatureExtractionMatchesTransformers runs the bert feature-extraction fixture through
// the CPU plugin and compares every hidden-state value with transformers'
// pipeline("feature-extraction") (pipeline.json, one text per run) and with PyTorch's
// last_hidden_state.npy (one padded batch; compared on each text's own tokens).
func TestFeatureExtractionMatchesTransformers(t *testing.T) {
	const model = "bert-feature-extraction"
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	ctx := testContext(t)
	d, s := openTextTask(t, m, model)
	f, err := text.NewFeatureExtractor(d, s)
	if err != nil {
		t.Fatal(err)
	}
	names, cases := textTaskCases(t, model)
	var worstPipe, worstNpy float64
	values := 0
	for _, name := range names {
		var texts []string
		if err := json.Unmarshal(cases[name], &texts); err != nil {
			t.Fatalf("%s: texts: %v", name, err)
		}
		got, _, err := f.Extract(ctx, texts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want [][][]float64
		textTaskPipeline(t, model, name, &want)
		arr, err := npy.ReadFile(filepath.Join(root, "testdata", "models", model, "expected", name, "last_hidden_state.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(arr.Shape) != 3 || arr.Shape[0] != len(got) {
			t.Fatalf("%s: %d results; pipeline.json has %d, last_hidden_state.npy shape %v", name, len(got), len(want), arr.Shape)
		}
		T, H := arr.Shape[1], arr.Shape[2]
		ref := arr.Float32s()
		for i := range want {
			if len(got[i]) != len(want[i]) || len(got[i]) > T {
				t.Fatalf("%s[%d]: %d tokens; transformers gave %d", name, i, len(got[i]), len(want[i]))
			}
			for tok := range want[i] {
				if len(got[i][tok]) != len(want[i][tok]) || len(got[i][tok]) != H {
					t.Fatalf("%s[%d] token %d: %d values; want %d", name, i, tok, len(got[i][tok]), H)
				}
				for h, w := range want[i][tok] {
					g := float64(got[i][tok][h])
					values++
					worstPipe = math.Max(worstPipe, math.Abs(g-w))
					worstNpy = math.Max(worstNpy, math.Abs(g-float64(ref[(i*T+tok)*H+h])))
				}
			}
		}
	}
	t.Logf("%s: %d cases, %d values: max |value - pipeline.json| = %.2g, max |value - PyTorch last_hidden_state| = %.2g", model, len(names), values, worstPipe, worstNpy)
	if worstPipe > 1e-4 || worstNpy > 1e-4 {
		t.Errorf("max differences %g (pipeline) and %g (PyTorch) exceed 1e-4", worstPipe, worstNpy)
	}
}
