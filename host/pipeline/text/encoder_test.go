package text

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/host/internal/npy"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// replayRunner answers each run with the recorded PyTorch outputs of a fixture case, row by
// row (one text per run), after checking that the fed input_ids equal the recorded ones; so a
// test compares the whole post-processing with transformers' pipeline.json without a plugin.
type replayRunner struct {
	t       *testing.T
	info    *sdk.ModelInfo
	ids     *npy.Array            // recorded input_ids [B, T]
	outs    map[string]*npy.Array // recorded outputs [B, T, ...]
	row     int                   // next batch row to answer with
	lengths []int                 // unpadded length per row (attention mask sum)
	err     error                 // returned by Run when set
	cut     int                   // output rows left out, to test shape checks
}

func (r *replayRunner) Model(string) *sdk.ModelInfo { return r.info }

func (r *replayRunner) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.row >= r.ids.Shape[0] {
		return nil, fmt.Errorf("replay: run %d but the case has %d rows", r.row, r.ids.Shape[0])
	}
	b, T := r.row, r.ids.Shape[1]
	r.row++
	n := r.lengths[b]
	var fed []int64
	for _, v := range req.Inputs {
		if v.Name == inputIDs {
			fed, _ = sdk.Values[int64](v.Tensor)
		}
	}
	want := r.ids.Int64s()[b*T : b*T+n]
	if fmt.Sprint(fed) != fmt.Sprint(want) {
		r.t.Errorf("row %d: fed input_ids %v; transformers' tokenizer gave %v", b, fed, want)
	}
	res := &sdk.RunResult{}
	for _, o := range req.Outputs {
		a, ok := r.outs[o.Name]
		if !ok {
			return nil, fmt.Errorf("replay: no recorded output %q", o.Name)
		}
		w := 1
		for _, d := range a.Shape[2:] {
			w *= d
		}
		vals := a.Float32s()[b*T*w : (b*T+n-r.cut)*w]
		shape := []int64{1, int64(n - r.cut)}
		for _, d := range a.Shape[2:] {
			shape = append(shape, int64(d))
		}
		t, err := sdk.NewTensor(shape, append([]float32(nil), vals...))
		if err != nil {
			return nil, err
		}
		res.Outputs = append(res.Outputs, sdk.Value{Name: o.Name, Tensor: t})
	}
	return res, nil
}

// newReplay loads a fixture case's recorded arrays; outputs names the .npy outputs.
func newReplay(t *testing.T, model, cs string, outputs ...string) *replayRunner {
	t.Helper()
	caseDir := filepath.Join(fixtures, model, "expected", cs)
	ids, err := npy.ReadFile(filepath.Join(caseDir, "input_ids.npy"))
	if err != nil {
		t.Fatal(err)
	}
	mask, err := npy.ReadFile(filepath.Join(caseDir, "attention_mask.npy"))
	if err != nil {
		t.Fatal(err)
	}
	r := &replayRunner{t: t, ids: ids, outs: map[string]*npy.Array{}, info: fixtureInfo(t, model)}
	m := mask.Int64s()
	for b := 0; b < ids.Shape[0]; b++ {
		n := 0
		for _, v := range m[b*ids.Shape[1] : (b+1)*ids.Shape[1]] {
			n += int(v)
		}
		r.lengths = append(r.lengths, n)
	}
	for _, o := range outputs {
		a, err := npy.ReadFile(filepath.Join(caseDir, o+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		r.outs[o] = a
	}
	return r
}

// fixtureInfo builds the ModelInfo the plugin would report from a fixture's io.json.
func fixtureInfo(t *testing.T, model string) *sdk.ModelInfo {
	t.Helper()
	var io map[string]struct {
		Inputs  []struct{ Name string } `json:"inputs"`
		Outputs []struct{ Name string } `json:"outputs"`
	}
	b, err := os.ReadFile(filepath.Join(fixtures, model, "expected", "io.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &io); err != nil {
		t.Fatal(err)
	}
	info := &sdk.ModelInfo{}
	for _, in := range io["model.onnx"].Inputs {
		info.Inputs = append(info.Inputs, sdk.ValueInfo{Name: in.Name, DType: sdk.Int64, Shape: []int64{-1, -1}})
	}
	for _, o := range io["model.onnx"].Outputs {
		info.Outputs = append(info.Outputs, sdk.ValueInfo{Name: o.Name, DType: sdk.Float32})
	}
	return info
}

// fixtureCases returns the case names and texts of a fixture's summary.json.
func fixtureCases(t *testing.T, model string) map[string]json.RawMessage {
	t.Helper()
	var s summary
	b, err := os.ReadFile(filepath.Join(fixtures, model, "expected", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, c := range s.Cases {
		out[c.Name] = c.Texts
	}
	if len(out) == 0 {
		t.Fatalf("%s: summary.json has no cases", model)
	}
	return out
}

// pipelineOutput decodes a case's pipeline.json output into v.
func pipelineOutput(t *testing.T, model, cs string, v any) {
	t.Helper()
	var p struct {
		Output json.RawMessage `json:"output"`
	}
	b, err := os.ReadFile(filepath.Join(fixtures, model, "expected", cs, "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p.Output, v); err != nil {
		t.Fatalf("%s/%s pipeline.json: %v", model, cs, err)
	}
}

func openFixture(t *testing.T, model string) *models.Dir {
	t.Helper()
	d, err := models.Open(filepath.Join(fixtures, model))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(dir, name, text string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
}

func tokenizerOpts() tokenizer.EncodeOptions {
	return tokenizer.EncodeOptions{NoTruncation: true, NoPadding: true}
}
