package vmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// supported lists the implementations this CPU can run, pure Go first.
func supported() []impl {
	var out []impl
	for im := implGo; im <= best(); im++ {
		out = append(out, im)
	}
	return out
}

var fnNames = [numFns]string{"exp", "log", "tanh", "erf", "sigmoid", "geluErf", "geluTanh"}

// same64 reports whether a and b have the same bits, NaNs included.
func same64(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// same32 is same64 for float32, except that a signaling NaN input may come
// back quieted or not (Go may fold the float32→float64→float32 round trip).
func same32(a, b float32) bool {
	const quiet = 0x400000
	return math.Float32bits(a) == math.Float32bits(b) ||
		a != a && b != b && math.Float32bits(a)|quiet == math.Float32bits(b)|quiet
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		want string
		best impl
		got  impl
	}{
		{"", implAVX512, implAVX512}, {"go", implAVX512, implGo}, {"avx2", implAVX512, implAVX2},
		{"avx512", implAVX2, implAVX2}, {"avx512", implGo, implGo}, {"sse", implAVX2, implAVX2},
	} {
		if got := choose(c.want, c.best); got != c.got {
			t.Errorf("choose(%q, %v) = %v, want %v", c.want, c.best, got, c.got)
		}
	}
	t.Logf("this machine: best %s, in use %s", implNames[best()], Impl())
}

// special64 are values at the edges of the kernels' ranges and branches.
func special64() []float64 {
	xs := []float64{0, 1, 0.5, 2, math.Inf(1), math.NaN(), math.SmallestNonzeroFloat64, 0x1p-1022,
		0x1.fffffffffffffp-1023, 0x1p-1060, math.MaxFloat64, 1e-300, 1e-8, 1e-20, 0x1p-149, 0x1p-126,
		math.MaxFloat32, 709.78, 709.79, 709.4, 709.5, 745.13, 745.14, 708.4, 708.3, 710, 746, 750, 88.72, 88.73, 103.97, 104.1,
		tanhSmall, math.Nextafter(tanhSmall, 0), 9.01, 19.06, 20, 40, 5.92, 6, 4, 3.92, math.Sqrt2, math.Sqrt2 / 2,
		math.Nextafter(math.Sqrt2/2, 0), math.Nextafter(1, 0), math.Nextafter(1, 2)}
	for i := 0; i <= 16; i++ {
		for _, w := range []float64{0.375, 0.25, 0.375 * math.Sqrt2, 0.25 * math.Sqrt2} {
			b := float64(i) * w
			xs = append(xs, b, math.Nextafter(b, 0), math.Nextafter(b, 10))
		}
	}
	n := len(xs)
	for _, x := range xs[:n] {
		xs = append(xs, -x)
	}
	return xs
}

// inputs64 returns the special values and n random ones: uniform bit
// patterns and uniform values in ±8 and ±800.
func inputs64(rng *rand.Rand, n int) []float64 {
	xs := special64()
	for i := 0; i < n; i++ {
		switch rng.IntN(3) {
		case 0:
			xs = append(xs, math.Float64frombits(rng.Uint64()))
		case 1:
			xs = append(xs, (rng.Float64()*2-1)*8)
		default:
			xs = append(xs, (rng.Float64()*2-1)*800)
		}
	}
	return xs
}

func to32(xs []float64) []float32 {
	out := make([]float32, len(xs))
	for i, v := range xs {
		out[i] = float32(v)
	}
	return out
}

