package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"unicode/utf8"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Default decoding limits.
const (
	DefaultMaxPixels = 100_000_000
	DefaultMaxBytes  = 256 << 20
)

// Limits bounds decoding. A zero field takes its default.
type Limits struct {
	// MaxPixels is the largest width*height accepted; images whose header
	// declares more are refused before any pixel buffer is allocated.
	// Default DefaultMaxPixels (Pillow warns at 89,478,485 and refuses
	// twice that).
	MaxPixels int64
	// MaxBytes is the largest encoded input read. Default DefaultMaxBytes.
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Format is an image container format Decode recognises.
type Format string

// The decodable formats.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	WebP Format = "webp"
	BMP  Format = "bmp"
	TIFF Format = "tiff"
)

// ErrTooLarge is wrapped by errors for images over Limits.MaxPixels or
// Limits.MaxBytes.
var ErrTooLarge = errors.New("image too large")

// ErrNotImage is wrapped by errors for input that is not an image in a
// supported format.
var ErrNotImage = errors.New("not a supported image")

// Decode reads one image: JPEG, PNG, GIF (first frame), WebP, BMP or TIFF,
// recognised from the content. The EXIF orientation, where present, is
// applied as PIL.ImageOps.exif_transpose does. The returned image keeps the
// decoded mode: *image.Gray for grayscale, *image.Paletted for palette
// images, *image.NRGBA for RGB(A), *image.Gray16 and 16-bit types as decoded
// (Preprocess converts each as PIL's convert would).
func Decode(r io.Reader, lim Limits) (image.Image, error) {
	img, _, err := DecodeFormat(r, lim)
	return img, err
}

// readAll reads r up to limit bytes. Readers that know their length
// (bytes.Reader, bytes.Buffer, strings.Reader) are read into one buffer of
// that size instead of a growing one.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit)
	if l, ok := r.(interface{ Len() int }); ok {
		if n := int64(l.Len()); n >= 0 && n < limit {
			var buf bytes.Buffer
			buf.Grow(int(n) + bytes.MinRead)
			_, err := buf.ReadFrom(lr)
			return buf.Bytes(), err
		}
	}
	return io.ReadAll(lr)
}

// DecodeFormat is Decode that also reports the detected format.
func DecodeFormat(r io.Reader, lim Limits) (image.Image, Format, error) {
	lim = lim.withDefaults()
	data, err := readAll(r, lim.MaxBytes+1)
	if err != nil {
		return nil, "", fmt.Errorf("imageproc: reading image: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", fmt.Errorf("imageproc: encoded image is over %d bytes (Limits.MaxBytes); raise the limit to accept it: %w", lim.MaxBytes, ErrTooLarge)
	}
	f, err := sniff(data)
	if err != nil {
		return nil, "", err
	}
	cfg, err := decodeConfig(f, data)
	if err != nil {
		hint := ""
		if errors.Is(err, bmp.ErrUnsupported) {
			hint = " (BMP with RLE compression, 16 bits per pixel or an OS/2 header is not supported; convert it to PNG)"
		}
		return nil, f, fmt.Errorf("imageproc: reading %s header%s: %w", f, hint, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, f, fmt.Errorf("imageproc: %s header declares %dx%d pixels; want at least 1x1", f, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return nil, f, fmt.Errorf("imageproc: %s header declares %dx%d = %d pixels, over the limit of %d (Limits.MaxPixels); refusing to decode a possible decompression bomb: %w", f, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), lim.MaxPixels, ErrTooLarge)
	}
	var img image.Image
	switch {
	case f == JPEG:
		img, err = decodeJPEGCompat(data, lim.MaxPixels)
		if errors.Is(err, errJPEGFallback) {
			img, err = decodeSafe(f, data)
		}
	case f == WebP && webpAnimated(data):
		img, err = decodeWebPAnimSafe(data, lim.MaxPixels)
	default:
		img, err = decodeSafe(f, data)
	}
	if err != nil {
		return nil, f, fmt.Errorf("imageproc: decoding %s (%dx%d): %w", f, cfg.Width, cfg.Height, err)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, f, fmt.Errorf("imageproc: decoded %s is %dx%d; want at least 1x1", f, b.Dx(), b.Dy())
	}
	if int64(b.Dx())*int64(b.Dy()) > lim.MaxPixels {
		return nil, f, fmt.Errorf("imageproc: decoded %s is %dx%d, over Limits.MaxPixels %d: %w", f, b.Dx(), b.Dy(), lim.MaxPixels, ErrTooLarge)
	}
	switch m := img.(type) {
	case *image.Paletted:
		if f == GIF {
			img = gifFirstFrame(data, m)
		}
	case *image.YCbCr:
		if f == JPEG {
			img = jpegYCbCrToRGB(m)
		} else if f == WebP {
			img = webpYUVToRGB(m, nil)
		}
	case *image.NYCbCrA:
		if f == WebP {
			img = webpYUVToRGB(&m.YCbCr, m)
		}
	}
	img = normalizeOrigin(img)
	if o := exifOrientation(f, data); o >= 2 && o <= 8 {
		img = orient(img, o)
	}
	return img, f, nil
}

func decodeWebPAnimSafe(data []byte, maxPixels int64) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("malformed animated WebP data (decoder failed: %v)", r)
		}
	}()
	return webpFirstFrame(data, maxPixels)
}

