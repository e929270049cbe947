package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func fixtureFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "files", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngHeaderOnly is a PNG whose IHDR declares w x h, followed by a tiny IDAT.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegHeaderOnly is a JPEG whose SOF0 declares w x h.
func jpegHeaderOnly(w, h uint16) []byte {
	b := []byte{0xff, 0xd8}
	// JFIF APP0, so that Go's DecodeConfig stops at SOF.
	b = append(b, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	// DQT with one all-ones table.
	dqt := append([]byte{0xff, 0xdb, 0x00, 0x43, 0x00}, bytes.Repeat([]byte{1}, 64)...)
	b = append(b, dqt...)
	sof := []byte{0xff, 0xc0, 0x00, 0x0b, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0}
	b = append(b, sof...)
	return append(b, 0xff, 0xd9)
}

func gifHeaderOnly(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	b = append(b, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, ';')
	return b
}

func webpVP8XHeaderOnly(w, h uint32) []byte {
	vp8x := make([]byte, 10)
	w--
	h--
	vp8x[4], vp8x[5], vp8x[6] = byte(w), byte(w>>8), byte(w>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h), byte(h>>8), byte(h>>16)
	body := append([]byte("WEBPVP8X"), binary.LittleEndian.AppendUint32(nil, 10)...)
	body = append(body, vp8x...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

func bmpHeaderOnly(w, h int32) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], 54)
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 24)
	return b
}

// TestDecompressionBombs checks that images whose headers declare too many
// pixels are refused before decoding, without allocating the pixel buffer.
func TestDecompressionBombs(t *testing.T) {
	cases := map[string][]byte{
		"png 100000x100000": pngHeaderOnly(100000, 100000),
		"jpeg 65000x65000":  jpegHeaderOnly(65000, 65000),
		"gif 65535x65535":   gifHeaderOnly(65535, 65535),
		"webp 40000x40000":  webpVP8XHeaderOnly(40000, 40000),
		"bmp 60000x60000":   bmpHeaderOnly(60000, 60000),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(bytes.NewReader(data), Limits{})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("want ErrTooLarge, got %v", err)
			}
			if !strings.Contains(err.Error(), "MaxPixels") {
				t.Errorf("error does not say which limit to raise: %v", err)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
				t.Errorf("refusing the bomb allocated %d bytes; want < 1 MiB", d)
			}
		})
	}
}

func TestLimitsConfigurable(t *testing.T) {
	data := fixtureFile(t, "rgb_333x500.png")
	if _, err := Decode(bytes.NewReader(data), Limits{MaxPixels: 333*500 - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels one below the image: want ErrTooLarge, got %v", err)
	}
	if _, err := Decode(bytes.NewReader(data), Limits{MaxPixels: 333 * 500}); err != nil {
		t.Errorf("MaxPixels equal to the image: %v", err)
	}
	if _, err := Decode(bytes.NewReader(data), Limits{MaxBytes: int64(len(data) - 1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes below the file: want ErrTooLarge, got %v", err)
	}
}

func TestNotAnImage(t *testing.T) {
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":   {nil, "empty"},
		"text":    {[]byte("hello, this is a caption\n"), "plain text"},
		"html":    {[]byte("<!DOCTYPE html><html><body>404</body></html>"), "HTML"},
		"json":    {[]byte(`{"error": "not found"}`), "JSON"},
		"pdf":     {[]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "PDF"},
		"zip":     {[]byte("PK\x03\x04\x14\x00\x00\x00"), "ZIP"},
		"wav":     {[]byte("RIFF\x24\x00\x00\x00WAVEfmt "), "not WebP"},
		"heic":    {[]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), "HEIF"},
		"svg":     {[]byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), "SVG"},
		"binary":  {[]byte{0x00, 0x01, 0x02, 0x03, 0xfe, 0xfd}, "unrecognised binary"},
		"2 bytes": {[]byte{0xff, 0xd8}, "truncated JPEG"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(c.data), Limits{})
			if !errors.Is(err, ErrNotImage) {
				t.Fatalf("want ErrNotImage, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name the content (%q)", err, c.want)
			}
		})
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	for _, name := range []string{"rgb_333x500.jpg", "rgb_333x500.png", "rgb_64x48.gif", "rgb_333x500.webp", "rgb_64x48.bmp", "rgb_64x48.tif", "rgb_64x48_progressive.jpg"} {
		data := fixtureFile(t, name)
		for _, cut := range []int{len(data) / 2, 40, 12} {
			if _, err := Decode(bytes.NewReader(data[:cut]), Limits{}); err == nil {
				t.Errorf("%s truncated to %d bytes: decoded without error", name, cut)
			}
		}
		// Corruption must never panic; it may decode to garbage or fail.
		for i := 20; i < len(data); i += len(data)/7 + 1 {
			bad := append([]byte(nil), data...)
			bad[i] ^= 0xa5
			bad[len(bad)/2] = 0xff
			_, _ = Decode(bytes.NewReader(bad), Limits{})
		}
	}
}

