package generate

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/sdk"
)

// fakeSeq2Seq plays a two-layer encoder-decoder: the token at step s is script[s]. It keeps
// every cache output and the encoder output as handles, checks that each step feeds the right
// live handles (encoder states on the first step, the first step's cross-attention cache and
// the previous step's self-attention cache later) and records releases.
type fakeSeq2Seq struct {
	t        *testing.T
	infos    map[string]*sdk.ModelInfo
	script   []int64
	start    int64
	prompt   []int64
	steps    int
	encoded  int
	live     map[string]string // handle -> output name
	released map[string]int
	issued   int
	last     int64   // token fed at the previous step
	failAt   int     // decoder step whose Run fails (0: none)
	first    []int64 // the decoder prompt, when longer than the start token
	picked   []int64 // tokens the pipeline should pick, when processors change script
	gpt2     bool    // GPT-2 style decoder: past_key_values.N.key, encoder states every step
	failErr  error
}

func seq2seqInfos(merged bool) map[string]*sdk.ModelInfo {
	ids := sdk.ValueInfo{Name: "input_ids", DType: sdk.Int64, Shape: []int64{-1, -1}}
	mask := sdk.ValueInfo{Name: "encoder_attention_mask", DType: sdk.Int64, Shape: []int64{-1, -1}}
	logits := sdk.ValueInfo{Name: "logits", DType: sdk.Float32, Shape: []int64{-1, -1, vocab}}
	enc := &sdk.ModelInfo{
		Inputs:  []sdk.ValueInfo{ids, {Name: "attention_mask", DType: sdk.Int64, Shape: []int64{-1, -1}}},
		Outputs: []sdk.ValueInfo{{Name: "last_hidden_state", DType: sdk.Float32, Shape: []int64{-1, -1, 4}}},
	}
	dec := &sdk.ModelInfo{
		Inputs:  []sdk.ValueInfo{mask, ids, {Name: "encoder_hidden_states", DType: sdk.Float32, Shape: []int64{-1, -1, 4}}},
		Outputs: []sdk.ValueInfo{logits},
	}
	past := &sdk.ModelInfo{Inputs: []sdk.ValueInfo{mask, ids}, Outputs: []sdk.ValueInfo{logits}}
	for l := 0; l < 2; l++ {
		for _, part := range []string{"decoder", "encoder"} {
			for _, kv := range []string{"key", "value"} {
				name := fmt.Sprintf("%d.%s.%s", l, part, kv)
				in := sdk.ValueInfo{Name: "past_key_values." + name, DType: sdk.Float32, Shape: []int64{-1, 2, -1, 4}}
				out := sdk.ValueInfo{Name: "present." + name, DType: sdk.Float32, Shape: []int64{-1, 2, -1, 4}}
				past.Inputs = append(past.Inputs, in)
				dec.Outputs = append(dec.Outputs, out)
				if part == "decoder" {
					past.Outputs = append(past.Outputs, out)
				}
				if merged {
					dec.Inputs = append(dec.Inputs, in)
				}
			}
		}
	}
	if merged {
		dec.Inputs = append(dec.Inputs, sdk.ValueInfo{Name: "use_cache_branch", DType: sdk.Bool, Shape: []int64{1}})
	}
	return map[string]*sdk.ModelInfo{EncoderRole: enc, DecoderRole: dec, DecoderWithPastRole: past}
}

func newFakeSeq2Seq(t *testing.T, start int64, prompt []int64, script ...int64) *fakeSeq2Seq {
	return &fakeSeq2Seq{t: t, infos: seq2seqInfos(false), script: script, start: start, prompt: prompt, live: map[string]string{}, released: map[string]int{}}
}

func (f *fakeSeq2Seq) Model(role string) *sdk.ModelInfo { return f.infos[role] }

