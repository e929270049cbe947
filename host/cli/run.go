package cli

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/internal/builtin"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/vision"
	"github.com/hfhost/hfhost/host/preprocess/imageproc"
)

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type runFlags struct {
	common
	family    string
	modelDir  string
	inputs    stringList
	topK      int
	maxPixels int64
	quiet     bool
	variant   string
	text      textFlags
	// labels are candidate labels for zero-shot tasks (repeatable --label).
	labels stringList
	// threshold is the score below which detections and segments are dropped.
	threshold float64
	// samples are the built-in model's sample inputs, used when no input is given.
	samples []string
	// topKSet says --top-k was given; otherwise a task may use its pipeline's own default.
	topKSet bool
}

// taskRunner is `hfhost run` for one task: it checks the inputs the flags give, opens a
// session on a backend, runs the pipeline and writes the results.
type taskRunner func(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error

// taskRunners maps each task `hfhost run` supports to its runner. Runners live in
// run_<family>.go files.
var taskRunners = map[models.Task]taskRunner{
	"image-classification":           runImageClassification,
	"text-classification":            runTextClassification,
	"token-classification":           runTokenClassification,
	"fill-mask":                      runFillMask,
	"question-answering":             runQuestionAnswering,
	"feature-extraction":             runFeatureExtraction,
	"audio-classification":           runAudioClassification,
	"automatic-speech-recognition":   runSpeechRecognition,
	"zero-shot-image-classification": runZeroShotImageClassification,
	"object-detection":               runObjectDetection,
	"image-segmentation":             runImageSegmentation,
	"depth-estimation":               runDepthEstimation,
	"text-generation":                runTextGeneration,
	"text2text-generation":           runText2TextGeneration,
	"image-to-text":                  runImageToText,
}

func supportedTasks() string {
	names := make([]string, 0, len(taskRunners))
	for t := range taskRunners {
		names = append(names, string(t))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (e *env) runFlagSet(name string, f *runFlags) *flag.FlagSet {
	fs := e.newFlagSet(name)
	f.register(fs)
	fs.StringVar(&f.family, "pipeline", "", "pipeline family: vision, text-encoder, vision-text, audio... (default: from the model's config.json)")
	fs.StringVar(&f.modelDir, "model", "", "model directory as HF Optimum exports it (default: built-in MNIST-8)")
	fs.StringVar(&f.variant, "variant", "", "ONNX file variant: quantized, fp16, int8... (model_VARIANT.onnx; default: model.onnx)")
	if name == "run" {
		fs.Var(&f.inputs, "input", "input file (repeatable; also taken from the arguments after the flags)")
		fs.IntVar(&f.topK, "top-k", 5, "labels to print per input (0: all)")
		fs.Int64Var(&f.maxPixels, "max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels than this, before decoding")
		fs.BoolVar(&f.quiet, "quiet", false, "do not print which backend ran and which were skipped")
		f.text.register(fs)
		fs.Var(&f.labels, "label", "candidate label for zero-shot tasks (repeatable)")
		fs.Float64Var(&f.threshold, "threshold", 0.5, "drop detections and segments scoring below this")
	}
	return fs
}

// resolveModel opens the named model directory, or unpacks the built-in one and returns its
// sample inputs.
func resolveModel(dir, cacheDir string) (*models.Dir, []string, error) {
	var samples []string
	if dir == "" {
		var err error
		dir, samples, err = builtin.Unpack(cacheDir)
		if err != nil {
			return nil, nil, err
		}
	}
	d, err := models.Open(dir)
	return d, samples, err
}

// classify opens the model and checks that it belongs to the family asked for.
func classify(d *models.Dir, family string) (models.Family, models.Task, error) {
	fam, task, err := models.Classify(d.Config)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", d.Path, err)
	}
	if family != "" && !slices.Contains(models.Families, models.Family(family)) {
		names := make([]string, len(models.Families))
		for i, f := range models.Families {
			names[i] = string(f)
		}
		return "", "", &usageError{fmt.Sprintf("--pipeline %s is not a pipeline family; families: %s", family, strings.Join(names, ", "))}
	}
	if family != "" && models.Family(family) != fam {
		return "", "", &usageError{fmt.Sprintf("model %s is a %s model (task %s), not --pipeline %s", d.Path, fam, task, family)}
	}
	return fam, task, nil
}

// taskOutput is `hfhost run --json` output: the model, where it ran, and one result per input.
type taskOutput[R any] struct {
	Model   string        `json:"model"`
	Task    models.Task   `json:"task"`
	Backend string        `json:"backend"`
	Trace   backend.Trace `json:"trace"`
	// MaxNewTokens is the generation budget, for generation tasks.
	MaxNewTokens int            `json:"max_new_tokens,omitempty"`
	Results      []R            `json:"results"`
	Stats        pipeline.Stats `json:"stats"`
}

type runResult struct {
	Input  string           `json:"input"`
	Labels []pipeline.Label `json:"labels"`
}

func (e *env) run(ctx context.Context, args []string) error {
	var f runFlags
	fs := e.runFlagSet("run", &f)
	if err := parse(fs, args); err != nil {
		return err
	}
	f.inputs = append(f.inputs, fs.Args()...)
	fs.Visit(func(fl *flag.Flag) { f.topKSet = f.topKSet || fl.Name == "top-k" })
	m, err := e.manager(&f.common)
	if err != nil {
		return err
	}
	defer m.Close()
	d, samples, err := resolveModel(f.modelDir, m.Config().CacheDir)
	if err != nil {
		return err
	}
	f.samples = samples
	fam, task, err := classify(d, f.family)
	if err != nil {
		return err
	}
	run, ok := taskRunners[task]
	if !ok {
		return fmt.Errorf("model %s is a %s model (%s); hfhost run supports %s in this build", d.Path, task, fam, supportedTasks())
	}
	return run(ctx, e, m, d, fam, task, &f)
}

// openSession loads the model's single graph on the first backend that can run it.
func openSession(ctx context.Context, m *backend.Manager, d *models.Dir, fam models.Family, f *runFlags) (*backend.Session, error) {
	graph, err := d.ONNX("model", models.Variant(f.variant))
	if err != nil {
		return nil, err
	}
	return m.Open(ctx, backend.Request{Family: string(fam), Graphs: map[string]string{"model": graph}})
}

// reportBackend writes the one-line selection summary on stderr, unless told not to.
func (e *env) reportBackend(f *runFlags, sess *backend.Session) {
	if !f.quiet && !f.jsonOut {
		fmt.Fprintf(e.stderr, "backend: %s\n", sess.Trace().Summary())
	}
}

// decodeImages decodes the --input files, or the built-in samples when none is given.
func decodeImages(f *runFlags, d *models.Dir) ([]image.Image, error) {
	if len(f.inputs) == 0 {
		if len(f.samples) == 0 {
			return nil, &usageError{"no input: give one or more image files with --input FILE"}
		}
		f.inputs = f.samples
	}
	imgs := make([]image.Image, len(f.inputs))
	for i, in := range f.inputs {
		img, err := decodeImage(in, f.maxPixels)
		if err != nil {
			return nil, err
		}
		imgs[i] = img
	}
	return imgs, nil
}

func runImageClassification(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if len(f.text.texts) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give image files with --input, not --text", d.Path, task)}
	}
	imgs, err := decodeImages(f, d)
	if err != nil {
		return err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	clf, err := vision.NewClassifier(d, sess)
	if err != nil {
		return err
	}
	labels, stats, err := clf.Classify(ctx, imgs, f.topK)
	if err != nil {
		return err
	}
	return e.writeLabels(f, sess, d, task, stats, labels)
}

// writeLabels reports the backend and writes one list of scored labels per input file.
func (e *env) writeLabels(f *runFlags, sess *backend.Session, d *models.Dir, task models.Task, stats pipeline.Stats, labels [][]pipeline.Label) error {
	out := taskOutput[runResult]{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Stats: stats}
	for i, in := range f.inputs {
		out.Results = append(out.Results, runResult{Input: in, Labels: labels[i]})
	}
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(out)
	}
	for _, r := range out.Results {
		fmt.Fprintf(e.stdout, "%s\n", filepath.Base(r.Input))
		for _, l := range r.Labels {
			fmt.Fprintf(e.stdout, "  %-24s %.4f\n", l.Label, l.Score)
		}
	}
	return nil
}

func decodeImage(path string, maxPixels int64) (image.Image, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, unwrapPath(err))
	}
	defer fh.Close()
	img, err := imageproc.Decode(fh, imageproc.Limits{MaxPixels: maxPixels})
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	return img, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
