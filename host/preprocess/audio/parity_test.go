package audio

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/host/internal/npy"
)

const fixtures = "../../../testdata/audio"

type manifestFile struct {
	Path     string `json:"path"`
	Format   string `json:"format"`
	Subtype  string `json:"subtype"`
	Rate     int    `json:"rate"`
	Channels int    `json:"channels"`
	Frames   int    `json:"frames"`
	Decoded  string `json:"decoded"`
}

type manifestCase struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	Config        string   `json:"config"`
	Inputs        []string `json:"inputs"`
	InputFeatures string   `json:"input_features"`
	InputValues   string   `json:"input_values"`
	AttentionMask string   `json:"attention_mask"`
	Shape         []int64  `json:"shape"`
	// ResampleTo, when set, resamples each input (DefaultResample) before extracting.
	ResampleTo int `json:"resample_to"`
	// PadLongest: Whisper called with padding="longest", truncation=False.
	PadLongest bool `json:"pad_longest"`
}

type resampleRef struct {
	Source       string `json:"source"`
	From         int    `json:"from"`
	To           int    `json:"to"`
	Scipy        string `json:"scipy_resample_poly"`
	Torchaudio   string `json:"torchaudio_default"`
	TorchaudioKB string `json:"torchaudio_kaiser_best"`
}

type manifest struct {
	Files    []manifestFile `json:"files"`
	Cases    []manifestCase `json:"cases"`
	Resample []resampleRef  `json:"resample"`
}

func loadManifest(t testing.TB, name string) *manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("reading fixture manifest (regenerate with tools/fixtures/generate.sh gen_audio.py): %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return &m
}

func decodeFixture(t testing.TB, rel string) *Clip {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Decode(f, Limits{})
	if err != nil {
		t.Fatalf("decoding %s: %v", rel, err)
	}
	return c
}

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readNPY(t testing.TB, rel string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return a
}

// maxAbsDiff returns the largest |a-b| and its index; lengths must match.
func maxAbsDiff(a, b []float32) (float64, int) {
	m, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > m || math.IsNaN(d) {
			m, at = d, i
		}
	}
	return m, at
}

func TestDecodeMatchesSoundfile(t *testing.T) {
	m := loadManifest(t, "manifest.json")
	n := 0
	for _, f := range m.Files {
		if f.Format == "mp3" {
			continue // lossy: TestMP3AgainstMpg123 measures it
		}
		t.Run(f.Path, func(t *testing.T) {
			c := decodeFixture(t, f.Path)
			if c.Rate != f.Rate || len(c.Samples) != f.Channels || c.Frames() != f.Frames {
				t.Fatalf("got %d Hz, %d channels, %d frames; soundfile read %d Hz, %d channels, %d frames",
					c.Rate, len(c.Samples), c.Frames(), f.Rate, f.Channels, f.Frames)
			}
			ref := readNPY(t, f.Decoded).Float32s() // [frames, channels]
			got := make([]float32, len(ref))
			for ch, s := range c.Samples {
				for i, v := range s {
					got[i*f.Channels+ch] = v
				}
			}
			if d, at := maxAbsDiff(got, ref); d != 0 {
				t.Errorf("%s %s: max |go - soundfile| = %g at flat index %d; want bit-exact", f.Format, f.Subtype, d, at)
			}
		})
		n++
	}
	if n < 30 {
		t.Fatalf("only %d lossless files in the manifest; expected the full set", n)
	}
}

func extractCase(t *testing.T, c manifestCase) (*Features, []float32) {
	t.Helper()
	e, err := FromDir(filepath.Join(fixtures, c.Config))
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := e.(*Whisper); ok {
		// The case called the extractor with return_attention_mask=True / padding="longest".
		w.ReturnAttentionMask = c.AttentionMask != ""
		w.PadLongest = c.PadLongest
	}
	var clips [][]float32
	for _, in := range c.Inputs {
		clip := decodeFixture(t, in)
		if c.ResampleTo != 0 {
			m, err := clip.MonoAt(c.ResampleTo)
			if err != nil {
				t.Fatal(err)
			}
			clips = append(clips, m)
			continue
		}
		if clip.Rate != e.SampleRate() {
			t.Fatalf("%s is %d Hz; extractor wants %d", in, clip.Rate, e.SampleRate())
		}
		clips = append(clips, clip.Mono())
	}
	f, err := e.Extract(context.Background(), clips)
	if err != nil {
		t.Fatal(err)
	}
	refPath := c.InputFeatures
	wantName := "input_features"
	if refPath == "" {
		refPath, wantName = c.InputValues, "input_values"
	}
	if f.Name != wantName {
		t.Errorf("features named %q; transformers returns %q", f.Name, wantName)
	}
	ref := readNPY(t, refPath)
	if len(ref.Shape) != len(f.Shape) {
		t.Fatalf("shape %v; reference %v", f.Shape, ref.Shape)
	}
	for i := range ref.Shape {
		if int64(ref.Shape[i]) != f.Shape[i] {
			t.Fatalf("shape %v; reference %v", f.Shape, ref.Shape)
		}
	}
	if c.AttentionMask != "" {
		want := readNPY(t, c.AttentionMask).Int64s()
		if len(f.AttentionMask) != len(want) {
			t.Fatalf("attention mask has %d entries; reference %d", len(f.AttentionMask), len(want))
		}
		for i := range want {
			if f.AttentionMask[i] != want[i] {
				t.Fatalf("attention mask differs at %d: %d, reference %d", i, f.AttentionMask[i], want[i])
			}
		}
	} else if f.AttentionMask != nil {
		t.Errorf("returned an attention mask; transformers returns none for this config")
	}
	return f, ref.Float32s()
}

func TestFeatureParity(t *testing.T) {
	tol := map[string]float64{"whisper": 1e-4, "wav2vec2": 1e-5, "ast": 1e-3}
	for _, file := range []string{"manifest.json", "torchaudio.json"} {
		m := loadManifest(t, file)
		for _, c := range m.Cases {
			t.Run(c.Name, func(t *testing.T) {
				f, ref := extractCase(t, c)
				d, at := maxAbsDiff(f.Data, ref)
				t.Logf("%s (%s): max |go - transformers| = %.3g over %d values", c.Name, file, d, len(ref))
				if d > tol[c.Kind] {
					t.Errorf("max |go - transformers| = %g at %d (go %g, ref %g); tolerance %g", d, at, f.Data[at], ref[at], tol[c.Kind])
				}
			})
		}
	}
}
