package plugintest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hfhost/hfhost/sdk"
)

// suiteOpset is the ONNX operator set of the suite's models: the first with bfloat16 Identity,
// Add, Neg and Abs, and old enough for every backend hfhost targets.
const suiteOpset = 13

// Run is the conformance suite for a hfhost backend plugin. It starts the plugin binary at
// binaryPath, builds tiny ONNX models in a temporary directory and checks, each in a subtest of
// its own, that the plugin answers the executor protocol as the host expects: Describe, Load
// (valid and broken files), Run (every dtype the plugin claims, scalars, empty tensors, dynamic
// batches, bad inputs with the right error codes), output handles, Release, Unload, concurrent
// runs, messages over 4 MiB and a clean stdout.
//
// A plugin that reports itself unavailable on this machine passes the Describe checks and skips
// the rest with its reason.
func Run(t *testing.T, binaryPath string) {
	c := Start(t, binaryPath)
	s := &suite{c: c, dir: t.TempDir(), bin: binaryPath}

	ok := t.Run("Describe", s.describe)
	if ok && s.desc == nil { // the Describe subtest was filtered out with -run
		ctx, cancel := withTimeout()
		defer cancel()
		d, err := c.Describe(ctx)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		s.desc = d
	}
	if s.desc == nil {
		t.Fatalf("Describe failed; the other checks need its answer")
	}
	if r := s.desc.UnavailableReason; r != "" {
		t.Skipf("plugin %s is unavailable on this machine, skipping the rest of the suite: %s", s.desc.PluginName, r)
	}
	if err := s.writeModels(); err != nil {
		t.Fatal(err)
	}
	t.Run("Load", s.load)
	if s.add == nil { // the Load subtests failed or were filtered out
		ctx, cancel := withTimeout()
		defer cancel()
		if info, err := c.Load(ctx, s.loadRequest("add")); err == nil {
			s.add = info
		}
	}
	if s.add == nil {
		t.Fatalf("the plugin could not load %s, which every other check needs", s.path("add"))
	}
	for _, g := range []struct {
		name string
		f    func(*testing.T)
	}{{"Run", s.run}, {"Handles", s.handles}, {"Unload", s.unload}, {"Concurrent", s.concurrent}, {"LargeMessages", s.large}} {
		t.Run(g.name, g.f)
		s.alive(t, g.name)
	}
	t.Run("Stdout", s.stdout)
}

// alive stops the suite when the plugin process died during the checks named group: every
// later call would fail the same way and hide the cause.
func (s *suite) alive(t *testing.T, group string) {
	ctx, cancel := withTimeout()
	defer cancel()
	if _, err := s.c.Describe(ctx); err != nil && sdk.IsTransport(err) {
		t.Fatalf("the plugin process died during the %s checks (its log above shows why); the remaining checks cannot run: %v", group, err)
	}
}

type suite struct {
	c    *sdk.Client
	dir  string
	bin  string
	desc *sdk.Description
	// add is the loaded add model: z = x + y, all float32 [N,3].
	add *sdk.ModelInfo
}

func (s *suite) path(name string) string { return filepath.Join(s.dir, name+".onnx") }

// dynamic reports whether the plugin runs graphs with dynamic dimensions as they are.
func (s *suite) dynamic() bool { return s.desc.Capabilities.DynamicShapes }

func (s *suite) dtypes() []sdk.DType {
	if len(s.desc.Capabilities.DTypes) == 0 {
		return []sdk.DType{sdk.Float32}
	}
	return s.desc.Capabilities.DTypes
}

func (s *suite) describe(t *testing.T) {
	ctx, cancel := withTimeout()
	defer cancel()
	d, err := s.c.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: want a description, got error: %v", err)
	}
	s.desc = d
	t.Logf("plugin %s %s, runtime %s %s, devices %d, capabilities %+v", d.PluginName, d.PluginVersion, d.Runtime, d.RuntimeVersion, len(d.Devices), d.Capabilities)
	if d.ProtocolVersion != sdk.ProtocolVersion {
		t.Errorf("Describe: want protocol version %d, got %d", sdk.ProtocolVersion, d.ProtocolVersion)
	}
	if d.PluginName == "" {
		t.Errorf("Describe: want a plugin name, got an empty one")
	}
	if d.UnavailableReason == "" && len(d.Devices) == 0 {
		t.Errorf("Describe: want at least one device or an unavailable reason, got neither")
	}
	for i, dev := range d.Devices {
		if dev.ID == "" {
			t.Errorf("Describe: device %d (%q) has no ID", i, dev.Name)
		}
		if !slices.Contains([]sdk.DeviceKind{sdk.CPU, sdk.GPU, sdk.NPU}, dev.Kind) {
			t.Errorf("Describe: device %q has kind %q, want one of cpu, gpu, npu", dev.ID, dev.Kind)
		}
	}
	seen := map[sdk.DType]bool{}
	for _, dt := range d.Capabilities.DTypes {
		if !dt.Valid() {
			t.Errorf("Describe: capabilities list %s, which is not an sdk dtype", dt)
		}
		if seen[dt] {
			t.Errorf("Describe: capabilities list %s twice", dt)
		}
		seen[dt] = true
	}
	if len(d.Capabilities.DTypes) > 0 && !seen[sdk.Float32] {
		t.Errorf("Describe: capabilities list dtypes %v without float32, which every backend must run", d.Capabilities.DTypes)
	}
}

