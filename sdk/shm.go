package sdk

// Shared-memory transport for large tensors (executor/v1 fields Tensor.shm, RunRequest.output_shm,
// Capabilities.shared_memory). See PERFORMANCE.md, "Plugin boundary", for why it exists: gRPC
// copies a tensor five or six times on its way through a socket and allocates fresh buffers
// for it each call, which for a 13 MB output costs more CPU than the model that made it.
//
// How a Run crosses when both sides support it (the plugin says so in Describe):
//
//  1. The host takes a memfd ("arena", kept mapped in the host) from a small per-Client pool and
//     copies every input of at least minBytes into it at 64-byte aligned offsets; those tensors
//     travel as references {path, offset, length}, the path being /proc/<host pid>/fd/<n>.
//     Smaller tensors stay inline.
//  2. The request offers the same arena for outputs, from the first free offset on.
//  3. The plugin maps the arena (shared, read-write; the mapping is cached across calls, so
//     steady-state calls neither map nor fault) and hands the inputs to the executor as slices
//     of it. An executor writing into its input only changes the arena's copy, never the
//     caller's tensor. Executors that call [OutputBuffer] get output memory in the arena, which
//     ONNX Runtime then writes into directly; other outputs of at least minBytes are written
//     into the arena with pwrite.
//  4. The host copies each referenced output out of the arena into Go memory (one copy, the one
//     an in-process executor also makes) and puts the arena back in the pool.
//
// The host owns the arena: it disappears with the host's file descriptor, so no crash on either
// side leaves files behind. When the plugin cannot open or map the arena it answers with a
// SHARED_MEMORY error; the client then turns shared memory off for itself and retries the call
// inline. Setting HFHOST_SHM=off in the host's environment disables the path, and
// HFHOST_SHM=<bytes> changes the threshold (default 1 MiB).
//
// The plugin trusts the host (its parent) not to shrink an arena while a call that uses it is
// in flight: touching a mapping past the end of its file faults. Both sides check every
// reference against the file's size before touching it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	pb "github.com/hfhost/hfhost/sdk/internal/proto/executorv1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

const (
	// shmEnv is the host-side switch: "off" disables shared memory, a number of bytes sets the
	// threshold.
	shmEnv = "HFHOST_SHM"
	// shmDefaultMinBytes is the default size from which a tensor crosses through shared memory;
	// below it the fixed cost of mapping is not worth it.
	shmDefaultMinBytes = 1 << 20
	// shmAlign aligns tensors in the arena (ONNX Runtime's CPU kernels like 64-byte alignment).
	shmAlign = 64
	// shmReason is the ErrorInfo reason a plugin answers with when it cannot use the arena.
	shmReason = "SHARED_MEMORY"
	// arenaKeepBytes bounds the memory a pooled arena keeps between calls; larger ones are
	// truncated to zero when they go back to the pool.
	arenaKeepBytes = 256 << 20
	// arenaPoolSize bounds how many idle arenas a client keeps (one per concurrent call).
	arenaPoolSize = 4
)

// shmMinBytesFromEnv reads HFHOST_SHM: 0 means shared memory is off.
func shmMinBytesFromEnv() int64 {
	v := strings.TrimSpace(os.Getenv(shmEnv))
	switch strings.ToLower(v) {
	case "":
		return shmDefaultMinBytes
	case "off", "0", "false", "no":
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		// An unreadable setting keeps the default rather than silently turning the path off.
		return shmDefaultMinBytes
	}
	return n
}

func alignUp(n int64) int64 { return (n + shmAlign - 1) &^ (shmAlign - 1) }

// errShmRefused marks a Run the plugin refused because it could not use the arena.
var errShmRefused = errors.New("plugin cannot use the shared-memory arena")

// isShmRefusal reports whether err is a plugin's SHARED_MEMORY answer.
func isShmRefusal(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain && info.GetReason() == shmReason {
			return true
		}
	}
	return false
}

// shmStatus is the plugin's answer when it cannot use the host's arena.
func shmStatus(err error) error {
	st := status.New(grpcCodes[Unavailable], "shared memory: "+err.Error())
	if withInfo, e := st.WithDetails(&errdetails.ErrorInfo{Domain: errorDomain, Reason: shmReason}); e == nil {
		st = withInfo
	}
	return st.Err()
}

