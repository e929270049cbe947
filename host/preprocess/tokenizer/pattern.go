package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

func errorf(format string, args ...any) error { return fmt.Errorf("tokenizer: "+format, args...) }

// match is one piece of a string cut by a pattern: every byte belongs to exactly one match.
type match struct {
	start, end int
	isMatch    bool
}

// pattern finds matches covering the whole input (HF's Pattern trait).
type pattern interface {
	findMatches(s string) ([]match, error)
}

// runePattern matches single runes for which f is true; each matching rune is its own match.
type runePattern func(rune) bool

func (f runePattern) findMatches(s string) ([]match, error) {
	if s == "" {
		return []match{{0, 0, false}}, nil
	}
	var out []match
	last := 0
	for i, r := range s {
		if f(r) {
			if last < i {
				out = append(out, match{last, i, false})
			}
			e := i + utf8.RuneLen(r)
			out = append(out, match{i, e, true})
			last = e
		}
	}
	if last < len(s) {
		out = append(out, match{last, len(s), false})
	}
	return out, nil
}

// finder returns the next match at or after byte position from, or ok=false.
type finder interface {
	find(s string, from int) (start, end int, ok bool, err error)
}

// findPattern turns a finder into a pattern (HF's regex find_iter).
type findPattern struct{ f finder }

func (p findPattern) findMatches(s string) ([]match, error) {
	if s == "" {
		return []match{{0, 0, false}}, nil
	}
	var out []match
	prev := 0
	pos := 0
	for pos <= len(s) {
		st, en, ok, err := p.f.find(s, pos)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if prev != st {
			out = append(out, match{prev, st, false})
		}
		out = append(out, match{st, en, true})
		prev = en
		if en == st {
			// empty match: step over one character
			if en >= len(s) {
				break
			}
			_, sz := utf8.DecodeRuneInString(s[en:])
			pos = en + sz
		} else {
			pos = en
		}
	}
	if prev != len(s) {
		out = append(out, match{prev, len(s), false})
	}
	return out, nil
}

// literalFinder finds a literal string.
type literalFinder string

func (l literalFinder) find(s string, from int) (int, int, bool, error) {
	if l == "" {
		return 0, 0, false, nil
	}
	i := strings.Index(s[from:], string(l))
	if i < 0 {
		return 0, 0, false, nil
	}
	return from + i, from + i + len(l), true, nil
}

// regexAllPattern runs a regexp2 regex over the whole string once (faster than restarting).
type regexAllPattern struct{ re *regexp2.Regexp }

func (p regexAllPattern) findMatches(s string) ([]match, error) {
	if s == "" {
		return []match{{0, 0, false}}, nil
	}
	rs := []rune(s)
	// byte offset of every rune index
	bo := make([]int, len(rs)+1)
	b := 0
	for i, r := range rs {
		bo[i] = b
		b += utf8.RuneLen(r)
	}
	bo[len(rs)] = b
	var out []match
	prev := 0
	m, err := p.re.FindRunesMatch(rs)
	for m != nil && err == nil {
		st, en := bo[m.Index], bo[m.Index+m.Length]
		if prev != st {
			out = append(out, match{prev, st, false})
		}
		out = append(out, match{st, en, true})
		prev = en
		m, err = p.re.FindNextMatch(m)
	}
	if err != nil {
		return nil, errorf("regex %q: %v", p.re.String(), err)
	}
	if prev != len(s) {
		out = append(out, match{prev, len(s), false})
	}
	return out, nil
}

// invertPattern flips isMatch (HF's Invert).
type invertPattern struct{ p pattern }

func (p invertPattern) findMatches(s string) ([]match, error) {
	ms, err := p.p.findMatches(s)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].isMatch = !ms[i].isMatch
	}
	return ms, nil
}

// Known Oniguruma patterns with hand-written matchers.
const (
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Pattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// compileRegex returns a pattern for an Oniguruma regex from tokenizer.json.
func compileRegex(expr string) (pattern, error) {
	switch expr {
	case gpt2Pattern:
		return findPattern{gpt2Finder{}}, nil
	case llama3Pattern:
		return findPattern{llamaFinder{maxDigits: 3}}, nil
	case qwen2Pattern:
		return findPattern{llamaFinder{maxDigits: 1}}, nil
	case `\w+|[^\w\s]+`:
		return findPattern{wordFinder{}}, nil
	}
	re, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, errorf("regex %q from tokenizer.json does not compile: %v", expr, err)
	}
	return regexAllPattern{re}, nil
}