// writeModels writes the suite's models into s.dir.
func (s *suite) writeModels() error {
	models := map[string]*tinyModel{
		"add": {nodes: []graphNode{{"Add", []string{"x", "y"}, []string{"z"}}},
			inputs:  []graphValue{{"x", sdk.Float32, []int64{-1, 3}, []string{"N"}}, {"y", sdk.Float32, []int64{-1, 3}, []string{"N"}}},
			outputs: []graphValue{{"z", sdk.Float32, []int64{-1, 3}, []string{"N"}}}},
		"scalar": {nodes: []graphNode{{"Identity", []string{"x"}, []string{"y"}}},
			inputs:  []graphValue{{"x", sdk.Float32, []int64{}, nil}},
			outputs: []graphValue{{"y", sdk.Float32, []int64{}, nil}}},
		"two_outputs": {nodes: []graphNode{{"Neg", []string{"x"}, []string{"neg"}}, {"Abs", []string{"x"}, []string{"abs"}}},
			inputs:  []graphValue{{"x", sdk.Float32, []int64{2, 2}, nil}},
			outputs: []graphValue{{"neg", sdk.Float32, []int64{2, 2}, nil}, {"abs", sdk.Float32, []int64{2, 2}, nil}}},
		"undeclared_shape": {nodes: []graphNode{{"Identity", []string{"x"}, []string{"y"}}},
			inputs:  []graphValue{{"x", sdk.Float32, []int64{2, 3}, nil}},
			outputs: []graphValue{{"y", sdk.Float32, nil, nil}}},
		"big": {nodes: []graphNode{{"Neg", []string{"x"}, []string{"y"}}},
			inputs:  []graphValue{{"x", sdk.Float32, []int64{1, 3, 640, 640}, nil}},
			outputs: []graphValue{{"y", sdk.Float32, []int64{1, 3, 640, 640}, nil}}},
	}
	for _, dt := range s.dtypes() {
		models["identity_"+dt.String()] = &tinyModel{nodes: []graphNode{{"Identity", []string{"x"}, []string{"y"}}},
			inputs:  []graphValue{{"x", dt, []int64{2, 3}, nil}},
			outputs: []graphValue{{"y", dt, []int64{2, 3}, nil}}}
		models["identity_scalar_"+dt.String()] = &tinyModel{nodes: []graphNode{{"Identity", []string{"x"}, []string{"y"}}},
			inputs:  []graphValue{{"x", dt, []int64{}, nil}},
			outputs: []graphValue{{"y", dt, []int64{}, nil}}}
		models["identity_dynamic_"+dt.String()] = &tinyModel{nodes: []graphNode{{"Identity", []string{"x"}, []string{"y"}}},
			inputs:  []graphValue{{"x", dt, []int64{-1, -1}, []string{"rows", "cols"}}},
			outputs: []graphValue{{"y", dt, []int64{-1, -1}, []string{"rows", "cols"}}}}
	}
	for name, m := range models {
		m.opset = suiteOpset
		if err := m.write(s.path(name)); err != nil {
			return err
		}
	}
	return nil
}

// loadRequest asks for one of the suite's models. A plugin that runs fixed shapes only is given
// the shapes the suite runs the add model with (the other dynamic models are not used then).
func (s *suite) loadRequest(name string) *sdk.LoadRequest {
	req := &sdk.LoadRequest{ModelPath: s.path(name)}
	if !s.dynamic() && name == "add" {
		req.StaticShapes = map[string][]int64{"x": {2, 3}, "y": {2, 3}}
	}
	return req
}

// loadModel loads one of the suite's models and unloads it when the test ends.
func (s *suite) loadModel(t *testing.T, name string) *sdk.ModelInfo {
	t.Helper()
	ctx, cancel := withTimeout()
	defer cancel()
	info, err := s.c.Load(ctx, s.loadRequest(name))
	if err != nil {
		t.Fatalf("Load(%s): want a model, got error (%s): %v", s.path(name), sdk.CodeOf(err), err)
	}
	t.Cleanup(func() {
		ctx, cancel := withTimeout()
		defer cancel()
		_ = s.c.Unload(ctx, info.ID)
	})
	return info
}

