package plugintest

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/sdk"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestTinyModelRoundTrip(t *testing.T) {
	m := &tinyModel{opset: 13,
		nodes:   []graphNode{{"Neg", []string{"x"}, []string{"n"}}, {"Abs", []string{"x"}, []string{"a"}}},
		inputs:  []graphValue{{"x", sdk.BFloat16, []int64{-1, 3}, []string{"N"}}},
		outputs: []graphValue{{"n", sdk.BFloat16, []int64{-1, 3}, nil}, {"a", sdk.String, []int64{}, nil}}}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := m.write(path); err != nil {
		t.Fatal(err)
	}
	sig, err := ReadModelSignature(path)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Opsets[""] != 13 {
		t.Errorf("opsets: want ai.onnx 13, got %v", sig.Opsets)
	}
	if !slices.Equal(sig.Ops, []string{"Neg", "Abs"}) {
		t.Errorf("ops: want [Neg Abs], got %v", sig.Ops)
	}
	want := []ModelValue{{"x", KindTensor, int32(sdk.BFloat16)}}
	if !slices.Equal(sig.Inputs, want) {
		t.Errorf("inputs: want %v, got %v", want, sig.Inputs)
	}
	want = []ModelValue{{"n", KindTensor, int32(sdk.BFloat16)}, {"a", KindTensor, int32(sdk.String)}}
	if !slices.Equal(sig.Outputs, want) {
		t.Errorf("outputs: want %v, got %v", want, sig.Outputs)
	}
}

func TestReadModelSignatureRejectsGarbage(t *testing.T) {
	// A truncated length-delimited field must be an error, not a panic.
	b := protowire.AppendTag(nil, 7, protowire.BytesType)
	b = protowire.AppendVarint(b, 100)
	if _, err := readAndParse(t, b); err == nil {
		t.Errorf("truncated model: want an error, got none")
	}
}

func readAndParse(t *testing.T, b []byte) (*ModelSignature, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return ReadModelSignature(path)
}

// tensorProto encodes an onnx.TensorProto for the decoder tests.
func tensorProto(name string, dt sdk.DType, dims []int64, fields func([]byte) []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(dt))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, name)
	return fields(b)
}

