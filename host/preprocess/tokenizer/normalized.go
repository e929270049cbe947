package tokenizer

import (
	"unicode/utf8"
)

// span is a half-open byte range [start, end).
type span struct{ start, end int }

// change is one character of a transformed string and how it relates to the characters it
// replaces: 0 replaces one character, +1 inserts a new character, -N replaces one character
// and removes the N following ones (HF's NormalizedString::transform convention).
type change struct {
	r     rune
	delta int
}

// normString is a piece of the input with its normalized form and, for every byte of the
// normalized form, the byte range of the original text it comes from (HF's NormalizedString).
type normString struct {
	original   string
	normalized string
	// align has one entry per byte of normalized: the byte range of the whole input (not of
	// original: HF keeps them relative, absolute ranges let slices share the array) the byte
	// comes from. The arrays are never written in place once built, so slices share them.
	align []span
	shift int // byte offset of original inside the whole input
}

func newNormString(s string) *normString {
	n := &normString{original: s, normalized: s, align: make([]span, len(s))}
	for i, r := range s {
		l := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, l = utf8.DecodeRuneInString(s[i:])
		}
		for k := 0; k < l; k++ {
			n.align[i+k] = span{i, i + l}
		}
	}
	return n
}

// offsetsOriginal is the range of the whole input this piece covers.
func (n *normString) offsetsOriginal() span {
	return span{n.shift, n.shift + len(n.original)}
}

// normToOrig converts a normalized byte range to an original byte range (relative to
// n.original), following HF's convert_offsets quirks (an empty range comes back as is).
func (n *normString) normToOrig(s span) (span, bool) {
	if s.start == s.end {
		return s, true
	}
	if s.start > s.end || s.end > len(n.align) {
		return span{}, false
	}
	return span{n.align[s.start].start - n.shift, n.align[s.end-1].end - n.shift}, true
}

func isCharBoundary(s string, i int) bool {
	if i == 0 || i == len(s) {
		return true
	}
	if i < 0 || i > len(s) {
		return false
	}
	return utf8.RuneStart(s[i])
}

// slice returns the piece of n covering the normalized byte range s.
func (n *normString) slice(s span) *normString {
	if !isCharBoundary(n.normalized, s.start) || !isCharBoundary(n.normalized, s.end) || s.start > s.end {
		return nil
	}
	o, ok := n.normToOrig(s)
	if !ok {
		return nil
	}
	orig := ""
	if o.start <= o.end && o.end <= len(n.original) && isCharBoundary(n.original, o.start) && isCharBoundary(n.original, o.end) {
		orig = n.original[o.start:o.end]
	}
	return &normString{original: orig, normalized: n.normalized[s.start:s.end], align: n.align[s.start:s.end:s.end], shift: n.shift + o.start}
}

// transformRange replaces the normalized byte range r with dest, keeping alignments the way
// HF's transform_range does. initialOffset counts characters removed at the start of r.
func (n *normString) transformRange(r span, dest []change, initialOffset int) {
	old := n.normalized[r.start:r.end]
	pos := 0 // byte position inside old of the next replaced character
	for k := 0; k < initialOffset && pos < len(old); k++ {
		_, sz := utf8.DecodeRuneInString(old[pos:])
		pos += sz
	}
	offset := r.start + pos
	buf := make([]byte, 0, len(old)+len(dest))
	al := make([]span, 0, len(old)+len(dest))
	var tmp [4]byte
	for _, c := range dest {
		a := span{n.shift, n.shift} // HF's (0, 0) for a character inserted at the very start
		if c.delta > 0 {
			if offset >= 1 && offset-1 < len(n.align) {
				a = n.align[offset-1]
			}
		} else if offset < len(n.align) {
			a = n.align[offset]
		}
		if c.delta <= 0 && pos < len(old) {
			_, sz := utf8.DecodeRuneInString(old[pos:])
			pos += sz
			offset += sz
		}
		for k := 0; k < -c.delta && pos < len(old); k++ {
			_, sz := utf8.DecodeRuneInString(old[pos:])
			pos += sz
			offset += sz
		}
		l := utf8.EncodeRune(tmp[:], c.r)
		buf = append(buf, tmp[:l]...)
		for k := 0; k < l; k++ {
			al = append(al, a)
		}
	}
	if r.start == 0 && r.end == len(n.normalized) {
		n.normalized = string(buf)
		n.align = al
		return
	}
	newAl := make([]span, 0, len(n.align)-len(old)+len(al))
	newAl = append(newAl, n.align[:r.start]...)
	newAl = append(newAl, al...)
	newAl = append(newAl, n.align[r.end:]...)
	n.normalized = n.normalized[:r.start] + string(buf) + n.normalized[r.end:]
	n.align = newAl
}

// transform replaces the whole normalized string.
func (n *normString) transform(dest []change, initialOffset int) {
	n.transformRange(span{0, len(n.normalized)}, dest, initialOffset)
}

// mapRunes applies a one-to-one rune mapping.
func (n *normString) mapRunes(f func(rune) rune) {
	same := true
	for _, r := range n.normalized {
		if f(r) != r {
			same = false
			break
		}
	}
	if same {
		return
	}
	if sameLengthMap(n, func(r rune) (rune, bool) { return f(r), true }) {
		return
	}
	dest := make([]change, 0, len(n.normalized))
	for _, r := range n.normalized {
		dest = append(dest, change{f(r), 0})
	}
	n.transform(dest, 0)
}