func (s *suite) runModel(m *sdk.ModelInfo, inputs []sdk.Value, outputs ...sdk.OutputRequest) (*sdk.RunResult, error) {
	ctx, cancel := withTimeout()
	defer cancel()
	return s.c.Run(ctx, &sdk.RunRequest{ModelID: m.ID, Inputs: inputs, Outputs: outputs})
}

// wantCode checks that err is an *sdk.Error with code want whose message contains every one of
// mention.
func wantCode(t *testing.T, call string, err error, want sdk.ErrorCode, mention ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: want an sdk.Error with code %q, got no error", call, want)
		return
	}
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: want an sdk.Error with code %q, got a transport error: %v", call, want, err)
		return
	}
	if e.Code != want {
		t.Errorf("%s: want code %q, got code %q: %s", call, want, e.Code, e.Message)
		return
	}
	for _, m := range mention {
		if !strings.Contains(e.Message, m) {
			t.Errorf("%s: want a message that mentions %q, got: %s", call, m, e.Message)
		}
	}
	t.Logf("%s: %s: %s", call, e.Code, e.Message)
}

// wantSignature checks that an error message names the dtype and shape a model input expects,
// with dynamic dimensions written as -1 or by their names.
func wantSignature(t *testing.T, call string, err error, vi sdk.ValueInfo) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, vi.DType.String()) {
		t.Errorf("%s: want a message naming the expected dtype %s of input %q, got: %s", call, vi.DType, vi.Name, msg)
	}
	shapes := []string{sdk.FormatShape(vi.Shape)}
	if len(vi.DimNames) == len(vi.Shape) {
		named := make([]string, len(vi.Shape))
		for i, d := range vi.Shape {
			named[i] = fmt.Sprint(d)
			if d < 0 && vi.DimNames[i] != "" {
				named[i] = vi.DimNames[i]
			}
		}
		shapes = append(shapes, "["+strings.Join(named, ",")+"]")
	}
	for _, sh := range shapes {
		if strings.Contains(msg, sh) {
			return
		}
	}
	t.Errorf("%s: want a message naming the expected shape %s of input %q, got: %s", call, strings.Join(shapes, " or "), vi.Name, msg)
}

