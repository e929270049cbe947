//go:build !linux

package sdk

import (
	"errors"

	pb "github.com/hfhost/hfhost/sdk/internal/proto/executorv1"
)

// shmSupported is false: the shared-memory path needs memfd and /proc (Linux). Tensors cross
// inline.
const shmSupported = false

var errNoShm = errors.New("shared memory is only implemented on Linux")

func newArena() (*arena, error) { return nil, errNoShm }

func (a *arena) close()                                   {}
func (a *arena) write([]byte, int64) error                { return errNoShm }
func (a *arena) read(int64, int64, int64) ([]byte, error) { return nil, errNoShm }
func (a *arena) shrink() error                            { return errNoShm }

func (s *serverShm) mapInputs([]*pb.NamedValue, []Value) error { return errNoShm }

func (s *serverShm) outputBuffer(int) []byte { return nil }

func (s *serverShm) reserve(int64) (int64, error) { return 0, errNoShm }

func (s *serverShm) release() {}
