package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// unaryRef are float64 references for the ops Unary hands to vmath.
var unaryRef = map[UnaryOp]func(float64) float64{
	OpSigmoid: func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
	OpTanh:    math.Tanh,
	OpGeluErf: func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) },
	OpGeluTanh: func(v float64) float64 {
		return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	},
	OpExp: math.Exp,
	OpLog: math.Log,
}

func unaryInputs() []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), 1e-30, -1e-30, 30, -30, 700, -700}
	for i := 0; i < 997; i++ {
		xs = append(xs, rng.NormFloat64()*4)
	}
	return xs
}

// near reports whether got is within tol of want relative to max(1, |want|)
// (NaN matches NaN, infinities must be equal).
func near(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestUnaryVmath(t *testing.T) {
	xs := unaryInputs()
	for op, ref := range unaryRef {
		got := make([]float64, len(xs))
		Unary(op, got, xs, 0)
		x32 := make([]float32, len(xs))
		for i, v := range xs {
			x32[i] = float32(v)
		}
		got32 := make([]float32, len(xs))
		Unary(op, got32, x32, 0)
		for i, v := range xs {
			if want := ref(v); !near(got[i], want, 1e-15) {
				t.Errorf("op %d float64(%v) = %v, want %v", op, v, got[i], want)
			}
			if want := float64(float32(ref(float64(x32[i])))); !near(float64(got32[i]), want, 2e-7) {
				t.Errorf("op %d float32(%v) = %v, want %v", op, x32[i], got32[i], want)
			}
		}
	}
}

// A named float type goes through the same kernels: the same bits as
// float32 itself.
type myFloat float32

func TestUnaryNamedType(t *testing.T) {
	x := []myFloat{-1, 0, 0.5, 3}
	y := make([]myFloat, len(x))
	Unary(OpTanh, y, x, 0)
	x32, y32 := make([]float32, len(x)), make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	Unary(OpTanh, y32, x32, 0)
	for i, v := range x {
		if want := float32(math.Tanh(float64(v))); math.Float32bits(float32(y[i])) != math.Float32bits(y32[i]) || !near(float64(y[i]), float64(want), 2e-7) {
			t.Errorf("tanh(%v) = %v, want %v (float32: %v)", v, y[i], want, y32[i])
		}
	}
}

func TestUnaryNoAllocs(t *testing.T) {
	x := make([]float64, 100)
	x32 := make([]float32, 100)
	y := make([]float64, 100)
	y32 := make([]float32, 100)
	if a := testing.AllocsPerRun(20, func() {
		for op := range unaryRef {
			Unary(op, y, x, 0)
			Unary(op, y32, x32, 0)
		}
		Softmax(false, y32, x32, 10, 1, 0, 10)
		Softmax(true, y32, x32, 10, 1, 0, 10)
		Softmax(true, y, x, 10, 1, 0, 10)
		SoftmaxF64(y, x, 5, 2, 0, 10)
	}); a != 0 {
		t.Errorf("%v allocations per run", a)
	}
}

// refSoftmax is the textbook two-pass softmax in float64.
func refSoftmax(log bool, x []float64, axis, inner int) []float64 {
	out := make([]float64, len(x))
	if axis == 0 {
		return out
	}
	for o := 0; o < len(x)/(axis*inner); o++ {
		for in := 0; in < inner; in++ {
			at := func(k int) int { return o*axis*inner + k*inner + in }
			mx := math.Inf(-1)
			for k := 0; k < axis; k++ {
				if v := x[at(k)]; v > mx || v != v {
					mx = v
				}
			}
			var s float64
			for k := 0; k < axis; k++ {
				s += math.Exp(x[at(k)] - mx)
			}
			for k := 0; k < axis; k++ {
				if log {
					out[at(k)] = x[at(k)] - mx - math.Log(s)
				} else {
					out[at(k)] = math.Exp(x[at(k)]-mx) / s
				}
			}
		}
	}
	return out
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, shape := range [][3]int{{3, 5, 1}, {2, 37, 1}, {4, 1, 1}, {2, 3, 4}, {1, 100, 3}, {3, 0, 1}} {
		outer, axis, inner := shape[0], shape[1], shape[2]
		x := make([]float64, outer*axis*inner)
		for i := range x {
			x[i] = rng.NormFloat64() * 20
		}
		if len(x) > 5 {
			x[5] = 700 // large values must not overflow
		}
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		for _, log := range []bool{false, true} {
			name := fmt.Sprintf("%v/log=%v", shape, log)
			want := refSoftmax(log, x, axis, inner)
			got := make([]float64, len(x))
			Softmax(log, got, x, axis, inner, 0, outer)
			for i := range want {
				if !near(got[i], want[i], 1e-14) {
					t.Fatalf("%s f64[%d] = %v, want %v", name, i, got[i], want[i])
				}
			}
			if !log {
				g2 := make([]float64, len(x))
				SoftmaxF64(g2, x, axis, inner, 0, outer)
				for i := range got {
					if g2[i] != got[i] {
						t.Fatalf("%s: SoftmaxF64 differs from Softmax at %d", name, i)
					}
				}
			}
			x64of32 := make([]float64, len(x))
			for i, v := range x32 {
				x64of32[i] = float64(v)
			}
			want32 := refSoftmax(log, x64of32, axis, inner)
			got32 := make([]float32, len(x))
			Softmax(log, got32, x32, axis, inner, 0, outer)
			for i := range want32 {
				if !near(float64(got32[i]), want32[i], 2.5e-7) {
					t.Fatalf("%s f32[%d] = %v, want %v", name, i, got32[i], want32[i])
				}
			}
			// In place.
			in := append([]float64(nil), x...)
			Softmax(log, in, in, axis, inner, 0, outer)
			for i := range got {
				if in[i] != got[i] && !(in[i] != in[i] && got[i] != got[i]) {
					t.Fatalf("%s: in place differs at %d", name, i)
				}
			}
		}
	}
}

// A NaN, +Inf or all −Inf row is NaN throughout; other rows are unaffected.
func TestSoftmaxSpecialRows(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	x := []float64{1, nan, 2, 1, inf, 2, math.Inf(-1), math.Inf(-1), math.Inf(-1), 1, 2, 3}
	for _, log := range []bool{false, true} {
		for _, f32 := range []bool{false, true} {
			got := make([]float64, len(x))
			if f32 {
				x32 := make([]float32, len(x))
				for i, v := range x {
					x32[i] = float32(v)
				}
				g32 := make([]float32, len(x))
				Softmax(log, g32, x32, 3, 1, 0, 4)
				for i, v := range g32 {
					got[i] = float64(v)
				}
			} else {
				Softmax(log, got, x, 3, 1, 0, 4)
			}
			for i := 0; i < 9; i++ {
				if !math.IsNaN(got[i]) {
					t.Errorf("log=%v f32=%v: row %d element %d = %v, want NaN", log, f32, i/3, i%3, got[i])
				}
			}
			if math.IsNaN(got[9]) || math.IsNaN(got[11]) {
				t.Errorf("log=%v f32=%v: a finite row became NaN", log, f32)
			}
		}
	}
}

// LayerNorm's float64 results are the two-pass textbook formula, bit for
// bit, with vmath's summation order (32 partial sums, element i into sum
// i%32, then added pairwise, halving) and products rounded (run it with GOAMD64=v3
// too, where Go fuses x*y+z otherwise).
func TestLayerNormTwoPass(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const rows, d = 7, 77 // two assembly blocks of 32 and a tail
	x := make([]float64, rows*d)
	for i := range x {
		x[i] = rng.NormFloat64()*3 + 100
	}
	scale, bias := make([]float64, d), make([]float64, d)
	for i := range scale {
		scale[i], bias[i] = rng.Float64()+0.5, rng.NormFloat64()
	}
	y := make([]float64, len(x))
	mean, inv := make([]float64, rows), make([]float64, rows)
	LayerNorm(y, x, scale, bias, mean, inv, d, 1e-5, 0, rows)
	for r := 0; r < rows; r++ {
		row := x[r*d : r*d+d]
		var s, ss [32]float64
		for i, v := range row {
			s[i%32] += v
		}
		mu := sumHalving(s[:]) / d
		for i, v := range row {
			ss[i%32] += float64((v - mu) * (v - mu))
		}
		is := 1 / math.Sqrt(sumHalving(ss[:])/d+1e-5)
		if mean[r] != mu || inv[r] != is {
			t.Fatalf("row %d: mean %v inv %v, want %v %v", r, mean[r], inv[r], mu, is)
		}
		for i, v := range row {
			if want := float64((v-mu)*is*scale[i]) + bias[i]; y[r*d+i] != want {
				t.Fatalf("row %d[%d] = %v, want %v", r, i, y[r*d+i], want)
			}
		}
	}
}

// BenchmarkUnary reports ns per element (4096-element slices) for the ops
// that go through vmath and their math-based predecessors (…/math).
func BenchmarkUnary(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.Float64()*10 - 5
	}
	x32 := make([]float32, n)
	for i, v := range x {
		x32[i] = float32(v)
	}
	pos := make([]float64, n) // for Log
	for i, v := range x {
		pos[i] = math.Abs(v) + 1e-3
	}
	pos32 := make([]float32, n)
	for i, v := range pos {
		pos32[i] = float32(v)
	}
	names := map[UnaryOp]string{OpSigmoid: "sigmoid", OpTanh: "tanh", OpGeluErf: "geluErf", OpGeluTanh: "geluTanh", OpExp: "exp", OpLog: "log"}
	for _, op := range []UnaryOp{OpExp, OpLog, OpTanh, OpSigmoid, OpGeluErf, OpGeluTanh} {
		in, in32 := x, x32
		if op == OpLog {
			in, in32 = pos, pos32
		}
		ref := unaryRef[op]
		b.Run(names[op]+"/f64", func(b *testing.B) {
			out := make([]float64, n)
			for done := 0; done < b.N; done += n {
				Unary(op, out, in, 0)
			}
		})
		b.Run(names[op]+"/f32", func(b *testing.B) {
			out := make([]float32, n)
			for done := 0; done < b.N; done += n {
				Unary(op, out, in32, 0)
			}
		})
		b.Run(names[op]+"/f64/math", func(b *testing.B) {
			out := make([]float64, n)
			for done := 0; done < b.N; done += n {
				for i, v := range in {
					out[i] = ref(v)
				}
			}
		})
	}
}

