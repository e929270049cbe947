package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/generate"
)

type text2textRunEntry struct {
	Text string `json:"text"`
	generate.Text2TextResult
	Steps int `json:"steps"`
}

// runText2TextGeneration is hfhost run for an encoder-decoder text2text-generation model (t5,
// bart, marian with a tokenizer.json...): greedy search for up to generateMaxNewTokens tokens per
// --text, the encoder output and the key/value caches kept in the plugin.
func runText2TextGeneration(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if err := textTaskInputs(d, task, f, false); err != nil {
		return err
	}
	graphs, err := generate.Seq2SeqGraphs(d, models.Variant(f.variant))
	if err != nil {
		return err
	}
	sess, err := m.Open(ctx, backend.Request{Family: string(fam), Graphs: graphs})
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	gen, err := generate.NewText2Text(d, sess)
	if err != nil {
		return err
	}
	out := taskOutput[text2textRunEntry]{Model: d.Path, Task: task, MaxNewTokens: generateMaxNewTokens}
	for _, text := range f.text.texts {
		res, st, err := gen.Generate(ctx, text, generateMaxNewTokens)
		if err != nil {
			return err
		}
		out.Stats.Add(st.Stats)
		out.Results = append(out.Results, text2textRunEntry{Text: text, Text2TextResult: *res, Steps: st.Steps})
	}
	out.Backend, out.Trace = sess.Backend(), sess.Trace()
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	// The generated text, one per --text, as the HF pipeline's generated_text.
	for _, r := range out.Results {
		fmt.Fprintln(e.stdout, r.GeneratedText)
	}
	return nil
}

type speechSeq2SeqRunEntry struct {
	Input string `json:"input"`
	generate.SpeechResult
	Steps int `json:"steps"`
}

// runSpeechSeq2Seq is hfhost run for a sequence-to-sequence speech recognition model (Whisper):
// greedy search per --input file, up to generation_config.json's max_length (else
// generateMaxNewTokens) tokens, the encoder output and caches kept in the plugin.
func runSpeechSeq2Seq(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	clips, err := decodeAudio(f, d, task)
	if err != nil {
		return err
	}
	graphs, err := generate.Seq2SeqGraphs(d, models.Variant(f.variant))
	if err != nil {
		return err
	}
	sess, err := m.Open(ctx, backend.Request{Family: string(fam), Graphs: graphs})
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	asr, err := generate.NewSpeechToText(d, sess)
	if err != nil {
		return err
	}
	maxNew := asr.MaxNewTokens()
	if maxNew <= 0 {
		maxNew = generateMaxNewTokens
	}
	out := taskOutput[speechSeq2SeqRunEntry]{Model: d.Path, Task: task, MaxNewTokens: maxNew}
	for i, clip := range clips {
		res, st, err := asr.Transcribe(ctx, clip, maxNew)
		if err != nil {
			return fmt.Errorf("%s: %w", f.inputs[i], err)
		}
		out.Stats.Add(st.Stats)
		out.Results = append(out.Results, speechSeq2SeqRunEntry{Input: f.inputs[i], SpeechResult: *res, Steps: st.Steps})
	}
	out.Backend, out.Trace = sess.Backend(), sess.Trace()
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	for _, r := range out.Results {
		fmt.Fprintf(e.stdout, "%s\n  %s\n", filepath.Base(r.Input), strconv.Quote(r.Text))
	}
	return nil
}

type imageToTextRunEntry struct {
	Input string `json:"input"`
	generate.ImageToTextResult
	Steps int `json:"steps"`
}

// runImageToText is hfhost run for a vision-encoder-decoder captioning model: greedy search for
// up to generateMaxNewTokens tokens per --input image, the encoder output and caches kept in the
// plugin.
func runImageToText(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if len(f.text.texts) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give image files with --input, not --text", d.Path, task)}
	}
	imgs, err := decodeImages(f, d)
	if err != nil {
		return err
	}
	graphs, err := generate.Seq2SeqGraphs(d, models.Variant(f.variant))
	if err != nil {
		return err
	}
	sess, err := m.Open(ctx, backend.Request{Family: string(fam), Graphs: graphs})
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	capt, err := generate.NewImageToText(d, sess)
	if err != nil {
		return err
	}
	var stats pipeline.Stats
	var results []imageToTextRunEntry
	for i, img := range imgs {
		res, st, err := capt.Caption(ctx, img, generateMaxNewTokens)
		if err != nil {
			return err
		}
		stats.Add(st.Stats)
		results = append(results, imageToTextRunEntry{Input: f.inputs[i], ImageToTextResult: *res, Steps: st.Steps})
	}
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(taskOutput[imageToTextRunEntry]{
			Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(),
			MaxNewTokens: generateMaxNewTokens, Results: results, Stats: stats,
		})
	}
	for _, r := range results {
		fmt.Fprintf(e.stdout, "%s\n  %s\n", filepath.Base(r.Input), strconv.Quote(r.GeneratedText))
	}
	return nil
}
