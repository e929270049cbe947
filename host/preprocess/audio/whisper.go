package audio

import (
	"context"
	"fmt"
	"math"
	"sync"
)

// Whisper is transformers' WhisperFeatureExtractor: clips padded or trimmed to NSamples
// (chunk_length seconds), a centred STFT with reflect padding and a periodic Hann window,
// power spectrum, slaney mel filter bank (0-8000 Hz), log10 with a 1e-10 floor, dynamic range
// limited to 8 (per clip, against its maximum), then (x+4)/4. Output input_features
// [batch, feature_size, NSamples/hop_length].
type Whisper struct {
	NFFT, Hop, NMels, Rate, NSamples int
	PaddingValue                     float32
	PadLeft                          bool
	// ReturnAttentionMask adds the sample mask subsampled by hop_length, as transformers does
	// when return_attention_mask is set.
	ReturnAttentionMask bool
	// PadLongest pads the batch to its longest clip and never trims (padding="longest",
	// truncation=False): what transformers' ASR pipeline asks for when a clip is longer than
	// NSamples, for Whisper's long-form generation. Output frames are then longest/hop_length.
	PadLongest bool
	// Workers is how many goroutines share the frames of one clip; 0 or 1 computes them on the
	// calling goroutine. The output does not depend on it.
	Workers int

	window []float64
	fft    *rfft
	mel    *melFilters
}

func newWhisper(c *config) (*Whisper, error) {
	w := &Whisper{
		NFFT:                intOr(c.NFFT, 400),
		Hop:                 intOr(c.HopLength, 160),
		NMels:               intOr(c.FeatureSize, 80),
		Rate:                intOr(c.SamplingRate, 16000),
		PaddingValue:        float32(floatOr(c.PaddingValue, 0)),
		ReturnAttentionMask: boolOr(c.ReturnAttentionMask, false),
	}
	w.NSamples = intOr(c.ChunkLength, 30) * w.Rate
	if d := floatOr(c.Dither, 0); d != 0 {
		return nil, fmt.Errorf("dither is %g; only 0 (deterministic features) is supported", d)
	}
	left, err := c.paddingLeft()
	if err != nil {
		return nil, err
	}
	w.PadLeft = left
	if w.NFFT < 2 || w.NFFT%2 != 0 || w.Hop < 1 || w.NMels < 1 || w.Rate < 1 || w.NSamples <= w.NFFT/2 {
		return nil, fmt.Errorf("n_fft %d (even, >= 2), hop_length %d, feature_size %d, sampling_rate %d, chunk_length*sampling_rate %d (> n_fft/2) are not a usable combination",
			w.NFFT, w.Hop, w.NMels, w.Rate, w.NSamples)
	}
	if w.fft, err = newRFFT(w.NFFT); err != nil {
		return nil, err
	}
	w.window = hannWindow(w.NFFT, true)
	if w.mel, err = melFilterBank(w.NFFT/2+1, w.NMels, 0, 8000, w.Rate, true, "slaney", false); err != nil {
		return nil, err
	}
	return w, nil
}

// Type implements Extractor.
func (w *Whisper) Type() string { return "WhisperFeatureExtractor" }

// SampleRate implements Extractor.
func (w *Whisper) SampleRate() int { return w.Rate }

// Frames is the number of output frames per clip (nb_max_frames).
func (w *Whisper) Frames() int { return w.NSamples / w.Hop }

// Extract implements Extractor.
func (w *Whisper) Extract(ctx context.Context, clips [][]float32) (*Features, error) {
	if err := checkBatch(clips); err != nil {
		return nil, err
	}
	target := w.NSamples
	if w.PadLongest {
		target = 0
		for _, c := range clips {
			target = max(target, len(c))
		}
		if target <= w.NFFT/2 {
			return nil, fmt.Errorf("audio: whisper features: longest clip has %d samples; reflect padding needs more than n_fft/2 = %d", target, w.NFFT/2)
		}
	}
	nf := target / w.Hop
	per := w.NMels * nf
	f := &Features{
		Name:  "input_features",
		Data:  make([]float32, len(clips)*per),
		Shape: []int64{int64(len(clips)), int64(w.NMels), int64(nf)},
	}
	if w.ReturnAttentionMask {
		f.AttentionMask = make([]int64, len(clips)*nf)
		f.MaskShape = []int64{int64(len(clips)), int64(nf)}
	}
	st := w.newState()
	for b, clip := range clips {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audio: whisper features: %w", err)
		}
		padded, n := padTrim(clip, target, w.PaddingValue, w.PadLeft)
		w.logMel(f.Data[b*per:(b+1)*per], padded, st)
		if w.ReturnAttentionMask {
			m := f.AttentionMask[b*nf : (b+1)*nf]
			start := 0
			if w.PadLeft {
				start = target - n
			}
			for j := range m {
				if s := j * w.Hop; s >= start && s < start+n {
					m[j] = 1
				}
			}
		}
	}
	return f, nil
}

