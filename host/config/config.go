// Package config owns hfhost's TOML configuration: which backends to try in which order, where
// their plugin binaries are, their options and timeouts, per-family overrides and the failure
// policy. Unknown keys are errors that name the key and its line, so a typo never silently
// changes behaviour.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Policy says what happens when a backend fails to load or run a model.
type Policy string

// The failure policies.
const (
	// Next tries the next backend in order, logging why the failed one was skipped.
	Next Policy = "next"
	// Fail stops with the error.
	Fail Policy = "fail"
)

// KnownBackends are the backends this project builds, in the built-in order of precedence.
var KnownBackends = []string{"cuda", "rocm", "mps", "openvino", "qnn", "cpu"}

// Duration is a time.Duration written as a string in TOML ("30s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (examples: \"30s\", \"5m\")", string(b))
	}
	if v <= 0 {
		return fmt.Errorf("duration %q must be positive", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole configuration file.
type Config struct {
	// Order lists backends by precedence.
	Order []string `toml:"order"`
	// OnFailure is the failure policy: "next" or "fail".
	OnFailure Policy `toml:"on_failure"`
	// PluginDir is searched for hfhost-plugin-<name> before the hfhost executable's directory
	// and $PATH.
	PluginDir string `toml:"plugin_dir"`
	// CacheDir holds compiled-model caches and unpacked built-in models.
	CacheDir string `toml:"cache_dir"`
	// RunTimeout bounds one Run call; a plugin that exceeds it is considered hung and replaced.
	RunTimeout Duration `toml:"run_timeout"`
	// LoadTimeout bounds one Load call.
	LoadTimeout Duration `toml:"load_timeout"`
	// LogLevel is trace, debug, info, warn or error.
	LogLevel string `toml:"log_level"`

	Backends map[string]*Backend `toml:"backends"`
	Families map[string]*Family  `toml:"families"`

	// Source says where the configuration came from, for messages.
	Source string `toml:"-"`
}

// Backend configures one backend plugin.
type Backend struct {
	// Path is the plugin binary; empty means search for hfhost-plugin-<name>.
	Path string `toml:"path"`
	// SHA256 pins the binary: the plugin is refused if its hash differs.
	SHA256 string `toml:"sha256"`
	// Disabled removes the backend from every order.
	Disabled bool `toml:"disabled"`
	// StartTimeout bounds the plugin's start-up handshake.
	StartTimeout Duration `toml:"start_timeout"`
	// Options are passed to the plugin's Load (e.g. intra_op_threads, graph_optimization).
	Options map[string]string `toml:"options"`
	// Env is added to the plugin process's environment (e.g. HFHOST_ORT_LIB).
	Env map[string]string `toml:"env"`
}

// Family overrides selection for one pipeline family.
type Family struct {
	// Order replaces the global order for this family.
	Order []string `toml:"order"`
	// Exclude removes backends for this family.
	Exclude []string `toml:"exclude"`
	// OnFailure overrides the failure policy for this family.
	OnFailure Policy `toml:"on_failure"`
}

// Default returns the built-in configuration.
func Default() *Config {
	c := &Config{Source: "built-in defaults"}
	c.fill()
	return c
}

func (c *Config) fill() {
	if len(c.Order) == 0 {
		c.Order = append([]string(nil), KnownBackends...)
	}
	if c.OnFailure == "" {
		c.OnFailure = Next
	}
	if c.RunTimeout.Duration == 0 {
		c.RunTimeout.Duration = 5 * time.Minute
	}
	if c.LoadTimeout.Duration == 0 {
		c.LoadTimeout.Duration = 10 * time.Minute
	}
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir()
	}
	if c.Backends == nil {
		c.Backends = map[string]*Backend{}
	}
	for _, name := range KnownBackends {
		if c.Backends[name] == nil {
			c.Backends[name] = &Backend{}
		}
	}
	for _, b := range c.Backends {
		if b.StartTimeout.Duration == 0 {
			b.StartTimeout.Duration = 30 * time.Second
		}
	}
	if c.Families == nil {
		c.Families = map[string]*Family{}
	}
}

// DefaultCacheDir is $HFHOST_CACHE, else $XDG_CACHE_HOME/hfhost, else ~/.cache/hfhost.
func DefaultCacheDir() string {
	if d := os.Getenv("HFHOST_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "hfhost")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "hfhost")
	}
	return filepath.Join(os.TempDir(), "hfhost-cache")
}

// EnvVar names the environment variable that points at a config file.
const EnvVar = "HFHOST_CONFIG"

// Find loads the configuration from flagPath if given, else $HFHOST_CONFIG, else
// $XDG_CONFIG_HOME/hfhost/config.toml (~/.config/hfhost/config.toml), else the built-in
// defaults. A path that was named explicitly must exist.
func Find(flagPath string) (*Config, error) {
	if flagPath != "" {
		return Load(flagPath)
	}
	if p := os.Getenv(EnvVar); p != "" {
		return Load(p)
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if h, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(h, ".config")
		}
	}
	if dir != "" {
		p := filepath.Join(dir, "hfhost", "config.toml")
		if _, err := os.Stat(p); err == nil {
			return Load(p)
		}
	}
	return Default(), nil
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Source = path
	return c, nil
}

