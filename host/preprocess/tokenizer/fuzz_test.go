package tokenizer

import (
	"testing"
	"unicode/utf8"
)

// fuzzTokenizers are loaded once per fuzz process: one per model kind and pre-tokenizer family.
var fuzzNames = []string{"minilm_bert", "gpt2", "llama3_bpe", "t5_unigram", "llama_legacy", "debertav2_unigram_bytefallback", "wordlevel", "split_variants"}

func FuzzEncode(f *testing.F) {
	for _, s := range loadCorpus(f) {
		f.Add(s, "pair", uint8(12), uint8(2))
	}
	f.Add("\xff\xfe", "", uint8(0), uint8(0))
	var toks []*Tokenizer
	for _, n := range fuzzNames {
		toks = append(toks, mustLoad(f, n))
	}
	f.Fuzz(func(t *testing.T, a, b string, maxLen, stride uint8) {
		for _, tk := range toks {
			opts := EncodeOptions{}
			if maxLen > 0 {
				opts.Truncation = &Truncation{MaxLength: int(maxLen), Stride: int(stride % 8), Direction: Direction(maxLen % 2)}
			}
			e, err := tk.EncodePair(a, b, opts)
			if !utf8.ValidString(a) || !utf8.ValidString(b) {
				if err == nil {
					t.Fatalf("invalid UTF-8 accepted")
				}
				continue
			}
			if err != nil {
				continue // e.g. stride too large for the kept length: an error, not a panic
			}
			n := e.Len()
			if len(e.TypeIDs) != n || len(e.Offsets) != n || len(e.ByteOffsets) != n || len(e.Tokens) != n ||
				len(e.AttentionMask) != n || len(e.SpecialTokensMask) != n || len(e.WordIDs) != n {
				t.Fatalf("inconsistent encoding lengths")
			}
			// offsets point into a or b (which one depends on the template): check the bounds
			limit, runeLimit := max(len(a), len(b)), max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
			for i, o := range e.ByteOffsets {
				if o[0] < 0 || o[1] < o[0] || o[1] > limit {
					t.Fatalf("token %d %q: byte offsets %v outside the texts", i, e.Tokens[i], o)
				}
				if r := e.Offsets[i]; r[0] < 0 || r[1] < r[0] || r[1] > runeLimit {
					t.Fatalf("token %d %q: rune offsets %v outside the texts", i, e.Tokens[i], r)
				}
			}
			if _, err := tk.Decode(e.IDs, DecodeOptions{}); err != nil {
				t.Fatalf("decode: %v", err)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 200, 255})
	f.Add([]byte("hello world"))
	var toks []*Tokenizer
	for _, n := range fuzzNames {
		toks = append(toks, mustLoad(f, n))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, tk := range toks {
			ids := make([]int, 0, len(raw)/2)
			for i := 0; i+1 < len(raw); i += 2 {
				ids = append(ids, (int(raw[i])<<8|int(raw[i+1]))%(tk.VocabSize()+5)-2)
			}
			for _, skip := range []bool{false, true} {
				s, err := tk.Decode(ids, DecodeOptions{SkipSpecialTokens: skip, CleanUpTokenizationSpaces: skip})
				if err != nil {
					t.Fatalf("decode %v: %v", ids, err)
				}
				if !utf8.ValidString(s) {
					t.Fatalf("decode %v: invalid UTF-8 %q", ids, s)
				}
			}
		}
	})
}
