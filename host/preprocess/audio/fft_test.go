package audio

import (
	"math"
	"math/cmplx"
	"testing"
)

// TestFFTAgainstDFT checks the mixed-radix plans (radix 2, 4, 3, 5, a generic prime) against a
// direct O(n^2) DFT.
func TestFFTAgainstDFT(t *testing.T) {
	for _, n := range []int{2, 4, 6, 10, 14, 22, 200, 400, 512, 2 * 3 * 5 * 7 * 11} {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Sin(0.37*float64(i)) + 0.5*math.Cos(1.9*float64(i)*float64(i)/float64(n))
		}
		p, err := newRFFT(n)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]complex128, n/2+1)
		p.transform(got, x, p.scratch())
		worst := 0.0
		for k := range got {
			var want complex128
			for j, v := range x {
				want += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(j*k%n)/float64(n)))
			}
			worst = math.Max(worst, cmplx.Abs(got[k]-want))
		}
		if worst > 1e-9*float64(n) {
			t.Errorf("n=%d: max |fft - dft| = %g", n, worst)
		}
	}
	if _, err := newRFFT(401); err == nil {
		t.Error("odd real FFT length accepted")
	}
}
