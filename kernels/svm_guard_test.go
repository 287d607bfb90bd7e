//go:build linux || darwin

package kernels

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// The SVM kernels with every operand against a guard page, before and
// after: a read or write past either end crashes the test; the results
// match those from ordinary slices.
func TestSVMGuardPages(t *testing.T) {
	svmLevels(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(31, 32))
		rx, rp, rd, rs := newGuardedRegion(t, 8*200), newGuardedRegion(t, 8*64*200), newGuardedRegion(t, 8*70), newGuardedRegion(t, 8*70)
		for _, f := range []int{1, 15, 16, 20, 31, 32, 48, 63, 64, 81, 130} {
			for _, s := range []int{1, 15, 16, 17, 33, 48} {
				sv := svmRandRow(rng, s*f, false)
				x := svmRandRow(rng, f, false)
				packed := make([]float64, SVMPackedLen(s, f))
				SVMPack(packed, sv, s, f)
				want := make([]float64, SVMPad(s))
				for _, sq := range []bool{false, true} {
					SVMDots(want, x, sv, packed, s, f, sq)
					for _, atEnd := range []bool{false, true} {
						dst := place(rd, make([]float64, SVMPad(s)), atEnd)
						SVMDots(dst, place(rx, x, atEnd), sv, place(rp, packed, atEnd), s, f, sq)
						svmSameBits(t, name+" guarded dots f="+strconv.Itoa(f)+" s="+strconv.Itoa(s), dst[:s], want[:s])
					}
				}
			}
		}
		for _, n := range []int{1, 7, 8, 9, 16, 23, 24, 40, 64} {
			src := svmRandRow(rng, n, false)
			want := make([]float64, n)
			for _, atEnd := range []bool{false, true} {
				SVMExpScaled(want, src, -0.3)
				dst := place(rd, make([]float64, n), atEnd)
				SVMExpScaled(dst, place(rs, src, atEnd), -0.3)
				svmSameBits(t, name+" guarded exp", dst, want)
				SVMPoly(want, src, 0.5, 1, 3)
				dst = place(rd, make([]float64, n), atEnd)
				SVMPoly(dst, place(rs, src, atEnd), 0.5, 1, 3)
				svmSameBits(t, name+" guarded poly", dst, want)
			}
		}
		rk := newGuardedRegion(t, 8*40*70)
		for _, rows := range []int{1, 31, 32, 33, 64, 70} {
			for _, n := range []int{1, 5, 40} {
				k, w := svmRandRow(rng, (rows-1)*40+n, false), svmRandRow(rng, n, false)
				want := make([]float64, rows)
				SVMSums(want, k, 40, w)
				for _, atEnd := range []bool{false, true} {
					acc := place(rd, make([]float64, rows), atEnd)
					SVMSums(acc, place(rk, k, atEnd), 40, place(rs, w, atEnd))
					svmSameBits(t, name+" guarded sums", acc, want)
				}
			}
		}
	})
}
