package visiontext

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"unicode"

	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
)

// siglipTokenizer is transformers' slow SiglipTokenizer (4.57.3) for the prompts this pipeline
// makes, built from the checkpoint's spiece.model. The text is canonicalized as the slow
// tokenizer does (see canonicalize); then sentencepiece with add_dummy_prefix off runs on
// "▁" + text: the model's precompiled normalization charsmap, spaces escaped as "▁", and a
// Unigram Viterbi over its pieces (preprocess/tokenizer's Precompiled, Metaspace and Unigram,
// which follow HF tokenizers and sentencepiece). Finally the ids are truncated to maxLength-1,
// </s> is appended unless already last, and the row is padded with pad_token to maxLength.
//
// Not reproduced: special tokens written literally in a prompt ("</s>", "<unk>"), which the
// slow tokenizer splits out before canonicalization; whitespace that the charsmap itself
// produces (sentencepiece's remove_extra_whitespaces would collapse it again).
type siglipTokenizer struct {
	tok   *tokenizer.Tokenizer
	eos   int
	pad   int
	lower bool
}

// pythonPunctuation is Python's string.punctuation.
const pythonPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// sentencepiece piece types (sentencepiece_model.proto).
const (
	spNormal  = 1
	spUnknown = 2
	spByte    = 6
)

type spPiece struct {
	piece string
	score float32
	typ   int
}

// loadSiglipTokenizer reads spiece.model and tokenizer_config.json's do_lower_case, eos and pad
// tokens.
func loadSiglipTokenizer(spiece, tokConfig string) (*siglipTokenizer, error) {
	b, err := os.ReadFile(spiece)
	if err != nil {
		return nil, fmt.Errorf("reading spiece.model: %w", err)
	}
	pieces, charsmap, err := parseSentencepiece(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spiece, err)
	}
	cfg := struct {
		DoLowerCase *bool           `json:"do_lower_case"`
		EOS         json.RawMessage `json:"eos_token"`
		Pad         json.RawMessage `json:"pad_token"`
	}{}
	if tokConfig != "" {
		cb, err := os.ReadFile(tokConfig)
		if err != nil {
			return nil, fmt.Errorf("reading tokenizer_config.json: %w", err)
		}
		if err := json.Unmarshal(cb, &cfg); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON of a tokenizer config: %w", tokConfig, err)
		}
	}
	s := &siglipTokenizer{lower: cfg.DoLowerCase == nil || *cfg.DoLowerCase}
	ids := map[string]int{}
	unk := -1
	vocab := make([][2]any, len(pieces))
	for i, p := range pieces {
		ids[p.piece] = i
		switch p.typ {
		case spUnknown:
			unk = i
		case spByte:
			return nil, fmt.Errorf("byte-fallback pieces are not supported (piece %d %q)", i, p.piece)
		}
		// Control pieces (<pad>, </s>) keep their score, as HF's converter keeps them: their
		// text is made of punctuation, which canonicalization removes, so they never match.
		vocab[i] = [2]any{p.piece, float64(p.score)}
	}
	if unk < 0 {
		return nil, fmt.Errorf("no piece of type UNKNOWN; want a sentencepiece Unigram model")
	}
	name := func(raw json.RawMessage, def string) string {
		if len(raw) == 0 || string(raw) == "null" {
			return def
		}
		var n string
		if json.Unmarshal(raw, &n) == nil {
			return n
		}
		var obj struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.Content != "" {
			return obj.Content
		}
		return def
	}
	var ok bool
	if s.eos, ok = ids[name(cfg.EOS, "</s>")]; !ok {
		return nil, fmt.Errorf("eos_token %q is not a piece of spiece.model", name(cfg.EOS, "</s>"))
	}
	if s.pad, ok = ids[name(cfg.Pad, "</s>")]; !ok {
		return nil, fmt.Errorf("pad_token %q is not a piece of spiece.model", name(cfg.Pad, "</s>"))
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   []any{},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false},
		"post_processor": nil,
		"decoder":        nil,
		"model":          map[string]any{"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": false},
	}
	if len(charsmap) > 0 {
		doc["normalizer"] = map[string]any{"type": "Precompiled", "precompiled_charsmap": base64.StdEncoding.EncodeToString(charsmap)}
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if s.tok, err = tokenizer.FromBytes(js); err != nil {
		return nil, fmt.Errorf("%s as a Unigram tokenizer: %w", spiece, err)
	}
	return s, nil
}

