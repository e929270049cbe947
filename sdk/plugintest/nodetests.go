package plugintest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfhost/hfhost/sdk"
)

// The tolerances of the ONNX backend test runner (onnx/backend/test/runner), which compares
// outputs with numpy.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-7): an element
// matches when |actual - expected| <= atol + rtol*|expected|, NaN matches NaN and infinities
// match themselves only. Integer, bool and string outputs must match exactly.
const (
	NodeTestRTol = 1e-3
	NodeTestATol = 1e-7
)

// NodeStatus is the outcome of one ONNX backend node test.
type NodeStatus string

// The outcomes, from best to worst.
const (
	// NodePass: every test data set's outputs matched within the tolerances.
	NodePass NodeStatus = "pass"
	// NodeUnsupportedType: the test uses a value type hfhost does not carry across the plugin
	// boundary (sequences, optionals, maps, complex or float8 tensors...), so it was not run.
	NodeUnsupportedType NodeStatus = "unsupported type"
	// NodeLoadFailure: the plugin refused to load the model (an operator or opset the backend
	// lacks, or a model it rejects).
	NodeLoadFailure NodeStatus = "load failure"
	// NodeRunError: the model loaded but a run failed.
	NodeRunError NodeStatus = "run error"
	// NodeWrongResult: a run succeeded but an output differs from the expected one.
	NodeWrongResult NodeStatus = "wrong result"
)

// NodeResult is the outcome of one node test.
type NodeResult struct {
	Name   string
	Status NodeStatus
	// Reason groups results with the same cause, e.g. "operator not implemented".
	Reason string
	// Detail says precisely what happened: the plugin's error, or which output differed how.
	Detail string
	// MaxAbsDiff and MaxRelDiff are the largest differences seen in a float output of a
	// wrong result (NaN and infinite elements excluded); zero otherwise.
	MaxAbsDiff, MaxRelDiff float64
	// Ops are the model's operators; Opset its ai.onnx opset.
	Ops   []string
	Opset int64

	transport bool // a call failed at the transport: the plugin process is gone
}

// Report holds the results of a node test run, sorted by test name.
type Report struct {
	Dir     string
	Results []NodeResult
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
}

// Passed returns the names of the passing tests, sorted.
func (r *Report) Passed() []string {
	var p []string
	for _, res := range r.Results {
		if res.Status == NodePass {
			p = append(p, res.Name)
		}
	}
	return p
}

// Result returns the named test's result, or nil.
func (r *Report) Result(name string) *NodeResult {
	i, ok := slices.BinarySearchFunc(r.Results, name, func(a NodeResult, n string) int { return strings.Compare(a.Name, n) })
	if !ok {
		return nil
	}
	return &r.Results[i]
}

// Count returns how many tests ended with status s.
func (r *Report) Count(s NodeStatus) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// Summary is a one-line count of the outcomes.
func (r *Report) Summary() string {
	return fmt.Sprintf("%d node tests: %d pass, %d wrong result, %d run error, %d load failure, %d unsupported type (not run)",
		len(r.Results), r.Count(NodePass), r.Count(NodeWrongResult), r.Count(NodeRunError), r.Count(NodeLoadFailure), r.Count(NodeUnsupportedType))
}

