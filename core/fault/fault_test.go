package fault

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

var sink byte // keeps the faulting read from being optimized away

func TestGuard(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	var got uintptr
	bad := errors.New("blamed")
	err = Guard(func() error { sink = mem[10]; return nil }, func(addr uintptr) error { got = addr; return bad })
	if err != bad || got == 0 {
		t.Fatalf("Guard = %v, addr %#x", err, got)
	}
	if err := Guard(func() error { return nil }, func(uintptr) error { return bad }); err != nil {
		t.Fatalf("no fault: %v", err)
	}
	defer func() {
		if v := recover(); v != "not a fault" {
			t.Fatalf("recovered %v; other panics must go on up", v)
		}
	}()
	_ = Guard(func() error { panic("not a fault") }, func(uintptr) error { return bad })
}
