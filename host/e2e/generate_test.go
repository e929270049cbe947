package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/models"
	"github.com/hfhost/hfhost/host/pipeline/generate"
	"github.com/hfhost/hfhost/sdk"
)

// decoderFixtures are the text-generation fixtures: one model.onnx with past_key_values inputs.
var decoderFixtures = []string{"gpt2", "llama", "qwen2", "mistral", "phi3"}

// TestGreedyGenerationMatchesTransformers runs every recorded case of every decoder fixture
// through the CPU plugin, with the key/value cache kept in the plugin as handles, and checks
// that the generated ids equal model.generate(do_sample=False, max_new_tokens=12) exactly and
// that the first step's logits match PyTorch's.
func TestGreedyGenerationMatchesTransformers(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	for _, model := range decoderFixtures {
		t.Run(model, func(t *testing.T) {
			ctx := testContext(t)
			dir := filepath.Join(root, "testdata", "models", model)
			d, err := models.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			graph, err := d.ONNX("model", "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.Open(ctx, backend.Request{Family: string(models.TextDecoder), Graphs: map[string]string{"model": graph}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close(ctx) })
			rec := &handleRecorder{Session: s, issued: map[string]bool{}}
			g, err := generate.NewGreedy(d, rec)
			if err != nil {
				t.Fatal(err)
			}
			var summary struct {
				Cases []struct {
					Name           string         `json:"name"`
					GenerateKwargs map[string]any `json:"generate_kwargs"`
				} `json:"cases"`
			}
			readJSON(t, filepath.Join(dir, "expected", "summary.json"), &summary)
			if len(summary.Cases) == 0 {
				t.Fatal("summary.json lists no cases")
			}
			worst := 0.0
			for _, c := range summary.Cases {
				caseDir := filepath.Join(dir, "expected", c.Name)
				maxNew := int(c.GenerateKwargs["max_new_tokens"].(float64))
				ids := readNpyFile(t, filepath.Join(caseDir, "input_ids.npy"))
				mask := readNpyFile(t, filepath.Join(caseDir, "attention_mask.npy"))
				want := readNpyFile(t, filepath.Join(caseDir, "generated_ids.npy"))
				steps := readNpyFile(t, filepath.Join(caseDir, "step_logits.npy"))
				b, width := int(ids.Shape[0]), int(ids.Shape[1])
				idv, mv, wv := ids.Int64s(), mask.Int64s(), want.Int64s()
				prompts := make([][]int64, b)
				for r := range prompts {
					for c := 0; c < width; c++ {
						if mv[r*width+c] != 0 {
							prompts[r] = append(prompts[r], idv[r*width+c])
						}
					}
				}
				vocab := int(steps.Shape[2])
				sv := steps.Float32s()
				step0, all := 0.0, 0.0
				seen := 0
				obs := g.Observe(func(step int, logits [][]float32) {
					seen++
					for r, row := range logits {
						if len(row) != vocab {
							t.Errorf("%s step %d row %d: %d logits, want %d", c.Name, step, r, len(row), vocab)
							return
						}
						ref := sv[(step*b+r)*vocab : (step*b+r+1)*vocab]
						for i := range row {
							d := math.Abs(float64(row[i]) - float64(ref[i]))
							all = math.Max(all, d)
							if step == 0 {
								step0 = math.Max(step0, d)
							}
						}
					}
				})
				got, st, err := obs.GenerateBatch(ctx, prompts, maxNew)
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				wantWidth := int(want.Shape[1])
				for r := range prompts {
					wantNew := wv[r*wantWidth+width : (r+1)*wantWidth]
					if !equalIDs(got[r], wantNew) {
						t.Errorf("%s row %d: generated %v, transformers generated %v", c.Name, r, got[r], wantNew)
					}
				}
				if st.Steps != len(got[0]) {
					t.Errorf("%s: %d model runs for %d tokens", c.Name, st.Steps, len(got[0]))
				}
				if seen != int(steps.Shape[0]) {
					t.Errorf("%s: %d steps, transformers ran %d", c.Name, seen, steps.Shape[0])
				}
				t.Logf("%s: %d rows, %d new tokens each; logits max abs diff vs PyTorch: step 0 %.3g, all steps %.3g", c.Name, b, len(got[0]), step0, all)
				worst = math.Max(worst, step0)
				if step0 > 1e-4 {
					t.Errorf("%s: step-0 logits differ from PyTorch by %g; want <= 1e-4", c.Name, step0)
				}
			}
			t.Logf("%s: worst step-0 logits diff over %d cases: %.3g; %d cache handles kept in the plugin, %d fed back, %d released", model, len(summary.Cases), worst, len(rec.issued), rec.fedHandles, rec.released)
			if len(rec.issued) == 0 || rec.fedHandles == 0 || rec.released != len(rec.issued) {
				t.Errorf("the cache did not stay in the plugin: %d handles kept, %d fed back, %d released; want every kept handle fed back and released once", len(rec.issued), rec.fedHandles, rec.released)
			}
			// The plugin really freed them: a released handle is unknown now.
			for h := range rec.issued {
				req := &sdk.RunRequest{Inputs: []sdk.Value{{Name: "past_key_values.0.key", Handle: h}}}
				if _, err := s.Run(ctx, "model", req); sdk.CodeOf(err) != sdk.NotFound {
					t.Errorf("run with released handle %s: error %v; want NotFound", h, err)
				}
				break
			}
		})
	}
}

// handleRecorder counts the cache handles a real session keeps, is fed and releases.
type handleRecorder struct {
	*backend.Session
	issued     map[string]bool
	fedHandles int
	released   int
}

func (h *handleRecorder) Run(ctx context.Context, role string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	for _, v := range req.Inputs {
		if v.Handle != "" {
			h.fedHandles++
		}
	}
	res, err := h.Session.Run(ctx, role, req)
	if err == nil {
		for _, v := range res.Outputs {
			if v.Handle != "" {
				h.issued[v.Handle] = true
			}
		}
	}
	return res, err
}

func (h *handleRecorder) Release(ctx context.Context, handles []string) error {
	for _, x := range handles {
		if h.issued[x] {
			h.released++
		}
	}
	return h.Session.Release(ctx, handles)
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTextGenerationMatchesPipeline runs every text of every decoder fixture through
// TextGenerator on the CPU plugin and compares the text with transformers'
// pipeline("text-generation", do_sample=False, max_new_tokens=12) in pipeline.json.
func TestTextGenerationMatchesPipeline(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	for _, model := range decoderFixtures {
		t.Run(model, func(t *testing.T) {
			ctx := testContext(t)
			d, s := openTextTask(t, m, model)
			g, err := generate.NewTextGenerator(d, s)
			if err != nil {
				t.Fatal(err)
			}
			var summary struct {
				Cases []struct {
					Name  string   `json:"name"`
					Texts []string `json:"texts"`
				} `json:"cases"`
			}
			readJSON(t, filepath.Join(d.Path, "expected", "summary.json"), &summary)
			n := 0
			for _, c := range summary.Cases {
				var p struct {
					Kwargs struct {
						DoSample     bool `json:"do_sample"`
						MaxNewTokens int  `json:"max_new_tokens"`
					} `json:"kwargs"`
					Output [][]struct {
						GeneratedText string `json:"generated_text"`
					} `json:"output"`
				}
				readJSON(t, filepath.Join(d.Path, "expected", c.Name, "pipeline.json"), &p)
				if p.Kwargs.DoSample || p.Kwargs.MaxNewTokens == 0 || len(p.Output) != len(c.Texts) {
					t.Fatalf("%s: pipeline.json kwargs %+v with %d outputs for %d texts; want greedy with max_new_tokens", c.Name, p.Kwargs, len(p.Output), len(c.Texts))
				}
				for i, text := range c.Texts {
					res, _, err := g.Generate(ctx, text, p.Kwargs.MaxNewTokens)
					if err != nil {
						t.Fatalf("%s: %v", c.Name, err)
					}
					if want := p.Output[i][0].GeneratedText; res.GeneratedText != want {
						t.Errorf("%s text %d: generated %q (ids %v); transformers' pipeline gave %q", c.Name, i, res.GeneratedText, res.NewTokenIDs, want)
					}
					n++
				}
			}
			t.Logf("%s: %d texts compared with pipeline.json", model, n)
		})
	}
}

// TestGreedyReportsCacheLostToPluginRestart kills the plugin between two generation steps: the
// session restarts it, the cache handles are gone with the old process, and Generate must say
// so; the next call then works again on the restarted plugin.
func TestGreedyReportsCacheLostToPluginRestart(t *testing.T) {
	state := t.TempDir()
	pidfile := filepath.Join(state, "pid")
	m := newManager(t, pluginConfig(`"faulty"`, fmt.Sprintf("[backends.faulty.env]\nHFHOST_FAULT_PIDFILE = %q\n", pidfile)))
	ctx := testContext(t)
	d, err := models.Open(filepath.Join(root, "testdata", "models", "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	graph, err := d.ONNX("model", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Open(ctx, backend.Request{Family: string(models.TextDecoder), Graphs: map[string]string{"model": graph}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	g, err := generate.NewGreedy(d, s)
	if err != nil {
		t.Fatal(err)
	}
	prompt := readNpyFile(t, filepath.Join(d.Path, "expected", "prompt", "input_ids.npy")).Int64s()
	pid := readPid(t, pidfile)
	killer := g.Observe(func(step int, _ [][]float32) {
		if step == 2 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitFor(t, 10*time.Second, func() bool { return !processAlive(pid) })
		}
	})
	_, _, err = killer.Generate(ctx, prompt, 6)
	if err == nil || !strings.Contains(err.Error(), "plugin most likely restarted") || !strings.Contains(err.Error(), "step 3") {
		t.Fatalf("error %v; want one saying the cache was lost to a plugin restart at step 3", err)
	}
	t.Logf("after the kill: %v", err)
	if newPid := readPid(t, pidfile); newPid == pid {
		t.Fatal("plugin was not restarted")
	}
	got, _, err := g.Generate(ctx, prompt, 12)
	if err != nil {
		t.Fatalf("generation on the restarted plugin: %v", err)
	}
	want := readNpyFile(t, filepath.Join(d.Path, "expected", "prompt", "generated_ids.npy")).Int64s()[len(prompt):]
	if !equalIDs(got, want) {
		t.Errorf("after the restart: generated %v, want %v", got, want)
	}
}