// RunONNXNodeTests runs every ONNX backend node test under dir (one directory per test holding
// model.onnx and test_data_set_*/{input,output}_*.pb, as in onnx/backend/test/data/node) through
// exe and compares the outputs with the expected ones using the ONNX backend test tolerances
// ([NodeTestRTol], [NodeTestATol]). Failing tests do not fail t: they are reported, each with
// its status and reason, and the caller decides which failures matter (for example by comparing
// with a committed list of tests known to pass). t fails only when dir cannot be read.
func RunONNXNodeTests(t testing.TB, exe sdk.Executor, dir string) Report {
	t.Helper()
	start := time.Now()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading the ONNX node tests: %v", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "model.onnx")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("no ONNX node tests (directories with a model.onnx) under %s", dir)
	}
	sort.Strings(names)
	results := make([]NodeResult, len(names))
	// A few tests at a time: loading a model is mostly single-threaded work in the plugin.
	const workers = 4
	next := make(chan int)
	var wg sync.WaitGroup
	// Once the plugin process dies, every later call fails at the transport: the test that was
	// running is reported as the cause and the others as not run.
	var mu sync.Mutex
	var killer string
	for range workers {
		wg.Go(func() {
			for i := range next {
				mu.Lock()
				k := killer
				mu.Unlock()
				if k != "" {
					results[i] = NodeResult{Name: names[i], Status: NodeRunError, Reason: "not run: the plugin process died",
						Detail: fmt.Sprintf("the plugin process died while running %s", k)}
					continue
				}
				r := runNodeTest(exe, filepath.Join(dir, names[i]))
				if r.transport {
					mu.Lock()
					if killer == "" {
						killer = r.Name
						r.Reason = "plugin process died (transport failure)"
					} else {
						r.Reason = "not run: the plugin process died"
					}
					mu.Unlock()
					r.Status = NodeRunError
				}
				results[i] = r
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	return Report{Dir: dir, Results: results, Elapsed: time.Since(start)}
}

// onnxTypeNames names the ONNX tensor element types that package sdk has no DType for.
var onnxTypeNames = map[int32]string{
	0: "undefined", 14: "complex64", 15: "complex128", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
	19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
}

func elemTypeName(e int32) string {
	if dt := sdk.DType(e); dt.Valid() {
		return dt.String()
	}
	if n, ok := onnxTypeNames[e]; ok {
		return n
	}
	return fmt.Sprintf("element type %d", e)
}

// unsupportedValue says why v cannot cross the plugin boundary, or "" when it can.
func unsupportedValue(io string, v ModelValue) (reason, detail string) {
	if v.Kind != KindTensor {
		return "non-tensor value: " + string(v.Kind), fmt.Sprintf("%s %q is of kind %s; hfhost carries tensors only", io, v.Name, v.Kind)
	}
	if !sdk.DType(v.ElemType).Valid() || sdk.DType(v.ElemType) == sdk.Invalid {
		n := elemTypeName(v.ElemType)
		return "tensor element type not carried by hfhost: " + n, fmt.Sprintf("%s %q is a %s tensor, which hfhost does not carry", io, v.Name, n)
	}
	return "", ""
}

func runNodeTest(exe sdk.Executor, dir string) NodeResult {
	r := NodeResult{Name: filepath.Base(dir)}
	fail := func(s NodeStatus, reason, detail string) NodeResult {
		r.Status, r.Reason, r.Detail = s, reason, oneLine(detail)
		return r
	}
	modelPath := filepath.Join(dir, "model.onnx")
	sig, err := ReadModelSignature(modelPath)
	if err != nil {
		return fail(NodeLoadFailure, "unreadable model file", err.Error())
	}
	r.Ops, r.Opset = sig.Ops, sig.Opsets[""]
	inits := map[string]bool{}
	for _, n := range sig.Initializers {
		inits[n] = true
	}
	for _, v := range sig.Inputs {
		if inits[v.Name] {
			continue
		}
		if reason, detail := unsupportedValue("input", v); reason != "" {
			return fail(NodeUnsupportedType, reason, detail)
		}
	}
	for _, v := range sig.Outputs {
		if reason, detail := unsupportedValue("output", v); reason != "" {
			return fail(NodeUnsupportedType, reason, detail)
		}
	}
	sets, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil || len(sets) == 0 {
		return fail(NodeLoadFailure, "no test data", fmt.Sprintf("no test_data_set_* directories in %s", dir))
	}
	sort.Strings(sets)
	// Read every data set first, so that unreadable test data is not blamed on the plugin.
	type dataSet struct {
		dir             string
		inputs, outputs []namedTensor
	}
	var data []dataSet
	for _, sd := range sets {
		in, err := readTensorFiles(sd, "input")
		if err != nil {
			return fail(NodeUnsupportedType, "test data not readable as tensors", err.Error())
		}
		out, err := readTensorFiles(sd, "output")
		if err != nil {
			return fail(NodeUnsupportedType, "test data not readable as tensors", err.Error())
		}
		var graphInputs []ModelValue
		for _, v := range sig.Inputs {
			if !inits[v.Name] {
				graphInputs = append(graphInputs, v)
			}
		}
		bfloat16FromUint16(in, graphInputs)
		bfloat16FromUint16(out, sig.Outputs)
		data = append(data, dataSet{sd, in, out})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, err := exe.Load(ctx, &sdk.LoadRequest{ModelPath: modelPath})
	if err != nil {
		r.transport = sdk.IsTransport(err)
		return fail(NodeLoadFailure, loadReason(err), fmt.Sprintf("%s: %v", sdk.CodeOf(err), err))
	}
	defer func() { _ = exe.Unload(context.Background(), info.ID) }()
	// Model ids differ from run to run; keep them out of the report so that it is stable.
	fail = func(s NodeStatus, reason, detail string) NodeResult {
		r.Status, r.Reason, r.Detail = s, reason, oneLine(strings.ReplaceAll(detail, info.ID, "<model id>"))
		return r
	}

	for _, ds := range data {
		set := filepath.Base(ds.dir)
		req := &sdk.RunRequest{ModelID: info.ID}
		for i, in := range ds.inputs {
			name := in.name
			if !slices.ContainsFunc(info.Inputs, func(v sdk.ValueInfo) bool { return v.Name == name }) {
				if i >= len(info.Inputs) {
					return fail(NodeRunError, "test data does not match the model", fmt.Sprintf("%s has input_%d.pb but the model has %d inputs", set, i, len(info.Inputs)))
				}
				name = info.Inputs[i].Name
			}
			req.Inputs = append(req.Inputs, sdk.Value{Name: name, Tensor: in.t})
		}
		res, err := exe.Run(ctx, req)
		if err != nil {
			r.transport = sdk.IsTransport(err)
			return fail(NodeRunError, runReason(err), fmt.Sprintf("%s: %s: %v", set, sdk.CodeOf(err), err))
		}
		for i, want := range ds.outputs {
			got := res.Output(want.name)
			name := want.name
			if got == nil && i < len(res.Outputs) {
				got, name = &res.Outputs[i], res.Outputs[i].Name
			}
			if got == nil || got.Tensor == nil {
				return fail(NodeWrongResult, "missing output", fmt.Sprintf("%s: output %q (%s) is missing from the plugin's answer", set, want.name, want.t.Signature()))
			}
			c := compareTensors(want.t, got.Tensor)
			if c.problem != "" {
				r.MaxAbsDiff, r.MaxRelDiff = c.maxAbs, c.maxRel
				return fail(NodeWrongResult, c.reason, fmt.Sprintf("%s: output %q: %s", set, name, c.problem))
			}
		}
	}
	r.Status = NodePass
	return r
}

// bfloat16FromUint16 retypes test tensors stored as uint16 whose graph value (matched by name,
// else by position) is declared bfloat16: numpy has no bfloat16, so the onnx test generator of
// the onnx 1.12 era saved bfloat16 tensors as their uint16 bit patterns.
func bfloat16FromUint16(ts []namedTensor, decl []ModelValue) {
	for i, nt := range ts {
		if nt.t.DType != sdk.Uint16 {
			continue
		}
		j := slices.IndexFunc(decl, func(v ModelValue) bool { return v.Name == nt.name })
		if j < 0 {
			j = i
		}
		if j < len(decl) && sdk.DType(decl[j].ElemType) == sdk.BFloat16 {
			nt.t.DType = sdk.BFloat16
		}
	}
}

type namedTensor struct {
	name string
	t    *sdk.Tensor
}

// readTensorFiles reads dir/<prefix>_0.pb, <prefix>_1.pb, ... in index order.
func readTensorFiles(dir, prefix string) ([]namedTensor, error) {
	var out []namedTensor
	for i := 0; ; i++ {
		path := filepath.Join(dir, prefix+"_"+strconv.Itoa(i)+".pb")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		name, t, err := ReadTensorProto(path)
		if err != nil {
			return nil, err
		}
		out = append(out, namedTensor{name, t})
	}
}

var (
	opNotImplemented = regexp.MustCompile(`Could not find an implementation for (\S+)\((\d+)\)`)
	spaces           = regexp.MustCompile(`\s+`)
)

// loadReason groups load failures by their cause.
func loadReason(err error) string {
	msg := err.Error()
	switch {
	case sdk.IsTransport(err):
		return "plugin process died (transport failure)"
	case opNotImplemented.MatchString(msg), strings.Contains(msg, "is not a registered function/op"):
		return "operator (or its type combination) not implemented by the backend"
	case strings.Contains(msg, "are not supported"), strings.Contains(msg, "is not supported"):
		return "attribute value not supported by the backend's kernel"
	case strings.Contains(msg, "Failed to construct locale"):
		return "kernel needs a locale that is not installed on this machine"
	case strings.Contains(msg, "opset") || strings.Contains(msg, "Opset"):
		return "opset not supported by the backend"
	case strings.Contains(msg, "ShapeInferenceError") || strings.Contains(msg, "TypeInferenceError"):
		return "model rejected by the backend's shape/type inference"
	}
	return "model rejected: " + sdk.CodeOf(err).String()
}

// runReason groups run errors by their cause.
func runReason(err error) string {
	msg := err.Error()
	switch {
	case sdk.IsTransport(err):
		return "plugin process died (transport failure)"
	case strings.Contains(msg, "onnxruntime_go v1.35 cannot read back"):
		return "output cannot be read back through onnxruntime_go v1.35 (float16/bfloat16 of dynamic shape)"
	case strings.Contains(msg, "has no inputs"):
		return "model without inputs, which onnxruntime_go v1.35 cannot run"
	case sdk.CodeOf(err) == sdk.Unsupported:
		return "unsupported by the plugin"
	case sdk.CodeOf(err) == sdk.InvalidInput:
		return "test inputs rejected by the plugin"
	}
	return "backend error at run time"
}

func oneLine(s string) string {
	s = spaces.ReplaceAllString(s, " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

type comparison struct {
	problem, reason string
	maxAbs, maxRel  float64
}

// compareTensors compares got with want as the ONNX backend test runner does.
func compareTensors(want, got *sdk.Tensor) comparison {
	if got.DType != want.DType {
		return comparison{problem: fmt.Sprintf("want %s, got %s", want.Signature(), got.Signature()), reason: "wrong dtype"}
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return comparison{problem: fmt.Sprintf("want %s, got %s", want.Signature(), got.Signature()), reason: "wrong shape"}
	}
	if err := got.Validate(); err != nil {
		return comparison{problem: fmt.Sprintf("malformed output: %v", err), reason: "malformed output"}
	}
	n := int(sdk.NumElements(want.Shape))
	if want.DType == sdk.String {
		for i := range n {
			if got.Strings[i] != want.Strings[i] {
				return comparison{problem: fmt.Sprintf("element %d: want %q, got %q", i, want.Strings[i], got.Strings[i]), reason: "wrong values (exact comparison)"}
			}
		}
		return comparison{}
	}
	if !isFloat(want.DType) {
		// Integers and bools compare exactly, byte for byte.
		size := want.DType.Size()
		bad, first := 0, -1
		for i := range n {
			if string(want.Data[i*size:(i+1)*size]) != string(got.Data[i*size:(i+1)*size]) {
				bad++
				if first < 0 {
					first = i
				}
			}
		}
		if bad > 0 {
			return comparison{problem: fmt.Sprintf("%d of %d elements differ; element %d: want %s, got %s", bad, n, first, elemString(want, first), elemString(got, first)), reason: "wrong values (exact comparison)"}
		}
		return comparison{}
	}
	w, g := floats(want), floats(got)
	var c comparison
	bad, first := 0, -1
	for i := range n {
		x, y := w[i], g[i]
		ok := true
		switch {
		case math.IsNaN(x) || math.IsNaN(y):
			ok = math.IsNaN(x) && math.IsNaN(y)
		case math.IsInf(x, 0) || math.IsInf(y, 0):
			ok = x == y
		default:
			d := math.Abs(x - y)
			c.maxAbs = math.Max(c.maxAbs, d)
			if x != 0 {
				c.maxRel = math.Max(c.maxRel, d/math.Abs(x))
			}
			ok = d <= NodeTestATol+NodeTestRTol*math.Abs(x)
		}
		if !ok {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad > 0 {
		c.reason = "values outside rtol 1e-3, atol 1e-7"
		c.problem = fmt.Sprintf("%d of %d elements outside rtol %g, atol %g (max abs diff %.3g, max rel diff %.3g); element %d: want %v, got %v",
			bad, n, NodeTestRTol, NodeTestATol, c.maxAbs, c.maxRel, first, w[first], g[first])
	}
	return c
}

func isFloat(dt sdk.DType) bool {
	return dt == sdk.Float32 || dt == sdk.Float64 || dt == sdk.Float16 || dt == sdk.BFloat16
}

// floats reads a floating-point tensor as float64s.
func floats(t *sdk.Tensor) []float64 {
	n := int(sdk.NumElements(t.Shape))
	vals := make([]float64, n)
	d := t.Data
	for i := range n {
		switch t.DType {
		case sdk.Float32:
			vals[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])))
		case sdk.Float64:
			vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:]))
		case sdk.Float16:
			vals[i] = float64(sdk.Float16ToFloat32(binary.LittleEndian.Uint16(d[2*i:])))
		case sdk.BFloat16:
			vals[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[2*i:])) << 16))
		}
	}
	return vals
}

// elemString formats element i of an integer or bool tensor.
func elemString(t *sdk.Tensor, i int) string {
	d := t.Data
	switch t.DType {
	case sdk.Int8:
		return strconv.Itoa(int(int8(d[i])))
	case sdk.Uint8:
		return strconv.Itoa(int(d[i]))
	case sdk.Bool:
		return strconv.FormatBool(d[i] != 0)
	case sdk.Int16:
		return strconv.Itoa(int(int16(binary.LittleEndian.Uint16(d[2*i:]))))
	case sdk.Uint16:
		return strconv.Itoa(int(binary.LittleEndian.Uint16(d[2*i:])))
	case sdk.Int32:
		return strconv.Itoa(int(int32(binary.LittleEndian.Uint32(d[4*i:]))))
	case sdk.Uint32:
		return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(d[4*i:])), 10)
	case sdk.Int64:
		return strconv.FormatInt(int64(binary.LittleEndian.Uint64(d[8*i:])), 10)
	case sdk.Uint64:
		return strconv.FormatUint(binary.LittleEndian.Uint64(d[8*i:]), 10)
	}
	return "?"
}
