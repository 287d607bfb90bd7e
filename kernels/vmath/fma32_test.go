package vmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fma32Ref is x·y + z computed exactly and rounded once to float32.
func fma32Ref(x, y, z float32) float32 {
	p := new(big.Float).SetPrec(200).Mul(big.NewFloat(float64(x)).SetPrec(200), big.NewFloat(float64(y)).SetPrec(200))
	p.Add(p, big.NewFloat(float64(z)).SetPrec(200))
	f, _ := p.Float32()
	return f
}

// TestFma32 checks fma32 against an exact sum rounded once, on random
// operands of every scale and on sums placed next to a float32 midpoint,
// where rounding the sum to float64 first and then to float32 would round
// twice the wrong way.
func TestFma32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 0))
	arg := func() float32 {
		return float32(math.Ldexp(r.Float64()+0.5, r.IntN(120)-60)) * float32(1-2*r.IntN(2))
	}
	check := func(x, y, z float32) {
		if got, want := fma32(x, y, z), fma32Ref(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%x), want %g (%x)", x, y, z, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	midpoints := 0
	for range 200000 {
		x, y := arg(), arg()
		check(x, y, arg())
		// z that puts x·y + z within a float64 ulp or so of a float32
		// midpoint: the exact product's residue below float32 precision,
		// shifted by half a float32 ulp.
		p := float64(x) * float64(y)
		lo := float64(float32(p))
		if math.IsInf(lo, 0) || lo == 0 {
			continue
		}
		half := math.Abs(float64(math.Nextafter32(float32(lo), float32(math.Inf(1))))-lo) / 2
		for _, z := range []float64{lo - p + half, lo - p - half, -(p - lo) + half*(1+0x1p-30)} {
			if z32 := float32(z); z32 != 0 && !math.IsInf(float64(z32), 0) {
				check(x, y, z32)
				midpoints++
			}
		}
	}
	if midpoints < 100000 {
		t.Fatalf("only %d midpoint cases", midpoints)
	}
	// Specials: overflow, infinities, NaN, signed zeros.
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range [][4]float32{{3e38, 10, 0, inf}, {inf, 1, -inf, nan}, {inf, 0, 1, nan}, {0, -1, 0, 0},
		{float32(math.Copysign(0, -1)), 1, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))}, {1, 1, -1, 0}} {
		got, want := fma32(c[0], c[1], c[2]), c[3]
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", c[0], c[1], c[2], got, want)
		}
	}
}
