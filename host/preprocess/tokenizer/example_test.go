package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

func Example() {
	tk, err := tokenizer.FromFile("../../../testdata/tokenizers/minilm_bert/tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	text := "Héllo, wörld!"
	enc, err := tk.Encode(text, tokenizer.EncodeOptions{
		Truncation: &tokenizer.Truncation{MaxLength: 128},
		Padding:    &tokenizer.Padding{Length: 8, PadToken: "[PAD]"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.IDs)
	fmt.Println(enc.Tokens)
	fmt.Println(enc.AttentionMask)
	o := enc.ByteOffsets[1]
	fmt.Printf("%q runes %v bytes %v\n", text[o[0]:o[1]], enc.Offsets[1], o)
	s, _ := tk.Decode(enc.IDs, tokenizer.DecodeOptions{SkipSpecialTokens: true, CleanUpTokenizationSpaces: true})
	fmt.Println(s)
	// Output:
	// [101 7592 1010 2088 999 102 0 0]
	// [[CLS] hello , world ! [SEP] [PAD] [PAD]]
	// [1 1 1 1 1 1 0 0]
	// "Héllo" runes [0 5] bytes [0 6]
	// hello, world!
}
