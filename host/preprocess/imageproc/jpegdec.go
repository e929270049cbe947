package imageproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"runtime"
)

// This file is a JPEG decoder written to give the same pixels as
// libjpeg-turbo's default decompression, which Pillow uses: Huffman-coded
// baseline and progressive 8-bit JPEGs with one (gray) or three (YCbCr or
// RGB) or four (CMYK/YCCK) components, the "islow" integer inverse DCT (jidctint.c), and
// fancy upsampling plus the fixed-point colour conversion (jpegcolor.go).
// Anything else (arithmetic coding, 12-bit, lossless, non-integral
// sampling ratios) returns errJPEGFallback and is decoded by Go's
// image/jpeg instead.

var errJPEGFallback = errors.New("jpeg feature outside the libjpeg-compatible decoder")

// zigzag[i] is the natural-order index of the i-th coefficient in zigzag
// order.
var zigzag = [64 + 16]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	// Extra entries so that a corrupt run past 63 lands on a harmless
	// position, as libjpeg's jpeg_natural_order does.
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
}

type huffTable struct {
	lut     [1 << 9]uint16 // (length << 8) | value for codes up to 9 bits; 0 = not in LUT
	maxcode [18]int32
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
	ok      bool
}

func buildHuff(counts [16]uint8, vals []uint8) (*huffTable, error) {
	h := &huffTable{vals: vals, ok: true}
	code := int32(0)
	k := int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		h.valptr[l] = k
		h.mincode[l] = code
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			for i := int32(0); i < n; i++ {
				if l <= 9 {
					c := code + i
					shift := uint(9 - l)
					for j := int32(0); j < 1<<shift; j++ {
						h.lut[(c<<shift)|j] = uint16(l)<<8 | uint16(vals[k+i])
					}
				}
			}
			code += n
			h.maxcode[l] = code - 1
			k += n
		}
		if code > 1<<l {
			return nil, errors.New("bad Huffman table (code lengths overflow)")
		}
		code <<= 1
	}
	h.maxcode[17] = 1<<31 - 1
	return h, nil
}

type jpegComp struct {
	id, h, v, tq int
	bw, bh       int     // blocks allocated (MCU padded)
	cw, ch       int     // downsampled size in samples
	coef         []int16 // all blocks, for progressive and non-interleaved scans
	rowCoef      []int16 // one MCU row of blocks, for a streamed scan
	rowEOB       []uint8 // per rowCoef block: highest zigzag index decoded
	pred         int32
	dcTab, acTab int
}

type jpegDec struct {
	d           []byte
	pos         int
	qt          [4][64]int32
	qtSet       [4]bool
	dc, ac      [4]*huffTable
	w, h        int
	comps       []*jpegComp
	hmax, vmax  int
	mcux, mcuy  int
	progressive bool
	ri          int
	jfif        bool
	adobe       bool
	adobeXform  int
	sawSOF      bool
	maxPixels   int64
	eobrun      int32
	planes      []*chromaPlane // decoded samples per component
	outImg      image.Image    // the decoded image, once converter has made it
	conv        func(y0, y1 int)
	convDone    int  // output rows already converted
	streamed    bool // an interleaved sequential scan has filled planes
	// bit reader
	acc       uint64
	nbits     uint
	hitMarker bool
	overrun   bool
}

// decodeJPEGCompat decodes d as libjpeg-turbo would for Pillow. It returns
// errJPEGFallback (possibly wrapped) for features it leaves to image/jpeg.
func decodeJPEGCompat(d []byte, maxPixels int64) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("malformed JPEG data (%v)", r)
		}
	}()
	j := &jpegDec{d: d, pos: 2, maxPixels: maxPixels}
	if len(d) < 4 || d[0] != 0xff || d[1] != 0xd8 {
		return nil, errors.New("missing SOI marker")
	}
	for {
		m, err := j.nextMarker()
		if err != nil {
			return nil, err
		}
		if m == 0xd9 { // EOI
			break
		}
		if m >= 0xd0 && m <= 0xd7 || m == 0x01 {
			continue
		}
		if j.pos+2 > len(j.d) {
			return nil, errors.New("truncated marker segment")
		}
		n := int(binary.BigEndian.Uint16(j.d[j.pos:]))
		if n < 2 || j.pos+n > len(j.d) {
			return nil, fmt.Errorf("marker 0x%02x segment length %d runs past the end of the data", m, n)
		}
		seg := j.d[j.pos+2 : j.pos+n]
		j.pos += n
		switch {
		case m == 0xc0 || m == 0xc1 || m == 0xc2:
			if j.sawSOF {
				return nil, errors.New("more than one SOF marker")
			}
			if err := j.sof(seg, m == 0xc2); err != nil {
				return nil, err
			}
		case m >= 0xc3 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return nil, fmt.Errorf("%w: SOF marker 0x%02x (lossless, hierarchical or arithmetic coding)", errJPEGFallback, m)
		case m == 0xc4:
			if err := j.dht(seg); err != nil {
				return nil, err
			}
		case m == 0xcc:
			return nil, fmt.Errorf("%w: arithmetic coding", errJPEGFallback)
		case m == 0xdb:
			if err := j.dqt(seg); err != nil {
				return nil, err
			}
		case m == 0xdd:
			if len(seg) < 2 {
				return nil, errors.New("bad DRI segment")
			}
			j.ri = int(binary.BigEndian.Uint16(seg))
		case m == 0xda:
			if !j.sawSOF {
				return nil, errors.New("SOS before SOF")
			}
			if err := j.sos(seg); err != nil {
				return nil, err
			}
		case m == 0xe0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				j.jfif = true
			}
		case m == 0xee:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				j.adobe = true
				j.adobeXform = int(seg[11])
			}
		}
	}
	if !j.sawSOF {
		return nil, errors.New("no SOF marker")
	}
	return j.output()
}

