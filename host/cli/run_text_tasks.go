package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/text"
)

// textTaskOutput is hfhost run --json for the per-token text tasks; Results holds one entry
// per --text, of the task's result type.
type textTaskOutput struct {
	Model   string         `json:"model"`
	Task    models.Task    `json:"task"`
	Backend string         `json:"backend"`
	Trace   backend.Trace  `json:"trace"`
	Results any            `json:"results"`
	Stats   pipeline.Stats `json:"stats"`
}

type tokenClassificationResult struct {
	Text     string        `json:"text"`
	Entities []text.Entity `json:"entities"`
}

type fillMaskResult struct {
	Text string `json:"text"`
	// Masks holds one list of predictions per mask token, in text order.
	Masks [][]text.Prediction `json:"masks"`
}

type questionAnsweringResult struct {
	Question string        `json:"question"`
	Context  string        `json:"context"`
	Answers  []text.Answer `json:"answers"`
}

type featureExtractionResult struct {
	Text string `json:"text"`
	// Features is [tokens][hidden], special tokens included.
	Features [][]float32 `json:"features"`
}

// textTaskInputs checks that the flags give texts (and pairs only where wanted) for a text task.
func textTaskInputs(d *models.Dir, task models.Task, f *runFlags, pairs bool) error {
	if len(f.inputs) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give texts with --text, not input files", d.Path, task)}
	}
	if pairs {
		if len(f.text.texts) == 0 || len(f.text.pairs) != len(f.text.texts) {
			return &usageError{fmt.Sprintf("model %s is a %s model: give each question with --text and its context with --text-pair (got %d --text and %d --text-pair)", d.Path, task, len(f.text.texts), len(f.text.pairs))}
		}
		return nil
	}
	if len(f.text.texts) == 0 {
		return &usageError{"no input: give one or more texts with --text TEXT"}
	}
	if len(f.text.pairs) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: --text-pair does not apply; it takes single texts, not --text-pair", d.Path, task)}
	}
	return nil
}

// writeTextTask writes the JSON output, or the backend line then the human-readable text.
func (e *env) writeTextTask(f *runFlags, sess *backend.Session, out textTaskOutput, human func()) error {
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	human()
	return nil
}

func newTextTaskOutput(d *models.Dir, task models.Task, sess *backend.Session, stats pipeline.Stats, results any) textTaskOutput {
	return textTaskOutput{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Results: results, Stats: stats}
}

// runTokenClassification is hfhost run for a token-classification model.
func runTokenClassification(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if err := textTaskInputs(d, task, f, false); err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	c, err := text.NewTokenClassifier(d, sess)
	if err != nil {
		return err
	}
	ents, stats, err := c.Classify(ctx, f.text.texts)
	if err != nil {
		return err
	}
	results := make([]tokenClassificationResult, len(ents))
	for i := range ents {
		results[i] = tokenClassificationResult{Text: f.text.texts[i], Entities: ents[i]}
	}
	return e.writeTextTask(f, sess, newTextTaskOutput(d, task, sess, stats, results), func() {
		for _, r := range results {
			fmt.Fprintf(e.stdout, "%s\n", strconv.Quote(r.Text))
			if len(r.Entities) == 0 {
				fmt.Fprintf(e.stdout, "  (no entities)\n")
			}
			for _, en := range r.Entities {
				fmt.Fprintf(e.stdout, "  %-12s %.4f  %-16s [%d,%d)\n", en.Entity, en.Score, strconv.Quote(en.Word), en.Start, en.End)
			}
		}
	})
}

