package imageproc

import (
	"fmt"
	"math"
)

// Resample is a Pillow resampling filter, numbered as PIL.Image.Resampling
// (and the "resample" field of preprocessor_config.json) numbers them.
type Resample int

// The Pillow resampling filters.
const (
	Nearest  Resample = 0
	Lanczos  Resample = 1
	Bilinear Resample = 2
	Bicubic  Resample = 3
	Box      Resample = 4
	Hamming  Resample = 5
)

// String returns Pillow's name of the filter.
func (r Resample) String() string {
	switch r {
	case Nearest:
		return "NEAREST"
	case Lanczos:
		return "LANCZOS"
	case Bilinear:
		return "BILINEAR"
	case Bicubic:
		return "BICUBIC"
	case Box:
		return "BOX"
	case Hamming:
		return "HAMMING"
	}
	return fmt.Sprintf("Resample(%d)", int(r))
}

// pixels is an 8-bit interleaved image with C channels (1 for L, 3 for RGB),
// the in-memory form Pillow's "L" and "RGB" modes have. Pixel i's channel c
// is Pix[i*S+c]: S is C for a compact image, or 4 for a view of RGBA-like
// memory whose fourth byte is ignored (as Pillow's own "RGB" layout, RGBX).
type pixels struct {
	W, H, C, S int
	Pix        []uint8
}

func newPixels(w, h, c int) *pixels {
	return &pixels{W: w, H: h, C: c, S: c, Pix: make([]uint8, w*h*c)}
}

// compact returns p with S == C, copying only when p is a view.
func (p *pixels) compact() *pixels {
	if p.S == p.C {
		return p
	}
	out := newPixels(p.W, p.H, p.C)
	C, S := p.C, p.S
	for i := 0; i < p.W*p.H; i++ {
		copy(out.Pix[i*C:i*C+C], p.Pix[i*S:i*S+C])
	}
	return out
}

type filter struct {
	fn      func(float64) float64
	support float64
}

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

func hammingFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x *= math.Pi
	// Pillow writes the constants as C float literals (0.54f, 0.46f).
	return math.Sin(x) / x * (float64(float32(0.54)) + float64(float32(0.46))*math.Cos(x))
}

func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

func sincFilter(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if -3 <= x && x < 3 {
		return sincFilter(x) * sincFilter(x/3)
	}
	return 0
}

func filterFor(r Resample) (filter, error) {
	switch r {
	case Box:
		return filter{boxFilter, 0.5}, nil
	case Bilinear:
		return filter{bilinearFilter, 1}, nil
	case Hamming:
		return filter{hammingFilter, 1}, nil
	case Bicubic:
		return filter{bicubicFilter, 2}, nil
	case Lanczos:
		return filter{lanczosFilter, 3}, nil
	}
	return filter{}, fmt.Errorf("imageproc: resample %d is not a Pillow filter; want 0 (nearest), 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or 5 (hamming)", int(r))
}

// precisionBits is Pillow's PRECISION_BITS for 8-bit resampling.
const precisionBits = 32 - 8 - 2

// coeffs holds Pillow's precomputed fixed-point filter taps for one axis.
type coeffs struct {
	ksize  int
	bounds []int   // xmin, xcount per output sample
	k      []int32 // ksize taps per output sample
}

// precomputeCoeffs mirrors Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc (Resample.c), in float64 as the C code uses double.
func precomputeCoeffs(inSize int, in0, in1 float64, outSize int, f filter) coeffs {
	scale := (in1 - in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := f.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	kk := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := in0 + (float64(xx)+0.5)*scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := f.fn((float64(x+xmin) - center + 0.5) * ss)
			kk[x] = w
			ww += w
		}
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				kk[x] /= ww
			}
		}
		for x := 0; x < ksize; x++ {
			v := 0.0
			if x < xmax {
				v = kk[x]
			}
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				c.k[xx*ksize+x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	return c
}

func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resize scales src to w x h exactly as Pillow's Image.resize does for an
// 8-bit "L" or "RGB" image with the default box and no reducing_gap. The
// result is compact (S == C).
func resize(src *pixels, w, h int, r Resample) (*pixels, error) {
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("imageproc: resize target %dx%d must be positive", w, h)
	}
	if src.W == w && src.H == h {
		if src.S != src.C {
			return src.compact(), nil
		}
		out := *src
		out.Pix = append([]uint8(nil), src.Pix...)
		return &out, nil
	}
	if r == Nearest {
		return resizeNearest(src, w, h), nil
	}
	f, err := filterFor(r)
	if err != nil {
		return nil, err
	}
	needH := w != src.W
	needV := h != src.H
	ch := precomputeCoeffs(src.W, 0, float64(src.W), w, f)
	cv := precomputeCoeffs(src.H, 0, float64(src.H), h, f)
	// As Pillow's ImagingResampleInner: the horizontal pass only covers the
	// source rows the vertical pass reads.
	yFirst := cv.bounds[0]
	yLast := cv.bounds[2*h-2] + cv.bounds[2*h-1]
	img := src
	if needH {
		for i := 0; i < h; i++ {
			cv.bounds[2*i] -= yFirst
		}
		tmp := newPixels(w, yLast-yFirst, src.C)
		parallelRows(tmp.H, tmp.W*ch.ksize, func(y0, y1 int) {
			resampleHorizontal(tmp, src, yFirst, ch, y0, y1)
		})
		img = tmp
	} else {
		img = src.compact()
	}
	if needV {
		out := newPixels(img.W, h, img.C)
		parallelRows(h, img.W*img.C*cv.ksize, func(y0, y1 int) {
			resampleVertical(out, img, cv, y0, y1)
		})
		img = out
	}
	return img, nil
}

