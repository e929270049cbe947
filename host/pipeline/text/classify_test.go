package text

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/internal/npy"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/sdk"
)

const fixtures = "../../../testdata/models"

// fakeRunner answers with fixed logits per row (or zeros); it records what the pipeline feeds.
type fakeRunner struct {
	info *sdk.ModelInfo
	row  []float32 // logits returned for every batch row
	cols int       // output width when row is nil
	got  []*sdk.RunRequest
}

func (f *fakeRunner) Model(string) *sdk.ModelInfo { return f.info }

func (f *fakeRunner) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	f.got = append(f.got, req)
	b := req.Inputs[0].Tensor.Shape[0]
	cols := f.cols
	if f.row != nil {
		cols = len(f.row)
	}
	data := make([]float32, 0, int(b)*cols)
	for i := int64(0); i < b; i++ {
		if f.row != nil {
			data = append(data, f.row...)
		} else {
			data = append(data, make([]float32, cols)...)
		}
	}
	t, _ := sdk.NewTensor([]int64{b, int64(cols)}, data)
	return &sdk.RunResult{Outputs: []sdk.Value{{Name: req.Outputs[0].Name, Tensor: t}}}, nil
}

func (f *fakeRunner) fed(i int, name string) *sdk.Tensor {
	for _, v := range f.got[i].Inputs {
		if v.Name == name {
			return v.Tensor
		}
	}
	return nil
}

// encoderInfo is what an Optimum text-classification export declares.
func encoderInfo(names ...string) *sdk.ModelInfo {
	info := &sdk.ModelInfo{Outputs: []sdk.ValueInfo{{Name: "logits", DType: sdk.Float32, Shape: []int64{-1, 3}}}}
	for _, n := range names {
		info.Inputs = append(info.Inputs, sdk.ValueInfo{Name: n, DType: sdk.Int64, Shape: []int64{-1, -1}})
	}
	return info
}

// copyDir makes a model dir from a fixture's tokenizer files and the given config.json.
func copyDir(t *testing.T, fixture, config string, extra map[string]string) *models.Dir {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures, fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	extra["config.json"] = config
	for name, text := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := models.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type summary struct {
	Cases []struct {
		Name   string          `json:"name"`
		Texts  json.RawMessage `json:"texts"`
		Inputs []string        `json:"inputs"`
	} `json:"cases"`
}

// caseTexts splits a case's texts (strings, or [a, b] pairs) into texts and pairs.
func caseTexts(t *testing.T, raw json.RawMessage) ([]string, []string) {
	t.Helper()
	var single []string
	if json.Unmarshal(raw, &single) == nil {
		return single, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		t.Fatalf("texts %s: %v", raw, err)
	}
	a, b := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		a[i], b[i] = p[0], p[1]
	}
	return a, b
}

