package audio

import (
	"encoding/binary"
	"fmt"
	"math"
)

// WAVE format tags (mmreg.h) that matter here.
const (
	wavePCM        = 0x0001
	waveFloat      = 0x0003
	waveALaw       = 0x0006
	waveMuLaw      = 0x0007
	waveExtensible = 0xFFFE
)

// wavFormat is the content of a "fmt " chunk, with WAVE_FORMAT_EXTENSIBLE resolved to its
// sub-format.
type wavFormat struct {
	tag        uint16
	channels   int
	rate       int
	blockAlign int
	bits       int // container bits per sample
}

func decodeWAV(data []byte, lim Limits) (*Clip, error) {
	if len(data) < 12 {
		return nil, fmt.Errorf("audio: wav: file is %d bytes, shorter than the 12-byte RIFF header", len(data))
	}
	// The RIFF size is often wrong in streamed files (0 or 0xFFFFFFFF); chunks are walked up to the
	// end of what was read instead.
	pos := 12
	var (
		fmtc    *wavFormat
		payload []byte
		haveDat bool
	)
	for pos+8 <= len(data) {
		id := string(data[pos : pos+4])
		size := int64(binary.LittleEndian.Uint32(data[pos+4 : pos+8]))
		body := int64(pos + 8)
		rest := int64(len(data)) - body
		switch id {
		case "fmt ":
			if size > rest {
				return nil, fmt.Errorf("audio: wav: truncated file: \"fmt \" chunk declares %d bytes, %d present", size, rest)
			}
			f, err := parseWAVFormat(data[body : body+size])
			if err != nil {
				return nil, err
			}
			fmtc = f
		case "data":
			if fmtc == nil {
				return nil, fmt.Errorf("audio: wav: \"data\" chunk comes before any \"fmt \" chunk; the file is malformed")
			}
			switch {
			case size == 0xFFFFFFFF:
				// Streaming writers leave the size unset: take the rest.
				size = rest
			case size > rest:
				return nil, fmt.Errorf("audio: wav: truncated file: \"data\" chunk declares %d bytes, only %d present", size, rest)
			}
			payload = data[body : body+size]
			haveDat = true
		}
		if haveDat {
			break
		}
		if size > rest {
			return nil, fmt.Errorf("audio: wav: truncated file: %q chunk declares %d bytes, only %d present", id, size, rest)
		}
		next := body + size + size&1 // chunks are padded to an even size
		pos = int(next)
	}
	if fmtc == nil {
		return nil, fmt.Errorf("audio: wav: no \"fmt \" chunk found; the file is truncated or not a WAVE file")
	}
	if !haveDat {
		return nil, fmt.Errorf("audio: wav: no \"data\" chunk found; the file is truncated")
	}
	frames := int64(len(payload) / fmtc.blockAlign)
	if err := lim.check(FormatWAV, fmtc.rate, fmtc.channels, frames); err != nil {
		return nil, err
	}
	return wavSamples(payload[:frames*int64(fmtc.blockAlign)], fmtc, int(frames)), nil
}

func parseWAVFormat(b []byte) (*wavFormat, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("audio: wav: \"fmt \" chunk is %d bytes; at least 16 expected", len(b))
	}
	le := binary.LittleEndian
	f := &wavFormat{
		tag:        le.Uint16(b[0:2]),
		channels:   int(le.Uint16(b[2:4])),
		rate:       int(le.Uint32(b[4:8])),
		blockAlign: int(le.Uint16(b[12:14])),
		bits:       int(le.Uint16(b[14:16])),
	}
	if f.tag == waveExtensible {
		if len(b) < 40 || le.Uint16(b[16:18]) < 22 {
			return nil, fmt.Errorf("audio: wav: WAVE_FORMAT_EXTENSIBLE \"fmt \" chunk is %d bytes; 40 expected", len(b))
		}
		// The sub-format GUID starts with the plain format tag.
		f.tag = le.Uint16(b[24:26])
	}
	switch f.tag {
	case wavePCM:
		if f.bits != 8 && f.bits != 16 && f.bits != 24 && f.bits != 32 {
			return nil, fmt.Errorf("audio: wav: PCM with %d bits per sample; supported: 8, 16, 24, 32", f.bits)
		}
	case waveFloat:
		if f.bits != 32 && f.bits != 64 {
			return nil, fmt.Errorf("audio: wav: IEEE float with %d bits per sample; supported: 32, 64", f.bits)
		}
	case waveALaw, waveMuLaw:
		return nil, fmt.Errorf("audio: wav: G.711 %s encoding (format tag %#04x) is not supported; supported: PCM 8/16/24/32-bit and IEEE float 32/64 (convert with ffmpeg -c:a pcm_s16le)",
			map[uint16]string{waveALaw: "A-law", waveMuLaw: "mu-law"}[f.tag], f.tag)
	default:
		return nil, fmt.Errorf("audio: wav: compressed format tag %#04x is not supported; supported: PCM 8/16/24/32-bit and IEEE float 32/64 (convert with ffmpeg -c:a pcm_s16le)", f.tag)
	}
	if f.channels < 1 {
		return nil, fmt.Errorf("audio: wav: header declares %d channels", f.channels)
	}
	if want := f.channels * f.bits / 8; f.blockAlign != want {
		return nil, fmt.Errorf("audio: wav: block align is %d bytes; %d channels of %d bits need %d", f.blockAlign, f.channels, f.bits, want)
	}
	return f, nil
}

// wavSamples converts interleaved little-endian samples to one float32 slice per channel, with
// libsndfile's scaling (sf.read(dtype="float32")): integer PCM divided by 2^(bits-1), 8-bit
// offset by 128 first.
func wavSamples(p []byte, f *wavFormat, frames int) *Clip {
	ch := f.channels
	out := make([][]float32, ch)
	flat := make([]float32, frames*ch)
	for c := range out {
		out[c] = flat[c*frames : (c+1)*frames : (c+1)*frames]
	}
	bps := f.bits / 8
	le := binary.LittleEndian
	for i := 0; i < frames; i++ {
		for c := 0; c < ch; c++ {
			s := p[(i*ch+c)*bps:]
			var v float32
			switch {
			case f.tag == waveFloat && bps == 4:
				v = math.Float32frombits(le.Uint32(s))
			case f.tag == waveFloat:
				v = float32(math.Float64frombits(le.Uint64(s)))
			case bps == 1:
				v = float32(int(s[0])-128) / 128
			case bps == 2:
				v = float32(int16(le.Uint16(s))) / (1 << 15)
			case bps == 3:
				x := int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24) >> 8
				v = float32(x) / (1 << 23)
			default:
				v = float32(float64(int32(le.Uint32(s))) / (1 << 31))
			}
			out[c][i] = v
		}
	}
	return &Clip{Samples: out, Rate: f.rate}
}
