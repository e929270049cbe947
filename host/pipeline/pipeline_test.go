package pipeline

import (
	"math"
	"testing"
)

func TestSoftmaxStableForHugeLogits(t *testing.T) {
	// MNIST-8's logits reach thousands; a naive exp overflows.
	p := Softmax([]float32{975.67, -618.7, 6574.57, 668.0})
	if math.Abs(float64(p[2])-1) > 1e-7 || p[0] != 0 {
		t.Fatalf("got %v", p)
	}
	q := Softmax([]float32{1, 2, 3})
	want := []float64{0.09003057, 0.24472847, 0.66524096}
	for i := range q {
		if math.Abs(float64(q[i])-want[i]) > 1e-7 {
			t.Fatalf("softmax %v, want %v", q, want)
		}
	}
}

func TestTopKStableOrder(t *testing.T) {
	got := TopK([]float32{0.1, 0.4, 0.4, 0.1}, []string{"a", "b", "c", "d"}, 3)
	if len(got) != 3 || got[0].Label != "b" || got[1].Label != "c" || got[2].Label != "a" {
		t.Fatalf("got %+v", got)
	}
	if all := TopK([]float32{0.5, 0.5}, []string{"x", "y"}, 0); len(all) != 2 {
		t.Fatalf("k=0 means all, got %+v", all)
	}
}

func TestSigmoid(t *testing.T) {
	s := Sigmoid([]float32{0, 100, -100})
	if s[0] != 0.5 || s[1] != 1 || s[2] > 1e-40 {
		t.Fatalf("got %v", s)
	}
}
