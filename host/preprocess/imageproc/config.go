package imageproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kind is an HF image processor class whose preprocessing this package
// reproduces.
type Kind string

// The supported image processor classes.
const (
	KindViT       Kind = "ViTImageProcessor"
	KindConvNext  Kind = "ConvNextImageProcessor"
	KindBit       Kind = "BitImageProcessor"
	KindCLIP      Kind = "CLIPImageProcessor"
	KindSiglip    Kind = "SiglipImageProcessor"
	KindSegformer Kind = "SegformerImageProcessor"
	KindDPT       Kind = "DPTImageProcessor"
	KindDetr      Kind = "DetrImageProcessor"
	KindYolos     Kind = "YolosImageProcessor"
)

var (
	imagenetDefaultMean  = []float64{0.485, 0.456, 0.406}
	imagenetDefaultStd   = []float64{0.229, 0.224, 0.225}
	imagenetStandardMean = []float64{0.5, 0.5, 0.5}
	imagenetStandardStd  = []float64{0.5, 0.5, 0.5}
	openAICLIPMean       = []float64{0.48145466, 0.4578275, 0.40821073}
	openAICLIPStd        = []float64{0.26862954, 0.26130258, 0.27577711}
)

// kindDefaults holds each class's __init__ defaults in transformers 4.57.3,
// used for fields a preprocessor_config.json leaves out.
type kindDefaults struct {
	size        Size
	squareInt   bool // get_size_dict(default_to_square=...) for an int size
	resample    Resample
	mean, std   []float64
	centerCrop  bool
	crop        Size
	pad         bool
	convertRGB  bool
	cropPct     float64
	ensureMult  int
	sizeWithMax bool // DETR/YOLOS: an int size plus max_size
}

func defaultsFor(k Kind) (kindDefaults, bool) {
	switch k {
	case KindViT:
		return kindDefaults{size: Size{Height: 224, Width: 224}, squareInt: true, resample: Bilinear, mean: imagenetStandardMean, std: imagenetStandardStd}, true
	case KindSiglip:
		return kindDefaults{size: Size{Height: 224, Width: 224}, squareInt: true, resample: Bicubic, mean: imagenetStandardMean, std: imagenetStandardStd}, true
	case KindConvNext:
		return kindDefaults{size: Size{ShortestEdge: 384}, resample: Bilinear, mean: imagenetDefaultMean, std: imagenetDefaultStd, cropPct: 224.0 / 256.0}, true
	case KindBit, KindCLIP:
		return kindDefaults{size: Size{ShortestEdge: 224}, resample: Bicubic, mean: openAICLIPMean, std: openAICLIPStd, centerCrop: true, crop: Size{Height: 224, Width: 224}, convertRGB: true}, true
	case KindSegformer:
		return kindDefaults{size: Size{Height: 512, Width: 512}, squareInt: true, resample: Bilinear, mean: imagenetDefaultMean, std: imagenetDefaultStd}, true
	case KindDPT:
		return kindDefaults{size: Size{Height: 384, Width: 384}, squareInt: true, resample: Bicubic, mean: imagenetStandardMean, std: imagenetStandardStd, ensureMult: 1}, true
	case KindDetr, KindYolos:
		return kindDefaults{size: Size{ShortestEdge: 800, LongestEdge: 1333}, resample: Bilinear, mean: imagenetDefaultMean, std: imagenetDefaultStd, pad: true, sizeWithMax: true}, true
	}
	return kindDefaults{}, false
}

// aliases maps older or derived class names that share a supported class's
// preprocessing to it.
var aliases = map[string]Kind{
	"ViTFeatureExtractor":       KindViT,
	"ConvNextFeatureExtractor":  KindConvNext,
	"CLIPFeatureExtractor":      KindCLIP,
	"SegformerFeatureExtractor": KindSegformer,
	"DPTFeatureExtractor":       KindDPT,
	"DetrFeatureExtractor":      KindDetr,
	"YolosFeatureExtractor":     KindYolos,
	"BitImageProcessor":         KindBit,
}

