// Package cli implements the hfhost command line: run, plan, devices, plugins and version.
// Main takes its arguments and output streams as parameters and returns the exit status, so
// that tests run it in-process as well as through the built binary.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hfhost/hfhost/host/backend"
	"github.com/hfhost/hfhost/host/config"
)

// Version is set at build time with -ldflags "-X github.com/hfhost/hfhost/host/cli.Version=...".
var Version = "dev"

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitInternal is sysexits' EX_SOFTWARE.
	exitInternal = 70
)

type env struct {
	stdout, stderr io.Writer
}

// usageError is reported with the usage hint and exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usage = `hfhost runs HuggingFace models exported to ONNX on the backends this machine has.

Usage:
  hfhost run [--pipeline FAMILY] [--model DIR] [--input FILE]... [--top-k N] [--json]
  hfhost run --model DIR --text TEXT... [--text-pair TEXT...] [--top-k N] [--json]
  hfhost plan [--pipeline FAMILY] [--model DIR] [--json]
  hfhost devices [--json]
  hfhost plugins [--json]
  hfhost version

Every command takes --config FILE (default: $HFHOST_CONFIG, then
~/.config/hfhost/config.toml, then built-in defaults). With no --model, run and plan use the
built-in MNIST-8 model and its sample digits.
`

// Main runs the hfhost command line and returns the process exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	e := &env{stdout: stdout, stderr: stderr}
	defer func() {
		// A bug must still end as one clear line and a failure status, not a stack dump
		// mixed into the user's output.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "hfhost: internal error: %v (please report this with the command you ran)\n", r)
			code = exitInternal
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = e.run(ctx, rest)
	case "plan":
		err = e.plan(ctx, rest)
	case "devices":
		err = e.devices(ctx, rest)
	case "plugins":
		err = e.plugins(rest)
	case "version", "--version":
		fmt.Fprintf(stdout, "hfhost %s (executor protocol v1)\n", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = &usageError{fmt.Sprintf("unknown command %q; commands are run, plan, devices, plugins, version", cmd)}
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "hfhost: %s\n", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

// oneLine keeps an error message on one line, as a user reads it after a failed command.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// common are the flags every command that talks to plugins takes.
type common struct {
	configPath string
	jsonOut    bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "config file (default: $HFHOST_CONFIG, ~/.config/hfhost/config.toml, built-in)")
	fs.BoolVar(&c.jsonOut, "json", false, "write machine-readable JSON to stdout")
}

func (e *env) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("hfhost "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	return nil
}

// manager loads the configuration and returns a plugin manager that logs to stderr.
func (e *env) manager(c *common) (*backend.Manager, error) {
	cfg, err := config.Find(c.configPath)
	if err != nil {
		return nil, err
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "hfhost", Output: e.stderr, Level: hclog.LevelFromString(cfg.LogLevel)})
	return backend.NewManager(cfg, log), nil
}
