package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/config"
)

// bin holds the binaries TestMain builds: hfhost, hfhost-plugin-cpu, hfhost-plugin-faulty.
var bin string

const root = "../.."

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hfhost-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = dir
	for out, pkg := range map[string]string{
		"hfhost":               "./host/cmd/hfhost",
		"hfhost-plugin-cpu":    "./plugins/cpu",
		"hfhost-plugin-faulty": "./host/internal/testplugin/faulty",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, b)
			return 1
		}
	}
	if os.Getenv("HFHOST_ORT_LIB") == "" {
		out, err := exec.Command(filepath.Join(root, "scripts", "fetch-ort.sh")).Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "HFHOST_ORT_LIB is not set and scripts/fetch-ort.sh failed: %v\n", err)
			return 1
		}
		os.Setenv("HFHOST_ORT_LIB", strings.TrimSpace(string(out)))
	}
	// Plugins found next to a test binary or on $PATH must not leak into these tests.
	os.Setenv("PATH", "/usr/bin:/bin")
	os.Setenv("HFHOST_CACHE", filepath.Join(dir, "cache"))
	return m.Run()
}

// writeConfig writes a config file in a temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pluginConfig is a config whose backends are the test binaries.
func pluginConfig(order string, extra string) string {
	return fmt.Sprintf(`order = [%s]
plugin_dir = %q
log_level = "error"
%s`, order, bin, extra)
}

// newManager parses config text and returns a manager, closed at test end.
func newManager(t *testing.T, text string) *backend.Manager {
	t.Helper()
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Source = t.Name()
	m := backend.NewManager(cfg, hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Warn}))
	t.Cleanup(m.Close)
	return m
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// hfhost runs the built CLI and returns stdout, stderr and the exit status.
func hfhost(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "hfhost"), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}
