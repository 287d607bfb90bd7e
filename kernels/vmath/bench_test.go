package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks: ns/op is per element (b.N elements through slices of 4096).
// BenchmarkVmath/<fn>/<type>/<impl> runs each implementation the CPU has;
// BenchmarkMathLoop the math-based loops kernels.Unary used before vmath.

const benchN = 4096

func benchInput(lo, hi float64) []float64 {
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, benchN)
	for i := range xs {
		xs[i] = lo + (hi-lo)*rng.Float64()
	}
	return xs
}

var benchRange = [numFns][2]float64{{-20, 20}, {1e-3, 1e3}, {-5, 5}, {-4, 4}, {-20, 20}, {-5, 5}, {-5, 5}}

func BenchmarkVmath(b *testing.B) {
	for f := fn(0); f < numFns; f++ {
		x := benchInput(benchRange[f][0], benchRange[f][1])
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		for _, im := range supported() {
			b.Run(fnNames[f]+"/f64/"+implNames[im], func(b *testing.B) {
				out := make([]float64, benchN)
				for done := 0; done < b.N; done += benchN {
					apply64(im, f, out, x)
				}
			})
			b.Run(fnNames[f]+"/f32/"+implNames[im], func(b *testing.B) {
				out := make([]float32, benchN)
				for done := 0; done < b.N; done += benchN {
					apply32(im, f, out, x32)
				}
			})
		}
	}
}

// mathLoop64 are the loops kernels.Unary ran before vmath (float32 went
// through the same float64 code and a conversion).
var mathLoop64 = [numFns]func(float64) float64{
	math.Exp, math.Log, math.Tanh, math.Erf,
	func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
	func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) },
	func(v float64) float64 {
		return 0.5 * v * (1 + math.Tanh(0.7978845608028654*(v+0.044715*v*v*v)))
	},
}

func BenchmarkMathLoop(b *testing.B) {
	for f := fn(0); f < numFns; f++ {
		x := benchInput(benchRange[f][0], benchRange[f][1])
		g := mathLoop64[f]
		b.Run(fnNames[f]+"/f64", func(b *testing.B) {
			out := make([]float64, benchN)
			for done := 0; done < b.N; done += benchN {
				for i, v := range x {
					out[i] = g(v)
				}
			}
		})
	}
}
