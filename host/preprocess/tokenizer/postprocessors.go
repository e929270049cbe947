package tokenizer

// postProcessor adds special tokens and fixes offsets after truncation (HF's PostProcessor).
type postProcessor interface {
	// addedTokens is how many special tokens process adds for a single text or a pair.
	addedTokens(pair bool) int
	// processEncodings transforms each sequence's encoding; they are then merged.
	processEncodings(encs []*Encoding, addSpecial bool) ([]*Encoding, error)
}

func postProcess(p postProcessor, encs []*Encoding, addSpecial bool) (*Encoding, error) {
	for i, e := range encs {
		e.setSequenceID(i)
		for _, o := range e.Overflowing {
			o.setSequenceID(i)
		}
	}
	out, err := p.processEncodings(encs, addSpecial)
	if err != nil {
		return nil, err
	}
	return mergeEncodings(out), nil
}

type specialTok struct {
	token string
	id    int
}

// wrapEncoding builds [before...] + e + [after...] for Bert/Roberta processors; the tokens of
// e form sequence seq.
func wrapEncoding(e *Encoding, before, after []specialTok, seqType, specialType, seq int) *Encoding {
	out := &Encoding{}
	for _, s := range before {
		out.push(s.id, s.token, [2]int{}, [2]int{}, -1, specialType, true)
	}
	for i := range e.IDs {
		out.push(e.IDs[i], e.Tokens[i], e.Offsets[i], e.ByteOffsets[i], e.WordIDs[i], seqType, false)
	}
	for _, s := range after {
		out.push(s.id, s.token, [2]int{}, [2]int{}, -1, specialType, true)
	}
	out.ranges.put(seq, [2]int{len(before), len(before) + len(e.IDs)})
	for _, o := range e.Overflowing {
		out.Overflowing = append(out.Overflowing, wrapEncoding(o, before, after, seqType, specialType, seq))
	}
	return out
}

type bertProcessing struct{ sep, cls specialTok }

func (bertProcessing) addedTokens(pair bool) int {
	if pair {
		return 3
	}
	return 2
}

func (b bertProcessing) processEncodings(encs []*Encoding, addSpecial bool) ([]*Encoding, error) {
	if !addSpecial {
		return encs, nil
	}
	out := make([]*Encoding, len(encs))
	for i, e := range encs {
		if i == 0 {
			out[i] = wrapEncoding(e, []specialTok{b.cls}, []specialTok{b.sep}, 0, 0, 0)
		} else {
			out[i] = wrapEncoding(e, nil, []specialTok{b.sep}, 1, 1, 1)
		}
	}
	return out, nil
}

type robertaProcessing struct {
	sep, cls       specialTok
	trimOffsets    bool
	addPrefixSpace bool
}

func (robertaProcessing) addedTokens(pair bool) int {
	if pair {
		return 4
	}
	return 2
}

func (r robertaProcessing) processEncodings(encs []*Encoding, addSpecial bool) ([]*Encoding, error) {
	if r.trimOffsets {
		for _, e := range encs {
			trimOffsets(e, r.addPrefixSpace)
			for _, o := range e.Overflowing {
				trimOffsets(o, r.addPrefixSpace)
			}
		}
	}
	if !addSpecial {
		return encs, nil
	}
	out := make([]*Encoding, len(encs))
	for i, e := range encs {
		if i == 0 {
			out[i] = wrapEncoding(e, []specialTok{r.cls}, []specialTok{r.sep}, 0, 0, 0)
		} else {
			out[i] = wrapEncoding(e, []specialTok{r.sep}, []specialTok{r.sep}, 0, 0, 1)
		}
	}
	return out, nil
}

type byteLevelPost struct {
	addPrefixSpace bool
	trimOffsets    bool
}

func (byteLevelPost) addedTokens(bool) int { return 0 }

func (b byteLevelPost) processEncodings(encs []*Encoding, _ bool) ([]*Encoding, error) {
	if b.trimOffsets {
		for _, e := range encs {
			trimOffsets(e, b.addPrefixSpace)
			for _, o := range e.Overflowing {
				trimOffsets(o, b.addPrefixSpace)
			}
		}
	}
	for i, e := range encs {
		e.setSequenceID(i)
	}
	return encs, nil
}

// trimOffsets removes leading/trailing spaces (Ġ or whitespace) from byte-level token offsets.
func trimOffsets(e *Encoding, addPrefixSpace bool) {
	sp := byteToRune[' ']
	isSp := func(r rune) bool { return r == sp || isRustWhitespace(r) }
	for i, tok := range e.Tokens {
		rs := []rune(tok)
		lead := 0
		for lead < len(rs) && isSp(rs[lead]) {
			lead++
		}
		trail := 0
		for trail < len(rs) && isSp(rs[len(rs)-1-trail]) {
			trail++
		}
		if lead == 0 && trail == 0 {
			continue
		}
		for _, offs := range [][][2]int{e.Offsets, e.ByteOffsets} {
			o := &offs[i]
			l := lead
			if l > 0 {
				isFirst := i == 0 || o[0] == 0
				if isFirst && addPrefixSpace && l == 1 {
					l = 0
				}
				o[0] = min(o[0]+l, o[1])
			}
			if trail > 0 && o[1] >= trail {
				o[1] = max(o[1]-trail, o[0])
			}
		}
	}
}

// templatePiece is one element of a TemplateProcessing template.
type templatePiece struct {
	isSeq   bool
	seqB    bool   // for sequences: $B
	special string // for special tokens: the key into specials
	typeID  int
}

type templateSpecial struct {
	ids    []int
	tokens []string
}

type templateProcessing struct {
	single, pair []templatePiece
	specials     map[string]templateSpecial
}

func (t templateProcessing) addedTokens(pair bool) int {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if !p.isSeq {
			n += len(t.specials[p.special].ids)
		}
	}
	return n
}

func setTypeIDs(e *Encoding, typeID int) {
	for i := range e.TypeIDs {
		e.TypeIDs[i] = typeID
	}
}

func (t templateProcessing) processEncodings(encs []*Encoding, addSpecial bool) ([]*Encoding, error) {
	tpl := t.single
	if len(encs) == 2 {
		tpl = t.pair
	}
	var out []*Encoding
	uses := [2]int{}
	for _, p := range tpl {
		if p.isSeq {
			if p.seqB {
				uses[1]++
			} else {
				uses[0]++
			}
		}
	}
	for _, p := range tpl {
		if p.isSeq {
			i := 0
			if p.seqB {
				i = 1
			}
			if i >= len(encs) {
				return nil, errorf("TemplateProcessing: the template uses $B but only one sequence was given")
			}
			e := encs[i]
			setTypeIDs(e, p.typeID)
			e.setSequenceID(i)
			if uses[i] > 1 {
				e = e.clone() // the same sequence appears again with other type ids
			}
			out = append(out, e)
			continue
		}
		if !addSpecial {
			continue
		}
		sp := t.specials[p.special]
		e := &Encoding{}
		for k, id := range sp.ids {
			e.push(id, sp.tokens[k], [2]int{}, [2]int{}, -1, p.typeID, true)
		}
		out = append(out, e)
	}
	return out, nil
}

type postProcessorSeq []postProcessor

func (s postProcessorSeq) addedTokens(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.addedTokens(pair)
	}
	return n
}

func (s postProcessorSeq) processEncodings(encs []*Encoding, addSpecial bool) ([]*Encoding, error) {
	var err error
	for _, p := range s {
		encs, err = p.processEncodings(encs, addSpecial)
		if err != nil {
			return nil, err
		}
	}
	return encs, nil
}
