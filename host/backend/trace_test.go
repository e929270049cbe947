package backend

import (
	"testing"

	"github.com/hfhost/hfhost/host/config"
)

func TestTraceSummary(t *testing.T) {
	tr := Trace{
		{Backend: "cuda", Outcome: "skipped", Reason: "plugin not installed: ...", NotInstalled: true},
		{Backend: "rocm", Outcome: "skipped", Reason: "unavailable: no /dev/kfd"},
		{Backend: "qnn", Outcome: "skipped", Reason: "plugin not installed: ...", NotInstalled: true},
		{Backend: "cpu", Outcome: "selected"},
	}
	want := "cpu (skipped rocm: unavailable: no /dev/kfd; not installed: cuda, qnn)"
	if got := tr.Summary(); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := (Trace{{Backend: "cpu", Outcome: "selected"}}).Summary(); got != "cpu" {
		t.Fatalf("got %q", got)
	}
}

func TestNoBackendEnabled(t *testing.T) {
	cfg, err := config.Parse([]byte("[families.vision]\nexclude = [\"cuda\", \"rocm\", \"mps\", \"openvino\", \"qnn\", \"cpu\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(cfg, nil)
	if _, err := m.Open(t.Context(), Request{Family: "vision"}); err == nil {
		t.Fatal("want an error when every backend is excluded")
	}
}

func TestLocateNotInstalled(t *testing.T) {
	cfg, _ := config.Parse([]byte("plugin_dir = \"/nonexistent\"\n"))
	t.Setenv("PATH", "/nonexistent")
	_, err := NewManager(cfg, nil).Locate("cuda")
	if err == nil {
		t.Fatal("expected an error")
	}
}