// nextMarker skips to the next 0xFF xx marker and returns xx.
func (j *jpegDec) nextMarker() (byte, error) {
	for {
		if j.pos+1 >= len(j.d) {
			return 0, errors.New("data ends before the EOI marker (truncated file)")
		}
		if j.d[j.pos] != 0xff {
			j.pos++
			continue
		}
		m := j.d[j.pos+1]
		if m == 0xff {
			j.pos++
			continue
		}
		j.pos += 2
		if m == 0 {
			continue
		}
		return m, nil
	}
}

func (j *jpegDec) sof(seg []byte, progressive bool) error {
	if len(seg) < 6 {
		return errors.New("short SOF segment")
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", errJPEGFallback, seg[0])
	}
	j.h = int(binary.BigEndian.Uint16(seg[1:]))
	j.w = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if j.w == 0 || j.h == 0 {
		return errors.New("zero image size in SOF")
	}
	if int64(j.w)*int64(j.h) > j.maxPixels {
		return fmt.Errorf("SOF declares %dx%d pixels, over Limits.MaxPixels %d: %w", j.w, j.h, j.maxPixels, ErrTooLarge)
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return fmt.Errorf("%w: %d components", errJPEGFallback, nc)
	}
	if len(seg) < 6+3*nc {
		return errors.New("short SOF segment")
	}
	j.progressive = progressive
	j.sawSOF = true
	for i := 0; i < nc; i++ {
		c := &jpegComp{id: int(seg[6+3*i]), h: int(seg[7+3*i] >> 4), v: int(seg[7+3*i] & 15), tq: int(seg[8+3*i])}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errors.New("bad component sampling factors or quantization table")
		}
		j.comps = append(j.comps, c)
		j.hmax, j.vmax = max(j.hmax, c.h), max(j.vmax, c.v)
	}
	if nc == 1 {
		// A single component is never interleaved: libjpeg treats it as 1x1.
		j.comps[0].h, j.comps[0].v = 1, 1
		j.hmax, j.vmax = 1, 1
	}
	for _, c := range j.comps {
		if j.hmax%c.h != 0 || j.vmax%c.v != 0 {
			return fmt.Errorf("%w: non-integral sampling ratio", errJPEGFallback)
		}
	}
	j.mcux = (j.w + 8*j.hmax - 1) / (8 * j.hmax)
	j.mcuy = (j.h + 8*j.vmax - 1) / (8 * j.vmax)
	for _, c := range j.comps {
		c.bw, c.bh = j.mcux*c.h, j.mcuy*c.v
		c.cw = (j.w*c.h + j.hmax - 1) / j.hmax
		c.ch = (j.h*c.v + j.vmax - 1) / j.vmax
	}
	return nil
}

func (j *jpegDec) dqt(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, int(seg[0]&15)
		if tq > 3 {
			return errors.New("bad DQT table id")
		}
		seg = seg[1:]
		if pq == 0 {
			if len(seg) < 64 {
				return errors.New("short DQT segment")
			}
			for i := 0; i < 64; i++ {
				j.qt[tq][zigzag[i]] = int32(seg[i])
			}
			seg = seg[64:]
		} else {
			if len(seg) < 128 {
				return errors.New("short DQT segment")
			}
			for i := 0; i < 64; i++ {
				j.qt[tq][zigzag[i]] = int32(binary.BigEndian.Uint16(seg[2*i:]))
			}
			seg = seg[128:]
		}
		j.qtSet[tq] = true
	}
	return nil
}

func (j *jpegDec) dht(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errors.New("short DHT segment")
		}
		tc, th := seg[0]>>4, int(seg[0]&15)
		if tc > 1 || th > 3 {
			return errors.New("bad DHT table class or id")
		}
		var counts [16]uint8
		total := 0
		for i := 0; i < 16; i++ {
			counts[i] = seg[1+i]
			total += int(seg[1+i])
		}
		if total > 256 || len(seg) < 17+total {
			return errors.New("bad DHT segment length")
		}
		vals := append([]uint8(nil), seg[17:17+total]...)
		t, err := buildHuff(counts, vals)
		if err != nil {
			return err
		}
		if tc == 0 {
			j.dc[th] = t
		} else {
			j.ac[th] = t
		}
		seg = seg[17+total:]
	}
	return nil
}

