package imageproc

import (
	"bytes"
	"image"
	"path/filepath"
	"testing"
)

// benchPreprocess measures decode + preprocess of the 1024x768 JPEG fixture
// for one processor: what a request costs before the model runs.
func benchPreprocess(b *testing.B, proc string) {
	data := fixtureFile(b, "rgb_1024x768.jpg")
	p, err := FromDir(filepath.Join(fixtures, "processors", proc))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		img, err := Decode(bytes.NewReader(data), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Preprocess([]image.Image{img}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJPEG1024x768ViT(b *testing.B)  { benchPreprocess(b, "vit-base-patch16-224") }
func BenchmarkJPEG1024x768CLIP(b *testing.B) { benchPreprocess(b, "clip-vit-base-patch32") }

// BenchmarkDecodeJPEG1024x768 is the decoding share alone.
func BenchmarkDecodeJPEG1024x768(b *testing.B) {
	data := fixtureFile(b, "rgb_1024x768.jpg")
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
