package generate

import (
	"context"
	"fmt"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

// Text2Text is transformers' text2text-generation pipeline with greedy search: it tokenizes the
// text with tokenizer.json as the pipeline does for one string (the tokenizer's special tokens,
// no truncation, no padding), runs Seq2Seq, and decodes the decoder start token plus the
// generated ids with skip_special_tokens=True and clean_up_tokenization_spaces=False (the
// pipeline's postprocess default). config.json's "prefix" (the pipeline prepends it to the
// text) is not read; models that set it get different input ids.
type Text2Text struct {
	seq *Seq2Seq
	tok *tokenizer.Tokenizer
}

// Text2TextResult is one generated text.
type Text2TextResult struct {
	// GeneratedText is the decoded output, as the HF pipeline's generated_text.
	GeneratedText string `json:"generated_text"`
	// NewTokenIDs are the generated token ids (decoder start token not included, the eos token
	// that stopped generation included).
	NewTokenIDs []int64 `json:"new_token_ids"`
}

// NewText2Text prepares text2text generation for a model directory (tokenizer.json,
// generation_config.json) whose graphs are loaded in runner as Seq2SeqGraphs names them.
func NewText2Text(dir *models.Dir, runner pipeline.Runner) (*Text2Text, error) {
	tok, err := loadTokenizer(dir, "text2text generation")
	if err != nil {
		return nil, err
	}
	s, err := NewSeq2Seq(dir, runner)
	if err != nil {
		return nil, err
	}
	return &Text2Text{seq: s, tok: tok}, nil
}

// Generate runs greedy generation for up to maxNewTokens tokens on one text.
func (t *Text2Text) Generate(ctx context.Context, text string, maxNewTokens int) (*Text2TextResult, Stats, error) {
	t0 := time.Now()
	ids, err := encodeText(t.tok, text, "text2text generation")
	if err != nil {
		return nil, Stats{}, err
	}
	pre := time.Since(t0)
	newIDs, st, err := t.seq.Generate(ctx, ids, maxNewTokens)
	st.Preprocess += pre
	if err != nil {
		return nil, st, err
	}
	t1 := time.Now()
	text, err = t.tok.Decode(asInts(t.seq.DecoderPrompt(), newIDs), tokenizer.DecodeOptions{SkipSpecialTokens: true})
	if err != nil {
		return nil, st, fmt.Errorf("text2text generation: decoding the generated ids: %w", err)
	}
	st.Postprocess += time.Since(t1)
	return &Text2TextResult{GeneratedText: text, NewTokenIDs: newIDs}, st, nil
}
