package main

// The plugin-boundary benchmarks: the same ortexec executor, with the same ONNX Runtime
// options, called directly in the test process (BenchmarkInProcess) and through the real plugin
// process over go-plugin + gRPC (BenchmarkPlugin). The difference is what the process boundary
// costs. Results and the commands that produced them are in PERFORMANCE.md, "Plugin boundary".
//
//	go test -run '^$' -bench 'InProcess|Plugin' -count 10 ./plugins/cpu/ | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col .name bench.txt
//
// BenchmarkPluginInline is the plugin with the SDK's shared-memory path turned off, to show what
// it saves.
//
// Both need the ONNX Runtime library (scripts/fetch-ort.sh or HFHOST_ORT_LIB) and skip without
// it. TestBoundaryParity checks that both paths compute the same outputs.

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hfhost/hfhost/sdk"
)

func BenchmarkInProcess(b *testing.B) {
	e := inProcessExecutor(b)
	for _, m := range benchModels {
		b.Run(m.name, func(b *testing.B) { benchRun(b, e, m) })
	}
}

func BenchmarkPlugin(b *testing.B) {
	e, pid := startPlugin(b)
	for _, m := range benchModels {
		b.Run(m.name, func(b *testing.B) { benchRun(b, e, m, pid) })
	}
}

// BenchmarkPluginInline is BenchmarkPlugin with the SDK's shared-memory path turned off
// (HFHOST_SHM=off in the host), so that every tensor crosses inside the gRPC messages.
func BenchmarkPluginInline(b *testing.B) {
	b.Setenv("HFHOST_SHM", "off")
	e, pid := startPlugin(b)
	for _, m := range benchModels {
		b.Run(m.name, func(b *testing.B) { benchRun(b, e, m, pid) })
	}
}

// BenchmarkBoundary runs the three paths of BenchmarkInProcess, BenchmarkPlugin and
// BenchmarkPluginInline side by side, model by model. go test repeats each sub-benchmark -count
// times in a row, so with -count N the paths of one model are measured seconds apart, not a
// minute apart as with the separate benchmarks; to interleave every repetition on a shared,
// noisy machine, loop over -count 1 instead (as PERFORMANCE.md does):
//
//	for i in $(seq 10); do go test -run '^$' -bench Boundary -count 1 ./plugins/cpu/; done | tee boundary.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /path boundary.txt
func BenchmarkBoundary(b *testing.B) {
	local := inProcessExecutor(b)
	plugin, pluginPid := startPlugin(b)
	b.Setenv("HFHOST_SHM", "off")
	inline, inlinePid := startPlugin(b)
	for _, m := range benchModels {
		b.Run("model="+m.name+"/path=in-process", func(b *testing.B) { benchRun(b, local, m) })
		b.Run("model="+m.name+"/path=plugin", func(b *testing.B) { benchRun(b, plugin, m, pluginPid) })
		b.Run("model="+m.name+"/path=plugin-inline", func(b *testing.B) { benchRun(b, inline, m, inlinePid) })
	}
}

// benchRun times Run calls of m on e with the output returned inline, as a host pipeline makes
// them. Loading and one warm-up run are outside the timed loop. Besides wall time (sec/op) it
// reports cpu-sec/op: the CPU time of this process and of the processes in others (the plugin)
// per call, which a busy machine disturbs far less than wall time; and ort-sec/op, the time
// ONNX Runtime's Run took as the executor measured it.
func benchRun(b *testing.B, e sdk.Executor, m benchModel, others ...int) {
	id := loadBench(b, e, m)
	in := benchInput(b, m)
	ctx := context.Background()
	if _, err := runOnce(ctx, e, id, m, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0, err := cpuTime(others...)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	var ortRun time.Duration
	for b.Loop() {
		res, err := runOnce(ctx, e, id, m, in)
		if err != nil {
			b.Fatal(err)
		}
		ortRun += res.Timings.Run
		n++
	}
	cpu1, err := cpuTime(others...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric((cpu1-cpu0).Seconds()/float64(n), "cpu-sec/op")
	// The executor's own measure of ONNX Runtime's Run (microsecond resolution), taken where the
	// executor runs: sec/op minus this is what surrounds the model, boundary included.
	b.ReportMetric(ortRun.Seconds()/float64(n), "ort-sec/op")
}

// TestBoundaryParity checks that the plugin computes what the same executor computes in
// process, for every benchmark model, with and without shared memory: the boundary must not
// change a single bit.
func TestBoundaryParity(t *testing.T) {
	for _, shm := range []string{"on", "off"} {
		t.Run("shm="+shm, func(t *testing.T) {
			if shm == "off" {
				t.Setenv("HFHOST_SHM", "off")
			}
			testBoundaryParity(t)
		})
	}
}

func testBoundaryParity(t *testing.T) {
	local := inProcessExecutor(t)
	remote, _ := startPlugin(t)
	ctx := context.Background()
	for _, m := range benchModels {
		t.Run(m.name, func(t *testing.T) {
			in := benchInput(t, m)
			want, err := runOnce(ctx, local, loadBench(t, local, m), m, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := runOnce(ctx, remote, loadBench(t, remote, m), m, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Outputs) != len(want.Outputs) {
				t.Fatalf("plugin returned %d outputs, in-process run %d", len(got.Outputs), len(want.Outputs))
			}
			for i := range want.Outputs {
				w, g := want.Outputs[i], got.Outputs[i]
				if g.Name != w.Name {
					t.Fatalf("output %d is %q through the plugin, %q in process", i, g.Name, w.Name)
				}
				d, err := maxAbsDiff(w.Tensor, g.Tensor)
				if err != nil {
					t.Fatalf("output %q: %v", w.Name, err)
				}
				if d != 0 {
					t.Errorf("output %q differs between plugin and in-process runs: max |diff| %g, want 0", w.Name, d)
				}
			}
		})
	}
}

// TestMisdeclaredOutputThroughSharedMemory runs a model whose declared static output shape is
// not the shape it computes (testdata/bench/misdeclared.onnx, see gen_bench.py). In the plugin
// the shared-memory path first pre-allocates the output with the declared shape, which ONNX
// Runtime refuses; the executor must then run it the ordinary way and answer what the
// in-process executor answers.
func TestMisdeclaredOutputThroughSharedMemory(t *testing.T) {
	m := benchModel{name: "misdeclared", path: "../../testdata/bench/misdeclared.onnx", input: "x", shape: []int64{1 << 20}}
	local := inProcessExecutor(t)
	remote, _ := startPlugin(t)
	ctx := context.Background()
	in := benchInput(t, m)
	want, err := runOnce(ctx, local, loadBench(t, local, m), m, in)
	if err != nil {
		t.Fatal(err)
	}
	id := loadBench(t, remote, m)
	for run := 1; run <= 2; run++ { // the second run no longer tries shared memory for the output
		got, err := runOnce(ctx, remote, id, m, in)
		if err != nil {
			t.Fatalf("run %d through the plugin: %v", run, err)
		}
		w, g := want.Outputs[0].Tensor, got.Outputs[0].Tensor
		if g.Signature() != w.Signature() || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("run %d: plugin output %s differs from the in-process output %s", run, g.Signature(), w.Signature())
		}
	}
}
