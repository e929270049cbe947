package cli

import (
	"context"
	"fmt"
	"image"
	"path/filepath"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline"
	"github.com/hfhost/hfhost/host/pipeline/vision"
)

// openVisionTask checks a vision task's flags, decodes the --input images and opens a session.
func openVisionTask(ctx context.Context, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) ([]image.Image, *backend.Session, error) {
	if len(f.text.texts) > 0 {
		return nil, nil, &usageError{fmt.Sprintf("model %s is a %s model: give image files with --input, not --text", d.Path, task)}
	}
	imgs, err := decodeImages(f, d)
	if err != nil {
		return nil, nil, err
	}
	sess, err := openSession(ctx, m, d, fam, f)
	if err != nil {
		return nil, nil, err
	}
	return imgs, sess, nil
}

type visionTaskOutput struct {
	Model     string         `json:"model"`
	Task      models.Task    `json:"task"`
	Backend   string         `json:"backend"`
	Trace     backend.Trace  `json:"trace"`
	Threshold *float64       `json:"threshold,omitempty"`
	Results   any            `json:"results"`
	Stats     pipeline.Stats `json:"stats"`
}

type detectionResult struct {
	Input      string             `json:"input"`
	Detections []vision.Detection `json:"detections"`
}

// runObjectDetection is hfhost run for an object-detection model (DETR, YOLOS): detections
// scoring above --threshold (default 0.5, the HF pipeline's), in the model's query order.
func runObjectDetection(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	imgs, sess, err := openVisionTask(ctx, m, d, fam, task, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	det, err := vision.NewDetector(d, sess)
	if err != nil {
		return err
	}
	dets, stats, err := det.Detect(ctx, imgs, f.threshold)
	if err != nil {
		return err
	}
	results := make([]detectionResult, len(imgs))
	for i, in := range f.inputs {
		results[i] = detectionResult{Input: in, Detections: dets[i]}
		if results[i].Detections == nil {
			results[i].Detections = []vision.Detection{}
		}
	}
	th := f.threshold
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(visionTaskOutput{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Threshold: &th, Results: results, Stats: stats})
	}
	for _, r := range results {
		fmt.Fprintf(e.stdout, "%s: %d detections above %g\n", filepath.Base(r.Input), len(r.Detections), th)
		for _, x := range r.Detections {
			fmt.Fprintf(e.stdout, "  %-16s %.4f [%d,%d,%d,%d]\n", x.Label, x.Score, x.Box.XMin, x.Box.YMin, x.Box.XMax, x.Box.YMax)
		}
	}
	return nil
}

type segmentationResult struct {
	Input    string           `json:"input"`
	Width    int              `json:"width"`
	Height   int              `json:"height"`
	Segments []vision.Segment `json:"segments"`
}

// runImageSegmentation is hfhost run for a semantic-segmentation model (SegFormer): one segment
// per class present, with its pixel count (masks are not written; the HF pipeline's semantic
// subtask gives no scores, so --threshold does not apply).
func runImageSegmentation(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	imgs, sess, err := openVisionTask(ctx, m, d, fam, task, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	seg, err := vision.NewSegmenter(d, sess)
	if err != nil {
		return err
	}
	segs, stats, err := seg.Segment(ctx, imgs)
	if err != nil {
		return err
	}
	results := make([]segmentationResult, len(imgs))
	for i, in := range f.inputs {
		b := imgs[i].Bounds()
		results[i] = segmentationResult{Input: in, Width: b.Dx(), Height: b.Dy(), Segments: segs[i]}
	}
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(visionTaskOutput{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Results: results, Stats: stats})
	}
	for _, r := range results {
		fmt.Fprintf(e.stdout, "%s: %dx%d, %d segments\n", filepath.Base(r.Input), r.Width, r.Height, len(r.Segments))
		total := float64(r.Width * r.Height)
		for _, s := range r.Segments {
			fmt.Fprintf(e.stdout, "  %-16s %7d px %6.2f%%\n", s.Label, s.Pixels, 100*float64(s.Pixels)/total)
		}
	}
	return nil
}

type depthResult struct {
	Input  string  `json:"input"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Min    float32 `json:"min"`
	Max    float32 `json:"max"`
	Mean   float64 `json:"mean"`
}

// runDepthEstimation is hfhost run for a depth-estimation model (DPT): the predicted depth,
// resized to each image, summarised by its range and mean (the depth map is not written).
func runDepthEstimation(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	imgs, sess, err := openVisionTask(ctx, m, d, fam, task, f)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)
	est, err := vision.NewDepthEstimator(d, sess)
	if err != nil {
		return err
	}
	depths, stats, err := est.Estimate(ctx, imgs)
	if err != nil {
		return err
	}
	results := make([]depthResult, len(imgs))
	for i, in := range f.inputs {
		dp := depths[i]
		r := depthResult{Input: in, Width: dp.Width, Height: dp.Height}
		var sum float64
		for j, v := range dp.Predicted {
			if j == 0 || v < r.Min {
				r.Min = v
			}
			if j == 0 || v > r.Max {
				r.Max = v
			}
			sum += float64(v)
		}
		if len(dp.Predicted) > 0 {
			r.Mean = sum / float64(len(dp.Predicted))
		}
		results[i] = r
	}
	e.reportBackend(f, sess)
	if f.jsonOut {
		return e.writeJSON(visionTaskOutput{Model: d.Path, Task: task, Backend: sess.Backend(), Trace: sess.Trace(), Results: results, Stats: stats})
	}
	for _, r := range results {
		fmt.Fprintf(e.stdout, "%s: %dx%d depth min %.4g max %.4g mean %.4g\n", filepath.Base(r.Input), r.Width, r.Height, r.Min, r.Max, r.Mean)
	}
	return nil
}
