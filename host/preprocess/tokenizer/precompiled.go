package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiledNorm is sentencepiece's precompiled character map: a darts-clone double-array
// trie from input byte strings to replacement strings, applied grapheme by grapheme.
type precompiledNorm struct {
	units      []uint32
	normalized []byte
}

func newPrecompiled(b64 string) (*precompiledNorm, error) {
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errorf("Precompiled normalizer: precompiled_charsmap is not valid base64: %v", err)
	}
	if len(blob) < 4 {
		return &precompiledNorm{}, nil
	}
	size := int(binary.LittleEndian.Uint32(blob))
	if size%4 != 0 || 4+size > len(blob) {
		return nil, errorf("Precompiled normalizer: trie size %d does not fit the %d-byte charsmap", size, len(blob))
	}
	units := make([]uint32, size/4)
	for i := range units {
		units[i] = binary.LittleEndian.Uint32(blob[4+4*i:])
	}
	return &precompiledNorm{units: units, normalized: blob[4+size:]}, nil
}

// lookup returns the replacement for the shortest prefix of key found in the trie.
func (p *precompiledNorm) lookup(key string) (string, bool) {
	if len(p.units) == 0 {
		return "", false
	}
	offset := func(u uint32) int { return int((u >> 10) << ((u & (1 << 9)) >> 6)) }
	pos := 0
	u := p.units[0]
	pos ^= offset(u)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == 0 {
			break
		}
		pos ^= int(c)
		if pos < 0 || pos >= len(p.units) {
			return "", false
		}
		u = p.units[pos]
		if u&((1<<31)|0xFF) != uint32(c) {
			return "", false
		}
		pos ^= offset(u)
		if pos < 0 || pos >= len(p.units) {
			return "", false
		}
		if (u>>8)&1 == 1 {
			v := int(p.units[pos] & ((1 << 31) - 1))
			if v >= len(p.normalized) {
				return "", false
			}
			e := v
			for e < len(p.normalized) && p.normalized[e] != 0 {
				e++
			}
			return string(p.normalized[v:e]), true
		}
	}
	return "", false
}

func (p *precompiledNorm) normalize(n *normString) error {
	if len(p.units) == 0 {
		return nil
	}
	s := n.normalized
	dest := make([]change, 0, len(s))
	modified := false
	// emit mirrors HF's precompiled replace(): replacements are plain (0) changes, the last
	// diff ones become insertions when the text grows, and the last change so far (possibly
	// of an earlier character) absorbs the removal when it shrinks.
	emit := func(old, repl string) {
		diff := utf8.RuneCountInString(repl) - utf8.RuneCountInString(old)
		for _, r := range repl {
			dest = append(dest, change{r, 0})
		}
		switch {
		case diff > 0:
			for k := len(dest) - 1; k >= 0 && k >= len(dest)-diff; k-- {
				dest[k].delta = 1
			}
		case diff < 0 && len(dest) > 0:
			dest[len(dest)-1].delta += diff
		}
		modified = true
	}
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		gr := g.Str()
		if len(gr) < 6 {
			if repl, ok := p.lookup(gr); ok {
				emit(gr, repl)
				continue
			}
		}
		for i, r := range gr {
			part := gr[i : i+utf8.RuneLen(r)]
			if r == utf8.RuneError {
				_, sz := utf8.DecodeRuneInString(gr[i:])
				part = gr[i : i+sz]
			}
			if repl, ok := p.lookup(part); ok {
				emit(part, repl)
			} else {
				dest = append(dest, change{r, 0})
			}
		}
	}
	if modified {
		n.transform(dest, 0)
	}
	return nil
}
