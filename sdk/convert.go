package sdk

import (
	"errors"
	"time"

	pb "github.com/hfhost/hfhost/sdk/internal/proto/executorv1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Conversions between the public SDK types and the generated executor/v1 messages. Tensor data
// is aliased, not copied: a message and the Tensor made from it share their bytes.

func tensorToProto(t *Tensor) *pb.Tensor {
	return &pb.Tensor{Dtype: pb.DType(t.DType), Shape: t.Shape, Data: t.Data, Strings: t.Strings}
}

func tensorFromProto(t *pb.Tensor) *Tensor {
	return &Tensor{DType: DType(t.GetDtype()), Shape: t.GetShape(), Data: t.GetData(), Strings: t.GetStrings()}
}

func valuesToProto(vs []Value) []*pb.NamedValue {
	out := make([]*pb.NamedValue, len(vs))
	for i, v := range vs {
		nv := &pb.NamedValue{Name: v.Name}
		if v.Tensor != nil {
			nv.Value = &pb.NamedValue_Tensor{Tensor: tensorToProto(v.Tensor)}
		} else {
			nv.Value = &pb.NamedValue_Handle{Handle: v.Handle}
		}
		out[i] = nv
	}
	return out
}

func valuesFromProto(vs []*pb.NamedValue) []Value {
	out := make([]Value, len(vs))
	for i, v := range vs {
		out[i] = Value{Name: v.GetName(), Handle: v.GetHandle()}
		if t := v.GetTensor(); t != nil {
			out[i].Tensor = tensorFromProto(t)
		}
	}
	return out
}

func valueInfosToProto(vs []ValueInfo) []*pb.ValueInfo {
	out := make([]*pb.ValueInfo, len(vs))
	for i, v := range vs {
		out[i] = &pb.ValueInfo{Name: v.Name, Dtype: pb.DType(v.DType), Shape: v.Shape, DimNames: v.DimNames}
	}
	return out
}

func valueInfosFromProto(vs []*pb.ValueInfo) []ValueInfo {
	out := make([]ValueInfo, len(vs))
	for i, v := range vs {
		out[i] = ValueInfo{Name: v.GetName(), DType: DType(v.GetDtype()), Shape: v.GetShape(), DimNames: v.GetDimNames()}
	}
	return out
}

func descriptionToProto(d *Description) *pb.DescribeResponse {
	r := &pb.DescribeResponse{
		PluginName: d.PluginName, PluginVersion: d.PluginVersion, Runtime: d.Runtime,
		RuntimeVersion: d.RuntimeVersion, ProtocolVersion: ProtocolVersion,
		UnavailableReason: d.UnavailableReason,
		Capabilities: &pb.Capabilities{
			DynamicShapes: d.Capabilities.DynamicShapes, DeviceResidentOutputs: d.Capabilities.DeviceResidentOutputs,
			CompileCache: d.Capabilities.CompileCache,
		},
	}
	for _, dt := range d.Capabilities.DTypes {
		r.Capabilities.Dtypes = append(r.Capabilities.Dtypes, pb.DType(dt))
	}
	for _, dev := range d.Devices {
		r.Devices = append(r.Devices, &pb.Device{
			Id: dev.ID, Name: dev.Name, Kind: deviceKindToProto(dev.Kind), MemoryBytes: dev.MemoryBytes,
			Arch: dev.Arch, Fp16: dev.FP16, Bf16: dev.BF16, Int8: dev.Int8,
		})
	}
	return r
}

func descriptionFromProto(r *pb.DescribeResponse) *Description {
	d := &Description{
		PluginName: r.GetPluginName(), PluginVersion: r.GetPluginVersion(), Runtime: r.GetRuntime(),
		RuntimeVersion: r.GetRuntimeVersion(), ProtocolVersion: int(r.GetProtocolVersion()),
		UnavailableReason: r.GetUnavailableReason(),
	}
	if c := r.GetCapabilities(); c != nil {
		d.Capabilities = Capabilities{DynamicShapes: c.GetDynamicShapes(), DeviceResidentOutputs: c.GetDeviceResidentOutputs(), CompileCache: c.GetCompileCache()}
		for _, dt := range c.GetDtypes() {
			d.Capabilities.DTypes = append(d.Capabilities.DTypes, DType(dt))
		}
	}
	for _, dev := range r.GetDevices() {
		d.Devices = append(d.Devices, Device{
			ID: dev.GetId(), Name: dev.GetName(), Kind: deviceKindFromProto(dev.GetKind()), MemoryBytes: dev.GetMemoryBytes(),
			Arch: dev.GetArch(), FP16: dev.GetFp16(), BF16: dev.GetBf16(), Int8: dev.GetInt8(),
		})
	}
	return d
}

func deviceKindToProto(k DeviceKind) pb.DeviceKind {
	switch k {
	case CPU:
		return pb.DeviceKind_DEVICE_KIND_CPU
	case GPU:
		return pb.DeviceKind_DEVICE_KIND_GPU
	case NPU:
		return pb.DeviceKind_DEVICE_KIND_NPU
	}
	return pb.DeviceKind_DEVICE_KIND_UNSPECIFIED
}

func deviceKindFromProto(k pb.DeviceKind) DeviceKind {
	switch k {
	case pb.DeviceKind_DEVICE_KIND_CPU:
		return CPU
	case pb.DeviceKind_DEVICE_KIND_GPU:
		return GPU
	case pb.DeviceKind_DEVICE_KIND_NPU:
		return NPU
	}
	return ""
}

func durationFromMicros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// errorDomain marks gRPC statuses that carry an sdk.Error, as opposed to transport failures.
const errorDomain = "hfhost.executor"

var codeReasons = map[ErrorCode]string{
	Internal: "INTERNAL", InvalidInput: "INVALID_INPUT", NotFound: "NOT_FOUND",
	InvalidModel: "INVALID_MODEL", Unavailable: "UNAVAILABLE", Unsupported: "UNSUPPORTED",
}

var grpcCodes = map[ErrorCode]codes.Code{
	Internal: codes.Internal, InvalidInput: codes.InvalidArgument, NotFound: codes.NotFound,
	InvalidModel: codes.InvalidArgument, Unavailable: codes.FailedPrecondition, Unsupported: codes.Unimplemented,
}

// errorToStatus turns an executor error into a gRPC status that keeps its code.
func errorToStatus(err error) error {
	if err == nil {
		return nil
	}
	code := CodeOf(err)
	st := status.New(grpcCodes[code], err.Error())
	if withInfo, e := st.WithDetails(&errdetails.ErrorInfo{Domain: errorDomain, Reason: codeReasons[code]}); e == nil {
		st = withInfo
	}
	return st.Err()
}

// errorFromStatus restores an *Error from a status made by errorToStatus. Other errors (the
// plugin process died, the connection broke, the context ended) are returned unchanged so that
// the host can tell a backend crash from a user error.
func errorFromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return errors.Join(ErrTransport, err)
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != errorDomain {
			continue
		}
		for code, reason := range codeReasons {
			if reason == info.GetReason() {
				return &Error{Code: code, Message: st.Message()}
			}
		}
	}
	return errors.Join(ErrTransport, err)
}

// ErrTransport marks an error that did not come from the executor itself: the plugin process
// exited, the connection broke, or the call timed out.
var ErrTransport = errors.New("plugin transport failure")
