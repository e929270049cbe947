package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/sdk"
)

const vocab = 10

// fakeDecoder plays a two-layer decoder: row r's token at step s is script[r][s]. It keeps its
// present outputs as handles, checks that every later step feeds exactly the previous step's
// handles under the matching past names, and records everything the pipeline fed and released.
type fakeDecoder struct {
	t        *testing.T
	info     *sdk.ModelInfo
	script   [][]int64
	steps    int
	live     map[string]string // handle -> present name it holds
	released map[string]int
	issued   int
	fed      []*sdk.RunRequest
	failAt   int   // step whose Run fails (0: none)
	failErr  error // the error it fails with
	noKeep   bool  // return the cache inline instead of as handles
}

func decoderInfo(position bool) *sdk.ModelInfo {
	info := &sdk.ModelInfo{
		Inputs: []sdk.ValueInfo{
			{Name: "input_ids", DType: sdk.Int64, Shape: []int64{-1, -1}},
			{Name: "attention_mask", DType: sdk.Int64, Shape: []int64{-1, -1}},
		},
		Outputs: []sdk.ValueInfo{{Name: "logits", DType: sdk.Float32, Shape: []int64{-1, -1, vocab}}},
	}
	if position {
		info.Inputs = append(info.Inputs, sdk.ValueInfo{Name: "position_ids", DType: sdk.Int64, Shape: []int64{-1, -1}})
	}
	for l := 0; l < 2; l++ {
		for _, kv := range []string{"key", "value"} {
			info.Inputs = append(info.Inputs, sdk.ValueInfo{Name: fmt.Sprintf("past_key_values.%d.%s", l, kv), DType: sdk.Float32, Shape: []int64{-1, 2, -1, 4}})
			info.Outputs = append(info.Outputs, sdk.ValueInfo{Name: fmt.Sprintf("present.%d.%s", l, kv), DType: sdk.Float32, Shape: []int64{-1, 2, -1, 4}})
		}
	}
	return info
}

func newFake(t *testing.T, script ...[]int64) *fakeDecoder {
	return &fakeDecoder{t: t, info: decoderInfo(true), script: script, live: map[string]string{}, released: map[string]int{}}
}

func (f *fakeDecoder) Model(string) *sdk.ModelInfo { return f.info }

func (f *fakeDecoder) input(req *sdk.RunRequest, name string) *sdk.Value {
	for i := range req.Inputs {
		if req.Inputs[i].Name == name {
			return &req.Inputs[i]
		}
	}
	return nil
}

func (f *fakeDecoder) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	f.fed = append(f.fed, req)
	step := f.steps
	f.steps++
	if f.failAt > 0 && step == f.failAt {
		return nil, f.failErr
	}
	b := int64(len(f.script))
	for l := 0; l < 2; l++ {
		for _, kv := range []string{"key", "value"} {
			name := fmt.Sprintf("past_key_values.%d.%s", l, kv)
			v := f.input(req, name)
			if v == nil {
				f.t.Errorf("step %d: no input %s", step, name)
				continue
			}
			present := "present." + strings.TrimPrefix(name, "past_key_values.")
			switch {
			case step == 0:
				if v.Tensor == nil || !reflect.DeepEqual(v.Tensor.Shape, []int64{b, 2, 0, 4}) || v.Tensor.DType != sdk.Float32 {
					f.t.Errorf("step 0: %s is %+v; want an empty float32 [%d 2 0 4] tensor", name, v.Tensor, b)
				}
			case f.noKeep:
				if v.Tensor == nil || v.Tensor.Shape[2] != int64(step) {
					f.t.Errorf("step %d: %s is not the previous inline present", step, name)
				}
			default:
				if v.Handle == "" {
					f.t.Errorf("step %d: %s fed inline; want the handle of %s", step, name, present)
				} else if got, ok := f.live[v.Handle]; !ok {
					f.t.Errorf("step %d: %s feeds handle %s, which is not live (released or never issued)", step, name, v.Handle)
				} else if got != present || !strings.HasSuffix(v.Handle, fmt.Sprintf("@%d", step-1)) {
					f.t.Errorf("step %d: %s feeds handle %s of %s; want the previous step's %s", step, name, v.Handle, got, present)
				}
			}
		}
	}
	ids := f.input(req, "input_ids").Tensor
	seq := ids.Shape[1]
	logits := make([]float32, 0, int(b*seq)*vocab)
	for r := int64(0); r < b; r++ {
		for s := int64(0); s < seq; s++ {
			row := make([]float32, vocab)
			if s == seq-1 {
				row[f.script[r][step]] = 1
			} else {
				row[vocab-1] = 5 // only the last position counts
			}
			logits = append(logits, row...)
		}
	}
	lt, err := sdk.NewTensor([]int64{b, seq, vocab}, logits)
	if err != nil {
		return nil, err
	}
	res := &sdk.RunResult{}
	for _, o := range req.Outputs {
		switch {
		case o.Name == "logits":
			if o.Keep {
				f.t.Errorf("logits requested as a handle; want them inline")
			}
			res.Outputs = append(res.Outputs, sdk.Value{Name: "logits", Tensor: lt})
		case !o.Keep:
			f.t.Errorf("step %d: %s requested inline; want it kept in the plugin", step, o.Name)
		case f.noKeep:
			pt, _ := sdk.NewTensor([]int64{b, 2, int64(step + 1), 4}, make([]float32, int(b)*2*(step+1)*4))
			res.Outputs = append(res.Outputs, sdk.Value{Name: o.Name, Tensor: pt})
		default:
			h := fmt.Sprintf("h%d:%s@%d", f.issued, o.Name, step)
			f.issued++
			f.live[h] = o.Name
			res.Outputs = append(res.Outputs, sdk.Value{Name: o.Name, Handle: h})
		}
	}
	return res, nil
}

