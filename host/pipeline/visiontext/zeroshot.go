// Package visiontext holds the vision-text family's pipelines: models with an image tower and a
// text tower scored against each other (CLIP, SigLIP). Image preprocessing lives in
// preprocess/imageproc and tokenization in preprocess/tokenizer; this package only adds what is
// specific to each task.
//
// Zero-shot image classification follows transformers' ZeroShotImageClassificationPipeline
// (4.57.3) with its defaults: each candidate label becomes a prompt through the hypothesis
// template "This is a photo of {}."; the prompts are tokenized together and padded to the
// longest (CLIP: padding=True, no truncation) or, for SigLIP models (model_type containing
// "siglip"), padded and truncated to 64 tokens (padding="max_length", max_length=64); the
// graph's logits_per_image row for each image becomes scores with softmax over the labels
// (CLIP) or an element-wise sigmoid (SigLIP), and the labels are sorted best first (a stable
// sort, so ties keep the candidate order). The HF pipeline has no top_k here: every label is
// returned.
//
// SigLIP checkpoints ship only a sentencepiece model (spiece.model) for transformers' slow
// SiglipTokenizer (there is no fast one, so no tokenizer.json): for a SigLIP directory without
// tokenizer.json the prompts are tokenized as SiglipTokenizer does (siglip.go). Other
// directories without tokenizer.json load, but Classify refuses them; ClassifyIDs takes prompts
// tokenized elsewhere. Optimum's SigLIP export has no attention_mask input, so the padding is
// attended to, as SigLIP was trained; the HF pipeline on PyTorch passes a mask, which an ONNX
// export cannot reproduce.
package visiontext

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"strings"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/imageproc"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// DefaultHypothesisTemplate is the HF pipeline's default prompt; "{}" is replaced by a label.
const DefaultHypothesisTemplate = "This is a photo of {}."

// siglipMaxLength is the length the HF pipeline pads and truncates SigLIP prompts to.
const siglipMaxLength = 64

// Model inputs and outputs this pipeline knows.
const (
	inputIDs       = "input_ids"
	attentionMask  = "attention_mask"
	pixelValues    = "pixel_values"
	logitsPerImage = "logits_per_image"
)

// ZeroShotClassifier is the zero-shot-image-classification pipeline for CLIP-style dual
// encoders exported as one graph (input_ids, pixel_values, optional attention_mask ->
// logits_per_image). It is safe for concurrent use if its runner is.
type ZeroShotClassifier struct {
	// Template is the hypothesis template; each "{}" in it is replaced by a candidate label.
	// NewZeroShotClassifier sets it to DefaultHypothesisTemplate.
	Template string

	runner pipeline.Runner
	proc   *imageproc.Processor
	// tok is nil when the directory has no tokenizer.json; sp is then SigLIP's slow
	// tokenizer, or nil with tokErr saying why the prompts cannot be tokenized.
	tok    *tokenizer.Tokenizer
	sp     *siglipTokenizer
	tokErr error
	pad    tokenizer.Padding
	// maxLen > 0 pads and truncates prompts to this length (SigLIP).
	maxLen  int
	sigmoid bool
	idsType sdk.DType
	hasMask bool
	// imgBatch is the graph's fixed image batch size, 0 when dynamic.
	imgBatch int
	// maxPositions is text_config.max_position_embeddings from config.json (0: absent): a
	// longer prompt would fail inside the graph on every backend alike, so it is refused first.
	maxPositions int
}

