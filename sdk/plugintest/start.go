package plugintest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hfhost/hfhost/sdk"
)

// Start launches the plugin binary at binaryPath the way the hfhost host does (go-plugin over
// gRPC, the hfhost handshake, raised message limits) and returns its executor. env entries
// ("KEY=value") are added to the plugin's environment, after and so overriding the test's own.
// The plugin is killed when the test and its subtests end.
//
// The plugin's log lines are written to the test log at the level named by HFHOST_LOG_LEVEL
// (default warn).
func Start(t testing.TB, binaryPath string, env ...string) *sdk.Client {
	t.Helper()
	c, err := start(t, binaryPath, env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func start(t testing.TB, binaryPath string, env []string) (*sdk.Client, error) {
	if _, err := os.Stat(binaryPath); err != nil {
		return nil, fmt.Errorf("plugin binary: %w; build it first (go build -o %s .)", err, binaryPath)
	}
	cmd := exec.Command(binaryPath)
	cmd.Env = append(os.Environ(), env...)
	logs := &testLog{t: t}
	t.Cleanup(logs.close)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true, // cmd.Env already holds it, before env so that env wins
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		StartTimeout:     time.Minute,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Output: logs, Level: logLevel(),
		}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		return nil, fmt.Errorf("starting plugin %s: %w", binaryPath, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: dispensing %q: %w", binaryPath, sdk.PluginName, err)
	}
	exe, ok := raw.(*sdk.Client)
	if !ok {
		return nil, fmt.Errorf("plugin %s dispensed %T, want *sdk.Client", binaryPath, raw)
	}
	return exe, nil
}

func logLevel() hclog.Level {
	if l := hclog.LevelFromString(os.Getenv("HFHOST_LOG_LEVEL")); l != hclog.NoLevel {
		return l
	}
	return hclog.Warn
}

// testLog forwards log output to t.Log until the test ends; go-plugin keeps logging from its own
// goroutines while the plugin is stopped, after which t.Log would panic.
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// stdoutCheck runs the plugin as its own process with stdout captured, connects to it through
// go-plugin's reattach mode, lets use drive it, stops it, and returns everything it wrote to
// stdout: the raw file descriptor (handshake first) and what Go code wrote to os.Stdout after
// the handshake, which go-plugin forwards over its stdio stream and which is waited for up to
// grace after use returns.
func stdoutCheck(t *testing.T, binaryPath string, grace time.Duration, use func(*sdk.Client) error) (raw, forwarded string, err error) {
	cmd := exec.Command(binaryPath)
	cmd.Env = append(os.Environ(),
		sdk.Handshake.MagicCookieKey+"="+sdk.Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS="+strconv.Itoa(sdk.ProtocolVersion))
	var rawOut bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	logs := &testLog{t: t}
	defer logs.close()
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("starting %s: %w", binaryPath, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	first := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		br := bufio.NewReader(pr)
		line, _ := br.ReadString('\n')
		rawOut.WriteString(line)
		first <- line
		_, _ = io.Copy(&rawOut, br)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(time.Minute):
		return "", "", fmt.Errorf("plugin wrote no handshake line to stdout within a minute")
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) < 6 || parts[4] != string(plugin.ProtocolGRPC) {
		<-copied
		return rawOut.String(), "", fmt.Errorf("first stdout line %q is not a go-plugin gRPC handshake (CORE|APP|NETWORK|ADDR|grpc|CERT)", line)
	}
	if parts[1] != strconv.Itoa(sdk.ProtocolVersion) {
		return line, "", fmt.Errorf("handshake %q offers protocol version %s, want %d", line, parts[1], sdk.ProtocolVersion)
	}
	var addr net.Addr
	switch parts[2] {
	case "unix":
		addr = &net.UnixAddr{Net: "unix", Name: parts[3]}
	case "tcp":
		a, err := net.ResolveTCPAddr("tcp", parts[3])
		if err != nil {
			return line, "", fmt.Errorf("handshake address %q: %w", parts[3], err)
		}
		addr = a
	default:
		return line, "", fmt.Errorf("handshake network %q is neither unix nor tcp", parts[2])
	}

	var fwd syncBuffer
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake,
		// A reattached client negotiates no version, so it needs the plugin set itself.
		Plugins: sdk.ClientPlugins()[sdk.ProtocolVersion],
		Reattach: &plugin.ReattachConfig{
			Protocol: plugin.ProtocolGRPC, ProtocolVersion: sdk.ProtocolVersion, Addr: addr, Pid: cmd.Process.Pid,
		},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		SyncStdout:       &fwd,
		SyncStderr:       io.Discard,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: logs, Level: logLevel()}),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return line, "", fmt.Errorf("connecting to plugin at %s: %w", parts[3], err)
	}
	raw2, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		client.Kill()
		return line, "", fmt.Errorf("dispensing %q: %w", sdk.PluginName, err)
	}
	useErr := use(raw2.(*sdk.Client))
	// What Go code prints reaches SyncStdout asynchronously, over go-plugin's stdio stream; give
	// it up to grace before stopping the plugin closes the stream.
	for deadline := time.Now().Add(grace); time.Now().Before(deadline) && fwd.String() == ""; {
		time.Sleep(20 * time.Millisecond)
	}
	// Kill shuts the plugin down gracefully through go-plugin's controller, then by pid.
	client.Kill()
	select {
	case <-exited:
		exited <- nil // for the deferred wait
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
	}
	<-copied
	return rawOut.String(), fwd.String(), useErr
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// withTimeout is the context every suite call runs under.
func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}
