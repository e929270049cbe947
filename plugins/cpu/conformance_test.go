package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/sdk/plugintest"
)

// cpuPluginBinary is the plugin that TestMain builds once for the tests in this package.
var cpuPluginBinary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hfhost-plugin-cpu-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating a directory for the plugin binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	cpuPluginBinary = filepath.Join(dir, "hfhost-plugin-cpu")
	build := exec.Command("go", "build", "-o", cpuPluginBinary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building the plugin (go build -o %s .): %v\n", cpuPluginBinary, err)
		return 1
	}
	return m.Run()
}

// TestConformance runs the SDK's plugin conformance suite against the CPU plugin.
func TestConformance(t *testing.T) {
	plugintest.Run(t, cpuPluginBinary)
}

// TestConformanceWithoutRuntime runs the suite against the plugin with no ONNX Runtime library
// to find: Describe must still answer, with the reason, and the rest of the suite is skipped.
func TestConformanceWithoutRuntime(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-libonnxruntime.so")
	t.Setenv("HFHOST_ORT_LIB", missing)
	t.Setenv("HFHOST_CACHE", t.TempDir())
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libonnxruntime.so.1", "/usr/local/lib/libonnxruntime.so.1", "/usr/local/lib/libonnxruntime.so"} {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("a system ONNX Runtime library is installed at %s, so the plugin cannot be made to miss it", p)
		}
	}
	plugintest.Run(t, cpuPluginBinary)
}
