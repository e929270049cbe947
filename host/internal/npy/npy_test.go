package npy

import (
	"bytes"
	"testing"
)

func TestRoundTripFloat32(t *testing.T) {
	var buf bytes.Buffer
	want := []float32{1, -2.5, 3.25, 0, 7, 8}
	if err := WriteFloat32(&buf, []int{2, 3}, want); err != nil {
		t.Fatal(err)
	}
	if (buf.Len()-len(want)*4)%64 != 0 {
		t.Fatalf("header not 64-byte aligned: %d", buf.Len()-len(want)*4)
	}
	a, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != "f4" || len(a.Shape) != 2 || a.Shape[0] != 2 || a.Shape[1] != 3 {
		t.Fatalf("got dtype %s shape %v", a.DType, a.Shape)
	}
	for i := range want {
		if a.F32[i] != want[i] {
			t.Fatalf("element %d: got %v want %v", i, a.F32[i], want[i])
		}
	}
}

func TestRejectsBadMagic(t *testing.T) {
	if _, err := Read(bytes.NewReader([]byte("not numpy at all"))); err == nil {
		t.Fatal("expected an error for bad magic")
	}
}
