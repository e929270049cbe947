package audio

import (
	"math"
	"strings"
	"testing"
)

// snrDB is 10*log10(sum ref^2 / sum (got-ref)^2).
func snrDB(got, ref []float32) float64 {
	var s, e float64
	for i := range ref {
		s += float64(ref[i]) * float64(ref[i])
		d := float64(got[i]) - float64(ref[i])
		e += d * d
	}
	if e == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/e)
}

// TestMP3AgainstMpg123 compares go-mp3 (plus the gapless trimming here) with what libsndfile's
// mpg123 decodes from the same files. MP3 decoders are allowed to differ slightly (the standard
// specifies accuracy, not bits); the bounds below are what was measured, with margin.
func TestMP3AgainstMpg123(t *testing.T) {
	m := loadManifest(t, "manifest.json")
	n := 0
	for _, f := range m.Files {
		if f.Format != "mp3" {
			continue
		}
		n++
		t.Run(f.Path, func(t *testing.T) {
			if f.Rate <= 12000 {
				_, err := DecodeBytes(readFixture(t, f.Path), Limits{})
				if err == nil || !strings.Contains(err.Error(), "MPEG-2.5") {
					t.Fatalf("MPEG-2.5 file: got error %v; want one naming MPEG-2.5 as unsupported", err)
				}
				return
			}
			c := decodeFixture(t, f.Path)
			if c.Rate != f.Rate || len(c.Samples) != f.Channels {
				t.Fatalf("got %d Hz, %d channels; mpg123 %d Hz, %d channels", c.Rate, len(c.Samples), f.Rate, f.Channels)
			}
			ref := readNPY(t, f.Decoded).Float32s()
			refCh := make([][]float32, f.Channels)
			for ch := range refCh {
				refCh[ch] = make([]float32, f.Frames)
				for i := range refCh[ch] {
					refCh[ch][i] = ref[i*f.Channels+ch]
				}
			}
			// Best alignment, to report any offset rather than hide it.
			bestLag, bestSNR := 0, math.Inf(-1)
			for lag := -1200; lag <= 1200; lag++ {
				a, b := overlap(c.Samples[0], refCh[0], lag)
				if len(a) < f.Frames/2 {
					continue
				}
				if s := snrDB(a, b); s > bestSNR {
					bestLag, bestSNR = lag, s
				}
			}
			// go-mp3 and mpg123 disagree on the last MPEG-2 frame (576 samples): measured
			// separately from the body.
			last := 576
			if f.Rate >= 32000 {
				last = 1152
			}
			var worst, worstSNR, bodySNR, bodyWorst float64 = 0, math.Inf(1), math.Inf(1), 0
			for ch := range refCh {
				a, b := overlap(c.Samples[ch], refCh[ch], 0)
				d, _ := maxAbsDiff(a, b)
				worst = max(worst, d)
				worstSNR = min(worstSNR, snrDB(a, b))
				n := max(0, len(a)-last)
				d, _ = maxAbsDiff(a[:n], b[:n])
				bodyWorst = max(bodyWorst, d)
				bodySNR = min(bodySNR, snrDB(a[:n], b[:n]))
			}
			t.Logf("%s: %d frames (mpg123 %d), best lag %d; whole: max |diff| %.3g, SNR %.1f dB; without the last frame: max |diff| %.3g, SNR %.1f dB",
				f.Path, c.Frames(), f.Frames, bestLag, worst, worstSNR, bodyWorst, bodySNR)
			if worstSNR < 30 {
				t.Errorf("whole-file SNR against mpg123 is %.1f dB; want >= 30 dB", worstSNR)
			}
			worstSNR = bodySNR
			if c.Frames() != f.Frames {
				t.Errorf("decoded %d frames; mpg123 (gapless) decodes %d", c.Frames(), f.Frames)
			}
			if bestLag != 0 {
				t.Errorf("best alignment with mpg123 is at lag %d; want 0 (gapless trimming is off)", bestLag)
			}
			if worstSNR < 60 {
				t.Errorf("SNR against mpg123 is %.1f dB; want >= 60 dB", worstSNR)
			}
		})
	}
	if n == 0 {
		t.Fatal("no mp3 files in the manifest")
	}
}

// overlap returns the aligned common parts of a and b with b shifted by lag (a[i] ~ b[i+lag]).
func overlap(a, b []float32, lag int) ([]float32, []float32) {
	if lag >= 0 {
		if lag >= len(b) {
			return nil, nil
		}
		b = b[lag:]
	} else {
		if -lag >= len(a) {
			return nil, nil
		}
		a = a[-lag:]
	}
	n := min(len(a), len(b))
	return a[:n], b[:n]
}
