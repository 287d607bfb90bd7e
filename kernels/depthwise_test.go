package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// DepthwisePhases against the direct depthwiseRef over strides,
// dilations, paddings and kernel sizes, on the vector and the Go axpy.
func TestDepthwisePhases(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, asm := range []bool{true, false} {
		if asm && !axpyAsm {
			continue
		}
		saved := axpyAsm
		setAxpyAsm(asm)
		for trial := 0; trial < 400; trial++ {
			s := ConvShape{H: 1 + rng.Intn(20), W: 1 + rng.Intn(40), KH: 1 + rng.Intn(5), KW: 1 + rng.Intn(5),
				SH: 1 + rng.Intn(3), SW: 1 + rng.Intn(3), DH: 1 + rng.Intn(2), DW: 1 + rng.Intn(2)}
			s.PH, s.PW = rng.Intn(s.KH), rng.Intn(s.KW)
			s.PHEnd, s.PWE = rng.Intn(s.KH), rng.Intn(s.KW)
			s.OH = (s.H+s.PH+s.PHEnd-(s.KH-1)*s.DH-1)/s.SH + 1
			s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
			if s.OH < 1 || s.OW < 1 {
				continue
			}
			x := make([]float32, s.H*s.W)
			w := make([]float32, s.KH*s.KW)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i := range w {
				w[i] = float32(rng.NormFloat64())
			}
			want := make([]float32, s.OH*s.OW)
			got := make([]float32, s.OH*s.OW)
			depthwiseRef(want, x, w, 0.5, &s)
			DepthwisePhases(got, x, w, 0.5, &s, make([]float32, DepthwiseScratch(&s)))
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("asm=%v %+v: out[%d] = %v, want %v", asm, s, i, got[i], want[i])
				}
			}
			x64 := make([]float64, len(x))
			w64 := make([]float64, len(w))
			for i := range x {
				x64[i] = float64(x[i])
			}
			for i := range w {
				w64[i] = float64(w[i])
			}
			want64 := make([]float64, len(want))
			got64 := make([]float64, len(want))
			depthwiseRef(want64, x64, w64, 0.5, &s)
			DepthwisePhases(got64, x64, w64, 0.5, &s, make([]float64, DepthwiseScratch(&s)))
			for i := range want64 {
				if math.Abs(got64[i]-want64[i]) > 1e-12*(1+math.Abs(want64[i])) {
					t.Fatalf("f64 %+v: out[%d] = %v, want %v", s, i, got64[i], want64[i])
				}
			}
		}
		setAxpyAsm(saved)
	}
}

// The vector axpy against the Go loop on every tail length.
func TestAxpy32(t *testing.T) {
	for n := 0; n < 200; n++ {
		x := make([]float32, n)
		y := make([]float32, n+1)
		for i := range x {
			x[i] = float32(i%7) - 3
			y[i] = float32(i % 5)
		}
		y[n] = 42 // past the end: untouched
		want := append([]float32(nil), y...)
		axpyGo(want[:n], x, 1.5)
		Axpy32(y[:n], x, 1.5)
		for i := range y {
			if y[i] != want[i] {
				t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, y[i], want[i])
			}
		}
	}
}

func BenchmarkDepthwisePhases(b *testing.B) {
	for _, c := range []struct {
		name string
		s    ConvShape
	}{
		{"3x3s1_56", ConvShape{H: 56, W: 56, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 1, PW: 1, OH: 56, OW: 56}},
		{"5x5s2_28", ConvShape{H: 28, W: 28, KH: 5, KW: 5, SH: 2, SW: 2, DH: 1, DW: 1, PH: 2, PW: 2, OH: 14, OW: 14}},
	} {
		s := c.s
		x := make([]float32, s.H*s.W)
		w := make([]float32, s.KH*s.KW)
		out := make([]float32, s.OH*s.OW)
		scratch := make([]float32, DepthwiseScratch(&s))
		flops := float64(2 * s.KH * s.KW * s.OH * s.OW)
		b.Run(c.name+"/phases", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				DepthwisePhases(out, x, w, 0, &s, scratch)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(c.name+"/direct", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				depthwiseRef(out, x, w, 0, &s)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// depthwiseRef is the direct depthwise convolution of one plane, the
// reference DepthwisePhases is checked against.
func depthwiseRef[T Float](out, x, w []T, bias T, s *ConvShape) {
	for oh := 0; oh < s.OH; oh++ {
		orow := out[oh*s.OW : oh*s.OW+s.OW]
		for k := range orow {
			orow[k] = bias
		}
		for i := 0; i < s.KH; i++ {
			ih := oh*s.SH - s.PH + i*s.DH
			if ih < 0 || ih >= s.H {
				continue
			}
			row := x[ih*s.W : ih*s.W+s.W]
			for j := 0; j < s.KW; j++ {
				wv := w[i*s.KW+j]
				lo, hi := s.owRange(j * s.DW)
				if lo >= hi {
					continue
				}
				d := j*s.DW - s.PW
				if s.SW == 1 {
					dst, src := orow[lo:hi], row[lo+d:hi+d]
					for k := range dst {
						dst[k] += wv * src[k]
					}
				} else {
					for ow := lo; ow < hi; ow++ {
						orow[ow] += wv * row[ow*s.SW+d]
					}
				}
			}
		}
	}
}

// The vector max against the Go loop on every tail length, with NaNs
// (which never win) and infinities.
func TestMax32(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for n := 0; n < 150; n++ {
		for trial := 0; trial < 4; trial++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
				switch rng.Intn(10) {
				case 0:
					x[i] = float32(math.NaN())
				case 1:
					x[i] = float32(math.Inf(-1))
				}
			}
			if got, want := Max32(x), maxGo(x); got != want {
				t.Fatalf("n=%d: Max32 = %v, want %v", n, got, want)
			}
		}
	}
}