func (s *suite) load(t *testing.T) {
	t.Run("Valid", func(t *testing.T) {
		ctx, cancel := withTimeout()
		defer cancel()
		info, err := s.c.Load(ctx, s.loadRequest("add"))
		if err != nil {
			t.Fatalf("Load(%s): want a model, got error (%s): %v", s.path("add"), sdk.CodeOf(err), err)
		}
		s.add = info
		if info.ID == "" {
			t.Errorf("Load: want a model id, got an empty one")
		}
		dim := int64(-1) // the batch dimension N
		if !s.dynamic() && len(info.Inputs) > 0 && slices.Equal(info.Inputs[0].Shape, []int64{2, 3}) {
			dim = 2 // a fixed-shape plugin may report the static shape it was given
		}
		want := []sdk.ValueInfo{{Name: "x", DType: sdk.Float32, Shape: []int64{dim, 3}}, {Name: "y", DType: sdk.Float32, Shape: []int64{dim, 3}}}
		checkInfos(t, "inputs", want, info.Inputs)
		checkInfos(t, "outputs", []sdk.ValueInfo{{Name: "z", DType: sdk.Float32, Shape: []int64{dim, 3}}}, info.Outputs)
	})
	t.Run("TwoLoadsTwoIDs", func(t *testing.T) {
		a, b := s.loadModel(t, "scalar"), s.loadModel(t, "scalar")
		if a.ID == b.ID {
			t.Errorf("Load twice: want two distinct model ids, got %q both times", a.ID)
		}
	})
	bad := func(name, path string, want ...sdk.ErrorCode) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := withTimeout()
			defer cancel()
			info, err := s.c.Load(ctx, &sdk.LoadRequest{ModelPath: path})
			call := fmt.Sprintf("Load(%s)", path)
			if err == nil {
				t.Fatalf("%s: want an error with code %v, got model %q", call, want, info.ID)
			}
			code := sdk.CodeOf(err)
			if !slices.Contains(want, code) || !isSDKError(err) {
				t.Fatalf("%s: want an sdk.Error with code %v, got %q: %v", call, want, code, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("%s: want a message naming the path, got: %v", call, err)
			}
			t.Logf("%s: %s: %v", call, code, err)
		})
	}
	bad("MissingFile", filepath.Join(s.dir, "no-such-model.onnx"), sdk.NotFound)
	corrupt := filepath.Join(s.dir, "corrupt.onnx")
	if err := os.WriteFile(corrupt, []byte("this is not an ONNX model\x00\xff\xfe"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad("CorruptFile", corrupt, sdk.InvalidModel)
	full, err := os.ReadFile(s.path("add"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(s.dir, "truncated.onnx")
	if err := os.WriteFile(truncated, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	bad("TruncatedFile", truncated, sdk.InvalidModel)
	empty := filepath.Join(s.dir, "empty.onnx")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad("EmptyFile", empty, sdk.InvalidModel)
	bad("Directory", s.dir, sdk.NotFound, sdk.InvalidModel)
}

func isSDKError(err error) bool {
	var e *sdk.Error
	return errors.As(err, &e)
}

func checkInfos(t *testing.T, what string, want, got []sdk.ValueInfo) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Load: want %d %s, got %d: %+v", len(want), what, len(got), got)
		return
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].DType != want[i].DType || !slices.Equal(got[i].Shape, want[i].Shape) {
			t.Errorf("Load: %s[%d]: want %q %s %s, got %q %s %s", what, i, want[i].Name, want[i].DType, sdk.FormatShape(want[i].Shape),
				got[i].Name, got[i].DType, sdk.FormatShape(got[i].Shape))
		}
	}
}

// addInputs returns x and y of n rows for the add model and the expected sum. The values are
// chosen so that float32 addition is exact.
func addInputs(n int, seed float32) (x, y *sdk.Tensor, z []float32) {
	xs, ys := make([]float32, 3*n), make([]float32, 3*n)
	z = make([]float32, 3*n)
	for i := range xs {
		xs[i] = seed*1000 + float32(i)
		ys[i] = float32(i) * 0.5
		z[i] = xs[i] + ys[i]
	}
	return float32Tensor([]int64{int64(n), 3}, xs), float32Tensor([]int64{int64(n), 3}, ys), z
}

func checkFloat32s(t *testing.T, call string, got *sdk.Tensor, shape []int64, want []float32) {
	t.Helper()
	if err := checkFloat32sErr(got, shape, want); err != nil {
		t.Errorf("%s: %v", call, err)
	}
}

func checkFloat32sErr(got *sdk.Tensor, shape []int64, want []float32) error {
	if got == nil {
		return fmt.Errorf("want float32 %s inline, got no tensor", sdk.FormatShape(shape))
	}
	if got.DType != sdk.Float32 || !slices.Equal(got.Shape, shape) || len(got.Data) != 4*len(want) {
		return fmt.Errorf("want float32 %s, got %s with %d bytes", sdk.FormatShape(shape), got.Signature(), len(got.Data))
	}
	for i, g := range float32s(got) {
		if math.Float32bits(g) != math.Float32bits(want[i]) {
			return fmt.Errorf("element %d: want %v, got %v", i, want[i], g)
		}
	}
	return nil
}

func (s *suite) run(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		for _, dt := range s.dtypes() {
			t.Run(dt.String(), func(t *testing.T) {
				m := s.loadModel(t, "identity_"+dt.String())
				in := sampleTensor(dt, []int64{2, 3})
				res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: in}})
				if err != nil {
					t.Fatalf("Run(Identity %s): want the input back, got error (%s): %v", in.Signature(), sdk.CodeOf(err), err)
				}
				if len(res.Outputs) != 1 || res.Outputs[0].Name != "y" {
					t.Fatalf("Run(Identity): want one output \"y\", got %d: %v", len(res.Outputs), outputNames(res))
				}
				if d := sameTensor(in, res.Outputs[0].Tensor); d != "" {
					t.Errorf("Run(Identity %s): output differs from input: %s", in.Signature(), d)
				}
			})
		}
	})
	t.Run("DynamicShapeOutput", func(t *testing.T) {
		if !s.dynamic() {
			t.Skip("plugin reports DynamicShapes=false")
		}
		for _, dt := range s.dtypes() {
			t.Run(dt.String(), func(t *testing.T) {
				s.identity(t, "identity_dynamic_"+dt.String(), sampleTensor(dt, []int64{3, 4}), "output shape [rows,cols]")
			})
		}
	})
	t.Run("Scalar", func(t *testing.T) {
		m := s.loadModel(t, "scalar")
		in := float32Tensor([]int64{}, []float32{-2.5})
		res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: in}})
		if err != nil {
			t.Fatalf("Run(Identity float32 []): got error (%s): %v", sdk.CodeOf(err), err)
		}
		if len(res.Outputs) != 1 {
			t.Fatalf("Run: want one output, got %d", len(res.Outputs))
		}
		checkFloat32s(t, "Run(Identity float32 [])", res.Outputs[0].Tensor, []int64{}, []float32{-2.5})
		for _, dt := range s.dtypes() {
			t.Run(dt.String(), func(t *testing.T) {
				s.identity(t, "identity_scalar_"+dt.String(), sampleTensor(dt, []int64{}), "rank 0")
			})
		}
	})
	t.Run("UndeclaredOutputShape", func(t *testing.T) {
		// ONNX allows a graph output without a declared shape; its rank is known only at run time.
		m := s.loadModel(t, "undeclared_shape")
		t.Logf("Load reports output %q as %s %s", m.Outputs[0].Name, m.Outputs[0].DType, sdk.FormatShape(m.Outputs[0].Shape))
		in := sampleTensor(sdk.Float32, []int64{2, 3})
		res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: in}})
		if err != nil {
			t.Fatalf("Run(Identity float32 [2,3], output shape undeclared): got error (%s): %v", sdk.CodeOf(err), err)
		}
		if len(res.Outputs) != 1 {
			t.Fatalf("Run: want one output, got %d", len(res.Outputs))
		}
		if d := sameTensor(in, res.Outputs[0].Tensor); d != "" {
			t.Errorf("Run(Identity, output shape undeclared): output differs from input: %s", d)
		}
	})
	t.Run("ZeroElements", func(t *testing.T) {
		if !s.dynamic() {
			t.Skip("plugin reports DynamicShapes=false")
		}
		x, y, z := addInputs(0, 1)
		res, err := s.runModel(s.add, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}})
		if err != nil {
			t.Fatalf("Run(Add float32 [0,3]): want an empty float32 [0,3], got error (%s): %v", sdk.CodeOf(err), err)
		}
		if len(res.Outputs) != 1 {
			t.Fatalf("Run: want one output, got %d", len(res.Outputs))
		}
		checkFloat32s(t, "Run(Add float32 [0,3])", res.Outputs[0].Tensor, []int64{0, 3}, z)
		for _, dt := range s.dtypes() {
			t.Run(dt.String(), func(t *testing.T) {
				s.identity(t, "identity_dynamic_"+dt.String(), sampleTensor(dt, []int64{0, 3}), "0 elements")
			})
		}
	})
	t.Run("DynamicBatch", func(t *testing.T) {
		if !s.dynamic() {
			t.Skip("plugin reports DynamicShapes=false")
		}
		for _, n := range []int{1, 2, 7, 64} {
			x, y, z := addInputs(n, float32(n))
			res, err := s.runModel(s.add, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}})
			call := fmt.Sprintf("Run(Add float32 [%d,3])", n)
			if err != nil {
				t.Errorf("%s: got error (%s): %v", call, sdk.CodeOf(err), err)
				continue
			}
			if len(res.Outputs) != 1 || res.Outputs[0].Name != "z" {
				t.Errorf("%s: want one output \"z\", got %v", call, outputNames(res))
				continue
			}
			checkFloat32s(t, call, res.Outputs[0].Tensor, []int64{int64(n), 3}, z)
		}
	})
	t.Run("OutputSelection", func(t *testing.T) {
		m := s.loadModel(t, "two_outputs")
		x := float32Tensor([]int64{2, 2}, []float32{1, -2, 3.5, -0.25})
		neg, abs := []float32{-1, 2, -3.5, 0.25}, []float32{1, 2, 3.5, 0.25}
		cases := []struct {
			name string
			req  []sdk.OutputRequest
			want []string
		}{
			{"All", nil, []string{"neg", "abs"}},
			{"Reversed", []sdk.OutputRequest{{Name: "abs"}, {Name: "neg"}}, []string{"abs", "neg"}},
			{"One", []sdk.OutputRequest{{Name: "abs"}}, []string{"abs"}},
		}
		for _, c := range cases {
			res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: x}}, c.req...)
			call := fmt.Sprintf("Run(two outputs, requesting %s)", c.name)
			if err != nil {
				t.Errorf("%s: got error (%s): %v", call, sdk.CodeOf(err), err)
				continue
			}
			if got := outputNames(res); !slices.Equal(got, c.want) {
				t.Errorf("%s: want outputs %v in that order, got %v", call, c.want, got)
				continue
			}
			for _, o := range res.Outputs {
				want := neg
				if o.Name == "abs" {
					want = abs
				}
				checkFloat32s(t, call+" "+o.Name, o.Tensor, []int64{2, 2}, want)
			}
		}
		_, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: x}}, sdk.OutputRequest{Name: "nope"})
		wantCode(t, "Run(unknown output \"nope\")", err, sdk.InvalidInput, "nope")
	})
	t.Run("BadInputs", s.badInputs)
	t.Run("UnknownModel", func(t *testing.T) {
		x, y, _ := addInputs(2, 0)
		_, err := s.c.Run(context.Background(), &sdk.RunRequest{ModelID: "no-such-model", Inputs: []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}}})
		wantCode(t, "Run(unknown model id)", err, sdk.NotFound, "no-such-model")
	})
}

