package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// svmLevels runs check at every level this CPU runs, Go first, restoring
// the dispatch afterwards.
func svmLevels(t *testing.T, check func(t *testing.T, name string)) {
	keep := svmLevel
	defer func() { svmLevel = keep }()
	for _, l := range []struct {
		level int
		name  string
	}{{svmGo, "Go"}, {svmAVX2, "AVX2"}, {svmAVX512, "AVX-512"}} {
		if svmRuns(l.level) {
			svmLevel = l.level
			check(t, l.name)
		}
	}
}

// svmRefDot is the OpenBLAS ddot order written per term: term i goes to
// lane i%32 while 32-term blocks last, lane i%16 (after folding lane l
// with l+4 of its 8-lane group) while 16-term blocks last, then to the
// running sum.
func svmRefDot(x, y []float64) float64 {
	n := len(x)
	n32, n16 := n/32*32, n/16*16
	var z [32]float64
	for i := 0; i < n32; i++ {
		z[i%32] = math.FMA(x[i], y[i], z[i%32])
	}
	var a [16]float64
	for l := range a {
		g := l / 4
		a[l] = z[8*g+l%4] + z[8*g+4+l%4]
	}
	for i := n32; i < n16; i++ {
		a[i%16] = math.FMA(x[i], y[i], a[i%16])
	}
	sum := 0.0
	if n16 > 0 {
		var s [4]float64
		for l := range s {
			s[l] = a[l] + a[4+l]
			s[l] += a[8+l]
			s[l] += a[12+l]
		}
		sum = (s[0] + s[2]) + (s[1] + s[3])
	}
	for i := n16; i < n; i++ {
		sum = math.FMA(x[i], y[i], sum)
	}
	return sum
}

// Below 16 terms the dot is a plain sequential FMA sum; at any length it
// is the per-term reference and within the usual bound of the exact dot.
func TestSVMDotOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 200; n++ {
		x, y := svmRandRow(rng, n, false), svmRandRow(rng, n, false)
		got := SVMDot(x, y)
		if n < 16 {
			seq := 0.0
			for i := range x {
				seq = math.FMA(x[i], y[i], seq)
			}
			svmSameBits(t, "short dot", []float64{got}, []float64{seq})
		}
		svmSameBits(t, "dot", []float64{got}, []float64{svmRefDot(x, y)})
		exact := new(big.Float).SetPrec(2000)
		abs := 0.0
		for i := range x {
			exact.Add(exact, new(big.Float).SetPrec(2000).Mul(big.NewFloat(x[i]), big.NewFloat(y[i])))
			abs += math.Abs(x[i] * y[i])
		}
		e, _ := exact.Float64()
		if math.Abs(got-e) > float64(n+1)*0x1p-53*abs {
			t.Fatalf("n=%d: dot %v, exact %v", n, got, e)
		}
		d := make([]float64, n)
		for i := range d {
			d[i] = x[i] - y[i]
		}
		svmSameBits(t, "distance", []float64{SVMSqDist(x, y)}, []float64{svmRefDot(d, d)})
	}
}

// svmRandRow is n normal values; with specials, some rows are mostly zeros
// of either sign, and single entries are tiny (products underflow to
// signed zeros), huge, infinite or NaN.
func svmRandRow(rng *rand.Rand, n int, specials bool) []float64 {
	r := make([]float64, n)
	zeros := specials && rng.IntN(4) == 0
	for i := range r {
		r[i] = rng.NormFloat64()
		if zeros && rng.IntN(4) != 0 {
			r[i] = math.Copysign(0, r[i])
		}
		if !specials || rng.IntN(40) != 0 {
			continue
		}
		switch rng.IntN(6) {
		case 0:
			r[i] *= 1e-170
		case 1:
			r[i] *= 0x1p-1074
		case 2:
			r[i] *= 1e300
		case 3:
			r[i] = math.Inf(1 - 2*rng.IntN(2))
		case 4:
			r[i] = math.NaN()
		default:
			r[i] = float64(rng.IntN(5) - 2)
		}
	}
	return r
}

