package ortexec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/go-hclog"
	"github.com/hfhost/hfhost/sdk"
	ort "github.com/yalue/onnxruntime_go"
)

// Config is what a backend plugin tells the shared executor.
type Config struct {
	// PluginName and PluginVersion are reported by Describe.
	PluginName    string
	PluginVersion string
	// LibraryPath is the ONNX Runtime shared library; empty means $HFHOST_ORT_LIB, then the
	// project's cache, then system paths.
	LibraryPath string
	// Detect finds the devices this backend can use. It returns a non-empty reason when the
	// backend cannot run here. It is called by every Describe, after the runtime initialised.
	Detect func() (devices []sdk.Device, unavailableReason string)
	// Providers appends the backend's execution providers to new session options. Nil means
	// ONNX Runtime's CPU provider only.
	Providers func(opts *ort.SessionOptions, req *sdk.LoadRequest) error
	// Capabilities are reported by Describe; DTypes defaults to every dtype the CPU provider
	// handles.
	Capabilities sdk.Capabilities
	Logger       hclog.Logger
}

// Executor implements sdk.Executor on ONNX Runtime.
type Executor struct {
	cfg Config
	log hclog.Logger

	mu      sync.RWMutex
	models  map[string]*model
	handles map[string]*kept
}

type model struct {
	id      string
	session *ort.DynamicAdvancedSession
	inputs  []sdk.ValueInfo
	outputs []sdk.ValueInfo
	inIdx   map[string]int
	outIdx  map[string]int
	// noShmOutputs is set once pre-allocating outputs in shared memory made a run fail (an
	// output's declared shape is not what the model computes); later runs skip it.
	noShmOutputs atomic.Bool
}

type kept struct {
	modelID string
	value   ort.Value
}

var _ sdk.Executor = (*Executor)(nil)

// New returns an executor. The runtime library is loaded on first use, so that Describe can
// report a missing library as the reason the backend is unavailable instead of failing.
func New(cfg Config) *Executor {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Capabilities.DTypes == nil {
		cfg.Capabilities.DTypes = []sdk.DType{sdk.Float32, sdk.Float64, sdk.Float16, sdk.BFloat16, sdk.Int8, sdk.Int16, sdk.Int32, sdk.Int64,
			sdk.Uint8, sdk.Uint16, sdk.Uint32, sdk.Uint64, sdk.Bool, sdk.String}
	}
	return &Executor{cfg: cfg, log: cfg.Logger, models: map[string]*model{}, handles: map[string]*kept{}}
}

// Describe implements sdk.Executor.
func (e *Executor) Describe(_ context.Context) (*sdk.Description, error) {
	d := &sdk.Description{
		PluginName: e.cfg.PluginName, PluginVersion: e.cfg.PluginVersion, Runtime: "onnxruntime",
		Capabilities: e.cfg.Capabilities,
	}
	version, err := initRuntime(e.cfg.LibraryPath)
	if err != nil {
		d.UnavailableReason = err.Error()
		return d, nil
	}
	d.RuntimeVersion = version
	if e.cfg.Detect != nil {
		d.Devices, d.UnavailableReason = e.cfg.Detect()
	}
	return d, nil
}

