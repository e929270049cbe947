package models

import (
	"fmt"
	"sort"
	"strings"
)

// Family is a pipeline family: models in one family share pre- and post-processing shape and
// backend requirements.
type Family string

// The pipeline families.
const (
	TextEncoder  Family = "text-encoder"
	TextDecoder  Family = "text-decoder"
	TextSeq2Seq  Family = "text-seq2seq"
	Vision       Family = "vision"
	VisionText   Family = "vision-text"
	Audio        Family = "audio"
	Multimodal   Family = "multimodal"
	Diffusion    Family = "diffusion"
	StateSpace   Family = "state-space"
	MixtureOfExp Family = "mixture-of-experts"
	RAG          Family = "rag"
)

// Families lists every pipeline family, in the order the design names them.
var Families = []Family{TextEncoder, TextDecoder, TextSeq2Seq, Vision, VisionText, Audio, Multimodal, Diffusion, StateSpace, MixtureOfExp, RAG}

// Task is what a pipeline produces, named as HF pipelines name them.
type Task string

// architectureTasks maps the class-name suffix of config.json's architectures to a task.
var architectureTasks = []struct {
	suffix string
	task   Task
}{
	{"ForImageClassification", "image-classification"},
	{"ForObjectDetection", "object-detection"},
	{"ForSemanticSegmentation", "image-segmentation"},
	{"ForDepthEstimation", "depth-estimation"},
	{"ForSequenceClassification", "text-classification"},
	{"ForTokenClassification", "token-classification"},
	{"ForQuestionAnswering", "question-answering"},
	{"ForMaskedLM", "fill-mask"},
	{"ForCausalLM", "text-generation"},
	{"ForConditionalGeneration", "text2text-generation"},
	{"ForCTC", "automatic-speech-recognition"},
	{"ForAudioClassification", "audio-classification"},
	{"ForSpeechSeq2Seq", "automatic-speech-recognition"},
	{"VisionEncoderDecoderModel", "image-to-text"},
	{"LMHeadModel", "text-generation"},
	{"MTModel", "text2text-generation"},
	{"CLIPModel", "zero-shot-image-classification"},
	{"SiglipModel", "zero-shot-image-classification"},
	{"Model", "feature-extraction"},
}

// featureFamilies says which family a bare encoder ("...Model", feature extraction) belongs to.
// This table covers the fixture architectures; the full model_type registry is its own issue.
var featureFamilies = map[string]Family{
	"bert": TextEncoder, "distilbert": TextEncoder, "roberta": TextEncoder, "xlm-roberta": TextEncoder,
	"deberta-v2": TextEncoder, "electra": TextEncoder,
	"vit": Vision, "dinov2": Vision, "convnext": Vision, "resnet": Vision, "swin": Vision,
}

// Classify returns the family and task of a model from its config.json. The task comes from
// the architecture class name; the family from the task, with model_type deciding where the
// task alone is ambiguous.
func Classify(c *Config) (Family, Task, error) {
	if c.ModelType == "" && len(c.Architectures) == 0 {
		return "", "", fmt.Errorf("config.json has neither model_type nor architectures; cannot tell what kind of model this is")
	}
	var task Task
	for _, arch := range c.Architectures {
		for _, at := range architectureTasks {
			if strings.HasSuffix(arch, at.suffix) {
				task = at.task
				break
			}
		}
		if task != "" {
			break
		}
	}
	switch task {
	case "image-classification", "object-detection", "image-segmentation", "depth-estimation":
		return Vision, task, nil
	case "text-classification", "token-classification", "question-answering", "fill-mask":
		return TextEncoder, task, nil
	case "text-generation":
		return TextDecoder, task, nil
	case "automatic-speech-recognition", "audio-classification":
		return Audio, task, nil
	case "image-to-text", "zero-shot-image-classification":
		return VisionText, task, nil
	case "feature-extraction":
		if f, ok := featureFamilies[c.ModelType]; ok {
			return f, task, nil
		}
	case "text2text-generation":
		if c.ModelType == "whisper" {
			return Audio, "automatic-speech-recognition", nil
		}
		return TextSeq2Seq, task, nil
	}
	if task == "" {
		return "", "", fmt.Errorf("config.json architectures %v (model_type %q) name no task hfhost knows; known architecture suffixes: %s",
			c.Architectures, c.ModelType, knownSuffixes())
	}
	return "", task, fmt.Errorf("model_type %q with task %s is not classified into a pipeline family yet", c.ModelType, task)
}

func knownSuffixes() string {
	s := make([]string, len(architectureTasks))
	for i, a := range architectureTasks {
		s[i] = a.suffix
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
