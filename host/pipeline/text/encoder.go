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

// encoder is what the per-token pipelines (token classification, fill-mask, question answering,
// feature extraction) share: the tokenizer, tokenizer_config.json, the graph's inputs, and one
// model call per encoding. Like the HF pipelines with their default batch_size 1, each text runs
// alone, unpadded, so every position of an output row belongs to the text.
type encoder struct {
	what   string
	runner pipeline.Runner
	tok    *tokenizer.Tokenizer
	cfg    *tokenizerExtras
	inputs []sdk.ValueInfo
	// maxPositions is config.json's max_position_embeddings (less 2 for RoBERTa-style models),
	// 0 when absent.
	maxPositions int
}

// tokenizerExtras is the part of tokenizer_config.json these pipelines read beyond what the
// classifier reads.
type tokenizerExtras struct {
	tokenizerConfig
	MaskToken json.RawMessage `json:"mask_token"`
	UnkToken  json.RawMessage `json:"unk_token"`
	CLSToken  json.RawMessage `json:"cls_token"`
	// CleanUp is clean_up_tokenization_spaces; transformers defaults it to false.
	CleanUp bool `json:"clean_up_tokenization_spaces"`
}

// tokenName reads a special token entry (a string or an AddedToken object), "" when absent.
func tokenName(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		return name, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("special token is %s; want a string or an object with \"content\"", raw)
	}
	return obj.Content, nil
}

// specialID returns the id of a special token named in tokenizer_config.json, -1 when the
// config names none.
func (e *encoder) specialID(field string, raw json.RawMessage) (int, error) {
	name, err := tokenName(raw)
	if err != nil {
		return -1, fmt.Errorf("%s: tokenizer_config.json %s: %w", e.what, field, err)
	}
	if name == "" {
		return -1, nil
	}
	id, ok := e.tok.TokenToID(name)
	if !ok {
		return -1, fmt.Errorf("%s: tokenizer_config.json %s %q is not in tokenizer.json's vocabulary; the tokenizer files do not belong together", e.what, field, name)
	}
	return id, nil
}

// newEncoder loads the tokenizer of dir and checks that the graph "model" in runner takes only
// inputs the pipeline fills, as int64 or int32 [batch, sequence] with a dynamic batch.
func newEncoder(what string, dir *models.Dir, runner pipeline.Runner) (*encoder, error) {
	tokPath, ok := dir.File("tokenizer.json")
	if !ok {
		return nil, fmt.Errorf("%s: model directory %s has no tokenizer.json; export the model with a fast tokenizer (optimum-cli export onnx saves it)", what, dir.Path)
	}
	tok, err := tokenizer.FromFile(tokPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	e := &encoder{what: what, runner: runner, tok: tok, cfg: &tokenizerExtras{}}
	if p, ok := dir.File("tokenizer_config.json"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: reading tokenizer_config.json: %w", what, err)
		}
		if err := json.Unmarshal(b, e.cfg); err != nil {
			return nil, fmt.Errorf("%s: %s is not valid JSON of a tokenizer config: %w", what, filepath.Join(dir.Path, "tokenizer_config.json"), err)
		}
	}
	info := runner.Model("model")
	if info == nil {
		return nil, fmt.Errorf("%s: no graph \"model\" loaded", what)
	}
	hasIDs := false
	for _, in := range info.Inputs {
		switch in.Name {
		case inputIDs, attentionMask, tokenTypeIDs:
		default:
			return nil, fmt.Errorf("%s: model input %q is not one this pipeline fills (it feeds %s, %s, %s); export the model with optimum for this task", what, in.Name, inputIDs, attentionMask, tokenTypeIDs)
		}
		if in.DType != sdk.Int64 && in.DType != sdk.Int32 {
			return nil, fmt.Errorf("%s: model input %q is %s; want int64 (or int32) [batch, sequence]", what, in.Name, in.DType)
		}
		if len(in.Shape) != 2 {
			return nil, fmt.Errorf("%s: model input %q has shape %s; want [batch, sequence]", what, in.Name, sdk.FormatShape(in.Shape))
		}
		if in.Shape[1] > 0 {
			return nil, fmt.Errorf("%s: model input %q has a fixed sequence length %d; this pipeline runs each text unpadded and needs a dynamic sequence axis: export without static shapes", what, in.Name, in.Shape[1])
		}
		hasIDs = hasIDs || in.Name == inputIDs
	}
	if !hasIDs {
		return nil, fmt.Errorf("%s: model has no input %q; want a graph exported for this task", what, inputIDs)
	}
	e.inputs = info.Inputs
	if mp, ok := dir.Config.Raw["max_position_embeddings"].(float64); ok && mp > 0 {
		e.maxPositions = int(mp)
		if positionOffset[dir.Config.ModelType] {
			e.maxPositions -= 2
		}
	}
	return e, nil
}

// hasOutput reports whether the graph declares an output name.
func (e *encoder) hasOutput(name string) bool {
	for _, o := range e.runner.Model("model").Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// run feeds one encoding as a batch of one and returns the outputs asked for.
func (e *encoder) run(ctx context.Context, enc *tokenizer.Encoding, outputs ...string) (*sdk.RunResult, time.Duration, error) {
	if e.maxPositions > 0 && enc.Len() > e.maxPositions {
		return nil, 0, &sdk.Error{Code: sdk.InvalidInput, Message: fmt.Sprintf("%s: the text is %d tokens long; the model's position table holds %d (config.json max_position_embeddings): shorten the text", e.what, enc.Len(), e.maxPositions)}
	}
	req := &sdk.RunRequest{}
	for _, o := range outputs {
		req.Outputs = append(req.Outputs, sdk.OutputRequest{Name: o})
	}
	encs := []*tokenizer.Encoding{enc}
	for _, in := range e.inputs {
		var t *sdk.Tensor
		var err error
		if in.DType == sdk.Int32 {
			t, err = tensor[int32](encs, enc.Len(), in.Name)
		} else {
			t, err = tensor[int64](encs, enc.Len(), in.Name)
		}
		if err != nil {
			return nil, 0, err
		}
		req.Inputs = append(req.Inputs, sdk.Value{Name: in.Name, Tensor: t})
	}
	t0 := time.Now()
	res, err := e.runner.Run(ctx, "model", req)
	return res, time.Since(t0), err
}

// rows returns a [1, n, width] output of a run as n rows of width values, checking the shape.
func rows(res *sdk.RunResult, name string, n int) ([][]float32, error) {
	data, shape, err := pipeline.Output(res, name)
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 || shape[0] != 1 || int(shape[1]) != n || shape[2] <= 0 {
		return nil, fmt.Errorf("model output %q has shape %s; want [1,%d,width] (one text of %d tokens)", name, sdk.FormatShape(shape), n, n)
	}
	w := int(shape[2])
	out := make([][]float32, n)
	for i := range out {
		out[i] = data[i*w : (i+1)*w : (i+1)*w]
	}
	return out, nil
}