// identity runs one of the Identity models and checks that the input comes back bit for bit.
// These cases go beyond the basic round trip (dynamic output shapes, scalars, empty tensors), so
// a plugin may decline one with an sdk.Unsupported error that says why: the subtest is then
// skipped with the plugin's message. A wrong answer always fails.
func (s *suite) identity(t *testing.T, model string, in *sdk.Tensor, what string) {
	t.Helper()
	m := s.loadModel(t, model)
	call := fmt.Sprintf("Run(Identity %s, %s)", in.Signature(), what)
	res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: in}})
	if err != nil {
		if sdk.CodeOf(err) == sdk.Unsupported && isSDKError(err) {
			t.Skipf("%s: the plugin declines with %s: %v", call, sdk.CodeOf(err), err)
		}
		t.Fatalf("%s: want the input back, got error (%s): %v", call, sdk.CodeOf(err), err)
	}
	if len(res.Outputs) != 1 || res.Outputs[0].Name != "y" {
		t.Fatalf("%s: want one output \"y\", got %v", call, outputNames(res))
	}
	if d := sameTensor(in, res.Outputs[0].Tensor); d != "" {
		t.Errorf("%s: output differs from input: %s", call, d)
	}
}

func (s *suite) badInputs(t *testing.T) {
	x, y, _ := addInputs(2, 0)
	xi, yi := s.add.Inputs[0], s.add.Inputs[1]
	check := func(name string, inputs []sdk.Value, mention []string, sig *sdk.ValueInfo) {
		t.Run(name, func(t *testing.T) {
			_, err := s.runModel(s.add, inputs)
			call := "Run(" + name + ")"
			wantCode(t, call, err, sdk.InvalidInput, mention...)
			if sig != nil {
				wantSignature(t, call, err, *sig)
			}
		})
	}
	i64 := &sdk.Tensor{DType: sdk.Int64, Shape: []int64{2, 3}, Data: make([]byte, 48)}
	check("WrongDType", []sdk.Value{{Name: "x", Tensor: i64}, {Name: "y", Tensor: y}}, []string{"x"}, &xi)
	check("WrongShape", []sdk.Value{{Name: "x", Tensor: float32Tensor([]int64{2, 4}, make([]float32, 8))}, {Name: "y", Tensor: y}}, []string{"x"}, &xi)
	check("WrongRank", []sdk.Value{{Name: "x", Tensor: float32Tensor([]int64{6}, make([]float32, 6))}, {Name: "y", Tensor: y}}, []string{"x"}, &xi)
	check("UnknownInput", []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}, {Name: "nope", Tensor: x}}, []string{"nope"}, &xi)
	check("MissingInput", []sdk.Value{{Name: "x", Tensor: x}}, []string{"y"}, &yi)
	check("DuplicateInput", []sdk.Value{{Name: "x", Tensor: x}, {Name: "x", Tensor: x}, {Name: "y", Tensor: y}}, []string{"x"}, nil)
	short := &sdk.Tensor{DType: sdk.Float32, Shape: []int64{2, 3}, Data: make([]byte, 20)}
	check("DataShorterThanShape", []sdk.Value{{Name: "x", Tensor: short}, {Name: "y", Tensor: y}}, []string{"x"}, nil)
	bad := &sdk.Tensor{DType: sdk.Float32, Shape: []int64{-2, 3}, Data: make([]byte, 24)}
	check("NegativeDimension", []sdk.Value{{Name: "x", Tensor: bad}, {Name: "y", Tensor: y}}, []string{"x"}, nil)
}

