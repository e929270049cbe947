package ortexec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable that names the ONNX Runtime shared library.
const LibraryEnv = "HFHOST_ORT_LIB"

// MinRuntimeVersion is the oldest ONNX Runtime release the bindings work with: onnxruntime_go
// v1.35 asks the library for C API version 29, which ONNX Runtime 1.29 introduced.
const MinRuntimeVersion = "1.29.0"

// candidateLibraries lists where the library is looked for, in order, when no path is given.
func candidateLibraries() []string {
	var c []string
	if p := os.Getenv(LibraryEnv); p != "" {
		c = append(c, p)
	}
	cache := os.Getenv("HFHOST_CACHE")
	if cache == "" {
		if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
			cache = filepath.Join(x, "hfhost")
		} else if h, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(h, ".cache", "hfhost")
		}
	}
	if cache != "" {
		c = append(c, filepath.Join(cache, "onnxruntime", "1.30.0", "linux-x64", "libonnxruntime.so.1"))
	}
	return append(c, "/usr/lib/x86_64-linux-gnu/libonnxruntime.so.1", "/usr/local/lib/libonnxruntime.so.1", "/usr/local/lib/libonnxruntime.so")
}

// runtime is the process-wide ONNX Runtime environment.
var runtime struct {
	sync.Mutex
	path    string
	version string
	err     error
}

// initRuntime initialises the environment once per process with the library at path (or the
// first candidate that exists). A failure is remembered and returned to every later caller
// asking for the same library, because ONNX Runtime cannot be re-initialised reliably.
func initRuntime(path string) (version string, err error) {
	runtime.Lock()
	defer runtime.Unlock()
	if runtime.version != "" || runtime.err != nil {
		if path != "" && runtime.path != "" && path != runtime.path {
			return "", fmt.Errorf("ONNX Runtime is already loaded from %s in this process; cannot also load %s", runtime.path, path)
		}
		return runtime.version, runtime.err
	}
	var tried []string
	if path == "" {
		for _, c := range candidateLibraries() {
			tried = append(tried, c)
			if _, statErr := os.Stat(c); statErr == nil {
				path = c
				break
			}
		}
		if path == "" {
			runtime.err = fmt.Errorf("ONNX Runtime library not found (looked for %s); run scripts/fetch-ort.sh or set %s to the path of libonnxruntime.so",
				strings.Join(tried, ", "), LibraryEnv)
			return "", runtime.err
		}
	} else if _, statErr := os.Stat(path); statErr != nil {
		runtime.err = fmt.Errorf("ONNX Runtime library %s: %w; run scripts/fetch-ort.sh or set %s", path, statErr, LibraryEnv)
		return "", runtime.err
	}
	runtime.path = path
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		runtime.err = fmt.Errorf("initialising ONNX Runtime from %s failed (is it ONNX Runtime %s or newer, built for this platform?): %w", path, MinRuntimeVersion, err)
		return "", runtime.err
	}
	runtime.version = ort.GetVersion()
	return runtime.version, nil
}
