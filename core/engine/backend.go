package engine

import (
	"unsafe"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/osmem"
)

// Buf is a tensor's memory on a backend. The CPU backend's buffers are host
// bytes (Host). A device backend carries its own address in Dev and leaves
// Host nil: the planner and the session never look inside a Buf, they only
// pass it between the backend and its kernels.
type Buf struct {
	Host []byte
	Dev  uintptr
	Len  int64
}

// Backend is where a session's tensors live and its kernels run: memory,
// the transfer of constants, inputs and outputs, and synchronization.
// Kernels for it are registered under its Name (see Register).
type Backend interface {
	Name() string
	// Alloc returns n bytes of backend memory (the activation arena,
	// staging copies).
	Alloc(n int64) (Buf, error)
	// Free releases memory from Alloc and empties b.
	Free(b *Buf)
	// Slice returns bytes [off, off+n) of b.
	Slice(b Buf, off, n int64) Buf
	// Constant makes a model's stored constant usable by kernels. It is
	// called once per Model and constant, when the model opens.
	Constant(stored []byte) (Buf, error)
	// Input makes a caller's input of elements of elem bytes usable for
	// one run. staging is the session's memory for this input: the
	// backend may (re)allocate it, within budget bytes.
	Input(host []byte, elem int, staging *Buf, budget int64) (Buf, error)
	// Output copies a result into the caller's memory.
	Output(dst []byte, src Buf) error
	// Sync waits until the work queued so far is done.
	Sync() error
}

// cpuBackend runs kernels on the calling thread and the model's pool, on
// host memory mapped from the operating system (package osmem).
type cpuBackend struct{}

// CPUBackend is the name of the CPU backend.
const CPUBackend = "cpu"

var cpu Backend = cpuBackend{}

func (cpuBackend) Name() string { return CPUBackend }

func (cpuBackend) Alloc(n int64) (Buf, error) {
	m, err := osmem.Alloc(n)
	if err != nil {
		return Buf{}, err
	}
	return Buf{Host: m.Bytes(), Len: n}, nil
}

func (cpuBackend) Free(b *Buf) {
	if b.Host != nil {
		osmem.FreeBytes(b.Host)
	}
	*b = Buf{}
}

func (cpuBackend) Slice(b Buf, off, n int64) Buf {
	return Buf{Host: b.Host[off : off+n : off+n], Len: n}
}

func (cpuBackend) Constant(stored []byte) (Buf, error) {
	return Buf{Host: stored, Len: int64(len(stored))}, nil
}

// Input uses the caller's bytes in place when they are aligned to their
// element size, and an aligned copy otherwise.
func (c cpuBackend) Input(host []byte, elem int, staging *Buf, budget int64) (Buf, error) {
	if len(host) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(host)))%uintptr(elem) == 0 {
		return Buf{Host: host, Len: int64(len(host))}, nil
	}
	n := int64(len(host))
	if staging.Len < n {
		c.Free(staging)
		if n > budget {
			return Buf{}, errs.New(errs.NoMemoryLimit, "it is not aligned to its element size and its copy needs %d bytes; %d remain under the session's memory limit", n, budget)
		}
		b, err := c.Alloc(n)
		if err != nil {
			return Buf{}, errs.Prefix(err, "copying a misaligned input")
		}
		*staging = b
	}
	copy(staging.Host, host)
	return Buf{Host: staging.Host[:n:n], Len: n}, nil
}

func (cpuBackend) Output(dst []byte, src Buf) error {
	copy(dst, src.Host[:src.Len])
	return nil
}

func (cpuBackend) Sync() error { return nil }
