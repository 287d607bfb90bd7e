package kernels

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// One catalog row's worth (1283 support vectors) per op, at the dispatch's
// level.
func BenchmarkSVMExp(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src, dst := make([]float64, 1283), make([]float64, 1283)
	for i := range src {
		src[i] = rng.Float64() * 40
	}
	for b.Loop() {
		SVMExpScaled(dst, src, -0.05)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/value")
}

func BenchmarkSVMDists(b *testing.B) {
	for _, f := range []int{8, 20, 64} {
		b.Run(strconv.Itoa(f), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			s := 1283
			sv := svmRandRow(rng, s*f, false)
			x := svmRandRow(rng, f, false)
			packed := make([]float64, SVMPackedLen(s, f))
			SVMPack(packed, sv, s, f)
			dst := make([]float64, SVMPad(s))
			for b.Loop() {
				SVMDots(dst, x, sv, packed, s, f, true)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*s), "ns/value")
		})
	}
}
