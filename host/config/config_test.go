package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseFullConfig(t *testing.T) {
	src := `
order = ["cuda", "cpu"]
on_failure = "fail"
run_timeout = "45s"

[backends.cpu]
path = "/opt/hfhost/hfhost-plugin-cpu"
start_timeout = "5s"
[backends.cpu.options]
intra_op_threads = "2"
[backends.cpu.env]
HFHOST_ORT_LIB = "/opt/ort/libonnxruntime.so.1"

[backends.cuda]
disabled = true

[families.vision]
order = ["openvino", "cpu"]
exclude = ["openvino"]
on_failure = "next"
`
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.RunTimeout.Duration != 45*time.Second || c.OnFailure != Fail {
		t.Fatalf("got run_timeout %v on_failure %v", c.RunTimeout, c.OnFailure)
	}
	if got := c.Backend("cpu"); got.Path != "/opt/hfhost/hfhost-plugin-cpu" || got.StartTimeout.Duration != 5*time.Second ||
		got.Options["intra_op_threads"] != "2" || got.Env["HFHOST_ORT_LIB"] == "" {
		t.Fatalf("cpu backend: %+v", got)
	}
	order, policy := c.OrderFor("text")
	if strings.Join(order, ",") != "cpu" || policy != Fail {
		t.Fatalf("text order %v policy %v; want [cpu] (cuda disabled) and fail", order, policy)
	}
	order, policy = c.OrderFor("vision")
	if strings.Join(order, ",") != "cpu" || policy != Next {
		t.Fatalf("vision order %v policy %v; want [cpu] next", order, policy)
	}
}

func TestUnknownKeyNamesKeyAndLine(t *testing.T) {
	cases := []struct {
		src, key string
		line     int
	}{
		{"order = [\"cpu\"]\norder_typo = 1\n", "order_typo", 2},
		{"[backends.cpu]\npath = \"x\"\nstart_timout = \"5s\"\n", "backends.cpu.start_timout", 3},
		{"[families.vision]\norder = [\"cpu\"]\n\n[families.text]\nexclud = [\"cpu\"]\n", "families.text.exclud", 5},
		{"[bakends.cpu]\npath = \"x\"\n", "bakends.cpu", 1},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.src))
		if err == nil {
			t.Fatalf("%q: expected an error", tc.src)
		}
		want := "line " + strconv.Itoa(tc.line) + ": unknown key \"" + tc.key + "\""
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got %q, want prefix %q", err, want)
		}
	}
}

func TestTypoSuggestion(t *testing.T) {
	_, err := Parse([]byte("[backends.cpu]\nstart_timout = \"5s\"\n"))
	if err == nil || !strings.Contains(err.Error(), `did you mean "start_timeout"`) {
		t.Fatalf("got %v", err)
	}
}

func TestBadValues(t *testing.T) {
	for src, want := range map[string]string{
		`on_failure = "retry"`:                      `want "next" or "fail"`,
		`run_timeout = "soon"`:                      "not a duration",
		"[backends.cpu]\nsha256 = \"abc\"":          "want 64 hex digits",
		`order = ["cu da"]`:                         "not a backend name",
		"order = [\"cpu\"\n":                        "line ",
		`log_level = "loud"`:                        "log_level",
		"[families.vision]\non_failure = \"maybe\"": "families.vision.on_failure",
	} {
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", src, err, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Default()
	order, policy := c.OrderFor("vision")
	if strings.Join(order, ",") != strings.Join(KnownBackends, ",") || policy != Next {
		t.Fatalf("default order %v policy %v", order, policy)
	}
	if c.Backend("cpu").StartTimeout.Duration == 0 {
		t.Fatal("default start timeout not set")
	}
}

func TestFindPrecedence(t *testing.T) {
	dir := t.TempDir()
	flagFile := filepath.Join(dir, "flag.toml")
	envFile := filepath.Join(dir, "env.toml")
	xdg := filepath.Join(dir, "xdg")
	must(t, os.WriteFile(flagFile, []byte(`order = ["flag"]`), 0o644))
	must(t, os.WriteFile(envFile, []byte(`order = ["env"]`), 0o644))
	must(t, os.MkdirAll(filepath.Join(xdg, "hfhost"), 0o755))
	must(t, os.WriteFile(filepath.Join(xdg, "hfhost", "config.toml"), []byte(`order = ["xdg"]`), 0o644))
	t.Setenv("XDG_CONFIG_HOME", xdg)
	t.Setenv(EnvVar, envFile)
	for _, tc := range []struct{ flag, want string }{{flagFile, "flag"}, {"", "env"}} {
		c, err := Find(tc.flag)
		must(t, err)
		if c.Order[0] != tc.want {
			t.Fatalf("flag %q: got order %v, want %s", tc.flag, c.Order, tc.want)
		}
	}
	t.Setenv(EnvVar, "")
	c, err := Find("")
	must(t, err)
	if c.Order[0] != "xdg" {
		t.Fatalf("got %v, want the XDG config", c.Order)
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "empty"))
	c, err = Find("")
	must(t, err)
	if c.Source != "built-in defaults" {
		t.Fatalf("got source %q, want built-in defaults", c.Source)
	}
	if _, err := Find(filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("a config path given explicitly must exist")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
