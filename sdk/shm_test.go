//go:build linux

package sdk

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	pb "github.com/hfhost/hfhost/sdk/internal/proto/executorv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// echoExecutor returns, for its input "x" (uint8), "inc" = x+1 written into OutputBuffer memory
// when there is some, "dec" = x-1 in memory it allocates itself, "small" = the first byte of
// dec, and "same" = x itself after setting its first byte to 0xEE.
type echoExecutor struct {
	gotOutputBuffer atomic.Int32 // calls in which OutputBuffer returned memory
}

func (e *echoExecutor) Describe(context.Context) (*Description, error) {
	return &Description{PluginName: "echo"}, nil
}
func (e *echoExecutor) Load(context.Context, *LoadRequest) (*ModelInfo, error) {
	return &ModelInfo{ID: "m"}, nil
}
func (e *echoExecutor) Release(context.Context, []string) error { return nil }
func (e *echoExecutor) Unload(context.Context, string) error    { return nil }

func (e *echoExecutor) Run(ctx context.Context, req *RunRequest) (*RunResult, error) {
	x := req.Inputs[0].Tensor
	inc := OutputBuffer(ctx, len(x.Data))
	if inc != nil {
		e.gotOutputBuffer.Add(1)
	} else {
		inc = make([]byte, len(x.Data))
	}
	dec := make([]byte, len(x.Data))
	for i, b := range x.Data {
		inc[i], dec[i] = b+1, b-1
	}
	// Writing into the input must be harmless: the plugin sees a private copy-on-write mapping.
	if len(x.Data) > 0 {
		x.Data[0] = 0xEE
	}
	return &RunResult{Outputs: []Value{
		{Name: "inc", Tensor: &Tensor{DType: Uint8, Shape: x.Shape, Data: inc}},
		{Name: "dec", Tensor: &Tensor{DType: Uint8, Shape: x.Shape, Data: dec}},
		{Name: "small", Tensor: &Tensor{DType: Uint8, Shape: []int64{1}, Data: dec[:1]}},
		// The input itself, handed back: through shared memory it must leave as a reference.
		{Name: "same", Tensor: x},
	}}, nil
}

// wire records what crossed the socket, and can tamper with it.
type wire struct {
	mu                sync.Mutex
	shmIn, inlineIn   int // input tensors by reference / inline
	shmOut, inlineOut int
	srv               *server
	refuseNext        bool                       // answer the next Run with a SHARED_MEMORY error
	redirect          string                     // point the next request's shm inputs at this file
	tamper            func(resp *pb.RunResponse) // edits a response before it is sent
}

func (w *wire) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r, ok := req.(*pb.RunRequest)
	if !ok {
		return h(ctx, req)
	}
	w.mu.Lock()
	for _, v := range r.GetInputs() {
		if v.GetTensor().GetShm() != nil {
			w.shmIn++
		} else {
			w.inlineIn++
		}
	}
	refuse := w.refuseNext && r.GetOutputShm() != nil
	w.refuseNext = false
	if w.redirect != "" {
		for _, v := range r.GetInputs() {
			if ref := v.GetTensor().GetShm(); ref != nil {
				ref.Path = w.redirect
			}
		}
		w.redirect = ""
	}
	w.mu.Unlock()
	if refuse {
		return nil, shmStatus(errShmRefused)
	}
	resp, err := h(ctx, req)
	if err != nil {
		return nil, err
	}
	rr := resp.(*pb.RunResponse)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range rr.GetOutputs() {
		if v.GetTensor().GetShm() != nil {
			w.shmOut++
		} else {
			w.inlineOut++
		}
	}
	if w.tamper != nil {
		w.tamper(rr)
	}
	return rr, nil
}

func (w *wire) counts() [4]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return [4]int{w.shmIn, w.inlineIn, w.shmOut, w.inlineOut}
}

