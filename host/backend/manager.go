// Package backend owns the backend plugin processes and the choice between them: the Manager
// finds, verifies, launches, health-checks, restarts and kills plugins; Open walks the
// configured order of precedence, records why each backend was skipped, and returns a Session
// bound to the first backend that loads the model. A Session restarts a crashed or hung plugin
// once and retries, then falls back to the next backend or fails, as the policy says.
package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hfhost/hfhost/host/config"
	"github.com/hfhost/hfhost/sdk"
)

// BinaryPrefix is the file name prefix of backend plugin executables.
const BinaryPrefix = "hfhost-plugin-"

// Manager launches backend plugins lazily and keeps at most one process per backend.
type Manager struct {
	cfg *config.Config
	log hclog.Logger

	mu      sync.Mutex
	plugins map[string]*Plugin
}

// Plugin is one running backend process.
type Plugin struct {
	Name        string
	Path        string
	Description *sdk.Description
	// Executor is the plugin's executor, reached over gRPC.
	Executor *sdk.Client

	client *plugin.Client
}

// Pid is the plugin's process id, or 0 if it is not running.
func (p *Plugin) Pid() int {
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Alive reports whether the plugin process is running and answering.
func (p *Plugin) Alive() bool {
	if p.client.Exited() {
		return false
	}
	rpc, err := p.client.Client()
	if err != nil {
		return false
	}
	return rpc.Ping() == nil
}

// NewManager returns a manager for the backends in cfg. Call Close to stop every plugin.
func NewManager(cfg *config.Config, log hclog.Logger) *Manager {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Manager{cfg: cfg, log: log, plugins: map[string]*Plugin{}}
}

// Config returns the configuration the manager was made with.
func (m *Manager) Config() *config.Config { return m.cfg }

// Locate finds a backend's plugin binary: the configured path, else hfhost-plugin-<name> in
// plugin_dir, next to the hfhost executable, then on $PATH. A pinned sha256 is checked here.
func (m *Manager) Locate(name string) (string, error) {
	b := m.cfg.Backend(name)
	file := BinaryPrefix + name
	var path string
	if b.Path != "" {
		if _, err := os.Stat(b.Path); err != nil {
			return "", fmt.Errorf("%w: %s (backends.%s.path) does not exist", ErrNotInstalled, b.Path, name)
		}
		path = b.Path
	} else {
		var looked []string
		var dirs []string
		if m.cfg.PluginDir != "" {
			dirs = append(dirs, m.cfg.PluginDir)
		}
		if exe, err := os.Executable(); err == nil {
			dirs = append(dirs, filepath.Dir(exe))
		}
		for _, d := range dirs {
			p := filepath.Join(d, file)
			looked = append(looked, d)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				path = p
				break
			}
		}
		if path == "" {
			if p, err := exec.LookPath(file); err == nil {
				path = p
			} else {
				looked = append(looked, "$PATH")
				return "", fmt.Errorf("%w: %s (looked in %s); build it with `make plugins` or set backends.%s.path", ErrNotInstalled, file, strings.Join(looked, ", "), name)
			}
		}
	}
	if b.SHA256 != "" {
		sum, err := fileSHA256(path)
		if err != nil {
			return "", fmt.Errorf("hashing plugin %s: %w", path, err)
		}
		if !strings.EqualFold(sum, b.SHA256) {
			return "", fmt.Errorf("plugin %s has sha256 %s, but backends.%s.sha256 pins %s; refusing to run it", path, sum, name, b.SHA256)
		}
	}
	return path, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Get returns the running plugin for a backend, launching it if needed. A plugin that has
// exited or stopped answering is replaced.
func (m *Manager) Get(ctx context.Context, name string) (*Plugin, error) {
	return m.get(ctx, name, nil)
}

// Restart replaces failed, the plugin a caller saw crash or hang, with a new process. If
// another caller already replaced it, the replacement is returned as it is.
func (m *Manager) Restart(ctx context.Context, name string, failed *Plugin) (*Plugin, error) {
	return m.get(ctx, name, failed)
}

func (m *Manager) get(ctx context.Context, name string, failed *Plugin) (*Plugin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.plugins[name]; p != nil {
		if p != failed && p.Alive() {
			return p, nil
		}
		if p != failed {
			m.log.Warn("plugin is not answering; replacing it", "backend", name, "pid", p.Pid())
		}
		m.killLocked(name)
	}
	p, err := m.launch(ctx, name)
	if err != nil {
		return nil, err
	}
	m.plugins[name] = p
	return p, nil
}

// Kill stops one backend's plugin.
func (m *Manager) Kill(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.killLocked(name)
}

func (m *Manager) killLocked(name string) {
	if p := m.plugins[name]; p != nil {
		p.client.Kill()
		delete(m.plugins, name)
	}
}

// Close stops every plugin.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, p := range m.plugins {
		p.client.Kill()
		delete(m.plugins, name)
	}
}

func (m *Manager) launch(ctx context.Context, name string) (*Plugin, error) {
	path, err := m.Locate(name)
	if err != nil {
		return nil, err
	}
	b := m.cfg.Backend(name)
	cmd := exec.Command(path)
	// The plugin inherits the host's environment, overridden by the backend's env table
	// (go-plugin would otherwise append the host's environment last, and the last of two
	// duplicate keys wins).
	cmd.Env = os.Environ()
	if m.cfg.LogLevel != "" {
		cmd.Env = append(cmd.Env, "HFHOST_LOG_LEVEL="+m.cfg.LogLevel)
	}
	for k, v := range b.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	setParentDeathSignal(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     b.StartTimeout.Duration,
		Logger:           m.log.Named(name),
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		SkipHostEnv:      true,
	})
	start := time.Now()
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("starting plugin %s: %w", path, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	exe, ok := raw.(*sdk.Client)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin %s returned %T, not an executor", path, raw)
	}
	dctx, cancel := context.WithTimeout(ctx, b.StartTimeout.Duration)
	defer cancel()
	desc, err := exe.Describe(dctx)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: Describe: %w", path, err)
	}
	p := &Plugin{Name: name, Path: path, Description: desc, Executor: exe, client: client}
	m.log.Debug("plugin started", "backend", name, "path", path, "pid", p.Pid(), "took", time.Since(start))
	return p, nil
}

// ErrNotInstalled marks a backend whose plugin binary is not there. Such a backend is always
// skipped, whatever the failure policy, since it is not a failure of the backend.
var ErrNotInstalled = errors.New("plugin not installed")

// errHung marks a call that ran past its timeout; the plugin is then treated as hung.
var errHung = errors.New("plugin did not answer in time")
