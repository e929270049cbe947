package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/sdk"
)

// Graph roles of an encoder-decoder model, as optimum-onnx exports it: encoder_model.onnx,
// decoder_model.onnx (the first decoder step, no past) and decoder_with_past_model.onnx (every
// later step). The merged decoder (decoder_model_merged.onnx, with a use_cache_branch input) is
// not used: the two plain decoders need no dummy past tensors on the first step and each graph
// computes only its own branch.
const (
	EncoderRole         = "encoder"
	DecoderRole         = "decoder"
	DecoderWithPastRole = "decoder_with_past"
)

// Seq2SeqGraphs returns the ONNX files of an encoder-decoder model directory by role, for
// backend.Request.Graphs; a non-empty variant picks encoder_model_VARIANT.onnx and so on.
func Seq2SeqGraphs(dir *models.Dir, variant models.Variant) (map[string]string, error) {
	out := map[string]string{}
	for role, name := range map[string]string{EncoderRole: "encoder_model", DecoderRole: "decoder_model", DecoderWithPastRole: "decoder_with_past_model"} {
		p, err := dir.ONNX(name, variant)
		if err != nil {
			return nil, fmt.Errorf("text2text generation: %w; export the model with optimum-cli export onnx --task text2text-generation-with-past", err)
		}
		out[role] = p
	}
	return out, nil
}

// Names of the encoder-decoder graphs' inputs and outputs.
const (
	encoderMask   = "encoder_attention_mask"
	encoderStates = "encoder_hidden_states"
	lastHidden    = "last_hidden_state"
)

// Seq2Seq is greedy-search generation for an encoder-decoder model (t5, bart, marian, whisper,
// vision-encoder-decoder...): the encoder runs once, its last_hidden_state stays in the plugin as
// a handle and feeds the first decoder step (and every step for decoders without a
// cross-attention cache, such as GPT-2 in vision-encoder-decoder); the first step's
// cross-attention cache (present.N.encoder.*) is kept as handles for the whole generation and
// the self-attention cache (present.N.decoder.* or present.N.key/value) is replaced every step.
// The decoder prompt is generation_config.json's decoder_start_token_id followed by the tokens of
// forced_decoder_ids (Whisper); tokens are the argmax of the logits after suppress_tokens (every
// step) and begin_suppress_tokens (first new token) are masked; generation stops at
// eos_token_id or after maxNewTokens tokens, and with forced_eos_token_id set the last allowed
// token is forced to it, as transformers' ForcedEOSTokenLogitsProcessor does with max_length =
// len(prompt) + max_new_tokens. Batch 1 only. It is safe for concurrent use if its runner is.
type Seq2Seq struct {
	runner    pipeline.Runner
	encInputs []sdk.ValueInfo
	decMask   bool        // the decoders have encoder_attention_mask
	pastState bool        // decoder_with_past takes encoder_hidden_states (no cross cache)
	self      []cacheSlot // past_key_values.N.decoder.* <- present.N.decoder.*
	cross     []cacheSlot // past_key_values.N.encoder.* <- step 0's present.N.encoder.*
	prompt    []int64     // decoder_start_token_id, then forced_decoder_ids in order
	eos       []int64
	forcedEOS int64   // -1: none
	suppress  []int64 // suppress_tokens: never picked
	begin     []int64 // begin_suppress_tokens: not picked as the first new token
	observe   func(step int, logits []float32)
}

// Observe returns a copy of s that calls fn after every decoder run with that step's logits
// (before forced EOS), as generate(output_logits=True) returns them. fn must not keep the slice.
func (s *Seq2Seq) Observe(fn func(step int, logits []float32)) *Seq2Seq {
	c := *s
	c.observe = fn
	return &c
}

