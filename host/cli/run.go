package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"

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
}

func (e *env) runFlagSet(name string, f *runFlags) *flag.FlagSet {
	fs := e.newFlagSet(name)
	f.register(fs)
	fs.StringVar(&f.family, "pipeline", "", "pipeline family: vision, text-encoder (default: from the model's config.json)")
	fs.StringVar(&f.modelDir, "model", "", "model directory as HF Optimum exports it (default: built-in MNIST-8)")
	fs.StringVar(&f.variant, "variant", "", "ONNX file variant: quantized, fp16, int8... (model_VARIANT.onnx; default: model.onnx)")
	if name == "run" {
		fs.Var(&f.inputs, "input", "input file (repeatable; also taken from the arguments after the flags)")
		fs.IntVar(&f.topK, "top-k", 5, "labels to print per input (0: all)")
		fs.Int64Var(&f.maxPixels, "max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels than this, before decoding")
		fs.BoolVar(&f.quiet, "quiet", false, "do not print which backend ran and which were skipped")
		f.text.register(fs)
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
	if family != "" && models.Family(family) != fam {
		return "", "", &usageError{fmt.Sprintf("model %s is a %s model (task %s), not --pipeline %s", d.Path, fam, task, family)}
	}
	return fam, task, nil
}

type runOutput struct {
	Model   string         `json:"model"`
	Task    models.Task    `json:"task"`
	Backend string         `json:"backend"`
	Trace   backend.Trace  `json:"trace"`
	Results []runResult    `json:"results"`
	Stats   pipeline.Stats `json:"stats"`
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
	if f.family != "" && f.family != string(models.Vision) && f.family != string(models.TextEncoder) {
		return &usageError{fmt.Sprintf("--pipeline %s is not available in this build; available: vision, text-encoder", f.family)}
	}
	m, err := e.manager(&f.common)
	if err != nil {
		return err
	}
	defer m.Close()
	d, samples, err := resolveModel(f.modelDir, m.Config().CacheDir)
	if err != nil {
		return err
	}
	fam, task, err := classify(d, f.family)
	if err != nil {
		return err
	}
	if task == "text-classification" {
		return e.runTextClassification(ctx, m, d, fam, task, &f)
	}
	if task != "image-classification" {
		return fmt.Errorf("model %s is a %s model; hfhost run supports image-classification and text-classification in this build", d.Path, task)
	}
	if len(f.inputs) == 0 {
		if f.modelDir != "" {
			return &usageError{"no input: give one or more image files with --input FILE"}
		}
		f.inputs = samples
	}
	imgs := make([]image.Image, len(f.inputs))
	for i, in := range f.inputs {
		img, err := decodeImage(in, f.maxPixels)
		if err != nil {
			return err
		}
		imgs[i] = img
	}
	graph, err := d.ONNX("model", models.Variant(f.variant))
	if err != nil {
		return err
	}
	sess, err := m.Open(ctx, backend.Request{Family: string(fam), Graphs: map[string]string{"model": graph}})
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
	out := runOutput{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Stats: stats}
	for i, in := range f.inputs {
		out.Results = append(out.Results, runResult{Input: in, Labels: labels[i]})
	}
	if !f.quiet && !f.jsonOut {
		fmt.Fprintf(e.stderr, "backend: %s\n", out.Trace.Summary())
	}
	if f.jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
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