// Bit reader over entropy-coded data: 0xFF00 is a stuffed 0xFF; at any
// other marker libjpeg supplies zero bits, and so does this reader.
func (j *jpegDec) fill() {
	if j.nbits <= 56 && !j.hitMarker && j.pos+8 <= len(j.d) {
		// Fast path: the bytes needed hold no 0xFF (checked eight at a
		// time: a zero byte of ^w is an 0xFF; the test may also flag a
		// byte before a real one, which only sends us to the loop below).
		w := binary.BigEndian.Uint64(j.d[j.pos:])
		n := (56-j.nbits)/8 + 1
		x := ^w
		ff := (x - 0x0101010101010101) & ^x & 0x8080808080808080
		if ff>>(64-8*n) == 0 {
			j.acc |= w >> (64 - 8*n) << (64 - j.nbits - 8*n)
			j.pos += int(n)
			j.nbits += 8 * n
			return
		}
	}
	for j.nbits <= 56 {
		var c byte
		if !j.hitMarker && j.pos < len(j.d) {
			c = j.d[j.pos]
			if c == 0xff {
				if j.pos+1 >= len(j.d) {
					j.hitMarker = true
					c = 0
				} else if j.d[j.pos+1] == 0 {
					j.pos += 2
				} else {
					j.hitMarker = true
					c = 0
				}
			} else {
				j.pos++
			}
		} else {
			if !j.hitMarker {
				j.overrun = true
			}
		}
		j.acc |= uint64(c) << (56 - j.nbits)
		j.nbits += 8
	}
}

func (j *jpegDec) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if j.nbits < n {
		j.fill()
	}
	v := int32(j.acc >> (64 - n))
	j.acc <<= n
	j.nbits -= n
	return v
}

func (j *jpegDec) bit() bool { return j.bits(1) != 0 }

func extend(v int32, s uint) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

func (j *jpegDec) decodeHuff(h *huffTable) (uint8, error) {
	if h == nil || !h.ok {
		return 0, errors.New("scan uses an undefined Huffman table")
	}
	if j.nbits < 16 {
		j.fill()
	}
	if e := h.lut[j.acc>>(64-9)]; e != 0 {
		l := uint(e >> 8)
		j.acc <<= l
		j.nbits -= l
		return uint8(e), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(j.acc>>63)
		j.acc <<= 1
		j.nbits--
		if code <= h.maxcode[l] {
			idx := h.valptr[l] + code - h.mincode[l]
			if idx < 0 || int(idx) >= len(h.vals) {
				break
			}
			return h.vals[idx], nil
		}
	}
	// libjpeg warns and returns 0 for a bad code.
	return 0, nil
}

func (j *jpegDec) resetBits() {
	j.acc, j.nbits, j.hitMarker = 0, 0, false
}