// BenchmarkSoftmax reports ns per element of 64 rows of 1000.
func BenchmarkSoftmax(b *testing.B) {
	const rows, cols = 64, 1000
	rng := rand.New(rand.NewPCG(9, 10))
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = rng.NormFloat64() * 3
	}
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	for _, log := range []bool{false, true} {
		b.Run(fmt.Sprintf("f64/log=%v", log), func(b *testing.B) {
			out := make([]float64, len(x))
			for done := 0; done < b.N; done += len(x) {
				Softmax(log, out, x, cols, 1, 0, rows)
			}
		})
		b.Run(fmt.Sprintf("f32/log=%v", log), func(b *testing.B) {
			out := make([]float32, len(x))
			for done := 0; done < b.N; done += len(x) {
				Softmax(log, out, x32, cols, 1, 0, rows)
			}
		})
	}
}

// sumHalving adds v's 32 partial sums pairwise, halving, as vmath does.
func sumHalving(v []float64) float64 {
	for len(v) > 1 {
		h := len(v) / 2
		next := make([]float64, h)
		for j := range next {
			next[j] = v[j] + v[j+h]
		}
		v = next
	}
	return v[0]
}

// TestHardSwishFloat32Exact checks Unary2's HardSwish (the AVX-512 loop
// where there is one) bit for bit against torch's float32 formula, over
// every tail length and the special values.
func TestHardSwishFloat32Exact(t *testing.T) {
	special := []float32{0, float32(math.Copysign(0, -1)), -3, 3, -2.9999998, 2.9999998, 1e-40, -1e-40,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e38, -1e38, 0.5, -0.5}
	r := rand.New(rand.NewPCG(3, 0))
	for n := 0; n <= 70; n++ {
		x := make([]float32, n)
		for i := range x {
			if r.IntN(3) == 0 {
				x[i] = special[r.IntN(len(special))]
			} else {
				x[i] = float32(r.NormFloat64() * 4)
			}
		}
		out := make([]float32, n)
		Unary2(OpHardSwish, out, x, UnaryParams{})
		for i, v := range x {
			want := v * min(max(v+3, 0), 6) / 6
			if math.Float32bits(out[i]) != math.Float32bits(want) && !(want != want && out[i] != out[i]) {
				t.Fatalf("n=%d: HardSwish(%v) = %v, want %v", n, v, out[i], want)
			}
		}
		// In place, as the epilogues run it.
		Unary2(OpHardSwish, x, x, UnaryParams{})
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(out[i]) && !(x[i] != x[i] && out[i] != out[i]) {
				t.Fatalf("n=%d: in place differs at %d", n, i)
			}
		}
	}
}

