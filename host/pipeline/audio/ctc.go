package audio

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
	"github.com/hfhost/hfhost/sdk"
)

// CTC is the automatic-speech-recognition pipeline for CTC models (Wav2Vec2ForCTC, HuBERT,
// WavLM...): features, one model call per clip, argmax per frame, then
// Wav2Vec2CTCTokenizer.decode as transformers' ASR pipeline calls it (skip_special_tokens
// False): repeated tokens collapse to one, the pad token (the CTC blank) is dropped, the word
// delimiter becomes replace_word_delimiter_char, the tokens are joined without spaces, the
// result is stripped of surrounding whitespace and lower-cased when do_lower_case is set.
// Other special tokens (<s>, </s>, <unk>) stay in the text, as they do in transformers.
// Sequence-to-sequence models (Whisper) need a generation loop and are refused.
type CTC struct {
	m         *featureModel
	vocab     []string
	pad       string
	delimiter string
	replace   string
	lower     bool
}

// ctcTokenizerConfig is the part of tokenizer_config.json Wav2Vec2CTCTokenizer's decode reads.
type ctcTokenizerConfig struct {
	PadToken                 json.RawMessage `json:"pad_token"`
	WordDelimiterToken       *string         `json:"word_delimiter_token"`
	ReplaceWordDelimiterChar *string         `json:"replace_word_delimiter_char"`
	DoLowerCase              bool            `json:"do_lower_case"`
	TargetLang               *string         `json:"target_lang"`
	TokenizerClass           string          `json:"tokenizer_class"`
}

// NewCTC prepares a CTC speech recognizer for a model directory (preprocessor_config.json,
// vocab.json, tokenizer_config.json) whose graph "model" is loaded in runner.
func NewCTC(dir *models.Dir, runner pipeline.Runner) (*CTC, error) {
	if err := CheckCTC(dir); err != nil {
		return nil, err
	}
	tc, err := readCTCConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("CTC speech recognizer: %w", err)
	}
	vocab, err := readVocab(dir, tc.TargetLang)
	if err != nil {
		return nil, fmt.Errorf("CTC speech recognizer: %w", err)
	}
	c := &CTC{vocab: vocab, pad: "<pad>", delimiter: "|", replace: " ", lower: tc.DoLowerCase}
	if len(tc.PadToken) > 0 && string(tc.PadToken) != "null" {
		if c.pad, err = tokenContent(tc.PadToken); err != nil {
			return nil, fmt.Errorf("CTC speech recognizer: tokenizer_config.json: %w", err)
		}
	}
	if tc.WordDelimiterToken != nil {
		c.delimiter = *tc.WordDelimiterToken
	}
	if tc.ReplaceWordDelimiterChar != nil {
		c.replace = *tc.ReplaceWordDelimiterChar
	}
	if c.m, err = newFeatureModel("CTC speech recognizer", dir, runner); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckCTC reports whether a model directory holds a CTC model this pipeline can run, with an
// error saying why not (a sequence-to-sequence model such as Whisper needs generation).
func CheckCTC(dir *models.Dir) error {
	ctc := false
	for _, a := range dir.Config.Architectures {
		ctc = ctc || strings.HasSuffix(a, "ForCTC")
	}
	if !ctc {
		return fmt.Errorf("CTC speech recognizer: model %s (model_type %q, architectures %v) is not a CTC model: sequence-to-sequence speech recognition (Whisper, Speech2Text...) needs a generation loop, and generation is not implemented yet in hfhost; use a ...ForCTC model such as wav2vec2", dir.Path, dir.Config.ModelType, dir.Config.Architectures)
	}
	return nil
}

func readCTCConfig(dir *models.Dir) (*ctcTokenizerConfig, error) {
	var tc ctcTokenizerConfig
	p, ok := dir.File("tokenizer_config.json")
	if !ok {
		return &tc, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading tokenizer_config.json: %w", err)
	}
	if err := json.Unmarshal(b, &tc); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON of a tokenizer config: %w", p, err)
	}
	return &tc, nil
}

// tokenContent reads a special token written as a string or as {"content": ...}.
func tokenContent(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("pad_token is %s; want a string or an object with \"content\"", raw)
	}
	return obj.Content, nil
}