// startEcho serves an echoExecutor over a real unix socket, as Serve does, and returns a
// client with the given shared-memory threshold that has already called Describe.
func startEcho(t *testing.T, shmMin int64) (*Client, *echoExecutor, *wire) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "plugin.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{}
	exe := &echoExecutor{}
	srv := grpc.NewServer(append(grpcServerOptions(), grpc.UnaryInterceptor(w.intercept))...)
	w.srv = newServer(exe)
	pb.RegisterExecutorServer(srv, w.srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, append(GRPCDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := newClient(pb.NewExecutorClient(conn), shmMin)
	if _, err := c.Describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, exe, w
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// runEcho runs the echo executor on n bytes and checks every output against x+1 / x-1.
func runEcho(t *testing.T, c *Client, n int, seed byte) {
	t.Helper()
	x := pattern(n, seed)
	in := &Tensor{DType: Uint8, Shape: []int64{int64(n)}, Data: bytes.Clone(x)}
	res, err := c.Run(context.Background(), &RunRequest{ModelID: "m", Inputs: []Value{{Name: "x", Tensor: in}}})
	if err != nil {
		t.Fatalf("Run(%d bytes): %v", n, err)
	}
	if !bytes.Equal(in.Data, x) {
		t.Errorf("Run(%d bytes) changed the caller's input tensor", n)
	}
	for _, o := range res.Outputs {
		if err := o.Tensor.Validate(); err != nil {
			t.Fatalf("output %q: %v", o.Name, err)
		}
	}
	inc, dec, small := res.Output("inc").Tensor.Data, res.Output("dec").Tensor.Data, res.Output("small").Tensor.Data
	for i := range x {
		if inc[i] != x[i]+1 || dec[i] != x[i]-1 {
			t.Fatalf("Run(%d bytes): element %d: inc %d dec %d, want %d and %d", n, i, inc[i], dec[i], x[i]+1, x[i]-1)
		}
	}
	if n > 0 && small[0] != x[0]-1 {
		t.Fatalf("Run(%d bytes): small = %d, want %d", n, small[0], x[0]-1)
	}
	if same := res.Output("same").Tensor.Data; n > 0 && (same[0] != 0xEE || !bytes.Equal(same[1:], x[1:])) {
		t.Fatalf("Run(%d bytes): the input handed back as output differs from it", n)
	}
}

func TestSharedMemoryRoundTrip(t *testing.T) {
	c, exe, w := startEcho(t, 4096)
	if !c.shm.Load() {
		t.Fatal("client did not turn shared memory on after Describe")
	}
	// Large, then smaller (the pooled arena still holds the larger call's bytes), then below
	// the threshold, then large again.
	runEcho(t, c, 3<<20+5, 1)
	runEcho(t, c, 10000, 2)
	runEcho(t, c, 100, 3)
	runEcho(t, c, 1<<20, 4)
	// 3 large calls: input by reference, inc through OutputBuffer, dec by pwrite, same as a
	// reference to the input; small inline. The call under the threshold: all inline.
	if got, want := w.counts(), [4]int{3, 1, 9, 7}; got != want {
		t.Errorf("tensors crossing (shm in, inline in, shm out, inline out) = %v, want %v", got, want)
	}
	if got := exe.gotOutputBuffer.Load(); got != 3 {
		t.Errorf("OutputBuffer gave memory in %d calls, want 3", got)
	}
	// Sequential calls reuse one pooled arena, and the plugin its one cached mapping.
	onlyMapping(t, w.srv)
}

func TestSharedMemoryArenaOutgrowsItsMapping(t *testing.T) {
	if testing.Short() {
		t.Skip("moves ~200 MB")
	}
	c, exe, w := startEcho(t, 4096)
	// 30 MiB in, 30 MiB inc through OutputBuffer (fits the first 64 MiB reservation), 30 MiB dec
	// by pwrite past it: the second call finds the file larger than the mapping and remaps.
	runEcho(t, c, 30<<20, 1)
	first := unsafe.SliceData(onlyMapping(t, w.srv).mem)
	runEcho(t, c, 30<<20, 2)
	if unsafe.SliceData(onlyMapping(t, w.srv).mem) == first {
		t.Error("the plugin kept a mapping smaller than the arena")
	}
	runEcho(t, c, 5000, 3)
	if got := exe.gotOutputBuffer.Load(); got != 3 {
		t.Errorf("OutputBuffer gave memory in %d calls, want 3", got)
	}
}

// onlyMapping returns the one arena mapping the plugin caches, failing the test when there is
// not exactly one or when a call still holds it.
func onlyMapping(t *testing.T, s *server) *shmMap {
	t.Helper()
	s.maps.mu.Lock()
	defer s.maps.mu.Unlock()
	if len(s.maps.byKey) != 1 {
		t.Fatalf("plugin caches %d arena mappings, want 1", len(s.maps.byKey))
	}
	for _, m := range s.maps.byKey {
		if m.refs != 0 {
			t.Errorf("mapping still has %d references after the call", m.refs)
		}
		return m
	}
	return nil
}

func TestSharedMemoryOff(t *testing.T) {
	c, exe, w := startEcho(t, 0)
	runEcho(t, c, 2<<20, 1)
	if got, want := w.counts(), [4]int{0, 1, 0, 4}; got != want {
		t.Errorf("with shared memory off, tensors crossing = %v, want %v", got, want)
	}
	if exe.gotOutputBuffer.Load() != 0 {
		t.Error("OutputBuffer gave memory although the host offered none")
	}
}

func TestSharedMemoryRefusedFallsBackInline(t *testing.T) {
	c, _, w := startEcho(t, 4096)
	w.refuseNext = true
	runEcho(t, c, 1<<20, 1) // refused, retried inline
	runEcho(t, c, 1<<20, 2) // inline from now on
	if c.shm.Load() {
		t.Error("client kept shared memory on after the plugin refused it")
	}
	if got, want := w.counts(), [4]int{1, 2, 0, 8}; got != want {
		t.Errorf("tensors crossing = %v, want %v (the refused call's input, then two inline calls)", got, want)
	}
}

func TestSharedMemoryPluginMapsOnlyMemfds(t *testing.T) {
	c, _, w := startEcho(t, 4096)
	regular := filepath.Join(t.TempDir(), "not-an-arena")
	content := bytes.Repeat([]byte{7}, 2<<20)
	if err := os.WriteFile(regular, content, 0o600); err != nil {
		t.Fatal(err)
	}
	w.redirect = regular
	runEcho(t, c, 1<<20, 1) // refused by the plugin, retried inline
	if c.shm.Load() {
		t.Error("client kept shared memory on after the plugin refused a non-memfd arena")
	}
	if got, err := os.ReadFile(regular); err != nil || !bytes.Equal(got, content) {
		t.Errorf("the plugin changed a regular file named as an arena (err %v)", err)
	}
}

func TestSharedMemoryRejectsReferencesOutsideTheArena(t *testing.T) {
	for name, tamper := range map[string]func(*pb.SharedMemory){
		"past the end":   func(r *pb.SharedMemory) { r.Length += 1 << 30 },
		"negative":       func(r *pb.SharedMemory) { r.Offset = -1 },
		"another file":   func(r *pb.SharedMemory) { r.Path = "/etc/passwd" },
		"negative count": func(r *pb.SharedMemory) { r.Length = -5 },
	} {
		t.Run(name, func(t *testing.T) {
			c, _, w := startEcho(t, 4096)
			w.tamper = func(resp *pb.RunResponse) {
				for _, v := range resp.GetOutputs() {
					if ref := v.GetTensor().GetShm(); ref != nil {
						tamper(ref)
					}
				}
			}
			in := &Tensor{DType: Uint8, Shape: []int64{1 << 20}, Data: pattern(1<<20, 0)}
			_, err := c.Run(context.Background(), &RunRequest{ModelID: "m", Inputs: []Value{{Name: "x", Tensor: in}}})
			if err == nil {
				t.Fatal("Run accepted an output reference outside the arena it offered")
			}
		})
	}
}

func TestSharedMemoryConcurrentRuns(t *testing.T) {
	c, _, _ := startEcho(t, 4096)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				runEcho(t, c, 100000+g*1000+i, byte(g*5+i))
			}
		}()
	}
	wg.Wait()
}

