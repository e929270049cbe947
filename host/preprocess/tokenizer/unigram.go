package tokenizer

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// unigram is HF's Unigram model: Viterbi over log-probabilities, unknown characters scored
// min_score - 10, consecutive unknowns fused.
type unigram struct {
	vocab
	pieces       []string
	scores       []float64
	unkID        int // -1 when none
	byteFallback bool
	minScore     float64
	maxLen       int
	fuseUnk      bool
}

func newUnigram(pieces []string, scores []float64, unkID int, byteFallback bool) (*unigram, error) {
	if len(pieces) == 0 {
		return nil, errorf("Unigram model: empty vocabulary")
	}
	if unkID >= len(pieces) {
		return nil, errorf("Unigram model: unk_id %d is outside the %d-entry vocabulary", unkID, len(pieces))
	}
	u := &unigram{pieces: pieces, scores: scores, unkID: unkID, byteFallback: byteFallback, minScore: math.Inf(1), fuseUnk: true}
	ids := make(map[string]int, len(pieces))
	toks := make(map[int]string, len(pieces))
	for i, p := range pieces {
		ids[p] = i
		toks[i] = p
		if scores[i] < u.minScore {
			u.minScore = scores[i]
		}
		if len(p) > u.maxLen {
			u.maxLen = len(p)
		}
	}
	u.vocab = vocab{ids: ids, tokens: toks}
	return u, nil
}

type bestNode struct {
	id      int
	score   float64
	startAt int // -1 when unset
}

func (u *unigram) encode(s string) ([]string, error) {
	size := len(s)
	unkScore := u.minScore - 10.0
	nodes := make([]bestNode, size+1)
	for i := range nodes {
		nodes[i].startAt = -1
	}
	for start := 0; start < size; {
		base := nodes[start].score
		_, mblen := utf8.DecodeRuneInString(s[start:])
		single := false
		maxL := u.maxLen
		if start+maxL > size {
			maxL = size - start
		}
		for l := 1; l <= maxL; l++ {
			id, ok := u.ids[s[start:start+l]]
			if !ok {
				continue
			}
			cand := u.scores[id] + base
			t := &nodes[start+l]
			if t.startAt == -1 || cand > t.score {
				t.score, t.startAt, t.id = cand, start, id
			}
			if l == mblen {
				single = true
			}
		}
		if !single {
			if u.unkID < 0 {
				return nil, errorf("Unigram model: %q has no piece and the model has no unk_id", s[start:start+mblen])
			}
			t := &nodes[start+mblen]
			cand := unkScore + base
			if t.startAt == -1 || cand > t.score {
				t.score, t.startAt, t.id = cand, start, u.unkID
			}
		}
		start += mblen
	}
	var rev []string
	pending := ""
	hasPending := false
	for end := size; end > 0; {
		nd := nodes[end]
		if nd.startAt < 0 {
			return nil, errorf("Unigram model: no path through %q", s)
		}
		piece := s[nd.startAt:end]
		if u.fuseUnk && u.unkID >= 0 && nd.id == u.unkID {
			pending = piece + pending
			hasPending = true
		} else {
			if hasPending {
				rev = append(rev, pending)
				pending, hasPending = "", false
			}
			rev = append(rev, piece)
		}
		end = nd.startAt
	}
	if hasPending {
		rev = append(rev, pending)
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev, nil
}

func (u *unigram) tokenize(s string) ([]token, error) {
	pieces, err := u.encode(s)
	if err != nil {
		return nil, err
	}
	out := make([]token, 0, len(pieces))
	off := 0
	for _, p := range pieces {
		l := len(p)
		if id, ok := u.ids[p]; ok {
			out = append(out, token{id, p, span{off, off + l}})
			off += l
			continue
		}
		if u.byteFallback {
			var bt []token
			ok := true
			for k := 0; k < len(p); k++ {
				name := fmt.Sprintf("<0x%02X>", p[k])
				id, found := u.ids[name]
				if !found {
					ok = false
					break
				}
				bt = append(bt, token{id, name, span{off, off + l}})
			}
			if ok {
				out = append(out, bt...)
				off += l
				continue
			}
		}
		if u.unkID < 0 {
			return nil, errorf("Unigram model: %q is unknown and the model has no unk_id", p)
		}
		out = append(out, token{u.unkID, p, span{off, off + l}})
		off += l
	}
	return out, nil
}
