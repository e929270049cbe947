package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "model.onnx")
	writeFile(t, file, "x")
	badJSON := filepath.Join(dir, "bad")
	writeFile(t, filepath.Join(badJSON, "config.json"), "{not json")
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "does not exist",
		file:                          "is a file; give the directory",
		dir:                           "no readable config.json",
		badJSON:                       "not valid JSON",
	} {
		if _, err := Open(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", path, err, want)
		}
	}
}

func TestONNXLayouts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), `{"model_type":"vit","architectures":["ViTForImageClassification"],"id2label":{"0":"cat","1":"dog"}}`)
	writeFile(t, filepath.Join(dir, "onnx", "model.onnx"), "x")
	writeFile(t, filepath.Join(dir, "onnx", "model_quantized.onnx"), "x")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := d.ONNX("model", ""); err != nil || !strings.HasSuffix(p, filepath.Join("onnx", "model.onnx")) {
		t.Fatalf("got %s %v", p, err)
	}
	if p, err := d.ONNX("model", "quantized"); err != nil || !strings.HasSuffix(p, "model_quantized.onnx") {
		t.Fatalf("got %s %v", p, err)
	}
	_, err = d.ONNX("model", "fp16")
	if err == nil || !strings.Contains(err.Error(), "onnx/model_quantized.onnx") {
		t.Fatalf("a missing variant must list what the directory has, got %v", err)
	}
	if got := d.Config.Labels(3); got[0] != "cat" || got[1] != "dog" || got[2] != "LABEL_2" {
		t.Fatalf("labels %v", got)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		c      Config
		family Family
		task   Task
	}{
		{Config{ModelType: "vit", Architectures: []string{"ViTForImageClassification"}}, Vision, "image-classification"},
		{Config{ModelType: "detr", Architectures: []string{"DetrForObjectDetection"}}, Vision, "object-detection"},
		{Config{ModelType: "bert", Architectures: []string{"BertForSequenceClassification"}}, TextEncoder, "text-classification"},
		{Config{ModelType: "llama", Architectures: []string{"LlamaForCausalLM"}}, TextDecoder, "text-generation"},
		{Config{ModelType: "t5", Architectures: []string{"T5ForConditionalGeneration"}}, TextSeq2Seq, "text2text-generation"},
		{Config{ModelType: "whisper", Architectures: []string{"WhisperForConditionalGeneration"}}, Audio, "automatic-speech-recognition"},
	}
	for _, tc := range cases {
		f, task, err := Classify(&tc.c)
		if err != nil || f != tc.family || task != tc.task {
			t.Errorf("%v: got %s %s %v, want %s %s", tc.c.Architectures, f, task, err, tc.family, tc.task)
		}
	}
	if _, _, err := Classify(&Config{}); err == nil {
		t.Error("an empty config must not classify")
	}
	if _, _, err := Classify(&Config{ModelType: "x", Architectures: []string{"Frobnicator"}}); err == nil || !strings.Contains(err.Error(), "ForImageClassification") {
		t.Errorf("an unknown architecture must list the known ones, got %v", err)
	}
}

func TestFixtureModelsClassify(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/models/*/config.json")
	for _, c := range dirs {
		d, err := Open(filepath.Dir(c))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Classify(d.Config); err != nil {
			t.Errorf("%s: %v", filepath.Dir(c), err)
		}
	}
}
