package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/imageproc"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// ImageToText is transformers' image-to-text pipeline for vision-encoder-decoder models with
// greedy search: the image processor of preprocessor_config.json makes pixel_values, Seq2Seq
// generates from decoder_start_token_id, and the text is decode(start + new ids,
// skip_special_tokens=True) with the tokenizer's own clean_up_tokenization_spaces, as the
// pipeline's postprocess does. Prompts (the pipeline's conditional generation) are not
// supported.
type ImageToText struct {
	seq     *Seq2Seq
	tok     *tokenizer.Tokenizer
	proc    *imageproc.Processor
	cleanUp bool // tokenizer_config.json's clean_up_tokenization_spaces
}

// NewImageToText prepares image captioning for a model directory (preprocessor_config.json,
// tokenizer.json, generation_config.json) whose graphs are loaded in runner as Seq2SeqGraphs
// names them.
func NewImageToText(dir *models.Dir, runner pipeline.Runner) (*ImageToText, error) {
	tok, err := loadTokenizer(dir, "image to text")
	if err != nil {
		return nil, err
	}
	proc, err := imageproc.FromDir(dir.Path)
	if err != nil {
		return nil, fmt.Errorf("image to text: %w", err)
	}
	s, err := NewSeq2Seq(dir, runner)
	if err != nil {
		return nil, err
	}
	c := &ImageToText{seq: s, tok: tok, proc: proc}
	if p, ok := dir.File("tokenizer_config.json"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("image to text: reading tokenizer_config.json: %w", err)
		}
		var tc struct {
			CleanUp *bool `json:"clean_up_tokenization_spaces"`
		}
		if err := json.Unmarshal(b, &tc); err != nil {
			return nil, fmt.Errorf("image to text: %s is not valid JSON: %w", p, err)
		}
		// transformers 4.57's default, when the key is absent, is false.
		c.cleanUp = tc.CleanUp != nil && *tc.CleanUp
	}
	return c, nil
}

// ImageToTextResult is one caption.
type ImageToTextResult struct {
	// GeneratedText is the caption, as the HF pipeline's generated_text.
	GeneratedText string `json:"generated_text"`
	// NewTokenIDs are the generated ids after the decoder start token, the eos token included.
	NewTokenIDs []int64 `json:"new_token_ids"`
}

// Caption generates up to maxNewTokens tokens for one image.
func (c *ImageToText) Caption(ctx context.Context, img image.Image, maxNewTokens int) (*ImageToTextResult, Stats, error) {
	t0 := time.Now()
	b, err := c.proc.Preprocess([]image.Image{img})
	if err != nil {
		return nil, Stats{}, fmt.Errorf("image to text: %w", err)
	}
	pv, err := sdk.NewTensor(b.Shape, b.Data)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("image to text: %w", err)
	}
	pre := time.Since(t0)
	res, st, err := c.CaptionPixels(ctx, pv, maxNewTokens)
	st.Preprocess += pre
	return res, st, err
}

// CaptionPixels is Caption for pixel_values already computed ([1, channels, height, width]).
func (c *ImageToText) CaptionPixels(ctx context.Context, pixels *sdk.Tensor, maxNewTokens int) (*ImageToTextResult, Stats, error) {
	newIDs, st, err := c.seq.GenerateEncoded(ctx, []sdk.Value{{Name: "pixel_values", Tensor: pixels}}, maxNewTokens)
	if err != nil {
		return nil, st, fmt.Errorf("image to text: %w", err)
	}
	t1 := time.Now()
	var all []int
	for _, id := range append(c.seq.DecoderPrompt(), newIDs...) {
		all = append(all, int(id))
	}
	text, err := c.tok.Decode(all, tokenizer.DecodeOptions{SkipSpecialTokens: true, CleanUpTokenizationSpaces: c.cleanUp})
	if err != nil {
		return nil, st, fmt.Errorf("image to text: decoding the generated ids: %w", err)
	}
	st.Postprocess += time.Since(t1)
	return &ImageToTextResult{GeneratedText: text, NewTokenIDs: newIDs}, st, nil
}