// Load implements sdk.Executor. Options (all optional): intra_op_threads, inter_op_threads,
// graph_optimization (disable|basic|extended|all), execution_mode (sequential|parallel),
// optimized_model_cache (true|false, needs CacheDir).
func (e *Executor) Load(_ context.Context, req *sdk.LoadRequest) (*sdk.ModelInfo, error) {
	start := time.Now()
	if _, err := initRuntime(e.cfg.LibraryPath); err != nil {
		return nil, &sdk.Error{Code: sdk.Unavailable, Message: err.Error()}
	}
	st, err := os.Stat(req.ModelPath)
	if err != nil {
		return nil, sdk.Errorf(sdk.NotFound, "model file %s: %v", req.ModelPath, errors.Unwrap(err))
	}
	if st.IsDir() {
		return nil, sdk.Errorf(sdk.NotFound, "model path %s is a directory; give the .onnx file inside it", req.ModelPath)
	}
	opts, err := e.sessionOptions(req)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()

	path, cacheHit, err := optimizedModelPath(req, opts)
	if err != nil {
		return nil, err
	}
	inputs, outputs, err := ort.GetInputOutputInfoWithOptions(path, opts)
	if err != nil {
		return nil, sdk.Errorf(sdk.InvalidModel, "cannot load %s as an ONNX model: %v", req.ModelPath, err)
	}
	m := &model{inIdx: map[string]int{}, outIdx: map[string]int{}}
	var inNames, outNames []string
	for _, io := range inputs {
		if io.OrtValueType != ort.ONNXTypeTensor {
			return nil, sdk.Errorf(sdk.Unsupported, "model input %q is a %s; only tensor inputs are supported", io.Name, io.OrtValueType)
		}
		m.inIdx[io.Name] = len(m.inputs)
		m.inputs = append(m.inputs, valueInfo(io))
		inNames = append(inNames, io.Name)
	}
	for _, io := range outputs {
		m.outIdx[io.Name] = len(m.outputs)
		m.outputs = append(m.outputs, valueInfo(io))
		outNames = append(outNames, io.Name)
	}
	m.session, err = ort.NewDynamicAdvancedSession(path, inNames, outNames, opts)
	if err != nil {
		return nil, sdk.Errorf(sdk.InvalidModel, "creating an ONNX Runtime session for %s: %v", req.ModelPath, err)
	}
	m.id = strings.TrimSuffix(filepath.Base(req.ModelPath), ".onnx") + "-" + randomID()
	e.mu.Lock()
	e.models[m.id] = m
	e.mu.Unlock()
	e.log.Info("model loaded", "model", req.ModelPath, "id", m.id, "inputs", len(m.inputs), "outputs", len(m.outputs), "cache_hit", cacheHit)
	return &sdk.ModelInfo{ID: m.id, Inputs: m.inputs, Outputs: m.outputs, LoadTime: time.Since(start), CacheHit: cacheHit}, nil
}

func (e *Executor) sessionOptions(req *sdk.LoadRequest) (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	fail := func(err error) (*ort.SessionOptions, error) { opts.Destroy(); return nil, err }
	if err := applyOptions(opts, req.Options); err != nil {
		return fail(err)
	}
	if e.cfg.Providers != nil {
		if err := e.cfg.Providers(opts, req); err != nil {
			return fail(sdk.Errorf(sdk.Unavailable, "configuring %s execution provider: %v", e.cfg.PluginName, err))
		}
	}
	return opts, nil
}

