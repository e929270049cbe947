package backend

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hfhost/hfhost/host/config"
	"github.com/hfhost/hfhost/sdk"
)

// Step is one entry of the selection trace: a backend that was chosen, or skipped and why.
type Step struct {
	Backend string `json:"backend"`
	// Outcome is "selected" or "skipped".
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// NotInstalled marks a backend skipped only because its plugin binary is absent.
	NotInstalled bool `json:"not_installed,omitempty"`
}

// Trace is the record of a selection, in the order backends were considered.
type Trace []Step

// Summary writes the trace as one line: "cpu (skipped rocm: unavailable: no /dev/kfd; not
// installed: cuda, qnn)".
func (t Trace) Summary() string {
	var sel string
	var skipped, absent []string
	for _, s := range t {
		switch {
		case s.Outcome == "selected":
			sel = s.Backend
		case s.NotInstalled:
			absent = append(absent, s.Backend)
		default:
			skipped = append(skipped, s.Backend+": "+s.Reason)
		}
	}
	if len(absent) > 0 {
		skipped = append(skipped, "not installed: "+strings.Join(absent, ", "))
	}
	if sel == "" {
		sel = "none"
	}
	if len(skipped) == 0 {
		return sel
	}
	return sel + " (skipped " + strings.Join(skipped, "; ") + ")"
}

// Request says what a pipeline needs from a backend.
type Request struct {
	// Family is the pipeline family ("vision", "text-encoder"...), for per-family overrides.
	Family string
	// Graphs maps a role ("model", "encoder", "decoder") to an ONNX file.
	Graphs map[string]string
	// StaticShapes, when set, lets backends that compile for fixed shapes load the model.
	StaticShapes map[string][]int64
}

// Plan walks the order for req.Family and reports which backend would be chosen, without
// loading the model: a backend is chosen when its plugin starts and says it can run here.
func (m *Manager) Plan(ctx context.Context, family string) Trace {
	order, _ := m.cfg.OrderFor(family)
	var t Trace
	for _, name := range order {
		p, err := m.Get(ctx, name)
		if err != nil {
			t = append(t, Step{Backend: name, Outcome: "skipped", Reason: err.Error(), NotInstalled: errors.Is(err, ErrNotInstalled)})
			continue
		}
		if r := p.Description.UnavailableReason; r != "" {
			t = append(t, Step{Backend: name, Outcome: "skipped", Reason: "unavailable: " + r})
			continue
		}
		t = append(t, Step{Backend: name, Outcome: "selected"})
		return t
	}
	return t
}

// Session is a model loaded on one backend. It is safe for concurrent use.
type Session struct {
	m      *Manager
	req    Request
	order  []string
	policy config.Policy

	mu      sync.Mutex
	next    int // index in order of the next backend to try
	backend string
	plugin  *Plugin
	models  map[string]*sdk.ModelInfo
	trace   Trace
}

// Open loads req's graphs on the first backend in the configured order that can load them.
// The returned error names every backend tried and why it was skipped.
func (m *Manager) Open(ctx context.Context, req Request) (*Session, error) {
	order, policy := m.cfg.OrderFor(req.Family)
	if len(order) == 0 {
		return nil, fmt.Errorf("no backend is enabled for family %q (check order, disabled and families.%s.exclude in %s)", req.Family, req.Family, m.cfg.Source)
	}
	s := &Session{m: m, req: req, order: order, policy: policy}
	if err := s.advance(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Backend is the name of the backend the session runs on now.
func (s *Session) Backend() string { s.mu.Lock(); defer s.mu.Unlock(); return s.backend }

// Trace returns the selection trace so far, including fallbacks after failures.
func (s *Session) Trace() Trace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(Trace(nil), s.trace...)
}

// Model returns the signature of a loaded graph.
func (s *Session) Model(role string) *sdk.ModelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.models[role]
}

// advance moves to the next backend that loads every graph. A backend that is not installed
// or says it cannot run here is always skipped; one that fails to start or to load the model
// is skipped only under policy "next". Called with s.mu held or before s is shared.
func (s *Session) advance(ctx context.Context) error {
	if s.plugin != nil {
		s.unloadAll(ctx)
		s.plugin = nil
	}
	for ; s.next < len(s.order); s.next++ {
		name := s.order[s.next]
		failure := false
		p, err := s.m.Get(ctx, name)
		switch {
		case err != nil:
			failure = !errors.Is(err, ErrNotInstalled)
		case p.Description.UnavailableReason != "":
			err = errors.New("unavailable: " + p.Description.UnavailableReason)
		default:
			var models map[string]*sdk.ModelInfo
			models, err = s.loadAll(ctx, p)
			if err == nil {
				s.backend, s.plugin, s.models = name, p, models
				s.trace = append(s.trace, Step{Backend: name, Outcome: "selected"})
				s.next++
				s.m.log.Info("backend selected", "backend", name, "family", s.req.Family, "trace", s.trace.Summary())
				return nil
			}
			if c := sdk.CodeOf(err); c == sdk.InvalidModel || c == sdk.NotFound {
				// The model itself is broken or missing: every backend would say the same.
				return err
			}
			failure = true
		}
		s.trace = append(s.trace, Step{Backend: name, Outcome: "skipped", Reason: err.Error(), NotInstalled: errors.Is(err, ErrNotInstalled)})
		s.m.log.Info("backend skipped", "backend", name, "family", s.req.Family, "reason", err.Error())
		if failure && s.policy == config.Fail {
			s.next++
			break
		}
	}
	return &NoBackendError{Family: s.req.Family, Trace: append(Trace(nil), s.trace...), Policy: s.policy}
}