func outputNames(res *sdk.RunResult) []string {
	var n []string
	for _, o := range res.Outputs {
		n = append(n, o.Name)
	}
	return n
}

func (s *suite) handles(t *testing.T) {
	x, y, z := addInputs(2, 3)
	keep := func(t *testing.T) string {
		t.Helper()
		res, err := s.runModel(s.add, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}}, sdk.OutputRequest{Name: "z", Keep: true})
		if err != nil {
			t.Fatalf("Run(Add, keep z): got error (%s): %v", sdk.CodeOf(err), err)
		}
		if len(res.Outputs) != 1 || res.Outputs[0].Name != "z" {
			t.Fatalf("Run(Add, keep z): want one output \"z\", got %v", outputNames(res))
		}
		o := res.Outputs[0]
		if o.Handle == "" || o.Tensor != nil {
			t.Fatalf("Run(Add, keep z): want a handle and no inline tensor, got handle %q and tensor %v", o.Handle, o.Tensor != nil)
		}
		return o.Handle
	}
	release := func(hs ...string) error {
		ctx, cancel := withTimeout()
		defer cancel()
		return s.c.Release(ctx, hs)
	}
	t.Run("KeepAndFeedBack", func(t *testing.T) {
		h := keep(t)
		defer release(h)
		want := make([]float32, len(z))
		for i := range z {
			want[i] = z[i] + float32(i)*0.5
		}
		// The handle is used twice: a kept value must survive being an input.
		for round := range 2 {
			res, err := s.runModel(s.add, []sdk.Value{{Name: "x", Handle: h}, {Name: "y", Tensor: y}})
			if err != nil {
				t.Fatalf("Run(Add, x = handle %s, round %d): got error (%s): %v", h, round, sdk.CodeOf(err), err)
			}
			checkFloat32s(t, fmt.Sprintf("Run(Add, x = handle, round %d)", round), res.Outputs[0].Tensor, []int64{2, 3}, want)
		}
	})
	t.Run("KeepOneOfTwo", func(t *testing.T) {
		m := s.loadModel(t, "two_outputs")
		in := float32Tensor([]int64{2, 2}, []float32{1, -2, 3, -4})
		res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: in}}, sdk.OutputRequest{Name: "neg", Keep: true}, sdk.OutputRequest{Name: "abs"})
		if err != nil {
			t.Fatalf("Run(two outputs, keep neg): got error (%s): %v", sdk.CodeOf(err), err)
		}
		if got := outputNames(res); !slices.Equal(got, []string{"neg", "abs"}) {
			t.Fatalf("Run(two outputs, keep neg): want outputs [neg abs], got %v", got)
		}
		if res.Outputs[0].Handle == "" {
			t.Errorf("Run(two outputs, keep neg): want a handle for neg, got none")
		}
		checkFloat32s(t, "Run(two outputs, keep neg): abs", res.Outputs[1].Tensor, []int64{2, 2}, []float32{1, 2, 3, 4})
		// Feed the kept neg back as x: neg(neg) = x, abs(neg) = |x|.
		res2, err := s.runModel(m, []sdk.Value{{Name: "x", Handle: res.Outputs[0].Handle}})
		if err != nil {
			t.Fatalf("Run(two outputs, x = handle of neg): got error (%s): %v", sdk.CodeOf(err), err)
		}
		if len(res2.Outputs) == 2 {
			checkFloat32s(t, "Run(x = handle of neg): neg", res2.Outputs[0].Tensor, []int64{2, 2}, []float32{1, -2, 3, -4})
		}
		_ = release(res.Outputs[0].Handle)
	})
	t.Run("Release", func(t *testing.T) {
		h := keep(t)
		if err := release(h); err != nil {
			t.Fatalf("Release(%s): want no error, got: %v", h, err)
		}
		_, err := s.runModel(s.add, []sdk.Value{{Name: "x", Handle: h}, {Name: "y", Tensor: y}})
		wantCode(t, "Run(x = released handle)", err, sdk.NotFound, h)
		if err := release(h); err != nil {
			t.Errorf("Release(%s) a second time: want no error (unknown handles are ignored), got: %v", h, err)
		}
	})
	t.Run("ReleaseUnknown", func(t *testing.T) {
		if err := release("no-such-handle", ""); err != nil {
			t.Errorf("Release(unknown handles): want no error (unknown handles are ignored), got: %v", err)
		}
	})
	t.Run("UnknownHandle", func(t *testing.T) {
		_, err := s.runModel(s.add, []sdk.Value{{Name: "x", Handle: "no-such-handle"}, {Name: "y", Tensor: y}})
		wantCode(t, "Run(x = unknown handle)", err, sdk.NotFound, "no-such-handle")
	})
}

