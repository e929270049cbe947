package imageproc

import (
	"encoding/binary"
	"image"
	"image/color"
)

// gifFirstFrame rebuilds the first frame of a GIF as Pillow presents it:
// the full logical screen, pixels outside the frame set to the transparent
// index (or 0 when there is none), and the palette holding the real colour
// of the transparent index (image/gif replaces it by transparent black,
// Pillow keeps it and convert("RGB") shows it). It returns frame unchanged
// when the stream cannot be parsed.
func gifFirstFrame(d []byte, frame *image.Paletted) *image.Paletted {
	if len(d) < 13 {
		return frame
	}
	sw := int(binary.LittleEndian.Uint16(d[6:]))
	sh := int(binary.LittleEndian.Uint16(d[8:]))
	flags := d[10]
	pos := 13
	var global []byte
	if flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if pos+n > len(d) {
			return frame
		}
		global = d[pos : pos+n]
		pos += n
	}
	trns := -1
	for pos < len(d) {
		switch d[pos] {
		case 0x21: // extension
			if pos+2 > len(d) {
				return frame
			}
			label := d[pos+1]
			pos += 2
			for pos < len(d) {
				n := int(d[pos])
				if label == 0xf9 && n >= 4 && pos+5 <= len(d) {
					if d[pos+1]&1 != 0 {
						trns = int(d[pos+4])
					} else {
						trns = -1
					}
				}
				pos += 1 + n
				if n == 0 {
					break
				}
			}
		case 0x2c: // image descriptor
			if pos+10 > len(d) {
				return frame
			}
			pal := global
			if f := d[pos+9]; f&0x80 != 0 {
				n := 3 << ((f & 7) + 1)
				if pos+10+n > len(d) {
					return frame
				}
				pal = d[pos+10 : pos+10+n]
			}
			return gifCanvas(frame, sw, sh, pal, trns)
		default:
			return frame
		}
	}
	return frame
}

// gifCanvas places frame (whose bounds are already in screen coordinates)
// on a sw x sh canvas; the screen size was checked against Limits by
// DecodeConfig.
func gifCanvas(frame *image.Paletted, sw, sh int, pal []byte, trns int) *image.Paletted {
	if sw <= 0 || sh <= 0 {
		return frame
	}
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.NRGBA{A: 255}
		if 3*i+2 < len(pal) {
			p[i] = color.NRGBA{pal[3*i], pal[3*i+1], pal[3*i+2], 255}
		}
	}
	out := image.NewPaletted(image.Rect(0, 0, sw, sh), p)
	if trns >= 0 {
		for i := range out.Pix {
			out.Pix[i] = uint8(trns)
		}
	}
	fb := frame.Bounds()
	for y := fb.Min.Y; y < fb.Max.Y; y++ {
		if y < 0 || y >= sh {
			continue
		}
		for x := fb.Min.X; x < fb.Max.X; x++ {
			if x < 0 || x >= sw {
				continue
			}
			out.Pix[y*out.Stride+x] = frame.Pix[frame.PixOffset(x, y)]
		}
	}
	return out
}
