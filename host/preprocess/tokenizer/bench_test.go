package tokenizer

import (
	"context"
	"testing"
)

// benchSentences builds the 1000 sentences tools/fixtures/bench_tokenizers.py times HF on:
// corpus[i%n] + " " + corpus[(7i+3)%n].
func benchSentences(tb testing.TB) []string {
	c := loadCorpus(tb)
	out := make([]string, 1000)
	for i := range out {
		out[i] = c[i%len(c)] + " " + c[(7*i+3)%len(c)]
	}
	return out
}

func benchEncodeBatch(b *testing.B, name string) {
	tk := mustLoad(b, name)
	s := benchSentences(b)
	// warm-up call: fills the BPE cache, as HF's warm-up encode_batch fills its own
	if _, err := tk.EncodeBatch(context.Background(), s, EncodeOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tk.EncodeBatch(context.Background(), s, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeBatch measures one EncodeBatch of 1000 sentences per op.
func BenchmarkEncodeBatch(b *testing.B) {
	for _, n := range []string{"minilm_bert", "gpt2"} {
		b.Run(n, func(b *testing.B) { benchEncodeBatch(b, n) })
	}
}