func (s *suite) unload(t *testing.T) {
	ctx, cancel := withTimeout()
	defer cancel()
	info, err := s.c.Load(ctx, s.loadRequest("add"))
	if err != nil {
		t.Fatalf("Load(%s): got error (%s): %v", s.path("add"), sdk.CodeOf(err), err)
	}
	x, y, _ := addInputs(2, 0)
	res, err := s.runModel(info, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}}, sdk.OutputRequest{Name: "z", Keep: true})
	if err != nil || len(res.Outputs) != 1 || res.Outputs[0].Handle == "" {
		t.Fatalf("Run(Add, keep z): want a handle, got %v, error: %v", res, err)
	}
	h := res.Outputs[0].Handle
	if err := s.c.Unload(ctx, info.ID); err != nil {
		t.Fatalf("Unload(%s): want no error, got (%s): %v", info.ID, sdk.CodeOf(err), err)
	}
	_, err = s.runModel(info, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}})
	wantCode(t, "Run(unloaded model)", err, sdk.NotFound, info.ID)
	// The handles a model's runs kept go with it.
	_, err = s.runModel(s.add, []sdk.Value{{Name: "x", Handle: h}, {Name: "y", Tensor: y}})
	wantCode(t, "Run(x = handle kept by an unloaded model)", err, sdk.NotFound, h)
	if err := s.c.Unload(ctx, info.ID); err != nil && (sdk.CodeOf(err) != sdk.NotFound || !isSDKError(err)) {
		t.Errorf("Unload(%s) a second time: want no error or %q, got (%s): %v", info.ID, sdk.NotFound, sdk.CodeOf(err), err)
	}
	// The other models are untouched.
	if _, err := s.runModel(s.add, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}}); err != nil {
		t.Errorf("Run(another loaded model) after Unload: got error (%s): %v", sdk.CodeOf(err), err)
	}
}

