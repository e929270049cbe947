package imageproc

import (
	"encoding/binary"
	"image"
)

// libjpeg-turbo's YCbCr->RGB tables (jdcolor.c, SCALEBITS 16).
type yccTables struct {
	crR, cbB [256]int32
	crG, cbG [256]int32
}

// yccTab is read-only after initialisation.
var yccTab = *newYCCTables()

func newYCCTables() *yccTables {
	const scaleBits = 16
	const oneHalf = int32(1) << (scaleBits - 1)
	fix := func(x float64) int32 { return int32(x*float64(int32(1)<<scaleBits) + 0.5) }
	t := &yccTables{}
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + oneHalf) >> scaleBits
		t.cbB[i] = (fix(1.77200)*x + oneHalf) >> scaleBits
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + oneHalf
	}
	return t
}

// clampTab[v+clampOff] is v clamped to 0..255 for v in [-clampOff, 767-clampOff].
const clampOff = 384

var clampTab = func() (t [1024]uint8) {
	for i := range t {
		t[i] = clampU8(int32(i - clampOff))
	}
	return t
}()

func clampU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// jpegYCbCrToRGB converts a decoded JPEG's YCbCr planes to RGB as
// libjpeg-turbo does for Pillow: fancy (triangle) chroma upsampling for
// h2v1/h2v2/h1v2 subsampling when the chroma plane is wider than 2 samples,
// sample replication otherwise, then the fixed-point colour tables.
func jpegYCbCrToRGB(m *image.YCbCr) *image.NRGBA {
	b := m.Bounds()
	W, H := b.Dx(), b.Dy()
	hs, vs := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hs = 2
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		vs = 2
	case image.YCbCrSubsampleRatio411:
		hs = 4
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	}
	cw := (W + hs - 1) / hs
	ch := (H + vs - 1) / vs
	plane := func(src []uint8) []uint8 {
		p := make([]uint8, cw*ch)
		for y := 0; y < ch; y++ {
			copy(p[y*cw:(y+1)*cw], src[y*m.CStride:])
		}
		return upsample(p, cw, ch, hs, vs, W, H)
	}
	cb := plane(m.Cb)
	cr := plane(m.Cr)
	out := image.NewNRGBA(image.Rect(0, 0, W, H))
	ys := make([]uint8, W*H)
	for y := 0; y < H; y++ {
		copy(ys[y*W:(y+1)*W], m.Y[y*m.YStride:])
	}
	yccToNRGBA(out.Pix, ys, cb, cr)
	return out
}

// yccToNRGBA converts full-resolution Y, Cb, Cr planes with libjpeg's
// tables into opaque NRGBA pixels.
func yccToNRGBA(pix, ys, cbs, crs []uint8) {
	t := &yccTab
	n := len(ys)
	cbs, crs, pix = cbs[:n], crs[:n], pix[:4*n]
	ct := &clampTab
	for i, yv := range ys {
		Y := int32(yv) + clampOff
		u, v := cbs[i], crs[i]
		// |table terms| < 256, so every index is inside clampTab.
		r := uint32(ct[uint32(Y+t.crR[v])&1023])
		g := uint32(ct[uint32(Y+((t.cbG[u]+t.crG[v])>>16))&1023])
		b := uint32(ct[uint32(Y+t.cbB[u])&1023])
		binary.LittleEndian.PutUint32(pix[4*i:], r|g<<8|b<<16|0xff000000)
	}
}

// yccRowH2V2 converts one output row of a 4:2:0 image (chroma planes half
// size both ways, downsampled width cw > 2) to NRGBA: libjpeg-turbo's fancy
// h2v2 upsampling (the rowAt case) fused with yccToNRGBA, without the
// intermediate upsampled lines. cbN/crN are the nearer chroma rows, cbF/crF
// the farther ones.
func yccRowH2V2(pix, ys, cbN, cbF, crN, crF []uint8, cw int) {
	t := &yccTab
	ct := &clampTab
	W := len(ys)
	pix = pix[:4*W]
	cbN, cbF, crN, crF = cbN[:cw], cbF[:cw], crN[:cw], crF[:cw]
	// bp, bc, bn: column sums (3*near + far) at i-1, i, i+1 for Cb; r* for
	// Cr. The edges repeat the outermost sum, which gives libjpeg's
	// (4*s + 8) >> 4 and (4*s + 7) >> 4 end samples.
	bc := 3*int32(cbN[0]) + int32(cbF[0])
	rc := 3*int32(crN[0]) + int32(crF[0])
	bp, rp := bc, rc
	px := func(y uint8, u, v int32) uint32 {
		Y := int32(y) + clampOff
		r := uint32(ct[uint32(Y+t.crR[uint8(v)])&1023])
		g := uint32(ct[uint32(Y+((t.cbG[uint8(u)]+t.crG[uint8(v)])>>16))&1023])
		b := uint32(ct[uint32(Y+t.cbB[uint8(u)])&1023])
		return r | g<<8 | b<<16 | 0xff000000
	}
	// Whole pairs of output pixels (chroma samples 0..W/2-1), then the odd
	// last pixel if W is odd.
	pairs := min(cw, W/2)
	for i := 0; i < pairs; i++ {
		bn, rn := bc, rc
		if i+1 < cw {
			bn = 3*int32(cbN[i+1]) + int32(cbF[i+1])
			rn = 3*int32(crN[i+1]) + int32(crF[i+1])
		}
		y := ys[2*i : 2*i+2 : 2*i+2]
		p0 := px(y[0], (3*bc+bp+8)>>4, (3*rc+rp+8)>>4)
		p1 := px(y[1], (3*bc+bn+7)>>4, (3*rc+rn+7)>>4)
		binary.LittleEndian.PutUint64(pix[8*i:], uint64(p0)|uint64(p1)<<32)
		bp, bc = bc, bn
		rp, rc = rc, rn
	}
	if W%2 == 1 && pairs < cw {
		x := 2 * pairs
		binary.LittleEndian.PutUint32(pix[4*x:], px(ys[x], (3*bc+bp+8)>>4, (3*rc+rp+8)>>4))
	}
}

