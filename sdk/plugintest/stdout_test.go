package plugintest

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hfhost/hfhost/sdk"
)

// TestStdoutCheckCatchesNoise checks that the suite's stdout check sees both ways a plugin can
// write to stdout after the handshake.
func TestStdoutCheckCatchesNoise(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "noisyplugin")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/noisyplugin").CombinedOutput(); err != nil {
		t.Fatalf("building the fake plugin: %v\n%s", err, out)
	}
	for _, c := range []struct {
		mode              string
		wantRawLines      int
		wantForwardedText string
	}{
		{"quiet", 1, ""},
		{"raw", 2, ""},
		{"forwarded", 1, "noise printed with fmt"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Setenv("NOISY_MODE", c.mode)
			grace := time.Second
			if c.wantForwardedText != "" {
				grace = 10 * time.Second // returns as soon as the text arrives
			}
			raw, fwd, err := stdoutCheck(t, bin, grace, func(cl *sdk.Client) error {
				_, err := cl.Run(context.Background(), &sdk.RunRequest{ModelID: "m"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(strings.Split(strings.TrimRight(raw, "\n"), "\n")); n != c.wantRawLines {
				t.Errorf("raw stdout: want %d lines, got %d: %q", c.wantRawLines, n, raw)
			}
			if !strings.Contains(fwd, c.wantForwardedText) || (c.wantForwardedText == "" && fwd != "") {
				t.Errorf("forwarded stdout: want %q, got %q", c.wantForwardedText, fwd)
			}
		})
	}
}
