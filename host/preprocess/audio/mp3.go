package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// mpg123's decoder delay in samples (GAPLESS_DELAY): the synthesis filter bank's latency,
// added to the encoder delay a LAME tag declares.
const mp3DecoderDelay = 529

// mp3Info is what Decode reads from the first frame itself: go-mp3 always returns 16-bit stereo
// and says neither the channel count nor the encoder's gapless values.
type mp3Info struct {
	channels        int
	samplesPerFrame int
	infoFrame       bool // the first frame is a Xing/Info tag frame, not audio
	delay, padding  int  // from the LAME tag; -1 when absent
	declaredFrames  int64
}

// decodeMP3 decodes MPEG-1/2/2.5 Layer III with github.com/hajimehoshi/go-mp3 and, when the
// encoder wrote a LAME tag, trims the encoder delay and padding as mpg123 (libsndfile, ffmpeg)
// does, so sample i here is sample i there.
func decodeMP3(data []byte, lim Limits) (clip *Clip, err error) {
	defer func() {
		if r := recover(); r != nil {
			clip, err = nil, fmt.Errorf("audio: mp3: corrupt stream (decoder failed: %v)", r)
		}
	}()
	body := skipID3(data)
	hdr, err := readMP3Info(body)
	if err != nil {
		return nil, err
	}
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("audio: mp3: %w", err)
	}
	rate := d.SampleRate()
	// go-mp3 measured the stream by walking every frame header: Length is exact before decoding.
	n := d.Length()
	if n < 0 {
		return nil, fmt.Errorf("audio: mp3: could not measure the stream")
	}
	frames := n / 4
	if err := lim.check(FormatMP3, rate, hdr.channels, frames); err != nil {
		return nil, err
	}
	pcm := make([]byte, n)
	got, err := io.ReadFull(d, pcm)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("audio: mp3: corrupt or truncated stream after %d samples: %w", got/4, err)
	}
	pcm = pcm[:got-got%4]
	total := len(pcm) / 4
	start, end := 0, total
	if hdr.infoFrame {
		start = hdr.samplesPerFrame
	}
	if hdr.delay >= 0 {
		// LAME: frames*samplesPerFrame = delay + samples + padding, and the synthesis filter bank
		// delays everything by mp3DecoderDelay more.
		start += hdr.delay + mp3DecoderDelay
		end = start + (total - hdr.samplesPerFrame - hdr.delay - hdr.padding)
	}
	if end > total {
		end = total
	}
	if start > end {
		start = end
	}
	m := end - start
	out := make([][]float32, hdr.channels)
	for c := range out {
		out[c] = make([]float32, m)
	}
	for i := 0; i < m; i++ {
		s := pcm[(start+i)*4:]
		for c := range out {
			out[c][i] = float32(int16(binary.LittleEndian.Uint16(s[2*c:]))) / (1 << 15)
		}
	}
	return &Clip{Samples: out, Rate: rate}, nil
}

// readMP3Info parses the first frame header and any Xing/Info + LAME tag in that frame.
func readMP3Info(b []byte) (*mp3Info, error) {
	// Find the first frame sync.
	i := 0
	for ; i+4 <= len(b); i++ {
		if isMP3Header(b[i:]) {
			break
		}
	}
	if i+4 > len(b) {
		return nil, fmt.Errorf("audio: mp3: no MPEG Layer III frame header found")
	}
	h := b[i:]
	version := (h[1] >> 3) & 3 // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
	mode := h[3] >> 6          // 3: mono
	if version == 0 {
		return nil, fmt.Errorf("audio: mp3: MPEG-2.5 Layer III (sample rates 8, 11.025, 12 kHz) is not supported by the pure-Go MP3 decoder (github.com/hajimehoshi/go-mp3); supported: MPEG-1 (32-48 kHz) and MPEG-2 (16-24 kHz), or convert to WAV/FLAC")
	}
	info := &mp3Info{channels: 2, samplesPerFrame: 1152, delay: -1, padding: -1}
	if mode == 3 {
		info.channels = 1
	}
	var side int
	switch {
	case version == 3 && info.channels == 1:
		side = 17
	case version == 3:
		side = 32
	case info.channels == 1:
		side = 9
	default:
		side = 17
	}
	if version != 3 {
		info.samplesPerFrame = 576
	}
	if h[1]&1 == 0 { // CRC present
		side += 2
	}
	x := h[min(4+side, len(h)):]
	if len(x) < 8 || (string(x[:4]) != "Xing" && string(x[:4]) != "Info") {
		return info, nil
	}
	info.infoFrame = true
	flags := binary.BigEndian.Uint32(x[4:8])
	p := 8
	if flags&1 != 0 {
		if len(x) >= p+4 {
			info.declaredFrames = int64(binary.BigEndian.Uint32(x[p:]))
		}
		p += 4
	}
	if flags&2 != 0 {
		p += 4
	}
	if flags&4 != 0 {
		p += 100
	}
	if flags&8 != 0 {
		p += 4
	}
	if len(x) >= p+24 && (string(x[p:p+4]) == "LAME" || string(x[p:p+4]) == "Lavc" || string(x[p:p+4]) == "Lavf") {
		v := x[p+21:]
		info.delay = int(v[0])<<4 | int(v[1])>>4
		info.padding = int(v[1]&0x0f)<<8 | int(v[2])
	}
	return info, nil
}
