//go:build amd64 && !purego

package kernels

import (
	"math"
	"testing"
)

// The partial-sliver copy writes each row's w values and zeros after
// them, over whatever the buffer held, and reads nothing past w (the
// source ends exactly there).
func TestCopyBPad(t *testing.T) {
	for _, kern := range []*gemmKernel[float32]{&sgemmKernelAVX512} {
		if kern.copyBPad == nil || sgemmKern != kern {
			t.Skip("the AVX-512 kernels are not in use on this CPU")
		}
		nr := kern.nr
		for _, w := range []int{1, 5, 15, 16, 17, 31} {
			const rows, lds = 7, 40
			src := make([]float32, (rows-1)*lds+w) // ends at the last value read
			for i := range src {
				src[i] = float32(i + 1)
			}
			dst := make([]float32, rows*nr)
			for i := range dst {
				dst[i] = float32(math.NaN())
			}
			kern.copyBPad(src, lds, rows, dst, w)
			for r := 0; r < rows; r++ {
				for j := 0; j < nr; j++ {
					want := float32(0)
					if j < w {
						want = src[r*lds+j]
					}
					if got := dst[r*nr+j]; got != want {
						t.Fatalf("w %d: row %d col %d = %v, want %v", w, r, j, got, want)
					}
				}
			}
		}
	}
}