// Run implements sdk.Executor.
func (e *Executor) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResult, error) {
	e.mu.RLock()
	m := e.models[req.ModelID]
	e.mu.RUnlock()
	if m == nil {
		return nil, sdk.Errorf(sdk.NotFound, "no loaded model with id %q (it was unloaded, or the plugin restarted): load the model again", req.ModelID)
	}
	var res sdk.RunResult
	t0 := time.Now()
	inputs, owned, err := e.inputValues(m, req.Inputs)
	defer func() {
		for _, v := range owned {
			v.Destroy()
		}
	}()
	if err != nil {
		return nil, err
	}
	if len(m.inputs) == 0 {
		// onnxruntime_go v1.35 indexes the input list unconditionally and would panic.
		return nil, sdk.Errorf(sdk.Unsupported, "model %s has no inputs; onnxruntime_go v1.35 cannot run such a model", m.id)
	}
	wanted, err := m.wantedOutputs(req.Outputs)
	if err != nil {
		return nil, err
	}
	outputs := make([]ort.Value, len(m.outputs))
	returned := make([]bool, len(m.outputs)) // wanted and sent back, never kept as a handle
	for _, w := range wanted {
		returned[w.index] = !w.keep
	}
	for _, w := range wanted {
		if w.keep {
			returned[w.index] = false
		}
	}
	// allocate pre-allocates the outputs that must or may be (see the cases); usedShm reports
	// whether any of them lives in shared memory.
	allocate := func(useShm bool) (usedShm bool, err error) {
		for i, o := range m.outputs {
			// Inside a plugin whose host offered shared memory, large outputs of known shape are
			// written by ONNX Runtime straight into it (sdk.OutputBuffer), so that they cross the
			// process boundary without a copy. Only for outputs this call returns: the memory is
			// gone once Run has returned, so it cannot back a kept handle.
			var shm []byte
			if useShm && returned[i] && len(o.Shape) > 0 && static(o.Shape) && o.DType.Size() > 0 {
				shm = sdk.OutputBuffer(ctx, int(sdk.NumElements(o.Shape))*o.DType.Size())
			}
			var v ort.Value
			switch {
			case shm != nil:
				v, err = ort.NewCustomDataTensor(ort.NewShape(o.Shape...), shm, ort.TensorElementDataType(o.DType))
				usedShm = true
			case len(o.Shape) == 0 && o.DType != sdk.String:
				// onnxruntime_go cannot wrap rank-0 outputs that ONNX Runtime allocates.
				v, err = newScalar(o.DType, nil)
			case (o.DType == sdk.Float16 || o.DType == sdk.BFloat16) && static(o.Shape):
				// onnxruntime_go copies float16/bfloat16 outputs it allocates with one byte per
				// element; pre-allocating them with the right size avoids that when the shape is known.
				v, err = ort.NewCustomDataTensor(ort.NewShape(o.Shape...), make([]byte, max(1, 2*sdk.NumElements(o.Shape))), ort.TensorElementDataType(o.DType))
			default:
				continue
			}
			if err != nil {
				for _, v := range outputs[:i] {
					if v != nil {
						v.Destroy()
					}
				}
				clear(outputs)
				return false, fmt.Errorf("allocating output %q: %w", o.Name, err)
			}
			outputs[i] = v
		}
		return usedShm, nil
	}
	usedShm, err := allocate(!m.noShmOutputs.Load())
	if err != nil {
		return nil, err
	}
	res.Timings.Decode = time.Since(t0)

	t1 := time.Now()
	runOpts, err := ort.NewRunOptions()
	if err != nil {
		return nil, fmt.Errorf("creating run options: %w", err)
	}
	defer runOpts.Destroy()
	// Cancel the run when the caller gives up. The watcher must be gone before runOpts is
	// destroyed, or a late Terminate would touch freed memory.
	done, watcherGone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watcherGone)
		select {
		case <-ctx.Done():
			_ = runOpts.Terminate()
		case <-done:
		}
	}()
	err = m.session.RunWithOptions(inputs, outputs, runOpts)
	if err != nil && usedShm && ctx.Err() == nil {
		// A model whose declared output shape is not the shape it computes runs when ONNX
		// Runtime allocates the output, but fails when the output was pre-allocated in shared
		// memory with the declared shape: run once more the ordinary way.
		for _, v := range outputs {
			if v != nil && !reflect.ValueOf(v).IsNil() {
				v.Destroy()
			}
		}
		clear(outputs)
		if _, aerr := allocate(false); aerr != nil {
			err = aerr
		} else if err = m.session.RunWithOptions(inputs, outputs, runOpts); err == nil {
			m.noShmOutputs.Store(true) // and not try again for this model
		}
	}
	close(done)
	<-watcherGone
	if err != nil {
		for _, v := range outputs {
			// A failed conversion leaves a typed nil pointer behind; destroying it would panic.
			if v != nil && !reflect.ValueOf(v).IsNil() {
				v.Destroy()
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run of %s cancelled: %w", m.id, ctx.Err())
		}
		if strings.Contains(err.Error(), "Error creating tensor from ort") {
			// onnxruntime_go fails to wrap some outputs that ONNX Runtime allocated itself:
			// float16/bfloat16 of dynamic shape (it copies one byte per element) and rank 0.
			return nil, sdk.Errorf(sdk.Unsupported, "running %s: onnxruntime_go v1.35 cannot read back an output (float16/bfloat16 outputs of dynamic shape and rank-0 outputs of undeclared shape are not supported): %v", m.id, err)
		}
		return nil, sdk.Errorf(sdk.Internal, "running %s: %v", m.id, err)
	}
	res.Timings.Run = time.Since(t1)

	t2 := time.Now()
	defer func() {
		// Destroy every output that was neither kept nor already destroyed.
		for _, v := range outputs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for _, w := range wanted {
		v := outputs[w.index]
		name := m.outputs[w.index].Name
		if w.keep {
			h := "h-" + randomID()
			e.mu.Lock()
			e.handles[h] = &kept{modelID: m.id, value: v}
			e.mu.Unlock()
			outputs[w.index] = nil
			res.Outputs = append(res.Outputs, sdk.Value{Name: name, Handle: h})
			continue
		}
		t, err := toTensor(v, m.outputs[w.index])
		if err != nil {
			return nil, err
		}
		res.Outputs = append(res.Outputs, sdk.Value{Name: name, Tensor: t})
	}
	res.Timings.Encode = time.Since(t2)
	return &res, nil
}

type wantedOutput struct {
	index int
	keep  bool
}

func (m *model) wantedOutputs(reqs []sdk.OutputRequest) ([]wantedOutput, error) {
	if len(reqs) == 0 {
		all := make([]wantedOutput, len(m.outputs))
		for i := range all {
			all[i].index = i
		}
		return all, nil
	}
	var w []wantedOutput
	for _, r := range reqs {
		i, ok := m.outIdx[r.Name]
		if !ok {
			return nil, sdk.Errorf(sdk.InvalidInput, "model %s has no output %q; its outputs are %s", m.id, r.Name, names(m.outputs))
		}
		w = append(w, wantedOutput{index: i, keep: r.Keep})
	}
	return w, nil
}

// inputValues checks the request's inputs against the model signature and wraps them as ONNX
// Runtime values without copying their data. owned lists the values to destroy after the run.
func (e *Executor) inputValues(m *model, in []sdk.Value) (values []ort.Value, owned []ort.Value, err error) {
	values = make([]ort.Value, len(m.inputs))
	for _, v := range in {
		i, ok := m.inIdx[v.Name]
		if !ok {
			return nil, owned, sdk.Errorf(sdk.InvalidInput, "model %s has no input %q; its inputs are %s", m.id, v.Name, names(m.inputs))
		}
		if values[i] != nil {
			return nil, owned, sdk.Errorf(sdk.InvalidInput, "input %q given twice", v.Name)
		}
		want := m.inputs[i]
		if v.Tensor == nil {
			e.mu.RLock()
			k := e.handles[v.Handle]
			e.mu.RUnlock()
			if k == nil {
				return nil, owned, sdk.Errorf(sdk.NotFound, "input %q refers to handle %q, which does not exist (released, or the plugin restarted)", v.Name, v.Handle)
			}
			values[i] = k.value
			continue
		}
		t := v.Tensor
		if err := t.Validate(); err != nil {
			return nil, owned, sdk.Errorf(sdk.InvalidInput, "input %q: %v", v.Name, err)
		}
		if t.DType != want.DType || !shapeFits(want.Shape, t.Shape) {
			return nil, owned, sdk.Errorf(sdk.InvalidInput, "model input %q wants %s %s, got %s", v.Name, want.DType, sdk.FormatShape(want.Shape), t.Signature())
		}
		ov, err := toValue(t)
		if err != nil {
			return nil, owned, fmt.Errorf("input %q: %w", v.Name, err)
		}
		owned = append(owned, ov)
		values[i] = ov
	}
	var missing []string
	for i, v := range values {
		if v == nil {
			missing = append(missing, fmt.Sprintf("%q (%s %s)", m.inputs[i].Name, m.inputs[i].DType, sdk.FormatShape(m.inputs[i].Shape)))
		}
	}
	if len(missing) > 0 {
		return nil, owned, sdk.Errorf(sdk.InvalidInput, "model %s is missing input %s", m.id, strings.Join(missing, ", "))
	}
	return values, owned, nil
}

// Release implements sdk.Executor.
func (e *Executor) Release(_ context.Context, handles []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, h := range handles {
		if k := e.handles[h]; k != nil {
			k.value.Destroy()
			delete(e.handles, h)
		}
	}
	return nil
}

// Unload implements sdk.Executor.
func (e *Executor) Unload(_ context.Context, modelID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.models[modelID]
	if m == nil {
		return sdk.Errorf(sdk.NotFound, "no loaded model with id %q", modelID)
	}
	for h, k := range e.handles {
		if k.modelID == modelID {
			k.value.Destroy()
			delete(e.handles, h)
		}
	}
	delete(e.models, modelID)
	return m.session.Destroy()
}

func valueInfo(io ort.InputOutputInfo) sdk.ValueInfo {
	shape := make([]int64, len(io.Dimensions))
	copy(shape, io.Dimensions)
	return sdk.ValueInfo{Name: io.Name, DType: sdk.DType(io.DataType), Shape: shape}
}

// shapeFits reports whether got satisfies the model's declared shape (-1 matches anything).
func shapeFits(want, got []int64) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] >= 0 && want[i] != got[i] {
			return false
		}
	}
	return true
}

