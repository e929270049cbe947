package e2e

import (
	"fmt"
	"testing"
)

// TestOptimizedModelCache loads the same model in two separate plugin processes with
// optimized_model_cache on: the first writes the optimized graph, the second loads it.
func TestOptimizedModelCache(t *testing.T) {
	cache := t.TempDir()
	text := pluginConfig(`"cpu"`, fmt.Sprintf("cache_dir = %q\n[backends.cpu.options]\noptimized_model_cache = \"true\"\n", cache))
	var hits []bool
	for i := 0; i < 2; i++ {
		m := newManager(t, text)
		s := openMNIST(t, m)
		hits = append(hits, s.Model("model").CacheHit)
		if _, err := runMNIST(t, s); err != nil {
			t.Fatalf("load %d: run from the cached graph: %v", i, err)
		}
		m.Close()
	}
	if hits[0] || !hits[1] {
		t.Fatalf("cache hits %v; want [false true]", hits)
	}
}
