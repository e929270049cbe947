package tokenizer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Direction says which side truncation cuts or padding fills.
type Direction int

const (
	// Right truncates or pads at the end (HF's default).
	Right Direction = iota
	// Left truncates or pads at the start.
	Left
)

// TruncationStrategy is how a pair shares MaxLength.
type TruncationStrategy int

const (
	// LongestFirst removes tokens from the longer sequence first.
	LongestFirst TruncationStrategy = iota
	// OnlyFirst truncates only the first sequence.
	OnlyFirst
	// OnlySecond truncates only the second sequence.
	OnlySecond
)

// Truncation is tokenizer.json's truncation section (HF's TruncationParams).
type Truncation struct {
	MaxLength int
	Stride    int
	Strategy  TruncationStrategy
	Direction Direction
}

// Padding is tokenizer.json's padding section (HF's PaddingParams). Length 0 pads a batch to
// its longest encoding (BatchLongest); Length > 0 pads to that fixed length.
type Padding struct {
	Length          int
	PadToMultipleOf int
	Direction       Direction
	PadID           int
	PadTypeID       int
	PadToken        string
}

// EncodeOptions adjusts one Encode call. The zero value encodes like HF's
// tokenizer.encode(text) with the tokenizer.json's truncation and padding.
type EncodeOptions struct {
	// NoSpecialTokens skips the post-processor's special tokens (add_special_tokens=False).
	NoSpecialTokens bool
	// Truncation replaces tokenizer.json's truncation when non-nil.
	Truncation *Truncation
	// NoTruncation disables truncation altogether.
	NoTruncation bool
	// Padding replaces tokenizer.json's padding when non-nil.
	Padding *Padding
	// NoPadding disables padding altogether.
	NoPadding bool
}

// Tokenizer is a loaded tokenizer.json. It is safe for concurrent use.
type Tokenizer struct {
	normalizer normalizer
	pre        preTokenizer
	model      model
	post       postProcessor
	decoder    decoder
	added      *addedVocab
	truncation *Truncation
	padding    *Padding
}

// FromFile loads a tokenizer.json file.
func FromFile(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errorf("reading tokenizer file: %v", err)
	}
	t, err := FromBytes(b)
	if err != nil {
		return nil, errorf("%s: %w", path, err)
	}
	return t, nil
}

// FromBytes loads the contents of a tokenizer.json file.
func FromBytes(b []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, errorf("tokenizer.json is not valid JSON of the HF tokenizers format: %v", err)
	}
	t := &Tokenizer{}
	var err error
	if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if t.model, err = parseModel(f.Model); err != nil {
		return nil, err
	}
	if t.post, err = parsePostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	if t.decoder, err = parseDecoder(f.Decoder); err != nil {
		return nil, err
	}
	if t.added, err = newAddedVocab(f.AddedTokens, t.model, t.normalizer); err != nil {
		return nil, err
	}
	if t.truncation, err = parseTruncation(f.Truncation); err != nil {
		return nil, err
	}
	if t.padding, err = parsePadding(f.Padding); err != nil {
		return nil, err
	}
	return t, nil
}

func parseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "", "right":
		return Right, nil
	case "left":
		return Left, nil
	}
	return 0, errorf("direction %q is not Left or Right", s)
}

func parseTruncation(r json.RawMessage) (*Truncation, error) {
	if isNull(r) {
		return nil, nil
	}
	var c struct {
		Direction string `json:"direction"`
		MaxLength int    `json:"max_length"`
		Strategy  string `json:"strategy"`
		Stride    int    `json:"stride"`
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("truncation: %v", err)
	}
	t := &Truncation{MaxLength: c.MaxLength, Stride: c.Stride}
	var err error
	if t.Direction, err = parseDirection(c.Direction); err != nil {
		return nil, errorf("truncation: %w", err)
	}
	switch strings.ToLower(strings.ReplaceAll(c.Strategy, "_", "")) {
	case "", "longestfirst":
		t.Strategy = LongestFirst
	case "onlyfirst":
		t.Strategy = OnlyFirst
	case "onlysecond":
		t.Strategy = OnlySecond
	default:
		return nil, errorf("truncation strategy %q is not LongestFirst, OnlyFirst or OnlySecond", c.Strategy)
	}
	return t, nil
}