// readVocab reads vocab.json ({"token": id}, or {"lang": {"token": id}} for multilingual
// checkpoints, chosen by target_lang) into an id -> token table.
func readVocab(dir *models.Dir, targetLang *string) ([]string, error) {
	p, ok := dir.File("vocab.json")
	if !ok {
		return nil, fmt.Errorf("model directory %s has no vocab.json; a CTC model needs its character vocabulary to turn ids into text", dir.Path)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading vocab.json: %w", err)
	}
	var flat map[string]int
	if err := json.Unmarshal(b, &flat); err != nil {
		var nested map[string]map[string]int
		if err2 := json.Unmarshal(b, &nested); err2 != nil {
			return nil, fmt.Errorf("%s is neither {\"token\": id} nor {\"lang\": {\"token\": id}}: %w", p, err)
		}
		if targetLang == nil {
			return nil, fmt.Errorf("%s holds one vocabulary per language; tokenizer_config.json must name one with target_lang", p)
		}
		v, ok := nested[*targetLang]
		if !ok {
			return nil, fmt.Errorf("%s has no vocabulary for target_lang %q", p, *targetLang)
		}
		flat = v
	}
	n := 0
	for _, id := range flat {
		if id < 0 || id > 1<<24 {
			return nil, fmt.Errorf("%s: id %d is out of range", p, id)
		}
		n = max(n, id+1)
	}
	vocab := make([]string, n)
	for tok, id := range flat {
		vocab[id] = tok
	}
	return vocab, nil
}

// Transcribe returns the text of each clip.
func (c *CTC) Transcribe(ctx context.Context, clips []*audioproc.Clip) ([]string, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([]string, len(clips))
	for i, clip := range clips {
		ids, s, err := c.ArgmaxIDs(ctx, clip)
		stats.Add(s)
		if err != nil {
			return nil, stats, fmt.Errorf("CTC speech recognizer: clip %d: %w", i, err)
		}
		t0 := time.Now()
		if out[i], err = c.Decode(ids); err != nil {
			return nil, stats, fmt.Errorf("CTC speech recognizer: clip %d: %w", i, err)
		}
		stats.Postprocess += time.Since(t0)
	}
	return out, stats, nil
}

// ArgmaxIDs returns the best token id of every frame of one clip (ties: the lowest id, as
// torch.argmax).
func (c *CTC) ArgmaxIDs(ctx context.Context, clip *audioproc.Clip) ([]int, pipeline.Stats, error) {
	var stats pipeline.Stats
	logits, shape, err := c.m.run(ctx, clip, &stats)
	if err != nil {
		return nil, stats, err
	}
	t0 := time.Now()
	if len(shape) != 3 || shape[0] != 1 || int(shape[2]) != len(c.vocab) {
		return nil, stats, fmt.Errorf("model output %q has shape %s; want [1, frames, %d] (vocab.json size)", c.m.output, sdk.FormatShape(shape), len(c.vocab))
	}
	v := len(c.vocab)
	ids := make([]int, shape[1])
	for f := range ids {
		row := logits[f*v : (f+1)*v]
		best := 0
		for j, x := range row {
			if x > row[best] {
				best = j
			}
		}
		ids[f] = best
	}
	stats.Postprocess = time.Since(t0)
	return ids, stats, nil
}

// Decode turns per-frame token ids into text as Wav2Vec2CTCTokenizer.decode does with
// skip_special_tokens False.
func (c *CTC) Decode(ids []int) (string, error) {
	var b strings.Builder
	prev := ""
	for i, id := range ids {
		if id < 0 || id >= len(c.vocab) {
			return "", fmt.Errorf("token id %d is outside vocab.json (%d tokens)", id, len(c.vocab))
		}
		tok := c.vocab[id]
		if i > 0 && tok == prev {
			continue
		}
		prev = tok
		switch tok {
		case c.pad:
		case c.delimiter:
			b.WriteString(c.replace)
		default:
			b.WriteString(tok)
		}
	}
	s := strings.TrimSpace(b.String())
	if c.lower {
		s = strings.ToLower(s)
	}
	return s, nil
}
