package ortexec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hfhost/hfhost/sdk"
	ort "github.com/yalue/onnxruntime_go"
)

// Options is the list of option keys Load understands, with what each does. Backends add their
// own keys in their Providers function; those must be removed from the map they pass on.
var Options = map[string]string{
	"intra_op_threads":      "threads used inside one operator (0 = ONNX Runtime's default: one per core)",
	"inter_op_threads":      "threads used across operators in parallel execution mode",
	"graph_optimization":    "disable | basic | extended | all (default all)",
	"execution_mode":        "sequential | parallel (default sequential)",
	"optimized_model_cache": "true | false: save the optimized graph under the cache dir and load it next time",
}

// ProviderOptionPrefix marks options meant for a backend's execution provider; ortexec leaves
// them to Config.Providers.
const ProviderOptionPrefix = "ep."

func applyOptions(opts *ort.SessionOptions, kv map[string]string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := kv[k]
		var err error
		switch k {
		case "intra_op_threads", "inter_op_threads":
			n, convErr := strconv.Atoi(v)
			if convErr != nil || n < 0 {
				return sdk.Errorf(sdk.InvalidInput, "option %s=%q: want a whole number >= 0", k, v)
			}
			if k == "intra_op_threads" {
				err = opts.SetIntraOpNumThreads(n)
			} else {
				err = opts.SetInterOpNumThreads(n)
			}
		case "graph_optimization":
			levels := map[string]ort.GraphOptimizationLevel{
				"disable": ort.GraphOptimizationLevelDisableAll, "basic": ort.GraphOptimizationLevelEnableBasic,
				"extended": ort.GraphOptimizationLevelEnableExtended, "all": ort.GraphOptimizationLevelEnableAll,
			}
			l, ok := levels[v]
			if !ok {
				return sdk.Errorf(sdk.InvalidInput, "option graph_optimization=%q: want disable, basic, extended or all", v)
			}
			err = opts.SetGraphOptimizationLevel(l)
		case "execution_mode":
			switch v {
			case "sequential":
				err = opts.SetExecutionMode(ort.ExecutionModeSequential)
			case "parallel":
				err = opts.SetExecutionMode(ort.ExecutionModeParallel)
			default:
				return sdk.Errorf(sdk.InvalidInput, "option execution_mode=%q: want sequential or parallel", v)
			}
		case "optimized_model_cache":
			if _, convErr := strconv.ParseBool(v); convErr != nil {
				return sdk.Errorf(sdk.InvalidInput, "option optimized_model_cache=%q: want true or false", v)
			}
		default:
			if strings.HasPrefix(k, ProviderOptionPrefix) {
				continue
			}
			known := make([]string, 0, len(Options))
			for o := range Options {
				known = append(known, o)
			}
			sort.Strings(known)
			return sdk.Errorf(sdk.InvalidInput, "unknown option %q; known options are %s, and ep.* for the execution provider", k, strings.Join(known, ", "))
		}
		if err != nil {
			return fmt.Errorf("setting %s=%s: %w", k, v, err)
		}
	}
	return nil
}

// optimizedModelPath returns the path to load. With optimized_model_cache=true and a cache dir,
// it is the cached optimized graph when one exists for this model file and these options
// (cacheHit), and otherwise the session options are set to write it there.
func optimizedModelPath(req *sdk.LoadRequest, opts *ort.SessionOptions) (path string, cacheHit bool, err error) {
	on, _ := strconv.ParseBool(req.Options["optimized_model_cache"])
	if !on || req.CacheDir == "" {
		return req.ModelPath, false, nil
	}
	f, err := os.Open(req.ModelPath)
	if err != nil {
		return "", false, sdk.Errorf(sdk.NotFound, "model file %s: %v", req.ModelPath, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", false, fmt.Errorf("hashing %s: %w", req.ModelPath, err)
	}
	keys := make([]string, 0, len(req.Options))
	for k, v := range req.Options {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	fmt.Fprint(h, strings.Join(keys, ";"), ort.GetVersion())
	cached := filepath.Join(req.CacheDir, "ort-optimized-"+hex.EncodeToString(h.Sum(nil))[:24]+".onnx")
	if _, err := os.Stat(cached); err == nil {
		return cached, true, nil
	}
	if err := os.MkdirAll(req.CacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("creating cache dir: %w", err)
	}
	if err := opts.SetOptimizedModelFilePath(cached); err != nil {
		return "", false, fmt.Errorf("setting optimized model path: %w", err)
	}
	return req.ModelPath, false, nil
}
