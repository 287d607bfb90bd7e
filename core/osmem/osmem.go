// Package osmem takes large buffers straight from the operating system
// (anonymous mappings) instead of the Go heap. The Go runtime aborts the
// whole process when the heap cannot grow; a mapping that cannot be made is
// an error the caller sees (errs.NoMemorySystem), so a run that needs more
// memory than the machine has fails instead of killing its host.
package osmem

import (
	"sync"

	"github.com/mle-runtime/mle/core/errs"
)

// checkAbove is the size from which Alloc first asks the system how much
// memory is available: a mapping succeeds lazily (overcommit), and touching
// pages that do not exist ends in the OOM killer, not in an error.
const checkAbove = 64 << 20

// Buffer is memory from Alloc. Free it with Free; the zero Buffer is empty.
type Buffer struct {
	b []byte
}

// Bytes returns the buffer's memory.
func (m *Buffer) Bytes() []byte { return m.b }

// Len returns the buffer's length.
func (m *Buffer) Len() int64 { return int64(len(m.b)) }

// Alloc returns n zeroed bytes, page-aligned (so 64-byte aligned too).
// n == 0 gives an empty Buffer.
func Alloc(n int64) (Buffer, error) {
	if n < 0 {
		return Buffer{}, errs.New(errs.InvalidValue, "allocating %d bytes", n)
	}
	if n == 0 {
		return Buffer{}, nil
	}
	if n >= checkAbove {
		if avail, ok := Available(); ok && n > avail {
			return Buffer{}, errs.New(errs.NoMemorySystem, "%d bytes are needed; the system has %d available", n, avail)
		}
	}
	b, err := mapAnon(n)
	if err != nil {
		return Buffer{}, errs.Wrap(errs.NoMemorySystem, err, "the system refused %d bytes", n)
	}
	return Buffer{b: b}, nil
}

// Free returns m's memory to the system and empties m.
func Free(m *Buffer) {
	if len(m.b) > 0 {
		unmap(m.b)
	}
	m.b = nil
}

// FreeBytes is Free for a holder that kept only Bytes(): b must be the whole
// of a Buffer's Bytes(), and is not used afterwards.
func FreeBytes(b []byte) {
	m := Buffer{b: b}
	Free(&m)
}

var (
	limitOnce sync.Once
	limit     int64
)

// Limit returns how much memory this process may use at most: the least of
// physical memory, the cgroup's memory limit, RLIMIT_AS and RLIMIT_DATA
// (0 when none could be read). It is read once per process.
func Limit() int64 {
	limitOnce.Do(func() { limit = readLimit() })
	return limit
}
