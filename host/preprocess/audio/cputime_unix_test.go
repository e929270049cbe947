//go:build unix

package audio

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time of this process so far, for benchmarks run on a
// loaded machine where wall time is noisy.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
