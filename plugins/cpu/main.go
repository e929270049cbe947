// Command hfhost-plugin-cpu is the hfhost CPU backend: ONNX Runtime with its default CPU
// execution provider, in a process of its own.
package main

import (
	"runtime"

	"github.com/hashicorp/go-hclog"
	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/hardware"
	"github.com/hfhost/hfhost/sdk/ortexec"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	log := hclog.New(&hclog.LoggerOptions{Name: "cpu", JSONFormat: true, Level: hclog.LevelFromString(envOr("HFHOST_LOG_LEVEL", "info"))})
	exec := ortexec.New(ortexec.Config{
		PluginName:    "cpu",
		PluginVersion: version,
		Detect:        func() ([]sdk.Device, string) { return detect("/") },
		Capabilities:  sdk.Capabilities{DynamicShapes: true, CompileCache: true},
		Logger:        log,
	})
	sdk.Serve(exec, sdk.WithLogger(log))
}

// detect reports the host CPU as the one device. The CPU backend is available wherever the
// ONNX Runtime library loads, which ortexec checks before calling detect.
func detect(root string) ([]sdk.Device, string) {
	dev := sdk.Device{ID: "cpu:0", Name: "CPU", Kind: sdk.CPU, Arch: runtime.GOARCH, Int8: true}
	if c, err := hardware.ReadCPU(root); err == nil {
		dev.Name = c.Model
		dev.MemoryBytes = c.MemoryBytes
		dev.BF16 = c.Flags["avx512_bf16"] || c.Flags["amx_bf16"]
		dev.FP16 = c.Flags["avx512_fp16"] || c.Flags["amx_fp16"]
	}
	return []sdk.Device{dev}, ""
}
