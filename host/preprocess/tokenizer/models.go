package tokenizer

import (
	"container/heap"
	"fmt"
	"sync"
	"unicode/utf8"
)

// model turns one pre-tokenized piece (normalized text) into tokens.
type model interface {
	tokenize(s string) ([]token, error)
	tokenToID(t string) (int, bool)
	idToToken(id int) (string, bool)
	vocabSize() int
}

// vocab is a token<->id table.
type vocab struct {
	ids    map[string]int
	tokens map[int]string
}

func newVocab(m map[string]int) vocab {
	v := vocab{ids: m, tokens: make(map[int]string, len(m))}
	for t, id := range m {
		v.tokens[id] = t
	}
	return v
}

func (v vocab) tokenToID(t string) (int, bool) { id, ok := v.ids[t]; return id, ok }
func (v vocab) idToToken(id int) (string, bool) {
	t, ok := v.tokens[id]
	return t, ok
}
func (v vocab) vocabSize() int { return len(v.ids) }

// wordPiece is HF's WordPiece model: greedy longest-match-first.
type wordPiece struct {
	vocab
	unk      string
	prefix   string
	maxChars int
}

func (w *wordPiece) unkToken(s string) ([]token, error) {
	id, ok := w.ids[w.unk]
	if !ok {
		return nil, errorf("WordPiece: unk_token %q is not in the vocabulary", w.unk)
	}
	return []token{{id, w.unk, span{0, len(s)}}}, nil
}

func (w *wordPiece) tokenize(s string) ([]token, error) {
	if utf8.RuneCountInString(s) > w.maxChars {
		return w.unkToken(s)
	}
	var out []token
	start := 0
	buf := make([]byte, 0, len(w.prefix)+len(s))
	for start < len(s) {
		end := len(s)
		found := false
		for start < end {
			var id int
			var ok bool
			if start > 0 {
				buf = append(buf[:0], w.prefix...)
				buf = append(buf, s[start:end]...)
				id, ok = w.ids[string(buf)] // no allocation for the lookup
			} else {
				id, ok = w.ids[s[start:end]]
			}
			if ok {
				sub := s[start:end]
				if start > 0 {
					sub = string(buf)
				}
				out = append(out, token{id, sub, span{start, end}})
				found = true
				break
			}
			_, sz := utf8.DecodeLastRuneInString(s[start:end])
			end -= sz
		}
		if !found {
			return w.unkToken(s)
		}
		start = end
	}
	return out, nil
}

// wordLevel maps each piece to one id.
type wordLevel struct {
	vocab
	unk string
}

func (w *wordLevel) tokenize(s string) ([]token, error) {
	if id, ok := w.ids[s]; ok {
		return []token{{id, s, span{0, len(s)}}}, nil
	}
	if id, ok := w.ids[w.unk]; ok {
		return []token{{id, w.unk, span{0, len(s)}}}, nil
	}
	return nil, errorf("WordLevel: %q is not in the vocabulary and unk_token %q is missing from it", s, w.unk)
}

// bpe is HF's BPE model (no dropout).
type bpe struct {
	vocab
	merges       map[[2]int][2]int // pair -> (rank, new id)
	unk          string
	hasUnk       bool
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int // id of "<0xXX>" or -1

	// cache keeps the tokens of up to cacheCap words, as HF's BPE cache does; the cached
	// slices are shared and never modified.
	mu    sync.RWMutex
	cache map[string][]token
}

const cacheCap = 10000

type symbol struct {
	id         int
	prev, next int
	length     int
}

type mergeItem struct{ pos, rank, newID int }
type mergeHeap []mergeItem

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (b *bpe) tokenize(s string) ([]token, error) {
	if s == "" {
		return nil, nil
	}
	if b.ignoreMerges {
		if id, ok := b.ids[s]; ok {
			return []token{{id, s, span{0, len(s)}}}, nil
		}
	}
	b.mu.RLock()
	hit, ok := b.cache[s]
	b.mu.RUnlock()
	if ok {
		return hit, nil
	}
	out, err := b.tokenizeWord(s)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.cache == nil {
		b.cache = make(map[string][]token)
	}
	if len(b.cache) < cacheCap {
		b.cache[s] = out
	}
	b.mu.Unlock()
	return out, nil
}

