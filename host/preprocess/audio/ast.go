package audio

import (
	"context"
	"fmt"
	"math"
)

// AST is transformers' ASTFeatureExtractor along its numpy path (the one it takes when
// torchaudio is not installed), which reproduces Kaldi's fbank: 25 ms frames (400 samples) every
// 10 ms (160), no centring, DC offset removed per frame, pre-emphasis 0.97, symmetric Hann
// ("hanning") window, 512-point FFT, power spectrum, num_mel_bins triangular filters on the Kaldi
// mel scale from 20 Hz to Nyquist, natural log with a float32-epsilon floor. Frames are padded
// with zeros or trimmed to MaxLength, then, with do_normalize, mapped to (x-mean)/(2*std).
// Output input_values [batch, MaxLength, num_mel_bins]. Dither is 0, so features are
// deterministic.
type AST struct {
	Rate, NMels, MaxLength int
	DoNormalize            bool
	Mean, Std              float64

	window []float64
	fft    *rfft
	mel    *melFilters
}

const (
	astFrame = 400
	astHop   = 160
	astFFT   = 512
	astFloor = 1.192092955078125e-07 // float32 machine epsilon, transformers' mel_floor here
)

func newAST(c *config) (*AST, error) {
	e := &AST{
		Rate:        intOr(c.SamplingRate, 16000),
		NMels:       intOr(c.NumMelBins, 128),
		MaxLength:   intOr(c.MaxLength, 1024),
		DoNormalize: boolOr(c.DoNormalize, true),
		Mean:        floatOr(c.Mean, -4.2677393),
		Std:         floatOr(c.Std, 4.5689974),
	}
	if e.Rate < 2 || e.NMels < 1 || e.MaxLength < 1 {
		return nil, fmt.Errorf("sampling_rate %d, num_mel_bins %d, max_length %d: all must be positive", e.Rate, e.NMels, e.MaxLength)
	}
	var err error
	if e.fft, err = newRFFT(astFFT); err != nil {
		return nil, err
	}
	e.window = hannWindow(astFrame, false)
	if e.mel, err = melFilterBank(astFFT/2+1, e.NMels, 20, float64(e.Rate/2), e.Rate, false, "kaldi", true); err != nil {
		return nil, err
	}
	return e, nil
}

// Type implements Extractor.
func (e *AST) Type() string { return "ASTFeatureExtractor" }

// SampleRate implements Extractor.
func (e *AST) SampleRate() int { return e.Rate }

// Extract implements Extractor.
func (e *AST) Extract(ctx context.Context, clips [][]float32) (*Features, error) {
	if err := checkBatch(clips); err != nil {
		return nil, err
	}
	per := e.MaxLength * e.NMels
	f := &Features{
		Name:  "input_values",
		Data:  make([]float32, len(clips)*per),
		Shape: []int64{int64(len(clips)), int64(e.MaxLength), int64(e.NMels)},
	}
	buf := make([]float64, astFFT)
	spec := make([]complex128, astFFT/2+1)
	power := make([]float64, astFFT/2+1)
	mel := make([]float64, e.NMels)
	sc := e.fft.scratch()
	mean, scale := float32(e.Mean), float32(e.Std*2)
	for b, x := range clips {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audio: AST features: %w", err)
		}
		out := f.Data[b*per : (b+1)*per]
		// Clips shorter than one frame give no frames: all padding, as the numpy path does.
		nf := 0
		if len(x) >= astFrame {
			nf = 1 + (len(x)-astFrame)/astHop
		}
		nf = min(nf, e.MaxLength)
		for t := 0; t < nf; t++ {
			fr := x[t*astHop : t*astHop+astFrame]
			s := 0.0
			for i, v := range fr {
				buf[i] = float64(v)
				s += buf[i]
			}
			dc := s / astFrame
			for i := range fr {
				buf[i] -= dc
			}
			for i := astFrame - 1; i > 0; i-- {
				buf[i] -= 0.97 * buf[i-1]
			}
			buf[0] *= 1 - 0.97
			for i := range fr {
				buf[i] *= e.window[i]
			}
			for i := astFrame; i < astFFT; i++ {
				buf[i] = 0
			}
			e.fft.transform(spec, buf, sc)
			powerSpectrum(power, spec)
			e.mel.apply(mel, power)
			row := out[t*e.NMels : (t+1)*e.NMels]
			for m, v := range mel {
				row[m] = float32(math.Log(math.Max(v, astFloor)))
			}
		}
		if e.DoNormalize {
			for i, v := range out {
				out[i] = (v - mean) / scale
			}
		}
	}
	return f, nil
}
