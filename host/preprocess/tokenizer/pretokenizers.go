package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is a model output inside one split: offsets are bytes of the split's normalized string.
type token struct {
	id      int
	value   string
	offsets span
}

// split is one piece of a pre-tokenized string; tokens is set once the piece is tokenized
// (added tokens are tokenized before the model runs).
type split struct {
	n      *normString
	tokens []token
	done   bool
}

// preTokenized is HF's PreTokenizedString.
type preTokenized struct {
	original string
	splits   []split
}

// splitWith replaces every untokenized split by the pieces f returns, dropping empty ones.
func (p *preTokenized) splitWith(f func(i int, n *normString) ([]*normString, error)) error {
	out := make([]split, 0, len(p.splits)*2)
	for i, s := range p.splits {
		if s.done {
			out = append(out, s)
			continue
		}
		parts, err := f(i, s.n)
		if err != nil {
			return err
		}
		for _, x := range parts {
			if x.normalized != "" {
				out = append(out, split{n: x})
			}
		}
	}
	p.splits = out
	return nil
}

// preTokenizer cuts a preTokenized string further.
type preTokenizer interface {
	preTokenize(p *preTokenized) error
}

type preTokenizerSeq []preTokenizer

func (s preTokenizerSeq) preTokenize(p *preTokenized) error {
	for _, x := range s {
		if err := x.preTokenize(p); err != nil {
			return err
		}
	}
	return nil
}

// splitPre splits every piece along a pattern with a behaviour.
type splitPre struct {
	p pattern
	b splitBehavior
}

func (s splitPre) preTokenize(p *preTokenized) error {
	return p.splitWith(func(_ int, n *normString) ([]*normString, error) { return n.split(s.p, s.b) })
}

func isASCIIPunct(r rune) bool {
	return r < 128 && (r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~')
}

type bertPre struct{}

func (bertPre) preTokenize(p *preTokenized) error {
	return p.splitWith(func(_ int, n *normString) ([]*normString, error) {
		parts, err := n.split(runePattern(isRustWhitespace), splitRemoved)
		if err != nil {
			return nil, err
		}
		var out []*normString
		for _, x := range parts {
			y, err := x.split(runePattern(isPunc), splitIsolated)
			if err != nil {
				return nil, err
			}
			out = append(out, y...)
		}
		return out, nil
	})
}

// isWord is Oniguruma's Unicode \w.
func isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

// wordFinder implements \w+|[^\w\s]+ (the Whitespace pre-tokenizer).
type wordFinder struct{}

func (wordFinder) find(s string, i int) (int, int, bool, error) {
	for i < len(s) {
		r, sz := runeAt(s, i)
		switch {
		case isWord(r):
			return i, consume(s, i+sz, isWord), true, nil
		case !isS(r):
			return i, consume(s, i+sz, func(r rune) bool { return !isWord(r) && !isS(r) }), true, nil
		}
		i += sz
	}
	return 0, 0, false, nil
}

// byteLevelPre is the GPT-2 byte-level pre-tokenizer.
type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
}

var gpt2Split = findPattern{gpt2Finder{}}

func (b byteLevelPre) preTokenize(p *preTokenized) error {
	err := p.splitWith(func(_ int, n *normString) ([]*normString, error) {
		if b.addPrefixSpace && !strings.HasPrefix(n.normalized, " ") {
			n.prepend(" ")
		}
		if b.useRegex {
			return n.split(gpt2Split, splitIsolated)
		}
		return []*normString{n}, nil
	})
	if err != nil {
		return err
	}
	for i := range p.splits {
		if !p.splits[i].done {
			byteLevelTransform(p.splits[i].n)
		}
	}
	return nil
}

// byteToRune is GPT-2's bytes_to_unicode table; runeToByte its inverse.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var t [256]rune
	m := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
		m[t[b]] = byte(b)
	}
	return t, m
}()

// byteLevelTransform maps every byte to its GPT-2 character. It builds directly what
// transform would with (first byte 0, other bytes +1) changes: every byte of a character
// shares that character's alignment, so each new character inherits its byte's alignment.
func byteLevelTransform(n *normString) {
	s := n.normalized
	buf := make([]byte, 0, len(s)*2)
	al := make([]span, 0, len(s)*2)
	for i := 0; i < len(s); i++ {
		r := byteToRune[s[i]]
		a := n.align[i]
		if r < utf8.RuneSelf {
			buf = append(buf, byte(r))
			al = append(al, a)
			continue
		}
		buf = utf8.AppendRune(buf, r)
		for k := utf8.RuneLen(r); k > 0; k-- {
			al = append(al, a)
		}
	}
	n.normalized = string(buf)
	n.align = al
}

type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

type metaspacePre struct {
	replacement rune
	scheme      prependScheme
	split       bool
}

func (m metaspacePre) preTokenize(p *preTokenized) error {
	rep := string(m.replacement)
	return p.splitWith(func(_ int, n *normString) ([]*normString, error) {
		if err := n.replace(runePattern(func(r rune) bool { return r == ' ' }), rep); err != nil {
			return nil, err
		}
		switch m.scheme {
		case prependAlways:
			if !strings.HasPrefix(n.normalized, rep) {
				n.prepend(rep)
			}
		case prependFirst:
			if !strings.HasPrefix(n.normalized, rep) && n.offsetsOriginal().start == 0 {
				n.prepend(rep)
			}
		}
		if m.split {
			return n.split(runePattern(func(r rune) bool { return r == m.replacement }), splitMergedWithNext)
		}
		return []*normString{n}, nil
	})
}