// h2v2Rows returns the nearer and farther input rows fancy h2v2
// upsampling blends for output row y.
func (c *chromaPlane) h2v2Rows(y int) (near, far []uint8) {
	in := y / 2
	near, far = c.row(in), c.row(in+1)
	if y%2 == 0 {
		far = c.row(in - 1)
	}
	return near, far
}

// isFancyH2V2 reports whether rowAt would use fancy h2v2 upsampling.
func (c *chromaPlane) isFancyH2V2() bool { return c.hs == 2 && c.vs == 2 && c.cw > 2 }

// chromaPlane is one component's samples as decoded: cw x ch samples in
// rows of stride bytes, to be expanded by hs x vs to the image size.
type chromaPlane struct {
	p              []uint8
	stride, cw, ch int
	hs, vs         int
	sums           []int32 // scratch for h2v2
}

func (c *chromaPlane) row(y int) []uint8 {
	if y < 0 {
		y = 0
	}
	if y >= c.ch {
		y = c.ch - 1
	}
	return c.p[y*c.stride : y*c.stride+c.cw]
}

// rowAt returns output row y (W samples) of the upsampled plane, following
// libjpeg-turbo's jdsample.c choices for Pillow's default
// (do_fancy_upsampling = TRUE): h2v1/h2v2 "fancy" triangle filters when the
// downsampled width is over 2, h1v2 fancy always, replication otherwise. The
// rows above the first and below the last are replicas (jdmainct.c). dst is
// used unless the row can be returned in place.
func (c *chromaPlane) rowAt(y, W int, dst []uint8) []uint8 {
	hs, vs, cw := c.hs, c.vs, c.cw
	fancy := cw > 2
	switch {
	case hs == 1 && vs == 1:
		return c.p[y*c.stride : y*c.stride+W]
	case hs == 2 && vs == 2 && fancy:
		in := y / 2
		near, far := c.row(in), c.row(in+1)
		if y%2 == 0 {
			far = c.row(in - 1)
		}
		sums := c.sums[:cw]
		near = near[:cw]
		far = far[:cw]
		for i := range sums {
			sums[i] = 3*int32(near[i]) + int32(far[i])
		}
		line := dst[:2*cw]
		line[0] = uint8((sums[0]*4 + 8) >> 4)
		prev := sums[0]
		for i, cur := range sums[1:] {
			pair := line[2*i+1 : 2*i+3 : 2*i+3]
			pair[0] = uint8((prev*3 + cur + 7) >> 4)
			pair[1] = uint8((cur*3 + prev + 8) >> 4)
			prev = cur
		}
		line[2*cw-1] = uint8((sums[cw-1]*4 + 7) >> 4)
		return line[:W]
	case hs == 2 && vs == 1 && fancy:
		in := c.row(y)
		line := dst[:2*cw]
		line[0] = in[0]
		for i := 1; i < cw; i++ {
			line[2*i] = uint8((3*int32(in[i]) + int32(in[i-1]) + 1) >> 2)
			line[2*i-1] = uint8((3*int32(in[i-1]) + int32(in[i]) + 2) >> 2)
		}
		line[2*cw-1] = in[cw-1]
		return line[:W]
	case hs == 1 && vs == 2:
		in := y / 2
		near, far, bias := c.row(in), c.row(in+1), int32(2)
		if y%2 == 0 {
			far, bias = c.row(in-1), 1
		}
		line := dst[:W]
		for x := range line {
			line[x] = uint8((3*int32(near[x]) + int32(far[x]) + bias) >> 2)
		}
		return line
	}
	r := c.row(y / vs)
	line := dst[:W]
	for x := range line {
		line[x] = r[x/hs]
	}
	return line
}

// upsample expands a cw x ch plane (rows of cw bytes) to W x H.
func upsample(p []uint8, cw, ch, hs, vs, W, H int) []uint8 {
	c := &chromaPlane{p: p, stride: cw, cw: cw, ch: ch, hs: hs, vs: vs, sums: make([]int32, cw)}
	out := make([]uint8, W*H)
	line := make([]uint8, 2*cw+W)
	for y := 0; y < H; y++ {
		copy(out[y*W:(y+1)*W], c.rowAt(y, W, line))
	}
	return out
}
