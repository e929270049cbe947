package text

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

// Prediction is one candidate for a masked token, as transformers' FillMaskPipeline reports it.
type Prediction struct {
	// Score is the softmax probability over the vocabulary at the mask position.
	Score float32 `json:"score"`
	// Token is the candidate's vocabulary id.
	Token int `json:"token"`
	// TokenStr is the candidate decoded alone (tokenizer.decode([token])).
	TokenStr string `json:"token_str"`
	// Sequence is the text with the candidate in place of the mask, decoded from the ids
	// without padding (and without special tokens when the text has a single mask).
	Sequence string `json:"sequence"`
}

// FillMask is the fill-mask pipeline with transformers' defaults: the text is tokenized as is
// (special tokens added, no truncation), the logits at each mask position go through softmax
// over the vocabulary, and the top_k best tokens (5 by default) are decoded by the tokenizer
// with tokenizer_config.json's clean_up_tokenization_spaces. It is safe for concurrent use if its
// runner is.
type FillMask struct {
	enc    *encoder
	maskID int
	padID  int
	mask   string
	output string
}

// DefaultFillMaskTopK is transformers' default top_k for fill-mask.
const DefaultFillMaskTopK = 5

// NewFillMask prepares a fill-mask pipeline for a model directory (tokenizer.json,
// tokenizer_config.json with mask_token) whose graph "model" is loaded in runner.
func NewFillMask(dir *models.Dir, runner pipeline.Runner) (*FillMask, error) {
	const what = "fill-mask"
	e, err := newEncoder(what, dir, runner)
	if err != nil {
		return nil, err
	}
	f := &FillMask{enc: e, output: "logits"}
	if !e.hasOutput(f.output) {
		return nil, fmt.Errorf("%s: model has no output \"logits\"; want a graph exported with --task fill-mask", what)
	}
	if f.maskID, err = e.specialID("mask_token", e.cfg.MaskToken); err != nil {
		return nil, err
	}
	if f.maskID < 0 {
		return nil, fmt.Errorf("%s: tokenizer_config.json names no mask_token; the pipeline needs one to find the position to fill", what)
	}
	f.mask, _ = tokenName(e.cfg.MaskToken)
	if f.padID, err = e.specialID("pad_token", e.cfg.PadToken); err != nil {
		return nil, err
	}
	return f, nil
}

// MaskToken returns the token a text marks the position to fill with, e.g. "[MASK]".
func (f *FillMask) MaskToken() string { return f.mask }

// Fill returns, for each text, one list of the k best predictions (k <= 0: the whole
// vocabulary) per mask token in the text, in text order. A text without a mask token is an
// error, as in transformers.
func (f *FillMask) Fill(ctx context.Context, texts []string, k int) ([][][]Prediction, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([][][]Prediction, len(texts))
	for i, text := range texts {
		t0 := time.Now()
		enc, err := f.enc.tok.Encode(text, tokenizer.EncodeOptions{NoTruncation: true, NoPadding: true})
		if err != nil {
			return nil, stats, fmt.Errorf("fill-mask: text %d: %w", i, err)
		}
		var masks []int
		for t, id := range enc.IDs {
			if id == f.maskID {
				masks = append(masks, t)
			}
		}
		if len(masks) == 0 {
			return nil, stats, fmt.Errorf("fill-mask: text %d (%q) has no mask token %s; put %s where a word should be predicted", i, text, f.mask, f.mask)
		}
		stats.Preprocess += time.Since(t0)
		res, d, err := f.enc.run(ctx, enc, f.output)
		stats.Model += d
		if err != nil {
			return nil, stats, err
		}
		t1 := time.Now()
		logits, err := rows(res, f.output, enc.Len())
		if err != nil {
			return nil, stats, fmt.Errorf("fill-mask: %w", err)
		}
		if out[i], err = f.predict(enc, masks, logits, k); err != nil {
			return nil, stats, err
		}
		stats.Postprocess += time.Since(t1)
	}
	return out, stats, nil
}

func (f *FillMask) predict(enc *tokenizer.Encoding, masks []int, logits [][]float32, k int) ([][]Prediction, error) {
	cleanUp := tokenizer.DecodeOptions{CleanUpTokenizationSpaces: f.enc.cfg.CleanUp}
	seqOpts := cleanUp
	seqOpts.SkipSpecialTokens = len(masks) == 1
	out := make([][]Prediction, len(masks))
	for m, pos := range masks {
		probs := pipeline.Softmax(logits[pos])
		order := make([]int, len(probs))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
		if k > 0 && k < len(order) {
			order = order[:k]
		}
		for _, id := range order {
			ids := make([]int, 0, len(enc.IDs))
			for t, v := range enc.IDs {
				if t == pos {
					v = id
				}
				if v != f.padID {
					ids = append(ids, v)
				}
			}
			seq, err := f.enc.tok.Decode(ids, seqOpts)
			if err != nil {
				return nil, fmt.Errorf("fill-mask: decoding the filled text: %w", err)
			}
			str, err := f.enc.tok.Decode([]int{id}, cleanUp)
			if err != nil {
				return nil, fmt.Errorf("fill-mask: decoding token %d: %w", id, err)
			}
			out[m] = append(out[m], Prediction{Score: probs[id], Token: id, TokenStr: str, Sequence: seq})
		}
	}
	return out, nil
}