// NewSeq2Seq prepares greedy generation for an encoder-decoder model directory
// (generation_config.json or config.json) whose graphs are loaded in runner under EncoderRole,
// DecoderRole and DecoderWithPastRole (see Seq2SeqGraphs).
func NewSeq2Seq(dir *models.Dir, runner pipeline.Runner) (*Seq2Seq, error) {
	const what = "text2text generation"
	s := &Seq2Seq{runner: runner, forcedEOS: -1}
	enc := runner.Model(EncoderRole)
	dec := runner.Model(DecoderRole)
	past := runner.Model(DecoderWithPastRole)
	if enc == nil || dec == nil || past == nil {
		return nil, fmt.Errorf("%s: want graphs %q, %q and %q loaded (encoder_model.onnx, decoder_model.onnx, decoder_with_past_model.onnx); some are missing", what, EncoderRole, DecoderRole, DecoderWithPastRole)
	}
	s.encInputs = enc.Inputs
	if !hasOutput(enc, lastHidden) {
		return nil, fmt.Errorf("%s: encoder has no output %q; want an encoder exported by optimum-onnx", what, lastHidden)
	}
	// The first decoder step: input_ids, encoder_hidden_states, optionally encoder_attention_mask.
	for _, in := range dec.Inputs {
		switch in.Name {
		case inputIDs, encoderStates:
		case encoderMask:
			s.decMask = true
		default:
			return nil, fmt.Errorf("%s: decoder input %q is not one this pipeline fills (%s, %s, %s); use decoder_model.onnx, not the merged decoder", what, in.Name, inputIDs, encoderStates, encoderMask)
		}
	}
	if !hasOutput(dec, logitsName) || !hasOutput(past, logitsName) {
		return nil, fmt.Errorf("%s: decoder graphs must have output %q", what, logitsName)
	}
	for _, in := range past.Inputs {
		switch {
		case in.Name == inputIDs || in.Name == encoderMask:
		case in.Name == encoderStates:
			// GPT-2 style decoders (vision-encoder-decoder) recompute cross-attention each step.
			s.pastState = true
		case strings.HasPrefix(in.Name, pastPrefix):
			present := presentPrefix + strings.TrimPrefix(in.Name, pastPrefix)
			slot := cacheSlot{past: in, present: present}
			switch {
			case strings.HasSuffix(in.Name, ".decoder.key") || strings.HasSuffix(in.Name, ".decoder.value") ||
				(s.selfOnly(in.Name) && (strings.HasSuffix(in.Name, ".key") || strings.HasSuffix(in.Name, ".value"))):
				if !hasOutput(dec, present) || !hasOutput(past, present) {
					return nil, fmt.Errorf("%s: decoder_with_past input %q has no matching output %q in both decoders", what, in.Name, present)
				}
				s.self = append(s.self, slot)
			case strings.HasSuffix(in.Name, ".encoder.key") || strings.HasSuffix(in.Name, ".encoder.value"):
				if !hasOutput(dec, present) {
					return nil, fmt.Errorf("%s: decoder_with_past input %q has no matching output %q in decoder_model", what, in.Name, present)
				}
				s.cross = append(s.cross, slot)
			default:
				return nil, fmt.Errorf("%s: decoder_with_past input %q is neither a .decoder. nor an .encoder. cache entry", what, in.Name)
			}
		default:
			return nil, fmt.Errorf("%s: decoder_with_past input %q is not one this pipeline fills (%s, %s, %s*)", what, in.Name, inputIDs, encoderMask, pastPrefix)
		}
	}
	if len(s.self) == 0 {
		return nil, fmt.Errorf("%s: decoder_with_past has no %s*.decoder.* inputs; export with --task text2text-generation-with-past", what, pastPrefix)
	}
	if len(s.cross) == 0 && !s.pastState {
		return nil, fmt.Errorf("%s: decoder_with_past has neither %s*.encoder.* inputs nor %s; it cannot see the encoder output", what, pastPrefix, encoderStates)
	}
	sort.Slice(s.self, func(a, b int) bool { return s.self[a].past.Name < s.self[b].past.Name })
	sort.Slice(s.cross, func(a, b int) bool { return s.cross[a].past.Name < s.cross[b].past.Name })

	gc, src, err := readGenerationConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := gc.check("forced_eos_token_id", "suppress_tokens", "begin_suppress_tokens"); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", what, src, err)
	}
	if s.eos, err = tokenIDs(gc.EOS); err != nil {
		return nil, fmt.Errorf("%s: %s: eos_token_id: %w", what, src, err)
	}
	starts, err := tokenIDs(gc.DecoderStart)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: decoder_start_token_id: %w", what, src, err)
	}
	if len(starts) != 1 {
		return nil, fmt.Errorf("%s: %s has no single decoder_start_token_id (found %d); set it to the token the decoder starts from", what, src, len(starts))
	}
	s.prompt = []int64{starts[0]}
	if len(gc.ForcedDecoderIDs) > 0 && string(gc.ForcedDecoderIDs) != "null" {
		var pairs [][2]int64
		if err := json.Unmarshal(gc.ForcedDecoderIDs, &pairs); err != nil {
			return nil, fmt.Errorf("%s: %s: forced_decoder_ids: want a list of [position, token] pairs: %w", what, src, err)
		}
		// Whisper's generate turns these into decoder prompt tokens after the start token;
		// only that form (positions 1, 2, ... in order) is supported.
		for i, p := range pairs {
			if p[0] != int64(i+1) {
				return nil, fmt.Errorf("%s: %s: forced_decoder_ids %s do not force positions 1, 2, ... in order; only a forced decoder prompt is supported", what, src, gc.ForcedDecoderIDs)
			}
			s.prompt = append(s.prompt, p[1])
		}
	}
	if s.suppress, err = tokenIDs(gc.SuppressTokens); err != nil {
		return nil, fmt.Errorf("%s: %s: suppress_tokens: %w", what, src, err)
	}
	if s.begin, err = tokenIDs(gc.BeginSuppress); err != nil {
		return nil, fmt.Errorf("%s: %s: begin_suppress_tokens: %w", what, src, err)
	}
	forced, err := tokenIDs(gc.ForcedEOS)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: forced_eos_token_id: %w", what, src, err)
	}
	if len(forced) > 0 {
		// The processor sets every listed id's score to 0 and the rest to -inf; argmax then
		// takes the lowest listed id.
		s.forcedEOS = forced[0]
		for _, f := range forced[1:] {
			s.forcedEOS = min(s.forcedEOS, f)
		}
	}
	return s, nil
}

