package backend

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal asks the kernel to kill the plugin when the host dies, even by SIGKILL.
// The plugin's own parent watch (sdk.Serve) covers the case where the forking thread, not the
// process, exits first.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
