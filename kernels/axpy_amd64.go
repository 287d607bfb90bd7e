//go:build amd64 && !purego

package kernels

import (
	"math"

	"golang.org/x/sys/cpu"
)

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

//go:noescape
func max32AVX512(x *float32, n int) float32

// Max32 returns the largest element of x, −Inf when x is empty or all NaN:
// NaN elements never win.
func Max32(x []float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	if axpyAsm {
		return max32AVX512(&x[0], len(x))
	}
	return maxGo(x)
}
