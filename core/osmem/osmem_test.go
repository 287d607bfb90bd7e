package osmem

import (
	"testing"
	"unsafe"

	"github.com/mle-runtime/mle/core/errs"
)

func TestAllocFree(t *testing.T) {
	b, err := Alloc(10000)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 10000 || uintptr(unsafe.Pointer(&b.Bytes()[0]))%4096 != 0 {
		t.Fatalf("len %d at %p", b.Len(), &b.Bytes()[0])
	}
	for i, v := range b.Bytes() {
		if v != 0 {
			t.Fatalf("byte %d is %d, want zeroed memory", i, v)
		}
	}
	b.Bytes()[9999] = 1
	Free(&b)
	if b.Len() != 0 {
		t.Fatal("Free left the buffer non-empty")
	}
	Free(&b) // twice is harmless
	if z, err := Alloc(0); err != nil || z.Len() != 0 {
		t.Fatalf("Alloc(0) = %v, %v", z, err)
	}
}

func TestAllocRefusals(t *testing.T) {
	if _, err := Alloc(-1); errs.CodeOf(err) != errs.InvalidValue {
		t.Fatalf("Alloc(-1): %v", err)
	}
	// More than any machine has: refused by the availability check or by
	// the kernel, either way an error and not an abort.
	if _, err := Alloc(1 << 50); errs.CodeOf(err) != errs.NoMemorySystem {
		t.Fatalf("Alloc(2^50): %v", err)
	}
}

func TestLimitAndAvailable(t *testing.T) {
	if l := Limit(); l <= 0 {
		t.Fatalf("Limit() = %d: physical memory at least should be known", l)
	}
	if n, ok := Available(); !ok || n <= 0 {
		t.Fatalf("Available() = %d, %v (limit %d)", n, ok, Limit())
	}
}