// TestSameBits checks that every implementation gives the pure-Go bits,
// on special and random inputs, every slice length up to 40 (the tails)
// and in place.
func TestSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 1 << 18
	if testing.Short() || raceEnabled {
		n = 1 << 14
	}
	xs := inputs64(rng, n)
	x32 := to32(xs)
	for i := range x32 { // float32 bit patterns too, not only rounded float64s
		if i%3 == 0 {
			x32[i] = math.Float32frombits(rng.Uint32())
		}
	}
	for f := fn(0); f < numFns; f++ {
		want := make([]float64, len(xs))
		apply64(implGo, f, want, xs)
		want32 := make([]float32, len(xs))
		apply32(implGo, f, want32, x32)
		for _, im := range supported()[1:] {
			name := fnNames[f] + "/" + implNames[im]
			got := make([]float64, len(xs))
			apply64(im, f, got, xs)
			diff64(t, name+"/f64", xs, got, want)
			got32 := make([]float32, len(xs))
			apply32(im, f, got32, x32)
			diff32(t, name+"/f32", x32, got32, want32)
			for l := 0; l <= 40; l++ { // tails, offsets, in place
				off := rng.IntN(len(xs) - l)
				g := append([]float64(nil), xs[off:off+l]...)
				apply64(im, f, g, g)
				diff64(t, fmt.Sprintf("%s/f64/len%d", name, l), xs[off:off+l], g, want[off:off+l])
				g32 := append([]float32(nil), x32[off:off+l]...)
				apply32(im, f, g32, g32)
				diff32(t, fmt.Sprintf("%s/f32/len%d", name, l), x32[off:off+l], g32, want32[off:off+l])
			}
		}
	}
}