// SupportedTypes lists the image_processor_type values LoadConfig accepts,
// sorted.
func SupportedTypes() []string {
	set := map[string]bool{}
	for _, k := range []Kind{KindViT, KindConvNext, KindBit, KindCLIP, KindSiglip, KindSegformer, KindDPT, KindDetr, KindYolos} {
		set[string(k)] = true
	}
	for a := range aliases {
		set[a] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func resolveKind(name string) (Kind, error) {
	if _, ok := defaultsFor(Kind(name)); ok {
		return Kind(name), nil
	}
	if k, ok := aliases[name]; ok {
		return k, nil
	}
	if strings.HasSuffix(name, "ImageProcessorFast") {
		if k, err := resolveKind(strings.TrimSuffix(name, "Fast")); err == nil {
			return k, nil
		}
	}
	return "", fmt.Errorf("imageproc: image_processor_type %q is not supported; supported: %s", name, strings.Join(SupportedTypes(), ", "))
}

// Size is a transformers size dictionary. Zero fields are absent.
type Size struct {
	Height, Width int
	ShortestEdge  int
	LongestEdge   int
	// MaxHeight and MaxWidth are DETR/YOLOS's {"max_height", "max_width"}:
	// scale to fit inside, keeping the aspect ratio.
	MaxHeight, MaxWidth int
}

func (s Size) String() string {
	var parts []string
	if s.Height != 0 || s.Width != 0 {
		parts = append(parts, fmt.Sprintf("height=%d width=%d", s.Height, s.Width))
	}
	if s.ShortestEdge != 0 {
		parts = append(parts, fmt.Sprintf("shortest_edge=%d", s.ShortestEdge))
	}
	if s.LongestEdge != 0 {
		parts = append(parts, fmt.Sprintf("longest_edge=%d", s.LongestEdge))
	}
	if s.MaxHeight != 0 || s.MaxWidth != 0 {
		parts = append(parts, fmt.Sprintf("max_height=%d max_width=%d", s.MaxHeight, s.MaxWidth))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func (s Size) hasHW() bool { return s.Height > 0 && s.Width > 0 }

// Processor is a parsed preprocessor_config.json: everything Preprocess needs
// to turn decoded images into a model's pixel_values. All fields are set
// (class defaults filled in) after LoadConfig. Preprocess does not modify the
// Processor, so one Processor may serve concurrent requests.
type Processor struct {
	Kind             Kind
	DoResize         bool
	Size             Size
	Resample         Resample
	CropPct          float64 // ConvNext only (class default 224/256)
	DoCenterCrop     bool
	CropSize         Size
	DoRescale        bool
	RescaleFactor    float64
	DoNormalize      bool
	ImageMean        []float64
	ImageStd         []float64
	DoPad            bool
	SizeDivisor      int  // DPT
	PadSize          Size // DETR/YOLOS fixed pad target (height, width); zero = pad to the batch maximum
	KeepAspectRatio  bool // DPT
	EnsureMultipleOf int  // DPT
	// DoConvertRGB is read for completeness; Preprocess converts to RGB
	// regardless, as transformers' load_image does before any processor.
	DoConvertRGB bool
	// DoConvertGrayscale is the hfhost extension "do_convert_grayscale": the
	// image is converted as PIL's convert("L") does and the batch has 1
	// channel.
	DoConvertGrayscale bool
}

// Channels is the channel count of the batches p produces.
func (p *Processor) Channels() int {
	if p.DoConvertGrayscale {
		return 1
	}
	return 3
}

type rawConfig struct {
	ImageProcessorType   *string         `json:"image_processor_type"`
	FeatureExtractorType *string         `json:"feature_extractor_type"`
	DoResize             *bool           `json:"do_resize"`
	Size                 json.RawMessage `json:"size"`
	MaxSize              *int            `json:"max_size"`
	Resample             *int            `json:"resample"`
	CropPct              *float64        `json:"crop_pct"`
	DoCenterCrop         *bool           `json:"do_center_crop"`
	CropSize             json.RawMessage `json:"crop_size"`
	DoRescale            *bool           `json:"do_rescale"`
	RescaleFactor        *float64        `json:"rescale_factor"`
	DoNormalize          *bool           `json:"do_normalize"`
	ImageMean            json.RawMessage `json:"image_mean"`
	ImageStd             json.RawMessage `json:"image_std"`
	DoPad                *bool           `json:"do_pad"`
	SizeDivisor          *int            `json:"size_divisor"`
	PadSize              json.RawMessage `json:"pad_size"`
	KeepAspectRatio      *bool           `json:"keep_aspect_ratio"`
	EnsureMultipleOf     *int            `json:"ensure_multiple_of"`
	DoConvertRGB         *bool           `json:"do_convert_rgb"`
	DoConvertGrayscale   *bool           `json:"do_convert_grayscale"`
	NumChannels          *int            `json:"num_channels"`
}

// LoadConfig reads a preprocessor_config.json.
func LoadConfig(path string) (*Processor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("imageproc: reading processor config: %w", err)
	}
	p, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// FromDir reads modelDir/preprocessor_config.json.
func FromDir(modelDir string) (*Processor, error) {
	return LoadConfig(filepath.Join(modelDir, "preprocessor_config.json"))
}

// ParseConfig parses the JSON of a preprocessor_config.json.
func ParseConfig(data []byte) (*Processor, error) {
	var rc rawConfig
	if err := json.Unmarshal(data, &rc); err != nil {
		return nil, fmt.Errorf("imageproc: preprocessor config is not valid JSON: %w", err)
	}
	typeName := ""
	switch {
	case rc.ImageProcessorType != nil:
		typeName = *rc.ImageProcessorType
	case rc.FeatureExtractorType != nil:
		typeName = *rc.FeatureExtractorType
	default:
		return nil, fmt.Errorf("imageproc: preprocessor config has neither image_processor_type nor feature_extractor_type; want one of: %s", strings.Join(SupportedTypes(), ", "))
	}
	kind, err := resolveKind(typeName)
	if err != nil {
		return nil, err
	}
	d, _ := defaultsFor(kind)
	p := &Processor{
		Kind:             kind,
		DoResize:         boolOr(rc.DoResize, true),
		Size:             d.size,
		Resample:         d.resample,
		CropPct:          d.cropPct,
		DoCenterCrop:     d.centerCrop,
		CropSize:         d.crop,
		DoRescale:        boolOr(rc.DoRescale, true),
		RescaleFactor:    1.0 / 255.0,
		DoNormalize:      boolOr(rc.DoNormalize, true),
		ImageMean:        d.mean,
		ImageStd:         d.std,
		DoPad:            d.pad,
		EnsureMultipleOf: d.ensureMult,
		DoConvertRGB:     d.convertRGB,
	}
	if rc.Size != nil && string(rc.Size) != "null" {
		s, err := parseSize(rc.Size, "size", d.squareInt)
		if err != nil {
			return nil, err
		}
		if d.sizeWithMax && s.ShortestEdge > 0 && s.LongestEdge == 0 && s.Height == 0 {
			// DETR/YOLOS: an int size (or {"shortest_edge"}) takes max_size, 1333 by default.
			s.LongestEdge = 1333
			if rc.MaxSize != nil {
				s.LongestEdge = *rc.MaxSize
			}
		}
		p.Size = s
	}
	if rc.Resample != nil {
		p.Resample = Resample(*rc.Resample)
		if p.Resample != Nearest {
			if _, err := filterFor(p.Resample); err != nil {
				return nil, err
			}
		}
	}
	if rc.CropPct != nil {
		p.CropPct = *rc.CropPct
	}
	if rc.DoCenterCrop != nil {
		p.DoCenterCrop = *rc.DoCenterCrop
	}
	if rc.CropSize != nil && string(rc.CropSize) != "null" {
		s, err := parseSize(rc.CropSize, "crop_size", true)
		if err != nil {
			return nil, err
		}
		p.CropSize = s
	}
	if rc.RescaleFactor != nil {
		p.RescaleFactor = *rc.RescaleFactor
	}
	if rc.ImageMean != nil && string(rc.ImageMean) != "null" {
		if p.ImageMean, err = parseFloats(rc.ImageMean, "image_mean"); err != nil {
			return nil, err
		}
	}
	if rc.ImageStd != nil && string(rc.ImageStd) != "null" {
		if p.ImageStd, err = parseFloats(rc.ImageStd, "image_std"); err != nil {
			return nil, err
		}
	}
	if rc.DoPad != nil {
		p.DoPad = *rc.DoPad
	}
	if rc.SizeDivisor != nil {
		p.SizeDivisor = *rc.SizeDivisor
	}
	if rc.PadSize != nil && string(rc.PadSize) != "null" {
		s, err := parseSize(rc.PadSize, "pad_size", true)
		if err != nil {
			return nil, err
		}
		p.PadSize = s
	}
	if rc.KeepAspectRatio != nil {
		p.KeepAspectRatio = *rc.KeepAspectRatio
	}
	if rc.EnsureMultipleOf != nil {
		p.EnsureMultipleOf = *rc.EnsureMultipleOf
	}
	if rc.DoConvertRGB != nil {
		p.DoConvertRGB = *rc.DoConvertRGB
	}
	if rc.DoConvertGrayscale != nil {
		p.DoConvertGrayscale = *rc.DoConvertGrayscale
	}
	if rc.NumChannels != nil && *rc.NumChannels != p.Channels() {
		return nil, fmt.Errorf("imageproc: num_channels is %d but the config converts to %d channel(s); set \"do_convert_grayscale\": true for 1-channel models", *rc.NumChannels, p.Channels())
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// maxSide bounds every size in a config.
const maxSide = 1 << 14

func (p *Processor) validate() error {
	c := p.Channels()
	if p.DoNormalize {
		if len(p.ImageMean) == 1 && c > 1 {
			p.ImageMean = []float64{p.ImageMean[0], p.ImageMean[0], p.ImageMean[0]}
		}
		if len(p.ImageStd) == 1 && c > 1 {
			p.ImageStd = []float64{p.ImageStd[0], p.ImageStd[0], p.ImageStd[0]}
		}
		if c == 1 && len(p.ImageMean) == 3 && len(p.ImageStd) == 3 && p.ImageMean[0] == p.ImageMean[1] && p.ImageMean[1] == p.ImageMean[2] && p.ImageStd[0] == p.ImageStd[1] && p.ImageStd[1] == p.ImageStd[2] {
			p.ImageMean, p.ImageStd = p.ImageMean[:1], p.ImageStd[:1]
		}
		if len(p.ImageMean) != c || len(p.ImageStd) != c {
			return fmt.Errorf("imageproc: image_mean has %d and image_std %d values; want %d (one per channel)", len(p.ImageMean), len(p.ImageStd), c)
		}
		for _, s := range p.ImageStd {
			if s == 0 {
				return errors.New("imageproc: image_std contains 0; normalization would divide by zero")
			}
		}
	}
	if p.DoResize {
		s := p.Size
		switch {
		case s.hasHW():
		case s.MaxHeight > 0 && (p.Kind == KindDetr || p.Kind == KindYolos):
		case s.ShortestEdge > 0 || s.LongestEdge > 0:
			if p.Kind == KindDPT {
				return fmt.Errorf("imageproc: DPTImageProcessor wants size {height, width}, got %v", s)
			}
			if s.ShortestEdge > 0 && s.LongestEdge > 0 && s.LongestEdge <= s.ShortestEdge && p.Kind != KindDetr && p.Kind != KindYolos {
				return fmt.Errorf("imageproc: size longest_edge %d must be greater than shortest_edge %d", s.LongestEdge, s.ShortestEdge)
			}
		default:
			return fmt.Errorf("imageproc: size %v has no usable keys; want {height, width}, {shortest_edge}, {shortest_edge, longest_edge} or {longest_edge}", s)
		}
		if p.Kind == KindConvNext && !s.hasHW() && s.ShortestEdge > 0 && s.ShortestEdge < 384 && p.CropPct <= 0 {
			return fmt.Errorf("imageproc: ConvNextImageProcessor with shortest_edge %d < 384 needs crop_pct > 0, got %v", s.ShortestEdge, p.CropPct)
		}
	}
	for _, v := range []struct {
		name string
		s    Size
	}{{"size", p.Size}, {"crop_size", p.CropSize}, {"pad_size", p.PadSize}} {
		for _, n := range []int{v.s.Height, v.s.Width, v.s.ShortestEdge, v.s.LongestEdge, v.s.MaxHeight, v.s.MaxWidth} {
			if n > maxSide {
				return fmt.Errorf("imageproc: %s %v has a side over %d pixels; no image processor config needs that", v.name, v.s, maxSide)
			}
		}
	}
	if p.SizeDivisor > maxSide || p.EnsureMultipleOf > maxSide {
		return fmt.Errorf("imageproc: size_divisor %d / ensure_multiple_of %d over %d", p.SizeDivisor, p.EnsureMultipleOf, maxSide)
	}
	if p.DoRescale && (math.IsNaN(p.RescaleFactor) || math.IsInf(p.RescaleFactor, 0)) {
		return fmt.Errorf("imageproc: rescale_factor %v is not a finite number", p.RescaleFactor)
	}
	if p.DoCenterCrop && !p.CropSize.hasHW() {
		return fmt.Errorf("imageproc: do_center_crop is set but crop_size %v has no height and width", p.CropSize)
	}
	if p.Kind == KindDPT && p.DoPad && p.SizeDivisor <= 0 {
		return fmt.Errorf("imageproc: DPTImageProcessor do_pad needs size_divisor > 0, got %d", p.SizeDivisor)
	}
	if p.EnsureMultipleOf < 0 {
		return fmt.Errorf("imageproc: ensure_multiple_of %d must be positive", p.EnsureMultipleOf)
	}
	if p.EnsureMultipleOf == 0 {
		p.EnsureMultipleOf = 1
	}
	return nil
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func parseSize(raw json.RawMessage, name string, squareInt bool) (Size, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		if n <= 0 {
			return Size{}, fmt.Errorf("imageproc: %s %d must be positive", name, n)
		}
		if squareInt {
			return Size{Height: n, Width: n}, nil
		}
		return Size{ShortestEdge: n}, nil
	}
	var pair []int
	if err := json.Unmarshal(raw, &pair); err == nil {
		if len(pair) != 2 || pair[0] <= 0 || pair[1] <= 0 {
			return Size{}, fmt.Errorf("imageproc: %s %v: want [height, width] with positive values", name, pair)
		}
		return Size{Height: pair[0], Width: pair[1]}, nil
	}
	var m map[string]*int
	if err := json.Unmarshal(raw, &m); err != nil {
		return Size{}, fmt.Errorf("imageproc: %s %s: want an int, [height, width] or a dict of ints", name, string(raw))
	}
	var s Size
	for k, v := range m {
		if v == nil {
			continue
		}
		if *v < 0 {
			return Size{}, fmt.Errorf("imageproc: %s[%q] = %d must not be negative", name, k, *v)
		}
		switch k {
		case "height":
			s.Height = *v
		case "width":
			s.Width = *v
		case "shortest_edge":
			s.ShortestEdge = *v
		case "longest_edge":
			s.LongestEdge = *v
		case "max_height":
			s.MaxHeight = *v
		case "max_width":
			s.MaxWidth = *v
		default:
			return Size{}, fmt.Errorf("imageproc: %s key %q is not supported; want height/width, shortest_edge, longest_edge, max_height/max_width", name, k)
		}
	}
	if (s.Height > 0) != (s.Width > 0) {
		return Size{}, fmt.Errorf("imageproc: %s %s needs both height and width", name, string(raw))
	}
	if (s.MaxHeight > 0) != (s.MaxWidth > 0) {
		return Size{}, fmt.Errorf("imageproc: %s %s needs both max_height and max_width", name, string(raw))
	}
	return s, nil
}

func parseFloats(raw json.RawMessage, name string) ([]float64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return []float64{f}, nil
	}
	var fs []float64
	if err := json.Unmarshal(raw, &fs); err != nil || len(fs) == 0 {
		return nil, fmt.Errorf("imageproc: %s %s: want a number or a list of numbers", name, string(raw))
	}
	return fs, nil
}
