package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mewkiz/flac"
)

// decodeFLAC decodes a FLAC stream with github.com/mewkiz/flac (pure Go, verifies each frame's
// CRC). Samples are scaled by 2^(bits-1), as libsndfile does.
func decodeFLAC(data []byte, lim Limits) (clip *Clip, err error) {
	defer func() {
		if r := recover(); r != nil {
			clip, err = nil, fmt.Errorf("audio: flac: corrupt stream (decoder failed: %v)", r)
		}
	}()
	stream, err := flac.New(bytes.NewReader(skipID3(data)))
	if err != nil {
		return nil, fmt.Errorf("audio: flac: reading stream header: %w", err)
	}
	info := stream.Info
	ch := int(info.NChannels)
	bps := int(info.BitsPerSample)
	if bps < 4 || bps > 32 {
		return nil, fmt.Errorf("audio: flac: STREAMINFO declares %d bits per sample; FLAC allows 4..32", bps)
	}
	known := int64(-1)
	if info.NSamples > 0 {
		if info.NSamples > uint64(lim.MaxSamples) {
			return nil, fmt.Errorf("audio: flac stream declares %d frames, over Limits.MaxSamples %d; raise the limit or split the file", info.NSamples, lim.MaxSamples)
		}
		known = int64(info.NSamples)
	}
	if err := lim.check(FormatFLAC, int(info.SampleRate), ch, known); err != nil {
		return nil, err
	}
	// Grow as frames arrive, but never past what the header or the limits allow.
	capHint := 0
	if known > 0 {
		// The declared count is a hint only: a lying header cannot make us allocate more than the
		// input could plausibly hold (FLAC compresses rarely better than 1 bit per sample).
		capHint = int(min(known, int64(len(data))*8))
	}
	out := make([][]float32, ch)
	for c := range out {
		out[c] = make([]float32, 0, capHint)
	}
	scale := float32(1) / float32(int64(1)<<(bps-1))
	maxFrames := min(lim.MaxSamples/int64(ch), int64(lim.MaxDuration.Seconds()*float64(info.SampleRate)))
	for {
		fr, err := stream.ParseNext()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("audio: flac: corrupt or truncated frame after %d samples: %w", len(out[0]), err)
		}
		if len(fr.Subframes) != ch {
			return nil, fmt.Errorf("audio: flac: frame has %d channels, STREAMINFO declares %d", len(fr.Subframes), ch)
		}
		if n := int64(len(out[0]) + int(fr.BlockSize)); n > maxFrames {
			if err := lim.check(FormatFLAC, int(info.SampleRate), ch, n); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("audio: flac stream holds more than %d frames, over Limits.MaxSamples or Limits.MaxDuration", maxFrames)
		}
		for c, sf := range fr.Subframes {
			if len(sf.Samples) != int(fr.BlockSize) {
				return nil, fmt.Errorf("audio: flac: subframe holds %d samples, frame header declares %d", len(sf.Samples), fr.BlockSize)
			}
			for _, v := range sf.Samples {
				out[c] = append(out[c], float32(v)*scale)
			}
		}
	}
	return &Clip{Samples: out, Rate: int(info.SampleRate)}, nil
}