func (f *fakeSeq2Seq) keep(name string, step int) sdk.Value {
	h := fmt.Sprintf("h%d:%s@%d", f.issued, name, step)
	f.issued++
	f.live[h] = name
	return sdk.Value{Name: name, Handle: h}
}

func (f *fakeSeq2Seq) Run(_ context.Context, role string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	in := map[string]sdk.Value{}
	for _, v := range req.Inputs {
		in[v.Name] = v
	}
	res := &sdk.RunResult{}
	if role == EncoderRole {
		f.encoded++
		if v, ok := in["input_ids"]; !ok && f.gpt2 {
			if _, ok := in["pixel_values"]; !ok {
				f.t.Errorf("encoder fed %v; want pixel_values", req.Inputs)
			}
		} else if got := ints(f.t, &v); !reflect.DeepEqual(got, f.prompt) {
			f.t.Errorf("encoder input_ids %v; want %v", got, f.prompt)
		}
		if len(req.Outputs) != 1 || !req.Outputs[0].Keep {
			f.t.Errorf("encoder outputs %+v; want last_hidden_state kept", req.Outputs)
		}
		res.Outputs = append(res.Outputs, f.keep("last_hidden_state", -1))
		return res, nil
	}
	step := f.steps
	f.steps++
	if (step == 0) != (role == DecoderRole) {
		f.t.Errorf("step %d ran graph %q", step, role)
	}
	if f.failAt > 0 && step == f.failAt {
		return nil, f.failErr
	}
	want := []int64{f.last}
	switch {
	case step == 0 && f.first != nil:
		want = f.first
	case step == 0:
		want = []int64{f.start}
	case f.picked != nil:
		want = []int64{f.picked[step-1]}
	}
	if got := ints(f.t, ptr(in["input_ids"])); !reflect.DeepEqual(got, want) {
		f.t.Errorf("step %d: input_ids %v; want %v", step, got, want)
	}
	if _, ok := in["encoder_attention_mask"]; ok == f.gpt2 {
		f.t.Errorf("step %d: encoder_attention_mask fed %v; the decoder has it: %v", step, ok, !f.gpt2)
	} else if !f.gpt2 {
		if got := ints(f.t, ptr(in["encoder_attention_mask"])); len(got) != len(f.prompt) {
			f.t.Errorf("step %d: encoder_attention_mask %v; want %d ones", step, got, len(f.prompt))
		}
	}
	checkHandle := func(name, holds, suffix string) {
		v, ok := in[name]
		switch {
		case !ok || v.Handle == "":
			f.t.Errorf("step %d: %s not fed as a handle", step, name)
		case f.live[v.Handle] != holds:
			f.t.Errorf("step %d: %s feeds handle %s (live as %q); want a live %s", step, name, v.Handle, f.live[v.Handle], holds)
		case !strings.HasSuffix(v.Handle, suffix):
			f.t.Errorf("step %d: %s feeds handle %s; want one from %s", step, name, v.Handle, suffix)
		}
	}
	if step == 0 || f.gpt2 {
		checkHandle("encoder_hidden_states", "last_hidden_state", "@-1")
	}
	if step > 0 && f.gpt2 {
		for l := 0; l < 2; l++ {
			for _, kv := range []string{"key", "value"} {
				checkHandle(fmt.Sprintf("past_key_values.%d.%s", l, kv), fmt.Sprintf("present.%d.%s", l, kv), fmt.Sprintf("@%d", step-1))
			}
		}
	} else if step > 0 {
		for l := 0; l < 2; l++ {
			for _, kv := range []string{"key", "value"} {
				checkHandle(fmt.Sprintf("past_key_values.%d.decoder.%s", l, kv), fmt.Sprintf("present.%d.decoder.%s", l, kv), fmt.Sprintf("@%d", step-1))
				checkHandle(fmt.Sprintf("past_key_values.%d.encoder.%s", l, kv), fmt.Sprintf("present.%d.encoder.%s", l, kv), "@0")
			}
		}
	}
	// The scripted token first, the next id second.
	row := make([]float32, vocab)
	row[f.script[step]] = 2
	row[(f.script[step]+1)%vocab] = 1
	f.last = f.script[step]
	seq := int64(len(want))
	all := make([]float32, 0, int(seq)*vocab)
	for i := int64(1); i < seq; i++ {
		all = append(all, make([]float32, vocab)...) // only the last position counts
	}
	lt, err := sdk.NewTensor([]int64{1, seq, vocab}, append(all, row...))
	if err != nil {
		return nil, err
	}
	for _, o := range req.Outputs {
		if o.Name == "logits" {
			res.Outputs = append(res.Outputs, sdk.Value{Name: o.Name, Tensor: lt})
			continue
		}
		if !o.Keep {
			f.t.Errorf("step %d: %s requested inline; want it kept", step, o.Name)
		}
		if step > 0 && strings.Contains(o.Name, ".encoder.") {
			f.t.Errorf("step %d: requested %s, which decoder_with_past does not compute", step, o.Name)
		}
		res.Outputs = append(res.Outputs, f.keep(o.Name, step))
	}
	return res, nil
}

