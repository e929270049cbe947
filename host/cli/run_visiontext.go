package cli

import (
	"context"
	"fmt"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline/visiontext"
)

// runZeroShotImageClassification is hfhost run for a zero-shot-image-classification model
// (CLIP, SigLIP): images from --input, candidate labels from --label. Every label is scored;
// --top-k limits how many are printed (0: all).
func runZeroShotImageClassification(ctx context.Context, e *env, m *backend.Manager, d *models.Dir, fam models.Family, task models.Task, f *runFlags) error {
	if len(f.text.texts) > 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give image files with --input and candidate labels with --label, not --text", d.Path, task)}
	}
	if len(f.labels) == 0 {
		return &usageError{fmt.Sprintf("model %s is a %s model: give candidate labels with --label LABEL (repeatable)", d.Path, task)}
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
	z, err := visiontext.NewZeroShotClassifier(d, sess)
	if err != nil {
		return err
	}
	labels, stats, err := z.Classify(ctx, imgs, f.labels)
	if err != nil {
		return err
	}
	for i, l := range labels {
		if f.topK > 0 && f.topK < len(l) {
			labels[i] = l[:f.topK]
		}
	}
	return e.writeLabels(f, sess, d, task, stats, labels)
}
