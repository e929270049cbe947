// Package pipeline holds what every pipeline family shares: the view of a loaded model that a
// pipeline runs against (Runner), per-call statistics, and score helpers. Each family lives in
// a subpackage (pipeline/vision, ...) that holds only what differs between pipelines.
package pipeline

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hfhost/hfhost/sdk"
)

// Runner is a model loaded on some backend; *backend.Session implements it.
type Runner interface {
	Run(ctx context.Context, role string, req *sdk.RunRequest) (*sdk.RunResult, error)
	Model(role string) *sdk.ModelInfo
}

// Stats breaks one pipeline call down. Model is the whole round trip to the backend.
type Stats struct {
	Preprocess  time.Duration `json:"preprocess_ns"`
	Model       time.Duration `json:"model_ns"`
	Postprocess time.Duration `json:"postprocess_ns"`
}

// Add accumulates another call's statistics.
func (s *Stats) Add(o Stats) {
	s.Preprocess += o.Preprocess
	s.Model += o.Model
	s.Postprocess += o.Postprocess
}

// Label is one scored class.
type Label struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
	ID    int     `json:"id"`
}

// Softmax returns the softmax of x, computed in float64 as numpy/torch do it in float32 with
// the max subtracted.
func Softmax(x []float32) []float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	out := make([]float32, len(x))
	for i, v := range x {
		e := math.Exp(float64(v - m))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

// Sigmoid applies the logistic function element-wise.
func Sigmoid(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return out
}

// TopK returns the k best-scored labels, best first; k <= 0 or k > len means all. Ties keep
// class order, as a stable sort in HF's pipelines does.
func TopK(scores []float32, labels []string, k int) []Label {
	out := make([]Label, len(scores))
	for i, s := range scores {
		out[i] = Label{Label: labels[i], Score: s, ID: i}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	if k > 0 && k < len(out) {
		out = out[:k]
	}
	return out
}

// SingleInput returns the model input a single-input pipeline feeds: the one named want if the
// model has it, else the model's only input.
func SingleInput(info *sdk.ModelInfo, want string) (sdk.ValueInfo, error) {
	for _, in := range info.Inputs {
		if in.Name == want {
			return in, nil
		}
	}
	if len(info.Inputs) == 1 {
		return info.Inputs[0], nil
	}
	names := make([]string, len(info.Inputs))
	for i, in := range info.Inputs {
		names[i] = in.Name
	}
	return sdk.ValueInfo{}, fmt.Errorf("model has inputs %v and none is named %q; this pipeline feeds one input", names, want)
}

// Output returns a named output of a run as float32 values with its shape.
func Output(res *sdk.RunResult, name string) ([]float32, []int64, error) {
	v := res.Output(name)
	if v == nil || v.Tensor == nil {
		return nil, nil, fmt.Errorf("model returned no output %q", name)
	}
	data, err := sdk.Values[float32](v.Tensor)
	if err != nil {
		return nil, nil, fmt.Errorf("output %q: %w", name, err)
	}
	return data, v.Tensor.Shape, nil
}
