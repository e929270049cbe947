package audio

import (
	"fmt"
	"math"
)

// ResampleOptions choose the windowed-sinc kernel of ResampleWith. The zero value is not
// valid; start from DefaultResample or KaiserBestResample.
type ResampleOptions struct {
	// Width is the number of zero crossings of the sinc on each side (lowpass_filter_width).
	Width int
	// Rolloff is the cutoff as a fraction of the lower Nyquist frequency.
	Rolloff float64
	// Kaiser selects a Kaiser window with parameter Beta instead of the Hann (cos^2) window.
	Kaiser bool
	Beta   float64
}

// DefaultResample is torchaudio.functional.resample's default kernel (sinc_interp_hann,
// lowpass_filter_width 6, rolloff 0.99): what transformers' ASR pipeline resamples arrays with.
var DefaultResample = ResampleOptions{Width: 6, Rolloff: 0.99}

// KaiserBestResample is the "kaiser_best" kernel (librosa/resampy's parameters, as torchaudio's
// documentation spells them): 64 zero crossings, Kaiser beta 14.77, rolloff 0.9476. Sharper and
// with a deeper stop band than DefaultResample, at about ten times the cost.
var KaiserBestResample = ResampleOptions{Width: 64, Rolloff: 0.9475937167399596, Kaiser: true, Beta: 14.769656459379492}

// Resample converts x from one sample rate to another with DefaultResample.
func Resample(x []float32, from, to int) ([]float32, error) {
	return ResampleWith(x, from, to, DefaultResample)
}

// ResampleWith converts x from rate `from` to rate `to` (Hz) with a polyphase windowed-sinc
// filter: the rates are reduced by their gcd to orig/new, output sample i*new+j is the dot
// product of phase j of the kernel with the input (zero-padded) around i*orig, and the output
// has ceil(len(x)*new/orig) samples. This is the construction of
// torchaudio.functional.resample; with DefaultResample it matches it to float32 rounding.
func ResampleWith(x []float32, from, to int, o ResampleOptions) ([]float32, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("audio: resample from %d Hz to %d Hz: rates must be positive", from, to)
	}
	if o.Width <= 0 || o.Rolloff <= 0 || o.Rolloff > 1 || (o.Kaiser && o.Beta <= 0) {
		return nil, fmt.Errorf("audio: resample options %+v: Width must be positive, Rolloff in (0, 1], Beta positive for Kaiser", o)
	}
	if from == to {
		out := make([]float32, len(x))
		copy(out, x)
		return out, nil
	}
	g := gcd(from, to)
	orig, nw := from/g, to/g
	if orig > 1<<16 || nw > 1<<16 {
		return nil, fmt.Errorf("audio: resample %d Hz -> %d Hz reduces to %d/%d, too many filter phases; resample through a rate with a larger common divisor", from, to, nw, orig)
	}
	k := newSincKernel(orig, nw, o)
	L := len(x)
	outLen := int((int64(nw)*int64(L) + int64(orig) - 1) / int64(orig))
	out := make([]float32, outLen)
	for n := range out {
		i, j := n/nw, n%nw
		ph := k.phases[j]
		// Input index of kernel tap t is i*orig - width + first + t.
		base := i*orig - k.width + ph.first
		s := 0.0
		lo, hi := 0, len(ph.w)
		if base < 0 {
			lo = -base
		}
		if base+hi > L {
			hi = L - base
		}
		for t := lo; t < hi; t++ {
			s += ph.w[t] * float64(x[base+t])
		}
		out[n] = float32(s)
	}
	return out, nil
}

type sincPhase struct {
	first int       // first kept tap, counted from the start of the full kernel row
	w     []float64 // taps first..first+len(w)-1
}

type sincKernel struct {
	width  int
	phases []sincPhase
}

// newSincKernel builds torchaudio's kernel rows: for phase j and tap k (0 <= k < 2*width+orig),
// t = (-j/new + (k-width)/orig) * base, base = min(orig,new)*rolloff, clamped to +-Width;
// weight = sinc(pi*t) * window(t) * base/orig. Taps where the clamp bites carry a window of
// (numerically) zero and are dropped.
func newSincKernel(orig, nw int, o ResampleOptions) *sincKernel {
	base := float64(min(orig, nw)) * o.Rolloff
	lpw := float64(o.Width)
	width := int(math.Ceil(lpw * float64(orig) / base))
	n := 2*width + orig
	k := &sincKernel{width: width, phases: make([]sincPhase, nw)}
	i0b := besselI0(o.Beta)
	for j := 0; j < nw; j++ {
		row := make([]float64, n)
		first, last := -1, -1
		for kk := 0; kk < n; kk++ {
			t := (-float64(j)/float64(nw) + float64(kk-width)/float64(orig)) * base
			if t <= -lpw || t >= lpw {
				continue
			}
			var win float64
			if o.Kaiser {
				r := t / lpw
				win = besselI0(o.Beta*math.Sqrt(1-r*r)) / i0b
			} else {
				c := math.Cos(t * math.Pi / lpw / 2)
				win = c * c
			}
			s := 1.0
			if t != 0 {
				s = math.Sin(math.Pi*t) / (math.Pi * t)
			}
			row[kk] = s * win * base / float64(orig)
			if first < 0 {
				first = kk
			}
			last = kk
		}
		if first < 0 {
			first, last = 0, -1
		}
		k.phases[j] = sincPhase{first: first, w: row[first : last+1]}
	}
	return k
}

// besselI0 is the modified Bessel function of the first kind, order 0 (power series).
func besselI0(x float64) float64 {
	s, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		s += term
		if term < s*1e-17 {
			break
		}
	}
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// MonoAt returns the clip downmixed to mono (Mono) and resampled to rate with DefaultResample:
// what a model with that sampling_rate is fed.
func (c *Clip) MonoAt(rate int) ([]float32, error) {
	m := c.Mono()
	if c.Rate == rate {
		return m, nil
	}
	return Resample(m, c.Rate, rate)
}