// NewZeroShotClassifier prepares a zero-shot image classifier for a model directory
// (preprocessor_config.json, config.json, tokenizer.json and tokenizer_config.json) whose
// graph "model" is loaded in runner.
func NewZeroShotClassifier(dir *models.Dir, runner pipeline.Runner) (*ZeroShotClassifier, error) {
	proc, err := imageproc.FromDir(dir.Path)
	if err != nil {
		return nil, fmt.Errorf("zero-shot image classifier: %w", err)
	}
	z := &ZeroShotClassifier{Template: DefaultHypothesisTemplate, runner: runner, proc: proc}
	if strings.Contains(dir.Config.ModelType, "siglip") {
		z.sigmoid = true
		z.maxLen = siglipMaxLength
	}
	info := runner.Model("model")
	if info == nil {
		return nil, fmt.Errorf("zero-shot image classifier: no graph \"model\" loaded")
	}
	var hasIDs, hasPixels bool
	for _, in := range info.Inputs {
		switch in.Name {
		case inputIDs, attentionMask:
			if (in.DType != sdk.Int64 && in.DType != sdk.Int32) || len(in.Shape) != 2 {
				return nil, fmt.Errorf("zero-shot image classifier: model input %q is %s %s; want int64 (or int32) [labels, sequence]", in.Name, in.DType, sdk.FormatShape(in.Shape))
			}
			if in.Name == inputIDs {
				hasIDs = true
				z.idsType = in.DType
			} else {
				z.hasMask = true
			}
		case pixelValues:
			if in.DType != sdk.Float32 || len(in.Shape) != 4 {
				return nil, fmt.Errorf("zero-shot image classifier: model input %q is %s %s; want float32 [N,C,H,W]", in.Name, in.DType, sdk.FormatShape(in.Shape))
			}
			if c := in.Shape[1]; c > 0 && int(c) != proc.Channels() {
				return nil, fmt.Errorf("zero-shot image classifier: model input %q wants %d channels, preprocessor_config.json produces %d; check do_convert_rgb", in.Name, c, proc.Channels())
			}
			if b := in.Shape[0]; b > 0 {
				z.imgBatch = int(b)
			}
			hasPixels = true
		default:
			return nil, fmt.Errorf("zero-shot image classifier: model input %q is not one this pipeline fills (it feeds %s, %s, %s); want a graph exported for zero-shot-image-classification", in.Name, inputIDs, pixelValues, attentionMask)
		}
	}
	if !hasIDs || !hasPixels {
		return nil, fmt.Errorf("zero-shot image classifier: model needs inputs %q and %q; want a graph exported for zero-shot-image-classification (optimum-cli export onnx --task zero-shot-image-classification)", inputIDs, pixelValues)
	}
	found := false
	for _, o := range info.Outputs {
		found = found || o.Name == logitsPerImage
	}
	if !found {
		return nil, fmt.Errorf("zero-shot image classifier: model has no output %q; want a graph exported for zero-shot-image-classification", logitsPerImage)
	}
	if tc, ok := dir.Config.Raw["text_config"].(map[string]any); ok {
		if mp, ok := tc["max_position_embeddings"].(float64); ok && mp > 0 {
			z.maxPositions = int(mp)
		}
	}
	z.tok, z.pad, z.tokErr = loadTokenizer(dir)
	if sp, ok := dir.File("spiece.model"); ok && z.tok == nil && z.sigmoid {
		cfg, _ := dir.File("tokenizer_config.json")
		if z.sp, err = loadSiglipTokenizer(sp, cfg); err != nil {
			return nil, fmt.Errorf("zero-shot image classifier: SigLIP tokenizer: %w", err)
		}
	}
	return z, nil
}

// loadTokenizer reads tokenizer.json and the pad token from tokenizer_config.json. A missing
// tokenizer.json is not an error here: the error is kept for Classify.
func loadTokenizer(dir *models.Dir) (*tokenizer.Tokenizer, tokenizer.Padding, error) {
	var pad tokenizer.Padding
	p, ok := dir.File("tokenizer.json")
	if !ok {
		why := "export the model with a fast tokenizer (tokenizer.json)"
		if _, sp := dir.File("spiece.model"); sp {
			why = "it has only spiece.model, the sentencepiece model of a slow tokenizer, which hfhost reads only for SigLIP models; tokenize the prompts elsewhere and use ClassifyIDs"
		}
		return nil, pad, fmt.Errorf("zero-shot image classifier: model directory %s has no tokenizer.json: %s", dir.Path, why)
	}
	tok, err := tokenizer.FromFile(p)
	if err != nil {
		return nil, pad, fmt.Errorf("zero-shot image classifier: %w", err)
	}
	name, err := padToken(dir)
	if err != nil {
		return nil, pad, fmt.Errorf("zero-shot image classifier: %w", err)
	}
	if name == "" {
		if tp := tok.Padding(); tp != nil {
			return tok, *tp, nil
		}
		return nil, pad, fmt.Errorf("zero-shot image classifier: tokenizer_config.json names no pad_token and tokenizer.json has no padding; the prompts of all labels must be padded to one length")
	}
	id, ok := tok.TokenToID(name)
	if !ok {
		return nil, pad, fmt.Errorf("zero-shot image classifier: pad_token %q of tokenizer_config.json is not in tokenizer.json's vocabulary", name)
	}
	return tok, tokenizer.Padding{PadID: id, PadToken: name, Direction: tokenizer.Right}, nil
}