// x86Binary is x op y by x86's rule, spelled out: the first operand's NaN
// wins, quieted (Go's own x + y leaves the operand order to the compiler).
func x86Binary(op BinaryOp, x, y float32) float32 {
	switch {
	case x != x:
		return math.Float32frombits(math.Float32bits(x) | 1<<22)
	case y != y:
		return math.Float32frombits(math.Float32bits(y) | 1<<22)
	case op == OpAdd:
		return x + y
	}
	return x * y
}

// randBinaryArg draws normal values, infinities and NaNs with payloads.
func randBinaryArg(r *rand.Rand) float32 {
	switch r.IntN(8) {
	case 0:
		return math.Float32frombits(0x7fc00000 | uint32(r.IntN(1<<20)))
	case 1:
		return float32(math.Inf(1 - 2*r.IntN(2)))
	}
	return float32(r.NormFloat64())
}

// TestBinaryRowsScalarExact checks Binary over [rows, inner] against
// [rows, 1] (squeeze-and-excite's scale, either operand order), whose rows
// run in one call, bit for bit with NaN payloads, over row ranges and
// inner lengths around the vector width.
func TestBinaryRowsScalarExact(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 0))
	for _, inner := range []int{2, 3, 15, 16, 17, 32, 49, 196} {
		const rows = 9
		x, sc := make([]float32, rows*inner), make([]float32, rows)
		for i := range x {
			x[i] = randBinaryArg(r)
		}
		for i := range sc {
			sc[i] = randBinaryArg(r)
		}
		big, small := []int64{rows, int64(inner)}, []int64{rows, 1}
		for _, op := range []BinaryOp{OpAdd, OpMul} {
			for _, sFirst := range []bool{false, true} {
				a, b, sa, sb := x, sc, big, small
				if sFirst {
					a, b, sa, sb = sc, x, small, big
				}
				s := NewStrided(big, sa, sb)
				o := make([]float32, len(x))
				for i := range o {
					o[i] = 12345
				}
				r0, r1 := 2, 7
				Binary(op, &s, o, a, b, r0, r1)
				for i := range o {
					row, want := i/inner, float32(12345)
					if row >= r0 && row < r1 {
						if sFirst {
							want = x86Binary(op, sc[row], x[i])
						} else {
							want = x86Binary(op, x[i], sc[row])
						}
					}
					if math.Float32bits(o[i]) != math.Float32bits(want) {
						t.Fatalf("inner %d op %v sFirst %v: element %d = %x, want %x", inner, op, sFirst, i,
							math.Float32bits(o[i]), math.Float32bits(want))
					}
				}
			}
		}
	}
}