// TestFeedsWhatTransformersTokenizerGives checks, for every case of every text-classification
// fixture, that the tensors fed to the model equal the input_ids / attention_mask /
// token_type_ids that transformers' tokenizer produced (the batch case padded as one batch).
func TestFeedsWhatTransformersTokenizerGives(t *testing.T) {
	for _, name := range []string{"bert", "distilbert", "roberta", "xlm-roberta", "deberta-v2", "electra"} {
		t.Run(name, func(t *testing.T) {
			d, err := models.Open(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			var s summary
			b, err := os.ReadFile(filepath.Join(fixtures, name, "expected", "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			var io map[string]struct {
				Inputs []struct {
					Name string `json:"name"`
				} `json:"inputs"`
			}
			b, err = os.ReadFile(filepath.Join(fixtures, name, "expected", "io.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &io); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, in := range io["model.onnx"].Inputs {
				names = append(names, in.Name)
			}
			r := &fakeRunner{info: encoderInfo(names...), cols: 3}
			c, err := NewClassifier(d, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Cases) == 0 {
				t.Fatal("summary.json has no cases")
			}
			for _, cs := range s.Cases {
				texts, pairs := caseTexts(t, cs.Texts)
				r.got = nil
				if _, _, err := c.Classify(context.Background(), texts, pairs, 0); err != nil {
					t.Fatalf("%s: %v", cs.Name, err)
				}
				if len(r.got) != 1 || len(r.got[0].Inputs) != len(names) {
					t.Fatalf("%s: %d runs; want 1 run feeding %v", cs.Name, len(r.got), names)
				}
				for _, in := range names {
					want, err := npy.ReadFile(filepath.Join(fixtures, name, "expected", cs.Name, in+".npy"))
					if err != nil {
						t.Fatalf("%s: %v", cs.Name, err)
					}
					got := r.fed(0, in)
					if got == nil || got.DType != sdk.Int64 {
						t.Fatalf("%s: input %s not fed as int64", cs.Name, in)
					}
					vals, _ := sdk.Values[int64](got)
					if sdk.FormatShape(got.Shape) != sdk.FormatShape(intShape(want.Shape)) || !equal(vals, want.Int64s()) {
						t.Errorf("%s: %s = %s %v; transformers gave %v %v", cs.Name, in, sdk.FormatShape(got.Shape), vals, want.Shape, want.Int64s())
					}
				}
			}
		})
	}
}

func intShape(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const threeLabels = `{"model_type":"bert","architectures":["BertForSequenceClassification"],"id2label":{"0":"a","1":"b","2":"c"}%s}`

func TestScoreFunction(t *testing.T) {
	row := []float32{1, 3, -2}
	softmax := func(i int) float64 {
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v))
		}
		return math.Exp(float64(row[i])) / s
	}
	sigmoid := func(i int) float64 { return 1 / (1 + math.Exp(-float64(row[i]))) }
	for _, tc := range []struct {
		name, extra string
		want        func(int) float64
	}{
		{"default softmax", "", softmax},
		{"single_label", `,"problem_type":"single_label_classification"`, softmax},
		{"multi_label", `,"problem_type":"multi_label_classification"`, sigmoid},
		{"regression", `,"problem_type":"regression"`, func(i int) float64 { return float64(row[i]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, "bert", strings.Replace(threeLabels, "%s", tc.extra, 1), map[string]string{})
			r := &fakeRunner{info: encoderInfo("input_ids", "attention_mask"), row: row}
			c, err := NewClassifier(d, r)
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := c.Classify(context.Background(), []string{"hello world", "the dog"}, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 2 || len(out[1]) != 3 {
				t.Fatalf("got %+v", out)
			}
			order := []string{"b", "a", "c"}
			for i, l := range out[1] {
				if l.Label != order[i] || math.Abs(float64(l.Score)-tc.want(l.ID)) > 1e-6 {
					t.Errorf("rank %d: %+v; want %s %.6f", i, l, order[i], tc.want(l.ID))
				}
			}
		})
	}
	t.Run("one label is sigmoid", func(t *testing.T) {
		d := copyDir(t, "bert", `{"model_type":"bert","architectures":["BertForSequenceClassification"],"id2label":{"0":"score"}}`, map[string]string{})
		r := &fakeRunner{info: encoderInfo("input_ids"), row: []float32{0.5}}
		c, err := NewClassifier(d, r)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := c.Classify(context.Background(), []string{"x"}, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 / (1 + math.Exp(-0.5)); len(out[0]) != 1 || math.Abs(float64(out[0][0].Score)-want) > 1e-6 {
			t.Fatalf("got %+v; want sigmoid(0.5) = %.6f", out, want)
		}
	})
}

func TestTopKAndPairs(t *testing.T) {
	d := copyDir(t, "bert", strings.Replace(threeLabels, "%s", "", 1), map[string]string{})
	r := &fakeRunner{info: encoderInfo("input_ids", "attention_mask", "token_type_ids"), row: []float32{0, 1, 2}}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := c.Classify(context.Background(), []string{"a b", "c"}, []string{"d", "e f g"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || len(out[0]) != 1 || out[0][0].Label != "c" {
		t.Fatalf("got %+v; want one label c per text", out)
	}
	types, _ := sdk.Values[int64](r.fed(0, "token_type_ids"))
	ones := 0
	for _, v := range types {
		ones += int(v)
	}
	if ones == 0 {
		t.Fatalf("pair encoding fed token_type_ids %v with no second segment", types)
	}
	if _, _, err := c.Classify(context.Background(), []string{"a", "b"}, []string{"c"}, 0); err == nil || !strings.Contains(err.Error(), "one pair text per text") {
		t.Fatalf("mismatched pairs: err %v", err)
	}
	if out, _, err := c.Classify(context.Background(), nil, nil, 0); err != nil || len(out) != 0 {
		t.Fatalf("no texts: %v %v", out, err)
	}
}

func TestFixedShapes(t *testing.T) {
	d := copyDir(t, "bert", strings.Replace(threeLabels, "%s", "", 1), map[string]string{})
	info := &sdk.ModelInfo{
		Inputs:  []sdk.ValueInfo{{Name: "input_ids", DType: sdk.Int32, Shape: []int64{1, 16}}, {Name: "attention_mask", DType: sdk.Int32, Shape: []int64{1, 16}}},
		Outputs: []sdk.ValueInfo{{Name: "scores"}},
	}
	r := &fakeRunner{info: info, cols: 3}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Classify(context.Background(), []string{"a", "b c", "d"}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 3 {
		t.Fatalf("%d runs; a graph with batch 1 wants one text per run", len(r.got))
	}
	ids := r.fed(2, "input_ids")
	if ids.DType != sdk.Int32 || sdk.FormatShape(ids.Shape) != "[1,16]" || r.got[2].Outputs[0].Name != "scores" {
		t.Fatalf("fed %s %s, asked %s", ids.DType, sdk.FormatShape(ids.Shape), r.got[2].Outputs[0].Name)
	}
	long := strings.Repeat("word ", 40)
	if _, _, err := c.Classify(context.Background(), []string{long}, nil, 0); err == nil || !strings.Contains(err.Error(), "at most 16") {
		t.Fatalf("too long text: err %v", err)
	}
}

func TestClassifierErrors(t *testing.T) {
	cfg := strings.Replace(threeLabels, "%s", "", 1)
	for _, tc := range []struct {
		name   string
		config string
		files  map[string]string
		info   *sdk.ModelInfo
		want   string
	}{
		{"unknown input", cfg, nil, encoderInfo("input_ids", "position_ids"), `"position_ids" is not one this pipeline fills`},
		{"no input_ids", cfg, nil, encoderInfo("attention_mask"), `no input "input_ids"`},
		{"float input", cfg, nil, &sdk.ModelInfo{Inputs: []sdk.ValueInfo{{Name: "input_ids", DType: sdk.Float32, Shape: []int64{-1, -1}}}}, "want int64"},
		{"no id2label", `{"model_type":"bert"}`, nil, encoderInfo("input_ids"), "no id2label"},
		{"two outputs", cfg, nil, &sdk.ModelInfo{Inputs: encoderInfo("input_ids").Inputs, Outputs: []sdk.ValueInfo{{Name: "x"}, {Name: "y"}}}, "cannot tell which"},
		{"bad pad token", cfg, map[string]string{"tokenizer_config.json": `{"pad_token":"<nope>"}`}, encoderInfo("input_ids"), `pad_token "<nope>" is not in`},
		{"bad padding side", cfg, map[string]string{"tokenizer_config.json": `{"pad_token":{"content":"[PAD]"},"padding_side":"middle"}`}, encoderInfo("input_ids"), "padding_side"},
		{"no graph", cfg, nil, nil, `no graph "model"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files
			if files == nil {
				files = map[string]string{}
			}
			d := copyDir(t, "bert", tc.config, files)
			var r *fakeRunner
			if tc.info != nil {
				r = &fakeRunner{info: tc.info}
			} else {
				r = &fakeRunner{}
			}
			_, err := NewClassifier(d, r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("no tokenizer.json", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
		d, err := models.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewClassifier(d, &fakeRunner{info: encoderInfo("input_ids")}); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
			t.Fatalf("err %v", err)
		}
	})
}

// countingRunner counts runs; a text past the position table must never reach the backend,
// where it would fail deep in the graph and look like a backend failure.
type countingRunner struct {
	fakeRunner
	runs int
}

func (f *countingRunner) Run(ctx context.Context, role string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	f.runs++
	return nil, errors.New("Gather: indices element out of data bounds")
}

func TestTooLongTextRefusedBeforeRun(t *testing.T) {
	for _, tc := range []struct {
		modelType string
		limit     string
	}{{"bert", "holds 8"}, {"roberta", "holds 6"}} {
		d := copyDir(t, "bert", `{"model_type":"`+tc.modelType+`","max_position_embeddings":8,"id2label":{"0":"a"}}`, map[string]string{})
		r := &countingRunner{fakeRunner: fakeRunner{info: encoderInfo("input_ids")}}
		c, err := NewClassifier(d, r)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Classify(context.Background(), []string{"the quick brown fox jumps over the lazy dog"}, nil, 0)
		if sdk.CodeOf(err) != sdk.InvalidInput || !strings.Contains(err.Error(), tc.limit) || r.runs != 0 {
			t.Fatalf("%s: err %v (code %v), %d runs; want an invalid-input error naming the limit and no run", tc.modelType, err, sdk.CodeOf(err), r.runs)
		}
		_, _, err = c.Classify(context.Background(), []string{"a"}, nil, 0)
		if err == nil || r.runs != 1 {
			t.Fatalf("%s: a short text must reach the runner: err %v, %d runs", tc.modelType, err, r.runs)
		}
	}
}

func TestBadOutputShape(t *testing.T) {
	d := copyDir(t, "bert", strings.Replace(threeLabels, "%s", "", 1), map[string]string{})
	r := &fakeRunner{info: encoderInfo("input_ids"), cols: 2}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Classify(context.Background(), []string{"a"}, nil, 0); err == nil || !strings.Contains(err.Error(), "want [1,3]") {
		t.Fatalf("err %v", err)
	}
}

func TestLeftPadding(t *testing.T) {
	d := copyDir(t, "bert", strings.Replace(threeLabels, "%s", "", 1), map[string]string{
		"tokenizer_config.json": `{"pad_token":{"content":"[PAD]","lstrip":false},"padding_side":"left"}`,
	})
	r := &fakeRunner{info: encoderInfo("input_ids", "attention_mask", "token_type_ids"), cols: 3}
	c, err := NewClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Classify(context.Background(), []string{"the quick brown fox", "dog"}, nil, 0); err != nil {
		t.Fatal(err)
	}
	ids, _ := sdk.Values[int64](r.fed(0, "input_ids"))
	mask, _ := sdk.Values[int64](r.fed(0, "attention_mask"))
	types, _ := sdk.Values[int64](r.fed(0, "token_type_ids"))
	shape := r.fed(0, "input_ids").Shape
	n := int(shape[1])
	pad, _ := c.tok.TokenToID("[PAD]")
	// Row 1 ("dog": [CLS] dog [SEP]) is padded on the left to the first row's length.
	short := ids[n:]
	if n != 6 || short[0] != int64(pad) || mask[n] != 0 || mask[2*n-1] != 1 || types[n] != 0 || short[n-3] == int64(pad) {
		t.Fatalf("shape %v ids %v mask %v types %v; want the short row padded on the left with id %d", shape, ids, mask, types, pad)
	}
}
