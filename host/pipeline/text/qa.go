package text

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/preprocess/tokenizer"
	"github.com/hfhost/hfhost/sdk"
)

// Answer is one answer span, as transformers' QuestionAnsweringPipeline reports it.
type Answer struct {
	// Score is the span probability: P(start) * P(end), summed over the spans that give the
	// same answer text (case-insensitively).
	Score float32 `json:"score"`
	// Start and End are the answer's span in the context, in Unicode code points.
	Start int `json:"start"`
	End   int `json:"end"`
	// Answer is the context text between Start and End.
	Answer string `json:"answer"`
}

// QA defaults of transformers' QuestionAnsweringPipeline.
const (
	// DefaultMaxAnswerLen is the longest answer, in tokens.
	DefaultMaxAnswerLen = 15
	// DefaultDocStride is the overlap, in tokens, of the windows a long context is cut into.
	DefaultDocStride = 128
	// defaultMaxSeqLen caps each window (question, context and special tokens).
	defaultMaxSeqLen = 384
)

// QuestionAnswerer is the extractive question-answering pipeline with transformers' defaults:
// question and context are encoded as a pair (question first when the tokenizer pads on the
// right), the context truncated to windows of min(model_max_length, 384) tokens overlapping by
// min(384/2, 128) tokens (doc_stride); for each window the start and end logits outside the
// context are set to -10000, each goes through softmax, position 0 is zeroed, spans with
// start <= end < start + max_answer_len (15) are scored P(start)*P(end), the best
// 2*top_k+10 spans per window are mapped to whole words of the context (align_to_words), equal
// answers are merged by adding their scores, and the top_k (1) best are returned.
// handle_impossible_answer is false: the empty answer is never returned. It is safe for
// concurrent use if its runner is.
type QuestionAnswerer struct {
	enc          *encoder
	questionLast bool // padding_side "left": the context comes first
	clsID        int
	maxSeqLen    int
	docStride    int
}

// NewQuestionAnswerer prepares a question-answering pipeline for a model directory whose graph
// "model" (outputs start_logits and end_logits) is loaded in runner.
func NewQuestionAnswerer(dir *models.Dir, runner pipeline.Runner) (*QuestionAnswerer, error) {
	const what = "question answering"
	e, err := newEncoder(what, dir, runner)
	if err != nil {
		return nil, err
	}
	for _, o := range []string{"start_logits", "end_logits"} {
		if !e.hasOutput(o) {
			return nil, fmt.Errorf("%s: model has no output %q; want a graph exported with --task question-answering", what, o)
		}
	}
	q := &QuestionAnswerer{enc: e, maxSeqLen: defaultMaxSeqLen}
	switch e.cfg.PaddingSide {
	case "", "right":
	case "left":
		q.questionLast = true
	default:
		return nil, fmt.Errorf("%s: tokenizer_config.json padding_side is %q; want \"right\" or \"left\"", what, e.cfg.PaddingSide)
	}
	if m := e.cfg.ModelMaxLength; m != nil && *m > 0 && *m < defaultMaxSeqLen {
		q.maxSeqLen = int(*m)
	}
	q.docStride = min(q.maxSeqLen/2, DefaultDocStride)
	if q.clsID, err = e.specialID("cls_token", e.cfg.CLSToken); err != nil {
		return nil, err
	}
	return q, nil
}

// Answer returns the k best answers (k <= 0: 1) to each question in its context, best first.
// questions and contexts pair up one to one.
func (q *QuestionAnswerer) Answer(ctx context.Context, questions, contexts []string, k int) ([][]Answer, pipeline.Stats, error) {
	var stats pipeline.Stats
	if len(questions) != len(contexts) {
		return nil, stats, fmt.Errorf("question answering: %d questions and %d contexts; give one context per question", len(questions), len(contexts))
	}
	if k <= 0 {
		k = 1
	}
	out := make([][]Answer, len(questions))
	for i := range questions {
		if strings.TrimSpace(questions[i]) == "" || strings.TrimSpace(contexts[i]) == "" {
			return nil, stats, fmt.Errorf("question answering: pair %d has an empty question or context; give both", i)
		}
		a, s, err := q.answer(ctx, questions[i], contexts[i], k)
		stats.Add(s)
		if err != nil {
			return nil, stats, fmt.Errorf("question answering: pair %d: %w", i, err)
		}
		out[i] = a
	}
	return out, stats, nil
}