func parsePadding(r json.RawMessage) (*Padding, error) {
	if isNull(r) {
		return nil, nil
	}
	var c struct {
		Strategy        json.RawMessage `json:"strategy"`
		Direction       string          `json:"direction"`
		PadToMultipleOf *int            `json:"pad_to_multiple_of"`
		PadID           int             `json:"pad_id"`
		PadTypeID       int             `json:"pad_type_id"`
		PadToken        string          `json:"pad_token"`
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("padding: %v", err)
	}
	p := &Padding{PadID: c.PadID, PadTypeID: c.PadTypeID, PadToken: c.PadToken}
	if c.PadToMultipleOf != nil {
		p.PadToMultipleOf = *c.PadToMultipleOf
	}
	var err error
	if p.Direction, err = parseDirection(c.Direction); err != nil {
		return nil, errorf("padding: %w", err)
	}
	var s string
	if json.Unmarshal(c.Strategy, &s) == nil {
		if s != "BatchLongest" {
			return nil, errorf("padding strategy %q is not BatchLongest or {\"Fixed\": n}", s)
		}
	} else {
		var f struct {
			Fixed int `json:"Fixed"`
		}
		if err := json.Unmarshal(c.Strategy, &f); err != nil {
			return nil, errorf("padding strategy %s is not BatchLongest or {\"Fixed\": n}", string(c.Strategy))
		}
		p.Length = f.Fixed
	}
	return p, nil
}

// Truncation returns the truncation read from tokenizer.json (nil when none).
func (t *Tokenizer) Truncation() *Truncation {
	if t.truncation == nil {
		return nil
	}
	c := *t.truncation
	return &c
}

// Padding returns the padding read from tokenizer.json (nil when none).
func (t *Tokenizer) Padding() *Padding {
	if t.padding == nil {
		return nil
	}
	c := *t.padding
	return &c
}

// VocabSize is the model's vocabulary plus the added tokens that are not in it (HF's
// get_vocab_size(with_added_tokens=True)).
func (t *Tokenizer) VocabSize() int {
	n := t.model.vocabSize()
	for c := range t.added.byContent {
		if _, ok := t.model.tokenToID(c); !ok {
			n++
		}
	}
	return n
}

// TokenToID returns the id of a token (added tokens first, then the model's vocabulary).
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	if id, ok := t.added.byContent[tok]; ok {
		return id, true
	}
	return t.model.tokenToID(tok)
}

// IDToToken returns the token of an id.
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if a, ok := t.added.byID[id]; ok {
		return a.Content, true
	}
	return t.model.idToToken(id)
}

func checkUTF8(s, what string) error {
	if utf8.ValidString(s) {
		return nil
	}
	for i := 0; i < len(s); {
		r, sz := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && sz == 1 {
			return errorf("%s is not valid UTF-8: invalid byte 0x%02x at byte offset %d; convert it to UTF-8 (or strings.ToValidUTF8) before encoding", what, s[i], i)
		}
		i += sz
	}
	return nil
}

// input is one side of an Encode call: a text, or words (is_pretokenized).
type input struct {
	text    string
	words   []string
	isWords bool
}

// encodeInput encodes one side; each word of a pre-split input is encoded on its own with its
// index as word id and offsets relative to the word, as HF does.
func (t *Tokenizer) encodeInput(in input, typeID int, what string) (*Encoding, error) {
	if !in.isWords {
		if err := checkUTF8(in.text, what); err != nil {
			return nil, err
		}
		return t.encodeSequence(in.text, typeID, -1)
	}
	parts := make([]*Encoding, 0, len(in.words))
	for i, w := range in.words {
		if err := checkUTF8(w, fmt.Sprintf("%s word %d", what, i)); err != nil {
			return nil, err
		}
		e, err := t.encodeSequence(w, typeID, i)
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	return mergeEncodings(parts), nil
}

// encodeSequence runs added tokens, normalizer, pre-tokenizer and model on one text. wordIdx,
// when not -1, is the word id of every token (pre-split input).
func (t *Tokenizer) encodeSequence(text string, typeID, wordIdx int) (*Encoding, error) {
	p, err := t.added.extractAndNormalize(t.normalizer, text)
	if err != nil {
		return nil, err
	}
	if t.pre != nil {
		if err := t.pre.preTokenize(p); err != nil {
			return nil, err
		}
	}
	for i := range p.splits {
		s := &p.splits[i]
		if s.done {
			continue
		}
		if s.tokens, err = t.model.tokenize(s.n.normalized); err != nil {
			return nil, err
		}
		s.done = true
	}
	// byte -> char index map of the original text
	var charAt []int
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		charAt = make([]int, len(text))
		ci := 0
		for b, r := range text {
			l := utf8.RuneLen(r)
			for k := 0; k < l && b+k < len(text); k++ {
				charAt[b+k] = ci
			}
			ci++
		}
	}
	conv := func(o [2]int) [2]int {
		if ascii {
			return o
		}
		if o[0] >= len(charAt) || o[0] < 0 {
			return o
		}
		st := charAt[o[0]]
		if o[1] < len(charAt) && o[1] >= 0 {
			return [2]int{st, charAt[o[1]]}
		}
		last := st + 1
		if o[1]-1 >= 0 && o[1]-1 < len(charAt) {
			last = charAt[o[1]-1]
		}
		return [2]int{st, last + 1}
	}
	n := 0
	for _, s := range p.splits {
		n += len(s.tokens)
	}
	e := &Encoding{
		IDs: make([]int, 0, n), TypeIDs: make([]int, 0, n), Tokens: make([]string, 0, n),
		Offsets: make([][2]int, 0, n), ByteOffsets: make([][2]int, 0, n), WordIDs: make([]int, 0, n),
		AttentionMask: make([]int, 0, n), SpecialTokensMask: make([]int, 0, n),
	}
	for idx, s := range p.splits {
		base := s.n.shift
		for _, tk := range s.tokens {
			bo := [2]int{tk.offsets.start, tk.offsets.end}
			if o, ok := s.n.normToOrig(tk.offsets); ok {
				bo = [2]int{base + o.start, base + o.end}
			}
			w := idx
			if wordIdx >= 0 {
				w = wordIdx
			}
			e.push(tk.id, tk.value, conv(bo), bo, w, typeID, false)
		}
	}
	return e, nil
}

