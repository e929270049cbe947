package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Hand-written matchers for the pre-tokenizer regexes almost every byte-level tokenizer uses.
// They implement the exact leftmost-first alternation semantics of Oniguruma for these
// patterns, including the \s+(?!\S) look-ahead, without backtracking. TestKnownRegexParity
// checks them against regexp2 on the test corpus.

func isL(r rune) bool { return unicode.IsLetter(r) }
func isN(r rune) bool { return unicode.IsNumber(r) }
func isS(r rune) bool { return unicode.IsSpace(r) }

// isOther is [^\s\p{L}\p{N}].
func isOther(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }

func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// consume advances over runes satisfying f.
func consume(s string, i int, f func(rune) bool) int {
	for i < len(s) {
		r, sz := runeAt(s, i)
		if !f(r) {
			break
		}
		i += sz
	}
	return i
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at i (s[i] == '\”), optionally ignoring ASCII case.
func contraction(s string, i int, fold bool) int {
	lower := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 32
		}
		return c
	}
	if i+1 >= len(s) {
		return -1
	}
	c1 := lower(s[i+1])
	switch c1 {
	case 's', 't', 'm', 'd':
		return i + 2
	}
	if i+2 >= len(s) {
		return -1
	}
	c2 := lower(s[i+2])
	switch {
	case c1 == 'r' && c2 == 'e', c1 == 'v' && c2 == 'e', c1 == 'l' && c2 == 'l':
		return i + 3
	}
	return -1
}

// whitespaceTail implements \s+(?!\S)|\s+ at i where s[i] is whitespace.
func whitespaceTail(s string, i int) int {
	j := i
	last := 0
	n := 0
	for j < len(s) {
		r, sz := runeAt(s, j)
		if !isS(r) {
			break
		}
		last = sz
		j += sz
		n++
	}
	if j == len(s) || n == 1 {
		return j
	}
	return j - last
}

// gpt2Finder: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
type gpt2Finder struct{}

func (gpt2Finder) find(s string, i int) (int, int, bool, error) {
	if i >= len(s) {
		return 0, 0, false, nil
	}
	return i, gpt2End(s, i), true, nil
}

func gpt2End(s string, i int) int {
	if s[i] == '\'' {
		if e := contraction(s, i, false); e > 0 {
			return e
		}
	}
	j := i
	if s[i] == ' ' {
		j = i + 1
	}
	if r, sz := runeAt(s, j); r >= 0 {
		switch {
		case isL(r):
			return consume(s, j+sz, isL)
		case isN(r):
			return consume(s, j+sz, isN)
		case isOther(r):
			return consume(s, j+sz, isOther)
		}
	}
	// s[i] is whitespace here (a lone ' ' followed by whitespace or the end, or other spaces).
	return whitespaceTail(s, i)
}

// llamaFinder: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}|
// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ (Llama-3 with N=3, Qwen2 with N=1).
type llamaFinder struct{ maxDigits int }

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

func (f llamaFinder) find(s string, i int) (int, int, bool, error) {
	if i >= len(s) {
		return 0, 0, false, nil
	}
	return i, f.end(s, i), true, nil
}

func (f llamaFinder) end(s string, i int) int {
	if s[i] == '\'' {
		if e := contraction(s, i, true); e > 0 {
			return e
		}
	}
	r, sz := runeAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isL(r) {
		return consume(s, i+sz, isL)
	}
	if !isCRLF(r) && !isN(r) {
		if r2, sz2 := runeAt(s, i+sz); r2 >= 0 && isL(r2) {
			return consume(s, i+sz+sz2, isL)
		}
	}
	// \p{N}{1,N}
	if isN(r) {
		j := i + sz
		for k := 1; k < f.maxDigits; k++ {
			r2, sz2 := runeAt(s, j)
			if r2 < 0 || !isN(r2) {
				break
			}
			j += sz2
		}
		return j
	}
	// ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if s[i] == ' ' {
		j = i + 1
	}
	if r2, sz2 := runeAt(s, j); r2 >= 0 && isOther(r2) {
		e := consume(s, j+sz2, isOther)
		return consume(s, e, isCRLF)
	}
	// s[i] is whitespace from here on.
	// \s*[\r\n]+ : ends right after the last \r or \n of the whitespace run.
	j = i
	lastNL := -1
	for j < len(s) {
		r2, sz2 := runeAt(s, j)
		if !isS(r2) {
			break
		}
		j += sz2
		if isCRLF(r2) {
			lastNL = j
		}
	}
	if lastNL > 0 {
		return lastNL
	}
	return whitespaceTail(s, i)
}
