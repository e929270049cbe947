package imageproc

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode (every format, sniffed) and
// checks it never panics, never returns an image over the limit, and that
// what it returns converts and preprocesses.
func FuzzDecode(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join(fixtures, "files"))
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Size() <= 16<<10 {
			if b, err := os.ReadFile(filepath.Join(fixtures, "files", e.Name())); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(pngHeaderOnly(100000, 100000))
	f.Add(jpegHeaderOnly(3, 3))
	f.Add(gifHeaderOnly(2, 2))
	f.Add(webpVP8XHeaderOnly(4, 4))
	f.Add(bmpHeaderOnly(3, 2))
	p, err := ParseConfig([]byte(`{"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 16}, "crop_size": {"height": 16, "width": 16}}`))
	if err != nil {
		f.Fatal(err)
	}
	const maxPixels = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), Limits{MaxPixels: maxPixels})
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > maxPixels {
			t.Fatalf("Decode returned a %dx%d image", b.Dx(), b.Dy())
		}
		if _, err := toPixels(img, 3); err != nil {
			t.Fatalf("toPixels: %v", err)
		}
		if b.Dx() < 4000 && b.Dy() < 4000 {
			_, _ = p.Preprocess([]image.Image{img})
		}
	})
}

// FuzzParseConfig checks that arbitrary preprocessor_config.json contents
// never panic, and that an accepted config preprocesses a small image without
// panicking.
func FuzzParseConfig(f *testing.F) {
	dirs, _ := os.ReadDir(filepath.Join(fixtures, "processors"))
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(fixtures, "processors", d.Name(), "preprocessor_config.json")); err == nil {
			f.Add(b)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseConfig(data)
		if err != nil {
			return
		}
		_, _ = p.Preprocess([]image.Image{img})
	})
}

// FuzzJPEG targets the libjpeg-compatible JPEG decoder directly (the
// hand-written parser is the riskiest decoder code in the package).
func FuzzJPEG(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join(fixtures, "files"))
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".jpg" {
			continue
		}
		if info, err := e.Info(); err == nil && info.Size() <= 16<<10 {
			if b, err := os.ReadFile(filepath.Join(fixtures, "files", e.Name())); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(jpegHeaderOnly(3, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeJPEGCompat(data, 1<<20)
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx()*b.Dy() > 1<<20 {
			t.Fatalf("decoded a %dx%d image", b.Dx(), b.Dy())
		}
	})
}
