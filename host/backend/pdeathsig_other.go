//go:build !linux

package backend

import "os/exec"

// setParentDeathSignal has no equivalent outside Linux; the plugin's own parent watch
// (sdk.Serve) makes it exit when the host is gone.
func setParentDeathSignal(*exec.Cmd) {}
