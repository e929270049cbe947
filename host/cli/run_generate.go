package cli

import (
	"context"
	"fmt"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/generate"
)

// generateMaxNewTokens is how many tokens hfhost run generates per prompt (fewer when the model
// emits an eos token first). There is no flag for it yet.
const generateMaxNewTokens = 20

type generateRunOutput struct {
	Model        string             `json:"model"`
	Task         models.Task        `json:"task"`
	Backend      string             `json:"backend"`
	Trace        backend.Trace      `json:"trace"`
	MaxNewTokens int                `json:"max_new_tokens"`
	Results      []generateRunEntry `json:"results"`
	Stats        pipeline.Stats     `json:"stats"`
}

type generateRunEntry struct {
	Text string `json:"text"`
	generate.TextResult
	Steps int `json:"steps"`
}

// runTextGeneration is hfhost run for a decoder-only text-generation model: greedy search for
// up to generateMaxNewTokens tokens per --text, the key/value cache kept in the plugin.
func runTextGeneration(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if len(f.inputs) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give prompts with --text, not input files", d.Path, task)}
	}
	if len(f.text.texts) == 0 {
		return &usageError{"no input: give one or more prompts with --text TEXT"}
	}
	if len(f.text.pairs) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: --text-pair does not apply; give prompts with --text", d.Path, task)}
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
	out := generateRunOutput{Model: d.Path, Task: task, MaxNewTokens: generateMaxNewTokens}
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