// arenaPool keeps idle arenas of one Client.
type arenaPool struct {
	mu   sync.Mutex
	free []*arena
}

func (p *arenaPool) get() (*arena, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		a := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return a, nil
	}
	p.mu.Unlock()
	return newArena()
}

func (p *arenaPool) put(a *arena) {
	if a.shrink() != nil {
		a.close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) >= arenaPoolSize {
		a.close()
		return
	}
	p.free = append(p.free, a)
}

// closeAll closes the idle arenas; it runs when the Client becomes unreachable.
func (p *arenaPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.free {
		a.close()
	}
	p.free = nil
}

// arena is one shared-memory file of the host, and the host's own mapping of it: tensors are
// copied in and out with memmove rather than pwrite/pread, which walk the file page by page.
type arena struct {
	f    *os.File
	path string
	mem  []byte // shared mapping; reserves address space beyond size (see shmMap)
	size int64  // file size as the host last set or saw it
}

// runShm is Client.Run through shared memory. Tensors below c.shmMin still travel inline.
func (c *Client) runShm(ctx context.Context, req *RunRequest) (*RunResult, error) {
	a, err := c.arenas.get()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errShmRefused, err)
	}
	// Only an arena whose call completed goes back to the pool. After a failed or cancelled
	// call the plugin may still be running and writing outputs into it, which would corrupt the
	// next call that took it; closed instead, it lives on only in the plugin's mapping.
	done := false
	defer func() {
		if done {
			c.arenas.put(a)
		} else {
			a.close()
		}
	}()

	pr := &pb.RunRequest{ModelId: req.ModelID, Inputs: valuesToProto(req.Inputs)}
	var end int64
	for i, v := range req.Inputs {
		t := v.Tensor
		if t == nil || t.DType == String || int64(len(t.Data)) < c.shmMin {
			continue
		}
		off := alignUp(end)
		if err := a.write(t.Data, off); err != nil {
			return nil, fmt.Errorf("%w: writing input %q to %s: %v", errShmRefused, v.Name, a.path, err)
		}
		end = off + int64(len(t.Data))
		pt := pr.Inputs[i].GetTensor()
		pt.Data = nil
		pt.Shm = &pb.SharedMemory{Path: a.path, Offset: off, Length: int64(len(t.Data))}
	}
	pr.OutputShm = &pb.SharedMemoryOffer{Path: a.path, Offset: alignUp(end), MinBytes: c.shmMin}
	for _, o := range req.Outputs {
		pr.Outputs = append(pr.Outputs, &pb.OutputRequest{Name: o.Name, Keep: o.Keep})
	}
	r, err := c.rpc.Run(ctx, pr)
	if err != nil {
		if isShmRefusal(err) {
			return nil, fmt.Errorf("%w: %v", errShmRefused, err)
		}
		return nil, errorFromStatus(err)
	}
	res := runResultFromProto(r)
	var size int64 = -1
	for i, v := range r.GetOutputs() {
		ref := v.GetTensor().GetShm()
		if ref == nil {
			continue
		}
		if size < 0 {
			st, err := a.f.Stat()
			if err != nil {
				return nil, fmt.Errorf("reading outputs from the shared-memory arena %s: %w", a.path, err)
			}
			size = st.Size()
		}
		if ref.GetPath() != a.path || ref.GetOffset() < 0 || ref.GetLength() < 0 || ref.GetOffset()+ref.GetLength() > size {
			return nil, fmt.Errorf("plugin returned output %q at %s [%d, +%d), outside the arena it was offered (%s, %d bytes): the plugin is broken; report it to its author",
				v.GetName(), ref.GetPath(), ref.GetOffset(), ref.GetLength(), a.path, size)
		}
		buf, err := a.read(ref.GetOffset(), ref.GetLength(), size)
		if err != nil {
			return nil, fmt.Errorf("reading output %q from the shared-memory arena %s: %w", v.GetName(), a.path, err)
		}
		res.Outputs[i].Tensor.Data = buf
	}
	done = true
	return res, nil
}

