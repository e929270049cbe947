// Package generate owns autoregressive text generation for decoder-only models (Greedy,
// TextGenerator) and encoder-decoder models (Seq2Seq, with the Text2Text, SpeechToText (Whisper)
// and ImageToText (vision-encoder-decoder) pipelines on top): the step loop that feeds a
// prompt, picks the next token and feeds it back with the key/value cache, and the bookkeeping of
// that cache while it stays inside the backend plugin as handles.
//
// Greedy reproduces transformers' model.generate(do_sample=False) for graphs exported by
// optimum-onnx as one model.onnx with inputs input_ids, attention_mask, optionally position_ids,
// and past_key_values.N.key/value, and outputs logits and present.N.key/value. The first step
// feeds the prompt with empty past tensors (sequence length 0); every later step feeds only the
// new token and the previous step's present.* outputs, which the plugin kept (sdk.OutputRequest
// Keep) so that the cache never travels back to the host. Tokens are the argmax of the last
// position's logits (ties go to the lowest id, as torch.argmax). Generation stops when every
// row produced one of generation_config.json's eos_token_id or after maxNewTokens tokens.
//
// Batches are left-padded, as transformers pads decoder prompts: position_ids are
// cumsum(attention_mask) - 1 with padded positions set to 1, and a row that has finished keeps
// receiving pad_token_id (generation_config.json's, else its first eos_token_id) until every row
// has finished, as generate does.
//
// TextGenerator wraps Greedy with the tokenizer into transformers' text-generation pipeline
// (prompt in, prompt plus continuation out), with greedy search.
//
// Logits processors that generation_config.json may switch on (repetition_penalty, min_length,
// forced_eos_token_id, ...) are not applied; NewGreedy refuses a config that sets one rather
// than return ids that differ from transformers'.
package generate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/sdk"
)

// Names of the graph's inputs and outputs this package feeds and reads.
const (
	inputIDs      = "input_ids"
	attentionMask = "attention_mask"
	positionIDs   = "position_ids"
	logitsName    = "logits"
	pastPrefix    = "past_key_values."
	presentPrefix = "present."
)

// cacheSlot is one past/present pair of the key/value cache.
type cacheSlot struct {
	past    sdk.ValueInfo // past_key_values.N.key or .value
	present string        // present.N.key or .value
}

// Stats breaks one Generate call down. Model is the sum of the backend round trips; Steps is the
// number of model runs (one per generated token).
type Stats struct {
	pipeline.Stats
	Steps int `json:"steps"`
	// PromptTokens is the length of the (padded) prompt.
	PromptTokens int `json:"prompt_tokens"`
}

// Greedy is greedy-search generation for a decoder-only graph "model". It is safe for concurrent
// use if its runner is: every call keeps its own cache handles.
type Greedy struct {
	runner      pipeline.Runner
	idsType     sdk.DType
	maskType    sdk.DType
	hasMask     bool
	hasPosition bool
	posType     sdk.DType
	cache       []cacheSlot
	eos         []int64
	pad         int64
	// observe, when set, sees each step's last-position logits per row.
	observe func(step int, logits [][]float32)
}

// Observe returns a copy of g that calls fn after every model run with that step's logits at
// the last position, one slice per row, before the next token is picked (what transformers'
// generate returns with output_logits=True). fn must not keep the slices past its return.
func (g *Greedy) Observe(fn func(step int, logits [][]float32)) *Greedy {
	c := *g
	c.observe = fn
	return &c
}

