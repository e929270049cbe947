package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline/audio"
	"github.com/hfhost/hfhost/host/pipeline/generate"
	audioproc "github.com/hfhost/hfhost/host/preprocess/audio"
)

// decodeAudio decodes the --input files (WAV, FLAC or MP3, told apart by content).
func decodeAudio(f *runFlags, d *models.Dir, task models.Task) ([]*audioproc.Clip, error) {
	if len(f.text.texts) > 0 || len(f.labels) > 0 {
		return nil, &usageError{fmt.Sprintf("model %s is a %s model: give audio files with --input, not --text or --label", d.Path, task)}
	}
	if len(f.inputs) == 0 {
		return nil, &usageError{"no input: give one or more audio files (WAV, FLAC, MP3) with --input FILE"}
	}
	clips := make([]*audioproc.Clip, len(f.inputs))
	for i, in := range f.inputs {
		fh, err := os.Open(in)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in, unwrapPath(err))
		}
		clips[i], err = audioproc.Decode(fh, audioproc.DefaultLimits())
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in, err)
		}
	}
	return clips, nil
}

// runAudioClassification is hfhost run for an audio-classification model.
func runAudioClassification(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	clips, err := decodeAudio(f, d, task)
	if err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	clf, err := audio.NewClassifier(d, sess)
	if err != nil {
		return err
	}
	labels, stats, err := clf.Classify(ctx, clips, f.topK)
	if err != nil {
		return err
	}
	return e.writeLabels(f, sess, d, task, stats, labels)
}

type asrRunResult struct {
	Input string `json:"input"`
	Text  string `json:"text"`
}

// runSpeechRecognition is hfhost run for an automatic-speech-recognition model: CTC models here,
// sequence-to-sequence models (Whisper, exported with decoder_with_past_model.onnx) by
// runSpeechSeq2Seq.
func runSpeechRecognition(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if err := audio.CheckCTC(d); err != nil {
		if _, serr := generate.Seq2SeqGraphs(d, models.Variant(f.variant)); serr == nil {
			return runSpeechSeq2Seq(ctx, e, m, d, fam, task, f)
		}
		return err
	}
	clips, err := decodeAudio(f, d, task)
	if err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	ctc, err := audio.NewCTC(d, sess)
	if err != nil {
		return err
	}
	texts, stats, err := ctc.Transcribe(ctx, clips)
	if err != nil {
		return err
	}
	out := taskOutput[asrRunResult]{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Stats: stats}
	for i, in := range f.inputs {
		out.Results = append(out.Results, asrRunResult{Input: in, Text: texts[i]})
	}
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	for _, r := range out.Results {
		fmt.Fprintf(e.stdout, "%s\n  %s\n", filepath.Base(r.Input), strconv.Quote(r.Text))
	}
	return nil
}