// Encode encodes one text.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) (*Encoding, error) {
	return t.encode(input{text: text}, nil, opts, true)
}

// EncodePair encodes a pair of texts (e.g. question and context) into one sequence.
func (t *Tokenizer) EncodePair(a, b string, opts EncodeOptions) (*Encoding, error) {
	return t.encode(input{text: a}, &input{text: b}, opts, true)
}

// EncodeWords encodes a text already split into words (HF's is_pretokenized=True, transformers'
// is_split_into_words): every word goes through the whole pipeline on its own, WordIDs are the
// word indexes and Offsets/ByteOffsets are relative to each word.
func (t *Tokenizer) EncodeWords(words []string, opts EncodeOptions) (*Encoding, error) {
	return t.encode(input{words: words, isWords: true}, nil, opts, true)
}

// EncodeWordsPair is EncodeWords for a pair of pre-split texts.
func (t *Tokenizer) EncodeWordsPair(a, b []string, opts EncodeOptions) (*Encoding, error) {
	return t.encode(input{words: a, isWords: true}, &input{words: b, isWords: true}, opts, true)
}

func (t *Tokenizer) truncationFor(opts EncodeOptions) *Truncation {
	if opts.NoTruncation {
		return nil
	}
	if opts.Truncation != nil {
		return opts.Truncation
	}
	return t.truncation
}

func (t *Tokenizer) paddingFor(opts EncodeOptions) *Padding {
	if opts.NoPadding {
		return nil
	}
	if opts.Padding != nil {
		return opts.Padding
	}
	return t.padding
}

func (t *Tokenizer) encode(a input, b *input, opts EncodeOptions, pad bool) (*Encoding, error) {
	ea, err := t.encodeInput(a, 0, "text")
	if err != nil {
		return nil, err
	}
	var eb *Encoding
	if b != nil {
		if eb, err = t.encodeInput(*b, 1, "pair text"); err != nil {
			return nil, err
		}
	}
	addSpecial := !opts.NoSpecialTokens
	if tr := t.truncationFor(opts); tr != nil {
		p := *tr
		if t.post != nil && addSpecial {
			if n := t.post.addedTokens(eb != nil); n > 0 {
				p.MaxLength -= n
				if p.MaxLength < 0 {
					return nil, errorf("truncation max_length %d is smaller than the %d special tokens the post-processor adds", tr.MaxLength, n)
				}
			}
		}
		if err := truncateEncodings(ea, eb, p); err != nil {
			return nil, err
		}
	}
	encs := []*Encoding{ea}
	if eb != nil {
		encs = append(encs, eb)
	}
	var out *Encoding
	if t.post != nil {
		if out, err = postProcess(t.post, encs, addSpecial); err != nil {
			return nil, err
		}
	} else if len(encs) == 1 {
		out = ea
	} else {
		for i, e := range encs {
			e.setSequenceID(i)
		}
		out = mergeEncodings(encs)
	}
	if p := t.paddingFor(opts); p != nil && pad {
		padEncodings([]*Encoding{out}, p)
	}
	out.finish()
	return out, nil
}