// NewGreedy prepares greedy generation for a model directory (config.json,
// generation_config.json) whose decoder graph "model" is loaded in runner.
func NewGreedy(dir *models.Dir, runner pipeline.Runner) (*Greedy, error) {
	info := runner.Model("model")
	if info == nil {
		return nil, fmt.Errorf("text generation: no graph \"model\" loaded")
	}
	g := &Greedy{runner: runner}
	presents := map[string]bool{}
	hasLogits := false
	for _, o := range info.Outputs {
		switch {
		case o.Name == logitsName:
			hasLogits = true
		case strings.HasPrefix(o.Name, presentPrefix):
			presents[o.Name] = true
		}
	}
	if !hasLogits {
		return nil, fmt.Errorf("text generation: model has no output %q; want a decoder exported for text-generation-with-past", logitsName)
	}
	hasIDs := false
	for _, in := range info.Inputs {
		switch {
		case in.Name == inputIDs || in.Name == attentionMask || in.Name == positionIDs:
			if in.DType != sdk.Int64 && in.DType != sdk.Int32 {
				return nil, fmt.Errorf("text generation: model input %q is %s; want int64 (or int32) [batch, sequence]", in.Name, in.DType)
			}
			switch in.Name {
			case inputIDs:
				hasIDs, g.idsType = true, in.DType
			case attentionMask:
				g.hasMask, g.maskType = true, in.DType
			default:
				g.hasPosition, g.posType = true, in.DType
			}
		case strings.HasPrefix(in.Name, pastPrefix):
			present := presentPrefix + strings.TrimPrefix(in.Name, pastPrefix)
			if !presents[present] {
				return nil, fmt.Errorf("text generation: model input %q has no matching output %q; the graph cannot carry its key/value cache from step to step", in.Name, present)
			}
			if len(in.Shape) != 4 || in.Shape[1] <= 0 || in.Shape[3] <= 0 {
				return nil, fmt.Errorf("text generation: model input %q has shape %s; want [batch, heads, past_sequence, head_dim] with fixed heads and head_dim", in.Name, sdk.FormatShape(in.Shape))
			}
			g.cache = append(g.cache, cacheSlot{past: in, present: present})
		default:
			return nil, fmt.Errorf("text generation: model input %q is not one this pipeline fills (it feeds %s, %s, %s and %s*); use_cache_branch and merged decoders are not supported", in.Name, inputIDs, attentionMask, positionIDs, pastPrefix)
		}
	}
	if !hasIDs {
		return nil, fmt.Errorf("text generation: model has no input %q; want a decoder exported for text-generation-with-past", inputIDs)
	}
	if len(g.cache) == 0 {
		return nil, fmt.Errorf("text generation: model has no %s* inputs; export it with past key values (optimum task text-generation-with-past)", pastPrefix)
	}
	sort.Slice(g.cache, func(a, b int) bool { return g.cache[a].past.Name < g.cache[b].past.Name })

	gc, src, err := readGenerationConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("text generation: %w", err)
	}
	if err := gc.check(); err != nil {
		return nil, fmt.Errorf("text generation: %s: %w", src, err)
	}
	if g.eos, err = tokenIDs(gc.EOS); err != nil {
		return nil, fmt.Errorf("text generation: %s: eos_token_id: %w", src, err)
	}
	pads, err := tokenIDs(gc.Pad)
	if err != nil {
		return nil, fmt.Errorf("text generation: %s: pad_token_id: %w", src, err)
	}
	switch {
	case len(pads) > 0:
		g.pad = pads[0]
	case len(g.eos) > 0:
		// transformers falls back to the first eos_token_id.
		g.pad = g.eos[0]
	default:
		g.pad = -1
	}
	return g, nil
}

// EOS returns the token ids that end generation (generation_config.json's eos_token_id).
func (g *Greedy) EOS() []int64 { return append([]int64(nil), g.eos...) }

// Generate runs greedy generation for one prompt of token ids and returns the new tokens (the
// prompt not included; the eos token that stopped it included, as transformers returns it).
func (g *Greedy) Generate(ctx context.Context, prompt []int64, maxNewTokens int) ([]int64, Stats, error) {
	out, st, err := g.GenerateBatch(ctx, [][]int64{prompt}, maxNewTokens)
	if err != nil {
		return nil, st, err
	}
	return out[0], st, nil
}

