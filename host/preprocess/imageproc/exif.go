package imageproc

import (
	"encoding/binary"
	"image"
)

// exifOrientation returns the EXIF Orientation (tag 0x0112 in IFD0) of the
// encoded image, or 0 when there is none or it cannot be read. It reads the
// places Pillow's getexif() reads: a JPEG APP1 "Exif" segment, a PNG eXIf
// chunk, a WebP EXIF chunk, and a TIFF file's own IFD0.
func exifOrientation(f Format, d []byte) int {
	switch f {
	case JPEG:
		return jpegOrientation(d)
	case PNG:
		return pngOrientation(d)
	case WebP:
		return webpOrientation(d)
	case TIFF:
		return tiffOrientation(d)
	}
	return 0
}

func jpegOrientation(d []byte) int {
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xff {
			return 0
		}
		marker := d[i+1]
		if marker == 0xff {
			i++
			continue
		}
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			i += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 {
			return 0
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return 0
		}
		seg := d[i+4 : i+2+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 0
}

func pngOrientation(d []byte) int {
	i := 8
	for i+12 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i:]))
		typ := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			return 0
		}
		if typ == "eXIf" {
			body := d[i+8 : i+8+n]
			if len(body) >= 6 && string(body[:6]) == "Exif\x00\x00" {
				body = body[6:]
			}
			return tiffOrientation(body)
		}
		if typ == "IDAT" || typ == "IEND" {
			// Pillow reads eXIf before IDAT only when loading the header;
			// a chunk after IDAT is seen after load() too, so keep looking.
			if typ == "IEND" {
				return 0
			}
		}
		i += 12 + n
	}
	return 0
}

func webpOrientation(d []byte) int {
	i := 12
	for i+8 <= len(d) {
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return 0
		}
		if string(d[i:i+4]) == "EXIF" {
			body := d[i+8 : i+8+n]
			if len(body) >= 6 && string(body[:6]) == "Exif\x00\x00" {
				body = body[6:]
			}
			return tiffOrientation(body)
		}
		i += 8 + n + n&1
	}
	return 0
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF-structured block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ := bo.Uint16(t[e+2:])
		switch typ {
		case 3: // SHORT
			return int(bo.Uint16(t[e+8:]))
		case 4: // LONG
			return int(bo.Uint32(t[e+8:]))
		}
		return 0
	}
	return 0
}

// orient applies EXIF orientation o (2..8) as PIL.ImageOps.exif_transpose:
// 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE,
// 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
func orient(img image.Image, o int) image.Image {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	ow, oh := W, H
	if o >= 5 {
		ow, oh = H, W
	}
	// src maps an output pixel to its source pixel.
	src := func(x, y int) (int, int) {
		switch o {
		case 2:
			return W - 1 - x, y
		case 3:
			return W - 1 - x, H - 1 - y
		case 4:
			return x, H - 1 - y
		case 5:
			return y, x
		case 6:
			return y, H - 1 - x
		case 7:
			return W - 1 - y, H - 1 - x
		case 8:
			return W - 1 - y, x
		}
		return x, y
	}
	r := image.Rect(0, 0, ow, oh)
	var pix func() ([]uint8, int, int) // source Pix, stride, bytes per pixel
	var dst []uint8
	var dstStride int
	var out image.Image
	switch m := img.(type) {
	case *image.Gray:
		n := image.NewGray(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 1 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.Gray16:
		n := image.NewGray16(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 2 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.Paletted:
		n := image.NewPaletted(r, m.Palette)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 1 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.NRGBA:
		n := image.NewNRGBA(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 4 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.RGBA:
		n := image.NewRGBA(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 4 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.NRGBA64:
		n := image.NewNRGBA64(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 8 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.RGBA64:
		n := image.NewRGBA64(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 8 }
		dst, dstStride, out = n.Pix, n.Stride, n
	case *image.CMYK:
		n := image.NewCMYK(r)
		pix = func() ([]uint8, int, int) { return m.Pix, m.Stride, 4 }
		dst, dstStride, out = n.Pix, n.Stride, n
	default:
		n := image.NewNRGBA(r)
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sx, sy := src(x, y)
				cr, cg, cb, ca := straightRGBA(img.At(b.Min.X+sx, b.Min.Y+sy))
				i := n.PixOffset(x, y)
				n.Pix[i], n.Pix[i+1], n.Pix[i+2], n.Pix[i+3] = cr, cg, cb, ca
			}
		}
		return n
	}
	sp, ss, bpp := pix()
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := src(x, y)
			copy(dst[y*dstStride+x*bpp:y*dstStride+x*bpp+bpp], sp[sy*ss+sx*bpp:])
		}
	}
	return out
}
