package text

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

// Entity is one classified token, as transformers' TokenClassificationPipeline reports it with
// aggregation_strategy "none".
type Entity struct {
	// Entity is the best label (id2label).
	Entity string `json:"entity"`
	// Score is its softmax probability.
	Score float32 `json:"score"`
	// Index is the token's position in the encoded sequence (special tokens included).
	Index int `json:"index"`
	// Word is the token as the vocabulary spells it (e.g. "##ing"), or the original text it
	// covers when the token is the unknown token.
	Word string `json:"word"`
	// Start and End are the token's span in the text, in Unicode code points (Python string
	// indices).
	Start int `json:"start"`
	End   int `json:"end"`
}

// TokenClassifier is the token-classification pipeline (named-entity recognition and the like)
// with transformers' defaults: aggregation_strategy "none" (one entity per token that is not a
// special token), scores = softmax over each token's logits, the best label named by id2label,
// and tokens whose label is in ignore_labels (default ["O"]) left out. Texts are truncated to
// tokenizer_config.json's model_max_length, as the HF pipeline does, and each text runs alone.
// It is safe for concurrent use if its runner is.
type TokenClassifier struct {
	enc    *encoder
	labels []string
	ignore []string
	unkID  int
	maxLen int
	output string
}

// NewTokenClassifier prepares a token classifier for a model directory (tokenizer.json,
// tokenizer_config.json, config.json with id2label) whose graph "model" is loaded in runner.
func NewTokenClassifier(dir *models.Dir, runner pipeline.Runner) (*TokenClassifier, error) {
	const what = "token classifier"
	e, err := newEncoder(what, dir, runner)
	if err != nil {
		return nil, err
	}
	c := &TokenClassifier{enc: e, ignore: []string{"O"}, output: "logits"}
	if !e.hasOutput(c.output) {
		return nil, fmt.Errorf("%s: model has no output \"logits\"; want a graph exported with --task token-classification", what)
	}
	n := len(dir.Config.ID2Label)
	if n == 0 {
		return nil, fmt.Errorf("%s: config.json has no id2label; cannot name the token classes", what)
	}
	c.labels = dir.Config.Labels(n)
	if c.unkID, err = e.specialID("unk_token", e.cfg.UnkToken); err != nil {
		return nil, err
	}
	if m := e.cfg.ModelMaxLength; m != nil && *m > 0 && *m < unlimitedLength {
		c.maxLen = int(*m)
	}
	return c, nil
}

// Classify returns the entities of each text, in token order.
func (c *TokenClassifier) Classify(ctx context.Context, texts []string) ([][]Entity, pipeline.Stats, error) {
	var stats pipeline.Stats
	out := make([][]Entity, len(texts))
	opts := tokenizer.EncodeOptions{NoPadding: true, NoTruncation: c.maxLen == 0}
	if c.maxLen > 0 {
		opts.Truncation = &tokenizer.Truncation{MaxLength: c.maxLen, Strategy: tokenizer.LongestFirst}
	}
	for i, text := range texts {
		t0 := time.Now()
		enc, err := c.enc.tok.Encode(text, opts)
		if err != nil {
			return nil, stats, fmt.Errorf("token classifier: text %d: %w", i, err)
		}
		stats.Preprocess += time.Since(t0)
		res, d, err := c.enc.run(ctx, enc, c.output)
		stats.Model += d
		if err != nil {
			return nil, stats, err
		}
		t1 := time.Now()
		logits, err := rows(res, c.output, enc.Len())
		if err != nil {
			return nil, stats, fmt.Errorf("token classifier: %w", err)
		}
		if len(logits[0]) != len(c.labels) {
			return nil, stats, fmt.Errorf("token classifier: model output %q has %d classes per token; config.json's id2label has %d", c.output, len(logits[0]), len(c.labels))
		}
		out[i] = c.entities(text, enc, logits)
		stats.Postprocess += time.Since(t1)
	}
	return out, stats, nil
}

func (c *TokenClassifier) entities(text string, enc *tokenizer.Encoding, logits [][]float32) []Entity {
	ents := []Entity{}
	for t, row := range logits {
		if enc.SpecialTokensMask[t] == 1 {
			continue
		}
		scores := pipeline.Softmax(row)
		best := 0
		for k, s := range scores {
			if s > scores[best] {
				best = k
			}
		}
		if slices.Contains(c.ignore, c.labels[best]) {
			continue
		}
		word := enc.Tokens[t]
		if enc.IDs[t] == c.unkID {
			word = text[enc.ByteOffsets[t][0]:enc.ByteOffsets[t][1]]
		}
		ents = append(ents, Entity{Entity: c.labels[best], Score: scores[best], Index: t, Word: word, Start: enc.Offsets[t][0], End: enc.Offsets[t][1]})
	}
	return ents
}
