package tokenizer

import (
	"bytes"
	"encoding/json"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// fileJSON is the top level of tokenizer.json.
type fileJSON struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
}

func isNull(r json.RawMessage) bool {
	t := bytes.TrimSpace(r)
	return len(t) == 0 || string(t) == "null"
}

func typeOf(r json.RawMessage) (string, error) {
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(r, &t); err != nil {
		return "", err
	}
	return t.Type, nil
}

func unknown(kind, typ string, supported string) error {
	return errorf("%s type %q is not supported; supported types: %s", kind, typ, supported)
}

// patternJSON is {"String": "..."} or {"Regex": "..."}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p patternJSON) compile(where string) (pattern, error) {
	switch {
	case p.String != nil:
		return findPattern{literalFinder(*p.String)}, nil
	case p.Regex != nil:
		return compileRegex(*p.Regex)
	}
	return nil, errorf("%s: pattern must be {\"String\": ...} or {\"Regex\": ...}", where)
}

const supportedNormalizers = "BertNormalizer, Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Strip, Replace, Prepend, Precompiled, Nmt, ByteLevel, Sequence"

func parseNormalizer(r json.RawMessage) (normalizer, error) {
	if isNull(r) {
		return nil, nil
	}
	typ, err := typeOf(r)
	if err != nil {
		return nil, errorf("normalizer: %v", err)
	}
	var c struct {
		CleanText          *bool             `json:"clean_text"`
		HandleChineseChars *bool             `json:"handle_chinese_chars"`
		StripAccents       *bool             `json:"strip_accents"`
		Lowercase          *bool             `json:"lowercase"`
		StripLeft          bool              `json:"strip_left"`
		StripRight         bool              `json:"strip_right"`
		Pattern            patternJSON       `json:"pattern"`
		Content            string            `json:"content"`
		Prepend            string            `json:"prepend"`
		PrecompiledCharmap string            `json:"precompiled_charsmap"`
		Normalizers        []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("normalizer %s: %v", typ, err)
	}
	b := func(p *bool, d bool) bool {
		if p == nil {
			return d
		}
		return *p
	}
	switch typ {
	case "BertNormalizer":
		lc := b(c.Lowercase, true)
		return bertNorm{cleanText: b(c.CleanText, true), chinese: b(c.HandleChineseChars, true), stripAccents: b(c.StripAccents, lc), lowercase: lc}, nil
	case "Lowercase":
		return lowercaseNorm{}, nil
	case "StripAccents":
		return stripAccentsNorm{}, nil
	case "NFC":
		return unicodeNorm{norm.NFC}, nil
	case "NFD":
		return unicodeNorm{norm.NFD}, nil
	case "NFKC":
		return unicodeNorm{norm.NFKC}, nil
	case "NFKD":
		return unicodeNorm{norm.NFKD}, nil
	case "Strip":
		return stripNorm{c.StripLeft, c.StripRight}, nil
	case "Replace":
		p, err := c.Pattern.compile("Replace normalizer")
		if err != nil {
			return nil, err
		}
		return replaceNorm{p, c.Content}, nil
	case "Prepend":
		return prependNorm{c.Prepend}, nil
	case "Precompiled":
		return newPrecompiled(c.PrecompiledCharmap)
	case "Nmt":
		return nmtNorm{}, nil
	case "ByteLevel":
		return byteLevelNorm{}, nil
	case "Sequence":
		var seq normalizerSeq
		for _, x := range c.Normalizers {
			n, err := parseNormalizer(x)
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	}
	return nil, unknown("normalizer", typ, supportedNormalizers)
}

func parseBehavior(s string) (splitBehavior, error) {
	switch strings.ToLower(s) {
	case "removed":
		return splitRemoved, nil
	case "isolated":
		return splitIsolated, nil
	case "mergedwithprevious", "merged_with_previous":
		return splitMergedWithPrevious, nil
	case "mergedwithnext", "merged_with_next":
		return splitMergedWithNext, nil
	case "contiguous":
		return splitContiguous, nil
	}
	return 0, errorf("split behavior %q is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous", s)
}

func parsePrependScheme(s *string, addPrefixSpace *bool) (prependScheme, error) {
	if s == nil {
		if addPrefixSpace != nil && !*addPrefixSpace {
			return prependNever, nil
		}
		return prependAlways, nil
	}
	switch strings.ToLower(*s) {
	case "always":
		return prependAlways, nil
	case "first":
		return prependFirst, nil
	case "never":
		return prependNever, nil
	}
	return 0, errorf("Metaspace prepend_scheme %q is not one of always, first, never", *s)
}

func firstRune(s, def string) rune {
	for _, r := range s {
		return r
	}
	for _, r := range def {
		return r
	}
	return 0
}

const supportedPreTokenizers = "BertPreTokenizer, ByteLevel, Metaspace, Whitespace, WhitespaceSplit, Split, Digits, Punctuation, CharDelimiterSplit, Sequence"

func parsePreTokenizer(r json.RawMessage) (preTokenizer, error) {
	if isNull(r) {
		return nil, nil
	}
	typ, err := typeOf(r)
	if err != nil {
		return nil, errorf("pre_tokenizer: %v", err)
	}
	var c struct {
		AddPrefixSpace   *bool             `json:"add_prefix_space"`
		UseRegex         *bool             `json:"use_regex"`
		Replacement      string            `json:"replacement"`
		PrependScheme    *string           `json:"prepend_scheme"`
		Split            *bool             `json:"split"`
		Pattern          patternJSON       `json:"pattern"`
		Behavior         string            `json:"behavior"`
		Invert           bool              `json:"invert"`
		IndividualDigits bool              `json:"individual_digits"`
		Delimiter        string            `json:"delimiter"`
		PreTokenizers    []json.RawMessage `json:"pretokenizers"`
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("pre_tokenizer %s: %v", typ, err)
	}
	switch typ {
	case "BertPreTokenizer":
		return bertPre{}, nil
	case "ByteLevel":
		return byteLevelPre{addPrefixSpace: c.AddPrefixSpace == nil || *c.AddPrefixSpace, useRegex: c.UseRegex == nil || *c.UseRegex}, nil
	case "Metaspace":
		sc, err := parsePrependScheme(c.PrependScheme, c.AddPrefixSpace)
		if err != nil {
			return nil, err
		}
		return metaspacePre{replacement: firstRune(c.Replacement, "▁"), scheme: sc, split: c.Split == nil || *c.Split}, nil
	case "Whitespace":
		return splitPre{invertPattern{findPattern{wordFinder{}}}, splitRemoved}, nil
	case "WhitespaceSplit":
		return splitPre{runePattern(isRustWhitespace), splitRemoved}, nil
	case "Split":
		p, err := c.Pattern.compile("Split pre-tokenizer")
		if err != nil {
			return nil, err
		}
		if c.Invert {
			p = invertPattern{p}
		}
		bh, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, err
		}
		return splitPre{p, bh}, nil
	case "Digits":
		bh := splitContiguous
		if c.IndividualDigits {
			bh = splitIsolated
		}
		return splitPre{runePattern(isN), bh}, nil
	case "Punctuation":
		bh := splitIsolated
		if c.Behavior != "" {
			if bh, err = parseBehavior(c.Behavior); err != nil {
				return nil, err
			}
		}
		return splitPre{runePattern(isPunc), bh}, nil
	case "CharDelimiterSplit":
		d := firstRune(c.Delimiter, "")
		return splitPre{runePattern(func(r rune) bool { return r == d }), splitRemoved}, nil
	case "Sequence":
		var seq preTokenizerSeq
		for _, x := range c.PreTokenizers {
			p, err := parsePreTokenizer(x)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	}
	return nil, unknown("pre_tokenizer", typ, supportedPreTokenizers)
}

const supportedModels = "BPE, WordPiece, WordLevel, Unigram"

func parseModel(r json.RawMessage) (model, error) {
	if isNull(r) {
		return nil, errorf("tokenizer.json has no model")
	}
	typ, err := typeOf(r)
	if err != nil {
		return nil, errorf("model: %v", err)
	}
	var c struct {
		Vocab                   json.RawMessage   `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
		UnkToken                *string           `json:"unk_token"`
		UnkID                   *int              `json:"unk_id"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		MaxInputCharsPerWord    *int              `json:"max_input_chars_per_word"`
		FuseUnk                 bool              `json:"fuse_unk"`
		ByteFallback            bool              `json:"byte_fallback"`
		IgnoreMerges            bool              `json:"ignore_merges"`
		Dropout                 *float64          `json:"dropout"`
	}
	if typ == "" {
		// Old files omit the model type; guess from the fields like HF does.
		var probe map[string]json.RawMessage
		_ = json.Unmarshal(r, &probe)
		switch {
		case probe["merges"] != nil:
			typ = "BPE"
		case probe["max_input_chars_per_word"] != nil:
			typ = "WordPiece"
		case probe["unk_id"] != nil:
			typ = "Unigram"
		default:
			typ = "WordLevel"
		}
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("model %s: %v", typ, err)
	}
	str := func(p *string, d string) string {
		if p == nil {
			return d
		}
		return *p
	}
	mapVocab := func() (map[string]int, error) {
		var v map[string]int
		if err := json.Unmarshal(c.Vocab, &v); err != nil {
			return nil, errorf("model %s: vocab must be an object of token to id: %v", typ, err)
		}
		return v, nil
	}
	switch typ {
	case "WordPiece":
		v, err := mapVocab()
		if err != nil {
			return nil, err
		}
		mx := 100
		if c.MaxInputCharsPerWord != nil {
			mx = *c.MaxInputCharsPerWord
		}
		return &wordPiece{vocab: newVocab(v), unk: str(c.UnkToken, "[UNK]"), prefix: str(c.ContinuingSubwordPrefix, "##"), maxChars: mx}, nil
	case "WordLevel":
		v, err := mapVocab()
		if err != nil {
			return nil, err
		}
		return &wordLevel{vocab: newVocab(v), unk: str(c.UnkToken, "<unk>")}, nil
	case "BPE":
		if c.Dropout != nil && *c.Dropout > 0 {
			return nil, errorf("BPE dropout %v is not supported (it makes encoding random); set it to null", *c.Dropout)
		}
		v, err := mapVocab()
		if err != nil {
			return nil, err
		}
		merges := make([][2]string, len(c.Merges))
		for i, m := range c.Merges {
			var s string
			if json.Unmarshal(m, &s) == nil {
				a, b, ok := strings.Cut(s, " ")
				if !ok || strings.Contains(b, " ") {
					return nil, errorf("BPE merge %d %q is not two tokens separated by one space", i, s)
				}
				merges[i] = [2]string{a, b}
				continue
			}
			var pair []string
			if err := json.Unmarshal(m, &pair); err != nil || len(pair) != 2 {
				return nil, errorf("BPE merge %d is neither \"a b\" nor [\"a\", \"b\"]: %s", i, string(m))
			}
			merges[i] = [2]string{pair[0], pair[1]}
		}
		b, err := newBPE(v, merges, str(c.ContinuingSubwordPrefix, ""))
		if err != nil {
			return nil, err
		}
		b.suffix = str(c.EndOfWordSuffix, "")
		if c.UnkToken != nil {
			b.unk, b.hasUnk = *c.UnkToken, true
		}
		b.fuseUnk, b.byteFallback, b.ignoreMerges = c.FuseUnk, c.ByteFallback, c.IgnoreMerges
		return b, nil
	case "Unigram":
		var entries [][2]json.RawMessage
		if err := json.Unmarshal(c.Vocab, &entries); err != nil {
			return nil, errorf("Unigram vocab must be a list of [piece, score]: %v", err)
		}
		pieces := make([]string, len(entries))
		scores := make([]float64, len(entries))
		for i, e := range entries {
			if err := json.Unmarshal(e[0], &pieces[i]); err != nil {
				return nil, errorf("Unigram vocab entry %d: piece: %v", i, err)
			}
			if err := json.Unmarshal(e[1], &scores[i]); err != nil {
				return nil, errorf("Unigram vocab entry %d: score: %v", i, err)
			}
		}
		unk := -1
		if c.UnkID != nil {
			unk = *c.UnkID
		}
		return newUnigram(pieces, scores, unk, c.ByteFallback)
	}
	return nil, unknown("model", typ, supportedModels)
}

const supportedPostProcessors = "BertProcessing, RobertaProcessing, ByteLevel, TemplateProcessing, Sequence"

func parseSpecialPair(r json.RawMessage, what string) (specialTok, error) {
	var a [2]json.RawMessage
	var s specialTok
	if err := json.Unmarshal(r, &a); err != nil {
		return s, errorf("post_processor %s must be [token, id]: %v", what, err)
	}
	if err := json.Unmarshal(a[0], &s.token); err != nil {
		return s, errorf("post_processor %s token: %v", what, err)
	}
	if err := json.Unmarshal(a[1], &s.id); err != nil {
		return s, errorf("post_processor %s id: %v", what, err)
	}
	return s, nil
}

func parseTemplate(r json.RawMessage, specials map[string]templateSpecial) ([]templatePiece, error) {
	var items []struct {
		SpecialToken *struct {
			ID     string `json:"id"`
			TypeID int    `json:"type_id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID     string `json:"id"`
			TypeID int    `json:"type_id"`
		} `json:"Sequence"`
	}
	if err := json.Unmarshal(r, &items); err != nil {
		return nil, errorf("TemplateProcessing template: %v", err)
	}
	var out []templatePiece
	for _, it := range items {
		switch {
		case it.Sequence != nil:
			out = append(out, templatePiece{isSeq: true, seqB: it.Sequence.ID == "B", typeID: it.Sequence.TypeID})
		case it.SpecialToken != nil:
			if _, ok := specials[it.SpecialToken.ID]; !ok {
				return nil, errorf("TemplateProcessing uses special token %q missing from its special_tokens", it.SpecialToken.ID)
			}
			out = append(out, templatePiece{special: it.SpecialToken.ID, typeID: it.SpecialToken.TypeID})
		default:
			return nil, errorf("TemplateProcessing template piece is neither SpecialToken nor Sequence")
		}
	}
	return out, nil
}

func parsePostProcessor(r json.RawMessage) (postProcessor, error) {
	if isNull(r) {
		return nil, nil
	}
	typ, err := typeOf(r)
	if err != nil {
		return nil, errorf("post_processor: %v", err)
	}
	var c struct {
		Sep            json.RawMessage `json:"sep"`
		Cls            json.RawMessage `json:"cls"`
		TrimOffsets    *bool           `json:"trim_offsets"`
		AddPrefixSpace *bool           `json:"add_prefix_space"`
		Single         json.RawMessage `json:"single"`
		Pair           json.RawMessage `json:"pair"`
		SpecialTokens  map[string]struct {
			ID     string   `json:"id"`
			IDs    []int    `json:"ids"`
			Tokens []string `json:"tokens"`
		} `json:"special_tokens"`
		Processors []json.RawMessage `json:"processors"`
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("post_processor %s: %v", typ, err)
	}
	b := func(p *bool, d bool) bool {
		if p == nil {
			return d
		}
		return *p
	}
	switch typ {
	case "BertProcessing", "RobertaProcessing":
		sep, err := parseSpecialPair(c.Sep, "sep")
		if err != nil {
			return nil, err
		}
		cls, err := parseSpecialPair(c.Cls, "cls")
		if err != nil {
			return nil, err
		}
		if typ == "BertProcessing" {
			return bertProcessing{sep: sep, cls: cls}, nil
		}
		return robertaProcessing{sep: sep, cls: cls, trimOffsets: b(c.TrimOffsets, true), addPrefixSpace: b(c.AddPrefixSpace, true)}, nil
	case "ByteLevel":
		return byteLevelPost{addPrefixSpace: b(c.AddPrefixSpace, true), trimOffsets: b(c.TrimOffsets, true)}, nil
	case "TemplateProcessing":
		sp := map[string]templateSpecial{}
		for k, v := range c.SpecialTokens {
			if len(v.IDs) != len(v.Tokens) {
				return nil, errorf("TemplateProcessing special token %q has %d ids but %d tokens", k, len(v.IDs), len(v.Tokens))
			}
			sp[k] = templateSpecial{ids: v.IDs, tokens: v.Tokens}
		}
		single, err := parseTemplate(c.Single, sp)
		if err != nil {
			return nil, err
		}
		pair, err := parseTemplate(c.Pair, sp)
		if err != nil {
			return nil, err
		}
		return templateProcessing{single: single, pair: pair, specials: sp}, nil
	case "Sequence":
		var seq postProcessorSeq
		for _, x := range c.Processors {
			p, err := parsePostProcessor(x)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	}
	return nil, unknown("post_processor", typ, supportedPostProcessors)
}

const supportedDecoders = "WordPiece, ByteLevel, Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace, CTC, Sequence"

func parseDecoder(r json.RawMessage) (decoder, error) {
	if isNull(r) {
		return nil, nil
	}
	typ, err := typeOf(r)
	if err != nil {
		return nil, errorf("decoder: %v", err)
	}
	var c struct {
		Prefix             *string           `json:"prefix"`
		Cleanup            *bool             `json:"cleanup"`
		Replacement        string            `json:"replacement"`
		PrependScheme      *string           `json:"prepend_scheme"`
		AddPrefixSpace     *bool             `json:"add_prefix_space"`
		Suffix             *string           `json:"suffix"`
		Content            json.RawMessage   `json:"content"`
		Start              int               `json:"start"`
		Stop               int               `json:"stop"`
		Pattern            patternJSON       `json:"pattern"`
		PadToken           *string           `json:"pad_token"`
		WordDelimiterToken *string           `json:"word_delimiter_token"`
		Decoders           []json.RawMessage `json:"decoders"`
	}
	if err := json.Unmarshal(r, &c); err != nil {
		return nil, errorf("decoder %s: %v", typ, err)
	}
	str := func(p *string, d string) string {
		if p == nil {
			return d
		}
		return *p
	}
	b := func(p *bool, d bool) bool {
		if p == nil {
			return d
		}
		return *p
	}
	switch typ {
	case "WordPiece":
		return wordPieceDec{prefix: str(c.Prefix, "##"), cleanup: b(c.Cleanup, true)}, nil
	case "ByteLevel":
		return byteLevelDec{}, nil
	case "Metaspace":
		sc, err := parsePrependScheme(c.PrependScheme, c.AddPrefixSpace)
		if err != nil {
			return nil, err
		}
		return metaspaceDec{replacement: firstRune(c.Replacement, "▁"), scheme: sc}, nil
	case "BPEDecoder":
		return bpeDec{suffix: str(c.Suffix, "</w>")}, nil
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		var s string
		if err := json.Unmarshal(c.Content, &s); err != nil {
			return nil, errorf("Strip decoder content: %v", err)
		}
		return stripDec{content: firstRune(s, ""), start: c.Start, stop: c.Stop}, nil
	case "Replace":
		var content string
		if err := json.Unmarshal(c.Content, &content); err != nil {
			return nil, errorf("Replace decoder content: %v", err)
		}
		p, err := c.Pattern.compile("Replace decoder")
		if err != nil {
			return nil, err
		}
		return replaceDec{p, content}, nil
	case "CTC":
		return ctcDec{pad: str(c.PadToken, "<pad>"), delim: str(c.WordDelimiterToken, "|"), cleanup: b(c.Cleanup, true)}, nil
	case "Sequence":
		var seq decoderSeq
		for _, x := range c.Decoders {
			d, err := parseDecoder(x)
			if err != nil {
				return nil, err
			}
			if d != nil {
				seq = append(seq, d)
			}
		}
		return seq, nil
	}
	return nil, unknown("decoder", typ, supportedDecoders)
}