func static(shape []int64) bool {
	for _, d := range shape {
		if d < 0 {
			return false
		}
	}
	return true
}

func names(vs []sdk.ValueInfo) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%q (%s %s)", v.Name, v.DType, sdk.FormatShape(v.Shape))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// toValue wraps a tensor's bytes as an ONNX Runtime value. The value aliases t.Data.
func toValue(t *sdk.Tensor) (ort.Value, error) {
	if len(t.Shape) == 0 {
		// onnxruntime_go's tensors need at least one dimension; rank 0 has its own type.
		return newScalar(t.DType, t.Data)
	}
	shape := ort.NewShape(t.Shape...)
	if t.DType == sdk.String {
		st, err := ort.NewStringTensor(shape)
		if err != nil {
			return nil, err
		}
		if err := st.SetContents(t.Strings); err != nil {
			st.Destroy()
			return nil, err
		}
		return st, nil
	}
	data := t.Data
	if len(data) == 0 {
		// ONNX Runtime accepts empty tensors, onnxruntime_go wants at least one byte to point at.
		data = make([]byte, 1)
	}
	return ort.NewCustomDataTensor(shape, data, ort.TensorElementDataType(t.DType))
}

// toTensor copies an ONNX Runtime output into an sdk.Tensor.
func toTensor(v ort.Value, info sdk.ValueInfo) (*sdk.Tensor, error) {
	shape := []int64(v.GetShape())
	dt := sdk.DType(v.DataType())
	t := &sdk.Tensor{DType: dt, Shape: shape}
	switch x := v.(type) {
	case *ort.StringTensor:
		s, err := x.GetContents()
		if err != nil {
			return nil, fmt.Errorf("reading string output %q: %w", info.Name, err)
		}
		t.Strings = s
		return t, nil
	case *ort.CustomDataTensor:
		t.Data = x.GetData()
	case *ort.Scalar[float32]:
		t.Data = bytesOf([]float32{x.GetData()})
	case *ort.Scalar[float64]:
		t.Data = bytesOf([]float64{x.GetData()})
	case *ort.Scalar[int8]:
		t.Data = bytesOf([]int8{x.GetData()})
	case *ort.Scalar[uint8]:
		t.Data = bytesOf([]uint8{x.GetData()})
	case *ort.Scalar[int16]:
		t.Data = bytesOf([]int16{x.GetData()})
	case *ort.Scalar[uint16]:
		t.Data = bytesOf([]uint16{x.GetData()})
	case *ort.Scalar[int32]:
		t.Data = bytesOf([]int32{x.GetData()})
	case *ort.Scalar[uint32]:
		t.Data = bytesOf([]uint32{x.GetData()})
	case *ort.Scalar[int64]:
		t.Data = bytesOf([]int64{x.GetData()})
	case *ort.Scalar[uint64]:
		t.Data = bytesOf([]uint64{x.GetData()})
	case *ort.Scalar[bool]:
		t.Data = bytesOf([]bool{x.GetData()})
	case *ort.Tensor[float32]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[float64]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[int8]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[uint8]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[int16]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[uint16]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[int32]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[uint32]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[int64]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[uint64]:
		t.Data = bytesOf(x.GetData())
	case *ort.Tensor[bool]:
		t.Data = bytesOf(x.GetData())
	default:
		return nil, sdk.Errorf(sdk.Unsupported, "output %q is a %s; only tensor outputs are supported", info.Name, v.GetONNXType())
	}
	if !dt.Valid() {
		return nil, sdk.Errorf(sdk.Unsupported, "output %q has element type %s, which hfhost does not carry", info.Name, ort.TensorElementDataType(dt))
	}
	if err := t.Validate(); err != nil {
		// onnxruntime_go copies float16/bfloat16 outputs it allocated itself with one byte per
		// element; this happens for such outputs with a dynamic shape.
		return nil, sdk.Errorf(sdk.Unsupported, "output %q (%s, dynamic shape %s) cannot be read back intact through onnxruntime_go v1.35: %v", info.Name, dt, sdk.FormatShape(info.Shape), err)
	}
	return t, nil
}

