package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lanesRef is the documented order written out independently: partial sum
// j takes elements j, j+32, j+64, … in turn, then the sums are added
// pairwise, halving (16 pairs, 8, 4, 2, 1).
func lanesRef(vals []float64) float64 {
	acc := make([]float64, sumLanes)
	for j := range acc {
		for i := j; i < len(vals); i += sumLanes {
			acc[j] += vals[i]
		}
	}
	for len(acc) > 1 {
		h := len(acc) / 2
		next := make([]float64, h)
		for j := range next {
			next[j] = acc[j] + acc[j+h]
		}
		acc = next
	}
	return acc[0]
}

func normInputs(r *rand.Rand, n int) []float64 {
	specials := []float64{0, math.Copysign(0, -1), 1e300, -1e300, 5e-324, 0x1p-1022, 3.5, -2.25}
	x := make([]float64, n)
	for i := range x {
		if r.IntN(8) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		} else {
			x[i] = r.NormFloat64() * 10
		}
	}
	return x
}

// TestNormKernels checks Sum, SumSqDev and Affine in every implementation
// against the documented order, bit for bit, for lengths around the
// assembly's blocks; and that Affine writes nothing past len(x).
func TestNormKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, im := range supported() {
		for n := 0; n <= 140; n++ {
			x := normInputs(r, n)
			x32 := to32(x)
			w32 := make([]float64, n)
			for i, v := range x32 {
				w32[i] = float64(v)
			}
			c := r.NormFloat64()
			if got, want := sum64(im, x), lanesRef(x); !same64(got, want) {
				t.Fatalf("%s n=%d: Sum64 %v, want %v", implNames[im], n, got, want)
			}
			if got, want := sum32(im, x32), lanesRef(w32); !same64(got, want) {
				t.Fatalf("%s n=%d: Sum32 %v, want %v", implNames[im], n, got, want)
			}
			sq, sq32 := make([]float64, n), make([]float64, n)
			for i := range x {
				d, d32 := x[i]-c, w32[i]-c
				sq[i], sq32[i] = d*d, d32*d32
			}
			if got, want := sumSqDev64(im, x, c), lanesRef(sq); !same64(got, want) {
				t.Fatalf("%s n=%d: SumSqDev64 %v, want %v", implNames[im], n, got, want)
			}
			if got, want := sumSqDev32(im, x32, c), lanesRef(sq32); !same64(got, want) {
				t.Fatalf("%s n=%d: SumSqDev32 %v, want %v", implNames[im], n, got, want)
			}
			scale, bias := normInputs(r, n), normInputs(r, n)
			mu, inv := r.NormFloat64(), 1/(r.Float64()+0.1)
			for _, withBias := range []bool{false, true} {
				const sentinel = 777.25
				y, y32 := make([]float64, n+9), make([]float32, n+9)
				for i := range y {
					y[i], y32[i] = sentinel, sentinel
				}
				var b []float64
				var b32 []float32
				if withBias {
					b, b32 = bias, to32(bias)
				}
				affine64(im, y[:n], x, scale, b, mu, inv)
				affine32(im, y32[:n], x32, to32(scale), b32, mu, inv)
				for i := 0; i < n; i++ {
					// Explicit conversions: rounded, never fused.
					want := float64((x[i] - mu) * inv)
					want = float64(want * scale[i])
					v32 := float64((w32[i] - mu) * inv)
					v32 = float64(v32 * float64(float32(scale[i])))
					if withBias {
						want += b[i]
						v32 += float64(b32[i])
					}
					if !same64(y[i], want) {
						t.Fatalf("%s n=%d bias=%v: Affine64[%d] = %v, want %v", implNames[im], n, withBias, i, y[i], want)
					}
					if !same32(y32[i], float32(v32)) {
						t.Fatalf("%s n=%d bias=%v: Affine32[%d] = %v, want %v", implNames[im], n, withBias, i, y32[i], float32(v32))
					}
				}
				for i := n; i < len(y); i++ {
					if y[i] != sentinel || y32[i] != sentinel {
						t.Fatalf("%s n=%d: Affine wrote element %d", implNames[im], n, i)
					}
				}
			}
		}
	}
}

// In place: y may be x.
func TestAffineInPlace(t *testing.T) {
	for _, im := range supported() {
		x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
		scale := make([]float64, len(x))
		for i := range scale {
			scale[i] = 2
		}
		affine64(im, x, x, scale, nil, 1, 0.5)
		for i, v := range x {
			if v != float64(i) {
				t.Fatalf("%s: element %d = %v, want %v", implNames[im], i, v, float64(i))
			}
		}
	}
}