func TestDecodeTensorProto(t *testing.T) {
	packedVarints := func(num protowire.Number, vals ...uint64) func([]byte) []byte {
		return func(b []byte) []byte {
			var p []byte
			for _, v := range vals {
				p = protowire.AppendVarint(p, v)
			}
			b = protowire.AppendTag(b, num, protowire.BytesType)
			return protowire.AppendBytes(b, p)
		}
	}
	cases := []struct {
		name string
		b    []byte
		want *sdk.Tensor
	}{
		{"float_data", tensorProto("f", sdk.Float32, []int64{2}, func(b []byte) []byte {
			p := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
			p = binary.LittleEndian.AppendUint32(p, math.Float32bits(-2))
			b = protowire.AppendTag(b, 4, protowire.BytesType)
			return protowire.AppendBytes(b, p)
		}), float32Tensor([]int64{2}, []float32{1.5, -2})},
		{"raw_data", tensorProto("r", sdk.Int16, []int64{1, 2}, func(b []byte) []byte {
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			return protowire.AppendBytes(b, []byte{1, 0, 0xff, 0xff})
		}), &sdk.Tensor{DType: sdk.Int16, Shape: []int64{1, 2}, Data: []byte{1, 0, 0xff, 0xff}}},
		{"int32_data float16 bits", tensorProto("h", sdk.Float16, []int64{2}, packedVarints(5, 0x3c00, 0xc000)),
			&sdk.Tensor{DType: sdk.Float16, Shape: []int64{2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0}}},
		{"int32_data negative int8", tensorProto("i8", sdk.Int8, []int64{2}, packedVarints(5, uint64(math.MaxUint64), 5)),
			&sdk.Tensor{DType: sdk.Int8, Shape: []int64{2}, Data: []byte{0xff, 5}}},
		{"uint64_data uint32", tensorProto("u", sdk.Uint32, []int64{1}, packedVarints(11, 0xfffffffe)),
			&sdk.Tensor{DType: sdk.Uint32, Shape: []int64{1}, Data: []byte{0xfe, 0xff, 0xff, 0xff}}},
		{"int64_data scalar", tensorProto("s", sdk.Int64, nil, packedVarints(7, uint64(1<<63))),
			&sdk.Tensor{DType: sdk.Int64, Data: []byte{0, 0, 0, 0, 0, 0, 0, 0x80}}},
		{"string_data", tensorProto("str", sdk.String, []int64{2}, func(b []byte) []byte {
			for _, s := range []string{"", "ab"} {
				b = protowire.AppendTag(b, 6, protowire.BytesType)
				b = protowire.AppendString(b, s)
			}
			return b
		}), &sdk.Tensor{DType: sdk.String, Shape: []int64{2}, Strings: []string{"", "ab"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, got, err := DecodeTensorProto(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameTensor(c.want, got); d != "" {
				t.Error(d)
			}
		})
	}
	bad := map[string][]byte{
		"too few values": tensorProto("f", sdk.Float32, []int64{3}, packedVarints(5)),
		"complex64":      tensorProto("c", 14, []int64{1}, func(b []byte) []byte { return b }),
		"external data": tensorProto("e", sdk.Float32, []int64{1}, func(b []byte) []byte {
			b = protowire.AppendTag(b, 14, protowire.VarintType)
			return protowire.AppendVarint(b, 1)
		}),
		"truncated": {0x0a, 0x05, 0x01},
	}
	for name, b := range bad {
		if _, _, err := DecodeTensorProto(b); err == nil {
			t.Errorf("%s: want an error, got none", name)
		}
	}
}

func TestCompareTensors(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f := func(v ...float32) *sdk.Tensor { return float32Tensor([]int64{int64(len(v))}, v) }
	cases := []struct {
		name      string
		want, got *sdk.Tensor
		ok        bool
	}{
		{"equal", f(1, 2), f(1, 2), true},
		{"within rtol", f(1000, 1), f(1000.9, 1), true},
		{"outside rtol", f(1000, 1), f(1001.1, 1), false},
		{"zero needs atol", f(0), f(1e-6), false},
		{"zero within atol", f(0), f(5e-8), true},
		{"NaN equals NaN", f(nan, 1), f(nan, 1), true},
		{"NaN vs number", f(nan), f(0), false},
		{"number vs NaN", f(0), f(nan), false},
		{"inf equals inf", f(inf), f(inf), true},
		{"inf vs -inf", f(inf), f(-inf), false},
		{"shape", f(1, 2), float32Tensor([]int64{2, 1}, []float32{1, 2}), false},
		{"dtype", f(1), &sdk.Tensor{DType: sdk.Int32, Shape: []int64{1}, Data: []byte{1, 0, 0, 0}}, false},
		{"int64 beyond 2^53 exact", &sdk.Tensor{DType: sdk.Int64, Shape: []int64{1}, Data: binary.LittleEndian.AppendUint64(nil, 1<<60)},
			&sdk.Tensor{DType: sdk.Int64, Shape: []int64{1}, Data: binary.LittleEndian.AppendUint64(nil, 1<<60+1)}, false},
		{"strings", &sdk.Tensor{DType: sdk.String, Shape: []int64{1}, Strings: []string{"a"}}, &sdk.Tensor{DType: sdk.String, Shape: []int64{1}, Strings: []string{"b"}}, false},
		{"float16 within rtol", &sdk.Tensor{DType: sdk.Float16, Shape: []int64{1}, Data: []byte{0x00, 0x64}}, &sdk.Tensor{DType: sdk.Float16, Shape: []int64{1}, Data: []byte{0x01, 0x64}}, true},
	}
	for _, c := range cases {
		got := compareTensors(c.want, c.got)
		if (got.problem == "") != c.ok {
			t.Errorf("%s: want ok=%v, got problem %q", c.name, c.ok, got.problem)
		}
	}
}

func TestBfloat16FromUint16(t *testing.T) {
	ts := []namedTensor{{"a", &sdk.Tensor{DType: sdk.Uint16}}, {"", &sdk.Tensor{DType: sdk.Uint16}}, {"c", &sdk.Tensor{DType: sdk.Uint16}}}
	bfloat16FromUint16(ts, []ModelValue{{Name: "a", ElemType: int32(sdk.BFloat16)}, {Name: "b", ElemType: int32(sdk.BFloat16)}, {Name: "c", ElemType: int32(sdk.Uint16)}})
	got := []sdk.DType{ts[0].t.DType, ts[1].t.DType, ts[2].t.DType}
	if want := []sdk.DType{sdk.BFloat16, sdk.BFloat16, sdk.Uint16}; !slices.Equal(got, want) {
		t.Errorf("want %v, got %v", want, got)
	}
}

func TestSampleTensorsAreValid(t *testing.T) {
	for dt := range sdk.DType(17) {
		if !dt.Valid() {
			continue
		}
		s := sampleTensor(dt, []int64{2, 3})
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", dt, err)
		}
		if d := sameTensor(s, sampleTensor(dt, []int64{2, 3})); d != "" {
			t.Errorf("%s: sample tensors differ between calls: %s", dt, d)
		}
		if dt == sdk.Bool && strings.Trim(string(s.Data), "\x00\x01") != "" {
			t.Errorf("bool sample holds a byte other than 0 and 1: %v", s.Data)
		}
	}
}
