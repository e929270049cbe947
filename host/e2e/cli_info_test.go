package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCLIDevicesAndPlan(t *testing.T) {
	cfg := writeConfig(t, pluginConfig(`"cuda", "faulty", "cpu"`, "[backends.faulty.env]\nHFHOST_FAULT = \"unavailable\"\n"))
	out, stderr, code := hfhost(t, nil, "devices", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("devices: exit %d: %s", code, stderr)
	}
	var reports []struct {
		Backend     string
		Error       string
		Description *struct {
			RuntimeVersion    string
			UnavailableReason string
			Devices           []struct{ ID, Kind string }
		}
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, out)
	}
	byName := map[string]int{}
	for i, r := range reports {
		byName[r.Backend] = i
	}
	cpu := reports[byName["cpu"]]
	if cpu.Description == nil || cpu.Description.RuntimeVersion != "1.30.0" || len(cpu.Description.Devices) != 1 || cpu.Description.Devices[0].Kind != "cpu" {
		t.Errorf("cpu: %+v", cpu)
	}
	if r := reports[byName["cuda"]]; !strings.Contains(r.Error, "not installed") {
		t.Errorf("cuda: %+v", r)
	}
	if r := reports[byName["faulty"]]; r.Description == nil || !strings.Contains(r.Description.UnavailableReason, "told to be unavailable") {
		t.Errorf("faulty: %+v", r)
	}

	out, stderr, code = hfhost(t, nil, "plan", "--config", cfg)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"family:     vision", "cuda      skipped: plugin not installed", "faulty    skipped: unavailable: faulty test plugin told to be unavailable", "cpu       selected"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	// A configuration in which nothing can run: plan says so and fails.
	none := writeConfig(t, pluginConfig(`"cuda"`, ""))
	if _, stderr, code := hfhost(t, nil, "plan", "--config", none); code != 1 || !strings.Contains(stderr, "no backend can run this model here") {
		t.Errorf("plan with no usable backend: exit %d, %q", code, stderr)
	}
}
