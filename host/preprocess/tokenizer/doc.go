// Package tokenizer loads HuggingFace tokenizer.json files (the serialization of the Rust
// `tokenizers` library) and runs them in pure Go at parity with HF `tokenizers` 0.22.
//
// The package owns the whole text pipeline a model needs before and after the network: added
// and special tokens (lstrip, rstrip, single_word, normalized, special), normalizers,
// pre-tokenizers, the four models (WordPiece, BPE, Unigram, WordLevel), post-processors,
// truncation with stride and overflowing windows, padding, batch encoding and decoding.
//
// Supported components, by their tokenizer.json type names:
//   - normalizers: BertNormalizer, Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Strip, Replace
//     (String or Regex), Prepend, Precompiled (sentencepiece charsmap), Nmt, ByteLevel, Sequence;
//   - pre-tokenizers: BertPreTokenizer, ByteLevel, Metaspace, Whitespace, WhitespaceSplit, Split
//     (String or Regex, every behaviour, invert), Digits, Punctuation, CharDelimiterSplit,
//     Sequence;
//   - models: WordPiece, BPE (merges as "a b" or ["a", "b"], continuing_subword_prefix,
//     end_of_word_suffix, byte_fallback, fuse_unk, ignore_merges; dropout must be null or 0),
//     Unigram (with byte_fallback), WordLevel;
//   - post-processors: BertProcessing, RobertaProcessing, ByteLevel, TemplateProcessing, Sequence;
//   - decoders: WordPiece, ByteLevel, Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace,
//     CTC, Sequence.
//
// Anything else (UnicodeScripts, BPE dropout...) fails to load with an error naming the type
// and listing the supported ones.
//
// # Offsets
//
// Encoding.Offsets are in Unicode code points (runes) of the original text, exactly as HF's
// Python binding reports them (it calls the Rust core's encode_char_offsets). Encoding.ByteOffsets
// holds the same spans as byte offsets into the original Go string, which is what Go code slicing
// the input wants: text[o[0]:o[1]]. For a pair, tokens of the second sequence (TypeIDs as the
// template sets them, usually 1) have offsets into the second text.
//
// # Invalid UTF-8
//
// HF's Python binding cannot receive invalid UTF-8 (a Python str is always valid). Encode
// returns an error naming the byte offset of the first invalid byte; callers that prefer a lossy
// behaviour can call strings.ToValidUTF8 first. Decode always returns valid UTF-8: byte-level
// and byte-fallback tokens that do not form characters become U+FFFD as in HF.
//
// # Regular expressions
//
// tokenizer.json Split patterns are Oniguruma regexes with look-ahead, which Go's regexp lacks.
// The GPT-2 byte-level pattern, the Llama-3 and Qwen2 split patterns and the Whitespace
// pre-tokenizer's \w+|[^\w\s]+ run on hand-written matchers (exact leftmost-first semantics,
// no backtracking); any other pattern runs on github.com/dlclark/regexp2, a backtracking engine
// with look-around and Unicode classes.
//
// # Unicode version
//
// Character classes come from Go's unicode package (Unicode 15.0); HF's regex engines use
// Unicode 16. Code points assigned in 15.1 or 16.0 (Egyptian Hieroglyphs Extended-A, CJK
// Extension I, Garay...) count as unassigned here, so letter/number classes can differ on them.
//
// # Concurrency and caching
//
// A Tokenizer is safe for concurrent use. BPE models keep a cache of up to 10000 words, as HF
// does. EncodeBatch and DecodeBatch spread the work over GOMAXPROCS goroutines.
package tokenizer
