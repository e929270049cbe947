package audio

import (
	"context"
	"fmt"
	"math"
)

// Wav2Vec2 is transformers' Wav2Vec2FeatureExtractor as pipelines call it on a batch
// (padding=True): clips padded to the longest with padding_value, then, with do_normalize, each
// row made zero-mean unit-variance ((x-mean)/sqrt(var+1e-7)). When an attention mask is returned
// the statistics cover the real samples only and the padding is reset to padding_value; without a
// mask they cover the padded row, exactly as transformers does. Output input_values [batch, T].
type Wav2Vec2 struct {
	Rate                int
	PaddingValue        float32
	PadLeft             bool
	DoNormalize         bool
	ReturnAttentionMask bool
}

func newWav2Vec2(c *config) (*Wav2Vec2, error) {
	left, err := c.paddingLeft()
	if err != nil {
		return nil, err
	}
	if fs := intOr(c.FeatureSize, 1); fs != 1 {
		return nil, fmt.Errorf("feature_size is %d; raw-waveform extractors have 1", fs)
	}
	e := &Wav2Vec2{
		Rate:                intOr(c.SamplingRate, 16000),
		PaddingValue:        float32(floatOr(c.PaddingValue, 0)),
		PadLeft:             left,
		DoNormalize:         boolOr(c.DoNormalize, true),
		ReturnAttentionMask: boolOr(c.ReturnAttentionMask, false),
	}
	if e.Rate < 1 {
		return nil, fmt.Errorf("sampling_rate is %d; expected a positive rate", e.Rate)
	}
	return e, nil
}

// Type implements Extractor.
func (e *Wav2Vec2) Type() string { return "Wav2Vec2FeatureExtractor" }

// SampleRate implements Extractor.
func (e *Wav2Vec2) SampleRate() int { return e.Rate }

// Extract implements Extractor.
func (e *Wav2Vec2) Extract(ctx context.Context, clips [][]float32) (*Features, error) {
	if err := checkBatch(clips); err != nil {
		return nil, err
	}
	T := 0
	for _, c := range clips {
		T = max(T, len(c))
	}
	f := &Features{
		Name:  "input_values",
		Data:  make([]float32, len(clips)*T),
		Shape: []int64{int64(len(clips)), int64(T)},
	}
	if e.ReturnAttentionMask {
		f.AttentionMask = make([]int64, len(clips)*T)
		f.MaskShape = []int64{int64(len(clips)), int64(T)}
	}
	for b, c := range clips {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audio: wav2vec2 features: %w", err)
		}
		row, k := padTrim(c, T, e.PaddingValue, e.PadLeft)
		out := f.Data[b*T : (b+1)*T]
		copy(out, row)
		start := 0
		if e.PadLeft {
			start = T - k
		}
		if e.ReturnAttentionMask {
			for i := start; i < start+k; i++ {
				f.AttentionMask[b*T+i] = 1
			}
		}
		if !e.DoNormalize {
			continue
		}
		// transformers normalises the first `length` entries of the row (length = sum of the
		// mask), which for left padding is not where the samples are; kept as it does.
		stats := out
		if e.ReturnAttentionMask {
			stats = out[:k]
		}
		mean, variance := meanVar(stats)
		scale := math.Sqrt(variance + 1e-7)
		for i, v := range out {
			out[i] = float32((float64(v) - mean) / scale)
		}
		if e.ReturnAttentionMask {
			for i := k; i < T; i++ {
				out[i] = e.PaddingValue
			}
		}
	}
	return f, nil
}

// meanVar is the mean and population variance of x, accumulated in float64.
func meanVar(x []float32) (float64, float64) {
	if len(x) == 0 {
		return 0, 0
	}
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	mean := s / float64(len(x))
	ss := 0.0
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, ss / float64(len(x))
}