func (q *QuestionAnswerer) answer(ctx context.Context, question, contextText string, k int) ([]Answer, pipeline.Stats, error) {
	var stats pipeline.Stats
	t0 := time.Now()
	first, second, strategy, ctxSeq := question, contextText, tokenizer.OnlySecond, 1
	if q.questionLast {
		first, second, strategy, ctxSeq = contextText, question, tokenizer.OnlyFirst, 0
	}
	enc, err := q.enc.tok.EncodePair(first, second, tokenizer.EncodeOptions{
		NoPadding:  true,
		Truncation: &tokenizer.Truncation{MaxLength: q.maxSeqLen, Stride: q.docStride, Strategy: strategy},
	})
	if err != nil {
		return nil, stats, err
	}
	windows := append([]*tokenizer.Encoding{enc}, enc.Overflowing...)
	stats.Preprocess = time.Since(t0)

	ctxRunes := []rune(contextText)
	var answers []Answer
	for _, w := range windows {
		res, d, err := q.enc.run(ctx, w, "start_logits", "end_logits")
		stats.Model += d
		if err != nil {
			return nil, stats, err
		}
		t1 := time.Now()
		start, err := spanLogits(res, "start_logits", w.Len())
		if err != nil {
			return nil, stats, err
		}
		end, err := spanLogits(res, "end_logits", w.Len())
		if err != nil {
			return nil, stats, err
		}
		// p_mask: only context tokens (and the CLS token) may be part of the answer.
		allowed := make([]bool, w.Len())
		for t := range allowed {
			allowed[t] = (w.SequenceIDs[t] == ctxSeq || (q.clsID >= 0 && w.IDs[t] == q.clsID)) && w.AttentionMask[t] == 1
		}
		for _, sp := range bestSpans(start, end, allowed, 2*k+10, DefaultMaxAnswerLen) {
			a, b := wordChars(w, sp.s, ctxSeq), wordChars(w, sp.e, ctxSeq)
			if w.WordIDs[sp.s] < 0 || w.WordIDs[sp.e] < 0 {
				// As transformers: when either end has no word, both use token offsets.
				a, b = w.Offsets[sp.s], w.Offsets[sp.e]
			}
			if a[0] > len(ctxRunes) || b[1] > len(ctxRunes) || a[0] > b[1] {
				return nil, stats, fmt.Errorf("answer span [%d,%d) lies outside the %d-character context; the tokenizer's offsets are inconsistent", a[0], b[1], len(ctxRunes))
			}
			text := string(ctxRunes[a[0]:b[1]])
			merged := false
			for j := range answers {
				if strings.EqualFold(answers[j].Answer, text) { // transformers compares .lower() forms
					answers[j].Score += sp.score
					merged = true
					break
				}
			}
			if !merged {
				answers = append(answers, Answer{Score: sp.score, Start: a[0], End: b[1], Answer: text})
			}
		}
		stats.Postprocess += time.Since(t1)
	}
	sort.SliceStable(answers, func(a, b int) bool { return answers[a].Score > answers[b].Score })
	if len(answers) > k {
		answers = answers[:k]
	}
	return answers, stats, nil
}

// spanLogits returns a [1, n] output of a run.
func spanLogits(res *sdk.RunResult, name string, n int) ([]float32, error) {
	data, shape, err := pipeline.Output(res, name)
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 || shape[0] != 1 || int(shape[1]) != n {
		return nil, fmt.Errorf("model output %q has shape %s; want [1,%d] (one window of %d tokens)", name, sdk.FormatShape(shape), n, n)
	}
	return data, nil
}

// span is a candidate answer: token positions (inclusive) and P(start)*P(end).
type span struct {
	s, e  int
	score float32
}

// bestSpans is transformers' select_starts_ends and decode_spans: softmax over the start and
// end logits with disallowed positions at -10000 and position 0 zeroed, then the topk best
// entries of the [n, n] matrix of P(start)*P(end) restricted to start <= end < start+maxLen
// (zeros elsewhere), kept when both ends are allowed.
func bestSpans(startLogits, endLogits []float32, allowed []bool, topk, maxLen int) []span {
	n := len(startLogits)
	mask := func(x []float32) []float32 {
		m := make([]float32, n)
		for i, v := range x {
			m[i] = v
			if !allowed[i] {
				m[i] = -10000
			}
		}
		return m
	}
	ps, pe := pipeline.Softmax(mask(startLogits)), pipeline.Softmax(mask(endLogits))
	ps[0], pe[0] = 0, 0
	score := func(s, e int) float32 {
		if e < s || e-s > maxLen-1 {
			return 0
		}
		return ps[s] * pe[e]
	}
	// The best topk of all n*n entries, ties in row-major order. Positive entries only
	// exist inside the band, so the band is scanned first and zeros fill up the rest in order.
	var cands []span
	for s := 0; s < n; s++ {
		for e := s; e < min(n, s+maxLen); e++ {
			if v := score(s, e); v > 0 {
				cands = append(cands, span{s, e, v})
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	if len(cands) > topk {
		cands = cands[:topk]
	}
	for i := 0; len(cands) < topk && i < n*n; i++ {
		if s, e := i/n, i%n; score(s, e) == 0 {
			cands = append(cands, span{s, e, 0})
		}
	}
	out := cands[:0]
	for _, c := range cands {
		if allowed[c.s] && allowed[c.e] {
			out = append(out, c)
		}
	}
	return out
}

// wordChars is the character span of the context word that token t belongs to (HF's
// word_to_chars(token_to_word(t), sequence)), or the token's own offsets when it belongs to no
// word.
func wordChars(w *tokenizer.Encoding, t, seq int) [2]int {
	word := w.WordIDs[t]
	if word < 0 || w.SequenceIDs[t] != seq {
		return w.Offsets[t]
	}
	first, last := -1, -1
	for i := range w.IDs {
		if w.SequenceIDs[i] == seq && w.WordIDs[i] == word {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return [2]int{w.Offsets[first][0], w.Offsets[last][1]}
}
