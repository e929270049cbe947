package tokenizer

import (
	"sort"
	"unicode"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// matcher finds added tokens leftmost-longest (as aho-corasick's LeftmostLongest does).
type matcher struct {
	byFirst map[byte][]int // pattern indexes by first byte, longest first
	pats    []string
	ids     []int
}

func newMatcher(pats []string, ids []int) *matcher {
	m := &matcher{byFirst: map[byte][]int{}, pats: pats, ids: ids}
	for i, p := range pats {
		if p == "" {
			continue
		}
		m.byFirst[p[0]] = append(m.byFirst[p[0]], i)
	}
	for _, l := range m.byFirst {
		sort.SliceStable(l, func(a, b int) bool { return len(pats[l[a]]) > len(pats[l[b]]) })
	}
	return m
}

// next returns the leftmost-longest match at or after from.
func (m *matcher) next(s string, from int) (start, end, id int, ok bool) {
	if len(m.byFirst) == 0 {
		return 0, 0, 0, false
	}
	for i := from; i < len(s); i++ {
		l, has := m.byFirst[s[i]]
		if !has {
			continue
		}
		for _, k := range l {
			p := m.pats[k]
			if len(s)-i >= len(p) && s[i:i+len(p)] == p {
				return i, i + len(p), m.ids[k], true
			}
		}
	}
	return 0, 0, 0, false
}

// addedVocab is HF's AddedVocabulary.
type addedVocab struct {
	byContent map[string]int
	byID      map[int]addedToken
	special   map[string]bool
	plain     *matcher // tokens with normalized=false, matched on the raw text
	norm      *matcher // tokens with normalized=true, matched on normalized text
}

// rustWord is Rust regex's Unicode \w.
func rustWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Nl, r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func newAddedVocab(tokens []addedToken, m model, nz normalizer) (*addedVocab, error) {
	a := &addedVocab{byContent: map[string]int{}, byID: map[int]addedToken{}, special: map[string]bool{}}
	var specials, classics []addedToken
	for _, t := range tokens {
		if t.Special && t.Content != "" && !a.special[t.Content] {
			specials = append(specials, t)
			a.special[t.Content] = true
		}
	}
	for _, t := range tokens {
		if t.Content == "" {
			continue
		}
		dup := false
		for _, v := range a.byID {
			if v.Content == t.Content && v.SingleWord == t.SingleWord && v.LStrip == t.LStrip && v.RStrip == t.RStrip &&
				v.Normalized == t.Normalized && v.Special == t.Special {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		id, ok := a.byContent[t.Content]
		if !ok {
			id, ok = m.tokenToID(t.Content)
		}
		if !ok {
			vs := m.vocabSize()
			max := -1
			for _, v := range a.byContent {
				if v > max {
					max = v
				}
			}
			switch {
			case max < 0:
				id = vs
			case max >= vs || vs == 0:
				id = max + 1
			default:
				id = vs
			}
		}
		a.byContent[t.Content] = id
		t.ID = id
		a.byID[id] = t
		if !a.special[t.Content] {
			classics = append(classics, t)
		}
	}
	var pp, np []string
	var pi, ni []int
	for _, t := range append(specials, classics...) {
		id := a.byContent[t.Content]
		if t.Normalized {
			c := newNormString(t.Content)
			if nz != nil {
				if err := nz.normalize(c); err != nil {
					return nil, err
				}
			}
			np = append(np, c.normalized)
			ni = append(ni, id)
		} else {
			pp = append(pp, t.Content)
			pi = append(pi, id)
		}
	}
	a.plain = newMatcher(pp, pi)
	a.norm = newMatcher(np, ni)
	return a, nil
}

type addedSplit struct {
	id         int // -1 for text between added tokens
	start, end int
}

func (a *addedVocab) findMatches(s string, m *matcher) []addedSplit {
	if s == "" {
		return []addedSplit{{-1, 0, 0}}
	}
	var out []addedSplit
	startOffset := 0
	pos := 0
	for {
		st, en, id, ok := m.next(s, pos)
		if !ok {
			break
		}
		pos = en
		if en == st {
			pos++
		}
		t := a.byID[id]
		if t.SingleWord {
			startSpace := st == 0
			if !startSpace {
				r, _ := lastRune(s[:st])
				startSpace = !rustWord(r)
			}
			stopSpace := en == len(s)
			if !stopSpace {
				r, _ := runeAt(s, en)
				stopSpace = !rustWord(r)
			}
			if !startSpace || !stopSpace {
				continue
			}
		}
		if t.LStrip {
			ns := st
			for ns > 0 {
				r, sz := lastRune(s[:ns])
				if !unicode.IsSpace(r) {
					break
				}
				ns -= sz
			}
			st = max(ns, startOffset)
		}
		if t.RStrip {
			en = consume(s, en, unicode.IsSpace)
			pos = en
		}
		if startOffset < st {
			out = append(out, addedSplit{-1, startOffset, st})
		}
		out = append(out, addedSplit{id, st, en})
		startOffset = en
	}
	if startOffset != len(s) {
		out = append(out, addedSplit{-1, startOffset, len(s)})
	}
	return out
}

// splitWithIndices cuts n around the added tokens m finds.
func (a *addedVocab) splitWithIndices(n *normString, m *matcher) ([]split, error) {
	var out []split
	for _, x := range a.findMatches(n.normalized, m) {
		sl := n.slice(span{x.start, x.end})
		if sl == nil {
			return nil, errorf("internal error: added token split %d..%d of %q", x.start, x.end, n.normalized)
		}
		if sl.normalized == "" {
			continue
		}
		if x.id >= 0 {
			out = append(out, split{n: sl, done: true, tokens: []token{{x.id, sl.normalized, span{0, len(sl.normalized)}}}})
		} else {
			out = append(out, split{n: sl})
		}
	}
	return out, nil
}

// extractAndNormalize finds added tokens on the raw text, normalizes the rest, then finds the
// normalized added tokens (HF's extract_and_normalize).
func (a *addedVocab) extractAndNormalize(nz normalizer, text string) (*preTokenized, error) {
	p := &preTokenized{original: text, splits: []split{{n: newNormString(text)}}}
	if err := a.resplit(p, a.plain, nil); err != nil {
		return nil, err
	}
	if err := a.resplit(p, a.norm, nz); err != nil {
		return nil, err
	}
	return p, nil
}

func (a *addedVocab) resplit(p *preTokenized, m *matcher, nz normalizer) error {
	out := make([]split, 0, len(p.splits))
	for _, s := range p.splits {
		if s.done {
			out = append(out, s)
			continue
		}
		if nz != nil {
			if err := nz.normalize(s.n); err != nil {
				return err
			}
		}
		parts, err := a.splitWithIndices(s.n, m)
		if err != nil {
			return err
		}
		out = append(out, parts...)
	}
	p.splits = out
	return nil
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0 && i >= len(s)-4; i-- {
		if s[i] < 0x80 || s[i] >= 0xC0 {
			r, sz := runeAt(s, i)
			return r, sz
		}
	}
	return -1, 1
}
