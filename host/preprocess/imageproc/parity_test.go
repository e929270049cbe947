package imageproc

import (
	"bytes"
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/host/internal/npy"
)

const fixtures = "../../../testdata/images"

type manifest struct {
	Transformers string `json:"transformers"`
	Pillow       string `json:"pillow"`
	Files        []struct {
		File     string `json:"file"`
		Lossless bool   `json:"lossless"`
		Note     string `json:"note"`
		PILMode  string `json:"pil_mode"`
		Shape    []int  `json:"shape"`
	} `json:"files"`
	Processors map[string]struct {
		Class string `json:"class"`
		Cases []struct {
			Src         string `json:"src"`
			Shape       []int  `json:"shape"`
			RowStride   int    `json:"row_stride"`
			U8RowStride int    `json:"u8_row_stride"`
		} `json:"cases"`
		Batch *struct {
			Srcs      []string `json:"srcs"`
			Shape     []int    `json:"shape"`
			RowStride int      `json:"row_stride"`
			Mask      bool     `json:"mask"`
		} `json:"batch"`
	} `json:"processors"`
}

func loadManifest(t testing.TB) *manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, "manifest.json"))
	if err != nil {
		t.Fatalf("reading fixture manifest (regenerate with tools/fixtures/generate.sh gen_images.py): %v", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) == 0 || len(m.Processors) == 0 {
		t.Fatal("fixture manifest lists no files or processors")
	}
	return &m
}

