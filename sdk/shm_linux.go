//go:build linux

package sdk

import (
	"fmt"
	"os"

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

// mapInputs replaces the data of input tensors that refer to shared memory by private,
// copy-on-write mappings of the host's arena. release unmaps them; it must run after the
// executor has returned.
func (s *serverShm) mapInputs(in []*pb.NamedValue, out []Value) error {
	// The host puts every input of one request into one arena: map each distinct file once,
	// from offset 0 to the end of the last tensor in it.
	ends := map[string]int64{}
	for _, v := range in {
		if ref := v.GetTensor().GetShm(); ref != nil {
			if ref.GetOffset() < 0 || ref.GetLength() <= 0 {
				return fmt.Errorf("input %q: invalid shared-memory range [%d, +%d)", v.GetName(), ref.GetOffset(), ref.GetLength())
			}
			ends[ref.GetPath()] = max(ends[ref.GetPath()], ref.GetOffset()+ref.GetLength())
		}
	}
	maps := make(map[string][]byte, len(ends))
	for path, end := range ends {
		m, err := mapFile(path, end)
		if err != nil {
			return err
		}
		s.inputs = append(s.inputs, m)
		maps[path] = m
	}
	for i, v := range in {
		if ref := v.GetTensor().GetShm(); ref != nil {
			off, n := ref.GetOffset(), ref.GetLength()
			out[i].Tensor.Data = maps[ref.GetPath()][off : off+n : off+n]
		}
	}
	return nil
}

// mapFile maps the first n bytes of the file at path privately. The file must be that long: a
// mapping past its end would fault when read.
func mapFile(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the host's arena: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat of the host's arena %s: %w", path, err)
	}
	if st.Size() < n {
		return nil, fmt.Errorf("host's arena %s holds %d bytes, the request refers to %d", path, st.Size(), n)
	}
	// No MAP_POPULATE: populating a writable private mapping copies every page up front (it
	// breaks copy-on-write), while read faults map the host's pages as they are, many per fault.
	m, err := unix.Mmap(int(f.Fd()), 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("mapping the host's arena %s: %w", path, err)
	}
	return m, nil
}

// outputBuffer maps n bytes of the offered arena, at the next page-aligned offset, growing the
// file as needed.
func (s *serverShm) outputBuffer(n int) []byte {
	f, err := s.arenaFile()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	page := int64(os.Getpagesize())
	off := (s.next + page - 1) / page * page
	end := off + int64(n)
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	if st.Size() < end {
		if err := f.Truncate(end); err != nil {
			return nil
		}
	}
	m, err := unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil
	}
	s.regions = append(s.regions, region{mem: m, off: off})
	s.next = alignUp(end)
	return m
}

// release unmaps everything and closes the arena. Nothing may touch the tensors that aliased
// the mappings afterwards.
func (s *serverShm) release() {
	for _, m := range s.inputs {
		_ = unix.Munmap(m)
	}
	s.inputs = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.regions {
		_ = unix.Munmap(r.mem)
	}
	s.regions = nil
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
}