// svmSameBits compares bit patterns; any NaN equals any NaN (the payload
// a row mixing NaNs and infinities ends with is unspecified).
func svmSameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("%s[%d] = %v (%#x), want %v (%#x)", what, i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

// svmDotsCase packs s random vectors of f features and checks SVMDots at
// the current level against SVMDot / SVMSqDist vector by vector.
func svmDotsCase(t *testing.T, rng *rand.Rand, name string, s, f int, specials bool) {
	t.Helper()
	sv := make([]float64, 0, s*f)
	for range s {
		sv = append(sv, svmRandRow(rng, f, specials)...)
	}
	x := svmRandRow(rng, f, specials)
	packed := make([]float64, SVMPackedLen(s, f))
	SVMPack(packed, sv, s, f)
	dst := make([]float64, SVMPad(s))
	for _, sq := range []bool{false, true} {
		for i := range dst {
			dst[i] = math.NaN()
		}
		SVMDots(dst, x, sv, packed, s, f, sq)
		want := make([]float64, s)
		for v := range want {
			if sq {
				want[v] = SVMSqDist(x, sv[v*f:(v+1)*f])
			} else {
				want[v] = SVMDot(x, sv[v*f:(v+1)*f])
			}
		}
		what := name + " s=" + strconv.Itoa(s) + " f=" + strconv.Itoa(f) + " sq=" + strconv.FormatBool(sq)
		svmSameBits(t, what, dst[:s], want)
		if !sq {
			continue
		}
		// The rbf values at several gammas: SVMExpScaled of the distances.
		k := make([]float64, s)
		for _, gamma := range []float64{1e-3, 0.05, 0.5, 3, 40} {
			SVMExpScaled(k, dst[:s], -gamma)
			for v := range want {
				want[v] = SVMExp(-gamma * SVMSqDist(x, sv[v*f:(v+1)*f]))
			}
			svmSameBits(t, what+" rbf", k, want)
		}
	}
}

// Every width from 1 to 130 (each of the assembly's paths: the tail alone,
// a block of 16, one to four blocks of 32 with and without a block of 16
// and a tail) and 1 to 50 vectors (partial blocks), with and without
// special values, and the rbf values of the distances at five gammas: the
// assembly's results are the Go code's bit for bit.
func TestSVMDotsPaths(t *testing.T) {
	svmLevels(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(21, 22))
		for f := 1; f <= 130; f++ {
			for _, s := range []int{1 + rng.IntN(50), 1 + rng.IntN(50), 16, 17} {
				svmDotsCase(t, rng, name, s, f, false)
				svmDotsCase(t, rng, name, s, f, true)
			}
		}
		// f = 0 and the packed layout's padding lanes.
		dst := make([]float64, 16)
		SVMDots(dst, nil, nil, make([]float64, SVMPackedLen(3, 0)), 3, 0, true)
		svmSameBits(t, name+" f=0", dst[:3], []float64{0, 0, 0})
	})
}

// SVMPack's layout: feature i of vector 16b+w at 16(bf+i)+w, zeros past s.
func TestSVMPack(t *testing.T) {
	svmLevels(t, func(t *testing.T, name string) {
		s, f := 21, 3
		if SVMPackedLen(s, f) == 0 {
			return // the Go code reads the vectors unpacked
		}
		sv := make([]float64, s*f)
		for i := range sv {
			sv[i] = float64(i + 1)
		}
		p := make([]float64, SVMPackedLen(s, f))
		for i := range p {
			p[i] = -1
		}
		SVMPack(p, sv, s, f)
		for b := range 2 {
			for i := range f {
				for w := range 16 {
					want := 0.0
					if v := 16*b + w; v < s {
						want = sv[v*f+i]
					}
					if got := p[16*(b*f+i)+w]; got != want {
						t.Fatalf("%s: block %d feature %d lane %d = %v, want %v", name, b, i, w, got, want)
					}
				}
			}
		}
	})
}