// TestBinaryRowFloat32Exact checks binaryRow's float32 Add and Mul (two
// rows, a scalar second operand, a scalar first one) bit for bit, NaN
// payloads included: the first operand's NaN wins, at every length.
func TestBinaryRowFloat32Exact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 0))
	val := func() float32 { return randBinaryArg(r) }
	for n := 0; n <= 140; n++ {
		a, b, o := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = val(), val()
		}
		for _, op := range []BinaryOp{OpAdd, OpMul} {
			for _, st := range [][2]int{{1, 1}, {1, 0}, {0, 1}} {
				ia, ib := st[0], st[1]
				aa, bb := a, b
				if ia == 0 {
					aa = []float32{val()}
					if n%3 == 0 {
						aa[0] = math.Float32frombits(0x7f800001 + uint32(n)) // a signalling NaN: every result is it, quieted
					}
				}
				if ib == 0 {
					bb = []float32{val()}
				}
				binaryRow(op, o, aa, bb, ia, ib)
				for i := range o {
					x, y := aa[i*ia], bb[i*ib]
					if want := x86Binary(op, x, y); math.Float32bits(o[i]) != math.Float32bits(want) {
						t.Fatalf("n=%d op=%v ia=%d ib=%d: %x op %x = %x, want %x", n, op, ia, ib,
							math.Float32bits(x), math.Float32bits(y), math.Float32bits(o[i]), math.Float32bits(want))
					}
				}
			}
		}
	}
}
