package imageproc

import (
	"bytes"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTinyModelFixtures runs the end-to-end path a vision pipeline takes
// (Decode of the PNG bytes, FromDir, Preprocess) on the tiny exported models
// under testdata/models, whose expected pixel_values transformers' own
// pipeline produced from the same PNG files.
func TestTinyModelFixtures(t *testing.T) {
	root := "../../../testdata/models"
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Skipf("no tiny model fixtures: %v", err)
	}
	checked := 0
	for _, d := range dirs {
		dir := filepath.Join(root, d.Name())
		cfg, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json"))
		if err != nil || !bytes.Contains(cfg, []byte("image_processor_type")) {
			continue
		}
		inputs, _ := filepath.Glob(filepath.Join(dir, "expected", "inputs", "*.png"))
		if len(inputs) == 0 {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			p, err := FromDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range inputs {
				base := strings.TrimSuffix(filepath.Base(in), ".png")
				wantPath := filepath.Join(dir, "expected", base+".pixel_values.npy")
				if _, err := os.Stat(wantPath); err != nil {
					continue
				}
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				img, err := Decode(bytes.NewReader(data), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := p.Preprocess([]image.Image{img})
				if err != nil {
					t.Fatalf("%s: %v", base, err)
				}
				want := readNpy(t, wantPath)
				if !equalShape(b.Shape, want.Shape) {
					t.Fatalf("%s: shape %v, transformers %v", base, b.Shape, want.Shape)
				}
				w := want.Float32s()
				maxd := 0.0
				for i := range w {
					maxd = math.Max(maxd, math.Abs(float64(w[i])-float64(b.Data[i])))
				}
				if maxd > 1.0/255 {
					t.Errorf("%s: pixel_values max |diff| %g > 1/255", base, maxd)
				}
				if mp := filepath.Join(dir, "expected", base+".pixel_mask.npy"); fileExists(mp) {
					wm := readNpy(t, mp).Int64s()
					if len(wm) != len(b.PixelMask) {
						t.Errorf("%s: pixel_mask %d values, transformers %d", base, len(b.PixelMask), len(wm))
					} else {
						for i := range wm {
							if wm[i] != b.PixelMask[i] {
								t.Errorf("%s: pixel_mask differs at %d", base, i)
								break
							}
						}
					}
				}
				t.Logf("%s %s: shape %v, max |diff| %g", d.Name(), base, b.Shape, maxd)
				checked++
			}
		})
	}
	if checked == 0 {
		t.Skip("no tiny vision model fixtures with pixel_values found")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
