package imageproc

import "image"

// libwebp's YUV->RGB (src/dsp/yuv.h): BT.601 limited range, 14-bit
// multipliers, 6 fractional bits.
func webpMultHi(v, coeff int) int { return (v * coeff) >> 8 }

func webpClip8(v int) uint8 {
	const yuvFix2 = 6
	const mask = (256 << yuvFix2) - 1
	if v&^mask == 0 {
		return uint8(v >> yuvFix2)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func webpYUVToRGB1(y, u, v int) (uint8, uint8, uint8) {
	r := webpClip8(webpMultHi(y, 19077) + webpMultHi(v, 26149) - 14234)
	g := webpClip8(webpMultHi(y, 19077) - webpMultHi(u, 6419) - webpMultHi(v, 13320) + 8708)
	b := webpClip8(webpMultHi(y, 19077) + webpMultHi(u, 33050) - 17685)
	return r, g, b
}

// webpYUVToRGB converts decoded VP8 planes (4:2:0) to RGB with libwebp's
// "fancy" upsampler (src/dsp/upsampling.c, UpsampleRgbLinePair driven as
// EmitFancyRGB does), which Pillow gets through WebPDecode's defaults. Alpha
// comes from a when not nil.
func webpYUVToRGB(m *image.YCbCr, a *image.NYCbCrA) *image.NRGBA {
	b := m.Bounds()
	W, H := b.Dx(), b.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, W, H))
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := webpYUVToRGB1(int(m.Y[yi]), int(m.Cb[ci]), int(m.Cr[ci]))
				i := out.PixOffset(x, y)
				out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = r, g, bl, 255
			}
		}
	} else {
		uvW := (W + 1) / 2
		yrow := func(y int) []uint8 { return m.Y[y*m.YStride : y*m.YStride+W] }
		urow := func(y int) []uint8 { return m.Cb[y*m.CStride : y*m.CStride+uvW] }
		vrow := func(y int) []uint8 { return m.Cr[y*m.CStride : y*m.CStride+uvW] }
		dst := func(y int) []uint8 { return out.Pix[y*out.Stride : y*out.Stride+4*W] }
		// First row: chroma row 0 mirrored.
		webpUpsamplePair(yrow(0), nil, urow(0), vrow(0), urow(0), vrow(0), dst(0), nil, W)
		y := 0
		for ; y+2 < H; y += 2 {
			k := y / 2
			webpUpsamplePair(yrow(y+1), yrow(y+2), urow(k), vrow(k), urow(k+1), vrow(k+1), dst(y+1), dst(y+2), W)
		}
		if H%2 == 0 {
			k := (H - 1) / 2
			webpUpsamplePair(yrow(H-1), nil, urow(k), vrow(k), urow(k), vrow(k), dst(H-1), nil, W)
		}
	}
	if a != nil {
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				out.Pix[out.PixOffset(x, y)+3] = a.A[a.AOffset(b.Min.X+x, b.Min.Y+y)]
			}
		}
	}
	return out
}

// webpUpsamplePair is libwebp's UPSAMPLE_FUNC body for one pair of output
// rows (the packed u|v<<16 arithmetic computed per channel).
func webpUpsamplePair(topY, botY, topU, topV, curU, curV, topDst, botDst []uint8, n int) {
	put := func(dst []uint8, x int, y uint8, u, v int) {
		r, g, b := webpYUVToRGB1(int(y), u, v)
		dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = r, g, b, 255
	}
	last := (n - 1) >> 1
	tlU, tlV := int(topU[0]), int(topV[0])
	lU, lV := int(curU[0]), int(curV[0])
	put(topDst, 0, topY[0], (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2)
	if botY != nil {
		put(botDst, 0, botY[0], (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2)
	}
	for x := 1; x <= last; x++ {
		tU, tV := int(topU[x]), int(topV[x])
		cU, cV := int(curU[x]), int(curV[x])
		avgU := tlU + tU + lU + cU + 8
		avgV := tlV + tV + lV + cV + 8
		d12U, d12V := (avgU+2*(tU+lU))>>3, (avgV+2*(tV+lV))>>3
		d03U, d03V := (avgU+2*(tlU+cU))>>3, (avgV+2*(tlV+cV))>>3
		put(topDst, 2*x-1, topY[2*x-1], (d12U+tlU)>>1, (d12V+tlV)>>1)
		put(topDst, 2*x, topY[2*x], (d03U+tU)>>1, (d03V+tV)>>1)
		if botY != nil {
			put(botDst, 2*x-1, botY[2*x-1], (d03U+lU)>>1, (d03V+lV)>>1)
			put(botDst, 2*x, botY[2*x], (d12U+cU)>>1, (d12V+cV)>>1)
		}
		tlU, tlV, lU, lV = tU, tV, cU, cV
	}
	if n&1 == 0 {
		put(topDst, n-1, topY[n-1], (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2)
		if botY != nil {
			put(botDst, n-1, botY[n-1], (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2)
		}
	}
}
