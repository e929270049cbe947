// Package text holds the text-encoder family's pipelines: text classification (Classifier),
// token classification (TokenClassifier), fill-mask (FillMask), extractive question answering
// (QuestionAnswerer) and feature extraction (FeatureExtractor). Tokenization lives in
// preprocess/tokenizer; this package only adds what is specific to each task: how texts become
// the tensors an encoder graph declares and how its outputs become answers, with transformers'
// pipeline defaults (each type documents its own).
//
// For text classification, preprocessing follows transformers' TextClassificationPipeline with its defaults: the
// tokenizer is called with add_special_tokens and no truncation (truncation=False overrides
// whatever tokenizer.json's truncation section says), and a batch is padded to its longest
// encoding with tokenizer_config.json's pad_token on its padding_side (token_type_ids and
// attention_mask padded with 0), as the pipeline's collate function pads. The scores are
// softmax over the logits, sigmoid when config.json's problem_type is
// "multi_label_classification" or the model has a single label, or the logits themselves when
// problem_type is "regression" (the pipeline's function_to_apply default), then sorted best first
// (stable, so ties keep class order) and named with id2label.
//
// One difference is deliberate: the HF pipeline's default batch_size is 1, so it runs each text
// alone, while Classify runs all its texts as one padded batch (one text per run when the graph
// has a fixed batch of 1 or the tokenizer has no pad token). Attention masks make the two agree
// up to float noise (e2e measures it). A graph with a fixed sequence length gets every batch
// padded to that length.
package text

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// The model inputs this pipeline knows how to fill.
const (
	inputIDs      = "input_ids"
	attentionMask = "attention_mask"
	tokenTypeIDs  = "token_type_ids"
)

// unlimitedLength is the bound above which tokenizer_config.json's model_max_length means "no
// limit": transformers writes VERY_LARGE_INTEGER (1e30) when the checkpoint sets none.
const unlimitedLength = 1 << 40

// Classifier is the text-classification pipeline: tokenization (single texts or pairs), one
// model call per batch, softmax (or sigmoid for multi-label models) and top-k with id2label.
// It is safe for concurrent use if its runner is.
type Classifier struct {
	runner    pipeline.Runner
	tok       *tokenizer.Tokenizer
	inputs    []sdk.ValueInfo
	output    string
	scoreFn   scoreFunc
	numLabels int
	labels    []string
	// pad is how a batch is padded; nil when the tokenizer has no pad token, in which case
	// each text runs alone (the HF pipeline refuses batch_size > 1 then).
	pad *tokenizer.Padding
	// maxLen is model_max_length from tokenizer_config.json, 0 when unlimited.
	maxLen int
	// batch is the graph's fixed batch size, 0 when dynamic.
	batch int
	// maxPositions is the longest sequence the position table holds: config.json's
	// max_position_embeddings, less 2 for RoBERTa-style models (0: absent). A longer text would
	// fail deep inside the graph, on every backend alike, so it is refused before the run.
	maxPositions int
}

// positionOffset lists model types whose position ids start after padding_idx (= 1), so that
// two rows of the position table are never used for tokens.
var positionOffset = map[string]bool{"roberta": true, "xlm-roberta": true, "camembert": true, "longformer": true, "data2vec-text": true, "xmod": true}

// scoreFunc is transformers' ClassificationFunction: how logits become scores.
type scoreFunc int

const (
	softmax scoreFunc = iota
	sigmoid
	identity
)

// tokenizerConfig is the part of tokenizer_config.json the pipeline reads.
type tokenizerConfig struct {
	PadToken       json.RawMessage `json:"pad_token"`
	PaddingSide    string          `json:"padding_side"`
	ModelMaxLength *float64        `json:"model_max_length"`
}

