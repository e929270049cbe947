package generate

import (
	"context"
	"fmt"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

// TextGenerator is the text-generation pipeline with greedy search: it tokenizes a prompt as
// transformers' TextGenerationPipeline does for a plain string (the tokenizer's own special
// tokens, e.g. Llama's BOS; no truncation, no padding), runs
// Greedy, and decodes the result as the pipeline's default return_full_text=True does:
// the prompt text followed by decode(prompt + new ids) with the decoded prompt cut off
// (skip_special_tokens=True, clean_up_tokenization_spaces=True, cut by code points as Python
// slices). Unlike the HF pipeline, whose default generation config samples
// (do_sample=True, temperature 0.7, max_new_tokens 256), it always picks the argmax and the
// caller chooses how many tokens to generate.
type TextGenerator struct {
	greedy *Greedy
	tok    *tokenizer.Tokenizer
}

// TextResult is one generated text.
type TextResult struct {
	// GeneratedText is the prompt followed by the generated text, as the HF pipeline's
	// generated_text with return_full_text=True.
	GeneratedText string `json:"generated_text"`
	// NewTokenIDs are the generated token ids, the eos token that stopped generation included.
	NewTokenIDs []int64 `json:"new_token_ids"`
}

// NewTextGenerator prepares text generation for a model directory (tokenizer.json, config.json,
// generation_config.json) whose decoder graph "model" is loaded in runner.
func NewTextGenerator(dir *models.Dir, runner pipeline.Runner) (*TextGenerator, error) {
	tok, err := loadTokenizer(dir, "text generation")
	if err != nil {
		return nil, err
	}
	g, err := NewGreedy(dir, runner)
	if err != nil {
		return nil, err
	}
	return &TextGenerator{greedy: g, tok: tok}, nil
}

// Generate continues one prompt with up to maxNewTokens greedy tokens.
func (t *TextGenerator) Generate(ctx context.Context, prompt string, maxNewTokens int) (*TextResult, Stats, error) {
	t0 := time.Now()
	ids, err := encodeText(t.tok, prompt, "text generation")
	if err != nil {
		return nil, Stats{}, err
	}
	pre := time.Since(t0)
	newIDs, st, err := t.greedy.Generate(ctx, ids, maxNewTokens)
	st.Preprocess += pre
	if err != nil {
		return nil, st, err
	}
	t1 := time.Now()
	opts := tokenizer.DecodeOptions{SkipSpecialTokens: true, CleanUpTokenizationSpaces: true}
	full, err := t.tok.Decode(asInts(ids, newIDs), opts)
	if err != nil {
		return nil, st, fmt.Errorf("text generation: decoding the generated ids: %w", err)
	}
	head, err := t.tok.Decode(asInts(ids), opts)
	if err != nil {
		return nil, st, fmt.Errorf("text generation: decoding the prompt ids: %w", err)
	}
	rest := []rune(full)
	if n := len([]rune(head)); n <= len(rest) {
		rest = rest[n:]
	} else {
		rest = nil
	}
	st.Postprocess += time.Since(t1)
	return &TextResult{GeneratedText: prompt + string(rest), NewTokenIDs: newIDs}, st, nil
}
