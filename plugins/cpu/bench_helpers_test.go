package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/ortexec"
)

// Helpers for boundary_bench_test.go: the models measured, the plugin process they run in, and
// deterministic inputs.

// benchModel is one model the boundary benchmarks run, with its single input.
type benchModel struct {
	name  string
	path  string // relative to this package's directory
	input string
	shape []int64
}

// benchModels are measured in-process and through the plugin. MNIST-8 is tiny (the boundary
// cost is mostly per-call latency); conv640 moves 4.9 MB in and 13.1 MB out; conv640-pool moves
// 4.9 MB in and 32 bytes out (see tools/fixtures/gen_bench.py).
var benchModels = []benchModel{
	{name: "mnist-8", path: "../../host/internal/builtin/mnist/model.onnx", input: "Input3", shape: []int64{1, 1, 28, 28}},
	{name: "conv640", path: "../../testdata/bench/conv640.onnx", input: "pixels", shape: []int64{1, 3, 640, 640}},
	{name: "conv640-pool", path: "../../testdata/bench/conv640-pool.onnx", input: "pixels", shape: []int64{1, 3, 640, 640}},
}

// benchLoadOptions are the ONNX Runtime options used on both sides of the comparison. One
// intra-op thread keeps the model's own cost stable on a small, shared machine and leaves the
// boundary's goroutines a core to themselves in neither case, so the difference is the boundary.
func benchLoadOptions() map[string]string {
	return map[string]string{"intra_op_threads": "1", "inter_op_threads": "1", "execution_mode": "sequential"}
}

// benchInput returns a deterministic float32 tensor of the model's input shape with values in
// [-1, 1) from a fixed linear congruential sequence.
func benchInput(tb testing.TB, m benchModel) *sdk.Tensor {
	tb.Helper()
	n := sdk.NumElements(m.shape)
	data := make([]float32, n)
	x := uint32(12345)
	for i := range data {
		x = x*1664525 + 1013904223
		data[i] = float32(x>>8)/float32(1<<23) - 1
	}
	t, err := sdk.NewTensor(append([]int64(nil), m.shape...), data)
	if err != nil {
		tb.Fatalf("making the %s input: %v", m.name, err)
	}
	return t
}

// inProcessExecutor returns an ortexec executor living in the test process, or skips the
// benchmark when ONNX Runtime is not installed here.
func inProcessExecutor(tb testing.TB) *ortexec.Executor {
	tb.Helper()
	e := ortexec.New(ortexec.Config{PluginName: "cpu-inprocess", PluginVersion: "bench"})
	d, err := e.Describe(context.Background())
	if err != nil {
		tb.Fatalf("in-process Describe: %v", err)
	}
	if d.UnavailableReason != "" {
		tb.Skipf("ONNX Runtime is not available in this process: %s", d.UnavailableReason)
	}
	return e
}

// startPlugin starts the CPU plugin the way the host's backend manager does (go-plugin over
// gRPC, the SDK's handshake and dial options) and returns its executor and process id. The
// process is killed when tb ends.
func startPlugin(tb testing.TB) (sdk.Executor, int) {
	tb.Helper()
	// TestMain (conformance_test.go) builds the plugin once for the whole package and removes
	// it when the tests and benchmarks are done.
	bin := cpuPluginBinary
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPlugins(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "bench", Output: io.Discard, Level: hclog.Error}),
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		// The plugin's stderr (hclog JSON) is not needed; keep the benchmark output clean.
		Stderr: io.Discard,
	})
	tb.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		tb.Fatalf("starting plugin %s: %v", bin, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		tb.Fatalf("dispensing the executor from %s: %v", bin, err)
	}
	exe, ok := raw.(*sdk.Client)
	if !ok {
		tb.Fatalf("plugin %s dispensed %T, want *sdk.Client", bin, raw)
	}
	d, err := exe.Describe(context.Background())
	if err != nil {
		tb.Fatalf("plugin Describe: %v", err)
	}
	if d.UnavailableReason != "" {
		tb.Skipf("CPU plugin is unavailable here: %s", d.UnavailableReason)
	}
	return exe, client.ReattachConfig().Pid
}

// cpuTime returns the CPU time (user + system) this process has used so far, plus that of the
// processes in others. It measures the work the boundary adds independently of how many other
// jobs share the machine, which wall time on a busy machine does not.
func cpuTime(others ...int) (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	for _, pid := range others {
		d, err := procCPUTime(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// procCPUTime reads utime + stime of process pid from /proc/<pid>/stat (clock ticks of 10 ms
// on Linux: the metric is only as precise as 10 ms over the whole benchmark run).
func procCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces; fields count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no \")\" after the command name in %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 13", pid, len(f))
	}
	const ticksPerSecond = 100 // USER_HZ, fixed at 100 on Linux
	var ticks int64
	for _, field := range f[11:13] { // utime, stime: fields 14 and 15 of stat(5)
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: utime/stime field %q: %w", pid, field, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / ticksPerSecond, nil
}

// loadBench loads m into e with benchLoadOptions and unloads it when tb ends.
func loadBench(tb testing.TB, e sdk.Executor, m benchModel) string {
	tb.Helper()
	info, err := e.Load(context.Background(), &sdk.LoadRequest{ModelPath: m.path, Options: benchLoadOptions()})
	if err != nil {
		tb.Fatalf("loading %s (%s): %v; regenerate testdata/bench with tools/fixtures/generate.sh gen_bench.py if it is missing", m.name, m.path, err)
	}
	tb.Cleanup(func() { _ = e.Unload(context.Background(), info.ID) })
	return info.ID
}

// runOnce runs one inference and returns its outputs.
func runOnce(ctx context.Context, e sdk.Executor, id string, m benchModel, in *sdk.Tensor) (*sdk.RunResult, error) {
	res, err := e.Run(ctx, &sdk.RunRequest{ModelID: id, Inputs: []sdk.Value{{Name: m.input, Tensor: in}}})
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", m.name, err)
	}
	if len(res.Outputs) == 0 || res.Outputs[0].Tensor == nil {
		return nil, fmt.Errorf("running %s: got no output tensor", m.name)
	}
	return res, nil
}

// maxAbsDiff compares two float32 tensors element by element.
func maxAbsDiff(a, b *sdk.Tensor) (float64, error) {
	if a.Signature() != b.Signature() {
		return 0, fmt.Errorf("outputs differ in type or shape: %s vs %s", a.Signature(), b.Signature())
	}
	x, err := sdk.Values[float32](a)
	if err != nil {
		return 0, err
	}
	y, err := sdk.Values[float32](b)
	if err != nil {
		return 0, err
	}
	var d float64
	for i := range x {
		d = math.Max(d, math.Abs(float64(x[i])-float64(y[i])))
	}
	return d, nil
}
