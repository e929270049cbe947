package imageproc

import (
	"bytes"
	"image"
	"path/filepath"
	"syscall"
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
	cpu0 := cpuTime()
	for b.Loop() {
		img, err := Decode(bytes.NewReader(data), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Preprocess([]image.Image{img}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

// cpuTime is the process's user+system CPU time in nanoseconds: on a shared,
// overloaded machine it is a steadier measure than wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkJPEG1024x768ViT(b *testing.B)  { benchPreprocess(b, "vit-base-patch16-224") }
func BenchmarkJPEG1024x768CLIP(b *testing.B) { benchPreprocess(b, "clip-vit-base-patch32") }

// BenchmarkDecodeJPEG1024x768 is the decoding share alone.
func BenchmarkDecodeJPEG1024x768(b *testing.B) {
	data := fixtureFile(b, "rgb_1024x768.jpg")
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

// BenchmarkResizeBicubic1024x768 is CLIP's resize share alone: 1024x768 RGB
// to 298x224 bicubic, from a decoded NRGBA image as Preprocess sees it.
func BenchmarkResizeBicubic1024x768(b *testing.B) {
	img, err := Decode(bytes.NewReader(fixtureFile(b, "rgb_1024x768.jpg")), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	px, err := toPixelsView(img, 3)
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := resize(px, 298, 224, Bicubic); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}
