package models

import (
	"path/filepath"
	"slices"
	"testing"
)

// minModelTypes is the number of model types in transformers 4.57.3's CONFIG_MAPPING_NAMES
// (measured when registry.json was generated); a regenerated table that loses types fails.
const (
	minModelTypes    = 421
	minArchitectures = 1052
)

func TestRegistryEntries(t *testing.T) {
	r, err := loadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	types := ModelTypes()
	if len(types) < minModelTypes {
		t.Errorf("registry has %d model types, want at least %d", len(types), minModelTypes)
	}
	if len(r.Architectures) < minArchitectures {
		t.Errorf("registry has %d architectures, want at least %d", len(r.Architectures), minArchitectures)
	}
	if RegistryTransformers() == "" {
		t.Error("registry does not say which transformers version it comes from")
	}
	perFamily := map[Family]int{}
	for _, mt := range types {
		e, ok := Lookup(mt)
		if !ok {
			t.Fatalf("ModelTypes lists %q but Lookup does not find it", mt)
		}
		if !slices.Contains(Families, e.Family) {
			t.Errorf("%s: family %q is not one of %v", mt, e.Family, Families)
		}
		perFamily[e.Family]++
		if (len(e.Tasks) == 0) == (e.ConfigOnly == "") {
			t.Errorf("%s: %d tasks and config-only note %q; want tasks or a note saying why there are none", mt, len(e.Tasks), e.ConfigOnly)
		}
		for task, cls := range e.Tasks {
			if task == "" || cls == "" {
				t.Errorf("%s: empty task or class in %v", mt, e.Tasks)
			}
			if _, ok := r.Architectures[cls]; !ok {
				t.Errorf("%s: class %s for %s is missing from the architectures index", mt, cls, task)
			}
		}
	}
	// Diffusion models are not transformers model types (diffusers is a separate library);
	// every other family must have members.
	for _, f := range Families {
		if f == Diffusion {
			if perFamily[f] != 0 {
				t.Errorf("%d transformers model types are classified as diffusion; none are", perFamily[f])
			}
			continue
		}
		if perFamily[f] == 0 {
			t.Errorf("no model type is classified as %s", f)
		}
	}
	for cls, a := range r.Architectures {
		e, ok := r.ModelTypes[a.ModelType]
		if !ok {
			t.Errorf("architecture %s names model_type %q, which the registry lacks", cls, a.ModelType)
			continue
		}
		if _, ok := e.Tasks[a.Task]; !ok {
			t.Errorf("architecture %s runs as %s, which model_type %s does not list (%v)", cls, a.Task, a.ModelType, e.Tasks)
		}
		f, task, err := Classify(&Config{ModelType: a.ModelType, Architectures: []string{cls}})
		if err != nil || f != e.Family || task != a.Task {
			t.Errorf("Classify(%s, %s) = %s %s %v, want %s %s", a.ModelType, cls, f, task, err, e.Family, a.Task)
		}
	}
}

func TestLookup(t *testing.T) {
	cases := []struct {
		modelType string
		family    Family
		task      Task
		class     string
	}{
		{"bert", TextEncoder, "fill-mask", "BertForMaskedLM"},
		{"xlm-roberta", TextEncoder, "text-classification", "XLMRobertaForSequenceClassification"},
		{"gpt2", TextDecoder, "text-generation", "GPT2LMHeadModel"},
		{"t5", TextSeq2Seq, "text2text-generation", "T5ForConditionalGeneration"},
		{"vit", Vision, "image-classification", "ViTForImageClassification"},
		{"clip", VisionText, "zero-shot-image-classification", "CLIPModel"},
		{"whisper", Audio, "automatic-speech-recognition", "WhisperForConditionalGeneration"},
		{"llava", Multimodal, "image-text-to-text", "LlavaForConditionalGeneration"},
		{"mamba", StateSpace, "text-generation", "MambaForCausalLM"},
		{"jamba", StateSpace, "text-generation", "JambaForCausalLM"},
		{"mixtral", MixtureOfExp, "text-generation", "MixtralForCausalLM"},
		{"dbrx", MixtureOfExp, "text-generation", "DbrxForCausalLM"},
		{"rag", RAG, "", ""},
	}
	for _, tc := range cases {
		e, ok := Lookup(tc.modelType)
		if !ok {
			t.Errorf("%s: not found", tc.modelType)
			continue
		}
		if e.Family != tc.family || e.Tasks[tc.task] != tc.class {
			t.Errorf("%s: got %s %s=%q, want %s %s", tc.modelType, e.Family, tc.task, e.Tasks[tc.task], tc.family, tc.class)
		}
		if tc.task == "" && e.ConfigOnly == "" {
			t.Errorf("%s: no tasks and no config-only note", tc.modelType)
		}
	}
	e, _ := Lookup("bert")
	delete(e.Tasks, "fill-mask")
	if e2, _ := Lookup("bert"); e2.Tasks["fill-mask"] == "" {
		t.Error("changing a looked-up entry changed the registry")
	}
	if _, ok := Lookup("no-such-model"); ok {
		t.Error("an unknown model_type must not be found")
	}
}

