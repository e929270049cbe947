package imageproc

import (
	"fmt"
	"image"
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
//
// Pillow resamples horizontally into an intermediate image (only the rows
// the vertical pass reads), then vertically. Here the vertical pass pulls
// intermediate rows as it needs them into a small ring (see vpass), so the
// intermediate image never exists in full; every sample is still computed
// with Pillow's integer arithmetic, so the result is the same.
func resize(src *pixels, w, h int, r Resample) (*pixels, error) {
	return resizeWindow(src, w, h, r, image.Rect(0, 0, w, h))
}

// resizeWindow is resize followed by cropping to win (inside the w x h
// result): only the window's samples are computed. Every output sample of
// Pillow's resampling depends only on its own row's and column's taps, so
// skipping the others changes nothing in the window.
func resizeWindow(src *pixels, w, h int, r Resample, win image.Rectangle) (*pixels, error) {
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("imageproc: resize target %dx%d must be positive", w, h)
	}
	if win.Empty() || !win.In(image.Rect(0, 0, w, h)) {
		return nil, fmt.Errorf("imageproc: window %v is not inside the %dx%d resize target", win, w, h)
	}
	full := win == image.Rect(0, 0, w, h)
	if src.W == w && src.H == h {
		if src.S != src.C || !full {
			return cropWindow(src, win), nil
		}
		out := *src
		out.Pix = append([]uint8(nil), src.Pix...)
		return &out, nil
	}
	if r == Nearest {
		return cropWindow(resizeNearest(src, w, h), win), nil
	}
	f, err := filterFor(r)
	if err != nil {
		return nil, err
	}
	C := src.C
	ow, oh := win.Dx(), win.Dy()
	out := newPixels(ow, oh, C)
	if h == src.H {
		ch := precomputeCoeffs(src.W, 0, float64(src.W), w, f).slice(win.Min.X, win.Max.X)
		parallelRows(oh, ow*ch.ksize, func(y0, y1 int) {
			hp := newHPass(src, ch, ow)
			for ya := y0; ya < y1; ya += 2 {
				yb := min(ya+1, y1-1)
				hp.rows(ya+win.Min.Y, yb+win.Min.Y, out.Pix[ya*ow*C:(ya+1)*ow*C], out.Pix[yb*ow*C:(yb+1)*ow*C])
			}
		})
		return out, nil
	}
	cv := precomputeCoeffs(src.H, 0, float64(src.H), h, f).slice(win.Min.Y, win.Max.Y)
	if w == src.W {
		// Height only: vertical pass over whole rows, then the columns.
		vsrc := src.compact()
		vout := newPixels(w, oh, C)
		parallelRows(oh, w*C*cv.ksize/2, func(y0, y1 int) {
			(&vpass{n: w * C, cv: cv, src: vsrc}).run(vout, y0, y1)
		})
		if full {
			return vout, nil
		}
		return cropWindow(vout, image.Rect(win.Min.X, 0, win.Max.X, oh)), nil
	}
	ch := precomputeCoeffs(src.W, 0, float64(src.W), w, f).slice(win.Min.X, win.Max.X)
	work := ow*C*cv.ksize/2 + ow*ch.ksize*src.H/h
	parallelRows(oh, work, func(y0, y1 int) {
		vp := &vpass{n: ow * C, cv: cv, h: newHPass(src, ch, ow)}
		vp.run(out, y0, y1)
	})
	return out, nil
}

// slice returns the taps of outputs i0..i1-1.
func (c coeffs) slice(i0, i1 int) coeffs {
	return coeffs{ksize: c.ksize, bounds: c.bounds[2*i0 : 2*i1], k: c.k[i0*c.ksize : i1*c.ksize]}
}

// cropWindow copies win (inside px) into a compact image.
func cropWindow(px *pixels, win image.Rectangle) *pixels {
	out := newPixels(win.Dx(), win.Dy(), px.C)
	C, S := px.C, px.S
	for y := 0; y < out.H; y++ {
		row := px.Pix[((win.Min.Y+y)*px.W+win.Min.X)*S:]
		o := out.Pix[y*out.W*C : (y+1)*out.W*C]
		if S == C {
			copy(o, row)
			continue
		}
		for x := 0; x < out.W; x++ {
			copy(o[x*C:x*C+C], row[x*S:x*S+C])
		}
	}
	return out
}

// unpack splits a sum of packed values (two samples per int64, a<<32 + b,
// each multiplied by the same tap) into the high and low int32 sums. The
// low 32 bits are the b sum as Pillow's int32 accumulator holds it
// (wrapping the same way if it ever overflowed), and the a sum is what
// remains above them, so one int64 multiply-add does two of Pillow's.
func unpack(v int64) (hi, lo int32) {
	lo = int32(v)
	return int32((v - int64(lo)) >> 32), lo
}

// pack stores row (8-bit samples) as int64s of two samples, a<<32 + b.
func pack(dst []int64, row []uint8) {
	for i := range dst {
		var lo int64
		if 2*i+1 < len(row) {
			lo = int64(row[2*i+1])
		}
		dst[i] = int64(row[2*i])<<32 + lo
	}
}