// NewClassifier prepares a text classifier for a model directory (tokenizer.json,
// tokenizer_config.json, config.json) whose graph "model" is loaded in runner.
func NewClassifier(dir *models.Dir, runner pipeline.Runner) (*Classifier, error) {
	tokPath, ok := dir.File("tokenizer.json")
	if !ok {
		return nil, fmt.Errorf("text classifier: model directory %s has no tokenizer.json; export the model with a fast tokenizer (optimum-cli export onnx saves it)", dir.Path)
	}
	tok, err := tokenizer.FromFile(tokPath)
	if err != nil {
		return nil, fmt.Errorf("text classifier: %w", err)
	}
	tc, err := readTokenizerConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("text classifier: %w", err)
	}
	c := &Classifier{runner: runner, tok: tok}
	if c.pad, err = padding(tok, tc); err != nil {
		return nil, fmt.Errorf("text classifier: %s: %w", filepath.Join(dir.Path, "tokenizer_config.json"), err)
	}
	if tc.ModelMaxLength != nil && *tc.ModelMaxLength > 0 && *tc.ModelMaxLength < unlimitedLength {
		c.maxLen = int(*tc.ModelMaxLength)
	}

	info := runner.Model("model")
	if info == nil {
		return nil, fmt.Errorf("text classifier: no graph \"model\" loaded")
	}
	hasIDs := false
	for _, in := range info.Inputs {
		switch in.Name {
		case inputIDs, attentionMask, tokenTypeIDs:
		default:
			return nil, fmt.Errorf("text classifier: model input %q is not one this pipeline fills (it feeds %s, %s, %s); the graph is not a plain sequence-classification export", in.Name, inputIDs, attentionMask, tokenTypeIDs)
		}
		if in.DType != sdk.Int64 && in.DType != sdk.Int32 {
			return nil, fmt.Errorf("text classifier: model input %q is %s; want int64 (or int32) [batch, sequence]", in.Name, in.DType)
		}
		if len(in.Shape) != 2 {
			return nil, fmt.Errorf("text classifier: model input %q has shape %s; want [batch, sequence]", in.Name, sdk.FormatShape(in.Shape))
		}
		hasIDs = hasIDs || in.Name == inputIDs
		if b := int(in.Shape[0]); b > 0 {
			c.batch = b
		}
		if n := int(in.Shape[1]); n > 0 {
			// A graph exported with a fixed sequence length takes every batch padded to it.
			if c.pad == nil {
				return nil, fmt.Errorf("text classifier: model input %q has a fixed sequence length %d but tokenizer_config.json names no pad_token to pad with", in.Name, n)
			}
			p := *c.pad
			p.Length = n
			c.pad = &p
			if c.maxLen == 0 || n < c.maxLen {
				c.maxLen = n
			}
		}
	}
	if !hasIDs {
		return nil, fmt.Errorf("text classifier: model has no input %q; want a graph exported for text-classification", inputIDs)
	}
	c.inputs = info.Inputs

	c.output = "logits"
	found := false
	for _, o := range info.Outputs {
		found = found || o.Name == c.output
	}
	if !found {
		if len(info.Outputs) != 1 {
			return nil, fmt.Errorf("text classifier: model has no output \"logits\" and %d outputs; cannot tell which holds the class scores", len(info.Outputs))
		}
		c.output = info.Outputs[0].Name
	}
	c.numLabels = len(dir.Config.ID2Label)
	if c.numLabels == 0 {
		return nil, fmt.Errorf("text classifier: config.json has no id2label; cannot name the classes")
	}
	c.labels = dir.Config.Labels(c.numLabels)
	if mp, ok := dir.Config.Raw["max_position_embeddings"].(float64); ok && mp > 0 {
		c.maxPositions = int(mp)
		if positionOffset[dir.Config.ModelType] {
			c.maxPositions -= 2
		}
	}
	pt, _ := dir.Config.Raw["problem_type"].(string)
	switch {
	case pt == "regression":
		c.scoreFn = identity
	case pt == "multi_label_classification" || c.numLabels == 1:
		c.scoreFn = sigmoid
	}
	return c, nil
}

