package imageproc

import "image"

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
		o := pix[4*i : 4*i+4 : 4*i+4]
		// |table terms| < 256, so every index is inside clampTab.
		o[0] = ct[uint32(Y+t.crR[v])&1023]
		o[1] = ct[uint32(Y+((t.cbG[u]+t.crG[v])>>16))&1023]
		o[2] = ct[uint32(Y+t.cbB[u])&1023]
		o[3] = 255
	}
}

// upsample expands a cw x ch chroma plane to W x H following libjpeg-turbo's
// jdsample.c choices for Pillow's default (do_fancy_upsampling = TRUE).
func upsample(p []uint8, cw, ch, hs, vs, W, H int) []uint8 {
	if hs == 1 && vs == 1 && cw == W && ch == H {
		return p
	}
	out := make([]uint8, W*H)
	row := func(y int) []uint8 {
		if y < 0 {
			y = 0
		}
		if y >= ch {
			y = ch - 1
		}
		return p[y*cw : (y+1)*cw]
	}
	fancy := cw > 2
	switch {
	case hs == 1 && vs == 1:
		for y := 0; y < H; y++ {
			copy(out[y*W:(y+1)*W], p[y*cw:])
		}
	case hs == 2 && vs == 2 && fancy:
		sums := make([]int32, cw)
		line := make([]uint8, 2*cw)
		for y := 0; y < H; y++ {
			in := y / 2
			near := row(in)
			far := row(in + 1)
			if y%2 == 0 {
				far = row(in - 1)
			}
			for i := 0; i < cw; i++ {
				sums[i] = 3*int32(near[i]) + int32(far[i])
			}
			for i := 0; i < cw; i++ {
				if i == 0 {
					line[0] = uint8((sums[0]*4 + 8) >> 4)
				} else {
					line[2*i] = uint8((sums[i]*3 + sums[i-1] + 8) >> 4)
				}
				if i == cw-1 {
					line[2*i+1] = uint8((sums[i]*4 + 7) >> 4)
				} else {
					line[2*i+1] = uint8((sums[i]*3 + sums[i+1] + 7) >> 4)
				}
			}
			copy(out[y*W:(y+1)*W], line)
		}
	case hs == 2 && vs == 1 && fancy:
		line := make([]uint8, 2*cw)
		for y := 0; y < H; y++ {
			in := row(y)
			for i := 0; i < cw; i++ {
				v := int32(in[i]) * 3
				if i == 0 {
					line[0] = in[0]
				} else {
					line[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
				}
				if i == cw-1 {
					line[2*i+1] = in[i]
				} else {
					line[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
				}
			}
			copy(out[y*W:(y+1)*W], line)
		}
	case hs == 1 && vs == 2:
		// h1v2_fancy_upsample (libjpeg-turbo); used regardless of width.
		for y := 0; y < H; y++ {
			in := y / 2
			near := row(in)
			far, bias := row(in+1), int32(2)
			if y%2 == 0 {
				far, bias = row(in-1), 1
			}
			for x := 0; x < W; x++ {
				out[y*W+x] = uint8((3*int32(near[x]) + int32(far[x]) + bias) >> 2)
			}
		}
	default:
		for y := 0; y < H; y++ {
			r := row(y / vs)
			for x := 0; x < W; x++ {
				out[y*W+x] = r[x/hs]
			}
		}
	}
	return out
}
