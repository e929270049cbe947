package cli

import (
	"context"
	"strings"
	"testing"
)

func TestUsageAndVersion(t *testing.T) {
	var out, errb strings.Builder
	if code := Main(context.Background(), nil, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "Usage:") {
		t.Fatalf("no arguments: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "hfhost ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
}

func TestPluginsListsEveryKnownBackend(t *testing.T) {
	t.Setenv("HFHOST_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PATH", "/nonexistent")
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"plugins"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, b := range []string{"cuda", "rocm", "mps", "openvino", "qnn", "cpu"} {
		if !strings.Contains(out.String(), b+" ") {
			t.Errorf("plugins output lacks %s:\n%s", b, out.String())
		}
	}
}

func TestMissingConfigIsOneLine(t *testing.T) {
	var out, errb strings.Builder
	code := Main(context.Background(), []string{"devices", "--config", "/nonexistent.toml"}, &out, &errb)
	if code != exitError || !strings.Contains(errb.String(), "/nonexistent.toml") {
		t.Fatalf("exit 0, stderr %q", errb.String())
	}
	if n := strings.Count(strings.TrimRight(errb.String(), "\n"), "\n"); n != 0 {
		t.Fatalf("want one line, got %q", errb.String())
	}
}
