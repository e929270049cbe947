package audio

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep a fuzzed header from asking for more than a test machine should allocate.
var fuzzLimits = Limits{MaxBytes: 4 << 20, MaxSamples: 1 << 22, MaxDuration: 0}

// addSeeds adds the committed fixtures of one format (the small ones) to the corpus.
func addSeeds(f *testing.F, dir string) {
	paths, _ := filepath.Glob(filepath.Join(fixtures, dir, "*"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 8<<10 {
			continue
		}
		f.Add(b)
	}
}

// fuzzDecode checks the invariants every decode must keep, whatever the input: no panic, an
// error or a non-empty clip with equal-length channels within the limits.
func fuzzDecode(t *testing.T, b []byte) {
	c, err := DecodeBytes(b, fuzzLimits)
	if err != nil {
		return
	}
	if c.Frames() == 0 || c.Rate <= 0 || len(c.Samples) == 0 {
		t.Fatalf("no error but clip %d Hz, %d channels, %d frames", c.Rate, len(c.Samples), c.Frames())
	}
	for _, ch := range c.Samples {
		if len(ch) != c.Frames() {
			t.Fatalf("channels of unequal length")
		}
	}
	if int64(c.Frames()*len(c.Samples)) > fuzzLimits.MaxSamples {
		t.Fatalf("%d samples decoded, over the %d limit", c.Frames()*len(c.Samples), fuzzLimits.MaxSamples)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	addSeeds(f, "wav")
	f.Add(wavHeader(1, 1, 16000, 16, 0xFFFFFFFF))
	f.Add(wavHeader(3, 2, 48000, 32, 16))
	f.Fuzz(fuzzDecode)
}

func FuzzDecodeFLAC(f *testing.F) {
	addSeeds(f, "flac")
	f.Fuzz(fuzzDecode)
}

func FuzzDecodeMP3(f *testing.F) {
	addSeeds(f, "mp3")
	f.Fuzz(fuzzDecode)
}
