//go:build ignore

// gen_mnist.go packages the ONNX model zoo's MNIST-8 (MIT licensed), as the Go module
// github.com/owulveryck/onnx-go@v0.5.0 embeds it, as an HF-style model directory:
//
//	go run gen_mnist.go
//
// It writes mnist/model.onnx (the bytes of the module's Go string literal, decoded with
// strconv.Unquote), mnist/config.json, mnist/preprocessor_config.json, sample digit PNGs rendered
// from the three golden test inputs, and copies those golden test_data_set_* directories to
// testdata/mnist-8/ for the end-to-end tests.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image"
	"image/png"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/hfhost/hfhost/sdk"
	"github.com/hfhost/hfhost/sdk/plugintest"
)

const module = "github.com/owulveryck/onnx-go@v0.5.0"

func main() {
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	check(err)
	var info struct{ Dir string }
	check(json.Unmarshal(out, &info))
	src := filepath.Join(info.Dir, "internal", "examples", "mnist")

	model := stringLiteral(filepath.Join(src, "mnist_binary.go"))
	check(os.MkdirAll("mnist/samples", 0o755))
	check(os.WriteFile("mnist/model.onnx", model, 0o644))

	labels := map[string]string{}
	for i := 0; i < 10; i++ {
		labels[strconv.Itoa(i)] = strconv.Itoa(i)
	}
	writeJSON("mnist/config.json", map[string]any{
		"_comment":      "MNIST-8 from the ONNX model zoo (MIT), packaged for hfhost. Outputs are raw class scores (logits).",
		"model_type":    "mnist-cnn",
		"architectures": []string{"MnistCNNForImageClassification"},
		"id2label":      labels,
		"num_labels":    10,
		"source":        module + " internal/examples/mnist",
	})
	writeJSON("mnist/preprocessor_config.json", map[string]any{
		"_comment":             "28x28 grayscale, pixel values 0..255 unscaled, as the model was trained. do_convert_grayscale is an hfhost extension.",
		"image_processor_type": "ViTImageProcessor",
		"do_convert_rgb":       false,
		"do_convert_grayscale": true,
		"do_resize":            true,
		"size":                 map[string]int{"height": 28, "width": 28},
		"resample":             2,
		"do_rescale":           false,
		"rescale_factor":       1.0,
		"do_normalize":         false,
		"image_mean":           []float64{0},
		"image_std":            []float64{1},
	})

	golden := filepath.Join("..", "..", "..", "testdata", "mnist-8")
	for i := 0; i < 3; i++ {
		set := fmt.Sprintf("test_data_set_%d", i)
		check(os.MkdirAll(filepath.Join(golden, set), 0o755))
		for _, f := range []string{"input_0.pb", "output_0.pb"} {
			b, err := os.ReadFile(filepath.Join(src, set, f))
			check(err)
			check(os.WriteFile(filepath.Join(golden, set, f), b, 0o644))
		}
		_, t, err := plugintest.ReadTensorProto(filepath.Join(src, set, "input_0.pb"))
		check(err)
		px, err := sdk.Values[float32](t)
		check(err)
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for j, v := range px {
			img.Pix[j] = uint8(max(0, min(255, v+0.5)))
		}
		var buf bytes.Buffer
		check(png.Encode(&buf, img))
		check(os.WriteFile(fmt.Sprintf("mnist/samples/test_data_set_%d.png", i), buf.Bytes(), 0o644))
	}
	check(os.WriteFile(filepath.Join(golden, "README.md"), []byte("# MNIST-8 golden data\n\nThe ONNX model zoo's MNIST-8 test_data_set_0..2 (MIT licensed), copied from the Go module\n"+
		module+" (internal/examples/mnist) by host/internal/builtin/gen_mnist.go.\nThe model itself is host/internal/builtin/mnist/model.onnx.\n"), 0o644))
}

// stringLiteral returns the decoded value of the first string literal in the file.
func stringLiteral(path string) []byte {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	check(err)
	var lit string
	ast.Inspect(f, func(n ast.Node) bool {
		if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING && lit == "" {
			lit = b.Value
		}
		return lit == ""
	})
	s, err := strconv.Unquote(lit)
	check(err)
	return []byte(s)
}

func writeJSON(path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	check(err)
	check(os.WriteFile(path, append(b, '\n'), 0o644))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
