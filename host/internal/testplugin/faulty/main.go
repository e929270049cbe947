// Command faulty is a real backend plugin, used only by tests, that misbehaves on request. It
// wraps the shared ONNX Runtime executor and, as HFHOST_FAULT says, crashes or hangs inside
// Run, so that the host's restart, timeout, fallback and orphan handling are tested against a
// real process doing the real thing rather than a mock.
//
// HFHOST_FAULT is one of:
//
//	crash        every Run exits the process (exit status 7)
//	crash-once   the first Run (per HFHOST_FAULT_STATE dir) exits; later ones work
//	hang-once    the first Run blocks forever; later ones work
//	slow-once    the first Run sleeps 3 s before running (to be killed from outside)
//	unavailable  Describe reports the backend as unavailable
//
// HFHOST_FAULT_PIDFILE, when set, receives the process id at start.
package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/ortexec"
)

type faulty struct {
	*ortexec.Executor
	mode  string
	state string
}

// first reports whether this is the first faulty event across restarts, using a marker file.
func (f *faulty) first() bool {
	marker := filepath.Join(f.state, "fired")
	fh, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false
	}
	fh.Close()
	return true
}

func (f *faulty) Describe(ctx context.Context) (*sdk.Description, error) {
	d, err := f.Executor.Describe(ctx)
	if err == nil && f.mode == "unavailable" {
		d.UnavailableReason = "faulty test plugin told to be unavailable"
	}
	return d, err
}

func (f *faulty) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResult, error) {
	switch f.mode {
	case "crash":
		os.Exit(7)
	case "crash-once":
		if f.first() {
			os.Exit(7)
		}
	case "hang-once":
		if f.first() {
			select {}
		}
	case "slow-once":
		if f.first() {
			time.Sleep(3 * time.Second)
		}
	}
	return f.Executor.Run(ctx, req)
}

func main() {
	if p := os.Getenv("HFHOST_FAULT_PIDFILE"); p != "" {
		_ = os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	exec := ortexec.New(ortexec.Config{
		PluginName: "faulty", PluginVersion: "test",
		Detect:       func() ([]sdk.Device, string) { return []sdk.Device{{ID: "cpu:0", Kind: sdk.CPU}}, "" },
		Capabilities: sdk.Capabilities{DynamicShapes: true},
	})
	sdk.Serve(&faulty{Executor: exec, mode: os.Getenv("HFHOST_FAULT"), state: os.Getenv("HFHOST_FAULT_STATE")})
}
