package kernels

import (
	"math"
	"testing"
)

// TestPackBPartialSliver packs the last, partial sliver of a B with every
// kernel this CPU runs (the masked AVX-512 copy where the kernel has one,
// the Go loop otherwise): each row's w values, zeros after them over
// whatever the buffer held, and nothing read past w (the source ends
// exactly there).
func TestPackBPartialSliver(t *testing.T) {
	for _, kern := range gemmKernels32() {
		testPackBPartial(t, kern)
	}
	for _, kern := range gemmKernels64() {
		testPackBPartial(t, kern)
	}
}

func testPackBPartial[T gemmFloat](t *testing.T, kern *gemmKernel[T]) {
	nr := kern.nr
	for _, w := range []int{1, 5, nr / 2, nr - 1} {
		if w < 1 || w >= nr {
			continue // a whole sliver, or wider than one
		}
		const rows, ldb = 7, 40
		b := make([]T, (rows-1)*ldb+w) // ends at the last value read
		for i := range b {
			b[i] = T(i + 1)
		}
		dst := make([]T, rows*nr)
		for i := range dst {
			dst[i] = T(math.NaN())
		}
		gemmPackB(kern, dst, b, ldb, false, 0, rows, 0, w)
		for r := 0; r < rows; r++ {
			for j := 0; j < nr; j++ {
				want := T(0)
				if j < w {
					want = b[r*ldb+j]
				}
				if got := dst[r*nr+j]; got != want {
					t.Fatalf("%s w %d: row %d col %d = %v, want %v", kern.name, w, r, j, got, want)
				}
			}
		}
	}
}