// newScalar makes a rank-0 value of dtype dt holding data (zero when data is nil).
func newScalar(dt sdk.DType, data []byte) (ort.Value, error) {
	switch dt {
	case sdk.Float32:
		return scalarOf[float32](data)
	case sdk.Float64:
		return scalarOf[float64](data)
	case sdk.Int8:
		return scalarOf[int8](data)
	case sdk.Uint8:
		return scalarOf[uint8](data)
	case sdk.Int16:
		return scalarOf[int16](data)
	case sdk.Uint16:
		return scalarOf[uint16](data)
	case sdk.Int32:
		return scalarOf[int32](data)
	case sdk.Uint32:
		return scalarOf[uint32](data)
	case sdk.Int64:
		return scalarOf[int64](data)
	case sdk.Uint64:
		return scalarOf[uint64](data)
	case sdk.Bool:
		return scalarOf[bool](data)
	}
	return nil, sdk.Errorf(sdk.Unsupported, "%s scalars (rank-0 tensors) cannot cross onnxruntime_go v1.35; give the value shape [1] in the model instead", dt)
}

func scalarOf[T ort.TensorData](data []byte) (ort.Value, error) {
	var v T
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v)), data)
	return ort.NewScalar(v)
}

// bytesOf reinterprets a slice's memory as bytes without copying. The Go slice returned by
// onnxruntime_go is already a copy that nothing else references.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}
