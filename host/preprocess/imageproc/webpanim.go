package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"

	"golang.org/x/image/webp"
)

// webpAnimated reports whether a WebP file is animated (VP8X animation flag).
func webpAnimated(d []byte) bool {
	return len(d) >= 21 && string(d[12:16]) == "VP8X" && d[20]&0x02 != 0
}

// webpFirstFrame decodes the first frame of an animated WebP as libwebp's
// WebPAnimDecoder (which Pillow uses) presents it: the canvas of the VP8X
// size, zero (transparent black) outside the frame, the frame's pixels
// copied in unblended (the first frame is a key frame). x/image/webp does
// not read ANMF chunks, so the frame's bitstream is rewrapped as a still
// WebP and decoded on its own.
func webpFirstFrame(d []byte, maxPixels int64) (image.Image, error) {
	cw := int(uint32(d[24])|uint32(d[25])<<8|uint32(d[26])<<16) + 1
	ch := int(uint32(d[27])|uint32(d[28])<<8|uint32(d[29])<<16) + 1
	i := 12
	for i+8 <= len(d) {
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return nil, errors.New("WebP chunk runs past the end of the file")
		}
		if string(d[i:i+4]) != "ANMF" {
			i += 8 + n + n&1
			continue
		}
		f := d[i+8 : i+8+n]
		if len(f) < 16 {
			return nil, errors.New("short ANMF chunk")
		}
		fx := 2 * int(uint32(f[0])|uint32(f[1])<<8|uint32(f[2])<<16)
		fy := 2 * int(uint32(f[3])|uint32(f[4])<<8|uint32(f[5])<<16)
		fw := int(uint32(f[6])|uint32(f[7])<<8|uint32(f[8])<<16) + 1
		fh := int(uint32(f[9])|uint32(f[10])<<8|uint32(f[11])<<16) + 1
		frame := f[16:]
		var body bytes.Buffer
		body.WriteString("WEBP")
		if bytes.Contains(frame[:min(len(frame), 4)], []byte("ALPH")) {
			// An alpha chunk needs a VP8X header in a still file.
			x := make([]byte, 18)
			copy(x, "VP8X")
			binary.LittleEndian.PutUint32(x[4:], 10)
			x[8] = 0x10
			x[12], x[13], x[14] = byte(fw-1), byte((fw-1)>>8), byte((fw-1)>>16)
			x[15], x[16], x[17] = byte(fh-1), byte((fh-1)>>8), byte((fh-1)>>16)
			body.Write(x)
		}
		body.Write(frame)
		still := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(body.Len()))...)
		still = append(still, body.Bytes()...)
		cfg, err := webp.DecodeConfig(bytes.NewReader(still))
		if err != nil {
			return nil, err
		}
		if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
			return nil, fmt.Errorf("first frame is %dx%d, over Limits.MaxPixels %d: %w", cfg.Width, cfg.Height, maxPixels, ErrTooLarge)
		}
		img, err := webp.Decode(bytes.NewReader(still))
		if err != nil {
			return nil, err
		}
		switch m := img.(type) {
		case *image.YCbCr:
			img = webpYUVToRGB(m, nil)
		case *image.NYCbCrA:
			img = webpYUVToRGB(&m.YCbCr, m)
		}
		canvas := image.NewNRGBA(image.Rect(0, 0, cw, ch))
		b := img.Bounds()
		for y := 0; y < b.Dy() && fy+y < ch; y++ {
			for x := 0; x < b.Dx() && fx+x < cw; x++ {
				r, g, bl, a := straightRGBA(img.At(b.Min.X+x, b.Min.Y+y))
				o := canvas.PixOffset(fx+x, fy+y)
				canvas.Pix[o], canvas.Pix[o+1], canvas.Pix[o+2], canvas.Pix[o+3] = r, g, bl, a
			}
		}
		return canvas, nil
	}
	return nil, errors.New("animated WebP has no ANMF frame")
}