func readTokenizerConfig(dir *models.Dir) (*tokenizerConfig, error) {
	var tc tokenizerConfig
	p, ok := dir.File("tokenizer_config.json")
	if !ok {
		// transformers runs without it too: no pad token, right padding, no length limit.
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

// padding builds the batch padding the HF pipeline applies: pad_token (a string or an
// AddedToken object {"content": ...}) on padding_side, type id 0.
func padding(tok *tokenizer.Tokenizer, tc *tokenizerConfig) (*tokenizer.Padding, error) {
	var name string
	if len(tc.PadToken) > 0 && string(tc.PadToken) != "null" {
		if err := json.Unmarshal(tc.PadToken, &name); err != nil {
			var obj struct {
				Content string `json:"content"`
			}
			if err := json.Unmarshal(tc.PadToken, &obj); err != nil {
				return nil, fmt.Errorf("pad_token is %s; want a string or an object with \"content\"", tc.PadToken)
			}
			name = obj.Content
		}
	}
	if name == "" {
		return nil, nil
	}
	id, ok := tok.TokenToID(name)
	if !ok {
		return nil, fmt.Errorf("pad_token %q is not in tokenizer.json's vocabulary", name)
	}
	p := &tokenizer.Padding{PadID: id, PadToken: name, Direction: tokenizer.Right}
	switch tc.PaddingSide {
	case "", "right":
	case "left":
		p.Direction = tokenizer.Left
	default:
		return nil, fmt.Errorf("padding_side is %q; want \"right\" or \"left\"", tc.PaddingSide)
	}
	return p, nil
}

// Classify returns the top k labels for each text (k <= 0: all labels), best first. pairs is
// nil for single texts, or holds one second text per text (HF's text_pair).
func (c *Classifier) Classify(ctx context.Context, texts []string, pairs []string, k int) ([][]pipeline.Label, pipeline.Stats, error) {
	logits, stats, err := c.Logits(ctx, texts, pairs)
	if err != nil {
		return nil, stats, err
	}
	t0 := time.Now()
	out := make([][]pipeline.Label, len(logits))
	for i, row := range logits {
		scores := row
		switch c.scoreFn {
		case softmax:
			scores = pipeline.Softmax(row)
		case sigmoid:
			scores = pipeline.Sigmoid(row)
		}
		out[i] = pipeline.TopK(scores, c.labels, k)
	}
	stats.Postprocess += time.Since(t0)
	return out, stats, nil
}

// Logits returns the model's raw class logits for each text (or pair), one row of
// id2label-size per text.
func (c *Classifier) Logits(ctx context.Context, texts []string, pairs []string) ([][]float32, pipeline.Stats, error) {
	var stats pipeline.Stats
	if pairs != nil && len(pairs) != len(texts) {
		return nil, stats, fmt.Errorf("text classifier: %d texts and %d pair texts; give one pair text per text, or none", len(texts), len(pairs))
	}
	step := len(texts)
	if c.batch > 0 {
		step = c.batch
	}
	if c.pad == nil {
		step = 1
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += step {
		end := min(start+step, len(texts))
		var p []string
		if pairs != nil {
			p = pairs[start:end]
		}
		rows, s, err := c.logitsBatch(ctx, texts[start:end], p)
		stats.Add(s)
		if err != nil {
			return nil, stats, err
		}
		out = append(out, rows...)
	}
	return out, stats, nil
}

func (c *Classifier) encode(ctx context.Context, texts, pairs []string) ([]*tokenizer.Encoding, error) {
	opts := tokenizer.EncodeOptions{NoTruncation: true, NoPadding: c.pad == nil, Padding: c.pad}
	if pairs == nil {
		return c.tok.EncodeBatch(ctx, texts, opts)
	}
	pp := make([][2]string, len(texts))
	for i := range texts {
		pp[i] = [2]string{texts[i], pairs[i]}
	}
	return c.tok.EncodePairBatch(ctx, pp, opts)
}

func (c *Classifier) logitsBatch(ctx context.Context, texts, pairs []string) ([][]float32, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	encs, err := c.encode(ctx, texts, pairs)
	if err != nil {
		return nil, stats, fmt.Errorf("text classifier: %w", err)
	}
	n := 0
	for i, e := range encs {
		if c.maxLen > 0 && e.Len() > c.maxLen {
			return nil, stats, fmt.Errorf("text classifier: text %d is %d tokens long; the model takes at most %d (model_max_length in tokenizer_config.json, or the graph's fixed length); shorten it", i, e.Len(), c.maxLen)
		}
		if c.maxPositions > 0 && e.Len() > c.maxPositions {
			return nil, stats, &sdk.Error{Code: sdk.InvalidInput, Message: fmt.Sprintf("text classifier: text %d is %d tokens long; the model's position table holds %d (config.json max_position_embeddings): shorten the text", i, e.Len(), c.maxPositions)}
		}
		n = max(n, e.Len())
	}
	req := &sdk.RunRequest{Outputs: []sdk.OutputRequest{{Name: c.output}}}
	for _, in := range c.inputs {
		var t *sdk.Tensor
		var err error
		if in.DType == sdk.Int32 {
			t, err = tensor[int32](encs, n, in.Name)
		} else {
			t, err = tensor[int64](encs, n, in.Name)
		}
		if err != nil {
			return nil, stats, err
		}
		req.Inputs = append(req.Inputs, sdk.Value{Name: in.Name, Tensor: t})
	}
	stats.Preprocess = time.Since(t0)

	t1 := time.Now()
	res, err := c.runner.Run(ctx, "model", req)
	stats.Model = time.Since(t1)
	if err != nil {
		return nil, stats, err
	}

	t2 := time.Now()
	logits, shape, err := pipeline.Output(res, c.output)
	if err != nil {
		return nil, stats, err
	}
	if len(shape) != 2 || int(shape[0]) != len(texts) || int(shape[1]) != c.numLabels {
		return nil, stats, fmt.Errorf("model output %q has shape %s; want [%d,%d] (batch, id2label size)", c.output, sdk.FormatShape(shape), len(texts), c.numLabels)
	}
	rows := make([][]float32, len(texts))
	for i := range rows {
		rows[i] = logits[i*c.numLabels : (i+1)*c.numLabels : (i+1)*c.numLabels]
	}
	stats.Postprocess = time.Since(t2)
	return rows, stats, nil
}

// tensor lays one field of the padded encodings out as a [batch, n] tensor.
func tensor[T int32 | int64](encs []*tokenizer.Encoding, n int, name string) (*sdk.Tensor, error) {
	data := make([]T, 0, len(encs)*n)
	for i, e := range encs {
		var src []int
		switch name {
		case inputIDs:
			src = e.IDs
		case attentionMask:
			src = e.AttentionMask
		case tokenTypeIDs:
			src = e.TypeIDs
		}
		if len(src) != n {
			return nil, fmt.Errorf("text classifier: encoding %d has %d tokens, the batch %d; the batch was not padded", i, len(src), n)
		}
		for _, v := range src {
			data = append(data, T(v))
		}
	}
	return sdk.NewTensor([]int64{int64(len(encs)), int64(n)}, data)
}
