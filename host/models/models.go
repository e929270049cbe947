// Package models owns model directories as HF Optimum and transformers.js lay them out:
// finding the ONNX files (model.onnx, onnx/model.onnx, encoder_model.onnx +
// decoder_model_merged.onnx, dtype variants such as model_quantized.onnx), reading
// config.json, and classifying a model into a pipeline family and task (registry.go).
package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config is the part of config.json that hfhost reads; Raw keeps the rest.
type Config struct {
	ModelType     string            `json:"model_type"`
	Architectures []string          `json:"architectures"`
	ID2Label      map[string]string `json:"id2label"`
	Raw           map[string]any    `json:"-"`
}

// Dir is an opened model directory.
type Dir struct {
	Path   string
	Config *Config
}

// Open checks that path is a model directory and reads its config.json.
func Open(path string) (*Dir, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model directory %s does not exist", path)
		}
		return nil, fmt.Errorf("model directory %s: %w", path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model path %s is a file; give the directory that holds model.onnx and config.json", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("model directory %s has no readable config.json (%v); export the model with `optimum-cli export onnx` which writes it", path, errors.Unwrap(err))
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: config.json is not valid JSON: %w", path, err)
	}
	if err := json.Unmarshal(b, &c.Raw); err != nil {
		return nil, fmt.Errorf("%s: config.json: %w", path, err)
	}
	return &Dir{Path: abs, Config: &c}, nil
}

// Variant selects a dtype variant of the ONNX files ("" is the plain fp32 export).
type Variant string

// ONNX finds the file for a graph name ("model", "encoder_model", "decoder_model_merged"...)
// in the directory or its onnx/ subfolder, with the variant suffix if one is asked for
// ("model_quantized.onnx", "model_fp16.onnx").
func (d *Dir) ONNX(graph string, v Variant) (string, error) {
	name := graph
	if v != "" {
		name += "_" + string(v)
	}
	name += ".onnx"
	for _, sub := range []string{"", "onnx"} {
		p := filepath.Join(d.Path, sub, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	have := d.onnxFiles()
	if len(have) == 0 {
		return "", fmt.Errorf("model directory %s has no .onnx file; want %s (export with `optimum-cli export onnx --model ID %s`)", d.Path, name, d.Path)
	}
	return "", fmt.Errorf("model directory %s has no %s; it has %s", d.Path, name, strings.Join(have, ", "))
}

func (d *Dir) onnxFiles() []string {
	var out []string
	for _, sub := range []string{"", "onnx"} {
		m, _ := filepath.Glob(filepath.Join(d.Path, sub, "*.onnx"))
		for _, f := range m {
			rel, _ := filepath.Rel(d.Path, f)
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

// File returns the path of a file in the directory if it exists.
func (d *Dir) File(name string) (string, bool) {
	p := filepath.Join(d.Path, name)
	_, err := os.Stat(p)
	return p, err == nil
}

// Labels returns id2label as a slice indexed by class id, filling gaps with "LABEL_i".
func (c *Config) Labels(n int) []string {
	out := make([]string, n)
	for i := range out {
		if l, ok := c.ID2Label[fmt.Sprint(i)]; ok {
			out[i] = l
		} else {
			out[i] = fmt.Sprintf("LABEL_%d", i)
		}
	}
	return out
}