// resampleHorizontal computes rows y0..y1-1 of dst (compact) from rows
// y0+offset.. of src, as Pillow's ImagingResampleHorizontal_8bpc.
func resampleHorizontal(dst, src *pixels, offset int, c coeffs, y0, y1 int) {
	C, S := src.C, src.S
	const half = int32(1 << (precisionBits - 1))
	sstride := src.W * S
	ks := c.ksize
	for yy := y0; yy < y1; yy++ {
		row := src.Pix[(yy+offset)*sstride : (yy+offset+1)*sstride]
		out := dst.Pix[yy*dst.W*C : (yy+1)*dst.W*C]
		switch {
		case C == 3 && S == 4:
			for xx := 0; xx < dst.W; xx++ {
				xmin, xcnt := c.bounds[2*xx], c.bounds[2*xx+1]
				k := c.k[xx*ks : xx*ks+xcnt]
				p := row[xmin*4 : (xmin+xcnt)*4]
				s0, s1, s2 := half, half, half
				for x, kv := range k {
					q := p[4*x : 4*x+3 : 4*x+3]
					s0 += int32(q[0]) * kv
					s1 += int32(q[1]) * kv
					s2 += int32(q[2]) * kv
				}
				o := out[3*xx : 3*xx+3 : 3*xx+3]
				o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
			}
		case C == 3:
			for xx := 0; xx < dst.W; xx++ {
				xmin, xcnt := c.bounds[2*xx], c.bounds[2*xx+1]
				k := c.k[xx*ks : xx*ks+xcnt]
				p := row[xmin*3 : (xmin+xcnt)*3]
				s0, s1, s2 := half, half, half
				for x, kv := range k {
					q := p[3*x : 3*x+3 : 3*x+3]
					s0 += int32(q[0]) * kv
					s1 += int32(q[1]) * kv
					s2 += int32(q[2]) * kv
				}
				o := out[3*xx : 3*xx+3 : 3*xx+3]
				o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
			}
		default:
			for xx := 0; xx < dst.W; xx++ {
				xmin, xcnt := c.bounds[2*xx], c.bounds[2*xx+1]
				k := c.k[xx*ks : xx*ks+xcnt]
				for ch := 0; ch < C; ch++ {
					ss := half
					p := row[xmin*S+ch:]
					for x, kv := range k {
						ss += int32(p[x*S]) * kv
					}
					out[xx*C+ch] = clip8(ss)
				}
			}
		}
	}
}

// resampleVertical computes rows y0..y1-1 of dst from the compact src,
// accumulating whole rows at a time (integer sums, so the order does not
// change the result).
func resampleVertical(dst, src *pixels, c coeffs, y0, y1 int) {
	stride := src.W * src.C
	acc := make([]int32, stride)
	const half = int32(1 << (precisionBits - 1))
	for yy := y0; yy < y1; yy++ {
		ymin, ycnt := c.bounds[2*yy], c.bounds[2*yy+1]
		k := c.k[yy*c.ksize : yy*c.ksize+ycnt]
		for i := range acc {
			acc[i] = half
		}
		for y, kv := range k {
			row := src.Pix[(ymin+y)*stride : (ymin+y+1)*stride]
			a := acc[:len(row)]
			for i, v := range row {
				a[i] += int32(v) * kv
			}
		}
		out := dst.Pix[yy*stride : (yy+1)*stride]
		out = out[:len(acc)]
		for i, v := range acc {
			out[i] = clip8(v)
		}
	}
}

// resizeNearest mirrors Pillow's nearest-neighbour path (ImagingScaleAffine
// with an accumulated source coordinate).
func resizeNearest(src *pixels, w, h int) *pixels {
	out := newPixels(w, h, src.C)
	ax := float64(src.W) / float64(w)
	ay := float64(src.H) / float64(h)
	xin := make([]int, w)
	xo := ax * 0.5
	for x := 0; x < w; x++ {
		xi := coord(xo)
		if xi >= src.W {
			xi = src.W - 1
		}
		xin[x] = xi
		xo += ax
	}
	yo := ay * 0.5
	C, S := src.C, src.S
	for y := 0; y < h; y++ {
		yi := coord(yo)
		if yi >= src.H {
			yi = src.H - 1
		}
		row := src.Pix[yi*src.W*S:]
		o := out.Pix[y*w*C:]
		for x := 0; x < w; x++ {
			copy(o[x*C:x*C+C], row[xin[x]*S:xin[x]*S+C])
		}
		yo += ay
	}
	return out
}

func coord(v float64) int {
	if v < 0 {
		return 0
	}
	return int(v)
}
