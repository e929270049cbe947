package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/sdk/plugintest"
)

// TestConformance builds this example as a real plugin binary and runs the SDK's conformance
// suite against it, as a third-party plugin author would. It needs the ONNX Runtime library
// (HFHOST_ORT_LIB or the cache filled by scripts/fetch-ort.sh); without it the suite checks
// that Describe says why and skips the rest.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "hfhost-plugin-minimal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	if os.Getenv("HFHOST_ORT_LIB") == "" {
		t.Log("HFHOST_ORT_LIB is not set; the plugin looks in the fetch script's cache")
	}
	plugintest.Run(t, bin)
}