// svmExpSamples is how many arguments TestSVMExpPaths draws per kind:
// MLE_SVM_EXP_SAMPLES raises it for a long run.
func svmExpSamples(t *testing.T) int {
	n := 1 << 19
	if testing.Short() {
		n = 1 << 15
	}
	if v := os.Getenv("MLE_SVM_EXP_SAMPLES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("MLE_SVM_EXP_SAMPLES: %v", err)
		}
	}
	return n
}

// svmExpArgs draws n arguments of one kind.
func svmExpArgs(rng *rand.Rand, kind, n int) []float64 {
	const step = math.Ln2 / 64
	xs := make([]float64, n)
	for i := range xs {
		var x float64
		switch kind {
		case 0: // rbf's domain, -gamma·d²
			x = -rng.Float64() * 708
		case 1: // the whole table range and past both ends
			x = -750 + rng.Float64()*1470
		case 2: // near 0, any sign and magnitude
			x = math.Ldexp(rng.Float64()+0.5, -rng.IntN(80)) * float64(1-2*rng.IntN(2))
		case 3: // near the reduction's ties k·ln2/64 + ln2/128, a few ulps apart
			x = (float64(rng.IntN(130000)-65000) + 0.5) * step
			for range rng.IntN(5) {
				x = math.Nextafter(x, math.Inf(1-2*rng.IntN(2)))
			}
		case 4: // near multiples of ln2/64 (tiny r)
			x = float64(rng.IntN(130000)-65000) * step
			for range rng.IntN(3) {
				x = math.Nextafter(x, math.Inf(1-2*rng.IntN(2)))
			}
		case 5: // any bit pattern: NaNs, infinities, subnormals
			x = math.Float64frombits(rng.Uint64())
		default: // the range's ends, exactly and a few ulps off
			x = []float64{-708, 709, -745.2, 709.8, 0}[rng.IntN(5)]
			for range rng.IntN(4) {
				x = math.Nextafter(x, math.Inf(1-2*rng.IntN(2)))
			}
		}
		xs[i] = x
	}
	return xs
}

// The vector exp equals SVMExp (scalar) on every argument drawn: millions
// over the rbf domain, the whole range, ties of the reduction, tiny
// arguments, the range's ends and random bit patterns, with scale 1 and
// with the rbf's scale (-gamma times a squared distance).
func TestSVMExpPaths(t *testing.T) {
	n := svmExpSamples(t)
	svmLevels(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(23, 24))
		dst := make([]float64, 4096+5)
		for kind := range 7 {
			for done := 0; done < n; done += len(dst) {
				src := svmExpArgs(rng, kind, len(dst))
				scale := 1.0
				if kind == 0 && done%2 == 1 {
					scale = -rng.Float64() * 2
					for i := range src {
						src[i] = -src[i] / 2
					}
				}
				SVMExpScaled(dst, src, scale)
				for i, v := range src {
					want := SVMExp(scale * v)
					if math.Float64bits(dst[i]) != math.Float64bits(want) {
						t.Fatalf("%s: exp(%v·%v) = %v, SVMExp gives %v", name, scale, v, dst[i], want)
					}
				}
			}
		}
	})
}

// svmBigExp is e^x to about 2^-280: e^(x/1024) by its Taylor series,
// squared ten times.
func svmBigExp(x float64) *big.Float {
	const prec = 400
	y := new(big.Float).SetPrec(prec).SetFloat64(x)
	y.Quo(y, big.NewFloat(1024))
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for i := 1; i < 60; i++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(i)))
		sum.Add(sum, term)
	}
	for range 10 {
		sum.Mul(sum, sum)
	}
	return sum
}

