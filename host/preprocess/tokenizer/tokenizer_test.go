package tokenizer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
)

func loadCorpus(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c []string
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustLoad(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tk, err := loadTokenizerFile(filepath.Join(fixtureDir, name, "tokenizer.json"))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return tk
}

// TestKnownRegexParity checks the hand-written GPT-2 / Llama-3 / Qwen2 / Whitespace matchers
// against the generic regexp2 engine on the corpus and on tricky strings. (The Whitespace
// matcher is not compared: regexp2's \w leaves out spacing marks that Oniguruma's includes; the
// wordlevel fixture checks it against HF instead.)
func TestKnownRegexParity(t *testing.T) {
	texts := append(loadCorpus(t), "  a", "a  ", " \n\n a", "x\r\n\r\ny", "'S 'LL 'Re", "1234567", " !!\n\n",
		"\t\t\tfoo", "foo \t", "a\u00a0\u00a0b", "'", "' ", "''s", " 'll", "٣٤٥", "Ⅻ ½")
	for _, c := range []struct {
		expr string
		p    pattern
	}{
		{gpt2Pattern, findPattern{gpt2Finder{}}},
		{llama3Pattern, findPattern{llamaFinder{maxDigits: 3}}},
		{qwen2Pattern, findPattern{llamaFinder{maxDigits: 1}}},
	} {
		ref := regexAllPattern{regexp2.MustCompile(c.expr, regexp2.None)}
		for _, s := range texts {
			want, err := ref.findMatches(s)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := c.p.findMatches(s)
			if len(got) != len(want) {
				t.Errorf("%q on %q: got %v, regexp2 %v", c.expr, s, got, want)
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%q on %q: got %v, regexp2 %v", c.expr, s, got, want)
					break
				}
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	tk := mustLoad(t, "minilm_bert")
	_, err := tk.Encode("ok \xff bad", EncodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "byte offset 3") {
		t.Fatalf("want an error naming byte offset 3, got %v", err)
	}
	_, err = tk.EncodePair("fine", "a\xc3", EncodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "pair text") {
		t.Fatalf("want an error about the pair text, got %v", err)
	}
}

func TestEmptyAndWhitespace(t *testing.T) {
	for _, name := range []string{"minilm_bert", "gpt2", "t5_unigram", "llama_legacy"} {
		tk := mustLoad(t, name)
		for _, s := range []string{"", " ", "\t\n  \r\n"} {
			e, err := tk.Encode(s, EncodeOptions{NoSpecialTokens: true})
			if err != nil {
				t.Fatalf("%s %q: %v", name, s, err)
			}
			for i := range e.IDs {
				if e.AttentionMask[i] != 1 {
					t.Errorf("%s %q: token %d not attended", name, s, i)
				}
			}
		}
	}
}

func TestTruncationFarPastMax(t *testing.T) {
	tk := mustLoad(t, "minilm_bert")
	long := strings.Repeat("token ", 20000)
	e, err := tk.Encode(long, EncodeOptions{Truncation: &Truncation{MaxLength: 128, Stride: 16}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 128 || e.IDs[0] != 101 || e.IDs[127] != 102 {
		t.Fatalf("want 128 tokens framed by [CLS] [SEP], got %d: %v ... %v", e.Len(), e.IDs[:3], e.IDs[e.Len()-3:])
	}
	// 20000 words, 126 per window with 16 shared: ceil((20000-126)/110)+1 windows in all
	if want := (20000-126+109)/110 + 1; len(e.Overflowing)+1 != want {
		t.Fatalf("got %d windows, want %d", len(e.Overflowing)+1, want)
	}
	_, err = tk.Encode(long, EncodeOptions{Truncation: &Truncation{MaxLength: 8, Stride: 6}})
	if err == nil || !strings.Contains(err.Error(), "stride") {
		t.Fatalf("want a stride error, got %v", err)
	}
}

func TestBadTokenizerJSON(t *testing.T) {
	base, err := os.ReadFile(filepath.Join(fixtureDir, "wordpiece_trained", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	mutate := func(key string, v any) []byte {
		d := map[string]any{}
		for k, x := range doc {
			d[k] = x
		}
		d[key] = v
		b, _ := json.Marshal(d)
		return b
	}
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"malformed", []byte(`{"model": {`), []string{"not valid JSON"}},
		{"not an object", []byte(`[1,2]`), []string{"not valid JSON"}},
		{"unknown normalizer", mutate("normalizer", map[string]any{"type": "Klingon"}), []string{`"Klingon"`, "BertNormalizer", "Precompiled"}},
		{"unknown pre_tokenizer", mutate("pre_tokenizer", map[string]any{"type": "UnicodeScripts"}), []string{`"UnicodeScripts"`, "ByteLevel"}},
		{"unknown model", mutate("model", map[string]any{"type": "Magic", "vocab": map[string]int{}}), []string{`"Magic"`, "WordPiece"}},
		{"unknown post_processor", mutate("post_processor", map[string]any{"type": "X"}), []string{`"X"`, "TemplateProcessing"}},
		{"unknown decoder", mutate("decoder", map[string]any{"type": "Y"}), []string{`"Y"`, "ByteFallback"}},
		{"no model", mutate("model", nil), []string{"no model"}},
		{"bad regex", mutate("pre_tokenizer", map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(("}, "behavior": "Isolated", "invert": false}), []string{"does not compile"}},
		{"bad merges", mutate("model", map[string]any{"type": "BPE", "vocab": map[string]int{"a": 0}, "merges": []string{"a b"}}), []string{`"b"`, "not in the vocabulary"}},
		{"bad behavior", mutate("pre_tokenizer", map[string]any{"type": "Split", "pattern": map[string]any{"String": "x"}, "behavior": "Sideways"}), []string{"Sideways"}},
	}
	for _, c := range cases {
		_, err := FromBytes(c.data)
		if err == nil {
			t.Errorf("%s: loaded without error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, err := FromFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("FromFile of a missing file: no error")
	}
}

// TestModelDirTokenizers loads every testdata/models/*/tokenizer.json other packages ship and
// encodes the corpus with it (their own expected outputs are checked by their tests).
func TestModelDirTokenizers(t *testing.T) {
	paths, _ := filepath.Glob("../../../testdata/models/*/tokenizer.json")
	more, _ := filepath.Glob("../../../testdata/models/*/*/tokenizer.json")
	paths = append(paths, more...)
	if len(paths) == 0 {
		t.Skip("no testdata/models/*/tokenizer.json yet")
	}
	corpus := loadCorpus(t)
	for _, p := range paths {
		tk, err := FromFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		encs, err := tk.EncodeBatch(context.Background(), corpus, EncodeOptions{})
		if err != nil {
			t.Errorf("%s: encode corpus: %v", p, err)
			continue
		}
		for i, e := range encs {
			if _, err := tk.Decode(e.IDs, DecodeOptions{}); err != nil {
				t.Errorf("%s: decode text %d: %v", p, i, err)
			}
		}
		t.Logf("%s: loaded, %d corpus texts encoded and decoded", p, len(encs))
	}
}

func TestAPIBasics(t *testing.T) {
	tk := mustLoad(t, "minilm_bert")
	if id, ok := tk.TokenToID("[CLS]"); !ok || id != 101 {
		t.Errorf("TokenToID([CLS]) = %d, %v", id, ok)
	}
	if s, ok := tk.IDToToken(102); !ok || s != "[SEP]" {
		t.Errorf("IDToToken(102) = %q, %v", s, ok)
	}
	if n := tk.VocabSize(); n != 30522 {
		t.Errorf("VocabSize = %d, want 30522", n)
	}
	text := "Héllo wörld"
	e, err := tk.Encode(text, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range e.ByteOffsets {
		if e.SpecialTokensMask[i] == 0 && text[o[0]:o[1]] == "" {
			t.Errorf("token %d %q has empty byte span", i, e.Tokens[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tk.EncodeBatch(ctx, []string{"a", "b"}, EncodeOptions{}); err == nil {
		t.Error("EncodeBatch with a cancelled context: no error")
	}
	out, err := tk.DecodeBatch(context.Background(), [][]int{e.IDs, {101, 102}}, DecodeOptions{SkipSpecialTokens: true})
	if err != nil || out[0] != "hello world" || out[1] != "" {
		t.Errorf("DecodeBatch = %q, %v", out, err)
	}
}