func (f *fakeDecoder) Release(_ context.Context, handles []string) error {
	for _, h := range handles {
		f.released[h]++
		if f.released[h] > 1 {
			f.t.Errorf("handle %s released %d times", h, f.released[h])
		}
		if _, ok := f.live[h]; !ok && f.released[h] == 1 {
			f.t.Errorf("released handle %s that was never issued", h)
		}
		delete(f.live, h)
	}
	return nil
}

// checkAllReleased fails unless every handle issued was released exactly once.
func (f *fakeDecoder) checkAllReleased(t *testing.T) {
	t.Helper()
	if len(f.live) != 0 {
		t.Errorf("%d handles left in the plugin: %v", len(f.live), f.live)
	}
	if len(f.released) != f.issued {
		t.Errorf("%d handles issued, %d released", f.issued, len(f.released))
	}
}

func ints(t *testing.T, v *sdk.Value) []int64 {
	t.Helper()
	x, err := sdk.Values[int64](v.Tensor)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// modelDir writes a model directory with config.json and, unless genCfg is empty, a
// generation_config.json.
func modelDir(t *testing.T, genCfg string) *models.Dir {
	t.Helper()
	p := t.TempDir()
	if err := os.WriteFile(filepath.Join(p, "config.json"), []byte(`{"model_type": "gpt2", "eos_token_id": 9}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if genCfg != "" {
		if err := os.WriteFile(filepath.Join(p, "generation_config.json"), []byte(genCfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := models.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGreedyFeedsCacheByHandle(t *testing.T) {
	f := newFake(t, []int64{3, 4, 5, 6, 7})
	g, err := NewGreedy(modelDir(t, `{"eos_token_id": 8}`), f)
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := g.Generate(context.Background(), []int64{1, 2, 3}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("generated %v, want %v", got, want)
	}
	if st.Steps != 4 || len(f.fed) != 4 || st.PromptTokens != 3 {
		t.Errorf("stats %+v after %d runs; want 4 steps over a 3-token prompt", st, len(f.fed))
	}
	f.checkAllReleased(t)
	if f.issued != 16 {
		t.Errorf("%d handles issued; want 4 per step", f.issued)
	}
	wantIDs := [][]int64{{1, 2, 3}, {3}, {4}, {5}}
	wantMask := [][]int64{{1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}}
	wantPos := [][]int64{{0, 1, 2}, {3}, {4}, {5}}
	for i, req := range f.fed {
		if x := ints(t, f.input(req, "input_ids")); !reflect.DeepEqual(x, wantIDs[i]) {
			t.Errorf("step %d: input_ids %v, want %v", i, x, wantIDs[i])
		}
		if x := ints(t, f.input(req, "attention_mask")); !reflect.DeepEqual(x, wantMask[i]) {
			t.Errorf("step %d: attention_mask %v, want %v", i, x, wantMask[i])
		}
		if x := ints(t, f.input(req, "position_ids")); !reflect.DeepEqual(x, wantPos[i]) {
			t.Errorf("step %d: position_ids %v, want %v", i, x, wantPos[i])
		}
	}
}

func TestGreedyStopsAtAnyEOS(t *testing.T) {
	for _, cfg := range []string{`{"eos_token_id": [8, 5], "pad_token_id": 8}`, `{"eos_token_id": 5}`} {
		f := newFake(t, []int64{3, 4, 5, 6, 7})
		g, err := NewGreedy(modelDir(t, cfg), f)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := g.Generate(context.Background(), []int64{1}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{3, 4, 5}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: generated %v, want %v (stop after the eos token, keeping it)", cfg, got, want)
		}
		f.checkAllReleased(t)
	}
}

func TestGreedyEOSFromConfigJSON(t *testing.T) {
	// No generation_config.json: config.json's eos_token_id (9) applies.
	f := newFake(t, []int64{3, 9, 5})
	g, err := NewGreedy(modelDir(t, ""), f)
	if err != nil {
		t.Fatal(err)
	}
	if eos := g.EOS(); !reflect.DeepEqual(eos, []int64{9}) {
		t.Errorf("EOS() = %v, want [9] from config.json", eos)
	}
	got, _, err := g.Generate(context.Background(), []int64{1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{3, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("generated %v, want %v", got, want)
	}
}

func TestGreedyBatchLeftPadsAndFillsFinishedRows(t *testing.T) {
	f := newFake(t, []int64{5, 3, 3, 3}, []int64{3, 4, 5, 6})
	g, err := NewGreedy(modelDir(t, `{"eos_token_id": 5, "pad_token_id": 0}`), f)
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := g.GenerateBatch(context.Background(), [][]int64{{7}, {1, 2, 3}}, 6)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0 ends at step 0 and is filled with pad (0) until row 1 ends at step 2.
	if want := [][]int64{{5, 0, 0}, {3, 4, 5}}; !reflect.DeepEqual(got, want) {
		t.Errorf("generated %v, want %v", got, want)
	}
	if st.Steps != 3 {
		t.Errorf("%d steps, want 3", st.Steps)
	}
	wantIDs := [][]int64{{0, 0, 7, 1, 2, 3}, {5, 3}, {0, 4}}
	wantMask := [][]int64{{0, 0, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1, 1, 1, 1, 1}}
	wantPos := [][]int64{{1, 1, 0, 0, 1, 2}, {1, 3}, {2, 4}}
	for i, req := range f.fed {
		if x := ints(t, f.input(req, "input_ids")); !reflect.DeepEqual(x, wantIDs[i]) {
			t.Errorf("step %d: input_ids %v, want %v", i, x, wantIDs[i])
		}
		if x := ints(t, f.input(req, "attention_mask")); !reflect.DeepEqual(x, wantMask[i]) {
			t.Errorf("step %d: attention_mask %v, want %v", i, x, wantMask[i])
		}
		if x := ints(t, f.input(req, "position_ids")); !reflect.DeepEqual(x, wantPos[i]) {
			t.Errorf("step %d: position_ids %v, want %v", i, x, wantPos[i])
		}
	}
	f.checkAllReleased(t)
}

func TestGreedyWithoutPositionIDs(t *testing.T) {
	f := newFake(t, []int64{3, 4})
	f.info = decoderInfo(false)
	g, err := NewGreedy(modelDir(t, `{"eos_token_id": 9}`), f)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Generate(context.Background(), []int64{1, 2}, 2); err != nil {
		t.Fatal(err)
	}
	for i, req := range f.fed {
		if f.input(req, "position_ids") != nil {
			t.Errorf("step %d fed position_ids to a graph that does not declare them", i)
		}
	}
}

// plainRunner hides the fake's Release: a runner without the capability.
type plainRunner struct{ f *fakeDecoder }

func (p plainRunner) Model(r string) *sdk.ModelInfo { return p.f.Model(r) }
func (p plainRunner) Run(ctx context.Context, r string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	return p.f.Run(ctx, r, req)
}

func TestGreedyRunnerWithoutReleaseOrHandles(t *testing.T) {
	f := newFake(t, []int64{3, 4, 5})
	g, err := NewGreedy(modelDir(t, `{"eos_token_id": 9}`), plainRunner{f})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := g.Generate(context.Background(), []int64{1}, 3); err != nil || !reflect.DeepEqual(got, []int64{3, 4, 5}) {
		t.Errorf("without Release: got %v, %v; want [3 4 5]", got, err)
	}
	// A runner that returns the cache inline although it was asked to keep it.
	f = newFake(t, []int64{3, 4, 5})
	f.noKeep = true
	g, err = NewGreedy(modelDir(t, `{"eos_token_id": 9}`), f)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := g.Generate(context.Background(), []int64{1}, 3); err != nil || !reflect.DeepEqual(got, []int64{3, 4, 5}) {
		t.Errorf("inline cache: got %v, %v; want [3 4 5]", got, err)
	}
}

func TestGreedyReleasesOnFailure(t *testing.T) {
	f := newFake(t, []int64{3, 4, 5, 6})
	f.failAt = 2
	f.failErr = sdk.Errorf(sdk.NotFound, "unknown handle")
	g, err := NewGreedy(modelDir(t, `{"eos_token_id": 9}`), f)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.Generate(context.Background(), []int64{1}, 4)
	if err == nil || !strings.Contains(err.Error(), "restarted") || sdk.CodeOf(err) != sdk.NotFound {
		t.Errorf("error %v; want one that says the plugin restarted and keeps code NotFound", err)
	}
	f.checkAllReleased(t)

	f = newFake(t, []int64{3, 4, 5, 6})
	f.failAt = 1
	f.failErr = errors.New("boom")
	g, _ = NewGreedy(modelDir(t, `{"eos_token_id": 9}`), f)
	if _, _, err = g.Generate(context.Background(), []int64{1}, 4); err == nil || !strings.Contains(err.Error(), "step 1") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v; want the step and the runner's error", err)
	}
	f.checkAllReleased(t)
}

func TestGreedyObserveSeesLastPositionLogits(t *testing.T) {
	f := newFake(t, []int64{3, 4})
	g, err := NewGreedy(modelDir(t, `{"eos_token_id": 9}`), f)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	obs := g.Observe(func(step int, logits [][]float32) {
		if len(logits) != 1 || len(logits[0]) != vocab {
			t.Errorf("step %d: logits %v; want one row of %d", step, logits, vocab)
			return
		}
		seen = append(seen, Argmax(logits[0]))
	})
	if _, _, err := obs.Generate(context.Background(), []int64{1, 2}, 2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, []int{3, 4}) {
		t.Errorf("observed argmaxes %v, want [3 4]", seen)
	}
}

func TestNewGreedyRefuses(t *testing.T) {
	noPresent := decoderInfo(true)
	noPresent.Outputs = noPresent.Outputs[:1]
	noLogits := decoderInfo(true)
	noLogits.Outputs = noLogits.Outputs[1:]
	noPast := decoderInfo(true)
	noPast.Inputs = noPast.Inputs[:3]
	merged := decoderInfo(true)
	merged.Inputs = append(merged.Inputs, sdk.ValueInfo{Name: "use_cache_branch", DType: sdk.Bool, Shape: []int64{1}})
	floatIDs := decoderInfo(true)
	floatIDs.Inputs[0].DType = sdk.Float32
	dynHeads := decoderInfo(true)
	dynHeads.Inputs[3].Shape = []int64{-1, -1, -1, 4}
	for _, c := range []struct {
		name string
		info *sdk.ModelInfo
		cfg  string
		want string
	}{
		{"no present", noPresent, `{}`, `no matching output "present.0.key"`},
		{"no logits", noLogits, `{}`, `no output "logits"`},
		{"no past", noPast, `{}`, "export it with past key values"},
		{"merged", merged, `{}`, `"use_cache_branch" is not one this pipeline fills`},
		{"float ids", floatIDs, `{}`, "want int64"},
		{"dynamic heads", dynHeads, `{}`, "fixed heads and head_dim"},
		{"repetition penalty", decoderInfo(true), `{"repetition_penalty": 1.2, "forced_eos_token_id": 2}`, "forced_eos_token_id, repetition_penalty, which greedy generation here does not apply"},
		{"bad eos", decoderInfo(true), `{"eos_token_id": "x"}`, "eos_token_id: want an integer or a list"},
		{"bad json", decoderInfo(true), `{`, "not valid JSON"},
	} {
		f := newFake(t)
		f.info = c.info
		_, err := NewGreedy(modelDir(t, c.cfg), f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want one containing %q", c.name, err, c.want)
		}
	}
}

func TestGenerateRefusesBadCalls(t *testing.T) {
	f := newFake(t, []int64{3})
	g, err := NewGreedy(modelDir(t, `{}`), f)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		prompts [][]int64
		max     int
		want    string
	}{
		{nil, 3, "no prompt"},
		{[][]int64{{}}, 3, "prompt 0 is empty"},
		{[][]int64{{1}}, 0, "maxNewTokens is 0"},
		{[][]int64{{1}, {1, 2}}, 3, "need a pad token"},
	} {
		if _, _, err := g.GenerateBatch(ctx, c.prompts, c.max); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, %d: error %v; want one containing %q", c.prompts, c.max, err, c.want)
		}
	}
	if len(f.fed) != 0 {
		t.Errorf("bad calls reached the runner %d times", len(f.fed))
	}
}

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		{[]float32{1, 3, 3, 2}, 1},
		{[]float32{-1, -2}, 0},
		{[]float32{1, nan, 5, nan}, 1},
		{[]float32{float32(math.Inf(-1)), -1e30}, 1},
	} {
		if got := Argmax(c.x); got != c.want {
			t.Errorf("Argmax(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}