// padToken returns tokenizer_config.json's pad_token (a string or {"content": ...}), "" if none.
func padToken(dir *models.Dir) (string, error) {
	p, ok := dir.File("tokenizer_config.json")
	if !ok {
		return "", nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("reading tokenizer_config.json: %w", err)
	}
	var tc struct {
		PadToken json.RawMessage `json:"pad_token"`
	}
	if err := json.Unmarshal(b, &tc); err != nil {
		return "", fmt.Errorf("%s is not valid JSON of a tokenizer config: %w", p, err)
	}
	if len(tc.PadToken) == 0 || string(tc.PadToken) == "null" {
		return "", nil
	}
	var name string
	if err := json.Unmarshal(tc.PadToken, &name); err == nil {
		return name, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(tc.PadToken, &obj); err != nil {
		return "", fmt.Errorf("%s: pad_token is %s; want a string or an object with \"content\"", p, tc.PadToken)
	}
	return obj.Content, nil
}

// Prompts returns the texts the candidate labels become through Template.
func (z *ZeroShotClassifier) Prompts(labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = strings.ReplaceAll(z.Template, "{}", l)
	}
	return out
}

// Classify scores every candidate label for each image and returns all labels per image,
// best first.
func (z *ZeroShotClassifier) Classify(ctx context.Context, imgs []image.Image, labels []string) ([][]pipeline.Label, pipeline.Stats, error) {
	var stats pipeline.Stats
	if z.tok == nil && z.sp == nil {
		return nil, stats, z.tokErr
	}
	if len(labels) == 0 {
		return nil, stats, fmt.Errorf("zero-shot image classifier: no candidate labels; give at least one")
	}
	t0 := time.Now()
	if z.sp != nil {
		ids, mask, err := z.sp.encode(ctx, z.Prompts(labels), z.maxLen)
		if err != nil {
			return nil, stats, fmt.Errorf("zero-shot image classifier: %w", err)
		}
		stats.Preprocess = time.Since(t0)
		out, s, err := z.classify(ctx, imgs, labels, ids, mask)
		stats.Add(s)
		return out, stats, err
	}
	opts := tokenizer.EncodeOptions{NoTruncation: true, Padding: &z.pad}
	if z.maxLen > 0 {
		p := z.pad
		p.Length = z.maxLen
		opts = tokenizer.EncodeOptions{Truncation: &tokenizer.Truncation{MaxLength: z.maxLen}, Padding: &p}
	}
	encs, err := z.tok.EncodeBatch(ctx, z.Prompts(labels), opts)
	if err != nil {
		return nil, stats, fmt.Errorf("zero-shot image classifier: %w", err)
	}
	ids := make([][]int, len(encs))
	mask := make([][]int, len(encs))
	for i, e := range encs {
		ids[i], mask[i] = e.IDs, e.AttentionMask
	}
	stats.Preprocess = time.Since(t0)
	out, s, err := z.classify(ctx, imgs, labels, ids, mask)
	stats.Add(s)
	return out, stats, err
}

// ClassifyIDs is Classify with the prompts already tokenized (for a model whose tokenizer
// hfhost cannot load): ids holds one row of token ids per label, all of one length, padded as
// the model expects; mask holds the matching attention masks, or is nil for all ones. The mask
// is fed only when the graph takes one.
func (z *ZeroShotClassifier) ClassifyIDs(ctx context.Context, imgs []image.Image, labels []string, ids, mask [][]int) ([][]pipeline.Label, pipeline.Stats, error) {
	if len(ids) != len(labels) || (mask != nil && len(mask) != len(ids)) {
		return nil, pipeline.Stats{}, fmt.Errorf("zero-shot image classifier: %d token rows and %d mask rows for %d labels; give one row per label", len(ids), len(mask), len(labels))
	}
	if mask == nil {
		mask = make([][]int, len(ids))
		for i, row := range ids {
			mask[i] = make([]int, len(row))
			for j := range row {
				mask[i][j] = 1
			}
		}
	}
	return z.classify(ctx, imgs, labels, ids, mask)
}

