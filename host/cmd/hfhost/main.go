// Command hfhost runs HuggingFace models exported to ONNX on whatever backends this machine
// has. See `hfhost help` and the project README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hfhost/hfhost/host/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
