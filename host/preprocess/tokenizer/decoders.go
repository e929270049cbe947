package tokenizer

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder turns tokens back into text pieces (HF's Decoder::decode_chain).
type decoder interface {
	decodeChain(tokens []string) ([]string, error)
}

type decoderSeq []decoder

func (s decoderSeq) decodeChain(t []string) ([]string, error) {
	var err error
	for _, d := range s {
		if t, err = d.decodeChain(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// wordPieceCleanup is HF's wordpiece::cleanup.
func wordPieceCleanup(s string) string {
	r := strings.NewReplacer()
	_ = r
	for _, p := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// CleanUpTokenizationSpaces is transformers' clean_up_tokenization, applied by
// PreTrainedTokenizerFast.decode when clean_up_tokenization_spaces is true.
func CleanUpTokenizationSpaces(s string) string {
	for _, p := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

type wordPieceDec struct {
	prefix  string
	cleanup bool
}

func (w wordPieceDec) decodeChain(t []string) ([]string, error) {
	out := make([]string, len(t))
	for i, tok := range t {
		if i != 0 {
			if strings.HasPrefix(tok, w.prefix) {
				tok = strings.Replace(tok, w.prefix, "", 1)
			} else {
				tok = " " + tok
			}
		}
		if w.cleanup {
			tok = wordPieceCleanup(tok)
		}
		out[i] = tok
	}
	return out, nil
}

type byteLevelDec struct{}

func (byteLevelDec) decodeChain(t []string) ([]string, error) {
	var b []byte
	for _, tok := range t {
		start := len(b)
		ok := true
		for _, r := range tok {
			c, found := runeToByte[r]
			if !found {
				ok = false
				break
			}
			b = append(b, c)
		}
		if !ok {
			b = append(b[:start], tok...)
		}
	}
	return []string{lossyUTF8(b)}, nil
}

// lossyUTF8 is Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes one
// U+FFFD.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, sz := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || sz > 1 {
			sb.Write(b[i : i+sz])
			i += sz
			continue
		}
		// invalid: skip the longest prefix of a valid sequence (at least one byte)
		n := invalidLen(b[i:])
		sb.WriteRune(utf8.RuneError)
		i += n
	}
	return sb.String()
}

func invalidLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				break
			}
		} else if x < 0x80 || x > 0xBF {
			break
		}
		n++
	}
	return n
}

type metaspaceDec struct {
	replacement rune
	scheme      prependScheme
}

func (m metaspaceDec) decodeChain(t []string) ([]string, error) {
	out := make([]string, len(t))
	for i, tok := range t {
		var sb strings.Builder
		for _, r := range tok {
			if r == m.replacement {
				if i == 0 && m.scheme != prependNever {
					continue
				}
				sb.WriteByte(' ')
				continue
			}
			sb.WriteRune(r)
		}
		out[i] = sb.String()
	}
	return out, nil
}

type bpeDec struct{ suffix string }

func (b bpeDec) decodeChain(t []string) ([]string, error) {
	out := make([]string, len(t))
	for i, tok := range t {
		rep := " "
		if i == len(t)-1 {
			rep = ""
		}
		out[i] = strings.ReplaceAll(tok, b.suffix, rep)
	}
	return out, nil
}

type byteFallbackDec struct{}

func parseByteToken(tok string) (byte, bool) {
	if len(tok) != 6 || !strings.HasPrefix(tok, "<0x") || tok[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(tok[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

func (byteFallbackDec) decodeChain(t []string) ([]string, error) {
	var out []string
	var pend []byte
	flush := func() {
		if len(pend) == 0 {
			return
		}
		if utf8.Valid(pend) {
			out = append(out, string(pend))
		} else {
			for range pend {
				out = append(out, "\uFFFD")
			}
		}
		pend = pend[:0]
	}
	for _, tok := range t {
		if b, ok := parseByteToken(tok); ok {
			pend = append(pend, b)
			continue
		}
		flush()
		out = append(out, tok)
	}
	flush()
	return out, nil
}

type fuseDec struct{}

func (fuseDec) decodeChain(t []string) ([]string, error) { return []string{strings.Join(t, "")}, nil }

type stripDec struct {
	content     rune
	start, stop int
}

func (s stripDec) decodeChain(t []string) ([]string, error) {
	out := make([]string, len(t))
	for i, tok := range t {
		rs := []rune(tok)
		a := 0
		for k := 0; k < s.start && k < len(rs); k++ {
			if rs[k] != s.content {
				break
			}
			a = k + 1
		}
		b := len(rs)
		for k := 0; k < s.stop && len(rs)-k-1 >= 0; k++ {
			idx := len(rs) - k - 1
			if rs[idx] != s.content {
				break
			}
			b = idx
		}
		if b < a {
			b = a
		}
		out[i] = string(rs[a:b])
	}
	return out, nil
}

type replaceDec struct {
	p       pattern
	content string
}

func (r replaceDec) decodeChain(t []string) ([]string, error) {
	out := make([]string, len(t))
	for i, tok := range t {
		ms, err := r.p.findMatches(tok)
		if err != nil {
			return nil, err
		}
		var sb strings.Builder
		for _, m := range ms {
			if m.isMatch {
				sb.WriteString(r.content)
			} else {
				sb.WriteString(tok[m.start:m.end])
			}
		}
		out[i] = sb.String()
	}
	return out, nil
}

type ctcDec struct {
	pad, delim string
	cleanup    bool
}

func (c ctcDec) decodeChain(t []string) ([]string, error) {
	var out []string
	for i, tok := range t {
		if i > 0 && t[i-1] == tok {
			continue
		}
		s := strings.ReplaceAll(tok, c.pad, "")
		if c.cleanup {
			s = strings.ReplaceAll(wordPieceCleanup(s), c.delim, " ")
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
