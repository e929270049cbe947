//go:build linux

package sdk

import (
	"fmt"
	"os"
	"strings"

	pb "github.com/hfhost/hfhost/sdk/internal/proto/executorv1"
	"golang.org/x/sys/unix"
)

// shmSupported: Linux has memfd and lets a process open another's memfd through /proc.
const shmSupported = true

// newArena creates an anonymous shared-memory file (memfd) that the plugin opens by path.
func newArena() (*arena, error) {
	fd, err := unix.MemfdCreate("hfhost-tensors", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return &arena{f: os.NewFile(uintptr(fd), "memfd:hfhost-tensors"), path: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd)}, nil
}

func (a *arena) close() {
	if a.mem != nil {
		_ = unix.Munmap(a.mem)
		a.mem = nil
	}
	_ = a.f.Close()
}

// write copies data into the arena at off, growing the file (and the host's mapping) as needed.
func (a *arena) write(data []byte, off int64) error {
	end := off + int64(len(data))
	if end > a.size {
		if err := a.f.Truncate(end); err != nil {
			return fmt.Errorf("growing %s to %d bytes: %w", a.path, end, err)
		}
		a.size = end
	}
	if end > int64(len(a.mem)) {
		if err := a.remap(end); err != nil {
			_, err := a.f.WriteAt(data, off)
			return err
		}
	}
	copy(a.mem[off:end], data)
	return nil
}

// read returns a copy of n bytes at off in the arena, whose file is size bytes long now (the
// plugin may have grown it).
func (a *arena) read(off, n, size int64) ([]byte, error) {
	a.size = max(a.size, size)
	end := off + n
	if end > int64(len(a.mem)) {
		if err := a.remap(size); err != nil {
			buf := make([]byte, n)
			_, err := a.f.ReadAt(buf, off)
			return buf, err
		}
	}
	// Cloning by append allocates without zeroing first, unlike make followed by copy: for a
	// 13 MB output that is one pass over the memory instead of two.
	return append([]byte(nil), a.mem[off:end]...), nil
}

// remap replaces the host's mapping by one reserving at least need bytes.
func (a *arena) remap(need int64) error {
	if a.mem != nil {
		_ = unix.Munmap(a.mem)
		a.mem = nil
	}
	page := int64(os.Getpagesize())
	reserve := (max(2*need, shmMinReserve) + page - 1) / page * page
	m, err := unix.Mmap(int(a.f.Fd()), 0, int(reserve), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mapping %s: %w", a.path, err)
	}
	a.mem = m
	return nil
}

// shrink gives back the memory of an arena that grew past arenaKeepBytes.
func (a *arena) shrink() error {
	st, err := a.f.Stat()
	if err != nil {
		return err
	}
	a.size = st.Size()
	if a.size <= arenaKeepBytes {
		return nil
	}
	if err := a.f.Truncate(0); err != nil {
		return err
	}
	a.size = 0
	if a.mem != nil {
		_ = unix.Munmap(a.mem)
		a.mem = nil
	}
	return nil
}

// mapInputs replaces the data of input tensors that refer to shared memory by slices of the
// host's arena mapping.
func (s *serverShm) mapInputs(in []*pb.NamedValue, out []Value) error {
	for i, v := range in {
		ref := v.GetTensor().GetShm()
		if ref == nil {
			continue
		}
		off, n := ref.GetOffset(), ref.GetLength()
		if off < 0 || n <= 0 {
			return fmt.Errorf("input %q: invalid shared-memory range [%d, +%d)", v.GetName(), off, n)
		}
		m, _, err := s.acquire(ref.GetPath(), false)
		if err != nil {
			return fmt.Errorf("input %q: %w", v.GetName(), err)
		}
		if off+n > m.size || off+n > int64(len(m.mem)) {
			return fmt.Errorf("input %q: range [%d, +%d) is past the end of the host's arena %s (%d bytes)", v.GetName(), off, n, ref.GetPath(), m.size)
		}
		out[i].Tensor.Data = m.mem[off : off+n : off+n]
	}
	return nil
}