// Parse decodes and validates TOML config text.
func Parse(b []byte) (*Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		// Keys inside free-form maps (options, env) decode into the map, so anything left
		// undecoded is a key this program does not know.
		k := und[0]
		return nil, fmt.Errorf("line %d: unknown key %q%s", lineOf(b, k), k.String(), suggest(k))
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.fill()
	return &c, nil
}

func (c *Config) validate() error {
	for _, p := range []Policy{c.OnFailure} {
		if p != "" && p != Next && p != Fail {
			return fmt.Errorf("on_failure = %q: want \"next\" or \"fail\"", p)
		}
	}
	for _, name := range c.Order {
		if !validName.MatchString(name) {
			return fmt.Errorf("order: %q is not a backend name (letters, digits, - and _)", name)
		}
	}
	for name, b := range c.Backends {
		if !validName.MatchString(name) {
			return fmt.Errorf("backends.%s: not a valid backend name", name)
		}
		if b.SHA256 != "" && !sha256Re.MatchString(b.SHA256) {
			return fmt.Errorf("backends.%s.sha256: want 64 hex digits, got %q", name, b.SHA256)
		}
	}
	for fam, f := range c.Families {
		if f.OnFailure != "" && f.OnFailure != Next && f.OnFailure != Fail {
			return fmt.Errorf("families.%s.on_failure = %q: want \"next\" or \"fail\"", fam, f.OnFailure)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "trace", "debug", "info", "warn", "error", "off":
	default:
		return fmt.Errorf("log_level = %q: want trace, debug, info, warn, error or off", c.LogLevel)
	}
	return nil
}

var (
	validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	sha256Re  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// OrderFor returns the backends to try for a family, in order, without disabled or excluded
// ones, and the failure policy that applies.
func (c *Config) OrderFor(family string) ([]string, Policy) {
	order, policy := c.Order, c.OnFailure
	var exclude []string
	if f := c.Families[family]; f != nil {
		if len(f.Order) > 0 {
			order = f.Order
		}
		if f.OnFailure != "" {
			policy = f.OnFailure
		}
		exclude = f.Exclude
	}
	var out []string
	for _, name := range order {
		if b := c.Backends[name]; b != nil && b.Disabled {
			continue
		}
		if contains(exclude, name) {
			continue
		}
		out = append(out, name)
	}
	return out, policy
}

// Backend returns the settings of a backend, with defaults for one not in the file.
func (c *Config) Backend(name string) *Backend {
	if b := c.Backends[name]; b != nil {
		return b
	}
	return &Backend{StartTimeout: Duration{30 * time.Second}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lineOf finds the line where an undecoded key is written. The TOML library reports undecoded
// keys without positions, so look for the last key component at the start of a line (or as a
// table header) after the line of its parent table.
func lineOf(src []byte, key toml.Key) int {
	lines := strings.Split(string(src), "\n")
	last := key[len(key)-1]
	parent := strings.Join(key[:len(key)-1], ".")
	inParent := parent == ""
	keyRe := regexp.MustCompile(`^\s*("?)` + regexp.QuoteMeta(last) + `("?)\s*=`)
	tableRe := regexp.MustCompile(`^\s*\[+\s*([^\]]+?)\s*\]+`)
	for i, l := range lines {
		if m := tableRe.FindStringSubmatch(l); m != nil {
			name := strings.ReplaceAll(m[1], `"`, "")
			if name == key.String() {
				return i + 1
			}
			inParent = name == parent || (parent != "" && strings.HasPrefix(key.String(), name+".") && strings.Count(key.String()[len(name)+1:], ".") == 0)
			continue
		}
		if inParent && keyRe.MatchString(l) {
			return i + 1
		}
	}
	// Dotted keys written inline (a.b = 1): fall back to the first line mentioning the key.
	for i, l := range lines {
		if strings.Contains(l, last) {
			return i + 1
		}
	}
	return 0
}

var knownKeys = []string{"order", "on_failure", "plugin_dir", "cache_dir", "run_timeout", "load_timeout", "log_level",
	"backends", "families", "path", "sha256", "disabled", "start_timeout", "options", "env", "exclude"}

// suggest names a close known key, for typos.
func suggest(k toml.Key) string {
	last := k[len(k)-1]
	best, bestD := "", 3
	for _, known := range knownKeys {
		if d := editDistance(last, known); d < bestD {
			best, bestD = known, d
		}
	}
	if best == "" {
		sorted := append([]string(nil), knownKeys...)
		sort.Strings(sorted)
		return "; known keys are " + strings.Join(sorted, ", ")
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