func (z *ZeroShotClassifier) classify(ctx context.Context, imgs []image.Image, labels []string, ids, mask [][]int) ([][]pipeline.Label, pipeline.Stats, error) {
	var stats pipeline.Stats
	if len(labels) == 0 {
		return nil, stats, fmt.Errorf("zero-shot image classifier: no candidate labels; give at least one")
	}
	if len(imgs) == 0 {
		return nil, stats, fmt.Errorf("zero-shot image classifier: no images; give at least one")
	}
	t0 := time.Now()
	n := len(ids[0])
	for i, row := range ids {
		if len(row) != n || len(mask[i]) != n {
			return nil, stats, fmt.Errorf("zero-shot image classifier: prompt %d has %d tokens, prompt 0 has %d; the prompts must be padded to one length", i, len(row), n)
		}
	}
	if n == 0 {
		return nil, stats, fmt.Errorf("zero-shot image classifier: the prompts have no tokens")
	}
	if z.maxPositions > 0 && n > z.maxPositions {
		return nil, stats, &sdk.Error{Code: sdk.InvalidInput, Message: fmt.Sprintf("zero-shot image classifier: the longest prompt is %d tokens; the text encoder's position table holds %d (config.json text_config.max_position_embeddings): shorten the labels or the hypothesis template", n, z.maxPositions)}
	}
	textInputs := []sdk.Value{}
	idsT, err := intTensor(ids, z.idsType)
	if err != nil {
		return nil, stats, err
	}
	textInputs = append(textInputs, sdk.Value{Name: inputIDs, Tensor: idsT})
	if z.hasMask {
		m, err := intTensor(mask, z.idsType)
		if err != nil {
			return nil, stats, err
		}
		textInputs = append(textInputs, sdk.Value{Name: attentionMask, Tensor: m})
	}
	stats.Preprocess = time.Since(t0)

	step := len(imgs)
	if z.imgBatch > 0 {
		step = z.imgBatch
	}
	out := make([][]pipeline.Label, 0, len(imgs))
	for start := 0; start < len(imgs); start += step {
		end := min(start+step, len(imgs))
		rows, s, err := z.run(ctx, imgs[start:end], labels, textInputs)
		stats.Add(s)
		if err != nil {
			return nil, stats, err
		}
		out = append(out, rows...)
	}
	return out, stats, nil
}

func (z *ZeroShotClassifier) run(ctx context.Context, imgs []image.Image, labels []string, textInputs []sdk.Value) ([][]pipeline.Label, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	batch, err := z.proc.Preprocess(imgs)
	if err != nil {
		return nil, stats, fmt.Errorf("zero-shot image classifier: %w", err)
	}
	pv, err := sdk.NewTensor(batch.Shape, batch.Data)
	if err != nil {
		return nil, stats, err
	}
	stats.Preprocess = time.Since(t0)

	t1 := time.Now()
	req := &sdk.RunRequest{
		Inputs:  append([]sdk.Value{{Name: pixelValues, Tensor: pv}}, textInputs...),
		Outputs: []sdk.OutputRequest{{Name: logitsPerImage}},
	}
	res, err := z.runner.Run(ctx, "model", req)
	stats.Model = time.Since(t1)
	if err != nil {
		return nil, stats, err
	}

	t2 := time.Now()
	logits, shape, err := pipeline.Output(res, logitsPerImage)
	if err != nil {
		return nil, stats, err
	}
	if len(shape) != 2 || int(shape[0]) != len(imgs) || int(shape[1]) != len(labels) {
		return nil, stats, fmt.Errorf("model output %q has shape %s; want [%d,%d] (images, labels)", logitsPerImage, sdk.FormatShape(shape), len(imgs), len(labels))
	}
	out := make([][]pipeline.Label, len(imgs))
	for i := range imgs {
		row := logits[i*len(labels) : (i+1)*len(labels)]
		var scores []float32
		if z.sigmoid {
			scores = pipeline.Sigmoid(row)
		} else {
			scores = pipeline.Softmax(row)
		}
		out[i] = pipeline.TopK(scores, labels, 0)
	}
	stats.Postprocess = time.Since(t2)
	return out, stats, nil
}

// intTensor lays equal-length rows out as a [rows, n] tensor of dtype (int64 or int32).
func intTensor(rows [][]int, dtype sdk.DType) (*sdk.Tensor, error) {
	shape := []int64{int64(len(rows)), int64(len(rows[0]))}
	if dtype == sdk.Int32 {
		data := make([]int32, 0, len(rows)*len(rows[0]))
		for _, r := range rows {
			for _, v := range r {
				data = append(data, int32(v))
			}
		}
		return sdk.NewTensor(shape, data)
	}
	data := make([]int64, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		for _, v := range r {
			data = append(data, int64(v))
		}
	}
	return sdk.NewTensor(shape, data)
}