// filter keeps the runes for which keep is true (HF's NormalizedString::filter).
func (n *normString) filter(keep func(rune) bool) {
	all := true
	for _, r := range n.normalized {
		if !keep(r) {
			all = false
			break
		}
	}
	if all {
		return
	}
	var dest []change
	removed := 0
	removedStart := 0
	var last *rune
	for _, r := range n.normalized {
		if keep(r) {
			if last != nil {
				dest = append(dest, change{*last, -removed})
			} else {
				removedStart = removed
			}
			rr := r
			last = &rr
			removed = 0
		} else {
			removed++
		}
	}
	if last != nil {
		dest = append(dest, change{*last, -removed})
	}
	n.transform(dest, removedStart)
}

// prepend inserts s before the first character, aligned to that character.
func (n *normString) prepend(s string) {
	if n.normalized == "" || s == "" {
		return
	}
	first, sz := utf8.DecodeRuneInString(n.normalized)
	dest := make([]change, 0, len(s)+1)
	i := 0
	for _, r := range s {
		d := 0
		if i != 0 {
			d = 1
		}
		dest = append(dest, change{r, d})
		i++
	}
	dest = append(dest, change{first, 1})
	n.transformRange(span{0, sz}, dest, 0)
}

// lrstrip removes leading and/or trailing whitespace (Rust char::is_whitespace).
func (n *normString) lrstrip(left, right bool) {
	s := n.normalized
	leading := 0
	if left {
		for _, r := range s {
			if !isRustWhitespace(r) {
				break
			}
			leading++
		}
	}
	trailing := 0
	if right {
		for i := len(s); i > 0; {
			r, sz := utf8.DecodeLastRuneInString(s[:i])
			if !isRustWhitespace(r) {
				break
			}
			trailing++
			i -= sz
		}
	}
	if leading == 0 && trailing == 0 {
		return
	}
	count := utf8.RuneCountInString(s)
	var dest []change
	i := 0
	for _, r := range s {
		if i < leading || i >= count-trailing {
			i++
			continue
		}
		d := 0
		if i == count-trailing-1 {
			d = -trailing
		}
		dest = append(dest, change{r, d})
		i++
	}
	n.transform(dest, leading)
}

// replace replaces every match of p with content.
func (n *normString) replace(p pattern, content string) error {
	ms, err := p.findMatches(n.normalized)
	if err != nil {
		return err
	}
	any := false
	for _, m := range ms {
		if m.isMatch {
			any = true
			break
		}
	}
	if !any {
		return nil
	}
	var b []byte
	var al []span
	last := 0
	for _, m := range ms {
		if !m.isMatch {
			continue
		}
		b = append(b, n.normalized[last:m.start]...)
		al = append(al, n.align[last:m.start]...)
		a := span{n.shift, n.shift}
		if m.end >= 1 {
			a = n.align[m.end-1]
		}
		if m.start == m.end && m.start >= 1 {
			a = n.align[m.start-1]
		}
		for _, r := range content {
			l := utf8.RuneLen(r)
			b = utf8.AppendRune(b, r)
			for k := 0; k < l; k++ {
				al = append(al, a)
			}
		}
		last = m.end
	}
	b = append(b, n.normalized[last:]...)
	al = append(al, n.align[last:]...)
	n.normalized = string(b)
	n.align = al
	return nil
}

// splitBehavior is HF's SplitDelimiterBehavior.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

// split cuts n along the matches of p.
func (n *normString) split(p pattern, b splitBehavior) ([]*normString, error) {
	ms, err := p.findMatches(n.normalized)
	if err != nil {
		return nil, err
	}
	type piece struct {
		s      span
		remove bool
	}
	var pieces []piece
	switch b {
	case splitIsolated:
		for _, m := range ms {
			pieces = append(pieces, piece{span{m.start, m.end}, false})
		}
	case splitRemoved:
		for _, m := range ms {
			pieces = append(pieces, piece{span{m.start, m.end}, m.isMatch})
		}
	case splitContiguous:
		prev := false
		for _, m := range ms {
			if m.isMatch == prev && len(pieces) > 0 {
				pieces[len(pieces)-1].s.end = m.end
			} else {
				pieces = append(pieces, piece{span{m.start, m.end}, false})
			}
			prev = m.isMatch
		}
	case splitMergedWithPrevious:
		prev := false
		for _, m := range ms {
			if m.isMatch && !prev && len(pieces) > 0 {
				pieces[len(pieces)-1].s.end = m.end
			} else {
				pieces = append(pieces, piece{span{m.start, m.end}, false})
			}
			prev = m.isMatch
		}
	case splitMergedWithNext:
		prev := false
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.isMatch && !prev && len(pieces) > 0 {
				pieces[len(pieces)-1].s.start = m.start
			} else {
				pieces = append(pieces, piece{span{m.start, m.end}, false})
			}
			prev = m.isMatch
		}
		for i, j := 0, len(pieces)-1; i < j; i, j = i+1, j-1 {
			pieces[i], pieces[j] = pieces[j], pieces[i]
		}
	}
	out := make([]*normString, 0, len(pieces))
	for _, pc := range pieces {
		if pc.remove {
			continue
		}
		s := n.slice(pc.s)
		if s == nil {
			return nil, errorf("internal error: split at %v is not on a character boundary of %q", pc.s, n.normalized)
		}
		out = append(out, s)
	}
	return out, nil
}
