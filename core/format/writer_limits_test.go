package format

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// A tensor larger than the memory the system has is refused before the
// builder copies it (a failed Go allocation would abort the process). The
// data is 1 TiB of reserved, inaccessible address space: the check comes
// before any read.
func TestBuilderRefusesCopiesBeyondMemory(t *testing.T) {
	const n = 1 << 40
	view, err := unix.Mmap(-1, 0, n, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(view)
	b := NewBuilder()
	err = b.AddTensor("W", dtype.Uint8, []int64{n}, view)
	if errs.CodeOf(err) != errs.NoMemorySystem {
		t.Fatalf("AddTensor of 1 TiB: %v", err)
	}
}
