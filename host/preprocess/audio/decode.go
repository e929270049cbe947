package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Format names a container/codec that Decode recognises.
type Format string

// The formats Decode sniffs from content.
const (
	FormatWAV  Format = "wav"
	FormatFLAC Format = "flac"
	FormatMP3  Format = "mp3"
)

// supported is what error messages list when a stream is not one of the formats above.
const supported = "WAV (RIFF/WAVE: PCM 8/16/24/32-bit, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE), FLAC, MP3 (MPEG-1/2/2.5 Layer III)"

// Limits bounds what Decode accepts, so that a hostile or broken header cannot make it allocate
// without bound. A zero field takes the value of DefaultLimits.
type Limits struct {
	// MaxBytes is the largest encoded input read, in bytes.
	MaxBytes int64
	// MaxDuration is the longest clip decoded.
	MaxDuration time.Duration
	// MaxSamples is the largest number of decoded samples over all channels (frames*channels).
	MaxSamples int64
	// MaxChannels is the largest channel count accepted.
	MaxChannels int
	// MaxRate is the highest sample rate accepted, in Hz.
	MaxRate int
}

// DefaultLimits are the limits used for zero fields of a Limits: 1 GiB of input, one hour, 2^28
// samples (1 GiB of float32), 64 channels, 768 kHz.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:    1 << 30,
		MaxDuration: time.Hour,
		MaxSamples:  1 << 28,
		MaxChannels: 64,
		MaxRate:     768000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = d.MaxDuration
	}
	if l.MaxSamples <= 0 {
		l.MaxSamples = d.MaxSamples
	}
	if l.MaxChannels <= 0 {
		l.MaxChannels = d.MaxChannels
	}
	if l.MaxRate <= 0 {
		l.MaxRate = d.MaxRate
	}
	return l
}

// check refuses a stream whose header announces more than the limits allow. frames < 0 means
// "not known yet" and only checks channels and rate.
func (l Limits) check(f Format, rate, channels int, frames int64) error {
	if channels < 1 || channels > l.MaxChannels {
		return fmt.Errorf("audio: %s header declares %d channels; accepted 1..%d (Limits.MaxChannels)", f, channels, l.MaxChannels)
	}
	if rate < 1 || rate > l.MaxRate {
		return fmt.Errorf("audio: %s header declares a sample rate of %d Hz; accepted 1..%d (Limits.MaxRate)", f, rate, l.MaxRate)
	}
	if frames < 0 {
		return nil
	}
	if frames > l.MaxSamples/int64(channels) {
		return fmt.Errorf("audio: %s stream holds %d frames x %d channels, over Limits.MaxSamples %d; raise the limit or split the file", f, frames, channels, l.MaxSamples)
	}
	if maxFrames := int64(l.MaxDuration.Seconds() * float64(rate)); frames > maxFrames {
		return fmt.Errorf("audio: %s stream lasts %s (%d frames at %d Hz), over Limits.MaxDuration %s; raise the limit or split the file",
			f, time.Duration(float64(frames)/float64(rate)*float64(time.Second)).Round(time.Millisecond), frames, rate, l.MaxDuration)
	}
	return nil
}

// Clip is decoded audio: one slice per channel, all the same length, at Rate samples per second.
type Clip struct {
	Samples [][]float32
	Rate    int
	// Format is the container the clip was decoded from.
	Format Format
}

// Frames is the number of samples per channel.
func (c *Clip) Frames() int {
	if len(c.Samples) == 0 {
		return 0
	}
	return len(c.Samples[0])
}

// Duration is the length of the clip.
func (c *Clip) Duration() time.Duration {
	if c.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(c.Frames()) / float64(c.Rate) * float64(time.Second))
}

// Mono returns the mean of the channels, computed in float32 as numpy's data.mean(axis=1) does
// for a float32 array (what HF pipelines do with multi-channel input). For a single channel it
// returns a copy of that channel.
func (c *Clip) Mono() []float32 {
	n := c.Frames()
	out := make([]float32, n)
	if len(c.Samples) == 0 {
		return out
	}
	copy(out, c.Samples[0])
	if len(c.Samples) == 1 {
		return out
	}
	for _, ch := range c.Samples[1:] {
		for i, v := range ch[:n] {
			out[i] += v
		}
	}
	k := float32(len(c.Samples))
	for i := range out {
		out[i] /= k
	}
	return out
}