func truncateEncodings(a, b *Encoding, p Truncation) error {
	if p.MaxLength == 0 {
		if err := a.truncate(0, p.Stride, p.Direction); err != nil {
			return err
		}
		if b != nil {
			return b.truncate(0, p.Stride, p.Direction)
		}
		return nil
	}
	total := a.Len()
	if b != nil {
		total += b.Len()
	}
	if total <= p.MaxLength {
		return nil
	}
	toRemove := total - p.MaxLength
	switch p.Strategy {
	case LongestFirst:
		if b == nil {
			return a.truncate(total-toRemove, p.Stride, p.Direction)
		}
		n1, n2 := a.Len(), b.Len()
		swap := false
		if n1 > n2 {
			swap = true
			n1, n2 = n2, n1
		}
		if n1 > p.MaxLength {
			n2 = n1
		} else {
			n2 = max(n1, p.MaxLength-n1)
		}
		if n1+n2 > p.MaxLength {
			n1 = p.MaxLength / 2
			n2 = n1 + p.MaxLength%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		if err := a.truncate(n1, p.Stride, p.Direction); err != nil {
			return err
		}
		return b.truncate(n2, p.Stride, p.Direction)
	default:
		target := a
		if p.Strategy == OnlySecond {
			if b == nil {
				return errorf("truncation strategy OnlySecond needs a pair of texts")
			}
			target = b
		}
		if target.Len() <= toRemove {
			return errorf("truncation: the sequence to truncate has %d tokens, fewer than the %d to remove; use LongestFirst or a larger max_length", target.Len(), toRemove)
		}
		return target.truncate(target.Len()-toRemove, p.Stride, p.Direction)
	}
}

func padEncodings(encs []*Encoding, p *Padding) {
	if len(encs) == 0 {
		return
	}
	n := p.Length
	if n == 0 {
		for _, e := range encs {
			n = max(n, e.Len())
		}
	}
	if m := p.PadToMultipleOf; m > 0 && n%m > 0 {
		n += m - n%m
	}
	for _, e := range encs {
		e.pad(n, p.PadID, p.PadTypeID, p.PadToken, p.Direction)
	}
}

// EncodeBatch encodes texts in parallel and pads them together (HF's encode_batch). The
// context cancels the remaining work.
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string, opts EncodeOptions) ([]*Encoding, error) {
	return t.encodeBatch(ctx, len(texts), func(i int) (*Encoding, error) { return t.encode(input{text: texts[i]}, nil, opts, true) }, opts)
}

// EncodePairBatch encodes pairs of texts in parallel and pads them together.
func (t *Tokenizer) EncodePairBatch(ctx context.Context, pairs [][2]string, opts EncodeOptions) ([]*Encoding, error) {
	return t.encodeBatch(ctx, len(pairs), func(i int) (*Encoding, error) {
		return t.encode(input{text: pairs[i][0]}, &input{text: pairs[i][1]}, opts, true)
	}, opts)
}

func (t *Tokenizer) encodeBatch(ctx context.Context, n int, f func(int) (*Encoding, error), opts EncodeOptions) ([]*Encoding, error) {
	out := make([]*Encoding, n)
	err := parallel(ctx, n, func(i int) error {
		var err error
		out[i], err = f(i)
		return err
	})
	if err != nil {
		return nil, err
	}
	if p := t.paddingFor(opts); p != nil {
		padEncodings(out, p)
		for _, e := range out {
			e.finish()
		}
	}
	return out, nil
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines; it stops early when ctx is done and
// returns the error of the first failing item.
func parallel(ctx context.Context, n int, f func(int) error) error {
	errs := make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, err := range errs {
		if err != nil {
			return errorf("batch item %d: %w", i, err)
		}
	}
	return nil
}

// DecodeOptions adjusts Decode.
type DecodeOptions struct {
	// SkipSpecialTokens drops special added tokens (skip_special_tokens=True).
	SkipSpecialTokens bool
	// CleanUpTokenizationSpaces applies transformers' clean_up_tokenization to the text, as
	// PreTrainedTokenizerFast.decode does when tokenizer_config.json's
	// clean_up_tokenization_spaces is true.
	CleanUpTokenizationSpaces bool
}

// Decode turns ids back into text. Unknown ids are skipped, as HF does.
func (t *Tokenizer) Decode(ids []int, opts DecodeOptions) (string, error) {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		tok, ok := t.IDToToken(id)
		if !ok {
			continue
		}
		if opts.SkipSpecialTokens && t.added.special[tok] {
			continue
		}
		toks = append(toks, tok)
	}
	var s string
	if t.decoder != nil {
		parts, err := t.decoder.decodeChain(toks)
		if err != nil {
			return "", err
		}
		s = strings.Join(parts, "")
	} else {
		s = strings.Join(toks, " ")
	}
	if opts.CleanUpTokenizationSpaces {
		s = CleanUpTokenizationSpaces(s)
	}
	return s, nil
}

// DecodeBatch decodes several id sequences in parallel.
func (t *Tokenizer) DecodeBatch(ctx context.Context, batch [][]int, opts DecodeOptions) ([]string, error) {
	out := make([]string, len(batch))
	err := parallel(ctx, len(batch), func(i int) error {
		var err error
		out[i], err = t.Decode(batch[i], opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
