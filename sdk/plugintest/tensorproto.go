package plugintest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/hfhost/hfhost/sdk"
	"google.golang.org/protobuf/encoding/protowire"
)

// ReadTensorProto reads an ONNX TensorProto file, as found in the ONNX model zoo's and the ONNX
// backend tests' test_data_set_*/input_*.pb and output_*.pb, into a tensor. It decodes the
// protobuf wire format directly, so that no ONNX protobuf package is needed.
func ReadTensorProto(path string) (name string, t *sdk.Tensor, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	name, t, err = DecodeTensorProto(b)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return name, t, nil
}

// DecodeTensorProto decodes one serialized onnx.TensorProto.
func DecodeTensorProto(b []byte) (string, *sdk.Tensor, error) {
	t := &sdk.Tensor{}
	var name string
	var raw []byte
	var hasRaw bool
	var floats []float32
	var doubles []float64
	var int32s, int64s []int64 // int32_data carries int32, int16, int8, uint16, uint8, bool, float16
	var uint64s []uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", nil, fmt.Errorf("bad TensorProto: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1: // dims
			vals, m := consumeVarints(b, typ)
			if m < 0 {
				return "", nil, fmt.Errorf("bad dims")
			}
			for _, v := range vals {
				t.Shape = append(t.Shape, int64(v))
			}
			b = b[m:]
			continue
		case num == 2 && typ == protowire.VarintType: // data_type
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return "", nil, fmt.Errorf("bad data_type")
			}
			t.DType = sdk.DType(v)
			b = b[m:]
			continue
		case num == 4: // float_data
			vals, m := consumeFixed32s(b, typ)
			if m < 0 {
				return "", nil, fmt.Errorf("bad float_data")
			}
			for _, v := range vals {
				floats = append(floats, math.Float32frombits(v))
			}
			b = b[m:]
			continue
		case num == 5 || num == 7: // int32_data, int64_data
			vals, m := consumeVarints(b, typ)
			if m < 0 {
				return "", nil, fmt.Errorf("bad int data")
			}
			for _, v := range vals {
				if num == 5 {
					int32s = append(int32s, int64(int32(v)))
				} else {
					int64s = append(int64s, int64(v))
				}
			}
			b = b[m:]
			continue
		case num == 6 && typ == protowire.BytesType: // string_data
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", nil, fmt.Errorf("bad string_data")
			}
			t.Strings = append(t.Strings, string(v))
			b = b[m:]
			continue
		case num == 8 && typ == protowire.BytesType: // name
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", nil, fmt.Errorf("bad name")
			}
			name = string(v)
			b = b[m:]
			continue
		case num == 9 && typ == protowire.BytesType: // raw_data
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", nil, fmt.Errorf("bad raw_data")
			}
			raw, hasRaw = append([]byte(nil), v...), true
			b = b[m:]
			continue
		case num == 10: // double_data
			vals, m := consumeFixed64s(b, typ)
			if m < 0 {
				return "", nil, fmt.Errorf("bad double_data")
			}
			for _, v := range vals {
				doubles = append(doubles, math.Float64frombits(v))
			}
			b = b[m:]
			continue
		case num == 11: // uint64_data
			vals, m := consumeVarints(b, typ)
			if m < 0 {
				return "", nil, fmt.Errorf("bad uint64_data")
			}
			uint64s = append(uint64s, vals...)
			b = b[m:]
			continue
		case num == 14 && typ == protowire.VarintType: // data_location
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return "", nil, fmt.Errorf("bad data_location")
			}
			if v == 1 {
				return "", nil, fmt.Errorf("tensor %q keeps its data in an external file, which is not supported here", name)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return "", nil, fmt.Errorf("bad field %d", num)
		}
		b = b[m:]
	}
	if !t.DType.Valid() {
		return "", nil, fmt.Errorf("tensor %q has data type %d, which hfhost does not carry", name, t.DType)
	}
	n := int(sdk.NumElements(t.Shape))
	size := t.DType.Size()
	switch {
	case t.DType == sdk.String:
	case hasRaw:
		t.Data = raw
	default:
		t.Data = make([]byte, n*size)
		put := func(i int, v uint64) {
			switch size {
			case 1:
				t.Data[i] = byte(v)
			case 2:
				binary.LittleEndian.PutUint16(t.Data[2*i:], uint16(v))
			case 4:
				binary.LittleEndian.PutUint32(t.Data[4*i:], uint32(v))
			case 8:
				binary.LittleEndian.PutUint64(t.Data[8*i:], v)
			}
		}
		var count int
		switch t.DType {
		case sdk.Float32:
			count = len(floats)
			for i := 0; i < min(n, count); i++ {
				put(i, uint64(math.Float32bits(floats[i])))
			}
		case sdk.Float64:
			count = len(doubles)
			for i := 0; i < min(n, count); i++ {
				put(i, math.Float64bits(doubles[i]))
			}
		case sdk.Int64:
			count = len(int64s)
			for i := 0; i < min(n, count); i++ {
				put(i, uint64(int64s[i]))
			}
		case sdk.Uint32, sdk.Uint64:
			count = len(uint64s)
			for i := 0; i < min(n, count); i++ {
				put(i, uint64s[i])
			}
		default: // int32, int16, int8, uint16, uint8, bool, float16, bfloat16 travel in int32_data
			count = len(int32s)
			for i := 0; i < min(n, count); i++ {
				put(i, uint64(int32s[i]))
			}
		}
		if count != n {
			return "", nil, fmt.Errorf("tensor %q of shape %v has %d values, want %d", name, t.Shape, count, n)
		}
	}
	if err := t.Validate(); err != nil {
		return "", nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return name, t, nil
}

func consumeVarints(b []byte, typ protowire.Type) ([]uint64, int) {
	if typ == protowire.VarintType {
		v, n := protowire.ConsumeVarint(b)
		return []uint64{v}, n
	}
	if typ != protowire.BytesType {
		return nil, -1
	}
	p, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return nil, n
	}
	var out []uint64
	for len(p) > 0 {
		v, m := protowire.ConsumeVarint(p)
		if m < 0 {
			return nil, m
		}
		out = append(out, v)
		p = p[m:]
	}
	return out, n
}

func consumeFixed32s(b []byte, typ protowire.Type) ([]uint32, int) {
	if typ == protowire.Fixed32Type {
		v, n := protowire.ConsumeFixed32(b)
		return []uint32{v}, n
	}
	p, n := protowire.ConsumeBytes(b)
	if n < 0 || len(p)%4 != 0 {
		return nil, -1
	}
	out := make([]uint32, len(p)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(p[4*i:])
	}
	return out, n
}

func consumeFixed64s(b []byte, typ protowire.Type) ([]uint64, int) {
	if typ == protowire.Fixed64Type {
		v, n := protowire.ConsumeFixed64(b)
		return []uint64{v}, n
	}
	p, n := protowire.ConsumeBytes(b)
	if n < 0 || len(p)%8 != 0 {
		return nil, -1
	}
	out := make([]uint64, len(p)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(p[8*i:])
	}
	return out, n
}
