package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hfhost/hfhost/sdk"
)

// TestPluginExitsWhenParentDiesWithoutPdeathsig checks sdk.Serve's own parent watch, the
// mechanism that does not depend on the host setting a parent-death signal: a shell starts the
// plugin (as a host without Pdeathsig would), the shell is SIGKILLed, and the re-parented
// plugin must exit by itself.
func TestPluginExitsWhenParentDiesWithoutPdeathsig(t *testing.T) {
	plugin := filepath.Join(bin, "hfhost-plugin-cpu")
	sh := exec.Command("sh", "-c", `"$0" >/dev/null 2>&1 & echo $!; wait`, plugin)
	sh.Env = append(os.Environ(), sdk.Handshake.MagicCookieKey+"="+sdk.Handshake.MagicCookieValue)
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	time.Sleep(500 * time.Millisecond) // let the plugin start serving
	if !processAlive(pid) {
		t.Fatal("plugin did not start")
	}
	if err := sh.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sh.Wait()
	waitFor(t, 5*time.Second, func() bool { return !processAlive(pid) })
}