// acquire returns a mapping of the arena at path for this call, from the server's cache when
// it holds one that covers the file. With write, the file stays open (s.outFile) so that the
// call can grow it.
func (s *serverShm) acquire(path string, write bool) (*shmMap, *os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.acquired[path]; m != nil && !write {
		return m, nil, nil
	}
	// Read-write even for inputs: the mapping is shared and read-write, so that one cached
	// mapping serves both inputs and outputs.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the host's arena: %w", err)
	}
	// Only ever map (and write into) the host's anonymous memfds, never a file that a confused
	// host named.
	if target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd())); err != nil || !strings.HasPrefix(target, "/memfd:") {
		f.Close()
		return nil, nil, fmt.Errorf("arena %s is not a memfd (it is %q)", path, target)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat of the host's arena %s: %w", path, err)
	}
	if s.acquired[path] != nil { // already mapped by this call (reading); reopen for writing
		if !write {
			f.Close()
		}
		return s.acquired[path], f, nil
	}
	m, err := s.maps.get(f, fileKey{dev: st.Dev, ino: st.Ino}, st.Size)
	if !write {
		f.Close()
	}
	if err != nil {
		if write {
			f.Close()
		}
		return nil, nil, fmt.Errorf("mapping the host's arena %s: %w", path, err)
	}
	if s.acquired == nil {
		s.acquired = map[string]*shmMap{}
	}
	s.acquired[path] = m
	if write {
		return m, f, nil
	}
	return m, nil, nil
}

// get returns a mapping of f (key, size bytes) with a reference taken: the cached one when it
// reserves enough address space, otherwise a new one, cached unless the old one is in use.
func (c *shmMaps) get(f *os.File, key fileKey, size int64) (*shmMap, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	if m := c.byKey[key]; m != nil && int64(len(m.mem)) >= size {
		m.refs++
		m.size = size
		m.lastUsed = c.clock
		return m, nil
	}
	reserve := max(2*size, shmMinReserve)
	page := int64(os.Getpagesize())
	reserve = (reserve + page - 1) / page * page
	mem, err := unix.Mmap(int(f.Fd()), 0, int(reserve), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	m := &shmMap{key: key, mem: mem, size: size, refs: 1, lastUsed: c.clock}
	if old := c.byKey[key]; old == nil || old.refs == 0 {
		if old != nil {
			_ = unix.Munmap(old.mem)
		}
		m.cached = true
		c.byKey[key] = m
		c.evict()
	}
	return m, nil
}

// put drops a reference taken by get.
func (c *shmMaps) put(m *shmMap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m.refs--
	if m.refs == 0 && !m.cached {
		_ = unix.Munmap(m.mem)
		return
	}
	c.evict()
}

// evict unmaps the least recently used idle mappings beyond shmMapsKeep. Mappings of arenas
// the host has closed keep their memory alive until they are evicted.
func (c *shmMaps) evict() {
	for len(c.byKey) > shmMapsKeep {
		var victim *shmMap
		for _, m := range c.byKey {
			if m.refs == 0 && (victim == nil || m.lastUsed < victim.lastUsed) {
				victim = m
			}
		}
		if victim == nil {
			return
		}
		delete(c.byKey, victim.key)
		_ = unix.Munmap(victim.mem)
	}
}

// reserve takes n bytes of the offered arena at the next aligned offset, growing the file to
// hold them, and returns their offset.
func (s *serverShm) reserve(n int64) (int64, error) {
	if err := s.openOut(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	off := alignUp(s.next)
	end := off + n
	if end > s.outSize {
		if err := s.outFile.Truncate(end); err != nil {
			return 0, fmt.Errorf("growing the host's arena to %d bytes: %w", end, err)
		}
		s.outSize = end
		if end <= int64(len(s.outMap.mem)) {
			s.outMap.size = max(s.outMap.size, end)
		}
	}
	s.next = end
	return off, nil
}

// openOut opens and maps the offered arena for writing, once per call.
func (s *serverShm) openOut() error {
	s.mu.Lock()
	done, err := s.outFile != nil, s.outErr
	s.mu.Unlock()
	if done || err != nil {
		return err
	}
	m, f, err := s.acquire(s.offer.GetPath(), true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.outErr = err
		return err
	}
	s.outFile, s.outMap, s.outSize = f, m, m.size
	return nil
}

// outputBuffer hands out n bytes of the offered arena's mapping, or nil when the mapping's
// reservation cannot hold them (the executor then allocates, and the output is written with
// pwrite).
func (s *serverShm) outputBuffer(n int) []byte {
	if err := s.openOut(); err != nil {
		return nil
	}
	s.mu.Lock()
	fits := alignUp(s.next)+int64(n) <= int64(len(s.outMap.mem))
	s.mu.Unlock()
	if !fits {
		return nil
	}
	off, err := s.reserve(int64(n))
	if err != nil {
		return nil
	}
	return s.outMap.mem[off : off+int64(n) : off+int64(n)]
}

// release gives the call's mappings back to the cache and closes the arena. Nothing may touch
// the tensors that aliased them afterwards.
func (s *serverShm) release() {
	s.mu.Lock()
	acquired := s.acquired
	s.acquired = nil
	if s.outFile != nil {
		_ = s.outFile.Close()
		s.outFile = nil
	}
	s.mu.Unlock()
	for _, m := range acquired {
		s.maps.put(m)
	}
}
