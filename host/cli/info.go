package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/config"
	"github.com/hfhost/hfhost/sdk"
)

func (e *env) writeJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) plan(ctx context.Context, args []string) error {
	var f runFlags
	fs := e.runFlagSet("plan", &f)
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := e.manager(&f.common)
	if err != nil {
		return err
	}
	defer m.Close()
	d, _, err := resolveModel(f.modelDir, m.Config().CacheDir)
	if err != nil {
		return err
	}
	fam, task, err := classify(d, f.family)
	if err != nil {
		return err
	}
	order, policy := m.Config().OrderFor(string(fam))
	trace := m.Plan(ctx, string(fam))
	if f.jsonOut {
		return e.writeJSON(map[string]any{
			"model": d.Path, "family": fam, "task": task, "order": order, "on_failure": policy,
			"config": m.Config().Source, "trace": trace,
		})
	}
	fmt.Fprintf(e.stdout, "model:      %s\nfamily:     %s\ntask:       %s\nconfig:     %s\norder:      %v (on_failure = %s)\n", d.Path, fam, task, m.Config().Source, order, policy)
	for _, s := range trace {
		if s.Outcome == "selected" {
			fmt.Fprintf(e.stdout, "  %-9s selected\n", s.Backend)
		} else {
			fmt.Fprintf(e.stdout, "  %-9s skipped: %s\n", s.Backend, s.Reason)
		}
	}
	if len(trace) == 0 || trace[len(trace)-1].Outcome != "selected" {
		return errors.New("no backend can run this model here")
	}
	fmt.Fprintln(e.stdout, "(plan starts plugins and asks them; it does not load the model)")
	return nil
}

// backendNames lists the known backends and any others named in the config, sorted by the
// configured order first.
func backendNames(cfg *config.Config) []string {
	seen := map[string]bool{}
	var names []string
	for _, n := range append(append([]string(nil), cfg.Order...), config.KnownBackends...) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	var extra []string
	for n := range cfg.Backends {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}

type deviceReport struct {
	Backend     string           `json:"backend"`
	Path        string           `json:"path,omitempty"`
	Error       string           `json:"error,omitempty"`
	Description *sdk.Description `json:"description,omitempty"`
}

func (e *env) devices(ctx context.Context, args []string) error {
	var c common
	fs := e.newFlagSet("devices")
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := e.manager(&c)
	if err != nil {
		return err
	}
	defer m.Close()
	var reports []deviceReport
	for _, name := range backendNames(m.Config()) {
		r := deviceReport{Backend: name}
		p, err := m.Get(ctx, name)
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Path, r.Description = p.Path, p.Description
		}
		reports = append(reports, r)
	}
	if c.jsonOut {
		return e.writeJSON(reports)
	}
	for _, r := range reports {
		switch {
		case r.Error != "":
			fmt.Fprintf(e.stdout, "%-9s %s\n", r.Backend, r.Error)
		case r.Description.UnavailableReason != "":
			fmt.Fprintf(e.stdout, "%-9s unavailable: %s\n", r.Backend, r.Description.UnavailableReason)
		default:
			d := r.Description
			fmt.Fprintf(e.stdout, "%-9s %s %s (plugin %s %s)\n", r.Backend, d.Runtime, d.RuntimeVersion, d.PluginName, d.PluginVersion)
			for _, dev := range d.Devices {
				fmt.Fprintf(e.stdout, "          %s  %s  %s  %s  memory %.1f GiB\n", dev.ID, dev.Kind, dev.Arch, dev.Name, float64(dev.MemoryBytes)/(1<<30))
			}
		}
	}
	return nil
}

type pluginReport struct {
	Backend   string `json:"backend"`
	Path      string `json:"path,omitempty"`
	Installed bool   `json:"installed"`
	Disabled  bool   `json:"disabled"`
	Error     string `json:"error,omitempty"`
}

func (e *env) plugins(args []string) error {
	var c common
	fs := e.newFlagSet("plugins")
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Find(c.configPath)
	if err != nil {
		return err
	}
	m := backend.NewManager(cfg, nil)
	var reports []pluginReport
	for _, name := range backendNames(cfg) {
		r := pluginReport{Backend: name, Disabled: cfg.Backend(name).Disabled}
		if p, err := m.Locate(name); err != nil {
			r.Error = err.Error()
		} else {
			r.Path, r.Installed = p, true
		}
		reports = append(reports, r)
	}
	if c.jsonOut {
		return e.writeJSON(reports)
	}
	for _, r := range reports {
		state := r.Path
		if !r.Installed {
			state = r.Error
		}
		if r.Disabled {
			state += " (disabled in config)"
		}
		fmt.Fprintf(e.stdout, "%-9s %s\n", r.Backend, state)
	}
	return nil
}
