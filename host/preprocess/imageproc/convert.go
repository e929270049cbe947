package imageproc

import (
	"fmt"
	"image"
	"image/color"
)

// luma is PIL's L24 conversion: ITU-R 601-2 luma with 16-bit fixed-point
// weights and rounding (Convert.c).
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// cmykToRGB is Pillow's cmyk2rgb.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := int(255 - k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		t = ((t >> 8) + t) >> 8
		o := nk - t
		if o < 0 {
			return 0
		}
		return uint8(o)
	}
	return f(c), f(m), f(y)
}

// i16ToL is Pillow's I;16 -> L conversion: values above 255 clip to 255.
func i16ToL(v uint16) uint8 {
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// toPixels converts img to an 8-bit image with channels 3 (PIL convert("RGB"))
// or 1 (PIL convert("L")), treating each Go image type as the PIL mode it
// decodes from: Gray = L, Gray16 = I;16, Paletted = P, NRGBA = RGBA/LA with
// straight alpha (the alpha is dropped, not composited, as PIL does),
// RGBA = RGB/RGBA (premultiplied alpha is un-premultiplied first), CMYK.
func toPixels(img image.Image, channels int) (*pixels, error) {
	if img == nil {
		return nil, fmt.Errorf("imageproc: nil image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("imageproc: image is %dx%d; want at least 1x1 pixels", w, h)
	}
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("imageproc: %d channels requested; want 1 (L) or 3 (RGB)", channels)
	}
	p := newPixels(w, h, channels)
	put := func(i int, r, g, bl uint8) {
		if channels == 3 {
			p.Pix[3*i], p.Pix[3*i+1], p.Pix[3*i+2] = r, g, bl
		} else {
			p.Pix[i] = luma(r, g, bl)
		}
	}
	putGray := func(i int, v uint8) {
		if channels == 3 {
			p.Pix[3*i], p.Pix[3*i+1], p.Pix[3*i+2] = v, v, v
		} else {
			p.Pix[i] = v
		}
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[(y)*m.Stride:]
			for x := 0; x < w; x++ {
				putGray(y*w+x, row[x])
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				putGray(y*w+x, i16ToL(uint16(row[2*x])<<8|uint16(row[2*x+1])))
			}
		}
	case *image.Paletted:
		pal := make([][3]uint8, 256)
		for i, c := range m.Palette {
			if i >= 256 {
				break
			}
			r, g, bl, _ := straightRGBA(c)
			pal[i] = [3]uint8{r, g, bl}
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				c := pal[row[x]]
				put(y*w+x, c[0], c[1], c[2])
			}
		}
	case *image.NRGBA:
		if channels == 3 {
			for y := 0; y < h; y++ {
				row := m.Pix[y*m.Stride : y*m.Stride+4*w]
				out := p.Pix[3*y*w : 3*(y+1)*w]
				for x := 0; x < w; x++ {
					q := row[4*x : 4*x+3 : 4*x+3]
					o := out[3*x : 3*x+3 : 3*x+3]
					o[0], o[1], o[2] = q[0], q[1], q[2]
				}
			}
			break
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				put(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.RGBA:
		// Go's PNG decoder returns opaque truecolor as *image.RGBA; only
		// pixels with partial alpha need un-premultiplying.
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				r, g, bl, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 255 && a != 0 {
					r, g, bl, _ = straightRGBA(color.RGBA{r, g, bl, a})
				}
				put(y*w+x, r, g, bl)
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				put(y*w+x, row[8*x], row[8*x+2], row[8*x+4])
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				r, g, bl := cmykToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				put(y*w+x, r, g, bl)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, _ := straightRGBA(img.At(b.Min.X+x, b.Min.Y+y))
				put(y*w+x, r, g, bl)
			}
		}
	}
	return p, nil
}

// toPixelsView is toPixels that, for an *image.NRGBA asked for as RGB,
// returns a view of the image's own memory (S = 4, alpha ignored) instead
// of a copy. The result must be treated as read-only.
func toPixelsView(img image.Image, channels int) (*pixels, error) {
	if m, ok := img.(*image.NRGBA); ok && channels == 3 {
		b := m.Bounds()
		w, h := b.Dx(), b.Dy()
		if w > 0 && h > 0 && m.Stride == 4*w && len(m.Pix) >= 4*w*h {
			return &pixels{W: w, H: h, C: 3, S: 4, Pix: m.Pix[:4*w*h]}, nil
		}
	}
	return toPixels(img, channels)
}

// straightRGBA returns the 8-bit colour of c without alpha premultiplication,
// taking the high byte of 16-bit samples as Pillow's 16-bit unpackers do.
func straightRGBA(c color.Color) (r, g, b, a uint8) {
	switch v := c.(type) {
	case color.NRGBA:
		return v.R, v.G, v.B, v.A
	case color.RGBA:
		if v.A == 255 || v.A == 0 {
			return v.R, v.G, v.B, v.A
		}
	case color.Gray:
		return v.Y, v.Y, v.Y, 255
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8), uint8(n.A >> 8)
}
