//go:build unix

package seal

import (
	"sync"

	"github.com/mle-runtime/mle/core/errs"
	"golang.org/x/sys/unix"
)

// Secret is memory for decrypted plaintext. It comes from an anonymous
// mapping outside the Go heap (so the garbage collector never copies it),
// is excluded from core dumps where the system allows (MADV_DONTDUMP), and
// is zeroed before it is returned to the system.
type Secret struct {
	mu sync.Mutex
	b  []byte
}

// AllocSecret maps n bytes of zeroed secret memory; n == 0 gives an empty
// Secret. Failure is errs.NoMemorySystem.
func AllocSecret(n int64) (*Secret, error) {
	if n < 0 || uint64(n) > uint64(^uintptr(0)>>1) {
		return nil, errs.New(errs.InvalidValue, "allocating %d bytes of secret memory", n)
	}
	if n == 0 {
		return &Secret{}, nil
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, errs.Wrap(errs.NoMemorySystem, err, "the system refused %d bytes of secret memory", n)
	}
	if err := dontDump(b); err != nil {
		_ = unix.Munmap(b)
		return nil, errs.Wrap(errs.NoMemorySystem, err, "excluding %d bytes of secret memory from core dumps", n)
	}
	return &Secret{b: b}, nil
}

// Bytes returns the memory; nil after Free.
func (s *Secret) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b
}

// Free zeroes the memory and unmaps it. It is idempotent; the slice Bytes
// returned must not be used afterwards.
func (s *Secret) Free() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		return
	}
	wipe(s.b)
	_ = unix.Munmap(s.b)
	s.b = nil
}

// wipe zeroes b, so plaintext does not outlive its use in pages the
// system may have swapped out or that a forked child still shares. (Go does
// not drop stores to memory that is passed to a call afterwards.)
func wipe(b []byte) {
	clear(b)
}