// runFillMask is hfhost run for a fill-mask model.
func runFillMask(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if err := textTaskInputs(d, task, f, false); err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	fm, err := text.NewFillMask(d, sess)
	if err != nil {
		return err
	}
	for _, t := range f.text.texts {
		if !strings.Contains(t, fm.MaskToken()) {
			return &usageError{fmt.Sprintf("--text %q has no mask token: write %s where a word should be predicted", t, fm.MaskToken())}
		}
	}
	preds, stats, err := fm.Fill(ctx, f.text.texts, f.topK)
	if err != nil {
		return err
	}
	results := make([]fillMaskResult, len(preds))
	for i := range preds {
		results[i] = fillMaskResult{Text: f.text.texts[i], Masks: preds[i]}
	}
	return e.writeTextTask(f, sess, newTextTaskOutput(d, task, sess, stats, results), func() {
		for _, r := range results {
			fmt.Fprintf(e.stdout, "%s\n", strconv.Quote(r.Text))
			for j, mask := range r.Masks {
				if len(r.Masks) > 1 {
					fmt.Fprintf(e.stdout, " mask %d:\n", j+1)
				}
				for _, p := range mask {
					fmt.Fprintf(e.stdout, "  %-16s %.4f  %s\n", strconv.Quote(p.TokenStr), p.Score, strconv.Quote(p.Sequence))
				}
			}
		}
	})
}

// runQuestionAnswering is hfhost run for an extractive question-answering model: --text is the
// question, --text-pair its context.
func runQuestionAnswering(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if err := textTaskInputs(d, task, f, true); err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	q, err := text.NewQuestionAnswerer(d, sess)
	if err != nil {
		return err
	}
	k := f.topK
	if !f.topKSet {
		k = 1 // the question-answering pipeline's default top_k
	}
	answers, stats, err := q.Answer(ctx, f.text.texts, f.text.pairs, k)
	if err != nil {
		return err
	}
	results := make([]questionAnsweringResult, len(answers))
	for i := range answers {
		results[i] = questionAnsweringResult{Question: f.text.texts[i], Context: f.text.pairs[i], Answers: answers[i]}
	}
	return e.writeTextTask(f, sess, newTextTaskOutput(d, task, sess, stats, results), func() {
		for _, r := range results {
			fmt.Fprintf(e.stdout, "%s\n", strconv.Quote(r.Question))
			if len(r.Answers) == 0 {
				fmt.Fprintf(e.stdout, "  (no answer)\n")
			}
			for _, a := range r.Answers {
				fmt.Fprintf(e.stdout, "  %.4f  %s [%d,%d)\n", a.Score, strconv.Quote(a.Answer), a.Start, a.End)
			}
		}
	})
}

// runFeatureExtraction is hfhost run for a bare text encoder: one hidden-state vector per token.
func runFeatureExtraction(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if fam != models.TextEncoder {
		return fmt.Errorf("model %s is a %s %s model; hfhost run extracts features from text encoders only in this build", d.Path, fam, task)
	}
	if err := textTaskInputs(d, task, f, false); err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	fx, err := text.NewFeatureExtractor(d, sess)
	if err != nil {
		return err
	}
	feats, stats, err := fx.Extract(ctx, f.text.texts)
	if err != nil {
		return err
	}
	results := make([]featureExtractionResult, len(feats))
	for i := range feats {
		results[i] = featureExtractionResult{Text: f.text.texts[i], Features: feats[i]}
	}
	return e.writeTextTask(f, sess, newTextTaskOutput(d, task, sess, stats, results), func() {
		for _, r := range results {
			hidden := 0
			if len(r.Features) > 0 {
				hidden = len(r.Features[0])
			}
			fmt.Fprintf(e.stdout, "%s: %d tokens x %d (%s; --json prints every value)\n", strconv.Quote(r.Text), len(r.Features), hidden, fx.Output())
			for t, v := range r.Features {
				fmt.Fprintf(e.stdout, "  [%d] %s\n", t, formatVector(v, 4))
			}
		}
	})
}

// formatVector prints the first n values of v and how many there are.
func formatVector(v []float32, n int) string {
	var b strings.Builder
	for i, x := range v[:min(n, len(v))] {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%8.4f", x)
	}
	if len(v) > n {
		fmt.Fprintf(&b, " ... (%d values)", len(v))
	}
	return b.String()
}
