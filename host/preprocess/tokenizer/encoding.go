package tokenizer

// Encoding is the result of encoding one text or one pair of texts, with one entry per token
// in every slice.
type Encoding struct {
	IDs     []int
	TypeIDs []int
	Tokens  []string
	// Offsets are [start, end) in Unicode code points of the original text (of the first text
	// for tokens of the first sequence, of the second text for tokens of the pair), as HF's
	// Python binding reports them; special and padding tokens have [0, 0].
	Offsets [][2]int
	// ByteOffsets are the same spans in bytes of the original Go string.
	ByteOffsets [][2]int
	// WordIDs is the index of the pre-tokenized word a token comes from, -1 for special and
	// padding tokens (HF's word_ids with None as -1).
	WordIDs           []int
	AttentionMask     []int
	SpecialTokensMask []int
	// SequenceIDs says which input each token comes from: 0 for the first text, 1 for the
	// pair, -1 for special and padding tokens (HF's sequence_ids with None as -1). It follows
	// HF's quirks: with no post-processor every token of a single text is 0, padding included.
	SequenceIDs []int
	// Overflowing holds the windows cut away by truncation (HF's overflowing), each a full
	// Encoding with its own special tokens and padding.
	Overflowing []*Encoding

	// ranges is HF's sequence_ranges (a map from sequence index, 0 or 1, to a token range),
	// kept until finish.
	ranges seqRanges
}

// seqRanges is a two-entry map from sequence index to token range.
type seqRanges struct {
	set [2]bool
	r   [2][2]int
}

func (s *seqRanges) len() int {
	n := 0
	for _, x := range s.set {
		if x {
			n++
		}
	}
	return n
}

func (s *seqRanges) put(seq int, r [2]int) {
	if seq >= 0 && seq < 2 {
		s.set[seq], s.r[seq] = true, r
	}
}

// setSequenceID marks all tokens as coming from sequence i (HF's set_sequence_id).
func (e *Encoding) setSequenceID(i int) {
	e.ranges.put(i, [2]int{0, len(e.IDs)})
}

// finish computes SequenceIDs from the ranges, recursively (HF's get_sequence_ids).
func (e *Encoding) finish() {
	n := len(e.IDs)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = -1
	}
	if e.ranges.len() == 0 {
		for i := range ids {
			ids[i] = 0
		}
	} else {
		for seq := 0; seq < e.ranges.len(); seq++ {
			r := [2]int{0, n}
			if e.ranges.set[seq] {
				r = e.ranges.r[seq]
			}
			for i := max(r[0], 0); i < r[1] && i < n; i++ {
				ids[i] = seq
			}
		}
	}
	e.SequenceIDs = ids
	for _, o := range e.Overflowing {
		o.finish()
	}
}

// Len is the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

func (e *Encoding) push(id int, tok string, off, boff [2]int, word, typeID int, special bool) {
	e.IDs = append(e.IDs, id)
	e.Tokens = append(e.Tokens, tok)
	e.Offsets = append(e.Offsets, off)
	e.ByteOffsets = append(e.ByteOffsets, boff)
	e.WordIDs = append(e.WordIDs, word)
	e.TypeIDs = append(e.TypeIDs, typeID)
	e.AttentionMask = append(e.AttentionMask, 1)
	s := 0
	if special {
		s = 1
	}
	e.SpecialTokensMask = append(e.SpecialTokensMask, s)
}

func (e *Encoding) clone() *Encoding {
	c := &Encoding{
		IDs:               append([]int(nil), e.IDs...),
		TypeIDs:           append([]int(nil), e.TypeIDs...),
		Tokens:            append([]string(nil), e.Tokens...),
		Offsets:           append([][2]int(nil), e.Offsets...),
		ByteOffsets:       append([][2]int(nil), e.ByteOffsets...),
		WordIDs:           append([]int(nil), e.WordIDs...),
		AttentionMask:     append([]int(nil), e.AttentionMask...),
		SpecialTokensMask: append([]int(nil), e.SpecialTokensMask...),
	}
	c.ranges = e.ranges
	for _, o := range e.Overflowing {
		c.Overflowing = append(c.Overflowing, o.clone())
	}
	return c
}

// window copies tokens [a, b) without overflowing.
func (e *Encoding) window(a, b int) *Encoding {
	return &Encoding{
		IDs:               append([]int(nil), e.IDs[a:b]...),
		TypeIDs:           append([]int(nil), e.TypeIDs[a:b]...),
		Tokens:            append([]string(nil), e.Tokens[a:b]...),
		Offsets:           append([][2]int(nil), e.Offsets[a:b]...),
		ByteOffsets:       append([][2]int(nil), e.ByteOffsets[a:b]...),
		WordIDs:           append([]int(nil), e.WordIDs[a:b]...),
		AttentionMask:     append([]int(nil), e.AttentionMask[a:b]...),
		SpecialTokensMask: append([]int(nil), e.SpecialTokensMask[a:b]...),
	}
}