func readNpy(t testing.TB, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// decodedRGB loads PIL's decoded RGB array for a fixture file as an image.
func decodedRGB(t testing.TB, name string) *image.NRGBA {
	t.Helper()
	a := readNpy(t, filepath.Join(fixtures, "decoded", name+".npy"))
	if a.DType != "u1" || len(a.Shape) != 3 || a.Shape[2] != 3 {
		t.Fatalf("%s: want uint8 HxWx3, got %s %v", name, a.DType, a.Shape)
	}
	h, w := a.Shape[0], a.Shape[1]
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(img.Pix[4*i:4*i+3], a.U8[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img
}

// TestDecodeParity decodes every fixture file and compares the RGB pixels
// with what Pillow decodes (after exif_transpose and convert("RGB")).
// Every fixture must match exactly: lossless formats trivially, JPEG
// through the libjpeg-compatible decoder (jpegdec.go) and lossy WebP through
// libwebp's upsampler (webpcolor.go).
func TestDecodeParity(t *testing.T) {
	const maxJPEGDiff = 0
	m := loadManifest(t)
	worst := map[string]int{}
	for _, f := range m.Files {
		t.Run(f.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, "files", f.File))
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := DecodeFormat(bytes.NewReader(data), Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, err := toPixels(img, 3)
			if err != nil {
				t.Fatal(err)
			}
			want := readNpy(t, filepath.Join(fixtures, "decoded", f.File+".npy"))
			if got.H != want.Shape[0] || got.W != want.Shape[1] {
				t.Fatalf("decoded %dx%d, Pillow %dx%d", got.W, got.H, want.Shape[1], want.Shape[0])
			}
			maxd, nd := 0, 0
			for i, v := range want.U8 {
				d := int(got.Pix[i]) - int(v)
				if d < 0 {
					d = -d
				}
				if d > 0 {
					nd++
				}
				maxd = max(maxd, d)
			}
			key := string(format)
			if format == JPEG {
				key = "jpeg"
			} else if f.Lossless {
				key += " (lossless)"
			} else {
				key += " (lossy)"
			}
			worst[key] = max(worst[key], maxd)
			t.Logf("%s (%s, PIL mode %s): max |diff| %d, %d of %d samples differ", f.File, f.Note, f.PILMode, maxd, nd, len(want.U8))
			limit := 0
			if format == JPEG {
				limit = maxJPEGDiff
			}
			if maxd > limit {
				t.Errorf("%s: max |diff| vs Pillow %d > %d (%d samples differ)", f.File, maxd, limit, nd)
			}
		})
	}
	keys := make([]string, 0, len(worst))
	for k := range worst {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+itoa(worst[k]))
	}
	t.Logf("decode parity, max |diff| vs Pillow 11.3 per format: %s", strings.Join(parts, " "))
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestProcessorParity runs every fixture processor config on PIL's decoded
// pixels and compares with transformers: the resized/cropped uint8 pixels
// (do_rescale=do_normalize=False) and the final float32 pixel_values.
func TestProcessorParity(t *testing.T) {
	m := loadManifest(t)
	names := make([]string, 0, len(m.Processors))
	for n := range m.Processors {
		names = append(names, n)
	}
	sort.Strings(names)
	var summary []string
	for _, name := range names {
		pm := m.Processors[name]
		var maxF, maxU float64
		ok := t.Run(name, func(t *testing.T) {
			p, err := FromDir(filepath.Join(fixtures, "processors", name))
			if err != nil {
				t.Fatal(err)
			}
			if string(p.Kind) != pm.Class {
				t.Errorf("dispatched to %s, fixture class %s", p.Kind, pm.Class)
			}
			raw := *p
			raw.DoRescale, raw.DoNormalize = false, false
			for _, c := range pm.Cases {
				img := decodedRGB(t, c.Src)
				b, err := p.Preprocess([]image.Image{img})
				if err != nil {
					t.Fatalf("%s: %v", c.Src, err)
				}
				if !equalShape(b.Shape, append([]int{1}, c.Shape...)) {
					t.Fatalf("%s: shape %v, transformers %v", c.Src, b.Shape, c.Shape)
				}
				want := readNpy(t, filepath.Join(fixtures, "processors", name, c.Src+".f32.npy"))
				d := compareRows(b.Data, c.Shape, want.Float32s(), c.RowStride)
				maxF = math.Max(maxF, d)
				if d > 0 {
					t.Errorf("%s: pixel_values max |diff| %g, want exact", c.Src, d)
				}
				rb, err := raw.Preprocess([]image.Image{img})
				if err != nil {
					t.Fatal(err)
				}
				wantU := readNpy(t, filepath.Join(fixtures, "processors", name, c.Src+".u8.npy"))
				du := compareRows(rb.Data, c.Shape, wantU.Float32s(), c.U8RowStride)
				maxU = math.Max(maxU, du)
				if du > 0 {
					t.Errorf("%s: resized uint8 pixels max |diff| %g, want exact", c.Src, du)
				}
			}
			if bt := pm.Batch; bt != nil {
				var imgs []image.Image
				for _, s := range bt.Srcs {
					imgs = append(imgs, decodedRGB(t, s))
				}
				b, err := p.Preprocess(imgs)
				if err != nil {
					t.Fatalf("batch: %v", err)
				}
				if !equalShape(b.Shape, bt.Shape) {
					t.Fatalf("batch shape %v, transformers %v", b.Shape, bt.Shape)
				}
				want := readNpy(t, filepath.Join(fixtures, "processors", name, "batch.f32.npy"))
				n, cc := bt.Shape[0], bt.Shape[1]
				d := compareRows(b.Data, []int{n * cc, bt.Shape[2], bt.Shape[3]}, want.Float32s(), bt.RowStride)
				maxF = math.Max(maxF, d)
				if d > 0 {
					t.Errorf("batch pixel_values max |diff| %g, want exact", d)
				}
				if bt.Mask {
					wm := readNpy(t, filepath.Join(fixtures, "processors", name, "batch.mask.npy")).Int64s()
					if len(wm) != len(b.PixelMask) {
						t.Fatalf("pixel_mask has %d values, transformers %d", len(b.PixelMask), len(wm))
					}
					for i := range wm {
						if wm[i] != b.PixelMask[i] {
							t.Fatalf("pixel_mask differs at %d", i)
						}
					}
				} else if b.PixelMask != nil && p.Kind != KindYolos {
					t.Errorf("unexpected pixel_mask")
				}
			}
		})
		status := "ok"
		if !ok {
			status = "FAIL"
		}
		summary = append(summary, name+": pixel_values "+fmtG(maxF)+" uint8 "+fmtG(maxU)+" "+status)
	}
	t.Logf("processor parity vs transformers %s, max |diff| per processor:\n  %s", m.Transformers, strings.Join(summary, "\n  "))
}

func fmtG(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func equalShape(a []int64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int64(b[i]) {
			return false
		}
	}
	return true
}

// compareRows compares got (C x H x W) with want holding every stride-th row.
func compareRows(got []float32, shape []int, want []float32, stride int) float64 {
	C, H, W := shape[0], shape[1], shape[2]
	if stride < 1 {
		stride = 1
	}
	rows := (H + stride - 1) / stride
	if len(want) != C*rows*W || len(got) != C*H*W {
		return math.Inf(1)
	}
	maxd := 0.0
	for c := 0; c < C; c++ {
		for r := 0; r < rows; r++ {
			g := got[c*H*W+r*stride*W : c*H*W+r*stride*W+W]
			w := want[c*rows*W+r*W : c*rows*W+r*W+W]
			for i := range g {
				maxd = math.Max(maxd, math.Abs(float64(g[i])-float64(w[i])))
			}
		}
	}
	return maxd
}