// NoBackendError says that no backend could run the model, with the reason for each.
type NoBackendError struct {
	Family string
	Trace  Trace
	Policy config.Policy
}

func (e *NoBackendError) Error() string {
	var parts []string
	for _, st := range e.Trace {
		if st.Outcome == "skipped" {
			parts = append(parts, st.Backend+": "+st.Reason)
		}
	}
	msg := "no backend could run this model"
	if e.Policy == config.Fail {
		msg += " (on_failure = \"fail\" stops at the first failure)"
	}
	if len(parts) == 0 {
		return msg
	}
	return msg + ": " + strings.Join(parts, "; ")
}

func (s *Session) loadAll(ctx context.Context, p *Plugin) (map[string]*sdk.ModelInfo, error) {
	roles := make([]string, 0, len(s.req.Graphs))
	for r := range s.req.Graphs {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	b := s.m.cfg.Backend(p.Name)
	models := map[string]*sdk.ModelInfo{}
	for _, role := range roles {
		lctx, cancel := context.WithTimeout(ctx, s.m.cfg.LoadTimeout.Duration)
		info, err := p.Executor.Load(lctx, &sdk.LoadRequest{
			ModelPath: s.req.Graphs[role], Options: b.Options, StaticShapes: s.req.StaticShapes,
			CacheDir: s.m.cfg.CacheDir + "/compiled/" + p.Name,
		})
		cancel()
		if err != nil {
			for _, mi := range models {
				_ = p.Executor.Unload(ctx, mi.ID)
			}
			return nil, err
		}
		models[role] = info
	}
	return models, nil
}

func (s *Session) unloadAll(ctx context.Context) {
	if s.plugin == nil || !s.plugin.Alive() {
		return
	}
	for _, mi := range s.models {
		_ = s.plugin.Executor.Unload(ctx, mi.ID)
	}
}

// Close unloads the session's models. The plugin keeps running for other sessions.
func (s *Session) Close(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unloadAll(ctx)
	s.plugin = nil
}

// Run runs one graph of the session. Input errors are returned as they are. When the plugin
// crashes or hangs, it is restarted once and the request retried; a second failure moves the
// session to the next backend (policy "next") or returns the error (policy "fail").
func (s *Session) Run(ctx context.Context, role string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	restarted := false
	for {
		s.mu.Lock()
		p, info, backend := s.plugin, s.models[role], s.backend
		s.mu.Unlock()
		if p == nil {
			return nil, fmt.Errorf("session is closed")
		}
		if info == nil {
			return nil, fmt.Errorf("no graph %q in this session", role)
		}
		r := *req
		r.ModelID = info.ID
		res, err := s.runOnce(ctx, p, &r)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run cancelled: %w", ctx.Err())
		}
		code := sdk.CodeOf(err)
		crashed := sdk.IsTransport(err) || errors.Is(err, errHung)
		if !crashed && (code == sdk.InvalidInput || code == sdk.NotFound) {
			return nil, err
		}
		s.mu.Lock()
		if s.plugin != p {
			// Another goroutine already recovered; retry on whatever it chose.
			s.mu.Unlock()
			continue
		}
		if crashed && !restarted {
			restarted = true
			s.m.log.Warn("plugin failed during a run; restarting it once and retrying", "backend", backend, "error", err.Error())
			np, rerr := s.m.Restart(ctx, backend, p)
			if rerr == nil {
				var models map[string]*sdk.ModelInfo
				models, rerr = s.loadAll(ctx, np)
				if rerr == nil {
					s.plugin, s.models = np, models
					s.mu.Unlock()
					continue
				}
			}
			err = fmt.Errorf("%w; restart failed: %v", err, rerr)
		}
		if crashed {
			// A plugin that failed twice in a row is not reused by this session.
			s.m.Kill(backend)
		}
		s.trace = append(s.trace, Step{Backend: backend, Outcome: "skipped", Reason: "run failed: " + err.Error()})
		s.m.log.Warn("backend failed to run the model", "backend", backend, "error", err.Error(), "policy", string(s.policy))
		s.plugin = nil
		if s.policy == config.Fail {
			s.mu.Unlock()
			return nil, fmt.Errorf("backend %s failed to run the model (on_failure = \"fail\"): %w", backend, err)
		}
		aerr := s.advance(ctx)
		s.mu.Unlock()
		if aerr != nil {
			return nil, aerr
		}
		restarted = false
	}
}

// Release frees outputs that earlier runs kept in the plugin as handles (sdk.OutputRequest
// Keep). Handles the plugin does not know are ignored, and so is a failure of a plugin that died
// or was restarted or replaced meanwhile: its handles died with it.
func (s *Session) Release(ctx context.Context, handles []string) error {
	if len(handles) == 0 {
		return nil
	}
	s.mu.Lock()
	p := s.plugin
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	err := p.Executor.Release(ctx, handles)
	if err == nil {
		return nil
	}
	s.mu.Lock()
	replaced := s.plugin != p
	s.mu.Unlock()
	if replaced || sdk.IsTransport(err) {
		return nil
	}
	return fmt.Errorf("backend %s: releasing %d kept outputs: %w", p.Name, len(handles), err)
}

func (s *Session) runOnce(ctx context.Context, p *Plugin, req *sdk.RunRequest) (*sdk.RunResult, error) {
	rctx, cancel := context.WithTimeoutCause(ctx, s.m.cfg.RunTimeout.Duration, errHung)
	defer cancel()
	res, err := p.Executor.Run(rctx, req)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(rctx), errHung) {
		return nil, fmt.Errorf("backend %s: no answer within run_timeout %s: %w", p.Name, s.m.cfg.RunTimeout.Duration, errHung)
	}
	return res, err
}