func diff64(t *testing.T, name string, x, got, want []float64) {
	t.Helper()
	bad := 0
	for i := range x {
		if !same64(got[i], want[i]) {
			if bad < 3 {
				t.Errorf("%s(%v) = %v, pure Go %v", name, x[i], got[i], want[i])
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d differences", name, bad)
	}
}

func diff32(t *testing.T, name string, x, got, want []float32) {
	t.Helper()
	bad := 0
	for i := range x {
		if !same32(got[i], want[i]) {
			if bad < 3 {
				t.Errorf("%s(%v) = %v, pure Go %v", name, x[i], got[i], want[i])
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d differences", name, bad)
	}
}

// TestExpSub checks ExpSub against its definition (Exp of the difference,
// 8 partial sums) for every implementation and length.
func TestExpSub(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, im := range supported() {
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 100, 1000} {
			src := make([]float64, n)
			for i := range src {
				src[i] = rng.NormFloat64() * 10
			}
			c := 3.25
			var acc [8]float64
			want := make([]float64, n)
			for i, v := range src {
				want[i] = exp64(v - c)
				acc[i%8] += want[i]
			}
			dst := make([]float64, n)
			if s := expSub64(im, dst, src, c); !same64(s, sum8(&acc)) {
				t.Errorf("%s f64 n=%d: sum %v, want %v", implNames[im], n, s, sum8(&acc))
			}
			diff64(t, fmt.Sprintf("expSub/%s/f64/n%d", implNames[im], n), src, dst, want)

			s32 := to32(src)
			c32 := float32(-1.5)
			acc = [8]float64{}
			want32 := make([]float32, n)
			for i, v := range s32 {
				e := expF32(float64(v) - float64(c32))
				want32[i] = float32(e)
				acc[i%8] += e
			}
			d32 := make([]float32, n)
			if s := expSub32(im, d32, s32, c32); !same64(s, sum8(&acc)) {
				t.Errorf("%s f32 n=%d: sum %v, want %v", implNames[im], n, s, sum8(&acc))
			}
			diff32(t, fmt.Sprintf("expSub/%s/f32/n%d", implNames[im], n), s32, d32, want32)
		}
	}
}

// TestSpecials checks the values the kernels must get exactly.
func TestSpecials(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	negz := math.Copysign(0, -1)
	cases := []struct {
		f    fn
		x, y float64
	}{
		{fExp, math.Inf(-1), 0}, {fExp, inf, inf}, {fExp, nan, nan}, {fExp, 0, 1}, {fExp, negz, 1},
		{fExp, 710, inf}, {fExp, 709.79, inf}, {fExp, -746, 0}, {fExp, -745.2, 0},
		{fExp, -745.1, 5e-324}, {fExp, 709.78, 1.7928227943945155e+308}, // bigref: …5155 (math says +Inf)
		{fLog, 0, math.Inf(-1)}, {fLog, negz, math.Inf(-1)}, {fLog, -1, nan}, {fLog, math.Inf(-1), nan},
		{fLog, inf, inf}, {fLog, nan, nan}, {fLog, 1, 0}, {fLog, 5e-324, -744.4400719213812},
		{fLog, math.MaxFloat64, 709.782712893384},
		{fTanh, 0, 0}, {fTanh, negz, negz}, {fTanh, inf, 1}, {fTanh, math.Inf(-1), -1}, {fTanh, nan, nan},
		{fTanh, 5e-324, 5e-324}, {fTanh, -5e-324, -5e-324}, {fTanh, 30, 1},
		{fErf, 0, 0}, {fErf, negz, negz}, {fErf, inf, 1}, {fErf, math.Inf(-1), -1}, {fErf, nan, nan}, {fErf, 6, 1},
		{fSigmoid, math.Inf(-1), 0}, {fSigmoid, inf, 1}, {fSigmoid, nan, nan}, {fSigmoid, 0, 0.5},
		{fSigmoid, negz, 0.5}, {fSigmoid, 40, 1}, {fSigmoid, -745.2, 0}, {fSigmoid, -745.1, 5e-324},
		{fGeluErf, 0, 0}, {fGeluErf, negz, negz}, {fGeluErf, inf, inf}, {fGeluErf, math.Inf(-1), nan}, {fGeluErf, nan, nan},
		{fGeluTanh, 0, 0}, {fGeluTanh, negz, negz}, {fGeluTanh, inf, inf}, {fGeluTanh, math.Inf(-1), nan}, {fGeluTanh, nan, nan},
		{fGeluTanh, 1e200, 1e200}, {fGeluTanh, -1e200, negz},
	}
	for _, im := range supported() {
		for _, c := range cases {
			for _, n := range []int{1, 16} { // Go tail and assembly
				x := make([]float64, n)
				for i := range x {
					x[i] = c.x
				}
				y := make([]float64, n)
				apply64(im, c.f, y, x)
				if !same64(y[n-1], c.y) && !(c.y != c.y && y[n-1] != y[n-1]) {
					t.Errorf("%s %s(%v) = %v, want %v", implNames[im], fnNames[c.f], c.x, y[n-1], c.y)
				}
				x32 := to32(x)
				if math.IsInf(float64(x32[0]), 0) && !math.IsInf(c.x, 0) {
					continue // no float32 counterpart
				}
				y32 := make([]float32, n)
				apply32(im, c.f, y32, x32)
				w32 := float32(c.y)
				if c.f == fLog && c.x == math.MaxFloat64 { // float32(MaxFloat64) is +Inf
					w32 = float32(inf)
				}
				if c.f == fLog && c.x == 5e-324 {
					w32 = float32(math.Inf(-1)) // rounds to 0
				}
				if !same32(y32[n-1], w32) && !(w32 != w32 && y32[n-1] != y32[n-1]) {
					t.Errorf("%s %s32(%v) = %v, want %v", implNames[im], fnNames[c.f], x32[0], y32[n-1], w32)
				}
			}
		}
	}
	// Gradual underflow: e^x for x between −745.13 and −708.4 is subnormal.
	for _, x := range []float64{-708.5, -720, -740, -744.9} {
		var y [1]float64
		Exp64(y[:], []float64{x})
		if y[0] == 0 || y[0] >= 0x1p-1022 {
			t.Errorf("exp(%v) = %v, want a subnormal", x, y[0])
		}
	}
}

func TestNoAllocs(t *testing.T) {
	x := make([]float64, 1000)
	x32 := make([]float32, 1000)
	for i := range x {
		x[i] = float64(i) / 100
		x32[i] = float32(x[i])
	}
	y := make([]float64, len(x))
	y32 := make([]float32, len(x))
	if a := testing.AllocsPerRun(10, func() {
		for _, n := range []int{3, 16, 999} {
			Exp64(y[:n], x[:n])
			Erf32(y32[:n], x32[:n])
			GeluTanh64(y[:n], x[:n])
			Log32(y32[:n], x32[:n])
			ExpSub64(y[:n], x[:n], 1)
			ExpSub32(y32[:n], x32[:n], 1)
		}
	}); a != 0 {
		t.Errorf("%v allocations per run", a)
	}
}

// TestScalar checks that the exported scalar forms give the slice kernels'
// bits.
func TestScalar(t *testing.T) {
	xs := inputs64(rand.New(rand.NewPCG(9, 9)), 2000)
	for f, g := range map[fn]func(float64) float64{fExp: Exp, fLog: Log, fTanh: Tanh, fErf: Erf, fSigmoid: Sigmoid} {
		y := make([]float64, len(xs))
		apply64(active, f, y, xs)
		for i, x := range xs {
			if !same64(g(x), y[i]) {
				t.Fatalf("%s(%v): scalar %v, slice %v", fnNames[f], x, g(x), y[i])
			}
		}
	}
}

// TestNoOverrun checks that no kernel writes past len(src) in dst, for
// every length around the assembly's block of 16.
func TestNoOverrun(t *testing.T) {
	const sentinel = 12345.678
	for _, im := range supported() {
		for f := fn(0); f < numFns; f++ {
			for n := 0; n <= 50; n++ {
				src := make([]float64, n)
				for i := range src {
					src[i] = float64(i)/7 + 0.1
				}
				buf := make([]float64, n+20)
				for i := range buf {
					buf[i] = sentinel
				}
				apply64(im, f, buf[:n:n], src)
				buf32 := make([]float32, n+20)
				for i := range buf32 {
					buf32[i] = sentinel
				}
				apply32(im, f, buf32[:n:n], to32(src))
				for i := n; i < n+20; i++ {
					if buf[i] != sentinel || buf32[i] != float32(sentinel) {
						t.Fatalf("%s %s n=%d: wrote element %d", implNames[im], fnNames[f], n, i)
					}
				}
			}
		}
		for n := 0; n <= 50; n++ {
			src := make([]float64, n)
			buf := make([]float64, n+20)
			buf[n] = sentinel
			expSub64(im, buf[:n:n], src, 0)
			buf32 := make([]float32, n+20)
			buf32[n] = sentinel
			expSub32(im, buf32[:n:n], to32(src), 0)
			if buf[n] != sentinel || buf32[n] != float32(sentinel) {
				t.Fatalf("%s expSub n=%d: wrote past the end", implNames[im], n)
			}
		}
	}
}

// TestRelu checks ReLU against Go's max(x, 0), bit for bit (NaN stays NaN,
// −0 becomes +0), in place and not, for every length around the assembly's
// blocks and unrolled loops, and that nothing past len(src) is written.
func TestRelu(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	negz := math.Copysign(0, -1)
	specials := []float64{0, negz, 1, -1, math.Inf(1), math.Inf(-1), math.NaN(), -math.NaN(),
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-149, -0x1p-149, math.MaxFloat64, -math.MaxFloat32}
	const sentinel = 12345.678
	for _, im := range supported() {
		for n := 0; n <= 150; n++ {
			src := make([]float64, n)
			for i := range src {
				if r.IntN(3) == 0 {
					src[i] = specials[r.IntN(len(specials))]
				} else {
					src[i] = r.NormFloat64()
				}
			}
			src32 := to32(src)
			for _, inPlace := range []bool{false, true} {
				dst := make([]float64, n+20)
				dst32 := make([]float32, n+20)
				for i := range dst {
					dst[i], dst32[i] = sentinel, sentinel
				}
				s, s32 := src, src32
				if inPlace {
					copy(dst, src)
					copy(dst32, src32)
					s, s32 = dst[:n], dst32[:n]
				}
				relu64(im, dst[:n:n], s)
				relu32(im, dst32[:n:n], s32)
				for i := 0; i < n; i++ {
					want, want32 := max(src[i], 0), max(src32[i], 0)
					if !same64(dst[i], want) && !(want != want && dst[i] != dst[i]) {
						t.Fatalf("%s n=%d: relu64(%v) = %v, want %v", implNames[im], n, src[i], dst[i], want)
					}
					if !same32(dst32[i], want32) && !(want32 != want32 && dst32[i] != dst32[i]) {
						t.Fatalf("%s n=%d: relu32(%v) = %v, want %v", implNames[im], n, src32[i], dst32[i], want32)
					}
				}
				for i := n; i < len(dst); i++ {
					if dst[i] != sentinel || dst32[i] != sentinel {
						t.Fatalf("%s n=%d: element %d written", implNames[im], n, i)
					}
				}
			}
		}
	}
}