// decodeSafe runs the format decoder, turning a decoder panic on malformed
// input into an error.
// codecs are the standard-library and x/image decoders behind each format.
var codecs = map[Format]struct {
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}{
	JPEG: {jpeg.Decode, jpeg.DecodeConfig},
	PNG:  {png.Decode, png.DecodeConfig},
	GIF:  {gif.Decode, gif.DecodeConfig},
	WebP: {webp.Decode, webp.DecodeConfig},
	BMP:  {bmp.Decode, bmp.DecodeConfig},
	TIFF: {tiff.Decode, tiff.DecodeConfig},
}

func decodeSafe(f Format, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("malformed %s data (decoder failed: %v)", f, r)
		}
	}()
	c, ok := codecs[f]
	if !ok {
		return nil, fmt.Errorf("no decoder for %s", f)
	}
	return c.decode(bytes.NewReader(data))
}

func decodeConfig(f Format, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed %s header (decoder failed: %v)", f, r)
		}
	}()
	c, ok := codecs[f]
	if !ok {
		return image.Config{}, fmt.Errorf("no decoder for %s", f)
	}
	return c.config(bytes.NewReader(data))
}

// sniff recognises the format from magic bytes, and names what the content
// looks like when it is not a supported image.
func sniff(d []byte) (Format, error) {
	has := func(off int, magic string) bool {
		return len(d) >= off+len(magic) && string(d[off:off+len(magic)]) == magic
	}
	switch {
	case len(d) == 0:
		return "", fmt.Errorf("imageproc: input is empty (0 bytes); want an encoded image: %w", ErrNotImage)
	case has(0, "\xff\xd8\xff"):
		return JPEG, nil
	case has(0, "\x89PNG\r\n\x1a\n"):
		return PNG, nil
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return GIF, nil
	case has(0, "RIFF") && has(8, "WEBP"):
		return WebP, nil
	case has(0, "BM") && len(d) >= 26:
		return BMP, nil
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return TIFF, nil
	}
	var what string
	switch {
	case has(4, "ftypavif"), has(4, "ftypavis"):
		what = "an AVIF image (not supported; convert it to PNG or JPEG)"
	case has(4, "ftypheic"), has(4, "ftypheix"), has(4, "ftypmif1"), has(4, "ftyphevc"):
		what = "a HEIF/HEIC image (not supported; convert it to PNG or JPEG)"
	case has(4, "ftyp"):
		what = "an ISO media file (MP4/MOV)"
	case has(0, "\x00\x00\x00\x0cjP  "), has(0, "\xff\x4f\xff\x51"):
		what = "a JPEG 2000 image (not supported)"
	case has(0, "\x00\x00\x01\x00"):
		what = "an ICO icon (not supported)"
	case has(0, "8BPS"):
		what = "a Photoshop PSD file (not supported)"
	case has(0, "%PDF"):
		what = "a PDF document"
	case has(0, "PK\x03\x04"):
		what = "a ZIP archive"
	case has(0, "\x1f\x8b"):
		what = "gzip-compressed data"
	case has(0, "\x7fELF"):
		what = "an ELF executable"
	case has(0, "RIFF"):
		what = "a RIFF file that is not WebP (audio or video?)"
	case has(0, "ID3"), has(0, "fLaC"), has(0, "OggS"):
		what = "an audio file"
	case has(0, "BM"):
		what = "a truncated BMP file"
	case has(0, "\xff\xd8"):
		what = "a truncated JPEG file"
	default:
		head := d
		if len(head) > 512 {
			head = head[:512]
		}
		trimmed := bytes.TrimSpace(bytes.ToLower(head))
		switch {
		case bytes.HasPrefix(trimmed, []byte("<!doctype html")), bytes.HasPrefix(trimmed, []byte("<html")):
			what = "an HTML page (a download that returned an error page?)"
		case bytes.HasPrefix(trimmed, []byte("<?xml")), bytes.HasPrefix(trimmed, []byte("<svg")):
			what = "XML/SVG text (vector images are not supported)"
		case bytes.HasPrefix(trimmed, []byte("{")), bytes.HasPrefix(trimmed, []byte("[")):
			what = "JSON text"
		case utf8.Valid(head) && isPrintable(head):
			what = "plain text"
		default:
			what = fmt.Sprintf("unrecognised binary data starting % x", d[:min(len(d), 8)])
		}
	}
	return "", fmt.Errorf("imageproc: input is %s, %d bytes; want JPEG, PNG, GIF, WebP, BMP or TIFF: %w", what, len(d), ErrNotImage)
}

func isPrintable(b []byte) bool {
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// normalizeOrigin returns img with bounds starting at (0,0) where the type
// allows it cheaply, so later steps can index Pix directly.
func normalizeOrigin(img image.Image) image.Image {
	if img.Bounds().Min == (image.Point{}) {
		return img
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch m := img.(type) {
	case *image.Paletted:
		p := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), m.Palette)
		for y := 0; y < b.Dy(); y++ {
			copy(p.Pix[y*p.Stride:y*p.Stride+b.Dx()], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return p
	case *image.Gray:
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return g
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, a := straightRGBA(img.At(b.Min.X+x, b.Min.Y+y))
			i := out.PixOffset(x, y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = r, g, bl, a
		}
	}
	return out
}