// whisperState is the per-call working memory of Whisper.logMel.
type whisperState struct {
	buf   []float64
	spec  []complex128
	power []float64
	mel   []float64
	fft   *rfftScratch
}

func (w *Whisper) newState() *whisperState {
	return &whisperState{
		buf:   make([]float64, w.NFFT),
		spec:  make([]complex128, w.NFFT/2+1),
		power: make([]float64, w.NFFT/2+1),
		mel:   make([]float64, w.NMels),
		fft:   w.fft.scratch(),
	}
}

// logMel fills out ([NMels][len(x)/Hop]) from one padded clip, splitting the frames over
// Workers goroutines when asked to (each frame is independent, so the result is the same).
func (w *Whisper) logMel(out []float32, x []float32, st *whisperState) {
	nf := len(x) / w.Hop
	workers := min(max(w.Workers, 1), max(nf/64, 1))
	maxv := float32(math.Inf(-1))
	if workers == 1 {
		maxv = w.logMelFrames(out, x, nf, 0, nf, st)
	} else {
		maxes := make([]float32, workers)
		var wg sync.WaitGroup
		for k := 0; k < workers; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				ws := st
				if k > 0 {
					ws = w.newState()
				}
				maxes[k] = w.logMelFrames(out, x, nf, k*nf/workers, (k+1)*nf/workers, ws)
			}(k)
		}
		wg.Wait()
		for _, m := range maxes {
			maxv = max(maxv, m)
		}
	}
	floor := maxv - 8
	for i, v := range out {
		if v < floor {
			v = floor
		}
		out[i] = (v + 4) / 4
	}
}

// logMelFrames writes log10 mel energies of frames t0..t1-1 into out ([NMels][nf]) and returns
// their maximum.
func (w *Whisper) logMelFrames(out []float32, x []float32, nf, t0, t1 int, st *whisperState) float32 {
	half := w.NFFT / 2
	n := len(x)
	maxv := float32(math.Inf(-1))
	for t := t0; t < t1; t++ {
		// Frame t covers padded positions t*hop .. t*hop+NFFT-1 of the reflect-padded signal,
		// i.e. signal index t*hop-half+i.
		base := t*w.Hop - half
		for i := 0; i < w.NFFT; i++ {
			j := base + i
			if j < 0 {
				j = -j
			} else if j >= n {
				j = 2*(n-1) - j
			}
			st.buf[i] = float64(x[j]) * w.window[i]
		}
		w.fft.transform(st.spec, st.buf, st.fft)
		powerSpectrum(st.power, st.spec)
		w.mel.apply(st.mel, st.power)
		for m, v := range st.mel {
			lv := float32(math.Log10(math.Max(v, 1e-10)))
			out[m*nf+t] = lv
			maxv = max(maxv, lv)
		}
	}
	return maxv
}

// powerSpectrum writes |X|^2, rounding X to complex64 first as transformers' numpy spectrogram
// stores its FFT output.
func powerSpectrum(p []float64, spec []complex128) {
	for k, c := range spec {
		re, im := float64(float32(real(c))), float64(float32(imag(c)))
		p[k] = re*re + im*im
	}
}

// padTrim returns clip padded with v (or trimmed) to exactly n samples, and how many samples of
// clip it keeps.
func padTrim(clip []float32, n int, v float32, left bool) ([]float32, int) {
	if len(clip) >= n {
		return clip[:n], n
	}
	out := make([]float32, n)
	k := len(clip)
	if left {
		for i := range out[:n-k] {
			out[i] = v
		}
		copy(out[n-k:], clip)
	} else {
		copy(out, clip)
		for i := k; i < n; i++ {
			out[i] = v
		}
	}
	return out, k
}
