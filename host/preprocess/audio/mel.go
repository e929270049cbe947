package audio

import (
	"fmt"
	"math"
)

// hannWindow is numpy's np.hanning(length) (symmetric), or, when periodic, np.hanning(length+1)
// without its last sample, as transformers' window_function builds it.
func hannWindow(length int, periodic bool) []float64 {
	n := length
	if periodic {
		n = length + 1
	}
	w := make([]float64, length)
	if n == 1 {
		w[0] = 1
		return w
	}
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
	}
	return w
}

// melScale is one of transformers' audio_utils mel scales: "htk", "slaney", "kaldi".
type melScale string

func hzToMel(f float64, s melScale) float64 {
	switch s {
	case "htk":
		return 2595 * math.Log10(1+f/700)
	case "kaldi":
		return 1127 * math.Log(1+f/700)
	}
	if f >= 1000 {
		return 15 + math.Log(f/1000)*(27/math.Log(6.4))
	}
	return 3 * f / 200
}

func melToHz(m float64, s melScale) float64 {
	switch s {
	case "htk":
		return 700 * (math.Pow(10, m/2595) - 1)
	case "kaldi":
		return 700 * (math.Exp(m/1127) - 1)
	}
	if m >= 15 {
		return 1000 * math.Exp(math.Log(6.4)/27*(m-15))
	}
	return 200 * m / 3
}

// melFilters is a triangular filter bank stored sparsely: filter j weighs FFT bins
// start[j]..start[j]+len(w[j])-1.
type melFilters struct {
	nBins int
	start []int
	w     [][]float64
}

// melFilterBank computes transformers.audio_utils.mel_filter_bank(num_frequency_bins,
// num_mel_filters, min_frequency, max_frequency, sampling_rate, norm, mel_scale,
// triangularize_in_mel_space), step for step in float64.
func melFilterBank(nBins, nMel int, fmin, fmax float64, rate int, slaneyNorm bool, scale melScale, inMelSpace bool) (*melFilters, error) {
	if nBins < 2 || nMel < 1 || fmin > fmax {
		return nil, fmt.Errorf("audio: mel filter bank wants at least 2 frequency bins, 1 filter and min <= max frequency; got %d bins, %d filters, %g..%g Hz", nBins, nMel, fmin, fmax)
	}
	melMin, melMax := hzToMel(fmin, scale), hzToMel(fmax, scale)
	melFreqs := linspace(melMin, melMax, nMel+2)
	filterFreqs := make([]float64, nMel+2)
	for i, m := range melFreqs {
		filterFreqs[i] = melToHz(m, scale)
	}
	fftFreqs := make([]float64, nBins)
	if inMelSpace {
		width := float64(rate) / float64((nBins-1)*2)
		for i := range fftFreqs {
			fftFreqs[i] = hzToMel(width*float64(i), scale)
		}
		filterFreqs = melFreqs
	} else {
		copy(fftFreqs, linspace(0, float64(rate/2), nBins))
	}
	fb := &melFilters{nBins: nBins, start: make([]int, nMel), w: make([][]float64, nMel)}
	for j := 0; j < nMel; j++ {
		dLo := filterFreqs[j+1] - filterFreqs[j]
		dHi := filterFreqs[j+2] - filterFreqs[j+1]
		enorm := 1.0
		if slaneyNorm {
			enorm = 2 / (filterFreqs[j+2] - filterFreqs[j])
		}
		first, last := -1, -1
		vals := make([]float64, nBins)
		for i, f := range fftFreqs {
			down := -(filterFreqs[j] - f) / dLo
			up := (filterFreqs[j+2] - f) / dHi
			v := math.Max(0, math.Min(down, up))
			if v > 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
			vals[i] = v * enorm
		}
		if first < 0 {
			fb.start[j] = 0
			continue
		}
		fb.start[j] = first
		fb.w[j] = vals[first : last+1 : last+1]
	}
	return fb, nil
}

// apply writes, for each filter j, sum_i w[j][i]*power[start+i].
func (fb *melFilters) apply(out []float64, power []float64) {
	for j, w := range fb.w {
		s := 0.0
		p := power[fb.start[j]:]
		for i, v := range w {
			s += v * p[i]
		}
		out[j] = s
	}
}

// linspace is numpy.linspace(a, b, n) (endpoint included), computed as numpy does:
// a + i*step, with the last value set to b.
func linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = a
		return out
	}
	step := (b - a) / float64(n-1)
	for i := range out {
		out[i] = a + float64(i)*step
	}
	out[n-1] = b
	return out
}
