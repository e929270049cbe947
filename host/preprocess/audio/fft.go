package audio

import (
	"fmt"
	"math"
)

// cfft is a precomputed plan for a complex forward DFT of length n, X[k] = sum x[j] e^{-2 pi i jk/n},
// computed by recursive mixed-radix decimation in time (radix 4, 2, 3, 5, then any prime with
// a plain DFT butterfly). A plan is read-only once built and safe for concurrent use; the
// scratch space lives in the caller.
type cfft struct {
	n       int
	factors []int        // radices, outermost first; their product is n
	tw      []complex128 // e^{-2 pi i k/n}, k < n
	r5      [4]float64   // cos(2pi/5), cos(4pi/5), sin(2pi/5), sin(4pi/5)
}

func newCFFT(n int) *cfft {
	p := &cfft{n: n, tw: make([]complex128, n)}
	p.r5 = [4]float64{math.Cos(2 * math.Pi / 5), math.Cos(4 * math.Pi / 5), math.Sin(2 * math.Pi / 5), math.Sin(4 * math.Pi / 5)}
	for k := range p.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		p.tw[k] = complex(c, s)
	}
	m := n
	for _, r := range []int{4, 2, 3, 5} {
		for m%r == 0 && m > 1 {
			p.factors = append(p.factors, r)
			m /= r
		}
	}
	for r := 7; m > 1; r += 2 {
		for m%r == 0 {
			p.factors = append(p.factors, r)
			m /= r
		}
	}
	return p
}

// transform writes the DFT of in to out (both length n, distinct).
func (p *cfft) transform(out, in []complex128) {
	if p.n == 1 {
		out[0] = in[0]
		return
	}
	p.work(out[:p.n], in, 1, 0)
}

// work computes the DFT of length len(out) of in[0], in[stride], in[2*stride]...
func (p *cfft) work(out, in []complex128, stride, fi int) {
	r := p.factors[fi]
	m := len(out) / r
	if m == 1 {
		for q := 0; q < r; q++ {
			out[q] = in[q*stride]
		}
	} else {
		for q := 0; q < r; q++ {
			p.work(out[q*m:(q+1)*m], in[q*stride:], stride*r, fi+1)
		}
	}
	// Combine r sub-transforms of length m. Twiddle index step at this level is n/(r*m) = stride.
	switch r {
	case 2:
		for u := 0; u < m; u++ {
			a, b := out[u], out[u+m]*p.tw[u*stride]
			out[u], out[u+m] = a+b, a-b
		}
	case 4:
		for u := 0; u < m; u++ {
			a0 := out[u]
			a1 := out[u+m] * p.tw[u*stride]
			a2 := out[u+2*m] * p.tw[2*u*stride]
			a3 := out[u+3*m] * p.tw[3*u*stride]
			s02, d02 := a0+a2, a0-a2
			s13, d13 := a1+a3, a1-a3
			// -i * d13
			nd := complex(imag(d13), -real(d13))
			out[u] = s02 + s13
			out[u+m] = d02 + nd
			out[u+2*m] = s02 - s13
			out[u+3*m] = d02 - nd
		}
	case 5:
		c1, c2, s1, s2 := p.r5[0], p.r5[1], p.r5[2], p.r5[3]
		for u := 0; u < m; u++ {
			a0 := out[u]
			a1 := out[u+m] * p.tw[u*stride]
			a2 := out[u+2*m] * p.tw[2*u*stride]
			a3 := out[u+3*m] * p.tw[3*u*stride]
			a4 := out[u+4*m] * p.tw[4*u*stride]
			t1, t2, t3, t4 := a1+a4, a2+a3, a1-a4, a2-a3
			b1 := a0 + complex(c1, 0)*t1 + complex(c2, 0)*t2
			b2 := a0 + complex(c2, 0)*t1 + complex(c1, 0)*t2
			d1 := complex(s1, 0)*t3 + complex(s2, 0)*t4
			d2 := complex(s2, 0)*t3 - complex(s1, 0)*t4
			// -i*d = (im d, -re d)
			nd1 := complex(imag(d1), -real(d1))
			nd2 := complex(imag(d2), -real(d2))
			out[u] = a0 + t1 + t2
			out[u+m] = b1 + nd1
			out[u+4*m] = b1 - nd1
			out[u+2*m] = b2 + nd2
			out[u+3*m] = b2 - nd2
		}
	default:
		// Any other radix: a direct DFT of size r per output group. k*u*stride < n always
		// (u < m, stride = n/(r*m)), so twiddle indices need no reduction.
		var buf [64]complex128
		var t []complex128
		if r <= len(buf) {
			t = buf[:r]
		} else {
			t = make([]complex128, r)
		}
		rstep := p.n / r // e^{-2 pi i /r} = tw[rstep]
		for u := 0; u < m; u++ {
			for k := 0; k < r; k++ {
				t[k] = out[u+k*m] * p.tw[k*u*stride]
			}
			for q := 0; q < r; q++ {
				s := t[0]
				for k := 1; k < r; k++ {
					s += t[k] * p.tw[(k*q%r)*rstep]
				}
				out[u+q*m] = s
			}
		}
	}
}

// rfft is a plan for the DFT of real input of even length n, returning bins 0..n/2, computed
// with one complex FFT of length n/2.
type rfft struct {
	n    int
	half *cfft
	tw   []complex128 // e^{-2 pi i k/n}, k <= n/2
}

func newRFFT(n int) (*rfft, error) {
	if n < 2 || n%2 != 0 {
		return nil, fmt.Errorf("audio: FFT length %d must be even and at least 2", n)
	}
	p := &rfft{n: n, half: newCFFT(n / 2), tw: make([]complex128, n/2+1)}
	for k := range p.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		p.tw[k] = complex(c, s)
	}
	return p, nil
}

// rfftScratch is per-goroutine working memory for an rfft.
type rfftScratch struct {
	z, zf []complex128
}

func (p *rfft) scratch() *rfftScratch {
	return &rfftScratch{z: make([]complex128, p.n/2), zf: make([]complex128, p.n/2)}
}

// transform writes bins 0..n/2 of the DFT of x (length n) to out (length n/2+1).
func (p *rfft) transform(out []complex128, x []float64, s *rfftScratch) {
	h := p.n / 2
	for j := 0; j < h; j++ {
		s.z[j] = complex(x[2*j], x[2*j+1])
	}
	p.half.transform(s.zf, s.z)
	z := s.zf
	for k := 0; k <= h; k++ {
		a := z[k%h]
		b := z[(h-k)%h]
		bc := complex(real(b), -imag(b))
		even := (a + bc) * 0.5
		odd := (a - bc) * complex(0, -0.5)
		out[k] = even + p.tw[k]*odd
	}
}
