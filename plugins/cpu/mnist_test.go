package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/plugintest"
)

// TestMNISTGolden runs the ONNX model zoo's MNIST-8 through the plugin process and compares the
// logits with the zoo's golden outputs. The logits reach magnitudes of several thousand, where one
// float32 ulp is up to 4.9e-4, so an absolute 1e-4 bound cannot be met by float32 arithmetic that
// is not bit-identical to the exporter's (CNTK): the bound is 1e-4 scaled by max(1, |expected|),
// and the absolute difference and its size in ulps of the expected value are logged.
func TestMNISTGolden(t *testing.T) {
	const model = "../../host/internal/builtin/mnist/model.onnx"
	const tol = 1e-4
	c := plugintest.Start(t, cpuPluginBinary)
	ctx := context.Background()
	if d, err := c.Describe(ctx); err != nil {
		t.Fatalf("Describe: %v", err)
	} else if d.UnavailableReason != "" {
		t.Skipf("CPU plugin is unavailable here: %s", d.UnavailableReason)
	}
	info, err := c.Load(ctx, &sdk.LoadRequest{ModelPath: model})
	if err != nil {
		t.Fatalf("Load(%s): %v", model, err)
	}
	var worst, worstScaled float64
	for i := range 3 {
		dir := filepath.Join("../../testdata/mnist-8", fmt.Sprintf("test_data_set_%d", i))
		_, in, err := plugintest.ReadTensorProto(filepath.Join(dir, "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		_, want, err := plugintest.ReadTensorProto(filepath.Join(dir, "output_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Run(ctx, &sdk.RunRequest{ModelID: info.ID, Inputs: []sdk.Value{{Name: info.Inputs[0].Name, Tensor: in}}})
		if err != nil {
			t.Fatalf("%s: Run: %v", dir, err)
		}
		got := res.Outputs[0].Tensor
		if got == nil || got.Signature() != want.Signature() {
			t.Fatalf("%s: want output %s, got %v", dir, want.Signature(), got)
		}
		g, err := sdk.Values[float32](got)
		if err != nil {
			t.Fatal(err)
		}
		w, err := sdk.Values[float32](want)
		if err != nil {
			t.Fatal(err)
		}
		var d, scaled, ulps, biggest float64
		for j := range w {
			diff := math.Abs(float64(g[j]) - float64(w[j]))
			d = math.Max(d, diff)
			scaled = math.Max(scaled, diff/math.Max(1, math.Abs(float64(w[j]))))
			ulps = math.Max(ulps, diff/ulp(w[j]))
			biggest = math.Max(biggest, math.Abs(float64(w[j])))
		}
		t.Logf("%s: max abs diff %.3g (%.0f ulp), scaled by max(1,|expected|) %.3g; largest |logit| %.1f", dir, d, ulps, scaled, biggest)
		if scaled > tol {
			t.Errorf("%s: max abs diff %.3g scaled by max(1,|expected|) is %.3g, want <= %g", dir, d, scaled, tol)
		}
		worst, worstScaled = math.Max(worst, d), math.Max(worstScaled, scaled)
	}
	t.Logf("MNIST-8 golden data: max abs diff %.3g, scaled %.3g over the three test sets (bound %g scaled)", worst, worstScaled, tol)
}

// ulp is the spacing of float32 values at x.
func ulp(x float32) float64 {
	a := math.Abs(float64(x))
	return float64(math.Nextafter32(float32(a), float32(math.Inf(1)))) - a
}