// selfOnly reports whether a past_key_values name has no .decoder./.encoder. part
// (past_key_values.N.key), as decoders without a cross-attention cache name it.
func (s *Seq2Seq) selfOnly(name string) bool {
	return !strings.Contains(name, ".decoder.") && !strings.Contains(name, ".encoder.")
}

func hasOutput(info *sdk.ModelInfo, name string) bool {
	for _, o := range info.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// DecoderPrompt returns the tokens the decoder starts from: decoder_start_token_id, then the
// tokens of forced_decoder_ids (Whisper's <|notimestamps|>, language and task tokens).
func (s *Seq2Seq) DecoderPrompt() []int64 { return append([]int64(nil), s.prompt...) }

// Generate runs the encoder on one sequence of token ids (its attention mask all ones) and
// greedy decoding for up to maxNewTokens tokens. It returns the generated ids without the decoder
// prompt, the eos token that stopped generation included (transformers' generate output minus
// the decoder prompt).
func (s *Seq2Seq) Generate(ctx context.Context, ids []int64, maxNewTokens int) ([]int64, Stats, error) {
	if len(ids) == 0 {
		return nil, Stats{}, fmt.Errorf("text2text generation: no input token given; want at least one")
	}
	n := int64(len(ids))
	ones := make([]int64, n)
	for i := range ones {
		ones[i] = 1
	}
	idsT, err := sdk.NewTensor([]int64{1, n}, append([]int64(nil), ids...))
	if err != nil {
		return nil, Stats{}, fmt.Errorf("text2text generation: %w", err)
	}
	maskT, err := sdk.NewTensor([]int64{1, n}, ones)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("text2text generation: %w", err)
	}
	out, st, err := s.GenerateEncoded(ctx, []sdk.Value{{Name: inputIDs, Tensor: idsT}, {Name: attentionMask, Tensor: maskT}}, maxNewTokens)
	st.PromptTokens = len(ids)
	return out, st, err
}

