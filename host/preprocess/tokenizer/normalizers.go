package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a normString in place, keeping alignments.
type normalizer interface {
	normalize(n *normString) error
}

type normalizerSeq []normalizer

func (s normalizerSeq) normalize(n *normString) error {
	for _, x := range s {
		if err := x.normalize(n); err != nil {
			return err
		}
	}
	return nil
}

// unicodeNorm is NFC, NFD, NFKC or NFKD.
type unicodeNorm struct{ form norm.Form }

func (u unicodeNorm) normalize(n *normString) error {
	applyUnicodeForm(n, u.form)
	return nil
}

// applyUnicodeForm normalizes n the way HF's unicode-normalization-alignments crate reports
// changes: every original character is decomposed on its own (first character replaces it,
// the others are insertions), combining marks are put in canonical order carrying their
// changes, and for the composed forms each mark absorbed into its starter removes one
// character from the starter's change.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func applyUnicodeForm(n *normString, f norm.Form) {
	s := n.normalized
	if isASCII(s) || f.IsNormalString(s) {
		return // HF's older tables never change a string Go's find normal
	}
	decomp := norm.NFD
	if f == norm.NFKC || f == norm.NFKD {
		decomp = norm.NFKD
	}
	type dc struct {
		r     rune
		ccc   uint8
		delta int
	}
	var buf []dc
	compat := decomp == norm.NFKD
	for _, r := range s {
		if r < utf8.RuneSelf {
			buf = append(buf, dc{r, 0, 0})
			continue
		}
		if !hfDecomposes(r, compat) {
			buf = append(buf, dc{r, hfCCC(r, decomp.PropertiesString(string(r)).CCC()), 0})
			continue
		}
		d := decomp.String(string(r))
		i := 0
		for _, x := range d {
			delta := 0
			if i > 0 {
				delta = 1
			}
			buf = append(buf, dc{x, hfCCC(x, decomp.PropertiesString(string(x)).CCC()), delta})
			i++
		}
	}
	// canonical ordering: stable sort of every run of non-starters by combining class
	for i := 0; i < len(buf); {
		if buf[i].ccc == 0 {
			i++
			continue
		}
		j := i
		for j < len(buf) && buf[j].ccc != 0 {
			j++
		}
		run := buf[i:j]
		for a := 1; a < len(run); a++ {
			for b := a; b > 0 && run[b-1].ccc > run[b].ccc; b-- {
				run[b-1], run[b] = run[b], run[b-1]
			}
		}
		i = j
	}
	if f == norm.NFC || f == norm.NFKC {
		out := buf[:0:0]
		starter := -1
		for _, d := range buf {
			if starter >= 0 {
				last := -1
				if len(out)-1 > starter {
					last = int(out[len(out)-1].ccc)
				}
				if last == -1 || (last != 0 && last < int(d.ccc)) {
					pair := string([]rune{out[starter].r, d.r})
					c := norm.NFC.String(pair)
					r, _ := utf8.DecodeRuneInString(c)
					if utf8.RuneCountInString(c) == 1 && c != pair && hfDecomposes(r, false) {
						out[starter].r = r
						out[starter].delta += d.delta - 1
						continue
					}
				}
			}
			if d.ccc == 0 {
				starter = len(out)
			}
			out = append(out, d)
		}
		buf = out
	}
	dest := make([]change, len(buf))
	for i, d := range buf {
		dest[i] = change{d.r, d.delta}
	}
	n.transform(dest, 0)
}

type lowercaseNorm struct{}

func (lowercaseNorm) normalize(n *normString) error {
	lowercase(n)
	return nil
}

// lowercase follows Rust's char::to_lowercase (full mapping: U+0130 becomes two characters).
func lowercase(n *normString) {
	s := n.normalized
	need := false
	for _, r := range s {
		if r == 0x130 || unicode.ToLower(r) != r {
			need = true
			break
		}
	}
	if !need {
		return
	}
	if sameLengthMap(n, func(r rune) (rune, bool) { return unicode.ToLower(r), r != 0x130 }) {
		return
	}
	dest := make([]change, 0, len(s))
	for _, r := range s {
		if r == 0x130 {
			dest = append(dest, change{'i', 0}, change{0x307, 1})
			continue
		}
		dest = append(dest, change{unicode.ToLower(r), 0})
	}
	n.transform(dest, 0)
}

type stripAccentsNorm struct{}

func (stripAccentsNorm) normalize(n *normString) error {
	n.filter(func(r rune) bool { return !isMark(r) })
	return nil
}

type stripNorm struct{ left, right bool }

func (s stripNorm) normalize(n *normString) error {
	n.lrstrip(s.left, s.right)
	return nil
}

type prependNorm struct{ s string }

func (p prependNorm) normalize(n *normString) error {
	n.prepend(p.s)
	return nil
}

type replaceNorm struct {
	p       pattern
	content string
}

func (r replaceNorm) normalize(n *normString) error { return n.replace(r.p, r.content) }

type bertNorm struct {
	cleanText, chinese, stripAccents, lowercase bool
}

// isRustWhitespace is Rust's char::is_whitespace (Unicode White_Space).
func isRustWhitespace(r rune) bool { return unicode.IsSpace(r) }

func isBertWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func (b bertNorm) normalize(n *normString) error {
	if b.cleanText {
		n.filter(func(r rune) bool { return !isBertCleaned(r) })
		n.mapRunes(func(r rune) rune {
			if isBertWhitespace(r) {
				return ' '
			}
			return r
		})
	}
	if b.chinese {
		has := false
		for _, r := range n.normalized {
			if isChineseChar(r) {
				has = true
				break
			}
		}
		if has {
			dest := make([]change, 0, len(n.normalized)+8)
			for _, r := range n.normalized {
				if isChineseChar(r) {
					dest = append(dest, change{' ', 0}, change{r, 1}, change{' ', 1})
				} else {
					dest = append(dest, change{r, 0})
				}
			}
			n.transform(dest, 0)
		}
	}
	if b.stripAccents {
		applyUnicodeForm(n, norm.NFD)
		n.filter(func(r rune) bool { return !isNonSpacingMark(r) })
	}
	if b.lowercase {
		lowercase(n)
	}
	return nil
}

type nmtNorm struct{}

func (nmtNorm) normalize(n *normString) error {
	n.filter(func(r rune) bool {
		switch {
		case r >= 1 && r <= 8, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F, r == 0x8F, r == 0x9F:
			return false
		}
		return true
	})
	n.mapRunes(func(r rune) rune {
		switch {
		case r == 9, r == 0xA, r == 0xC, r == 0xD, r == 0x1680, r >= 0x200B && r <= 0x200F, r == 0x2028,
			r == 0x2029, r == 0x2581, r == 0xFEFF, r == 0xFFFD:
			return ' '
		}
		return r
	})
	return nil
}

type byteLevelNorm struct{}

func (byteLevelNorm) normalize(n *normString) error {
	byteLevelTransform(n)
	return nil
}

// sameLengthMap applies a one-to-one rune mapping in place when every rune maps to a rune of
// the same UTF-8 length: the alignments are then unchanged (what transform would compute).
// It reports false, changing nothing, when f refuses a rune or a length differs.
func sameLengthMap(n *normString, f func(rune) (rune, bool)) bool {
	b := make([]byte, 0, len(n.normalized))
	for _, r := range n.normalized {
		m, ok := f(r)
		if !ok || utf8.RuneLen(m) != utf8.RuneLen(r) {
			return false
		}
		b = utf8.AppendRune(b, m)
	}
	n.normalized = string(b)
	return true
}