// hpass is the horizontal pass (Pillow's ImagingResampleHorizontal_8bpc)
// for one goroutine: its scratch and the taps as int64.
type hpass struct {
	src        *pixels
	c          coeffs
	w          int
	k64        []int64
	pr, pg, pb []int64
}

func newHPass(src *pixels, c coeffs, w int) *hpass {
	h := &hpass{src: src, c: c, w: w}
	if src.C == 3 {
		h.k64 = make([]int64, len(c.k))
		for i, v := range c.k {
			h.k64[i] = int64(v)
		}
		h.pr, h.pg, h.pb = make([]int64, src.W), make([]int64, src.W), make([]int64, src.W)
	}
	return h
}

// rows resamples source rows ya and yb (possibly equal) into outA and outB
// (compact, w*C samples each).
func (h *hpass) rows(ya, yb int, outA, outB []uint8) {
	src, c := h.src, h.c
	C, S := src.C, src.S
	sstride := src.W * S
	rowA := src.Pix[ya*sstride : (ya+1)*sstride]
	rowB := src.Pix[yb*sstride : (yb+1)*sstride]
	ks := c.ksize
	if C != 3 {
		const half = int32(1 << (precisionBits - 1))
		for i, row := range [2][]uint8{rowA, rowB} {
			out := outA
			if i == 1 {
				if yb == ya {
					break
				}
				out = outB
			}
			for xx := 0; xx < h.w; xx++ {
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
		return
	}
	// Three channels: both rows at once, each channel of the pair packed
	// in one int64, so three multiply-adds per tap give six samples.
	const half = int64(1 << (precisionBits - 1))
	const half2 = half<<32 + half
	pr, pg, pb := h.pr, h.pg, h.pb
	for x := range pr {
		a := rowA[x*S : x*S+3 : x*S+3]
		b := rowB[x*S : x*S+3 : x*S+3]
		pr[x] = int64(a[0])<<32 + int64(b[0])
		pg[x] = int64(a[1])<<32 + int64(b[1])
		pb[x] = int64(a[2])<<32 + int64(b[2])
	}
	outA, outB = outA[:3*h.w], outB[:3*h.w]
	for xx := 0; xx < h.w; xx++ {
		xmin, xcnt := c.bounds[2*xx], c.bounds[2*xx+1]
		k := h.k64[xx*ks : xx*ks+xcnt]
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
		ob := outB[3*xx : 3*xx+3 : 3*xx+3]
		ob[0], ob[1], ob[2] = clip8(rb), clip8(gb), clip8(bb)
		oa := outA[3*xx : 3*xx+3 : 3*xx+3]
		oa[0], oa[1], oa[2] = clip8(ra), clip8(ga), clip8(ba)
	}
}

// vpass is the vertical pass (Pillow's ImagingResampleVertical_8bpc) for
// one goroutine's output rows. Its input rows (horizontal-pass output, or
// source rows when only the height changes) are produced on demand, packed
// two samples per int64, into a ring big enough for one output row's taps:
// the rows a goroutine needs are a contiguous range that moves down as the
// output row does.
type vpass struct {
	n   int     // samples per row
	cv  coeffs  // vertical taps, in source row numbers
	h   *hpass  // when the width changes
	src *pixels // compact source, when it does not
}

func (v *vpass) run(out *pixels, y0, y1 int) {
	n := v.n
	n2 := (n + 1) / 2
	R := v.cv.ksize + 2
	ring := make([]int64, R*n2)
	slot := func(y int) []int64 { return ring[(y%R)*n2 : (y%R+1)*n2] }
	rowA, rowB := make([]uint8, n), make([]uint8, n)
	acc := make([]int64, n2)
	last := v.cv.bounds[2*(y1-1)] + v.cv.bounds[2*(y1-1)+1] // rows end here
	next := v.cv.bounds[2*y0]
	const half = int64(1 << (precisionBits - 1))
	for yy := y0; yy < y1; yy++ {
		ymin, ycnt := v.cv.bounds[2*yy], v.cv.bounds[2*yy+1]
		for next < ymin+ycnt {
			if v.h == nil {
				pack(slot(next), v.src.Pix[next*n:(next+1)*n])
				next++
				continue
			}
			yb := min(next+1, last-1)
			v.h.rows(next, yb, rowA, rowB)
			pack(slot(next), rowA)
			if yb != next {
				pack(slot(yb), rowB)
			}
			next = yb + 1
		}
		k := v.cv.k[yy*v.cv.ksize : yy*v.cv.ksize+ycnt]
		for i := range acc {
			acc[i] = half<<32 + half
		}
		for t, kv := range k {
			row := slot(ymin + t)
			a := acc[:len(row)]
			k := int64(kv)
			for i, p := range row {
				a[i] += p * k
			}
		}
		o := out.Pix[yy*n : (yy+1)*n]
		for i, p := range acc {
			hi, lo := unpack(p)
			o[2*i] = clip8(hi)
			if 2*i+1 < len(o) {
				o[2*i+1] = clip8(lo)
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
