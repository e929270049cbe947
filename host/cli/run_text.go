package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/text"
)

// textFlags are hfhost run's flags for text models.
type textFlags struct {
	texts stringList
	pairs stringList
}

func (f *textFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.texts, "text", "text to classify (repeatable; text models)")
	fs.Var(&f.pairs, "text-pair", "second text of a pair, one per --text in order (repeatable; text models)")
}

type textRunResult struct {
	Text     string           `json:"text"`
	TextPair string           `json:"text_pair,omitempty"`
	Labels   []pipeline.Label `json:"labels"`
}

// runTextClassification is hfhost run for a text-classification model.
func runTextClassification(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if len(f.inputs) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give texts with --text, not input files", d.Path, task)}
	}
	if len(f.text.texts) == 0 {
		return &usageError{"no input: give one or more texts with --text TEXT"}
	}
	var pairs []string
	if len(f.text.pairs) > 0 {
		if len(f.text.pairs) != len(f.text.texts) {
			return &usageError{fmt.Sprintf("%d --text and %d --text-pair: give one --text-pair per --text, or none", len(f.text.texts), len(f.text.pairs))}
		}
		pairs = f.text.pairs
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	clf, err := text.NewClassifier(d, sess)
	if err != nil {
		return err
	}
	labels, stats, err := clf.Classify(ctx, f.text.texts, pairs, f.topK)
	if err != nil {
		return err
	}
	out := taskOutput[textRunResult]{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Stats: stats}
	for i, t := range f.text.texts {
		r := textRunResult{Text: t, Labels: labels[i]}
		if pairs != nil {
			r.TextPair = pairs[i]
		}
		out.Results = append(out.Results, r)
	}
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	for _, r := range out.Results {
		line := strconv.Quote(r.Text)
		if pairs != nil {
			line += " / " + strconv.Quote(r.TextPair)
		}
		fmt.Fprintf(e.stdout, "%s\n", line)
		for _, l := range r.Labels {
			fmt.Fprintf(e.stdout, "  %-24s %.4f\n", l.Label, l.Score)
		}
	}
	return nil
}