// canonicalize is what SiglipTokenizer.tokenize does to a text before sentencepiece:
// lower-casing (do_lower_case), "▁" replaced by a space, then canonicalize_text: Python's
// string.punctuation removed, each run of whitespace (str.isspace) made one space, the ends
// stripped.
func (s *siglipTokenizer) canonicalize(text string) string {
	if s.lower {
		text = strings.ToLower(text)
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ReplaceAll(text, "▁", " ") {
		switch {
		case r < 128 && strings.ContainsRune(pythonPunctuation, r):
		case pythonSpace(r):
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pythonSpace is Python's str.isspace for one character.
func pythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// encode returns the ids and attention mask of each text, truncated and padded to maxLength.
func (s *siglipTokenizer) encode(ctx context.Context, texts []string, maxLength int) (ids, mask [][]int, err error) {
	for _, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c := s.canonicalize(t)
		var row []int
		if c != "" {
			e, err := s.tok.Encode(" "+c, tokenizer.EncodeOptions{NoSpecialTokens: true, NoTruncation: true, NoPadding: true})
			if err != nil {
				return nil, nil, fmt.Errorf("tokenizing %q: %w", t, err)
			}
			row = e.IDs
		}
		if len(row) > maxLength-1 {
			row = row[:maxLength-1]
		}
		if len(row) == 0 || row[len(row)-1] != s.eos {
			row = append(row, s.eos)
		}
		m := make([]int, maxLength)
		for i := range row {
			m[i] = 1
		}
		for len(row) < maxLength {
			row = append(row, s.pad)
		}
		ids = append(ids, row)
		mask = append(mask, m)
	}
	return ids, mask, nil
}

// parseSentencepiece reads the pieces and the normalizer's precompiled charsmap from a
// serialized sentencepiece ModelProto (field 1: repeated SentencePiece {1 piece, 2 score,
// 3 type}; field 3: NormalizerSpec {2 precompiled_charsmap}).
func parseSentencepiece(b []byte) ([]spPiece, []byte, error) {
	var pieces []spPiece
	var charsmap []byte
	err := walkProto(b, func(field int, wire int, v uint64, data []byte) error {
		switch {
		case field == 1 && wire == 2:
			p := spPiece{typ: spNormal}
			err := walkProto(data, func(f, w int, v uint64, d []byte) error {
				switch {
				case f == 1 && w == 2:
					p.piece = string(d)
				case f == 2 && w == 5:
					p.score = math.Float32frombits(uint32(v))
				case f == 3 && w == 0:
					p.typ = int(v)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(pieces), err)
			}
			pieces = append(pieces, p)
		case field == 3 && wire == 2:
			return walkProto(data, func(f, w int, v uint64, d []byte) error {
				if f == 2 && w == 2 {
					charsmap = d
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("not a sentencepiece model: %w", err)
	}
	if len(pieces) == 0 {
		return nil, nil, fmt.Errorf("not a sentencepiece model: no pieces")
	}
	return pieces, charsmap, nil
}

// walkProto calls fn for each field of a protobuf message: varints and fixed32/64 in v,
// length-delimited fields in data.
func walkProto(b []byte, fn func(field, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("bad field key")
		}
		b = b[n:]
		field, wire := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wire {
		case 0:
			v, n = binary.Uvarint(b)
			if n <= 0 {
				return fmt.Errorf("field %d: bad varint", field)
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return fmt.Errorf("field %d: truncated fixed64", field)
			}
			v = binary.LittleEndian.Uint64(b)
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("field %d: bad length", field)
			}
			data = b[n : n+int(l)]
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return fmt.Errorf("field %d: truncated fixed32", field)
			}
			v = uint64(binary.LittleEndian.Uint32(b))
			b = b[4:]
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", field, wire)
		}
		if err := fn(field, wire, v, data); err != nil {
			return err
		}
	}
	return nil
}