func TestSharedMemoryArenaOfAFailedCallIsNotReused(t *testing.T) {
	c, _, _ := startEcho(t, 4096)
	runEcho(t, c, 1<<20, 1)
	if n := len(c.arenas.free); n != 1 {
		t.Fatalf("%d idle arenas after a call, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &Tensor{DType: Uint8, Shape: []int64{1 << 20}, Data: pattern(1<<20, 0)}
	if _, err := c.Run(ctx, &RunRequest{ModelID: "m", Inputs: []Value{{Name: "x", Tensor: in}}}); err == nil {
		t.Fatal("Run with a cancelled context succeeded")
	}
	// The plugin might still write into that arena: it must not serve another call.
	if n := len(c.arenas.free); n != 0 {
		t.Errorf("%d idle arenas after a failed call, want 0", n)
	}
	if !c.shm.Load() {
		t.Error("a cancelled call turned shared memory off")
	}
	runEcho(t, c, 1<<20, 2)
}

func TestShmMinBytesFromEnv(t *testing.T) {
	for v, want := range map[string]int64{"": shmDefaultMinBytes, "off": 0, "OFF": 0, "0": 0, "65536": 65536, "junk": shmDefaultMinBytes, "-3": shmDefaultMinBytes} {
		t.Setenv(shmEnv, v)
		if got := shmMinBytesFromEnv(); got != want {
			t.Errorf("%s=%q: threshold %d, want %d", shmEnv, v, got, want)
		}
	}
}
