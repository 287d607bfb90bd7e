// Package fault turns memory faults into errors. Code that reads memory it
// does not own — a mapped file that may be truncated under it, a caller's
// buffer that may be shorter than declared — runs under Guard, so a bad
// address is an error for the caller rather than a SIGSEGV/SIGBUS that ends
// the process.
package fault

import "runtime/debug"

// Guard runs fn with debug.SetPanicOnFault on; a fault inside it returns
// blame(the faulting address). Other panics are not faults: they go on up.
func Guard(fn func() error, blame func(addr uintptr) error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if v := recover(); v != nil {
			if fe, ok := v.(interface{ Addr() uintptr }); ok {
				err = blame(fe.Addr())
				return
			}
			panic(v)
		}
	}()
	return fn()
}
