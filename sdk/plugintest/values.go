package plugintest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/hfhost/hfhost/sdk"
)

// sampleTensor returns a tensor of the given dtype and shape whose elements include the type's
// edge values (extremes, zero, negative zero, NaN and infinities for floats, empty and non-ASCII
// strings), followed by a deterministic pattern.
func sampleTensor(dt sdk.DType, shape []int64) *sdk.Tensor {
	n := int(sdk.NumElements(shape))
	t := &sdk.Tensor{DType: dt, Shape: slices.Clone(shape)}
	if dt == sdk.String {
		// Strings cross the ONNX Runtime C API as NUL-terminated C strings, so NUL bytes are
		// left out on purpose.
		edge := []string{"", "hello", "ünïcødé ✓", "a longer string with spaces and punctuation: ;|,\t\n"}
		t.Strings = make([]string, n)
		for i := range t.Strings {
			if i < len(edge) {
				t.Strings[i] = edge[i]
			} else {
				t.Strings[i] = fmt.Sprintf("s%d", i)
			}
		}
		return t
	}
	size := dt.Size()
	t.Data = make([]byte, n*size)
	var edge []uint64
	switch dt {
	case sdk.Float32:
		for _, f := range []float32{0, float32(math.Copysign(0, -1)), 1, -1.5, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
			edge = append(edge, uint64(math.Float32bits(f)))
		}
	case sdk.Float64:
		for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()} {
			edge = append(edge, math.Float64bits(f))
		}
	case sdk.Float16:
		edge = []uint64{0x0000, 0x8000, 0x3c00, 0xbe00, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e00}
	case sdk.BFloat16:
		edge = []uint64{0x0000, 0x8000, 0x3f80, 0xbfc0, 0x7f7f, 0x0001, 0x7f80, 0xff80, 0x7fc0}
	case sdk.Bool:
		edge = []uint64{0, 1}
	case sdk.Int8:
		edge = []uint64{0, 0x7f, 0x80, 0xff}
	case sdk.Int16:
		edge = []uint64{0, 0x7fff, 0x8000, 0xffff}
	case sdk.Int32:
		edge = []uint64{0, 0x7fffffff, 0x80000000, 0xffffffff}
	case sdk.Int64:
		edge = []uint64{0, math.MaxInt64, 1 << 63, math.MaxUint64}
	case sdk.Uint8:
		edge = []uint64{0, 0xff}
	case sdk.Uint16:
		edge = []uint64{0, 0xffff}
	case sdk.Uint32:
		edge = []uint64{0, 0xffffffff}
	case sdk.Uint64:
		edge = []uint64{0, math.MaxUint64}
	}
	for i := 0; i < n; i++ {
		var v uint64
		switch {
		case i < len(edge):
			v = edge[i]
		case dt == sdk.Bool:
			v = uint64(i % 2)
		case dt == sdk.Float32:
			v = uint64(math.Float32bits(float32(i) * 0.25))
		case dt == sdk.Float64:
			v = math.Float64bits(float64(i) * 0.25)
		case dt == sdk.Float16:
			v = uint64(sdk.Float32ToFloat16(float32(i) * 0.25))
		case dt == sdk.BFloat16:
			v = uint64(math.Float32bits(float32(i)*0.25) >> 16)
		default:
			v = uint64(i * 37)
		}
		putElem(t.Data, size, i, v)
	}
	return t
}

func putElem(b []byte, size, i int, v uint64) {
	switch size {
	case 1:
		b[i] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
}

// float32Tensor builds a float32 tensor; len(vals) must match shape.
func float32Tensor(shape []int64, vals []float32) *sdk.Tensor {
	t := &sdk.Tensor{DType: sdk.Float32, Shape: slices.Clone(shape), Data: make([]byte, 4*len(vals))}
	for i, v := range vals {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
	}
	return t
}

// float32s reads a float32 tensor's elements.
func float32s(t *sdk.Tensor) []float32 {
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out
}

// sameTensor reports how got differs from want bit for bit, or "" when they are identical.
func sameTensor(want, got *sdk.Tensor) string {
	if got == nil {
		return fmt.Sprintf("want %s, got no tensor", want.Signature())
	}
	if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
		return fmt.Sprintf("want %s, got %s", want.Signature(), got.Signature())
	}
	if want.DType == sdk.String {
		if len(got.Strings) != len(want.Strings) {
			return fmt.Sprintf("want %d strings, got %d", len(want.Strings), len(got.Strings))
		}
		for i := range want.Strings {
			if got.Strings[i] != want.Strings[i] {
				return fmt.Sprintf("string %d: want %q, got %q", i, want.Strings[i], got.Strings[i])
			}
		}
		return ""
	}
	if len(got.Data) != len(want.Data) {
		return fmt.Sprintf("want %d bytes of data, got %d", len(want.Data), len(got.Data))
	}
	if !bytes.Equal(got.Data, want.Data) {
		size := want.DType.Size()
		for i := 0; i < len(want.Data); i += size {
			if !bytes.Equal(want.Data[i:i+size], got.Data[i:i+size]) {
				return fmt.Sprintf("element %d: want bytes %x, got %x", i/size, want.Data[i:i+size], got.Data[i:i+size])
			}
		}
	}
	return ""
}
