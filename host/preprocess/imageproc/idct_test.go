package imageproc

import (
	"math/rand"
	"testing"
)

// TestIDCTShortcuts checks that idctIslow's whole-block shortcuts (DC only;
// only positions 0, 1, 8, 9) give what the full jpeg_idct_islow gives, for
// random coefficients up to the 16-bit extremes and random quantizers.
func TestIDCTShortcuts(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var q [64]int32
	for n := 0; n < 20000; n++ {
		for i := range q {
			q[i] = int32(1 + rng.Intn(255))
			if n%7 == 0 {
				q[i] = int32(1 + rng.Intn(65535)) // 16-bit tables: wild values
			}
		}
		var coef [64]int16
		for _, pos := range []int{0, 1, 8, 9} {
			if n%5 == 0 && pos != 0 {
				continue // some DC-only blocks
			}
			v := rng.Intn(2048) - 1024
			if n%11 == 0 {
				v = rng.Intn(65536) - 32768
			}
			coef[pos] = int16(v)
		}
		got := make([]uint8, 8*10)
		want := make([]uint8, 8*10)
		idctIslow(coef[:], &q, got, 10)
		idctIslowFull(&coef, &q, want, 10)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("block %d (%v): sample %d is %d, full islow gives %d", n, coef, i, got[i], want[i])
			}
		}
	}
}