// concurrent runs 20 requests at once with different inputs (and batch sizes, where the plugin
// runs dynamic shapes) and checks each answer against its own input.
func (s *suite) concurrent(t *testing.T) {
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rows := 2
			if s.dynamic() {
				rows = 1 + i%5
			}
			x, y, z := addInputs(rows, float32(i))
			res, err := s.runModel(s.add, []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}})
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("got error (%s): %w", sdk.CodeOf(err), err)
			case len(res.Outputs) != 1:
				errs[i] = fmt.Errorf("want one output, got %v", outputNames(res))
			default:
				errs[i] = checkFloat32sErr(res.Outputs[0].Tensor, []int64{int64(rows), 3}, z)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Run %d of %d: %v", i, n, err)
		}
	}
}

// large sends and receives a 1x3x640x640 float32 tensor (4.9 MB), more than gRPC's default
// 4 MiB message limit.
func (s *suite) large(t *testing.T) {
	m := s.loadModel(t, "big")
	shape := []int64{1, 3, 640, 640}
	n := int(sdk.NumElements(shape))
	xs, want := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i] = float32(i%1000)*0.001 - 0.5
		want[i] = -xs[i]
	}
	res, err := s.runModel(m, []sdk.Value{{Name: "x", Tensor: float32Tensor(shape, xs)}})
	if err != nil {
		t.Fatalf("Run(Neg float32 [1,3,640,640], %d bytes each way): got error (%s): %v", 4*n, sdk.CodeOf(err), err)
	}
	if len(res.Outputs) != 1 {
		t.Fatalf("Run: want one output, got %v", outputNames(res))
	}
	checkFloat32s(t, "Run(Neg float32 [1,3,640,640])", res.Outputs[0].Tensor, shape, want)
}

// stdout starts a second plugin process with its stdout captured, loads and runs a model, stops
// it, and checks that the handshake line was all it wrote.
func (s *suite) stdout(t *testing.T) {
	raw, fwd, err := stdoutCheck(t, s.bin, time.Second, func(c *sdk.Client) error {
		ctx, cancel := withTimeout()
		defer cancel()
		if _, err := c.Describe(ctx); err != nil {
			return fmt.Errorf("calling Describe: %w", err)
		}
		info, err := c.Load(ctx, s.loadRequest("add"))
		if err != nil {
			return fmt.Errorf("calling Load: %w", err)
		}
		x, y, _ := addInputs(2, 0)
		if _, err := c.Run(ctx, &sdk.RunRequest{ModelID: info.ID, Inputs: []sdk.Value{{Name: "x", Tensor: x}, {Name: "y", Tensor: y}}}); err != nil {
			return fmt.Errorf("calling Run: %w", err)
		}
		// A failing call too: errors must not be printed to stdout either.
		_, _ = c.Load(ctx, &sdk.LoadRequest{ModelPath: filepath.Join(s.dir, "corrupt.onnx")})
		return c.Unload(ctx, info.ID)
	})
	if err != nil {
		t.Fatalf("driving the plugin with stdout captured: %v (stdout so far: %q)", err, raw)
	}
	lines := strings.Split(strings.TrimRight(raw, "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("plugin stdout: want only the go-plugin handshake line, got %d lines: %q", len(lines), raw)
	}
	if fwd != "" {
		t.Errorf("plugin wrote to os.Stdout after the handshake (go-plugin forwards it to the host, which drops it; log to stderr instead): %q", fwd)
	}
}
