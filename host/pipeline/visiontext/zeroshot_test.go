package visiontext

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/internal/npy"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/sdk"
)

// fakeRunner answers with fixed logits_per_image and records what the pipeline feeds.
type fakeRunner struct {
	info   *sdk.ModelInfo
	logits []float32
	shape  []int64
	got    []*sdk.RunRequest
}

func (f *fakeRunner) Model(string) *sdk.ModelInfo { return f.info }

func (f *fakeRunner) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	f.got = append(f.got, req)
	t, _ := sdk.NewTensor(f.shape, f.logits)
	return &sdk.RunResult{Outputs: []sdk.Value{{Name: req.Outputs[0].Name, Tensor: t}}}, nil
}

func fixture(t *testing.T, name string) *models.Dir {
	t.Helper()
	d, err := models.Open(filepath.Join("..", "..", "..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func graphInfo(mask bool) *sdk.ModelInfo {
	in := []sdk.ValueInfo{
		{Name: "input_ids", DType: sdk.Int64, Shape: []int64{-1, -1}},
		{Name: "pixel_values", DType: sdk.Float32, Shape: []int64{-1, 3, -1, -1}},
	}
	if mask {
		in = append(in, sdk.ValueInfo{Name: "attention_mask", DType: sdk.Int64, Shape: []int64{-1, -1}})
	}
	return &sdk.ModelInfo{Inputs: in, Outputs: []sdk.ValueInfo{{Name: "logits_per_image"}, {Name: "logits_per_text"}}}
}

func img() image.Image {
	m := image.NewRGBA(image.Rect(0, 0, 40, 30))
	m.Set(3, 3, color.RGBA{200, 10, 10, 255})
	return m
}

func input(req *sdk.RunRequest, name string) *sdk.Tensor {
	for _, v := range req.Inputs {
		if v.Name == name {
			return v.Tensor
		}
	}
	return nil
}

// TestCLIPFeedsTransformersTokens checks that the prompts are tokenized and padded exactly as
// transformers' pipeline did (texts.input_ids.npy, texts.attention_mask.npy) and that softmax
// and sorting follow.
func TestCLIPFeedsTransformersTokens(t *testing.T) {
	d := fixture(t, "clip")
	r := &fakeRunner{info: graphInfo(true), logits: []float32{0, 1, 2, 2, 1, 0}, shape: []int64{2, 3}}
	z, err := NewZeroShotClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	// Prompts of different lengths, to see the longest-padding; the fixture's labels are one
	// token each, so check those ids and this run's padding separately.
	out, _, err := z.Classify(context.Background(), []image.Image{img(), img()}, []string{"cat", "dog", "car"})
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"input_ids": "texts.input_ids.npy", "attention_mask": "texts.attention_mask.npy"} {
		want, err := npy.ReadFile(filepath.Join(d.Path, "expected", file))
		if err != nil {
			t.Fatal(err)
		}
		got := input(r.got[0], name)
		gv, _ := sdk.Values[int64](got)
		wv := want.Int64s()
		if len(gv) != len(wv) || got.Shape[0] != int64(want.Shape[0]) {
			t.Fatalf("%s: shape %v, transformers %v", name, got.Shape, want.Shape)
		}
		for i := range wv {
			if gv[i] != wv[i] {
				t.Fatalf("%s: %v, transformers %v", name, gv, wv)
			}
		}
	}
	if len(out) != 2 || out[0][0].Label != "car" || out[1][0].Label != "cat" || out[0][2].Label != "cat" {
		t.Fatalf("labels %+v", out)
	}
	e := math.Exp(1)
	if want := float32(e * e / (1 + e + e*e)); math.Abs(float64(out[0][0].Score-want)) > 1e-6 {
		t.Fatalf("softmax score %v, want %v", out[0][0].Score, want)
	}

	// Longest padding with the pad token and a zero mask on the padding.
	r.logits, r.shape = []float32{0, 0}, []int64{1, 2}
	if _, _, err := z.Classify(context.Background(), []image.Image{img()}, []string{"a", "a big red car"}); err != nil {
		t.Fatal(err)
	}
	ids, _ := sdk.Values[int64](input(r.got[1], "input_ids"))
	mask, _ := sdk.Values[int64](input(r.got[1], "attention_mask"))
	n := len(ids) / 2
	if mask[n-1] != 0 || mask[2*n-1] != 1 || ids[n-1] != 750 {
		t.Fatalf("ids %v mask %v; want the short prompt right-padded with <|endoftext|> (750)", ids, mask)
	}
}

// TestSigLIPTokensAndSigmoid checks that SigLIP prompts are tokenized from spiece.model as
// transformers' SiglipTokenizer did (texts.input_ids.npy: lower-cased, punctuation removed,
// </s> appended, padded with </s> to 64), that no attention_mask is fed to a graph without one,
// and SigLIP's sigmoid scores.
func TestSigLIPTokensAndSigmoid(t *testing.T) {
	d := fixture(t, "siglip")
	r := &fakeRunner{info: graphInfo(false), logits: []float32{-1, 0, 3}, shape: []int64{1, 3}}
	z, err := NewZeroShotClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"cat", "dog", "car"}
	out, _, err := z.Classify(context.Background(), []image.Image{img()}, labels)
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadFile(filepath.Join(d.Path, "expected", "texts.input_ids.npy"))
	if err != nil {
		t.Fatal(err)
	}
	got := input(r.got[0], "input_ids")
	gv, _ := sdk.Values[int64](got)
	wv := want.Int64s()
	if sdk.FormatShape(got.Shape) != "[3,64]" || len(gv) != len(wv) {
		t.Fatalf("input_ids shape %v, transformers %v", got.Shape, want.Shape)
	}
	for i := range wv {
		if gv[i] != wv[i] {
			t.Fatalf("input_ids %v\ntransformers %v", gv, wv)
		}
	}
	if input(r.got[0], "attention_mask") != nil {
		t.Fatal("fed an attention_mask to a graph without one")
	}
	if out[0][0].Label != "car" || math.Abs(float64(out[0][1].Score)-0.5) > 1e-7 || math.Abs(float64(out[0][2].Score)-1/(1+math.E)) > 1e-7 {
		t.Fatalf("labels %+v; want sigmoid scores, best first", out)
	}

	// Canonicalization: case, punctuation and whitespace do not change the ids.
	if _, _, err := z.Classify(context.Background(), []image.Image{img()}, []string{"  CAT!!", "d.o.g", "car\t"}); err != nil {
		t.Fatal(err)
	}
	gv2, _ := sdk.Values[int64](input(r.got[1], "input_ids"))
	for i := range wv {
		if gv2[i] != wv[i] {
			t.Fatalf("canonicalized input_ids %v\ntransformers %v", gv2, wv)
		}
	}

	// ClassifyIDs feeds ids as given and checks their layout.
	if _, _, err := z.ClassifyIDs(context.Background(), []image.Image{img()}, labels, [][]int{{5, 1}, {6, 1}, {7, 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := z.ClassifyIDs(context.Background(), []image.Image{img()}, labels, [][]int{{5, 1}, {6}, {7, 1}}, nil); err == nil || !strings.Contains(err.Error(), "padded to one length") {
		t.Fatalf("ragged ids: got %v", err)
	}
	if _, _, err := z.ClassifyIDs(context.Background(), []image.Image{img()}, labels, [][]int{{5}}, nil); err == nil || !strings.Contains(err.Error(), "one row per label") {
		t.Fatalf("row count: got %v", err)
	}
}

// TestNoTokenizer checks that a directory without tokenizer.json (and not SigLIP) loads but
// Classify says what is missing.
func TestNoTokenizer(t *testing.T) {
	src := fixture(t, "clip")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json"} {
		b, err := os.ReadFile(filepath.Join(src.Path, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := models.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	z, err := NewZeroShotClassifier(d, &fakeRunner{info: graphInfo(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := z.Classify(context.Background(), []image.Image{img()}, []string{"a"}); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Fatalf("got %v; want an error naming the missing tokenizer.json", err)
	}
}

func TestParseSentencepieceRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {0xff}, {0x0a, 0x05, 0x01}, []byte("not a model")} {
		if _, _, err := parseSentencepiece(b); err == nil {
			t.Errorf("parseSentencepiece(%q) succeeded", b)
		}
	}
}

func TestZeroShotErrors(t *testing.T) {
	d := fixture(t, "clip")
	noLogits := graphInfo(true)
	noLogits.Outputs = []sdk.ValueInfo{{Name: "text_embeds"}}
	extra := graphInfo(true)
	extra.Inputs = append(extra.Inputs, sdk.ValueInfo{Name: "position_ids", DType: sdk.Int64, Shape: []int64{-1, -1}})
	noPixels := graphInfo(true)
	noPixels.Inputs = noPixels.Inputs[:1]
	for _, tc := range []struct {
		name string
		info *sdk.ModelInfo
		want string
	}{
		{"no logits_per_image", noLogits, "no output \"logits_per_image\""},
		{"unknown input", extra, "\"position_ids\" is not one this pipeline fills"},
		{"no pixels", noPixels, "needs inputs"},
		{"no graph", nil, "no graph"},
	} {
		if _, err := NewZeroShotClassifier(d, &fakeRunner{info: tc.info}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	r := &fakeRunner{info: graphInfo(true), logits: []float32{1, 2}, shape: []int64{1, 2}}
	z, err := NewZeroShotClassifier(d, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := z.Classify(context.Background(), []image.Image{img()}, nil); err == nil || !strings.Contains(err.Error(), "no candidate labels") {
		t.Errorf("no labels: got %v", err)
	}
	if _, _, err := z.Classify(context.Background(), []image.Image{img()}, []string{"a", "b", "c"}); err == nil || !strings.Contains(err.Error(), "want [1,3]") {
		t.Errorf("wrong output shape: got %v", err)
	}
	long := strings.Repeat("word ", 80)
	if _, _, err := z.Classify(context.Background(), []image.Image{img()}, []string{"a", long}); err == nil || !strings.Contains(err.Error(), "position table holds 77") || sdk.CodeOf(err) != sdk.InvalidInput {
		t.Errorf("prompt past the position table: got %v", err)
	}
}

// TestSigLIPTokenizerMatchesTransformers compares the SigLIP tokenizer with transformers' slow
// SiglipTokenizer on 26 prompts (case, punctuation, whitespace runs, NFKC, emoji, CJK,
// truncation, "▁" in the text), recorded by testdata/gen_siglip_tokens.py.
func TestSigLIPTokenizerMatchesTransformers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "siglip_tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Texts []string `json:"texts"`
		IDs   [][]int  `json:"input_ids"`
	}
	if err := json.Unmarshal(b, &c); err != nil || len(c.Texts) == 0 || len(c.Texts) != len(c.IDs) {
		t.Fatalf("siglip_tokens.json: %v", err)
	}
	d := fixture(t, "siglip")
	sp, _ := d.File("spiece.model")
	cfg, _ := d.File("tokenizer_config.json")
	s, err := loadSiglipTokenizer(sp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids, mask, err := s.encode(context.Background(), c.Texts, 64)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range ids {
		if !slices.Equal(ids[i], c.IDs[i]) {
			bad++
			t.Errorf("%q:\n got %v\nwant %v", c.Texts[i], ids[i], c.IDs[i])
		}
		if mask[i][0] != 1 || len(mask[i]) != 64 {
			t.Errorf("%q: mask %v", c.Texts[i], mask[i])
		}
	}
	t.Logf("%d/%d prompts tokenized as transformers' SiglipTokenizer", len(ids)-bad, len(ids))
}

func FuzzParseSentencepiece(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "models", "siglip", "spiece.model"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:200])
	f.Add([]byte{0x0a, 0x07, 0x0a, 0x01, 'a', 0x15, 0, 0, 0x80, 0xbf})
	f.Fuzz(func(t *testing.T, data []byte) {
		pieces, _, err := parseSentencepiece(data)
		if err == nil && len(pieces) == 0 {
			t.Fatal("no error and no pieces")
		}
	})
}