func TestZeroSize(t *testing.T) {
	if _, err := Decode(bytes.NewReader(pngHeaderOnly(0, 10)), Limits{}); err == nil {
		t.Error("PNG 0x10: want an error")
	}
	if _, err := Decode(bytes.NewReader(gifHeaderOnly(0, 0)), Limits{}); err == nil {
		t.Error("GIF 0x0: want an error")
	}
	p, err := ParseConfig([]byte(`{"image_processor_type": "ViTImageProcessor"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Preprocess([]image.Image{image.NewRGBA(image.Rect(0, 0, 0, 5))}); err == nil {
		t.Error("Preprocess of a 0x5 image: want an error")
	}
	if _, err := p.Preprocess(nil); err == nil {
		t.Error("Preprocess of no images: want an error")
	}
	if _, err := p.Preprocess([]image.Image{nil}); err == nil {
		t.Error("Preprocess of a nil image: want an error")
	}
}

// TestOneByOne runs every fixture processor on 1x1 images of every format.
func TestOneByOne(t *testing.T) {
	m := loadManifest(t)
	var imgs []image.Image
	for _, f := range []string{"rgb_1x1.png", "rgb_1x1.jpg"} {
		img, err := Decode(bytes.NewReader(fixtureFile(t, f)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	for name := range m.Processors {
		p, err := FromDir(filepath.Join(fixtures, "processors", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			b, err := p.Preprocess([]image.Image{img})
			if err != nil {
				t.Errorf("%s on 1x1: %v", name, err)
				continue
			}
			if b.OriginalSizes[0] != [2]int{1, 1} {
				t.Errorf("%s: OriginalSizes %v", name, b.OriginalSizes)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]struct{ json, want string }{
		"unknown type":  {`{"image_processor_type": "LlavaNextImageProcessor"}`, "supported: BitImageProcessor"},
		"no type":       {`{"size": 224}`, "neither image_processor_type"},
		"bad json":      {`{"image_processor_type": `, "not valid JSON"},
		"bad resample":  {`{"image_processor_type": "ViTImageProcessor", "resample": 9}`, "not a Pillow filter"},
		"mean length":   {`{"image_processor_type": "ViTImageProcessor", "image_mean": [0.5, 0.5]}`, "one per channel"},
		"zero std":      {`{"image_processor_type": "ViTImageProcessor", "image_std": [0.5, 0, 0.5]}`, "divide by zero"},
		"bad size key":  {`{"image_processor_type": "ViTImageProcessor", "size": {"min_height": 3}}`, "not supported"},
		"half size":     {`{"image_processor_type": "ViTImageProcessor", "size": {"height": 3}}`, "both height and width"},
		"channels":      {`{"image_processor_type": "ViTImageProcessor", "num_channels": 1}`, "do_convert_grayscale"},
		"crop missing":  {`{"image_processor_type": "ViTImageProcessor", "do_center_crop": true}`, "crop_size"},
		"dpt pad":       {`{"image_processor_type": "DPTImageProcessor", "do_pad": true}`, "size_divisor"},
		"dpt shortest":  {`{"image_processor_type": "DPTImageProcessor", "size": {"shortest_edge": 3}}`, "height, width"},
		"negative size": {`{"image_processor_type": "ViTImageProcessor", "size": -3}`, "positive"},
	}
	for name, c := range cases {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error containing %q, got %v", name, c.want, err)
		}
	}
	// Old feature_extractor_type names and int sizes load with class defaults.
	p, err := ParseConfig([]byte(`{"feature_extractor_type": "ViTFeatureExtractor", "size": 224, "resample": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindViT || p.Size != (Size{Height: 224, Width: 224}) || p.Resample != Bicubic || p.ImageMean[0] != 0.5 {
		t.Errorf("ViTFeatureExtractor: got %+v", p)
	}
	p, err = ParseConfig([]byte(`{"feature_extractor_type": "DetrFeatureExtractor", "size": 800, "max_size": 1333}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != (Size{ShortestEdge: 800, LongestEdge: 1333}) || !p.DoPad {
		t.Errorf("DetrFeatureExtractor: got %+v", p)
	}
	p, err = ParseConfig([]byte(`{"image_processor_type": "CLIPImageProcessorFast", "size": 224}`))
	if err != nil || p.Kind != KindCLIP || p.Size != (Size{ShortestEdge: 224}) || !p.DoCenterCrop {
		t.Errorf("CLIPImageProcessorFast: got %+v, %v", p, err)
	}
}

func TestBatchMismatch(t *testing.T) {
	p, err := ParseConfig([]byte(`{"image_processor_type": "DPTImageProcessor", "keep_aspect_ratio": true, "ensure_multiple_of": 32}`))
	if err != nil {
		t.Fatal(err)
	}
	a := image.NewGray(image.Rect(0, 0, 640, 480))
	b := image.NewGray(image.Rect(0, 0, 480, 640))
	if _, err := p.Preprocess([]image.Image{a, b}); err == nil || !strings.Contains(err.Error(), "one at a time") {
		t.Errorf("different output sizes without padding: want a clear error, got %v", err)
	}
}

// TestJPEGFixturesUseCompatDecoder makes sure the JPEG parity above comes from
// the libjpeg-compatible decoder, not from the image/jpeg fallback.
func TestJPEGFixturesUseCompatDecoder(t *testing.T) {
	m := loadManifest(t)
	n := 0
	for _, f := range m.Files {
		if !strings.HasSuffix(f.File, ".jpg") {
			continue
		}
		n++
		if _, err := decodeJPEGCompat(fixtureFile(t, f.File), DefaultMaxPixels); err != nil {
			t.Errorf("%s: %v", f.File, err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d JPEG fixtures", n)
	}
}

func TestJPEGFallbackFeatures(t *testing.T) {
	// A 12-bit SOF1 header is outside the compatible decoder.
	d := jpegHeaderOnly(8, 8)
	i := bytes.Index(d, []byte{0xff, 0xc0})
	d[i+4] = 12
	if _, err := decodeJPEGCompat(d, DefaultMaxPixels); !errors.Is(err, errJPEGFallback) {
		t.Errorf("12-bit JPEG: want errJPEGFallback, got %v", err)
	}
}

func TestWebPAnimatedPath(t *testing.T) {
	for _, f := range []string{"anim_64x48.webp", "anim_rgba_64x48.webp"} {
		if !webpAnimated(fixtureFile(t, f)) {
			t.Errorf("%s is not detected as animated, so the ANMF path is untested", f)
		}
	}
	if webpAnimated(fixtureFile(t, "rgb_333x500.webp")) {
		t.Error("still WebP detected as animated")
	}
}

// TestJPEGLargeCorrupt runs damaged copies of the 1024x768 JPEG through the
// decoder: large enough for the row-parallel paths (converter goroutine,
// parallel rows), they must give an error or an image, never a crash or a
// hang.
func TestJPEGLargeCorrupt(t *testing.T) {
	data := fixtureFile(t, "rgb_1024x768.jpg")
	if _, err := decodeJPEGCompat(data[:len(data)*6/10], 1<<30); err == nil {
		t.Error("truncated JPEG decoded without error")
	}
	rng := rand.New(rand.NewSource(5))
	for n := 0; n < 8; n++ {
		d := append([]byte(nil), data...)
		for i := 0; i < 20; i++ {
			d[600+rng.Intn(len(d)-600)] = byte(rng.Intn(256))
		}
		img, err := decodeJPEGCompat(d, 1<<30)
		if err == nil && img.Bounds().Dx() != 1024 {
			t.Errorf("corrupt copy %d decoded as %v", n, img.Bounds())
		}
	}
}