// truncate keeps maxLen tokens and moves the rest into Overflowing windows that overlap by
// stride tokens (HF's Encoding::truncate).
func (e *Encoding) truncate(maxLen, stride int, dir Direction) error {
	n := len(e.IDs)
	if maxLen >= n {
		return nil
	}
	if maxLen == 0 {
		o := *e
		*e = Encoding{Overflowing: []*Encoding{&o}}
		return nil
	}
	if stride >= maxLen {
		return errorf("truncation stride %d must be smaller than the length kept, %d (max_length minus the special tokens added)", stride, maxLen)
	}
	step := maxLen - stride
	var parts [][2]int
	if dir == Left {
		end := false
		for stop := n - 1; stop >= 0 && !end; stop -= step {
			s := stop + 1
			start := s - maxLen
			if start < 0 {
				start = 0
			}
			if start < s {
				end = start == 0
				parts = append(parts, [2]int{start, s})
			}
		}
	} else {
		end := false
		for start := 0; start < n && !end; start += step {
			stop := start + maxLen
			if stop > n {
				stop = n
			}
			end = stop == n
			parts = append(parts, [2]int{start, stop})
		}
	}
	first := e.window(parts[0][0], parts[0][1])
	for _, p := range parts[1:] {
		first.Overflowing = append(first.Overflowing, e.window(p[0], p[1]))
	}
	*e = *first
	return nil
}

// mergeWith appends pair to e, combining their overflowing windows (HF's merge_with).
func (e *Encoding) mergeWith(pair *Encoding, growingOffsets bool) {
	var over []*Encoding
	for _, so := range e.Overflowing {
		n := so.clone()
		n.mergeWith(pair.clone(), growingOffsets)
		over = append(over, n)
		for _, po := range pair.Overflowing {
			n := so.clone()
			n.mergeWith(po.clone(), growingOffsets)
			over = append(over, n)
		}
	}
	for _, po := range pair.Overflowing {
		n := e.clone()
		n.mergeWith(po.clone(), growingOffsets)
		over = append(over, n)
	}
	base := len(e.IDs)
	for k := range pair.ranges.set {
		if pair.ranges.set[k] {
			r := pair.ranges.r[k]
			e.ranges.put(k, [2]int{base + r[0], base + r[1]})
		}
	}
	shift, bshift := 0, 0
	if growingOffsets && len(e.Offsets) > 0 {
		shift = e.Offsets[len(e.Offsets)-1][1]
		bshift = e.ByteOffsets[len(e.ByteOffsets)-1][1]
	}
	e.IDs = append(e.IDs, pair.IDs...)
	e.TypeIDs = append(e.TypeIDs, pair.TypeIDs...)
	e.Tokens = append(e.Tokens, pair.Tokens...)
	e.WordIDs = append(e.WordIDs, pair.WordIDs...)
	for i, o := range pair.Offsets {
		e.Offsets = append(e.Offsets, [2]int{o[0] + shift, o[1] + shift})
		b := pair.ByteOffsets[i]
		e.ByteOffsets = append(e.ByteOffsets, [2]int{b[0] + bshift, b[1] + bshift})
	}
	e.SpecialTokensMask = append(e.SpecialTokensMask, pair.SpecialTokensMask...)
	e.AttentionMask = append(e.AttentionMask, pair.AttentionMask...)
	e.Overflowing = over
}

func mergeEncodings(encs []*Encoding) *Encoding {
	n := 0
	for _, e := range encs {
		n += e.Len()
	}
	out := &Encoding{
		IDs: make([]int, 0, n), TypeIDs: make([]int, 0, n), Tokens: make([]string, 0, n),
		Offsets: make([][2]int, 0, n), ByteOffsets: make([][2]int, 0, n), WordIDs: make([]int, 0, n),
		AttentionMask: make([]int, 0, n), SpecialTokensMask: make([]int, 0, n),
	}
	for _, x := range encs {
		out.mergeWith(x, false)
	}
	return out
}

// pad grows e (and its overflowing windows) to target tokens.
func (e *Encoding) pad(target, padID, padTypeID int, padToken string, dir Direction) {
	for _, o := range e.Overflowing {
		o.pad(target, padID, padTypeID, padToken, dir)
	}
	n := len(e.IDs)
	if n >= target {
		return
	}
	k := target - n
	rep := func(v int) []int {
		s := make([]int, k)
		for i := range s {
			s[i] = v
		}
		return s
	}
	toks := make([]string, k)
	for i := range toks {
		toks[i] = padToken
	}
	offs := make([][2]int, k)
	if dir == Left {
		for seq := range e.ranges.set {
			if e.ranges.set[seq] {
				r := e.ranges.r[seq]
				e.ranges.r[seq] = [2]int{r[0] + k, r[1] + k}
			}
		}
		e.IDs = append(rep(padID), e.IDs...)
		e.TypeIDs = append(rep(padTypeID), e.TypeIDs...)
		e.Tokens = append(toks, e.Tokens...)
		e.WordIDs = append(rep(-1), e.WordIDs...)
		e.AttentionMask = append(rep(0), e.AttentionMask...)
		e.SpecialTokensMask = append(rep(1), e.SpecialTokensMask...)
		e.Offsets = append(offs, e.Offsets...)
		e.ByteOffsets = append(append([][2]int(nil), offs...), e.ByteOffsets...)
		return
	}
	e.IDs = append(e.IDs, rep(padID)...)
	e.TypeIDs = append(e.TypeIDs, rep(padTypeID)...)
	e.Tokens = append(e.Tokens, toks...)
	e.WordIDs = append(e.WordIDs, rep(-1)...)
	e.AttentionMask = append(e.AttentionMask, rep(0)...)
	e.SpecialTokensMask = append(e.SpecialTokensMask, rep(1)...)
	e.Offsets = append(e.Offsets, offs...)
	e.ByteOffsets = append(e.ByteOffsets, offs...)
}