// SVMExp is correctly rounded (its error before rounding is far below
// what these samples could expose) where results are normal.
func TestSVMExpCorrectlyRounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	xs := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, 0x1p-60, -0x1p-30, 1, -1, math.Ln2, -math.Ln2 / 128,
		-707.9, 708.5, -50.5}
	for range 1200 {
		xs = append(xs, -rng.Float64()*40, (rng.Float64()-0.5)*2, -rng.Float64()*700, rng.Float64()*700, -rng.Float64()*1e-3)
	}
	for _, x := range xs {
		want, _ := svmBigExp(x).Float64()
		if got := SVMExp(x); got != want {
			t.Fatalf("SVMExp(%v) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float64{-708.5, -745.2, -800, 709.5, 800, math.Inf(-1), math.Inf(1)} {
		if got, want := SVMExp(x), math.Exp(x); got != want {
			t.Fatalf("SVMExp(%v) = %v, want math.Exp's %v", x, got, want)
		}
	}
	if !math.IsNaN(SVMExp(math.NaN())) {
		t.Fatal("SVMExp(NaN) is not NaN")
	}
}

func TestSVMPowi(t *testing.T) {
	for d := 0; d <= 12; d++ {
		for _, b := range []float64{0, 1, -1, 0.7, -1.3, 2.5} {
			got, want := SVMPowi(b, d), math.Pow(b, float64(d))
			if math.Abs(got-want) > 1e-14*math.Abs(want) {
				t.Fatalf("powi(%v, %d) = %v, want about %v", b, d, got, want)
			}
		}
	}
	// Binary powering: x^3 = x·(x·x), x^4 = (x·x)·(x·x), not left to right.
	x := 1.1
	if SVMPowi(x, 3) != x*(x*x) || SVMPowi(x, 4) != (x*x)*(x*x) || SVMPowi(x, 5) != x*((x*x)*(x*x)) {
		t.Fatal("SVMPowi does not power as libsvm's powi")
	}
}

// The vector powers equal SVMPowi of the rounded gamma·d + coef0 for
// degrees 0 to 12 and large ones, on ordinary and special values.
func TestSVMPolyPaths(t *testing.T) {
	svmLevels(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, degree := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 31, 64, 1000, 1<<31 - 1} {
			for _, n := range []int{1, 7, 8, 9, 16, 61, 256} {
				src := svmRandRow(rng, n, true)
				gamma, coef0 := rng.Float64(), rng.NormFloat64()
				dst := make([]float64, n)
				SVMPoly(dst, src, gamma, coef0, degree)
				want := make([]float64, n)
				for i, v := range src {
					want[i] = SVMPowi(float64(gamma*v)+coef0, degree)
				}
				svmSameBits(t, name+" poly degree "+strconv.Itoa(degree), dst, want)
			}
		}
	})
}

// SVMSums at every level equals the plain per-row loop bit for bit (NaN
// for NaN: which payload wins where two meet depends on how the compiler
// orders operands, even between Go builds), for 1 to 99 rows (whole
// groups of 32 and the rest) and sums of 1 to 60 terms.
func TestSVMSumsPaths(t *testing.T) {
	svmLevels(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(27, 28))
		for range 300 {
			rows, n := 1+rng.IntN(99), 1+rng.IntN(60)
			ld := n + rng.IntN(5)
			k := svmRandRow(rng, rows*ld, true)
			w := svmRandRow(rng, n, true)
			acc := svmRandRow(rng, rows, false)
			want := append([]float64(nil), acc...)
			for u := range want {
				for t, c := range w {
					want[u] += float64(c * k[u*ld+t])
				}
			}
			SVMSums(acc, k[:(rows-1)*ld+n], ld, w)
			svmSameBits(t, name+" sums of "+strconv.Itoa(rows)+" rows, "+strconv.Itoa(n)+" terms", acc, want)
		}
	})
}