func (j *jpegDec) sos(seg []byte) error {
	if len(seg) < 1 {
		return errors.New("short SOS segment")
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(j.comps) || len(seg) < 1+2*ns+3 {
		return errors.New("bad SOS segment")
	}
	scomps := make([]*jpegComp, ns)
	for i := 0; i < ns; i++ {
		id := int(seg[1+2*i])
		var c *jpegComp
		for _, cc := range j.comps {
			if cc.id == id {
				c = cc
			}
		}
		if c == nil {
			return fmt.Errorf("SOS names component %d, not in SOF", id)
		}
		c.dcTab, c.acTab = int(seg[2+2*i]>>4), int(seg[2+2*i]&15)
		if c.dcTab > 3 || c.acTab > 3 {
			return errors.New("bad Huffman table id in SOS")
		}
		scomps[i] = c
	}
	ss, se := int(seg[1+2*ns]), int(seg[2+2*ns])
	ah, al := uint(seg[3+2*ns]>>4), uint(seg[3+2*ns]&15)
	if !j.progressive {
		ss, se, ah, al = 0, 63, 0, 0
	} else {
		if se > 63 || ss > se || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 {
			return errors.New("bad progressive scan parameters")
		}
	}
	for _, c := range scomps {
		if !j.qtSet[c.tq] {
			return errors.New("component uses an undefined quantization table")
		}
	}
	j.resetBits()
	j.eobrun = 0
	for _, c := range scomps {
		c.pred = 0
	}
	// MCU geometry: interleaved scans walk MCUs; a single-component scan
	// walks that component's own blocks (only those covering the image).
	var mx, my int
	if ns == 1 {
		c := scomps[0]
		mx, my = (c.cw+7)/8, (c.ch+7)/8
	} else {
		mx, my = j.mcux, j.mcuy
	}
	total := mx * my
	// A sequential scan holding every component (the usual baseline file)
	// is inverse-transformed one MCU row at a time as it is decoded, into
	// the sample planes: the coefficients of the whole image are never
	// stored. Other scans keep every block's coefficients for output.
	stream := !j.progressive && ns == len(j.comps) && !j.streamed
	var pipe chan int
	if stream {
		j.allocPlanes()
		j.outImg, j.conv = j.converter()
		j.convDone = 0
		if runtime.GOMAXPROCS(0) > 1 && int64(j.w)*int64(j.h) >= minParallelWork {
			// Convert on a second goroutine, a few rows behind the
			// decoder: it gets each row range once the planes hold it.
			pipe = make(chan int, my+1) // one send per MCU row: never blocks
			pipeDone := make(chan any, 1)
			go func(conv func(y0, y1 int)) {
				var perr any
				defer func() {
					if r := recover(); r != nil {
						perr = r
					}
					pipeDone <- perr
				}()
				done := 0
				for safe := range pipe {
					conv(done, safe)
					done = safe
				}
			}(j.conv)
			defer func() {
				close(pipe)
				// A panic in the converter resurfaces here, where the
				// decoder's recover turns it into an error.
				if p := <-pipeDone; p != nil {
					panic(p)
				}
			}()
		}
		for _, c := range scomps {
			c.rowCoef = make([]int16, c.bw*c.v*64)
			c.rowEOB = make([]uint8, c.bw*c.v)
		}
	} else {
		for _, c := range scomps {
			if c.coef == nil {
				c.coef = make([]int16, c.bw*c.bh*64)
			}
		}
	}
	decodeBlock := func(c *jpegComp, bx, by int) error {
		var blk []int16
		if stream {
			i := (by%c.v)*c.bw + bx
			last, err := j.baselineBlock(c, c.rowCoef[i*64:i*64+64])
			c.rowEOB[i] = uint8(last)
			return err
		}
		blk = c.coef[(by*c.bw+bx)*64 : (by*c.bw+bx)*64+64]
		switch {
		case !j.progressive:
			_, err := j.baselineBlock(c, blk)
			return err
		case ss == 0 && ah == 0:
			t, err := j.decodeHuff(j.dc[c.dcTab])
			if err != nil {
				return err
			}
			s := uint(t & 15)
			c.pred += extend(j.bits(s), s)
			blk[0] = int16(c.pred << al)
		case ss == 0:
			if j.bit() {
				blk[0] |= int16(1) << al
			}
		case ah == 0:
			return j.acFirst(c, blk, ss, se, al)
		default:
			return j.acRefine(c, blk, ss, se, al)
		}
		return nil
	}
	for m := 0; m < total; m++ {
		if j.ri > 0 && m > 0 && m%j.ri == 0 {
			// Restart: byte-align, expect RSTn, reset predictors.
			j.resetBits()
			for j.pos+1 < len(j.d) && !(j.d[j.pos] == 0xff && j.d[j.pos+1] >= 0xd0 && j.d[j.pos+1] <= 0xd7) {
				if j.d[j.pos] == 0xff && j.d[j.pos+1] != 0 && j.d[j.pos+1] != 0xff {
					break
				}
				j.pos++
			}
			if j.pos+1 < len(j.d) && j.d[j.pos] == 0xff && j.d[j.pos+1] >= 0xd0 && j.d[j.pos+1] <= 0xd7 {
				j.pos += 2
			}
			j.eobrun = 0
			for _, c := range scomps {
				c.pred = 0
			}
		}
		mxi, myi := m%mx, m/mx
		if ns == 1 {
			if err := decodeBlock(scomps[0], mxi, myi); err != nil {
				return err
			}
		} else {
			for _, c := range scomps {
				for v := 0; v < c.v; v++ {
					for h := 0; h < c.h; h++ {
						if err := decodeBlock(c, mxi*c.h+h, myi*c.v+v); err != nil {
							return err
						}
					}
				}
			}
		}
		if j.overrun {
			return errors.New("entropy-coded data ends early (truncated file)")
		}
		if stream && mxi == mx-1 {
			for i, c := range j.comps {
				j.idctRows(c, j.planes[i], c.rowCoef, c.rowEOB, myi*c.v, (myi+1)*c.v)
				clear(c.rowCoef)
			}
			// Output rows whose upsampling inputs (up to one downsampled
			// row below) are now decoded are converted while they are in
			// cache; output converts the rest.
			safe := min((myi+1)*j.vmax*8-j.vmax, j.h)
			if ns == 1 {
				safe = min((myi+1)*8, j.h)
			}
			if safe > j.convDone {
				if pipe != nil {
					pipe <- safe
				} else {
					j.conv(j.convDone, safe)
				}
				j.convDone = safe
			}
		}
	}
	if stream {
		j.streamed = true
		for _, c := range scomps {
			c.rowCoef, c.rowEOB = nil, nil
		}
	}
	// Continue marker parsing after the scan data.
	j.resetBits()
	return nil
}

// huffFast decodes one Huffman symbol; the caller has made sure at least 16
// bits are buffered.
func (j *jpegDec) huffFast(h *huffTable) uint8 {
	if e := h.lut[j.acc>>(64-9)]; e != 0 {
		l := uint(e >> 8)
		j.acc <<= l
		j.nbits -= l
		return uint8(e)
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(j.acc>>63)
		j.acc <<= 1
		j.nbits--
		if code <= h.maxcode[l] {
			idx := h.valptr[l] + code - h.mincode[l]
			if idx < 0 || int(idx) >= len(h.vals) {
				break
			}
			return h.vals[idx]
		}
	}
	// libjpeg warns and returns 0 for a bad code.
	return 0
}

// receiveExtend reads s (1..15) buffered bits as a signed coefficient
// (libjpeg's HUFF_EXTEND): no refill, the caller guarantees the bits.
func (j *jpegDec) receiveExtend(s uint) int32 {
	v := int32(j.acc >> (64 - s))
	j.acc <<= s
	j.nbits -= s
	// v < 1<<(s-1) means a negative value: v - (1<<s) + 1.
	return v + ((v - (1 << (s - 1))) >> 31 & (1 - (1 << s)))
}

// baselineBlock decodes one sequential block into blk (zeroed by the
// caller) and returns the highest zigzag index it wrote.
func (j *jpegDec) baselineBlock(c *jpegComp, blk []int16) (int, error) {
	dct, act := j.dc[c.dcTab], j.ac[c.acTab]
	if dct == nil || !dct.ok || act == nil || !act.ok {
		return 0, errors.New("scan uses an undefined Huffman table")
	}
	b := (*[64]int16)(blk[:64])
	// A symbol (<= 16 bits) and its value (<= 15 bits) fit in 31 bits, and
	// fill leaves at least 57 buffered.
	if j.nbits < 31 {
		j.fill()
	}
	if s := uint(j.huffFast(dct) & 15); s != 0 {
		c.pred += j.receiveExtend(s)
	}
	b[0] = int16(c.pred)
	zz := &zigzag
	last := 0
	for k := 1; k < 64; k++ {
		if j.nbits < 31 {
			j.fill()
		}
		rs := j.huffFast(act)
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		b[zz[min(k, 79)]&63] = int16(j.receiveExtend(s))
		last = min(k, 63)
	}
	return last, nil
}

func (j *jpegDec) acFirst(c *jpegComp, blk []int16, ss, se int, al uint) error {
	if j.eobrun > 0 {
		j.eobrun--
		return nil
	}
	act := j.ac[c.acTab]
	for k := ss; k <= se; k++ {
		rs, err := j.decodeHuff(act)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r < 15 {
				j.eobrun = 1<<uint(r) - 1
				if r > 0 {
					j.eobrun += j.bits(uint(r))
				}
				break
			}
			k += 15
			continue
		}
		k += r
		blk[zigzag[min(k, 79)]] = int16(extend(j.bits(s), s) * (1 << al))
	}
	return nil
}

