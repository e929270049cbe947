package models

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Family is a pipeline family: models in one family share pre- and post-processing shape and
// backend requirements.
type Family string

// The pipeline families. registry.json puts every transformers model_type in one of them;
// Diffusion has no transformers model_type (diffusion pipelines live in diffusers, a separate
// library) and is left for a diffusers registry.
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

// architectureTasks maps the class-name suffix of config.json's architectures to a task, for
// classes the registry does not name (custom heads, remote code).
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

// registryJSON is written by tools/fixtures/gen_registry.py from transformers' own auto
// mappings: every model_type, the pipeline tasks it supports with the architecture class for
// each, and its family.
//
//go:embed registry.json
var registryJSON []byte

// Entry is what the registry knows about one model_type.
type Entry struct {
	Family Family
	// Tasks maps each pipeline task the model_type supports to the transformers class that
	// serves it. It is a copy: changing it changes nothing in the registry.
	Tasks map[Task]string
	// ConfigOnly says why the model_type has no task (no transformers auto mapping names it);
	// empty when Tasks is not.
	ConfigOnly string
}

// archEntry is what the registry knows about one architecture class name.
type archEntry struct {
	Task      Task   `json:"task"`
	ModelType string `json:"model_type"`
}

type registryEntry struct {
	Family     Family          `json:"family"`
	Tasks      map[Task]string `json:"tasks"`
	ConfigOnly string          `json:"config_only"`
	Note       string          `json:"note"`
}

type registryFile struct {
	Transformers  string                   `json:"transformers"`
	ModelTypes    map[string]registryEntry `json:"model_types"`
	Architectures map[string]archEntry     `json:"architectures"`
}

// loadRegistry parses the embedded table once; it is read-only afterwards.
var loadRegistry = sync.OnceValues(func() (*registryFile, error) {
	var r registryFile
	if err := json.Unmarshal(registryJSON, &r); err != nil {
		return nil, fmt.Errorf("embedded registry.json is not valid JSON (%w); regenerate it with tools/fixtures/generate.sh gen_registry.py", err)
	}
	if len(r.ModelTypes) == 0 || len(r.Architectures) == 0 {
		return nil, fmt.Errorf("embedded registry.json holds %d model types and %d architectures, want both non-zero; regenerate it with tools/fixtures/generate.sh gen_registry.py",
			len(r.ModelTypes), len(r.Architectures))
	}
	return &r, nil
})

// Lookup returns the registry entry of a config.json model_type (as transformers spells it:
// "bert", "xlm-roberta", "qwen2_moe"). ok is false for a model_type transformers does not
// know (or if the embedded table could not be read, which the package tests rule out).
func Lookup(modelType string) (Entry, bool) {
	r, err := loadRegistry()
	if err != nil {
		return Entry{}, false
	}
	e, ok := r.ModelTypes[modelType]
	if !ok {
		return Entry{}, false
	}
	return Entry{Family: e.Family, Tasks: maps.Clone(e.Tasks), ConfigOnly: e.ConfigOnly}, true
}

// ModelTypes returns every model_type the registry knows, sorted.
func ModelTypes() []string {
	r, err := loadRegistry()
	if err != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(r.ModelTypes))
}

// RegistryTransformers is the transformers version the registry was generated from.
func RegistryTransformers() string {
	r, err := loadRegistry()
	if err != nil {
		return ""
	}
	return r.Transformers
}

// Classify returns the family and task of a model from its config.json. The task comes from
// the architecture class name: first an exact match in the registry (every class transformers'
// auto mappings name), then the class-name suffix rules. The family is the registry's family
// for the model_type; for a model_type the registry does not know, the family of the model
// type the architecture class belongs to, and failing that the family the task implies.
func Classify(c *Config) (Family, Task, error) {
	if c.ModelType == "" && len(c.Architectures) == 0 {
		return "", "", fmt.Errorf("config.json has neither model_type nor architectures; cannot tell what kind of model this is")
	}
	r, err := loadRegistry()
	if err != nil {
		return "", "", err
	}
	var task Task
	archType := ""
	for _, arch := range c.Architectures {
		if a, ok := r.Architectures[arch]; ok {
			task, archType = a.Task, a.ModelType
			break
		}
	}
	if task == "" {
		task = suffixTask(c.Architectures)
	}
	if task == "" {
		hint := ""
		if e, ok := r.ModelTypes[c.ModelType]; ok && len(e.Tasks) > 0 {
			hint = fmt.Sprintf("; transformers classes for model_type %q: %s", c.ModelType, classList(e.Tasks))
		}
		return "", "", fmt.Errorf("config.json architectures %v (model_type %q) name no task hfhost knows; known architecture suffixes: %s%s",
			c.Architectures, c.ModelType, knownSuffixes(), hint)
	}
	if e, ok := r.ModelTypes[c.ModelType]; ok {
		return e.Family, task, nil
	}
	if e, ok := r.ModelTypes[archType]; ok {
		return e.Family, task, nil
	}
	switch task {
	case "image-classification", "object-detection", "image-segmentation", "depth-estimation":
		return Vision, task, nil
	case "text-classification", "token-classification", "question-answering", "fill-mask":
		return TextEncoder, task, nil
	case "text-generation":
		return TextDecoder, task, nil
	case "text2text-generation":
		return TextSeq2Seq, task, nil
	case "automatic-speech-recognition", "audio-classification":
		return Audio, task, nil
	case "image-to-text", "zero-shot-image-classification":
		return VisionText, task, nil
	}
	return "", task, fmt.Errorf("model_type %q is not in hfhost's registry (transformers %s) and task %s does not say which pipeline family it belongs to; set model_type in config.json to the transformers model type it derives from",
		c.ModelType, r.Transformers, task)
}

// suffixTask is the task the first architecture with a known class-name suffix names.
func suffixTask(archs []string) Task {
	for _, arch := range archs {
		for _, at := range architectureTasks {
			if strings.HasSuffix(arch, at.suffix) {
				return at.task
			}
		}
	}
	return ""
}

func classList(tasks map[Task]string) string {
	s := make([]string, 0, len(tasks))
	for t, cls := range tasks {
		s = append(s, fmt.Sprintf("%s (%s)", cls, t))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func knownSuffixes() string {
	s := make([]string, len(architectureTasks))
	for i, a := range architectureTasks {
		s[i] = a.suffix
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
