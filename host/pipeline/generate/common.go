package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// releaser is the optional capability of a runner to free outputs that a Run kept as handles;
// *backend.Session has it. Without it kept handles live until the model is unloaded.
type releaser interface {
	Release(ctx context.Context, handles []string) error
}

// generationConfig is the part of generation_config.json that Greedy reads or refuses.
type generationConfig struct {
	EOS          json.RawMessage `json:"eos_token_id"`
	Pad          json.RawMessage `json:"pad_token_id"`
	DecoderStart json.RawMessage `json:"decoder_start_token_id"`
	// MaxLength is read by SpeechToText only (the default length of a transcription).
	MaxLength *int `json:"max_length"`
	// ForcedDecoderIDs is read by Seq2Seq only (Whisper's decoder prompt).
	ForcedDecoderIDs json.RawMessage `json:"forced_decoder_ids"`
	// Settings that change greedy ids; each must be absent or neutral.
	RepetitionPenalty *float64        `json:"repetition_penalty"`
	MinLength         *int            `json:"min_length"`
	MinNewTokens      *int            `json:"min_new_tokens"`
	NoRepeatNgramSize *int            `json:"no_repeat_ngram_size"`
	ForcedBOS         json.RawMessage `json:"forced_bos_token_id"`
	ForcedEOS         json.RawMessage `json:"forced_eos_token_id"`
	BadWordsIDs       json.RawMessage `json:"bad_words_ids"`
	SuppressTokens    json.RawMessage `json:"suppress_tokens"`
	BeginSuppress     json.RawMessage `json:"begin_suppress_tokens"`
	NumBeams          *int            `json:"num_beams"`
	DoSample          *bool           `json:"do_sample"`
}

// readGenerationConfig reads generation_config.json, else the same keys from config.json as
// transformers' GenerationConfig.from_model_config does. It returns the file it read.
func readGenerationConfig(dir *models.Dir) (*generationConfig, string, error) {
	for _, name := range []string{"generation_config.json", "config.json"} {
		p, ok := dir.File(name)
		if !ok {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", name, err)
		}
		var gc generationConfig
		if err := json.Unmarshal(b, &gc); err != nil {
			return nil, "", fmt.Errorf("%s is not valid JSON of a generation config: %w", p, err)
		}
		return &gc, filepath.Base(p), nil
	}
	return &generationConfig{}, "(no generation_config.json)", nil
}

// check refuses settings that would make transformers' greedy ids differ from plain argmax,
// except those named in applied, which the caller reproduces.
func (gc *generationConfig) check(applied ...string) error {
	set := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" && string(raw) != "[]" }
	var bad []string
	if gc.RepetitionPenalty != nil && *gc.RepetitionPenalty != 1 {
		bad = append(bad, "repetition_penalty")
	}
	if gc.MinLength != nil && *gc.MinLength > 0 {
		bad = append(bad, "min_length")
	}
	if gc.MinNewTokens != nil && *gc.MinNewTokens > 0 {
		bad = append(bad, "min_new_tokens")
	}
	if gc.NoRepeatNgramSize != nil && *gc.NoRepeatNgramSize > 0 {
		bad = append(bad, "no_repeat_ngram_size")
	}
	if gc.NumBeams != nil && *gc.NumBeams > 1 {
		bad = append(bad, "num_beams")
	}
	if gc.DoSample != nil && *gc.DoSample {
		bad = append(bad, "do_sample")
	}
	for name, raw := range map[string]json.RawMessage{"forced_bos_token_id": gc.ForcedBOS, "forced_eos_token_id": gc.ForcedEOS, "bad_words_ids": gc.BadWordsIDs, "suppress_tokens": gc.SuppressTokens, "begin_suppress_tokens": gc.BeginSuppress} {
		if set(raw) && !contains(applied, name) {
			bad = append(bad, name)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("sets %s, which greedy generation here does not apply (only plain argmax with eos stopping); remove them to accept ids that differ from transformers'", strings.Join(bad, ", "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// releaseHandles frees handles runner kept, when it can (see releaser). It runs even after ctx
// is cancelled; what names the pipeline in the error.
func releaseHandles(ctx context.Context, runner any, what string, handles []string) error {
	if len(handles) == 0 {
		return nil
	}
	r, ok := runner.(releaser)
	if !ok {
		return nil
	}
	if err := r.Release(context.WithoutCancel(ctx), handles); err != nil {
		return fmt.Errorf("%s: releasing %d cache handles in the plugin: %w", what, len(handles), err)
	}
	return nil
}

// tokenIDs parses a token id field that is absent, null, an integer or a list of integers.
func tokenIDs(raw json.RawMessage) ([]int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int64{one}, nil
	}
	var many []int64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers, got %s", raw)
	}
	return many, nil
}

// Argmax returns the index of the largest value, the lowest index on ties; NaN counts as the
// largest, as torch.argmax does. It returns -1 for an empty slice.
func Argmax(x []float32) int {
	best := -1
	for i, v := range x {
		switch {
		case best < 0:
			best = i
		case math.IsNaN(float64(x[best])):
			return best
		case math.IsNaN(float64(v)) || v > x[best]:
			best = i
		}
	}
	return best
}

// intTensor builds an int64 or int32 tensor of the given values.
func intTensor(dt sdk.DType, shape []int64, v []int64) (*sdk.Tensor, error) {
	if dt == sdk.Int32 {
		v32 := make([]int32, len(v))
		for i, x := range v {
			if x > math.MaxInt32 || x < math.MinInt32 {
				return nil, fmt.Errorf("generation: value %d does not fit the model's int32 input", x)
			}
			v32[i] = int32(x)
		}
		return sdk.NewTensor(shape, v32)
	}
	return sdk.NewTensor(shape, v)
}

// loadTokenizer reads the model directory's tokenizer.json; what names the pipeline in errors.
func loadTokenizer(dir *models.Dir, what string) (*tokenizer.Tokenizer, error) {
	p, ok := dir.File("tokenizer.json")
	if !ok {
		return nil, fmt.Errorf("%s: model directory %s has no tokenizer.json; hfhost reads fast tokenizers only (models that ship only sentencepiece files, such as Marian, have none in transformers either): save the model with a fast tokenizer (optimum-cli export onnx saves it)", what, dir.Path)
	}
	tok, err := tokenizer.FromFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return tok, nil
}

// encodeText tokenizes one text as the HF pipelines do for a plain string: the tokenizer's own
// special tokens, no truncation, no padding.
func encodeText(tok *tokenizer.Tokenizer, text, what string) ([]int64, error) {
	enc, err := tok.Encode(text, tokenizer.EncodeOptions{NoTruncation: true, NoPadding: true})
	if err != nil {
		return nil, fmt.Errorf("%s: tokenizing %q: %w", what, text, err)
	}
	if len(enc.IDs) == 0 {
		return nil, fmt.Errorf("%s: the text %q has no tokens; give a non-empty text", what, text)
	}
	ids := make([]int64, len(enc.IDs))
	for i, id := range enc.IDs {
		ids[i] = int64(id)
	}
	return ids, nil
}

// asInts concatenates id slices as the tokenizer's []int.
func asInts(parts ...[]int64) []int {
	var out []int
	for _, p := range parts {
		for _, id := range p {
			out = append(out, int(id))
		}
	}
	return out
}
