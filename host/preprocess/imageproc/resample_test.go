package imageproc

import (
	"fmt"
	"image"
	"math/rand"
	"testing"
)

// naiveResize is Pillow's two-pass resampling written as plainly as
// possible (one int32 accumulator per sample, Resample.c's order): the
// reference the packed, row-parallel resize must match exactly.
func naiveResize(src *pixels, w, h int, r Resample) *pixels {
	f, _ := filterFor(r)
	C, S := src.C, src.S
	ch := precomputeCoeffs(src.W, 0, float64(src.W), w, f)
	cv := precomputeCoeffs(src.H, 0, float64(src.H), h, f)
	const half = int32(1 << (precisionBits - 1))
	img := src.compact()
	_ = S
	if w != src.W {
		yFirst := cv.bounds[0]
		yLast := cv.bounds[2*h-2] + cv.bounds[2*h-1]
		tmp := newPixels(w, yLast-yFirst, C)
		for y := 0; y < tmp.H; y++ {
			for x := 0; x < w; x++ {
				xmin, xcnt := ch.bounds[2*x], ch.bounds[2*x+1]
				for c := 0; c < C; c++ {
					ss := half
					for i := 0; i < xcnt; i++ {
						ss += int32(img.Pix[((y+yFirst)*img.W+xmin+i)*C+c]) * ch.k[x*ch.ksize+i]
					}
					tmp.Pix[(y*w+x)*C+c] = clip8(ss)
				}
			}
		}
		for i := 0; i < h; i++ {
			cv.bounds[2*i] -= yFirst
		}
		img = tmp
	}
	if h != src.H {
		out := newPixels(img.W, h, C)
		for y := 0; y < h; y++ {
			ymin, ycnt := cv.bounds[2*y], cv.bounds[2*y+1]
			for x := 0; x < img.W*C; x++ {
				ss := half
				for i := 0; i < ycnt; i++ {
					ss += int32(img.Pix[(ymin+i)*img.W*C+x]) * cv.k[y*cv.ksize+i]
				}
				out.Pix[y*img.W*C+x] = clip8(ss)
			}
		}
		img = out
	}
	return img
}

// TestResizeMatchesNaive checks the optimised resize (packed sums, paired
// rows, row-parallel passes, 4-byte views) against naiveResize for every
// filter, both directions, odd and even sizes, 1 and 3 channels.
func TestResizeMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	sizes := [][4]int{ // src w, h, dst w, h
		{37, 29, 11, 7}, {37, 29, 80, 61}, {37, 29, 37, 12}, {37, 29, 13, 29},
		{64, 48, 224, 224}, {301, 203, 224, 150}, {5, 3, 1, 1}, {1, 9, 4, 2},
		{640, 481, 299, 223}, // large enough for parallelRows to split
	}
	for _, r := range []Resample{Bilinear, Bicubic, Lanczos, Box, Hamming} {
		for _, sz := range sizes {
			for _, cs := range [][2]int{{1, 1}, {3, 3}, {3, 4}} {
				C, S := cs[0], cs[1]
				src := &pixels{W: sz[0], H: sz[1], C: C, S: S, Pix: make([]uint8, sz[0]*sz[1]*S)}
				for i := range src.Pix {
					// Mostly extremes, to reach the clipping on both sides.
					switch rng.Intn(3) {
					case 0:
						src.Pix[i] = 0
					case 1:
						src.Pix[i] = 255
					default:
						src.Pix[i] = uint8(rng.Intn(256))
					}
				}
				name := fmt.Sprintf("%v/%dx%d->%dx%d/C%dS%d", r, sz[0], sz[1], sz[2], sz[3], C, S)
				got, err := resize(src, sz[2], sz[3], r)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := naiveResize(src, sz[2], sz[3], r)
				if got.W != want.W || got.H != want.H || got.C != want.C || got.S != got.C {
					t.Fatalf("%s: got %dx%dx%d (S %d), want %dx%dx%d", name, got.W, got.H, got.C, got.S, want.W, want.H, want.C)
				}
				for i := range want.Pix {
					if got.Pix[i] != want.Pix[i] {
						t.Fatalf("%s: sample %d is %d, want %d", name, i, got.Pix[i], want.Pix[i])
					}
				}
			}
		}
	}
}

// TestParallelRowsCoversOnce checks that every row is handed out exactly once.
func TestParallelRowsCoversOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1001} {
		seen := make([]int32, n)
		parallelRows(n, minParallelWork, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				seen[y]++
			}
		})
		for y, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: row %d computed %d times", n, y, c)
			}
		}
	}
}

// TestParallelRowsPanics checks that a panic in a worker goroutine comes
// back to the caller (where decoders recover it) rather than crashing.
func TestParallelRowsPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the worker's panic", r)
		}
	}()
	parallelRows(1000, minParallelWork, func(y0, y1 int) {
		if y1 == 1000 {
			panic("boom")
		}
	})
	t.Fatal("parallelRows returned normally")
}

// TestResizeWindowMatchesCrop checks that computing only a window of the
// resized image gives the window of the full resize, for every path
// (both axes, width only, height only, same size, nearest).
func TestResizeWindowMatchesCrop(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	cases := [][4]int{{301, 203, 224, 150}, {301, 203, 301, 150}, {301, 203, 224, 203}, {301, 203, 301, 203}, {64, 48, 200, 100}}
	for _, r := range []Resample{Bicubic, Bilinear, Nearest} {
		for _, sz := range cases {
			for _, S := range []int{3, 4} {
				src := &pixels{W: sz[0], H: sz[1], C: 3, S: S, Pix: make([]uint8, sz[0]*sz[1]*S)}
				for i := range src.Pix {
					src.Pix[i] = uint8(rng.Intn(256))
				}
				full, err := resize(src, sz[2], sz[3], r)
				if err != nil {
					t.Fatal(err)
				}
				for n := 0; n < 4; n++ {
					x0, y0 := rng.Intn(sz[2]), rng.Intn(sz[3])
					win := image.Rect(x0, y0, x0+1+rng.Intn(sz[2]-x0), y0+1+rng.Intn(sz[3]-y0))
					got, err := resizeWindow(src, sz[2], sz[3], r, win)
					if err != nil {
						t.Fatal(err)
					}
					want := cropWindow(full, win)
					if got.W != want.W || got.H != want.H || string(got.Pix) != string(want.Pix) {
						t.Fatalf("%v %v S%d window %v: differs from the cropped full resize", r, sz, S, win)
					}
				}
			}
		}
	}
	if _, err := resizeWindow(&pixels{W: 4, H: 4, C: 1, S: 1, Pix: make([]uint8, 16)}, 8, 8, Bilinear, image.Rect(4, 4, 9, 9)); err == nil {
		t.Fatal("window outside the target accepted")
	}
}
