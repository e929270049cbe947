package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRunVisionTasks runs the built hfhost binary on the detection, segmentation and depth
// fixtures and checks its output against transformers' recorded pipeline outputs.
func TestCLIRunVisionTasks(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cpu"`, ""))
	modelDir := func(arch string) string { return filepath.Join(root, "testdata", "models", arch) }
	input := func(arch, name string) string {
		return filepath.Join(modelDir(arch), "expected", "inputs", name+".png")
	}
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		stdout, stderr, code := hfhost(t, nil, append([]string{"run", "--config", cfg}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return stdout
	}

	t.Run("object-detection json", func(t *testing.T) {
		var p hfDetections
		readJSONFile(t, filepath.Join(modelDir("yolos"), "expected", "pipeline.json"), &p)
		// transformers recorded every query (threshold 0.0); the default 0.5 keeps those above it.
		stdout := run(t, "--model", modelDir("yolos"), "--json", input("yolos", "gradient_64x48"))
		var out struct {
			Task      string  `json:"task"`
			Backend   string  `json:"backend"`
			Threshold float64 `json:"threshold"`
			Results   []struct {
				Detections []hfDetection `json:"detections"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("json output: %v\n%s", err, stdout)
		}
		if out.Task != "object-detection" || out.Backend != "cpu" || out.Threshold != 0.5 || len(out.Results) != 1 {
			t.Fatalf("output: %s", stdout)
		}
		var want []hfDetection
		for _, d := range p.Outputs["gradient_64x48"].Detections {
			if d.Score > 0.5 {
				want = append(want, d)
			}
		}
		got := out.Results[0].Detections
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%d detections above 0.5, transformers %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Label != want[i].Label || got[i].Box != want[i].Box || math.Abs(got[i].Score-want[i].Score) > 1e-5 {
				t.Errorf("detection %d: %+v, transformers %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("object-detection text", func(t *testing.T) {
		var p hfDetections
		readJSONFile(t, filepath.Join(modelDir("detr"), "expected", "pipeline.json"), &p)
		w := p.Outputs["noise_40x40"].Detections[0]
		stdout := run(t, "--model", modelDir("detr"), "--threshold", "0", input("detr", "noise_40x40"))
		line := fmt.Sprintf("  %-16s %.4f [%d,%d,%d,%d]\n", w.Label, w.Score, w.Box.XMin, w.Box.YMin, w.Box.XMax, w.Box.YMax)
		if !strings.HasPrefix(stdout, "noise_40x40.png: 10 detections above 0\n"+line) {
			t.Errorf("stdout %q; want the input, its 10 detections and first %q", stdout, line)
		}
	})

	t.Run("image-segmentation", func(t *testing.T) {
		var p struct {
			Outputs map[string]struct {
				Segments []hfSegment `json:"segments"`
			} `json:"outputs"`
		}
		readJSONFile(t, filepath.Join(modelDir("segformer"), "expected", "pipeline.json"), &p)
		stdout := run(t, "--model", modelDir("segformer"), "--json", input("segformer", "shapes_80x100"))
		var out struct {
			Task    string `json:"task"`
			Results []struct {
				Width, Height int
				Segments      []struct {
					Label  string   `json:"label"`
					Score  *float64 `json:"score"`
					Pixels int      `json:"pixels"`
				} `json:"segments"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("json output: %v\n%s", err, stdout)
		}
		want := p.Outputs["shapes_80x100"].Segments
		if out.Task != "image-segmentation" || len(out.Results) != 1 || out.Results[0].Width != 80 || out.Results[0].Height != 100 || len(out.Results[0].Segments) != len(want) {
			t.Fatalf("output %s; transformers has %d segments", stdout, len(want))
		}
		for i, w := range want {
			g := out.Results[0].Segments[i]
			if g.Label != w.Label || g.Score != nil || g.Pixels != w.Pixels255 {
				t.Errorf("segment %d: %+v, transformers %s with %d pixels", i, g, w.Label, w.Pixels255)
			}
		}
		text := run(t, "--model", modelDir("segformer"), input("segformer", "shapes_80x100"))
		if !strings.HasPrefix(text, "shapes_80x100.png: 80x100, 2 segments\n  "+want[0].Label+" ") {
			t.Errorf("text output %q", text)
		}
	})

	t.Run("depth-estimation", func(t *testing.T) {
		var p struct {
			Outputs map[string]hfDepth `json:"outputs"`
		}
		readJSONFile(t, filepath.Join(modelDir("dpt"), "expected", "pipeline.json"), &p)
		want := readNpyFile(t, filepath.Join(modelDir("dpt"), "expected", p.Outputs["noise_40x40"].PredictedDepthNpy))
		lo, hi := want.F32[0], want.F32[0]
		for _, v := range want.F32 {
			lo, hi = min(lo, v), max(hi, v)
		}
		stdout := run(t, "--model", modelDir("dpt"), "--json", input("dpt", "noise_40x40"))
		var out struct {
			Task    string `json:"task"`
			Results []struct {
				Width, Height int
				Min, Max      float64
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("json output: %v\n%s", err, stdout)
		}
		if out.Task != "depth-estimation" || len(out.Results) != 1 {
			t.Fatalf("output: %s", stdout)
		}
		r := out.Results[0]
		tol := 1e-5 * math.Max(math.Abs(float64(hi)), 1)
		if r.Width != 40 || r.Height != 40 || math.Abs(r.Min-float64(lo)) > tol || math.Abs(r.Max-float64(hi)) > tol {
			t.Errorf("depth %dx%d range [%g, %g]; transformers 40x40 [%g, %g]", r.Width, r.Height, r.Min, r.Max, lo, hi)
		}
		text := run(t, "--model", modelDir("dpt"), input("dpt", "noise_40x40"))
		if !strings.HasPrefix(text, "noise_40x40.png: 40x40 depth min ") {
			t.Errorf("text output %q", text)
		}
	})

	t.Run("text input refused", func(t *testing.T) {
		stdout, stderr, code := hfhost(t, nil, "run", "--config", cfg, "--model", modelDir("detr"), "--text", "a cat")
		if code != 2 || stdout != "" || !strings.Contains(stderr, "object-detection model: give image files with --input") {
			t.Errorf("exit %d stdout %q stderr %q; want exit 2 asking for --input", code, stdout, stderr)
		}
	})
}
