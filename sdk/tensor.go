package sdk

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// DType is a tensor element type. The values are ONNX TensorProto.DataType numbers.
type DType int32

// The element types a tensor can have.
const (
	Invalid  DType = 0
	Float32  DType = 1
	Uint8    DType = 2
	Int8     DType = 3
	Uint16   DType = 4
	Int16    DType = 5
	Int32    DType = 6
	Int64    DType = 7
	String   DType = 8
	Bool     DType = 9
	Float16  DType = 10
	Float64  DType = 11
	Uint32   DType = 12
	Uint64   DType = 13
	BFloat16 DType = 16
)

var dtypeNames = map[DType]string{
	Float32: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", Float16: "float16",
	Float64: "float64", Uint32: "uint32", Uint64: "uint64", BFloat16: "bfloat16",
}

// String returns the lower-case name of the type, e.g. "float32".
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Size is the number of bytes one element takes, or 0 for String and unknown types.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64:
		return 8
	}
	return 0
}

// Valid reports whether d is one of the element types above.
func (d DType) Valid() bool { _, ok := dtypeNames[d]; return ok }

// Tensor is a dense tensor in row-major order. Numeric data is held as little-endian bytes so
// that it crosses the plugin boundary without conversion; String tensors use Strings instead.
type Tensor struct {
	DType   DType
	Shape   []int64
	Data    []byte
	Strings []string
}

// NumElements is the product of the shape's dimensions (1 for a scalar).
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Validate checks that the data length matches dtype and shape.
func (t *Tensor) Validate() error {
	if !t.DType.Valid() {
		return fmt.Errorf("tensor has unknown dtype %d", int32(t.DType))
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor shape %v has a negative dimension", t.Shape)
		}
	}
	n := NumElements(t.Shape)
	if t.DType == String {
		if int64(len(t.Strings)) != n {
			return fmt.Errorf("string tensor of shape %v needs %d strings, has %d", t.Shape, n, len(t.Strings))
		}
		return nil
	}
	if want := n * int64(t.DType.Size()); int64(len(t.Data)) != want {
		return fmt.Errorf("%s tensor of shape %v needs %d bytes, has %d", t.DType, t.Shape, want, len(t.Data))
	}
	return nil
}

// Signature describes the tensor as "float32 [1,3,224,224]" for error messages.
func (t *Tensor) Signature() string { return fmt.Sprintf("%s %s", t.DType, FormatShape(t.Shape)) }

// FormatShape writes a shape as "[1,3,-1]".
func FormatShape(shape []int64) string {
	b := []byte{'['}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", d)
	}
	return string(append(b, ']'))
}

// Numeric is the set of Go types that map one-to-one onto a tensor element type.
// Float16 and BFloat16 tensors are handled as their raw uint16 bits via [Float16Bits] and
// [BFloat16Bits].
type Numeric interface {
	~float32 | ~float64 | ~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~bool
}

// DTypeOf returns the element type for Go type T.
func DTypeOf[T Numeric]() DType {
	var v T
	switch any(v).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int8:
		return Int8
	case uint8:
		return Uint8
	case int16:
		return Int16
	case uint16:
		return Uint16
	case int32:
		return Int32
	case uint32:
		return Uint32
	case int64:
		return Int64
	case uint64:
		return Uint64
	case bool:
		return Bool
	}
	return Invalid
}

// NewTensor copies data into a new tensor of the matching dtype.
func NewTensor[T Numeric](shape []int64, data []T) (*Tensor, error) {
	dt := DTypeOf[T]()
	if dt == Invalid {
		return nil, fmt.Errorf("sdk.NewTensor: unsupported element type %T; use a named dtype of the basic types", *new(T))
	}
	t := &Tensor{DType: dt, Shape: append([]int64(nil), shape...), Data: make([]byte, len(data)*dt.Size())}
	if len(data) > 0 {
		copy(t.Data, unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(t.Data)))
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("sdk.NewTensor: %w", err)
	}
	return t, nil
}

// NewStringTensor builds a string tensor.
func NewStringTensor(shape []int64, data []string) (*Tensor, error) {
	t := &Tensor{DType: String, Shape: append([]int64(nil), shape...), Strings: append([]string(nil), data...)}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("sdk.NewStringTensor: %w", err)
	}
	return t, nil
}

// Values returns a copy of the tensor's elements as []T. T must match the tensor's dtype, except
// that float16 and bfloat16 tensors may be read as float32 (converted) or uint16 (raw bits).
func Values[T Numeric](t *Tensor) ([]T, error) {
	want := DTypeOf[T]()
	n := int(NumElements(t.Shape))
	switch {
	case want == t.DType:
	case want == Float32 && (t.DType == Float16 || t.DType == BFloat16):
		out := make([]T, n)
		for i := range out {
			bits := binary.LittleEndian.Uint16(t.Data[2*i:])
			var f float32
			if t.DType == Float16 {
				f = Float16ToFloat32(bits)
			} else {
				f = math.Float32frombits(uint32(bits) << 16)
			}
			out[i] = any(f).(T)
		}
		return out, nil
	case want == Uint16 && (t.DType == Float16 || t.DType == BFloat16):
	default:
		return nil, fmt.Errorf("tensor is %s, cannot read it as %s", t.DType, want)
	}
	if len(t.Data) != n*want.Size() {
		return nil, fmt.Errorf("tensor %s has %d bytes of data", t.Signature(), len(t.Data))
	}
	out := make([]T, n)
	if n > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(t.Data)), t.Data)
	}
	return out, nil
}

// Float16ToFloat32 converts IEEE 754 half-precision bits to float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: renormalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToFloat16 converts float32 to IEEE 754 half-precision bits, rounding to nearest even.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		if rem := mant & (1<<shift - 1); rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}