func (b *bpe) tokenizeWord(s string) ([]token, error) {
	syms := make([]symbol, 0, len(s))
	add := func(id, l int) {
		n := len(syms)
		syms = append(syms, symbol{id: id, prev: n - 1, next: -1, length: l})
		if n > 0 {
			syms[n-1].next = n
		}
	}
	unkID, unkLen, haveUnk := 0, 0, false
	var kbuf []byte
	for i := 0; i < len(s); {
		_, sz := utf8.DecodeRuneInString(s[i:])
		isFirst, isLast := i == 0, i+sz >= len(s)
		key := s[i : i+sz]
		if (!isFirst && b.prefix != "") || (isLast && b.suffix != "") {
			kbuf = kbuf[:0]
			if !isFirst {
				kbuf = append(kbuf, b.prefix...)
			}
			kbuf = append(kbuf, key...)
			if isLast {
				kbuf = append(kbuf, b.suffix...)
			}
			key = string(kbuf)
		}
		if id, ok := b.ids[key]; ok {
			if haveUnk {
				add(unkID, unkLen)
				haveUnk = false
			}
			add(id, sz)
			i += sz
			continue
		}
		if b.byteFallback {
			okAll := true
			for k := 0; k < len(key); k++ {
				if b.byteIDs[key[k]] < 0 {
					okAll = false
					break
				}
			}
			if okAll {
				for k := 0; k < len(key); k++ {
					add(b.byteIDs[key[k]], 1)
				}
				i += sz
				continue
			}
		}
		if b.hasUnk {
			uid, ok := b.ids[b.unk]
			if !ok {
				return nil, errorf("BPE: unk_token %q is not in the vocabulary", b.unk)
			}
			switch {
			case haveUnk && b.fuseUnk:
				unkLen += sz
			case haveUnk:
				add(unkID, unkLen)
				unkID, unkLen = uid, sz
			default:
				unkID, unkLen, haveUnk = uid, sz, true
			}
		}
		i += sz
	}
	if haveUnk {
		add(unkID, unkLen)
	}
	b.mergeAll(syms)
	out := make([]token, 0, len(syms))
	off := 0
	for _, sy := range syms {
		if sy.length == 0 {
			continue
		}
		t, _ := b.tokens[sy.id]
		out = append(out, token{sy.id, t, span{off, off + sy.length}})
		off += sy.length
	}
	return out, nil
}

func (b *bpe) mergeAll(syms []symbol) {
	if len(syms) < 2 {
		return
	}
	h := make(mergeHeap, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if m, ok := b.merges[[2]int{syms[i].id, syms[i+1].id}]; ok {
			h = append(h, mergeItem{i, m[0], m[1]})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		top := heap.Pop(&h).(mergeItem)
		cur := &syms[top.pos]
		if cur.length == 0 || cur.next == -1 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		m, ok := b.merges[[2]int{cur.id, right.id}]
		if !ok || m[1] != top.newID {
			continue
		}
		cur.id = top.newID
		cur.length += right.length
		cur.next = right.next
		syms[nextPos].length = 0
		if right.next > -1 && right.next < len(syms) {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if m, ok := b.merges[[2]int{syms[cur.prev].id, cur.id}]; ok {
				heap.Push(&h, mergeItem{cur.prev, m[0], m[1]})
			}
		}
		if cur.next >= 0 && cur.next < len(syms) {
			if m, ok := b.merges[[2]int{cur.id, syms[cur.next].id}]; ok {
				heap.Push(&h, mergeItem{top.pos, m[0], m[1]})
			}
		}
	}
}

func newBPE(v map[string]int, merges [][2]string, prefix string) (*bpe, error) {
	b := &bpe{vocab: newVocab(v), merges: make(map[[2]int][2]int, len(merges)), prefix: prefix}
	for i := range b.byteIDs {
		b.byteIDs[i] = -1
		if id, ok := v[fmt.Sprintf("<0x%02X>", i)]; ok {
			b.byteIDs[i] = id
		}
	}
	for rank, m := range merges {
		a, ok1 := v[m[0]]
		c, ok2 := v[m[1]]
		if !ok1 || !ok2 {
			missing := m[0]
			if ok1 {
				missing = m[1]
			}
			return nil, errorf("BPE merge %d (%q %q): token %q is not in the vocabulary", rank, m[0], m[1], missing)
		}
		right := m[1]
		if len(prefix) > 0 && len(right) >= len(prefix) {
			right = right[len(prefix):]
		}
		nid, ok := v[m[0]+right]
		if !ok {
			return nil, errorf("BPE merge %d (%q %q): merged token %q is not in the vocabulary", rank, m[0], m[1], m[0]+right)
		}
		b.merges[[2]int{a, c}] = [2]int{rank, nid}
	}
	return b, nil
}
