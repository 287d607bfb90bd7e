package kernels

// Vector loops over float slices: an axpy, a max and a fill, with AVX-512
// versions of the first two for float32 (vector_amd64.s, which holds the
// other small AVX-512 loops too: HardSwish, max-pool rows, stride-2
// gathers, float32 Add and Mul).

import (
	"math"
	"unsafe"
)

// axpy adds a·x to y, with the vector loop for float32.
func axpy[T Float](y, x []T, a T) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		Axpy32(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(y))), len(y)),
			unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), float32(a))
		return
	}
	axpyGo(y, x, a)
}

func axpyGo[T Float](y, x []T, a T) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// Fill sets every element of s to v: a short loop, then doubling copies
// (memmove's vector loops) for the rest.
func Fill[T any](s []T, v T) {
	n := min(len(s), 16)
	for i := 0; i < n; i++ {
		s[i] = v
	}
	for n < len(s) {
		n += copy(s[n:], s[:n])
	}
}

// maxGo is Max32's loop: −Inf for none, NaN never wins (it fails v > m).
func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}
