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
	// The vertical pass reads each intermediate row several times, so rows
	// are kept packed two samples per int64 (see packedRows).
	var rows *packedRows
	img := src
	if needH {
		for i := 0; i < h; i++ {
			cv.bounds[2*i] -= yFirst
		}
		tmp := newPixels(w, yLast-yFirst, src.C)
		if needV {
			rows = newPackedRows(tmp.H, tmp.W*tmp.C)
		}
		parallelRows(tmp.H, tmp.W*ch.ksize, func(y0, y1 int) {
			resampleHorizontal(tmp, src, yFirst, ch, y0, y1, rows)
		})
		img = tmp
	} else {
		img = src.compact()
		rows = newPackedRows(img.H, img.W*img.C)
		parallelRows(img.H, img.W*img.C, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				rows.pack(y, img.Pix[y*rows.n:(y+1)*rows.n])
			}
		})
	}
	if needV {
		out := newPixels(img.W, h, img.C)
		parallelRows(h, img.W*img.C*cv.ksize/2, func(y0, y1 int) {
			resampleVertical(out, rows, cv, y0, y1)
		})
		img = out
	}
	return img, nil
}

// packedRows holds 8-bit rows of n samples as int64s holding two samples,
// a<<32 + b. Multiplying a packed value by a filter tap and summing gives
// (sum of a*k)<<32 + (sum of b*k) in one multiply-add: the low 32 bits are
// the b sum as Pillow's int32 accumulator holds it (wrapping the same way
// if it ever overflowed), and the a sum is what remains above them (see
// unpack). So the sums, and the results, are Pillow's exactly.
type packedRows struct {
	n, n2 int // samples per row, int64s per row
	p     []int64
}

func newPackedRows(h, n int) *packedRows {
	n2 := (n + 1) / 2
	return &packedRows{n: n, n2: n2, p: make([]int64, h*n2)}
}

func (r *packedRows) pack(y int, row []uint8) {
	dst := r.p[y*r.n2 : (y+1)*r.n2]
	row = row[:r.n]
	for i := range dst {
		var lo int64
		if 2*i+1 < len(row) {
			lo = int64(row[2*i+1])
		}
		dst[i] = int64(row[2*i])<<32 + lo
	}
}

// unpack splits a packed sum into its high and low int32 sums.
func unpack(v int64) (hi, lo int32) {
	lo = int32(v)
	return int32((v - int64(lo)) >> 32), lo
}

// resampleHorizontal computes rows y0..y1-1 of dst (compact) from rows
// y0+offset.. of src, as Pillow's ImagingResampleHorizontal_8bpc; when rows
// is not nil it also stores each output row packed.
func resampleHorizontal(dst, src *pixels, offset int, c coeffs, y0, y1 int, rows *packedRows) {
	C, S := src.C, src.S
	const half = int32(1 << (precisionBits - 1))
	sstride := src.W * S
	ks := c.ksize
	if C == 3 {
		resampleHorizontalRGB(dst, src, offset, c, y0, y1, rows)
		return
	}
	for yy := y0; yy < y1; yy++ {
		row := src.Pix[(yy+offset)*sstride : (yy+offset+1)*sstride]
		out := dst.Pix[yy*dst.W*C : (yy+1)*dst.W*C]
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
		if rows != nil {
			rows.pack(yy, out)
		}
	}
}

// resampleHorizontalRGB is resampleHorizontal for 3 channels. It works on
// two rows at a time, each channel of the pair packed in one int64 (see
// packedRows): three multiply-adds per tap for six samples.
func resampleHorizontalRGB(dst, src *pixels, offset int, c coeffs, y0, y1 int, rows *packedRows) {
	S := src.S
	const half = int64(1 << (precisionBits - 1))
	const half2 = half<<32 + half
	sstride := src.W * S
	ks := c.ksize
	pr, pg, pb := make([]int64, src.W), make([]int64, src.W), make([]int64, src.W)
	k64 := make([]int64, len(c.k))
	for i, v := range c.k {
		k64[i] = int64(v)
	}
	for ya := y0; ya < y1; ya += 2 {
		// The second row of the last pair may be past y1: compute the
		// first row twice then and keep one.
		yb := min(ya+1, y1-1)
		rowA := src.Pix[(ya+offset)*sstride : (ya+offset+1)*sstride]
		rowB := src.Pix[(yb+offset)*sstride : (yb+offset+1)*sstride]
		for x := range pr {
			a := rowA[x*S : x*S+3 : x*S+3]
			b := rowB[x*S : x*S+3 : x*S+3]
			pr[x] = int64(a[0])<<32 + int64(b[0])
			pg[x] = int64(a[1])<<32 + int64(b[1])
			pb[x] = int64(a[2])<<32 + int64(b[2])
		}
		outA := dst.Pix[ya*dst.W*3 : (ya+1)*dst.W*3]
		outB := dst.Pix[yb*dst.W*3 : (yb+1)*dst.W*3]
		for xx := 0; xx < dst.W; xx++ {
			xmin, xcnt := c.bounds[2*xx], c.bounds[2*xx+1]
			k := k64[xx*ks : xx*ks+xcnt]
			r := pr[xmin : xmin+xcnt]
			g := pg[xmin : xmin+xcnt]
			b := pb[xmin : xmin+xcnt]
			r, g, b = r[:len(k)], g[:len(k)], b[:len(k)]
			sr, sg, sb := half2, half2, half2
			for x, kv := range k {
				sr += r[x] * kv
				sg += g[x] * kv
				sb += b[x] * kv
			}
			ra, rb := unpack(sr)
			ga, gb := unpack(sg)
			ba, bb := unpack(sb)
			oa := outA[3*xx : 3*xx+3 : 3*xx+3]
			ob := outB[3*xx : 3*xx+3 : 3*xx+3]
			ob[0], ob[1], ob[2] = clip8(rb), clip8(gb), clip8(bb)
			oa[0], oa[1], oa[2] = clip8(ra), clip8(ga), clip8(ba)
		}
		if rows != nil {
			rows.pack(ya, outA)
			rows.pack(yb, outB)
		}
	}
}

// resampleVertical computes rows y0..y1-1 of dst from the packed rows,
// accumulating whole rows at a time (integer sums, so the order does not
// change the result).
func resampleVertical(dst *pixels, rows *packedRows, c coeffs, y0, y1 int) {
	n, n2 := rows.n, rows.n2
	acc := make([]int64, n2)
	const half = int64(1 << (precisionBits - 1))
	for yy := y0; yy < y1; yy++ {
		ymin, ycnt := c.bounds[2*yy], c.bounds[2*yy+1]
		k := c.k[yy*c.ksize : yy*c.ksize+ycnt]
		for i := range acc {
			acc[i] = half<<32 + half
		}
		for y, kv := range k {
			row := rows.p[(ymin+y)*n2 : (ymin+y+1)*n2]
			a := acc[:len(row)]
			k := int64(kv)
			for i, v := range row {
				a[i] += v * k
			}
		}
		out := dst.Pix[yy*n : (yy+1)*n]
		for i, v := range acc {
			hi, lo := unpack(v)
			out[2*i] = clip8(hi)
			if 2*i+1 < len(out) {
				out[2*i+1] = clip8(lo)
			}
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
