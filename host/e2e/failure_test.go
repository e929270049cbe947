package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/plugintest"
)

// mnistInput is the first golden MNIST input.
func mnistInput(t *testing.T) *sdk.Tensor {
	t.Helper()
	_, in, err := plugintest.ReadTensorProto(filepath.Join(root, "testdata", "mnist-8", "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func openMNIST(t *testing.T, m *backend.Manager) *backend.Session {
	t.Helper()
	s, err := m.Open(testContext(t), backend.Request{Family: "vision", Graphs: map[string]string{"model": mnistModel}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runMNIST(t *testing.T, s *backend.Session) (*sdk.RunResult, error) {
	return s.Run(testContext(t), "model", &sdk.RunRequest{Inputs: []sdk.Value{{Name: "Input3", Tensor: mnistInput(t)}}})
}

func TestCorruptModel(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(bad, []byte("this is not a protobuf \x00\x01\x02"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	_, err := m.Open(testContext(t), backend.Request{Family: "vision", Graphs: map[string]string{"model": bad}})
	if sdk.CodeOf(err) != sdk.InvalidModel || !strings.Contains(err.Error(), bad) {
		t.Fatalf("got %v (code %v); want an invalid-model error naming %s", err, sdk.CodeOf(err), bad)
	}
}

func TestMissingModelFile(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	missing := filepath.Join(t.TempDir(), "nope.onnx")
	_, err := m.Open(testContext(t), backend.Request{Family: "vision", Graphs: map[string]string{"model": missing}})
	if sdk.CodeOf(err) != sdk.NotFound || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v; want a not-found error naming %s", err, missing)
	}
}

func TestBadInputs(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	s := openMNIST(t, m)
	ctx := testContext(t)
	wrongShape, _ := sdk.NewTensor([]int64{1, 1, 32, 32}, make([]float32, 32*32))
	wrongType, _ := sdk.NewTensor([]int64{1, 1, 28, 28}, make([]int64, 28*28))
	good := mnistInput(t)
	cases := []struct {
		name   string
		inputs []sdk.Value
		want   []string
	}{
		{"wrong shape", []sdk.Value{{Name: "Input3", Tensor: wrongShape}}, []string{`"Input3" wants float32 [1,1,28,28]`, "got float32 [1,1,32,32]"}},
		{"wrong dtype", []sdk.Value{{Name: "Input3", Tensor: wrongType}}, []string{`wants float32 [1,1,28,28]`, "got int64 [1,1,28,28]"}},
		{"unknown input", []sdk.Value{{Name: "pixel_values", Tensor: good}}, []string{`no input "pixel_values"`, `"Input3" (float32 [1,1,28,28])`}},
		{"missing input", nil, []string{`missing input "Input3"`}},
	}
	for _, tc := range cases {
		_, err := s.Run(ctx, "model", &sdk.RunRequest{Inputs: tc.inputs})
		if sdk.CodeOf(err) != sdk.InvalidInput {
			t.Errorf("%s: got %v (code %v), want an invalid-input error", tc.name, err, sdk.CodeOf(err))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
	}
	// The backend is still there and healthy after bad requests.
	if _, err := runMNIST(t, s); err != nil {
		t.Fatalf("good run after bad ones: %v", err)
	}
	if s.Backend() != "cpu" || len(s.Trace()) != 1 {
		t.Fatalf("bad input must not cause a fallback; trace %v", s.Trace())
	}
}

func TestPluginBinaryMissing(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, "[backends.cpu]\npath = \"/nonexistent/hfhost-plugin-cpu\"\n"))
	_, err := m.Open(testContext(t), backend.Request{Family: "vision", Graphs: map[string]string{"model": mnistModel}})
	var nb *backend.NoBackendError
	if !errors.As(err, &nb) || !strings.Contains(err.Error(), "/nonexistent/hfhost-plugin-cpu") {
		t.Fatalf("got %v; want a no-backend error naming the missing binary", err)
	}
}

func TestPinnedHashMismatch(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, "[backends.cpu]\nsha256 = \""+strings.Repeat("ab", 32)+"\"\n"))
	_, err := m.Open(testContext(t), backend.Request{Family: "vision", Graphs: map[string]string{"model": mnistModel}})
	if err == nil || !strings.Contains(err.Error(), "refusing to run it") {
		t.Fatalf("got %v; want a refusal because of the sha256 pin", err)
	}
}

func TestORTLibraryMissing(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, "[backends.cpu.env]\nHFHOST_ORT_LIB = \"/nonexistent/libonnxruntime.so.1\"\n"))
	_, err := m.Open(testContext(t), backend.Request{Family: "vision", Graphs: map[string]string{"model": mnistModel}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so.1") || !strings.Contains(err.Error(), "fetch-ort.sh") {
		t.Fatalf("got %v; want an error naming the missing library and how to fetch it", err)
	}
}

func TestORTLibraryWrong(t *testing.T) {
	// A file that is not ONNX Runtime at all, where the library should be.
	fake := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(fake, []byte("not a shared library"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, pluginConfig(`"cpu"`, fmt.Sprintf("[backends.cpu.env]\nHFHOST_ORT_LIB = %q\n", fake)))
	trace := m.Plan(testContext(t), "vision")
	if len(trace) != 1 || trace[0].Outcome != "skipped" || !strings.Contains(trace[0].Reason, fake) {
		t.Fatalf("got trace %+v; want cpu skipped as unavailable, naming %s", trace, fake)
	}
}

// TestPluginKilledDuringRun kills the plugin process from outside while it is running a
// request; the request must still complete, on a restarted plugin.
func TestPluginKilledDuringRun(t *testing.T) {
	state := t.TempDir()
	pidfile := filepath.Join(state, "pid")
	m := newManager(t, pluginConfig(`"faulty"`, fmt.Sprintf("[backends.faulty.env]\nHFHOST_FAULT = \"slow-once\"\nHFHOST_FAULT_STATE = %q\nHFHOST_FAULT_PIDFILE = %q\n", state, pidfile)))
	s := openMNIST(t, m)
	pid := readPid(t, pidfile)
	go func() {
		time.Sleep(500 * time.Millisecond) // inside the 3 s sleep of the first Run
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}()
	res, err := runMNIST(t, s)
	if err != nil {
		t.Fatalf("run did not survive the plugin being killed: %v", err)
	}
	if res.Outputs[0].Tensor == nil || s.Backend() != "faulty" {
		t.Fatalf("unexpected result %+v on backend %s", res, s.Backend())
	}
	if newPid := readPid(t, pidfile); newPid == pid {
		t.Fatal("plugin was not restarted")
	}
}

func TestPluginHangIsReplaced(t *testing.T) {
	state := t.TempDir()
	m := newManager(t, pluginConfig(`"faulty"`, fmt.Sprintf("run_timeout = \"1s\"\n[backends.faulty.env]\nHFHOST_FAULT = \"hang-once\"\nHFHOST_FAULT_STATE = %q\n", state)))
	s := openMNIST(t, m)
	start := time.Now()
	if _, err := runMNIST(t, s); err != nil {
		t.Fatalf("run after a hang: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("recovering from a hang took %v", d)
	}
}

func TestCrashTwiceFallsBack(t *testing.T) {
	state := t.TempDir()
	m := newManager(t, pluginConfig(`"faulty", "cpu"`, fmt.Sprintf("[backends.faulty.env]\nHFHOST_FAULT = \"crash\"\nHFHOST_FAULT_STATE = %q\n", state)))
	s := openMNIST(t, m)
	if _, err := runMNIST(t, s); err != nil {
		t.Fatalf("policy next must fall back to cpu: %v", err)
	}
	tr := s.Trace()
	if s.Backend() != "cpu" || len(tr) != 3 || tr[1].Backend != "faulty" || !strings.Contains(tr[1].Reason, "run failed") {
		t.Fatalf("backend %s trace %+v; want faulty selected, then skipped after failing, then cpu", s.Backend(), tr)
	}
}

func TestCrashTwicePolicyFail(t *testing.T) {
	state := t.TempDir()
	m := newManager(t, pluginConfig(`"faulty", "cpu"`, fmt.Sprintf("on_failure = \"fail\"\n[backends.faulty.env]\nHFHOST_FAULT = \"crash\"\nHFHOST_FAULT_STATE = %q\n", state)))
	s := openMNIST(t, m)
	_, err := runMNIST(t, s)
	if err == nil || !strings.Contains(err.Error(), `on_failure = "fail"`) {
		t.Fatalf("got %v; want a clear failure under policy fail", err)
	}
}

func TestUnavailableBackendIsSkipped(t *testing.T) {
	m := newManager(t, pluginConfig(`"faulty", "cpu"`, "[backends.faulty.env]\nHFHOST_FAULT = \"unavailable\"\n"))
	s := openMNIST(t, m)
	tr := s.Trace()
	if s.Backend() != "cpu" || tr[0].Backend != "faulty" || !strings.Contains(tr[0].Reason, "told to be unavailable") {
		t.Fatalf("trace %+v", tr)
	}
}

// TestNoOrphanAfterHostSIGKILL kills the hfhost process itself with SIGKILL while a plugin
// serves it; the plugin must exit on its own.
func TestNoOrphanAfterHostSIGKILL(t *testing.T) {
	state := t.TempDir()
	pidfile := filepath.Join(state, "pid")
	cfg := writeConfig(t, pluginConfig(`"faulty"`, fmt.Sprintf("[backends.faulty.env]\nHFHOST_FAULT = \"hang-once\"\nHFHOST_FAULT_STATE = %q\nHFHOST_FAULT_PIDFILE = %q\n", state, pidfile)))
	cmd := exec.Command(filepath.Join(bin, "hfhost"), "run", "--config", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidfile)
	waitFor(t, 10*time.Second, func() bool { _, err := os.Stat(filepath.Join(state, "fired")); return err == nil })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, 5*time.Second, func() bool { return !processAlive(pid) })
}

func TestCLIFailuresAreOneLine(t *testing.T) {
	notImage := filepath.Join(t.TempDir(), "digit.png")
	if err := os.WriteFile(notImage, []byte("plain text, not pixels"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "trunc.png")
	good, _ := os.ReadFile(filepath.Join(root, "host", "internal", "builtin", "mnist", "samples", "test_data_set_0.png"))
	if err := os.WriteFile(truncated, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	badCfg := writeConfig(t, "order = [\"cpu\"]\nrun_timout = \"1s\"\n")
	okCfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	emptyDir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"not an image", []string{"run", "--config", okCfg, notImage}, "not a supported image", 1},
		{"truncated image", []string{"run", "--config", okCfg, truncated}, "trunc.png", 1},
		{"missing image", []string{"run", "--config", okCfg, "/nonexistent.png"}, "no such file", 1},
		{"unknown config key", []string{"run", "--config", badCfg}, `line 2: unknown key "run_timout"; did you mean "run_timeout"?`, 1},
		{"missing model dir", []string{"run", "--config", okCfg, "--model", "/nonexistent-model"}, "does not exist", 1},
		{"dir without config.json", []string{"run", "--config", okCfg, "--model", emptyDir, "x.png"}, "no readable config.json", 1},
		{"unknown pipeline", []string{"run", "--pipeline", "telepathy"}, "not a pipeline family", 2},
		{"wrong family", []string{"run", "--config", okCfg, "--pipeline", "audio"}, "is a vision model (task image-classification), not --pipeline audio", 2},
		{"unknown command", []string{"frobnicate"}, "unknown command", 2},
		{"bad flag", []string{"run", "--top-k", "many"}, "invalid value", 2},
	}
	for _, tc := range cases {
		stdout, stderr, code := hfhost(t, nil, tc.args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if code != tc.code || !strings.HasPrefix(last, "hfhost: ") || !strings.Contains(last, tc.want) || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and one line containing %q", tc.name, code, stdout, stderr, tc.code, tc.want)
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
			t.Errorf("%s: the host panicked: %s", tc.name, stderr)
		}
		if tc.code == 1 && len(lines) != 1 {
			t.Errorf("%s: want exactly one line on stderr, got %d: %q", tc.name, len(lines), stderr)
		}
	}
}

func TestCLIRunDefault(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cuda", "cpu"`, ""))
	stdout, stderr, code := hfhost(t, nil, "run", "--pipeline", "vision", "--config", cfg, "--top-k", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The three golden MNIST inputs are a 2, a 0 and a 9.
	for _, want := range []string{"test_data_set_0.png\n  2 ", "test_data_set_1.png\n  0 ", "test_data_set_2.png\n  9 "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "backend: cpu (skipped not installed: cuda)") {
		t.Errorf("the skipped backend must be reported; stderr: %q", stderr)
	}
	js, _, code := hfhost(t, nil, "run", "--config", cfg, "--json")
	if code != 0 || !strings.Contains(js, `"backend": "cpu"`) || !strings.Contains(js, `"not_installed": true`) {
		t.Fatalf("json output (exit %d): %s", code, js)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited; it only waits for its parent to reap it.
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
