package sdk

import (
	"context"
	"time"
)

// ProtocolVersion is the major version of the executor protocol. The host refuses plugins that
// speak another major version, naming both versions.
const ProtocolVersion = 1

// Executor is what a backend plugin implements: load ONNX graphs and run tensors on its devices.
// Methods may be called concurrently; Run in particular is called from many goroutines at once.
//
// Problems the caller caused (bad input, unknown model id) are returned as *Error with the
// matching [ErrorCode] so that the host can tell them from backend failures.
type Executor interface {
	// Describe reports the plugin, its runtime and devices. It must not fail because the
	// backend cannot run here: it says so in Description.UnavailableReason instead.
	Describe(ctx context.Context) (*Description, error)
	// Load prepares a model file for running and returns its id and signature.
	Load(ctx context.Context, req *LoadRequest) (*ModelInfo, error)
	// Run executes a loaded model.
	Run(ctx context.Context, req *RunRequest) (*RunResult, error)
	// Release frees tensors that an earlier Run kept as handles. Unknown handles are ignored.
	Release(ctx context.Context, handles []string) error
	// Unload frees a model and every handle its runs kept.
	Unload(ctx context.Context, modelID string) error
}

// DeviceKind says what sort of processor a device is.
type DeviceKind string

// The device kinds.
const (
	CPU DeviceKind = "cpu"
	GPU DeviceKind = "gpu"
	NPU DeviceKind = "npu"
)

// Device is one processor a backend can run on.
type Device struct {
	ID          string
	Name        string
	Kind        DeviceKind
	MemoryBytes uint64
	// Arch is the architecture, e.g. "x86_64", "sm_90", "gfx942".
	Arch string
	FP16 bool
	BF16 bool
	Int8 bool
}

// Capabilities says what a backend can do beyond running fixed-shape float32 graphs.
type Capabilities struct {
	// DynamicShapes is false for backends that compile for fixed input shapes only.
	DynamicShapes bool
	// DTypes lists the tensor element types the backend accepts.
	DTypes []DType
	// DeviceResidentOutputs is true when outputs kept as handles stay in device memory.
	DeviceResidentOutputs bool
	// CompileCache is true when LoadRequest.CacheDir is used to cache compiled models.
	CompileCache bool
}

// Description is a plugin's answer to Describe.
type Description struct {
	PluginName     string
	PluginVersion  string
	Runtime        string
	RuntimeVersion string
	// ProtocolVersion is filled in by the SDK.
	ProtocolVersion int
	Devices         []Device
	Capabilities    Capabilities
	// UnavailableReason is empty when the backend can run on this machine, otherwise it says
	// precisely why not, in words a user can act on ("libcuda.so.1 not found: install the
	// NVIDIA driver").
	UnavailableReason string
}

// LoadRequest asks a backend to load one ONNX model file.
type LoadRequest struct {
	ModelPath string
	// Options are backend-specific settings from the host's config file.
	Options map[string]string
	// StaticShapes fixes input shapes for backends that compile for fixed shapes.
	StaticShapes map[string][]int64
	// CacheDir is where a backend may cache compiled or optimized models.
	CacheDir string
	DeviceID string
}

// ValueInfo describes one model input or output. Dynamic dimensions are -1.
type ValueInfo struct {
	Name     string
	DType    DType
	Shape    []int64
	DimNames []string
}

// ModelInfo is the answer to Load.
type ModelInfo struct {
	ID       string
	Inputs   []ValueInfo
	Outputs  []ValueInfo
	LoadTime time.Duration
	CacheHit bool
}

// Value is a named tensor, given inline or as a handle to a tensor that a previous Run kept in
// the plugin. Exactly one of Tensor and Handle is set.
type Value struct {
	Name   string
	Tensor *Tensor
	Handle string
}

// OutputRequest names one wanted output. Keep asks the plugin to keep the tensor and return a
// handle (for KV caches and other state that feeds the next step) instead of the data.
type OutputRequest struct {
	Name string
	Keep bool
}

// RunRequest runs a loaded model. An empty Outputs list returns every output inline.
type RunRequest struct {
	ModelID string
	Inputs  []Value
	Outputs []OutputRequest
}

// Timings breaks a Run down as the plugin saw it.
type Timings struct {
	Decode time.Duration
	Run    time.Duration
	Encode time.Duration
}

// RunResult holds the outputs in the order requested.
type RunResult struct {
	Outputs []Value
	Timings Timings
}

// Output returns the named output, or nil.
func (r *RunResult) Output(name string) *Value {
	for i := range r.Outputs {
		if r.Outputs[i].Name == name {
			return &r.Outputs[i]
		}
	}
	return nil
}
