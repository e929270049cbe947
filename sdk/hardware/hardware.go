// Package hardware holds pure-Go detection helpers that backend plugins share: reading
// /proc and /sys, looking for device nodes and vendor libraries. Every function takes the
// filesystem root to read from, so that detection is tested against a fake tree rather than
// trusted untested.
package hardware

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// CPU describes the host processor as /proc reports it.
type CPU struct {
	Model       string
	LogicalCPUs int
	MemoryBytes uint64
	// Flags are the instruction-set flags, e.g. "avx2", "avx512_bf16", "amx_bf16".
	Flags map[string]bool
}

// ReadCPU reads /proc/cpuinfo and /proc/meminfo under root ("/" on a real machine).
func ReadCPU(root string) (*CPU, error) {
	c := &CPU{Flags: map[string]bool{}}
	f, err := os.Open(filepath.Join(root, "proc", "cpuinfo"))
	if err != nil {
		return nil, fmt.Errorf("reading cpu info: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			c.LogicalCPUs++
		case "model name", "Model":
			if c.Model == "" {
				c.Model = v
			}
		case "flags", "Features":
			if len(c.Flags) == 0 {
				for _, fl := range strings.Fields(v) {
					c.Flags[fl] = true
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading cpu info: %w", err)
	}
	if c.LogicalCPUs == 0 {
		c.LogicalCPUs = runtime.NumCPU()
	}
	if m, err := os.ReadFile(filepath.Join(root, "proc", "meminfo")); err == nil {
		for _, line := range strings.Split(string(m), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				fields := strings.Fields(rest)
				if len(fields) >= 1 {
					if kb, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
						c.MemoryBytes = kb * 1024
					}
				}
			}
		}
	}
	return c, nil
}

// Exists reports whether path exists under root.
func Exists(root, path string) bool {
	_, err := os.Stat(filepath.Join(root, path))
	return err == nil
}
