package audio

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Features is what an Extractor hands to a model: one tensor named Name ("input_features" for
// Whisper, "input_values" for Wav2Vec2 and AST) and, when the configuration asks for it, an
// attention mask.
type Features struct {
	Name  string
	Data  []float32
	Shape []int64
	// AttentionMask is nil unless the extractor returns one; its shape is MaskShape ([batch, T]).
	AttentionMask []int64
	MaskShape     []int64
}

// Extractor turns mono clips at SampleRate() into model inputs, as the HF feature extractor
// named by Type() does with the same preprocessor_config.json.
type Extractor interface {
	// Type is the feature_extractor_type it implements, e.g. "WhisperFeatureExtractor".
	Type() string
	// SampleRate is the rate, in Hz, clips must have (resample first; see Resample).
	SampleRate() int
	// Extract computes the features of a batch of mono clips.
	Extract(ctx context.Context, clips [][]float32) (*Features, error)
}

// config holds the preprocessor_config.json keys the supported extractors read. Pointers tell
// "absent" (take the HF default) from zero. Other keys (processor_class, mel_filters, ...) are
// ignored, as transformers ignores or recomputes them.
type config struct {
	FeatureExtractorType string   `json:"feature_extractor_type"`
	FeatureSize          *int     `json:"feature_size"`
	SamplingRate         *int     `json:"sampling_rate"`
	PaddingValue         *float64 `json:"padding_value"`
	PaddingSide          *string  `json:"padding_side"`
	ReturnAttentionMask  *bool    `json:"return_attention_mask"`
	DoNormalize          *bool    `json:"do_normalize"`
	// Whisper
	HopLength   *int     `json:"hop_length"`
	ChunkLength *int     `json:"chunk_length"`
	NFFT        *int     `json:"n_fft"`
	Dither      *float64 `json:"dither"`
	// AST
	NumMelBins *int     `json:"num_mel_bins"`
	MaxLength  *int     `json:"max_length"`
	Mean       *float64 `json:"mean"`
	Std        *float64 `json:"std"`
}

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func floatOr(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}

func boolOr(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

func (c *config) paddingLeft() (bool, error) {
	if c.PaddingSide == nil || *c.PaddingSide == "right" {
		return false, nil
	}
	if *c.PaddingSide == "left" {
		return true, nil
	}
	return false, fmt.Errorf("padding_side is %q; expected \"right\" or \"left\"", *c.PaddingSide)
}

// FromDir loads the extractor described by modelDir/preprocessor_config.json.
func FromDir(modelDir string) (Extractor, error) {
	return LoadExtractor(filepath.Join(modelDir, "preprocessor_config.json"))
}

// LoadExtractor reads a preprocessor_config.json and builds the extractor its
// feature_extractor_type names.
func LoadExtractor(path string) (Extractor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audio: reading feature extractor config: %w", err)
	}
	e, err := ParseExtractor(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return e, nil
}

// ParseExtractor builds an extractor from the bytes of a preprocessor_config.json.
func ParseExtractor(b []byte) (Extractor, error) {
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("audio: preprocessor_config.json is not valid JSON: %w", err)
	}
	var (
		e   Extractor
		err error
	)
	switch c.FeatureExtractorType {
	case "WhisperFeatureExtractor":
		e, err = newWhisper(&c)
	case "Wav2Vec2FeatureExtractor":
		e, err = newWav2Vec2(&c)
	case "ASTFeatureExtractor":
		e, err = newAST(&c)
	case "":
		return nil, fmt.Errorf("audio: preprocessor_config.json has no feature_extractor_type; expected one of WhisperFeatureExtractor, Wav2Vec2FeatureExtractor, ASTFeatureExtractor")
	default:
		return nil, fmt.Errorf("audio: feature_extractor_type %q is not supported; supported: WhisperFeatureExtractor, Wav2Vec2FeatureExtractor, ASTFeatureExtractor", c.FeatureExtractorType)
	}
	if err != nil {
		return nil, fmt.Errorf("audio: %s: %w", c.FeatureExtractorType, err)
	}
	return e, nil
}

func checkBatch(clips [][]float32) error {
	if len(clips) == 0 {
		return fmt.Errorf("audio: no clips to extract features from; pass at least one")
	}
	for i, c := range clips {
		if len(c) == 0 {
			return fmt.Errorf("audio: clip %d is empty (0 samples)", i)
		}
	}
	return nil
}