func ptr(v sdk.Value) *sdk.Value { return &v }

func (f *fakeSeq2Seq) Release(_ context.Context, handles []string) error {
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

func (f *fakeSeq2Seq) checkAllReleased(t *testing.T) {
	t.Helper()
	if len(f.live) != 0 {
		t.Errorf("%d handles left in the plugin: %v", len(f.live), f.live)
	}
	if len(f.released) != f.issued {
		t.Errorf("%d handles issued, %d released", f.issued, len(f.released))
	}
}

func TestSeq2SeqStopsAtEOSAndReleasesEveryHandle(t *testing.T) {
	d := modelDir(t, `{"decoder_start_token_id": 0, "eos_token_id": 9, "pad_token_id": 0}`)
	f := newFakeSeq2Seq(t, 0, []int64{4, 5, 9}, 5, 3, 7, 9, 1, 1)
	s, err := NewSeq2Seq(d, f)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	got, st, err := s.Observe(func(step int, logits []float32) {
		if len(logits) != vocab {
			t.Errorf("step %d: %d logits", step, len(logits))
		}
		seen = append(seen, step)
	}).Generate(context.Background(), []int64{4, 5, 9}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{5, 3, 7, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("generated %v; want %v", got, want)
	}
	if st.Steps != 4 || f.encoded != 1 || !reflect.DeepEqual(seen, []int{0, 1, 2, 3}) {
		t.Errorf("%d steps, %d encoder runs, observed %v; want 4 steps, 1 encoder run", st.Steps, f.encoded, seen)
	}
	// 1 encoder output + 8 step-0 cache entries + 4 self-attention entries per later step.
	if f.issued != 1+8+4*3 {
		t.Errorf("%d handles issued; want %d", f.issued, 1+8+4*3)
	}
	f.checkAllReleased(t)
}

func TestSeq2SeqForcesEOSAtTheLastStep(t *testing.T) {
	// bart and marian: forced_eos_token_id makes the max_new_tokens-th token EOS.
	d := modelDir(t, `{"decoder_start_token_id": 2, "eos_token_id": 8, "forced_eos_token_id": [9, 8]}`)
	f := newFakeSeq2Seq(t, 2, []int64{1}, 5, 3, 7, 4)
	s, err := NewSeq2Seq(d, f)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Generate(context.Background(), []int64{1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{5, 3, 8}; !reflect.DeepEqual(got, want) {
		t.Errorf("generated %v; want %v (the lowest forced id last)", got, want)
	}
	f.checkAllReleased(t)
}

func TestSeq2SeqFailureMidwayReleasesHandles(t *testing.T) {
	d := modelDir(t, `{"decoder_start_token_id": 0, "eos_token_id": 9}`)
	f := newFakeSeq2Seq(t, 0, []int64{3}, 5, 3, 7, 9)
	f.failAt, f.failErr = 2, sdk.Errorf(sdk.NotFound, "no handle h3")
	s, err := NewSeq2Seq(d, f)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Generate(context.Background(), []int64{3}, 10)
	if err == nil || !strings.Contains(err.Error(), "step 2") || !strings.Contains(err.Error(), "run the generation again") {
		t.Errorf("error %v; want step 2 named and a handle-lost hint", err)
	}
	f.checkAllReleased(t)
}

func TestSeq2SeqRefusesWhatItCannotRun(t *testing.T) {
	ok := `{"decoder_start_token_id": 0, "eos_token_id": 9}`
	for _, c := range []struct {
		name, cfg string
		edit      func(map[string]*sdk.ModelInfo)
		want      string
	}{
		{"no start token", `{"eos_token_id": 9}`, nil, "decoder_start_token_id"},
		{"repetition penalty", `{"decoder_start_token_id": 0, "repetition_penalty": 1.2}`, nil, "repetition_penalty"},
		{"missing graph", ok, func(m map[string]*sdk.ModelInfo) { delete(m, DecoderWithPastRole) }, "decoder_with_past"},
		{"merged decoder", ok, func(m map[string]*sdk.ModelInfo) { m[DecoderRole] = seq2seqInfos(true)[DecoderRole] }, "merged decoder"},
		{"no encoder output", ok, func(m map[string]*sdk.ModelInfo) { m[EncoderRole].Outputs[0].Name = "hidden" }, "last_hidden_state"},
		{"no self cache", ok, func(m map[string]*sdk.ModelInfo) {
			p := m[DecoderWithPastRole]
			p.Inputs = p.Inputs[:2]
		}, "with-past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeSeq2Seq(t, 0, nil)
			if c.edit != nil {
				c.edit(f.infos)
			}
			_, err := NewSeq2Seq(modelDir(t, c.cfg), f)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one naming %q", err, c.want)
			}
		})
	}
	f := newFakeSeq2Seq(t, 0, nil)
	s, err := NewSeq2Seq(modelDir(t, ok), f)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Generate(context.Background(), nil, 3); err == nil {
		t.Error("empty input accepted")
	}
	if _, _, err := s.Generate(context.Background(), []int64{1}, 0); err == nil {
		t.Error("maxNewTokens 0 accepted")
	}
}

func TestText2TextWantsTokenizerJSON(t *testing.T) {
	f := newFakeSeq2Seq(t, 0, nil)
	_, err := NewText2Text(modelDir(t, `{"decoder_start_token_id": 0, "eos_token_id": 9}`), f)
	if err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("error %v; want one saying there is no tokenizer.json", err)
	}
}

func TestSeq2SeqWhisperPromptAndSuppression(t *testing.T) {
	// Whisper: the decoder prompt is <|startoftranscript|> then the forced ids; the first new
	// token may not be a begin-suppressed one, and suppressed tokens are never picked.
	d := modelDir(t, `{"decoder_start_token_id": 7, "eos_token_id": 9, "forced_decoder_ids": [[1, 8], [2, 6]], "begin_suppress_tokens": [4], "suppress_tokens": [2]}`)
	f := newFakeSeq2Seq(t, 7, []int64{1}, 4, 4, 2, 9)
	f.first = []int64{7, 8, 6}
	f.picked = []int64{5, 4, 3, 9}
	s, err := NewSeq2Seq(d, f)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.DecoderPrompt(); !reflect.DeepEqual(got, f.first) {
		t.Errorf("decoder prompt %v; want %v", got, f.first)
	}
	got, _, err := s.Generate(context.Background(), []int64{1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f.picked) {
		t.Errorf("generated %v; want %v", got, f.picked)
	}
	f.checkAllReleased(t)

	bad := modelDir(t, `{"decoder_start_token_id": 7, "forced_decoder_ids": [[2, 8]]}`)
	if _, err := NewSeq2Seq(bad, newFakeSeq2Seq(t, 7, nil)); err == nil || !strings.Contains(err.Error(), "forced_decoder_ids") {
		t.Errorf("error %v; want forced_decoder_ids with a gap refused", err)
	}
}

func TestSpeechToTextWantsTokenizerJSON(t *testing.T) {
	_, err := NewSpeechToText(modelDir(t, `{"decoder_start_token_id": 0}`), newFakeSeq2Seq(t, 0, nil))
	if err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("error %v; want one saying there is no tokenizer.json", err)
	}
}

// gpt2Infos is a vision-encoder-decoder layout: a GPT-2 decoder with cross-attention that
// takes encoder_hidden_states at every step and caches only self-attention.
func gpt2Infos() map[string]*sdk.ModelInfo {
	ids := sdk.ValueInfo{Name: "input_ids", DType: sdk.Int64, Shape: []int64{-1, -1}}
	states := sdk.ValueInfo{Name: "encoder_hidden_states", DType: sdk.Float32, Shape: []int64{-1, -1, 4}}
	logits := sdk.ValueInfo{Name: "logits", DType: sdk.Float32, Shape: []int64{-1, -1, vocab}}
	enc := &sdk.ModelInfo{
		Inputs:  []sdk.ValueInfo{{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}}},
		Outputs: []sdk.ValueInfo{{Name: "last_hidden_state", DType: sdk.Float32, Shape: []int64{-1, -1, 4}}},
	}
	dec := &sdk.ModelInfo{Inputs: []sdk.ValueInfo{ids, states}, Outputs: []sdk.ValueInfo{logits}}
	past := &sdk.ModelInfo{Inputs: []sdk.ValueInfo{ids, states}, Outputs: []sdk.ValueInfo{logits}}
	for l := 0; l < 2; l++ {
		for _, kv := range []string{"key", "value"} {
			name := fmt.Sprintf("%d.%s", l, kv)
			out := sdk.ValueInfo{Name: "present." + name, DType: sdk.Float32, Shape: []int64{-1, 2, -1, 4}}
			past.Inputs = append(past.Inputs, sdk.ValueInfo{Name: "past_key_values." + name, DType: sdk.Float32, Shape: []int64{-1, 2, -1, 4}})
			dec.Outputs = append(dec.Outputs, out)
			past.Outputs = append(past.Outputs, out)
		}
	}
	return map[string]*sdk.ModelInfo{EncoderRole: enc, DecoderRole: dec, DecoderWithPastRole: past}
}

func TestSeq2SeqGPT2DecoderGetsEncoderStatesEveryStep(t *testing.T) {
	d := modelDir(t, `{"decoder_start_token_id": 9, "eos_token_id": 9}`)
	f := newFakeSeq2Seq(t, 9, nil, 5, 3, 9)
	f.infos, f.gpt2 = gpt2Infos(), true
	s, err := NewSeq2Seq(d, f)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := sdk.NewTensor([]int64{1, 3, 2, 2}, make([]float32, 12))
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := s.GenerateEncoded(context.Background(), []sdk.Value{{Name: "pixel_values", Tensor: pv}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{5, 3, 9}; !reflect.DeepEqual(got, want) || st.Steps != 3 {
		t.Errorf("generated %v in %d steps; want %v in 3", got, st.Steps, want)
	}
	// 1 encoder output + 4 self-attention entries per step.
	if f.issued != 1+4*3 {
		t.Errorf("%d handles issued; want %d", f.issued, 1+4*3)
	}
	f.checkAllReleased(t)
	if _, _, err := s.GenerateEncoded(context.Background(), nil, 10); err == nil || !strings.Contains(err.Error(), "pixel_values") {
		t.Errorf("error %v; want the missing pixel_values named", err)
	}
}
