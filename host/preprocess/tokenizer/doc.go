// Package tokenizer loads HuggingFace tokenizer.json files (the serialization of the Rust
// `tokenizers` library) and runs them in pure Go at parity with HF `tokenizers` 0.22.
//
// The package owns the whole text pipeline a model needs before and after the network: added
// and special tokens, normalizers, pre-tokenizers, the four models (WordPiece, BPE, Unigram,
// WordLevel), post-processors, truncation with stride and overflowing windows, padding, batch
// encoding and decoding.
//
// # Offsets
//
// Encoding.Offsets are in Unicode code points (runes) of the original text, exactly as HF's
// Python binding reports them (it calls the Rust core's encode_char_offsets). Encoding.ByteOffsets
// holds the same spans as byte offsets into the original Go string, which is what Go code slicing
// the input wants: text[o[0]:o[1]].
//
// # Invalid UTF-8
//
// HF's Python binding cannot receive invalid UTF-8 (a Python str is always valid). Encode
// returns an error naming the byte offset of the first invalid byte; callers that prefer HF's
// lossy behaviour can call strings.ToValidUTF8 first.
//
// # Regular expressions
//
// tokenizer.json Split patterns are Oniguruma regexes with look-ahead, which Go's regexp lacks.
// The GPT-2 byte-level pattern and the Llama-3/Qwen2 split patterns are recognised and run by
// hand-written matchers (exact semantics, no backtracking); any other pattern runs on
// github.com/dlclark/regexp2, a backtracking engine with .NET syntax that covers Oniguruma's
// look-around and Unicode classes.
package tokenizer