// GenerateBatch runs greedy generation for several prompts at once, left-padded into one batch,
// and returns each row's new tokens. Rows that finish early are filled with the pad token until
// every row has finished, as transformers' generate does; those fillers are included.
func (g *Greedy) GenerateBatch(ctx context.Context, prompts [][]int64, maxNewTokens int) (out [][]int64, st Stats, err error) {
	if len(prompts) == 0 {
		return nil, st, fmt.Errorf("text generation: no prompt given; want at least one")
	}
	if maxNewTokens <= 0 {
		return nil, st, fmt.Errorf("text generation: maxNewTokens is %d; want at least 1", maxNewTokens)
	}
	width := 0
	for i, p := range prompts {
		if len(p) == 0 {
			return nil, st, fmt.Errorf("text generation: prompt %d is empty; want at least one token (a BOS token when the text is empty)", i)
		}
		width = max(width, len(p))
	}
	if anyShorter(prompts, width) {
		if g.pad < 0 {
			return nil, st, fmt.Errorf("text generation: prompts of different lengths need a pad token and generation_config.json has neither pad_token_id nor eos_token_id; run them one at a time")
		}
		if !g.hasMask {
			return nil, st, fmt.Errorf("text generation: prompts of different lengths need padding and the model has no %q input; run them one at a time", attentionMask)
		}
	}
	b := len(prompts)
	st.PromptTokens = width

	// Left-padded prompt, attention mask and positions.
	ids := make([]int64, b*width)
	mask := make([][]int64, b)
	counts := make([]int64, b) // real tokens per row so far
	for r, p := range prompts {
		mask[r] = make([]int64, width, width+maxNewTokens)
		off := width - len(p)
		for c := 0; c < off; c++ {
			ids[r*width+c] = g.pad
		}
		copy(ids[r*width+off:], p)
		for c := off; c < width; c++ {
			mask[r][c] = 1
		}
	}
	pos := make([]int64, b*width)
	for r := range prompts {
		var sum int64
		for c := 0; c < width; c++ {
			sum += mask[r][c]
			if mask[r][c] == 0 {
				pos[r*width+c] = 1
			} else {
				pos[r*width+c] = sum - 1
			}
		}
		counts[r] = sum
	}

	// kept holds the handles of the cache the next step reads, released when replaced.
	var kept []string
	defer func() {
		if rerr := g.release(ctx, kept); rerr != nil && err == nil {
			err = rerr
		}
	}()
	past := make([]sdk.Value, len(g.cache))
	for i, s := range g.cache {
		shape := []int64{int64(b), s.past.Shape[1], 0, s.past.Shape[3]}
		past[i] = sdk.Value{Name: s.past.Name, Tensor: &sdk.Tensor{DType: s.past.DType, Shape: shape, Data: []byte{}}}
	}
	wanted := make([]sdk.OutputRequest, 0, 1+len(g.cache))
	wanted = append(wanted, sdk.OutputRequest{Name: logitsName})
	for _, s := range g.cache {
		wanted = append(wanted, sdk.OutputRequest{Name: s.present, Keep: true})
	}

	out = make([][]int64, b)
	done := make([]bool, b)
	seq := width // tokens fed in this step
	for step := 0; step < maxNewTokens; step++ {
		t0 := time.Now()
		inputs := make([]sdk.Value, 0, 3+len(past))
		idsT, err := intTensor(g.idsType, []int64{int64(b), int64(seq)}, ids)
		if err != nil {
			return nil, st, err
		}
		inputs = append(inputs, sdk.Value{Name: inputIDs, Tensor: idsT})
		if g.hasMask {
			total := len(mask[0])
			flat := make([]int64, 0, b*total)
			for _, m := range mask {
				flat = append(flat, m...)
			}
			mt, err := intTensor(g.maskType, []int64{int64(b), int64(total)}, flat)
			if err != nil {
				return nil, st, err
			}
			inputs = append(inputs, sdk.Value{Name: attentionMask, Tensor: mt})
		}
		if g.hasPosition {
			pt, err := intTensor(g.posType, []int64{int64(b), int64(seq)}, pos)
			if err != nil {
				return nil, st, err
			}
			inputs = append(inputs, sdk.Value{Name: positionIDs, Tensor: pt})
		}
		inputs = append(inputs, past...)
		st.Preprocess += time.Since(t0)

		t1 := time.Now()
		res, err := g.runner.Run(ctx, "model", &sdk.RunRequest{Inputs: inputs, Outputs: wanted})
		st.Model += time.Since(t1)
		st.Steps++
		if err != nil {
			if step > 0 && sdk.CodeOf(err) == sdk.NotFound {
				return nil, st, fmt.Errorf("text generation: step %d: the key/value cache kept in the plugin is gone (handle not found; the plugin most likely restarted during generation); run the generation again: %w", step, err)
			}
			return nil, st, fmt.Errorf("text generation: step %d: %w", step, err)
		}

		t2 := time.Now()
		// Take the new cache first so that its handles are released whatever happens next.
		next := make([]sdk.Value, len(g.cache))
		var nextKept []string
		for i, s := range g.cache {
			v := res.Output(s.present)
			if v != nil && v.Handle != "" {
				nextKept = append(nextKept, v.Handle)
			}
			if v == nil || (v.Handle == "" && v.Tensor == nil) {
				err = fmt.Errorf("text generation: step %d: model returned no output %q; the cache cannot be carried to the next step", step, s.present)
			}
			if v != nil {
				next[i] = sdk.Value{Name: s.past.Name, Handle: v.Handle, Tensor: v.Tensor}
			}
		}
		if rerr := g.release(ctx, kept); rerr != nil {
			kept = nextKept
			return nil, st, rerr
		}
		kept = nextKept
		if err != nil {
			return nil, st, err
		}
		past = next

		logits, shape, err := pipeline.Output(res, logitsName)
		if err != nil {
			return nil, st, fmt.Errorf("text generation: step %d: %w", step, err)
		}
		if len(shape) != 3 || shape[0] != int64(b) || shape[1] < 1 || int64(len(logits)) != shape[0]*shape[1]*shape[2] || shape[2] < 1 {
			return nil, st, fmt.Errorf("text generation: step %d: logits have shape %s; want [%d, sequence, vocab]", step, sdk.FormatShape(shape), b)
		}
		vocab := int(shape[2])
		last := int(shape[1]) - 1
		rows := make([][]float32, b)
		for r := range rows {
			rows[r] = logits[(r*int(shape[1])+last)*vocab : (r*int(shape[1])+last+1)*vocab]
		}
		if g.observe != nil {
			g.observe(step, rows)
		}
		allDone := true
		for r, row := range rows {
			tok := int64(Argmax(row))
			if done[r] {
				tok = g.pad
			}
			ids[r] = tok
			out[r] = append(out[r], tok)
			done[r] = done[r] || g.isEOS(tok)
			allDone = allDone && done[r]
		}
		st.Postprocess += time.Since(t2)
		if allDone {
			break
		}
		// The next step feeds one token per row.
		seq = 1
		ids = ids[:b]
		pos = pos[:b]
		for r := range mask {
			mask[r] = append(mask[r], 1)
			counts[r]++
			pos[r] = counts[r] - 1
		}
	}
	return out, st, nil
}

// anyShorter reports whether some prompt is shorter than width.
func anyShorter(prompts [][]int64, width int) bool {
	for _, p := range prompts {
		if len(p) < width {
			return true
		}
	}
	return false
}

func (g *Greedy) isEOS(tok int64) bool {
	for _, e := range g.eos {
		if tok == e {
			return true
		}
	}
	return false
}

// release frees handles the runner kept, when it can. It runs even after ctx is cancelled.
func (g *Greedy) release(ctx context.Context, handles []string) error {
	return releaseHandles(ctx, g.runner, "text generation", handles)
}
