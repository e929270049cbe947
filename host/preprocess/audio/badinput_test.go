package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// wavHeader builds a 44-byte canonical WAV header.
func wavHeader(tag uint16, channels, rate, bits int, dataSize uint32) []byte {
	b := make([]byte, 44)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36+dataSize)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], tag)
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(b[32:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(b[34:], uint16(bits))
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], dataSize)
	return b
}

func TestBadInput(t *testing.T) {
	wav := readFixture(t, "wav/mix_16000_1ch_pcm16.wav")
	flacb := readFixture(t, "flac/mix_16000_1ch_pcm16.flac")
	mp3b := readFixture(t, "mp3/mix_16000_1ch.mp3")

	t.Run("empty", func(t *testing.T) {
		_, err := Decode(bytes.NewReader(nil), Limits{})
		wantErr(t, err, "empty", "WAV")
	})
	t.Run("unknown/ogg", func(t *testing.T) {
		_, err := DecodeBytes([]byte("OggS\x00\x02\x00\x00\x00\x00"), Limits{})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Fatalf("got %v; want ErrUnknownFormat", err)
		}
		wantErr(t, err, "Ogg", "supported", "FLAC", "MP3")
	})
	t.Run("unknown/text", func(t *testing.T) {
		_, err := DecodeBytes([]byte("hello, world"), Limits{})
		wantErr(t, err, "unknown format", "68 65 6c 6c")
	})
	t.Run("wav/truncated-data", func(t *testing.T) {
		_, err := DecodeBytes(wav[:len(wav)/2], Limits{})
		wantErr(t, err, "truncated", "data")
	})
	t.Run("wav/truncated-header", func(t *testing.T) {
		for _, n := range []int{12, 20, 30, 40} {
			if _, err := DecodeBytes(wav[:n], Limits{}); err == nil {
				t.Fatalf("%d-byte prefix decoded without error", n)
			}
		}
	})
	t.Run("wav/huge-data-size", func(t *testing.T) {
		// 4 GiB declared, 8 bytes present: refused before any sample buffer exists.
		b := append(wavHeader(1, 1, 16000, 16, 0xFFFFFFF0), make([]byte, 8)...)
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "truncated", "4294967280")
	})
	t.Run("wav/streamed-size", func(t *testing.T) {
		// 0xFFFFFFFF means "unknown" (streaming writers): the rest of the input is the data.
		b := append(wavHeader(1, 1, 16000, 16, 0xFFFFFFFF), 0, 0x40, 0, 0xC0)
		c, err := DecodeBytes(b, Limits{})
		if err != nil || c.Frames() != 2 || c.Samples[0][0] != 0.5 || c.Samples[0][1] != -0.5 {
			t.Fatalf("got %+v, %v; want 2 samples 0.5, -0.5", c, err)
		}
	})
	t.Run("wav/too-many-channels", func(t *testing.T) {
		b := append(wavHeader(1, 1000, 16000, 16, 2000), make([]byte, 2000)...)
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "1000 channels", "MaxChannels")
	})
	t.Run("wav/zero-rate", func(t *testing.T) {
		b := append(wavHeader(1, 1, 0, 16, 4), make([]byte, 4)...)
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "sample rate of 0")
	})
	t.Run("wav/zero-length", func(t *testing.T) {
		_, err := DecodeBytes(wavHeader(1, 1, 16000, 16, 0), Limits{})
		wantErr(t, err, "zero samples")
	})
	t.Run("wav/mulaw", func(t *testing.T) {
		b := append(wavHeader(7, 1, 8000, 8, 4), make([]byte, 4)...)
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "mu-law", "PCM")
	})
	t.Run("wav/12-bit", func(t *testing.T) {
		b := append(wavHeader(1, 1, 8000, 12, 4), make([]byte, 4)...)
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "12 bits")
	})
	t.Run("limits/duration", func(t *testing.T) {
		_, err := DecodeBytes(wav, Limits{MaxDuration: 500 * time.Millisecond})
		wantErr(t, err, "MaxDuration")
		_, err = DecodeBytes(flacb, Limits{MaxDuration: 500 * time.Millisecond})
		wantErr(t, err, "MaxDuration")
		_, err = DecodeBytes(mp3b, Limits{MaxDuration: 500 * time.Millisecond})
		wantErr(t, err, "MaxDuration")
	})
	t.Run("limits/samples", func(t *testing.T) {
		_, err := DecodeBytes(wav, Limits{MaxSamples: 1000})
		wantErr(t, err, "MaxSamples")
	})
	t.Run("limits/bytes", func(t *testing.T) {
		_, err := Decode(bytes.NewReader(wav), Limits{MaxBytes: 100})
		wantErr(t, err, "MaxBytes")
	})
	t.Run("reader-error", func(t *testing.T) {
		_, err := Decode(io.MultiReader(bytes.NewReader(wav[:100]), errReader{}), Limits{})
		wantErr(t, err, "reading input", "boom")
	})
	t.Run("flac/truncated", func(t *testing.T) {
		for _, n := range []int{4, 20, 42, len(flacb) / 2, len(flacb) - 3} {
			if _, err := DecodeBytes(flacb[:n], Limits{}); err == nil {
				t.Fatalf("%d-byte prefix of a FLAC file decoded without error", n)
			}
		}
	})
	t.Run("flac/corrupt", func(t *testing.T) {
		b := bytes.Clone(flacb)
		for i := len(b) / 2; i < len(b)/2+16; i++ {
			b[i] ^= 0x5a
		}
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "flac")
	})
	t.Run("flac/huge-sample-count", func(t *testing.T) {
		// STREAMINFO total samples is 36 bits at byte 8+13.5 of the block; set it to the maximum.
		b := bytes.Clone(flacb)
		si := 8 // "fLaC" + 4-byte block header
		b[si+13] |= 0x0f
		for i := si + 14; i < si+18; i++ {
			b[i] = 0xff
		}
		_, err := DecodeBytes(b, Limits{})
		wantErr(t, err, "MaxSamples")
	})
	t.Run("mp3/truncated", func(t *testing.T) {
		// A cut MP3 is still playable up to the cut (as mpg123 plays it); it must not panic.
		for _, n := range []int{3, 10, 200, len(mp3b) / 2} {
			c, err := DecodeBytes(mp3b[:n], Limits{})
			if err == nil && c.Frames() == 0 {
				t.Fatalf("%d-byte prefix: no error and no samples", n)
			}
		}
	})
	t.Run("mp3/garbage-after-sync", func(t *testing.T) {
		b := append([]byte{0xFF, 0xFB, 0x90, 0x64}, bytes.Repeat([]byte{0xAB}, 3000)...)
		_, _ = DecodeBytes(b, Limits{}) // must return, error or not, without panicking
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestExtractorBadInput(t *testing.T) {
	_, err := ParseExtractor([]byte(`{"feature_extractor_type": "SpeechT5FeatureExtractor"}`))
	wantErr(t, err, "SpeechT5FeatureExtractor", "WhisperFeatureExtractor")
	_, err = ParseExtractor([]byte(`{"sampling_rate": 16000}`))
	wantErr(t, err, "no feature_extractor_type")
	_, err = ParseExtractor([]byte(`{`))
	wantErr(t, err, "not valid JSON")
	_, err = ParseExtractor([]byte(`{"feature_extractor_type": "WhisperFeatureExtractor", "n_fft": 401}`))
	wantErr(t, err, "n_fft 401")
	_, err = ParseExtractor([]byte(`{"feature_extractor_type": "WhisperFeatureExtractor", "dither": 0.0001}`))
	wantErr(t, err, "dither")
	_, err = ParseExtractor([]byte(`{"feature_extractor_type": "Wav2Vec2FeatureExtractor", "padding_side": "middle"}`))
	wantErr(t, err, "padding_side")
	_, err = LoadExtractor("does/not/exist/preprocessor_config.json")
	wantErr(t, err, "reading feature extractor config")

	for _, cfg := range []string{"whisper-tiny", "wav2vec2-base-960h", "ast-finetuned-audioset-10-10-0.4593"} {
		e, err := FromDir(fixtures + "/configs/" + cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Extract(context.Background(), nil)
		wantErr(t, err, "no clips")
		_, err = e.Extract(context.Background(), [][]float32{{0.1}, {}})
		wantErr(t, err, "clip 1 is empty")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = e.Extract(ctx, [][]float32{make([]float32, 1000)})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context gave %v", cfg, err)
		}
		// A clip shorter than one analysis frame still yields full-size, finite features.
		f, err := e.Extract(context.Background(), [][]float32{{0.25, -0.25, 0.5}})
		if err != nil {
			t.Fatalf("%s: 3-sample clip: %v", cfg, err)
		}
		for _, v := range f.Data {
			if v != v {
				t.Fatalf("%s: NaN in features of a 3-sample clip", cfg)
			}
		}
	}
}

// id3 returns an ID3v2.3 tag holding n bytes of padding.
func id3(n int) []byte {
	b := []byte{'I', 'D', '3', 3, 0, 0, byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}
	return append(b, make([]byte, n)...)
}

// TestID3Prefix checks that a leading ID3v2 tag neither changes the sniffed format nor the samples.
func TestID3Prefix(t *testing.T) {
	for _, rel := range []string{"flac/mix_16000_2ch_pcm16.flac", "mp3/mix_44100_2ch.mp3"} {
		plain := readFixture(t, rel)
		want, err := DecodeBytes(plain, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeBytes(append(id3(300), plain...), Limits{})
		if err != nil {
			t.Fatalf("%s behind an ID3 tag: %v", rel, err)
		}
		if got.Format != want.Format || got.Frames() != want.Frames() || len(got.Samples) != len(want.Samples) {
			t.Fatalf("%s behind an ID3 tag: %s %d frames x %d; without: %s %d x %d", rel,
				got.Format, got.Frames(), len(got.Samples), want.Format, want.Frames(), len(want.Samples))
		}
		for c := range want.Samples {
			if d, at := maxAbsDiff(got.Samples[c], want.Samples[c]); d != 0 {
				t.Fatalf("%s behind an ID3 tag: channel %d differs by %g at %d", rel, c, d, at)
			}
		}
	}
}
