// Command minimal is a complete hfhost backend plugin: ONNX Runtime's CPU provider through the
// SDK's shared executor. Build it as hfhost-plugin-minimal, put it next to hfhost (or name it
// in the config under [backends.minimal]) and add "minimal" to the order.
package main

import (
	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/ortexec"
)

func main() {
	exec := ortexec.New(ortexec.Config{
		PluginName:    "minimal",
		PluginVersion: "0.1.0",
		// Detect says which devices this backend can use, or why it cannot run here.
		Detect: func() ([]sdk.Device, string) {
			return []sdk.Device{{ID: "cpu:0", Name: "CPU", Kind: sdk.CPU}}, ""
		},
		// Providers would append an execution provider (CUDA, OpenVINO...) to the session
		// options; nil keeps ONNX Runtime's CPU provider.
		Providers:    nil,
		Capabilities: sdk.Capabilities{DynamicShapes: true},
	})
	sdk.Serve(exec)
}
