package sdk

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestNewTensorRoundTrip(t *testing.T) {
	ti, err := NewTensor([]int64{2, 2}, []int64{1, -2, 3, math.MaxInt64})
	if err != nil {
		t.Fatal(err)
	}
	if ti.DType != Int64 || len(ti.Data) != 32 {
		t.Fatalf("got %s with %d bytes", ti.Signature(), len(ti.Data))
	}
	back, err := Values[int64](ti)
	if err != nil || back[3] != math.MaxInt64 || back[1] != -2 {
		t.Fatalf("got %v %v", back, err)
	}
	if _, err := Values[float32](ti); err == nil || !strings.Contains(err.Error(), "int64") {
		t.Fatalf("reading int64 as float32 must fail naming the dtype, got %v", err)
	}
	b, _ := NewTensor([]int64{3}, []bool{true, false, true})
	bv, _ := Values[bool](b)
	if !bv[0] || bv[1] || !bv[2] {
		t.Fatalf("bools: %v", bv)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		t    Tensor
		want string
	}{
		{Tensor{DType: Float32, Shape: []int64{2}, Data: make([]byte, 4)}, "needs 8 bytes, has 4"},
		{Tensor{DType: 99, Shape: []int64{1}}, "unknown dtype"},
		{Tensor{DType: String, Shape: []int64{2}, Strings: []string{"a"}}, "needs 2 strings"},
		{Tensor{DType: Float32, Shape: []int64{-1}}, "negative"},
	}
	for _, c := range cases {
		if err := c.t.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.t, err, c.want)
		}
	}
	scalar := Tensor{DType: Float64, Data: make([]byte, 8)}
	if err := scalar.Validate(); err != nil {
		t.Fatalf("a scalar has one element: %v", err)
	}
	empty := Tensor{DType: Float32, Shape: []int64{0, 3}}
	if err := empty.Validate(); err != nil {
		t.Fatalf("a zero-element tensor is valid: %v", err)
	}
}

func TestFloat16Conversions(t *testing.T) {
	cases := map[float32]uint16{
		0: 0x0000, 1: 0x3c00, -2: 0xc000, 65504: 0x7bff, 0.000061035156: 0x0400, // smallest normal
		5.9604645e-08:        0x0001, // smallest subnormal
		float32(math.Inf(1)): 0x7c00, 1e6: 0x7c00, 0.33325195: 0x3555,
	}
	for f, h := range cases {
		if got := Float32ToFloat16(f); got != h {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", f, got, h)
		}
		if h != 0x7c00 || math.IsInf(float64(f), 1) {
			if back := Float16ToFloat32(h); back != f && !(f == 1e6) {
				t.Errorf("Float16ToFloat32(%#04x) = %g, want %g", h, back, f)
			}
		}
	}
	if !math.IsNaN(float64(Float16ToFloat32(Float32ToFloat16(float32(math.NaN()))))) {
		t.Error("NaN must survive the round trip")
	}
	// Every half value survives half -> float32 -> half.
	for h := 0; h < 1<<16; h++ {
		f := Float16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float32ToFloat16(f); back != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	// Values reads float16 tensors as float32.
	ht := &Tensor{DType: Float16, Shape: []int64{2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0}}
	v, err := Values[float32](ht)
	if err != nil || v[0] != 1 || v[1] != -2 {
		t.Fatalf("got %v %v", v, err)
	}
}

func TestErrorCodesSurviveGRPCStatus(t *testing.T) {
	for _, code := range []ErrorCode{Internal, InvalidInput, NotFound, InvalidModel, Unavailable, Unsupported} {
		in := Errorf(code, "model input %q wants float32 [1,3]", "x")
		out := errorFromStatus(errorToStatus(in))
		var e *Error
		if !errors.As(out, &e) || e.Code != code || e.Message != in.Error() {
			t.Errorf("%v: got %#v", code, out)
		}
		if IsTransport(out) {
			t.Errorf("%v: an executor error is not a transport failure", code)
		}
	}
	// A status without hfhost details (the process died, the connection broke) is a transport
	// failure.
	if err := errorFromStatus(errors.New("connection reset")); !IsTransport(err) {
		t.Errorf("got %v, want a transport failure", err)
	}
}