func TestClassifyRegistry(t *testing.T) {
	cases := []struct {
		c      Config
		family Family
		task   Task
	}{
		// Exact class lookup: the suffix rules would call this text2text-generation.
		{Config{ModelType: "qwen2_vl", Architectures: []string{"Qwen2VLForConditionalGeneration"}}, Multimodal, "image-text-to-text"},
		{Config{ModelType: "mixtral", Architectures: []string{"MixtralForCausalLM"}}, MixtureOfExp, "text-generation"},
		{Config{ModelType: "mamba", Architectures: []string{"MambaForCausalLM"}}, StateSpace, "text-generation"},
		// An unknown model_type takes the family of the model type its class belongs to.
		{Config{ModelType: "my-mixtral", Architectures: []string{"MixtralForCausalLM"}}, MixtureOfExp, "text-generation"},
		// A custom head on a known model_type: suffix task, registry family.
		{Config{ModelType: "qwen2_moe", Architectures: []string{"MyQwenForSequenceClassification"}}, MixtureOfExp, "text-classification"},
		// Neither class nor model_type known: the task decides.
		{Config{ModelType: "custom", Architectures: []string{"CustomForTokenClassification"}}, TextEncoder, "token-classification"},
	}
	for _, tc := range cases {
		f, task, err := Classify(&tc.c)
		if err != nil || f != tc.family || task != tc.task {
			t.Errorf("%s %v: got %s %s %v, want %s %s", tc.c.ModelType, tc.c.Architectures, f, task, err, tc.family, tc.task)
		}
	}
	if _, task, err := Classify(&Config{ModelType: "custom", Architectures: []string{"CustomModel"}}); err == nil {
		t.Errorf("feature extraction of an unknown model_type has no family, got task %s and no error", task)
	}
}

// TestFixtureModelsFamilies pins the family and task of every fixture model directory (the
// values Classify gave before the registry existed).
func TestFixtureModelsFamilies(t *testing.T) {
	want := map[string][2]string{
		"audio-spectrogram-transformer":   {"audio", "audio-classification"},
		"bart":                            {"text-seq2seq", "text2text-generation"},
		"bert":                            {"text-encoder", "text-classification"},
		"bert-feature-extraction":         {"text-encoder", "feature-extraction"},
		"bert-fill-mask":                  {"text-encoder", "fill-mask"},
		"clip":                            {"vision-text", "zero-shot-image-classification"},
		"convnext":                        {"vision", "image-classification"},
		"deberta-v2":                      {"text-encoder", "text-classification"},
		"detr":                            {"vision", "object-detection"},
		"dinov2":                          {"vision", "image-classification"},
		"distilbert":                      {"text-encoder", "text-classification"},
		"distilbert-question-answering":   {"text-encoder", "question-answering"},
		"distilbert-token-classification": {"text-encoder", "token-classification"},
		"dpt":                             {"vision", "depth-estimation"},
		"electra":                         {"text-encoder", "text-classification"},
		"gpt2":                            {"text-decoder", "text-generation"},
		"llama":                           {"text-decoder", "text-generation"},
		"marian":                          {"text-seq2seq", "text2text-generation"},
		"mistral":                         {"text-decoder", "text-generation"},
		"phi3":                            {"text-decoder", "text-generation"},
		"qwen2":                           {"text-decoder", "text-generation"},
		"resnet":                          {"vision", "image-classification"},
		"roberta":                         {"text-encoder", "text-classification"},
		"segformer":                       {"vision", "image-segmentation"},
		"siglip":                          {"vision-text", "zero-shot-image-classification"},
		"swin":                            {"vision", "image-classification"},
		"t5":                              {"text-seq2seq", "text2text-generation"},
		"vision-encoder-decoder":          {"vision-text", "image-to-text"},
		"vit":                             {"vision", "image-classification"},
		"wav2vec2":                        {"audio", "automatic-speech-recognition"},
		"whisper":                         {"audio", "automatic-speech-recognition"},
		"xlm-roberta":                     {"text-encoder", "text-classification"},
		"yolos":                           {"vision", "object-detection"},
	}
	for name, w := range want {
		d, err := Open(filepath.Join("../../testdata/models", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		f, task, err := Classify(d.Config)
		if err != nil || string(f) != w[0] || string(task) != w[1] {
			t.Errorf("%s: got %s %s %v, want %s %s", name, f, task, err, w[0], w[1])
		}
	}
}
