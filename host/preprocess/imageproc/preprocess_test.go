package imageproc

import "testing"

// TestSizeRules checks the output-size arithmetic on cases the fixtures do
// not reach, with values worked out from the transformers formulas.
func TestSizeRules(t *testing.T) {
	// DETR: 500x333 (h x w) with 800/1333: 500/333*800 = 1201 < 1333, so the
	// short side becomes 800 and the long int(800*500/333) = 1201.
	if h, w := detrSize(500, 333, 800, 1333, false); h != 1201 || w != 800 {
		t.Errorf("detrSize(500,333) = %d,%d", h, w)
	}
	// A very wide image hits max_size: raw = 1333*100/1000 = 133.3 -> 133.
	if h, w := detrSize(100, 1000, 800, 1333, false); h != 133 || w != 1333 {
		t.Errorf("detrSize(100,1000) = %d,%d", h, w)
	}
	// YOLOS rounds both sides down to multiples of 16.
	if h, w := detrSize(480, 640, 512, 1333, true); h != 512 || w != 672 {
		t.Errorf("yolos detrSize(480,640) = %d,%d", h, w)
	}
	// Python's round() is half-to-even: 112.5 -> 112.
	if h, w := dptSize(480, 640, 100, 150, true, 1); h != 112 || w != 150 {
		t.Errorf("dptSize(480,640) = %d,%d", h, w)
	}
	if h, w := dptSize(500, 333, 384, 384, true, 32); h != 576 || w != 384 {
		t.Errorf("dptSize(500,333) = %d,%d", h, w)
	}
	if h, w := shortestEdgeSize(768, 1024, 224, 0); h != 224 || w != 298 {
		t.Errorf("shortestEdgeSize = %d,%d", h, w)
	}
	if h, w := shortestEdgeSize(100, 1000, 224, 1000); h != 100 || w != 1000 {
		t.Errorf("shortestEdgeSize with max = %d,%d", h, w)
	}
	if h, w := longestEdgeSize(768, 1024, 512); h != 384 || w != 512 {
		t.Errorf("longestEdgeSize = %d,%d", h, w)
	}
}
