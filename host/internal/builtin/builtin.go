// Package builtin holds the model that `hfhost run` uses when no model is named: the ONNX
// model zoo's MNIST-8 (a real pretrained network, MIT licensed) packaged as an HF-style model
// directory, with sample digits rendered from its golden test inputs. It is embedded in the
// binary and unpacked into the cache on first use, because plugins load models from files.
//
// Regenerate with `go run gen_mnist.go` (see that file for where every byte comes from).
package builtin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

//go:embed mnist
var files embed.FS

// Name is the built-in model's name in messages.
const Name = "mnist-8 (built-in)"

// Unpack writes the built-in model directory under cacheDir (once per content version) and
// returns its path and the sample images in it.
func Unpack(cacheDir string) (dir string, samples []string, err error) {
	h := sha256.New()
	var paths []string
	err = fs.WalkDir(files, "mnist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("reading embedded model: %w", err)
	}
	sort.Strings(paths)
	dir = filepath.Join(cacheDir, "builtin", "mnist-8-"+hex.EncodeToString(h.Sum(nil))[:12])
	for _, p := range paths {
		rel := p[len("mnist/"):]
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if path.Dir(rel) == "samples" {
			samples = append(samples, dst)
		}
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		b, _ := files.ReadFile(p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", nil, fmt.Errorf("unpacking built-in model: %w", err)
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return "", nil, fmt.Errorf("unpacking built-in model: %w", err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			return "", nil, fmt.Errorf("unpacking built-in model: %w", err)
		}
	}
	return dir, samples, nil
}
