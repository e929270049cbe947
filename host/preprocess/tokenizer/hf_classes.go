package tokenizer

import "unicode"

// HF takes a few character classes from crates with old Unicode tables (unicode_categories,
// unicode-normalization-alignments), so Go's unicode package (15.0) disagrees with it on
// characters added since (U+2E5A, new Arabic and Brahmic marks...). These tables are HF's
// classes as gen_tokenizers.py probed them (hf_unicode.go); they are immutable once built.
var (
	hfPunctTable          = rangeTable(hfPunctRanges)
	hfCleanRemovedTable   = rangeTable(hfCleanRemovedRanges)
	hfMarkTable           = rangeTable(hfMarkRanges)
	hfNonSpacingMarkTable = rangeTable(hfNonSpacingMarkRanges)
	hfDecomposesNFDTable  = rangeTable(hfDecomposesNFDRanges)
	hfDecomposesNFKDTable = rangeTable(hfDecomposesNFKDRanges)
	hfReordersTable       = rangeTable(hfReordersRanges)
)

// hfDecomposes reports whether HF's normalization tables decompose r (canonically, or with
// compat also compatibly); characters newer than them stay as they are in HF.
func hfDecomposes(r rune, compat bool) bool {
	if r < 0xC0 {
		return compat && unicode.Is(hfDecomposesNFKDTable, r)
	}
	if compat {
		return unicode.Is(hfDecomposesNFKDTable, r)
	}
	return unicode.Is(hfDecomposesNFDTable, r)
}

// hfCCC is the canonical combining class HF's tables give r: Go's, except for marks newer
// than HF's tables, which HF sees as starters.
func hfCCC(r rune, goCCC uint8) uint8 {
	if goCCC <= 1 || unicode.Is(hfReordersTable, r) {
		return goCCC
	}
	return 0
}

// rangeTable turns inclusive [lo, hi] pairs (sorted, disjoint) into a unicode.RangeTable.
func rangeTable(pairs []uint32) *unicode.RangeTable {
	t := &unicode.RangeTable{}
	for i := 0; i+1 < len(pairs); i += 2 {
		lo, hi := pairs[i], pairs[i+1]
		if hi <= 0xFFFF {
			t.R16 = append(t.R16, unicode.Range16{Lo: uint16(lo), Hi: uint16(hi), Stride: 1})
			if hi <= unicode.MaxLatin1 {
				t.LatinOffset++
			}
			continue
		}
		if lo <= 0xFFFF {
			t.R16 = append(t.R16, unicode.Range16{Lo: uint16(lo), Hi: 0xFFFF, Stride: 1})
			lo = 0x10000
		}
		t.R32 = append(t.R32, unicode.Range32{Lo: lo, Hi: hi, Stride: 1})
	}
	return t
}

// isPunc is HF's is_punc (BertPreTokenizer, Punctuation).
func isPunc(r rune) bool {
	if r < 0x80 {
		return isASCIIPunct(r)
	}
	return unicode.Is(hfPunctTable, r)
}

// isBertCleaned reports whether BertNormalizer's clean_text drops r (NUL, U+FFFD, controls).
func isBertCleaned(r rune) bool {
	if r < 0x80 {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7F
	}
	return unicode.Is(hfCleanRemovedTable, r)
}

// isMark is what the StripAccents normalizer removes.
func isMark(r rune) bool { return r >= 0x300 && unicode.Is(hfMarkTable, r) }

// isNonSpacingMark is what BertNormalizer's strip_accents removes after NFD.
func isNonSpacingMark(r rune) bool { return r >= 0x300 && unicode.Is(hfNonSpacingMarkTable, r) }
