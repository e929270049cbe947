package hardware

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadCPUFromFakeProc(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	cpuinfo := "processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 avx512_bf16\n"
	if err := os.WriteFile(filepath.Join(root, "proc", "cpuinfo"), []byte(cpuinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc", "meminfo"), []byte("MemTotal:       2048 kB\nMemFree: 1 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCPU(root)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "Test CPU 9000" || c.LogicalCPUs != 2 || c.MemoryBytes != 2048*1024 || !c.Flags["avx512_bf16"] || c.Flags["amx_bf16"] {
		t.Fatalf("got %+v", c)
	}
}

func TestReadCPUMissingProc(t *testing.T) {
	if _, err := ReadCPU(t.TempDir()); err == nil {
		t.Fatal("expected an error for a root without /proc/cpuinfo")
	}
}