func (j *jpegDec) acRefine(c *jpegComp, blk []int16, ss, se int, al uint) error {
	p1 := int16(1) << al
	m1 := -p1
	k := ss
	act := j.ac[c.acTab]
	refine := func(pos int) {
		if blk[pos] != 0 && j.bit() {
			if blk[pos]&p1 == 0 {
				if blk[pos] >= 0 {
					blk[pos] += p1
				} else {
					blk[pos] += m1
				}
			}
		}
	}
	if j.eobrun == 0 {
		for ; k <= se; k++ {
			rs, err := j.decodeHuff(act)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int16(rs&15)
			if s != 0 {
				if j.bit() {
					s = p1
				} else {
					s = m1
				}
			} else if r != 15 {
				j.eobrun = 1 << uint(r)
				if r > 0 {
					j.eobrun += j.bits(uint(r))
				}
				break
			}
			for k <= se {
				pos := zigzag[k]
				if blk[pos] != 0 {
					refine(pos)
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if s != 0 {
				blk[zigzag[min(k, 79)]] = s
			}
		}
	}
	if j.eobrun > 0 {
		for ; k <= se; k++ {
			refine(zigzag[k])
		}
		j.eobrun--
	}
	return nil
}

// idctRangeLimit is libjpeg's post-IDCT range-limit table, indexed by
// (value & 1023): it adds CENTERJSAMPLE and clamps, wrapping for wild
// values exactly as the C table does.
var idctRangeLimit = func() [1024]uint8 {
	var t [1024]uint8
	for m := 0; m < 1024; m++ {
		switch {
		case m < 128:
			t[m] = uint8(m + 128)
		case m < 512:
			t[m] = 255
		case m < 896:
			t[m] = 0
		default:
			t[m] = uint8(m - 896)
		}
	}
	return t
}()

// islow constants (jidctint.c FIX_x_xxx, CONST_BITS 13, PASS1_BITS 2).
const (
	islowConstBits = 13
	islowPass1Bits = 2
	islowF0390     = 3196
	islowF0899     = 7373
	islowF1175     = 9633
	islowF1501     = 12299
)

// idctOdd1 is the islow odd part when only the first odd input (w1) is
// non-zero: tmp0..tmp3 of jpeg_idct_islow.
func idctOdd1(w1 int64) (t0, t1, t2, t3 int64) {
	z5 := w1 * islowF1175
	return z5 - islowF0899*w1, z5 - islowF0390*w1, z5, z5 + (islowF1501-islowF0899-islowF0390)*w1
}

// idctCol2 is islow's first pass for a column whose only non-zero inputs
// are rows 0 and 1 (dequantized w0, w1).
func idctCol2(dst *[8]int32, w0, w1 int64) {
	const sh = islowConstBits - islowPass1Bits
	const rnd = int64(1) << (sh - 1)
	e := w0<<islowConstBits + rnd
	t0, t1, t2, t3 := idctOdd1(w1)
	dst[0], dst[7] = int32((e+t3)>>sh), int32((e-t3)>>sh)
	dst[1], dst[6] = int32((e+t2)>>sh), int32((e-t2)>>sh)
	dst[2], dst[5] = int32((e+t1)>>sh), int32((e-t1)>>sh)
	dst[3], dst[4] = int32((e+t0)>>sh), int32((e-t0)>>sh)
}

// idctRow2 is islow's second pass for a row whose only non-zero inputs are
// columns 0 and 1.
func idctRow2(o *[8]uint8, w0, w1 int64) {
	const sh = islowConstBits + islowPass1Bits + 3
	const rnd = int64(1) << (sh - 1)
	e := w0<<islowConstBits + rnd
	t0, t1, t2, t3 := idctOdd1(w1)
	lim := &idctRangeLimit
	o[0], o[7] = lim[((e+t3)>>sh)&1023], lim[((e-t3)>>sh)&1023]
	o[1], o[6] = lim[((e+t2)>>sh)&1023], lim[((e-t2)>>sh)&1023]
	o[2], o[5] = lim[((e+t1)>>sh)&1023], lim[((e-t1)>>sh)&1023]
	o[3], o[4] = lim[((e+t0)>>sh)&1023], lim[((e-t0)>>sh)&1023]
}

// idctIslow is libjpeg's jpeg_idct_islow: coef is one block in natural
// order (not yet dequantized), q the quantization table; it writes 8x8
// samples to out with the given stride.
func idctIslow(coefs []int16, q *[64]int32, out []uint8, stride int) {
	coef := (*[64]int16)(coefs[:64])
	// Most blocks of photographic images hold only the four lowest
	// frequencies (positions 0, 1, 8, 9) or only DC: both passes then
	// reduce to the general formulas with the zero terms dropped, which is
	// the same integer arithmetic.
	hi := int16(0)
	for _, v := range coef[2:8] {
		hi |= v
	}
	for _, v := range coef[10:64] {
		hi |= v
	}
	if hi == 0 && coef[1]|coef[8]|coef[9] != 0 {
		idct2x2(coef, q, out, stride)
		return
	}
	if hi == 0 {
		idctDC(coef, q, out, stride)
		return
	}
	idctIslowFull(coef, q, out, stride)
}

// idct2x2 is jpeg_idct_islow for a block whose only non-zero coefficients
// are at positions 0, 1, 8 and 9.
func idct2x2(coef *[64]int16, q *[64]int32, out []uint8, stride int) {
	var c0, c1 [8]int32
	idctCol2(&c0, int64(int32(coef[0])*q[0]), int64(int32(coef[8])*q[8]))
	idctCol2(&c1, int64(int32(coef[1])*q[1]), int64(int32(coef[9])*q[9]))
	for r := 0; r < 8; r++ {
		idctRow2((*[8]uint8)(out[r*stride:r*stride+8]), int64(c0[r]), int64(c1[r]))
	}
}

// idctDC is jpeg_idct_islow for a block whose AC coefficients are all zero.
// Both passes reduce to one value (the same arithmetic as the general
// path's zero-column and zero-row shortcuts).
func idctDC(coef *[64]int16, q *[64]int32, out []uint8, stride int) {
	dc := (int32(coef[0]) * q[0]) << islowPass1Bits
	v := idctRangeLimit[((int64(dc)+(1<<(islowPass1Bits+3-1)))>>(islowPass1Bits+3))&1023]
	v8 := uint64(v) * 0x0101010101010101
	for r := 0; r < 8; r++ {
		binary.LittleEndian.PutUint64(out[r*stride:], v8)
	}
}

// idctIslowFull is jpeg_idct_islow without the whole-block shortcuts (it
// keeps libjpeg's own zero-column and zero-row tests).
func idctIslowFull(coef *[64]int16, q *[64]int32, out []uint8, stride int) {
	const (
		constBits = 13
		pass1Bits = 2
		f0298     = 2446
		f0390     = 3196
		f0541     = 4433
		f0765     = 6270
		f0899     = 7373
		f1175     = 9633
		f1501     = 12299
		f1847     = 15137
		f1961     = 16069
		f2053     = 16819
		f2562     = 20995
		f3072     = 25172
	)
	var ws [64]int32
	for col := 0; col < 8; col++ {
		if coef[8+col] == 0 && coef[16+col] == 0 && coef[24+col] == 0 && coef[32+col] == 0 &&
			coef[40+col] == 0 && coef[48+col] == 0 && coef[56+col] == 0 {
			dc := (int32(coef[col]) * q[col]) << pass1Bits
			for r := 0; r < 8; r++ {
				ws[r*8+col] = dc
			}
			continue
		}
		z2 := int64(int32(coef[16+col]) * q[16+col])
		z3 := int64(int32(coef[48+col]) * q[48+col])
		z1 := (z2 + z3) * f0541
		tmp2 := z1 + z3*(-f1847)
		tmp3 := z1 + z2*f0765
		z2 = int64(int32(coef[col]) * q[col])
		z3 = int64(int32(coef[32+col]) * q[32+col])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		tmp0 = int64(int32(coef[56+col]) * q[56+col])
		tmp1 = int64(int32(coef[40+col]) * q[40+col])
		tmp2 = int64(int32(coef[24+col]) * q[24+col])
		tmp3 = int64(int32(coef[8+col]) * q[8+col])
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * f1175
		tmp0 *= f0298
		tmp1 *= f2053
		tmp2 *= f3072
		tmp3 *= f1501
		z1 *= -f0899
		z2 *= -f2562
		z3 *= -f1961
		z4 *= -f0390
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4
		const sh = constBits - pass1Bits
		const rnd = int64(1) << (sh - 1)
		ws[0*8+col] = int32((tmp10 + tmp3 + rnd) >> sh)
		ws[7*8+col] = int32((tmp10 - tmp3 + rnd) >> sh)
		ws[1*8+col] = int32((tmp11 + tmp2 + rnd) >> sh)
		ws[6*8+col] = int32((tmp11 - tmp2 + rnd) >> sh)
		ws[2*8+col] = int32((tmp12 + tmp1 + rnd) >> sh)
		ws[5*8+col] = int32((tmp12 - tmp1 + rnd) >> sh)
		ws[3*8+col] = int32((tmp13 + tmp0 + rnd) >> sh)
		ws[4*8+col] = int32((tmp13 - tmp0 + rnd) >> sh)
	}
	for row := 0; row < 8; row++ {
		w := (*[8]int32)(ws[row*8 : row*8+8])
		o := (*[8]uint8)(out[row*stride : row*stride+8])
		const sh = constBits + pass1Bits + 3
		const rnd = int64(1) << (sh - 1)
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := idctRangeLimit[((int64(w[0])+(1<<(pass1Bits+3-1)))>>(pass1Bits+3))&1023]
			binary.LittleEndian.PutUint64(o[:], uint64(v)*0x0101010101010101)
			continue
		}
		z2 := int64(w[2])
		z3 := int64(w[6])
		z1 := (z2 + z3) * f0541
		tmp2 := z1 + z3*(-f1847)
		tmp3 := z1 + z2*f0765
		tmp0 := (int64(w[0]) + int64(w[4])) << constBits
		tmp1 := (int64(w[0]) - int64(w[4])) << constBits
		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		tmp0 = int64(w[7])
		tmp1 = int64(w[5])
		tmp2 = int64(w[3])
		tmp3 = int64(w[1])
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * f1175
		tmp0 *= f0298
		tmp1 *= f2053
		tmp2 *= f3072
		tmp3 *= f1501
		z1 *= -f0899
		z2 *= -f2562
		z3 *= -f1961
		z4 *= -f0390
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4
		o[0] = idctRangeLimit[((tmp10+tmp3+rnd)>>sh)&1023]
		o[7] = idctRangeLimit[((tmp10-tmp3+rnd)>>sh)&1023]
		o[1] = idctRangeLimit[((tmp11+tmp2+rnd)>>sh)&1023]
		o[6] = idctRangeLimit[((tmp11-tmp2+rnd)>>sh)&1023]
		o[2] = idctRangeLimit[((tmp12+tmp1+rnd)>>sh)&1023]
		o[5] = idctRangeLimit[((tmp12-tmp1+rnd)>>sh)&1023]
		o[3] = idctRangeLimit[((tmp13+tmp0+rnd)>>sh)&1023]
		o[4] = idctRangeLimit[((tmp13-tmp0+rnd)>>sh)&1023]
	}
}

// output runs the IDCT for every component, then upsamples and converts
// colour one output row at a time.
// allocPlanes makes the sample planes (once).
func (j *jpegDec) allocPlanes() {
	if j.planes != nil {
		return
	}
	j.planes = make([]*chromaPlane, len(j.comps))
	for i, c := range j.comps {
		pw := c.bw * 8
		j.planes[i] = &chromaPlane{p: make([]uint8, pw*c.bh*8), stride: pw, cw: c.cw, ch: c.ch, hs: j.hmax / c.h, vs: j.vmax / c.v}
	}
}

// idctRows inverse-transforms block rows by0..by1-1 of component c from
// coef (whose first block is block row by0's first) into plane p. Only
// blocks covering the downsampled image are needed.
// eob, when not nil, holds each block's highest decoded zigzag index.
func (j *jpegDec) idctRows(c *jpegComp, p *chromaPlane, coef []int16, eob []uint8, by0, by1 int) {
	q := &j.qt[c.tq]
	nbx, nby := (c.cw+7)/8, (c.ch+7)/8
	pw := p.stride
	for by := by0; by < min(by1, nby); by++ {
		for bx := 0; bx < nbx; bx++ {
			i := ((by-by0)*c.bw + bx) * 64
			out := p.p[by*8*pw+bx*8:]
			if eob == nil {
				idctIslow(coef[i:i+64], q, out, pw)
				continue
			}
			blk := (*[64]int16)(coef[i : i+64])
			// Zigzag indices 0..4 are positions 0, 1, 8, 16, 9.
			if e := eob[i/64]; e > 4 || blk[16] != 0 {
				idctIslowFull(blk, q, out, pw)
			} else if blk[1]|blk[8]|blk[9] != 0 {
				idct2x2(blk, q, out, pw)
			} else {
				idctDC(blk, q, out, pw)
			}
		}
	}
}

func (j *jpegDec) output() (image.Image, error) {
	for _, c := range j.comps {
		if !j.qtSet[c.tq] {
			return nil, errors.New("component uses an undefined quantization table")
		}
	}
	if j.conv == nil {
		if !j.streamed {
			j.allocPlanes()
			for _, c := range j.comps {
				if c.coef == nil {
					// No scan carried this component: libjpeg leaves its
					// coefficients zero.
					c.coef = make([]int16, c.bw*c.bh*64)
				}
			}
			// Inverse DCT, split by MCU rows: each block is transformed by
			// exactly one goroutine, into its own place in the planes.
			parallelRows(j.mcuy, 64*j.hmax*j.vmax*j.mcux*len(j.comps), func(m0, m1 int) {
				for i, c := range j.comps {
					by0 := m0 * c.v
					j.idctRows(c, j.planes[i], c.coef[by0*c.bw*64:], nil, by0, m1*c.v)
				}
			})
		}
		j.outImg, j.conv = j.converter()
		j.convDone = 0
	}
	// The rows a streamed scan has not converted yet (all rows otherwise),
	// split by rows across goroutines.
	done := j.convDone
	parallelRows(j.h-done, 4*j.w, func(y0, y1 int) { j.conv(done+y0, done+y1) })
	j.convDone = j.h
	return j.outImg, nil
}

// converter makes the output image and returns a function that upsamples
// and colour-converts output rows y0..y1-1 from the planes into it. Calls
// for disjoint row ranges may run concurrently; each uses its own scratch.
func (j *jpegDec) converter() (image.Image, func(y0, y1 int)) {
	W, H := j.w, j.h
	cps := j.planes
	var out image.Image
	var rowFn func(y int, r [][]uint8)
	switch len(j.comps) {
	case 1:
		g := image.NewGray(image.Rect(0, 0, W, H))
		out = g
		rowFn = func(y int, r [][]uint8) { copy(g.Pix[y*g.Stride:y*g.Stride+W], r[0]) }
	case 4:
		cm := image.NewCMYK(image.Rect(0, 0, W, H))
		out = cm
		rowFn = func(y int, r [][]uint8) { j.cmykRow(cm.Pix[y*cm.Stride:y*cm.Stride+4*W], r) }
	default:
		m := image.NewNRGBA(image.Rect(0, 0, W, H))
		out = m
		rgb := false
		switch {
		case j.jfif:
		case j.adobe:
			rgb = j.adobeXform == 0
		default:
			rgb = j.comps[0].id == 'R' && j.comps[1].id == 'G' && j.comps[2].id == 'B'
		}
		if !rgb && cps[0].hs == 1 && cps[0].vs == 1 && cps[1].isFancyH2V2() && cps[2].isFancyH2V2() {
			// The common 4:2:0 case, upsampled and converted in one pass.
			cb, cr, yp := cps[1], cps[2], cps[0]
			return m, func(y0, y1 int) {
				for y := y0; y < y1; y++ {
					cbN, cbF := cb.h2v2Rows(y)
					crN, crF := cr.h2v2Rows(y)
					yccRowH2V2(m.Pix[y*m.Stride:y*m.Stride+4*W], yp.p[y*yp.stride:y*yp.stride+W], cbN, cbF, crN, crF, cb.cw)
				}
			}
		}
		rowFn = func(y int, r [][]uint8) {
			pix := m.Pix[y*m.Stride : y*m.Stride+4*W]
			if rgb {
				for x := 0; x < W; x++ {
					pix[4*x], pix[4*x+1], pix[4*x+2], pix[4*x+3] = r[0][x], r[1][x], r[2][x], 255
				}
				return
			}
			yccToNRGBA(pix, r[0][:W], r[1], r[2])
		}
	}
	return out, func(y0, y1 int) {
		own := make([]chromaPlane, len(cps))
		lines := make([][]uint8, len(cps))
		r := make([][]uint8, len(cps))
		for i, c := range cps {
			own[i] = *c
			own[i].sums = make([]int32, c.cw)
			lines[i] = make([]uint8, 2*c.cw+W)
		}
		for y := y0; y < y1; y++ {
			for i := range own {
				r[i] = own[i].rowAt(y, W, lines[i])
			}
			rowFn(y, r)
		}
	}
}

// cmykRow converts one row of a 4-component JPEG to Pillow's CMYK: libjpeg
// passes CMYK through (or converts YCCK, Adobe transform 2, to inverted
// CMY), and Pillow reads files with an Adobe marker as "CMYK;I" (inverted).
// The result uses Go's CMYK convention (0 = no ink), which is Pillow's CMYK
// mode.
func (j *jpegDec) cmykRow(pix []uint8, r [][]uint8) {
	t := &yccTab
	for x := 0; x < len(pix)/4; x++ {
		c, m, y, k := r[0][x], r[1][x], r[2][x], r[3][x]
		if j.adobe && j.adobeXform == 2 {
			Y := int32(c)
			cb, cr := m, y
			c = clampU8(255 - (Y + t.crR[cr]))
			m = clampU8(255 - (Y + ((t.cbG[cb] + t.crG[cr]) >> 16)))
			y = clampU8(255 - (Y + t.cbB[cb]))
		}
		if j.adobe {
			c, m, y, k = 255-c, 255-m, 255-y, 255-k
		}
		pix[4*x], pix[4*x+1], pix[4*x+2], pix[4*x+3] = c, m, y, k
	}
}
