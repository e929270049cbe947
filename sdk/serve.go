package sdk

import (
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ServeOption configures [Serve].
type ServeOption func(*serveConfig)

type serveConfig struct {
	logger         hclog.Logger
	parentInterval time.Duration
}

// WithLogger replaces the default logger (hclog JSON on stderr at the level named by the
// HFHOST_LOG_LEVEL environment variable). A plugin must never log to stdout: go-plugin's
// handshake travels there.
func WithLogger(l hclog.Logger) ServeOption { return func(c *serveConfig) { c.logger = l } }

// WithParentCheck sets how often the plugin checks that the host that started it is still
// alive (default 250ms); zero disables the check.
func WithParentCheck(every time.Duration) ServeOption {
	return func(c *serveConfig) { c.parentInterval = every }
}

// Serve runs impl as a hfhost backend plugin and returns when the host disconnects. Call it from
// main; it must be the only thing main does with stdout.
//
// When the host dies without stopping the plugin (for example when it is killed with SIGKILL),
// the plugin notices that it has been re-parented and exits, so no orphan keeps a device busy.
func Serve(impl Executor, opts ...ServeOption) {
	cfg := serveConfig{parentInterval: 250 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Output: os.Stderr, JSONFormat: true,
			Level: hclog.LevelFromString(os.Getenv("HFHOST_LOG_LEVEL")),
		})
	}
	if cfg.parentInterval > 0 && os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue {
		go watchParent(cfg.logger, os.Getppid(), cfg.parentInterval)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &grpcPlugin{impl: impl}}},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			o = append(o, grpcServerOptions()...)
			return grpc.NewServer(o...)
		},
		Logger: cfg.logger,
	})
}

// watchParent exits the process once its parent changes, which on Unix means the parent died
// and the plugin was re-parented to init or a subreaper.
func watchParent(log hclog.Logger, parent int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != parent {
			log.Warn("host process is gone; plugin exiting", "host_pid", parent)
			os.Exit(3)
		}
	}
}