// ErrUnknownFormat is wrapped by Decode's error when the content matches no supported format.
var ErrUnknownFormat = errors.New("audio: unknown format")

// Decode reads r to its end (at most lim.MaxBytes) and decodes it as WAV, FLAC or MP3, chosen
// from the content, never from a name.
func Decode(r io.Reader, lim Limits) (*Clip, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("audio: reading input: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("audio: input is larger than Limits.MaxBytes (%d bytes); raise the limit or send a shorter clip", lim.MaxBytes)
	}
	return DecodeBytes(data, lim)
}

// DecodeBytes decodes an in-memory file; see Decode.
func DecodeBytes(data []byte, lim Limits) (*Clip, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("audio: input is larger than Limits.MaxBytes (%d bytes); raise the limit or send a shorter clip", lim.MaxBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("audio: input is empty (0 bytes); expected %s", supported)
	}
	f, err := Sniff(data)
	if err != nil {
		return nil, err
	}
	var c *Clip
	switch f {
	case FormatWAV:
		c, err = decodeWAV(data, lim)
	case FormatFLAC:
		c, err = decodeFLAC(data, lim)
	case FormatMP3:
		c, err = decodeMP3(data, lim)
	}
	if err != nil {
		return nil, err
	}
	c.Format = f
	if c.Frames() == 0 {
		return nil, fmt.Errorf("audio: %s stream decodes to zero samples; nothing to process", f)
	}
	return c, nil
}

// Sniff names the format of an encoded stream from its first bytes.
func Sniff(data []byte) (Format, error) {
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		return FormatWAV, nil
	case bytes.HasPrefix(data, []byte("fLaC")):
		return FormatFLAC, nil
	case bytes.HasPrefix(data, []byte("ID3")):
		if body := skipID3(data); bytes.HasPrefix(body, []byte("fLaC")) {
			return FormatFLAC, nil
		}
		return FormatMP3, nil
	case len(data) >= 4 && isMP3Header(data):
		return FormatMP3, nil
	}
	return "", fmt.Errorf("%w: found %s; supported: %s", ErrUnknownFormat, describeMagic(data), supported)
}

// describeMagic says what the first bytes look like, naming common formats that are not
// supported so that the error tells the user what they sent.
func describeMagic(data []byte) string {
	known := []struct{ prefix, name string }{
		{"OggS", "an Ogg container (Vorbis/Opus)"},
		{"RF64", "an RF64 (64-bit WAV) file"},
		{"RIFF", "a RIFF file that is not WAVE"},
		{"FORM", "an IFF/AIFF file"},
		{".snd", "a Sun/NeXT AU file"},
		{"caff", "a Core Audio (CAF) file"},
		{"\x1aE\xdf\xa3", "a Matroska/WebM container"},
		{"#!AMR", "an AMR file"},
		{"MThd", "a MIDI file"},
	}
	for _, k := range known {
		if bytes.HasPrefix(data, []byte(k.prefix)) {
			return k.name
		}
	}
	if len(data) >= 8 && string(data[4:8]) == "ftyp" {
		return "an MP4/M4A container (AAC/ALAC)"
	}
	if len(data) >= 2 && data[0] == 0xFF && data[1]&0xF6 == 0xF0 {
		return "an ADTS AAC stream"
	}
	n := min(len(data), 8)
	return fmt.Sprintf("first bytes % x (%q)", data[:n], data[:n])
}

// skipID3 returns data after any leading ID3v2 tags (or data itself when none or malformed).
func skipID3(data []byte) []byte {
	for len(data) >= 10 && string(data[:3]) == "ID3" {
		sz := int(data[6]&0x7f)<<21 | int(data[7]&0x7f)<<14 | int(data[8]&0x7f)<<7 | int(data[9]&0x7f)
		total := 10 + sz
		if data[5]&0x10 != 0 { // footer present
			total += 10
		}
		if total > len(data) {
			return data[len(data):]
		}
		data = data[total:]
	}
	return data
}

// isMP3Header reports whether data starts with a plausible MPEG audio Layer III frame header.
func isMP3Header(b []byte) bool {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return false
	}
	version := (b[1] >> 3) & 3
	layer := (b[1] >> 1) & 3
	bitrate := b[2] >> 4
	rate := (b[2] >> 2) & 3
	return version != 1 && layer == 1 && bitrate != 15 && bitrate != 0 && rate != 3
}