// serverShm is the plugin side of one Run through shared memory: the arena mappings it uses
// (from the server's cache, see shmMaps) and the output space it handed out.
type serverShm struct {
	offer *pb.SharedMemoryOffer
	maps  *shmMaps

	mu       sync.Mutex
	acquired map[string]*shmMap // by path, released when Run returns
	outFile  *os.File           // the offered arena, opened read-write on first use
	outMap   *shmMap            // its mapping
	outSize  int64              // its size as this call knows it
	outErr   error              // why the offered arena cannot be used, once known
	next     int64              // next free offset in the offered arena
}

// shmMaps caches the plugin's mappings of the host's arenas between calls, so that a Run
// neither maps nor unmaps (and faults in) megabytes of pages: the host reuses a few arenas, and
// their mappings stay warm. One per server.
type shmMaps struct {
	mu    sync.Mutex
	byKey map[fileKey]*shmMap
	clock uint64
}

// fileKey identifies an arena by device and inode: the host's /proc/<pid>/fd/<n> path names
// another file once the host has closed n and reused the number.
type fileKey struct{ dev, ino uint64 }

// shmMap is a shared, read-write mapping of an arena. It reserves more address space than the
// file holds so the file can grow under it; only [0, size) may be touched: past the end of the
// file, pages fault with SIGBUS.
type shmMap struct {
	key      fileKey
	mem      []byte // the whole reservation
	size     int64  // file size last seen; bytes below it are safe to touch
	refs     int    // calls using it now
	lastUsed uint64
	cached   bool // in byKey; otherwise unmapped when its last user releases it
}

const (
	// shmMapsKeep bounds how many idle arena mappings a plugin keeps (the host pools 4).
	shmMapsKeep = 4
	// shmMinReserve is the smallest address-space reservation for an arena mapping.
	shmMinReserve = 64 << 20
)

func newShmMaps() *shmMaps { return &shmMaps{byKey: map[fileKey]*shmMap{}} }

type shmContextKey struct{}

// OutputBuffer returns n bytes of memory that an executor may write one output tensor into and
// return as that tensor's Data, so that the output reaches the host without being copied in
// the plugin; or nil, and the executor allocates as usual. It is non-nil only inside Run of a
// plugin served by [Serve] whose host offered shared memory, and only for n >= the host's
// threshold. The memory is valid until Run returns: the executor must not keep it, in
// particular not behind a handle.
func OutputBuffer(ctx context.Context, n int) []byte {
	s, _ := ctx.Value(shmContextKey{}).(*serverShm)
	if s == nil || n <= 0 || int64(n) < s.offer.GetMinBytes() {
		return nil
	}
	return s.outputBuffer(n)
}

// fromArena returns the arena path and offset of data when it lies in a mapping this call
// acquired (output memory from OutputBuffer, or an input handed back unchanged).
func (s *serverShm) fromArena(data []byte) (path string, off int64, ok bool) {
	if len(data) == 0 {
		return "", 0, false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	s.mu.Lock()
	defer s.mu.Unlock()
	for path, m := range s.acquired {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(m.mem)))
		if p >= base && p+uintptr(len(data)) <= base+uintptr(m.size) {
			return path, int64(p - base), true
		}
	}
	return "", 0, false
}

// encodeOutputs turns outputs that live in an arena mapping into references (they must: the
// mapping may be reused by the next call) and writes other outputs of at least min_bytes into
// the offered arena. Should writing fail, those tensors stay inline.
func (s *serverShm) encodeOutputs(outs []*pb.NamedValue) {
	for _, v := range outs {
		t := v.GetTensor()
		if t == nil || len(t.GetData()) == 0 {
			continue
		}
		n := int64(len(t.GetData()))
		if path, off, ok := s.fromArena(t.GetData()); ok {
			t.Shm = &pb.SharedMemory{Path: path, Offset: off, Length: n}
			t.Data = nil
			continue
		}
		if n < s.offer.GetMinBytes() {
			continue
		}
		off, err := s.reserve(n)
		if err != nil {
			continue
		}
		if _, err := s.outFile.WriteAt(t.GetData(), off); err != nil {
			continue
		}
		t.Shm = &pb.SharedMemory{Path: s.offer.GetPath(), Offset: off, Length: n}
		t.Data = nil
	}
}
