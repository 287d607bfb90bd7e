//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// axpyAsm reports whether Axpy32 uses the AVX-512 loop; tests lower it to
// compare with the Go one.
var axpyAsm = cpu.X86.HasAVX512F

//go:noescape
func axpy32AVX512(y, x *float32, n int, a float32)

// Axpy32 adds a·x to y (len(x) >= len(y)).
func Axpy32(y, x []float32, a float32) {
	if len(y) == 0 {
		return
	}
	_ = x[len(y)-1]
	if axpyAsm {
		axpy32AVX512(&y[0], &x[0], len(y), a)
		return
	}
	axpyGo(y, x, a)
}

func setAxpyAsm(on bool) { axpyAsm = on && cpu.X86.HasAVX512F }