// GenerateEncoded is Generate for any encoder inputs (Whisper's input_features, ...), batch 1:
// inputs the encoder does not have are dropped, and every input it has must be given. The
// decoders' encoder_attention_mask, when they have one, is the attention_mask input.
func (s *Seq2Seq) GenerateEncoded(ctx context.Context, inputs []sdk.Value, maxNewTokens int) (out []int64, st Stats, err error) {
	const what = "sequence-to-sequence generation"
	if maxNewTokens <= 0 {
		return nil, st, fmt.Errorf("%s: maxNewTokens is %d; want at least 1", what, maxNewTokens)
	}
	t0 := time.Now()
	given := map[string]sdk.Value{}
	for _, v := range inputs {
		given[v.Name] = v
	}
	var encIn []sdk.Value
	for _, in := range s.encInputs {
		v, ok := given[in.Name]
		if !ok || v.Tensor == nil {
			return nil, st, fmt.Errorf("%s: the encoder needs input %q and none was given", what, in.Name)
		}
		if len(v.Tensor.Shape) == 0 || v.Tensor.Shape[0] != 1 {
			return nil, st, fmt.Errorf("%s: encoder input %q has shape %s; want batch 1", what, in.Name, sdk.FormatShape(v.Tensor.Shape))
		}
		encIn = append(encIn, v)
	}
	var maskT *sdk.Tensor
	if s.decMask {
		m, ok := given[attentionMask]
		if !ok || m.Tensor == nil {
			return nil, st, fmt.Errorf("%s: the decoders need %s and no %s input was given", what, encoderMask, attentionMask)
		}
		maskT = m.Tensor
	}
	st.Preprocess += time.Since(t0)

	// fixed holds the handles used by every step (encoder states, cross-attention cache); kept
	// the self-attention cache of the last step. Both are released when generation ends.
	var fixed, kept []string
	defer func() {
		if rerr := releaseHandles(ctx, s.runner, what, append(fixed, kept...)); rerr != nil && err == nil {
			err = rerr
		}
	}()

	t1 := time.Now()
	res, err := s.runner.Run(ctx, EncoderRole, &sdk.RunRequest{Inputs: encIn, Outputs: []sdk.OutputRequest{{Name: lastHidden, Keep: true}}})
	st.Model += time.Since(t1)
	if err != nil {
		return nil, st, fmt.Errorf("%s: encoder: %w", what, err)
	}
	hv := res.Output(lastHidden)
	if hv == nil || (hv.Handle == "" && hv.Tensor == nil) {
		return nil, st, fmt.Errorf("%s: encoder returned no output %q", what, lastHidden)
	}
	if hv.Handle != "" {
		fixed = append(fixed, hv.Handle)
	}
	hidden := sdk.Value{Name: encoderStates, Handle: hv.Handle, Tensor: hv.Tensor}

	var past, cross []sdk.Value
	feed := s.prompt
	for step := 0; step < maxNewTokens; step++ {
		t2 := time.Now()
		tt, err := sdk.NewTensor([]int64{1, int64(len(feed))}, append([]int64(nil), feed...))
		if err != nil {
			return nil, st, fmt.Errorf("%s: %w", what, err)
		}
		inputs := []sdk.Value{{Name: inputIDs, Tensor: tt}}
		if s.decMask {
			inputs = append(inputs, sdk.Value{Name: encoderMask, Tensor: maskT})
		}
		role := DecoderRole
		wanted := []sdk.OutputRequest{{Name: logitsName}}
		for _, c := range s.self {
			wanted = append(wanted, sdk.OutputRequest{Name: c.present, Keep: true})
		}
		if step == 0 {
			inputs = append(inputs, hidden)
			for _, c := range s.cross {
				wanted = append(wanted, sdk.OutputRequest{Name: c.present, Keep: true})
			}
		} else {
			role = DecoderWithPastRole
			inputs = append(inputs, past...)
			inputs = append(inputs, cross...)
			if s.pastState {
				inputs = append(inputs, hidden)
			}
		}
		st.Preprocess += time.Since(t2)

		t3 := time.Now()
		res, err := s.runner.Run(ctx, role, &sdk.RunRequest{Inputs: inputs, Outputs: wanted})
		st.Model += time.Since(t3)
		st.Steps++
		if err != nil {
			if sdk.CodeOf(err) == sdk.NotFound {
				return nil, st, fmt.Errorf("%s: step %d: the encoder output or cache kept in the plugin is gone (handle not found; the plugin most likely restarted during generation); run the generation again: %w", what, step, err)
			}
			return nil, st, fmt.Errorf("%s: step %d: %w", what, step, err)
		}

		t4 := time.Now()
		// Take the new handles first so that they are released whatever happens next.
		next, nextKept, cerr := takeCache(res, s.self)
		if step == 0 {
			var crossKept []string
			var xerr error
			cross, crossKept, xerr = takeCache(res, s.cross)
			fixed = append(fixed, crossKept...)
			cerr = firstErr(cerr, xerr)
		}
		if rerr := releaseHandles(ctx, s.runner, what, kept); rerr != nil {
			kept = nextKept
			return nil, st, rerr
		}
		kept = nextKept
		if cerr != nil {
			return nil, st, fmt.Errorf("%s: step %d: %w", what, step, cerr)
		}
		past = next

		logits, shape, err := pipeline.Output(res, logitsName)
		if err != nil {
			return nil, st, fmt.Errorf("%s: step %d: %w", what, step, err)
		}
		if len(shape) != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 || int64(len(logits)) != shape[1]*shape[2] {
			return nil, st, fmt.Errorf("%s: step %d: logits have shape %s; want [1, sequence, vocab]", what, step, sdk.FormatShape(shape))
		}
		vocab := int(shape[2])
		row := logits[(int(shape[1])-1)*vocab:]
		if s.observe != nil {
			s.observe(step, row)
		}
		tok := s.pick(step, maxNewTokens, row)
		feed = []int64{tok}
		out = append(out, tok)
		st.Postprocess += time.Since(t4)
		if isIn(s.eos, tok) {
			break
		}
	}
	return out, st, nil
}

