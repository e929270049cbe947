package e2e

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestConcurrentRunsSurvivePluginKill runs MNIST from many goroutines while the plugin process
// is killed from outside: every request must still succeed (the ones in flight are retried on
// the restarted plugin, once).
func TestConcurrentRunsSurvivePluginKill(t *testing.T) {
	m := newManager(t, pluginConfig(`"cpu"`, ""))
	s := openMNIST(t, m)
	p, err := m.Get(testContext(t), "cpu")
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	const workers, runs = 8, 300
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*runs)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < runs; i++ {
				if _, err := runMNIST(t, s); err != nil {
					errs <- err
				}
				done.Add(1)
			}
		}()
	}
	for done.Load() < workers*5 {
		time.Sleep(time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	atKill := done.Load()
	wg.Wait()
	close(errs)
	if atKill >= workers*runs-workers {
		t.Fatalf("the kill came after %d of %d runs; it must land while runs are in flight", atKill, workers*runs)
	}
	for err := range errs {
		t.Errorf("run failed: %v", err)
	}
	if s.Backend() != "cpu" {
		t.Fatalf("backend %s after the kill; want cpu restarted in place", s.Backend())
	}
	if q, _ := m.Get(testContext(t), "cpu"); q.Pid() == pid {
		t.Fatal("plugin was not replaced")
	}
}
