// Command noisyplugin is a fake hfhost plugin for plugintest's own tests: it answers every call
// without running anything, and writes to stdout during Run as NOISY_MODE says: "raw" writes to
// file descriptor 1 (as C code in a runtime library would), "forwarded" prints with fmt (which
// go-plugin redirects after the handshake), anything else writes nothing.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hfhost/hfhost/sdk"
)

type noisy struct{ mode string }

func (n noisy) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{PluginName: "noisy", Devices: []sdk.Device{{ID: "cpu:0", Kind: sdk.CPU}}}, nil
}

func (n noisy) Load(_ context.Context, req *sdk.LoadRequest) (*sdk.ModelInfo, error) {
	return &sdk.ModelInfo{ID: "m"}, nil
}

func (n noisy) Run(context.Context, *sdk.RunRequest) (*sdk.RunResult, error) {
	switch n.mode {
	case "raw":
		_, _ = os.NewFile(1, "fd1").WriteString("raw noise on fd 1\n")
	case "forwarded":
		fmt.Println("noise printed with fmt")
	}
	return &sdk.RunResult{}, nil
}

func (n noisy) Release(context.Context, []string) error { return nil }

func (n noisy) Unload(context.Context, string) error { return nil }

func main() {
	sdk.Serve(noisy{mode: os.Getenv("NOISY_MODE")})
}