// pick applies the logits processors generation_config.json switched on, as transformers
// orders them (suppress_tokens, begin_suppress_tokens, forced_eos_token_id), and returns the
// argmax.
func (s *Seq2Seq) pick(step, maxNewTokens int, row []float32) int64 {
	if step == maxNewTokens-1 && s.forcedEOS >= 0 {
		// max_length = len(prompt) + max_new_tokens; the last token is forced.
		return s.forcedEOS
	}
	if len(s.suppress) > 0 || (step == 0 && len(s.begin) > 0) {
		row = append([]float32(nil), row...)
		ninf := float32(math.Inf(-1))
		for _, id := range s.suppress {
			if id >= 0 && int(id) < len(row) {
				row[id] = ninf
			}
		}
		if step == 0 {
			for _, id := range s.begin {
				if id >= 0 && int(id) < len(row) {
					row[id] = ninf
				}
			}
		}
	}
	return int64(Argmax(row))
}

// takeCache turns a run's kept present.* outputs into the next step's past_key_values.* inputs
// and lists their handles.
func takeCache(res *sdk.RunResult, slots []cacheSlot) ([]sdk.Value, []string, error) {
	vals := make([]sdk.Value, len(slots))
	var handles []string
	var err error
	for i, c := range slots {
		v := res.Output(c.present)
		if v != nil && v.Handle != "" {
			handles = append(handles, v.Handle)
		}
		if v == nil || (v.Handle == "" && v.Tensor == nil) {
			err = firstErr(err, fmt.Errorf("model returned no output %q; the cache cannot be carried to the next step", c.present))
			continue
		}
		vals[i] = sdk.Value{Name: c.past.Name, Handle: v.Handle, Tensor: v.Tensor}
	}
	return vals, handles, err
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func isIn(list []int64, x int64) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// IsEOS reports whether tok is one of generation_config.json's eos_token_id.
func (s *Seq2Seq) IsEOS(tok int64) bool { return isIn(s.eos, tok) }
