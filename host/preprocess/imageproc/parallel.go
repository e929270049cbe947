package imageproc

import (
	"runtime"
	"sync"
)

// minParallelWork is roughly how many inner-loop steps (multiply-adds,
// pixels) a chunk must hold before it is worth a goroutine: below it the
// hand-off costs more than it saves.
const minParallelWork = 1 << 17

// parallelRows calls fn over [0, n) split into contiguous row ranges, on up
// to GOMAXPROCS goroutines. Every row is computed by exactly one call with
// the same arithmetic as a serial loop, so the result does not depend on the
// split. workPerRow sizes the chunks; small jobs run on the caller. A panic
// in any chunk is re-raised on the caller once all chunks have returned.
func parallelRows(n, workPerRow int, fn func(y0, y1 int)) {
	workers := runtime.GOMAXPROCS(0)
	if workPerRow < 1 {
		workPerRow = 1
	}
	if byWork := n * workPerRow / minParallelWork; byWork < workers {
		workers = byWork
	}
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var panicked any
	step := (n + workers - 1) / workers
	for y0 := step; y0 < n; y0 += step {
		wg.Add(1)
		go func(y0, y1 int) {
			defer wg.Done()
			// A panic must reach the caller's goroutine, where the decoders
			// turn it into an error, instead of ending the process.
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					panicked = r
					mu.Unlock()
				}
			}()
			fn(y0, y1)
		}(y0, min(y0+step, n))
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				mu.Lock()
				panicked = r
				mu.Unlock()
			}
		}()
		fn(0, min(step, n))
	}()
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
