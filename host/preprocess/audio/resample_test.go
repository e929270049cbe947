package audio

import (
	"math"
	"testing"
)

// TestResampleReferences compares Resample with torchaudio.functional.resample (default and
// kaiser_best kernels: same construction, so float32 rounding only) and reports the distance to
// scipy.signal.resample_poly (a different filter: a measure of how far two good resamplers
// disagree, bounded loosely).
func TestResampleReferences(t *testing.T) {
	ta := loadManifest(t, "torchaudio.json")
	sp := loadManifest(t, "manifest.json")
	scipy := map[int]string{}
	for _, r := range sp.Resample {
		scipy[r.From] = r.Scipy
	}
	if len(ta.Resample) < 4 {
		t.Fatalf("torchaudio.json has %d resample references; expected 8k, 22.05k, 44.1k, 48k", len(ta.Resample))
	}
	for _, r := range ta.Resample {
		x := decodeFixture(t, r.Source).Mono()
		{
			// The two Python references against each other: the scale of "different filter".
			a, b := readNPY(t, r.Torchaudio).Float32s(), readNPY(t, scipy[r.From]).Float32s()
			d, _ := maxAbsDiff(a, b)
			t.Logf("%5d -> %d, %-32s max|diff| %.3g, SNR %.1f dB", r.From, r.To, "[scipy vs torchaudio, refs]", d, snrDB(a, b))
		}
		for _, c := range []struct {
			name string
			opt  ResampleOptions
			ref  string
			tol  float64
		}{
			{"torchaudio default", DefaultResample, r.Torchaudio, 2e-5}, // torchaudio builds this kernel in float32
			{"torchaudio kaiser_best", KaiserBestResample, r.TorchaudioKB, 1e-5},
			{"scipy resample_poly vs default", DefaultResample, scipy[r.From], 0.5},
		} {
			got, err := ResampleWith(x, r.From, r.To, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			ref := readNPY(t, c.ref).Float32s()
			if len(got) != len(ref) {
				t.Fatalf("%d -> %d (%s): %d samples; reference %d", r.From, r.To, c.name, len(got), len(ref))
			}
			d, _ := maxAbsDiff(got, ref)
			// Away from the edges, where the references pad differently.
			e := 64
			di, _ := maxAbsDiff(got[e:len(got)-e], ref[e:len(ref)-e])
			snr := snrDB(got[e:len(got)-e], ref[e:len(ref)-e])
			t.Logf("%5d -> %d, %-32s max|diff| %.3g (interior %.3g), interior SNR %.1f dB", r.From, r.To, c.name, d, di, snr)
			if d > c.tol || math.IsNaN(d) {
				t.Errorf("%d -> %d (%s): max |diff| %g over tolerance %g", r.From, r.To, c.name, d, c.tol)
			}
		}
	}
}

func TestResampleEdgeCases(t *testing.T) {
	x := []float32{0.1, -0.2, 0.3}
	if y, err := Resample(x, 16000, 16000); err != nil || len(y) != 3 || y[1] != x[1] {
		t.Errorf("same rate: got %v, %v; want a copy", y, err)
	}
	if _, err := Resample(x, 0, 16000); err == nil {
		t.Error("rate 0 accepted")
	}
	if y, err := Resample(nil, 44100, 16000); err != nil || len(y) != 0 {
		t.Errorf("empty input: got %v, %v; want empty output", y, err)
	}
	// 1 sample at 8 kHz -> ceil(2) samples at 16 kHz.
	if y, err := Resample([]float32{1}, 8000, 16000); err != nil || len(y) != 2 {
		t.Errorf("one sample 8k->16k: got %v, %v; want 2 samples", y, err)
	}
	if _, err := Resample(x, 1000003, 999983); err == nil {
		t.Error("coprime large rates accepted; want a refusal naming the phase count")
	}
}
