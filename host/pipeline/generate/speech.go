package generate

import (
	"context"
	"fmt"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// SpeechToText is transformers' automatic-speech-recognition pipeline for sequence-to-sequence
// models (Whisper) with greedy search: each clip is downmixed and resampled to the feature
// extractor's rate (torchaudio's kernel, see preprocess/audio), turned into features by the
// model's feature extractor (preprocessor_config.json), and decoded by Seq2Seq from the decoder
// prompt (decoder_start_token_id and forced_decoder_ids) with suppress_tokens and
// begin_suppress_tokens applied; the text is decode(prompt + new ids, skip_special_tokens=True),
// which is what the pipeline returns without timestamps. Not implemented: Whisper's long-form
// (over 30 s) sequential decoding and chunking (a longer clip gets whatever the feature extractor
// makes of it, not checked against transformers), timestamps, and the language detection of
// multilingual checkpoints (the prompt comes from generation_config.json as it is). Unlike the HF pipeline, whose Whisper generation
// config may use beam search, it always picks the argmax.
type SpeechToText struct {
	maxNew int
	seq    *Seq2Seq
	tok    *tokenizer.Tokenizer
	ext    audioproc.Extractor
}

// NewSpeechToText prepares speech recognition for a model directory (preprocessor_config.json,
// tokenizer.json, generation_config.json) whose graphs are loaded in runner as Seq2SeqGraphs
// names them.
func NewSpeechToText(dir *models.Dir, runner pipeline.Runner) (*SpeechToText, error) {
	tok, err := loadTokenizer(dir, "speech recognition")
	if err != nil {
		return nil, err
	}
	ext, err := audioproc.FromDir(dir.Path)
	if err != nil {
		return nil, fmt.Errorf("speech recognition: %w", err)
	}
	s, err := NewSeq2Seq(dir, runner)
	if err != nil {
		return nil, err
	}
	maxNew := 0
	if gc, _, err := readGenerationConfig(dir); err == nil && gc.MaxLength != nil {
		maxNew = *gc.MaxLength - len(s.prompt)
	}
	return &SpeechToText{seq: s, tok: tok, ext: ext, maxNew: max(maxNew, 0)}, nil
}

// MaxNewTokens is how many tokens transformers' generate allows a transcription by default:
// generation_config.json's max_length minus the decoder prompt; 0 when max_length is not set.
func (s *SpeechToText) MaxNewTokens() int { return s.maxNew }

// SpeechResult is one transcription.
type SpeechResult struct {
	// Text is the transcription, as the HF pipeline's "text".
	Text string `json:"text"`
	// NewTokenIDs are the generated ids after the decoder prompt, the eos token included.
	NewTokenIDs []int64 `json:"new_token_ids"`
}

// Transcribe recognizes one clip with up to maxNewTokens generated tokens.
func (s *SpeechToText) Transcribe(ctx context.Context, clip *audioproc.Clip, maxNewTokens int) (*SpeechResult, Stats, error) {
	t0 := time.Now()
	x, err := clip.MonoAt(s.ext.SampleRate())
	if err != nil {
		return nil, Stats{}, fmt.Errorf("speech recognition: %w", err)
	}
	feats, err := s.ext.Extract(ctx, [][]float32{x})
	if err != nil {
		return nil, Stats{}, fmt.Errorf("speech recognition: %w", err)
	}
	inputs, err := featureInputs(feats)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("speech recognition: %w", err)
	}
	pre := time.Since(t0)
	res, st, err := s.TranscribeFeatures(ctx, inputs, maxNewTokens)
	st.Preprocess += pre
	return res, st, err
}

// TranscribeFeatures is Transcribe for features already computed (input_features [1, mels,
// frames] for Whisper).
func (s *SpeechToText) TranscribeFeatures(ctx context.Context, inputs []sdk.Value, maxNewTokens int) (*SpeechResult, Stats, error) {
	newIDs, st, err := s.seq.GenerateEncoded(ctx, inputs, maxNewTokens)
	if err != nil {
		return nil, st, fmt.Errorf("speech recognition: %w", err)
	}
	t1 := time.Now()
	var all []int
	for _, id := range append(s.seq.DecoderPrompt(), newIDs...) {
		all = append(all, int(id))
	}
	text, err := s.tok.Decode(all, tokenizer.DecodeOptions{SkipSpecialTokens: true})
	if err != nil {
		return nil, st, fmt.Errorf("speech recognition: decoding the generated ids: %w", err)
	}
	st.Postprocess += time.Since(t1)
	return &SpeechResult{Text: text, NewTokenIDs: newIDs}, st, nil
}

// featureInputs turns extractor output into encoder inputs.
func featureInputs(f *audioproc.Features) ([]sdk.Value, error) {
	ft, err := sdk.NewTensor(f.Shape, f.Data)
	if err != nil {
		return nil, err
	}
	in := []sdk.Value{{Name: f.Name, Tensor: ft}}
	if f.AttentionMask != nil {
		mt, err := sdk.NewTensor(f.MaskShape, f.AttentionMask)
		if err != nil {
			return nil, err
		}
		in = append(in, sdk.Value{Name: attentionMask, Tensor: mt})
	}
	return in, nil
}
