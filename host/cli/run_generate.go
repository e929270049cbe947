package cli

import (
	"context"
	"fmt"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline/generate"
)

// generateMaxNewTokens is how many tokens hfhost run generates per prompt (fewer when the model
// emits an eos token first). There is no flag for it yet.
const generateMaxNewTokens = 20

type generateRunEntry struct {
	Text string `json:"text"`
	generate.TextResult
	Steps int `json:"steps"`
}

// runTextGeneration is hfhost run for a decoder-only text-generation model: greedy search for
// up to generateMaxNewTokens tokens per --text, the key/value cache kept in the plugin.
func runTextGeneration(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if err := textTaskInputs(d, task, f, false); err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	gen, err := generate.NewTextGenerator(d, sess)
	if err != nil {
		return err
	}
	out := taskOutput[generateRunEntry]{Model: d.Path, Task: task, MaxNewTokens: generateMaxNewTokens}
	for _, text := range f.text.texts {
		res, st, err := gen.Generate(ctx, text, generateMaxNewTokens)
		if err != nil {
			return err
		}
		out.Stats.Add(st.Stats)
		out.Results = append(out.Results, generateRunEntry{Text: text, TextResult: *res, Steps: st.Steps})
	}
	out.Backend, out.Trace = sess.Backend(), sess.Trace()
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	// The prompt followed by its continuation, one per --text, as the HF pipeline's generated_text.
	for _, r := range out.Results {
		fmt.Fprintln(e.stdout, r.GeneratedText)
	}
	return nil
}
