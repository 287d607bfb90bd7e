package vmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/kernels/vmath/internal/bigref"
)

// Accuracy tests. TestAccuracy measures the error against bigref's
// high-precision values on random samples; TestSweep32 and TestSweep64
// compare with package math over strided sweeps of all bit patterns.
//
//	MLE_VMATH_SWEEP=full  sweeps all 2^32 float32 patterns (minutes) and a
//	                      16× denser float64 sweep;
//	MLE_VMATH_REPORT=1    prints the error table (docs/VMATH.md) from
//	                      larger samples.
//
// All implementations give the same bits (TestSameBits, and the sweeps
// check it again on every point), so one error table covers them.

var (
	fullSweep = os.Getenv("MLE_VMATH_SWEEP") == "full"
	report    = os.Getenv("MLE_VMATH_REPORT") != ""
)

// ulp32 is |got − ref| in units of the last place of ref rounded to
// float32 (ref is the float64 reference, so this includes the final
// rounding's half ulp). Matching infinities and NaNs count 0.
func ulp32(got float32, ref float64) float64 {
	g := float64(got)
	switch {
	case math.IsNaN(ref) || math.IsNaN(g):
		if math.IsNaN(ref) && math.IsNaN(g) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(g, 0) || math.IsInf(ref, 0):
		if float64(float32(ref)) == g {
			return 0
		}
		return math.Inf(1)
	}
	e := -126
	if ref != 0 {
		if _, ex := math.Frexp(ref); ex-1 > e {
			e = ex - 1
		}
	}
	return math.Abs(g-ref) / math.Ldexp(1, e-23)
}

// excess32 is |got − ref| beyond the half ulp that rounding to float32
// costs anyway.
func excess32(got float32, ref float64) float64 {
	u := ulp32(got, ref)
	if u <= 0.5 {
		return 0
	}
	return math.Abs(float64(got)-ref) * (u - 0.5) / u
}

// ulp64 is ulp32 for a float64 reference (itself rounded).
func ulp64(got, ref float64) float64 {
	switch {
	case math.IsNaN(ref) || math.IsNaN(got):
		if math.IsNaN(ref) && math.IsNaN(got) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(got, 0) || math.IsInf(ref, 0):
		if got == ref {
			return 0
		}
		return math.Inf(1)
	}
	e := -1022
	if ref != 0 {
		if _, ex := math.Frexp(ref); ex-1 > e {
			e = ex - 1
		}
	}
	return math.Abs(got-ref) / math.Ldexp(1, e-52)
}

// accCase describes where to sample a function: |x| log-uniform in
// [lo, hi] (both signs unless pos), and the largest error allowed.
type accCase struct {
	f          fn
	ref        bigref.Func
	lo, hi     float64
	pos        bool
	max64      float64
	max32      float64
	lo32, hi32 float64 // float32 range, if different
}

var accCases = []accCase{
	{f: fExp, ref: bigref.ExpB, lo: 1e-30, hi: 746, max64: 1, max32: 0.51, hi32: 104},
	{f: fLog, ref: bigref.LogB, lo: 5e-324, hi: 1.7e308, pos: true, max64: 1, max32: 0.51, lo32: 1.4e-45, hi32: 3.4e38},
	// float32 tanh and sigmoid compute in float32 (scalar32.go): 1.509 and
	// 2.402 ulp over all float32 inputs.
	{f: fTanh, ref: bigref.TanhB, lo: 1e-30, hi: 25, max64: 1, max32: 1.55},
	{f: fErf, ref: bigref.ErfB, lo: 1e-30, hi: 7, max64: 1, max32: 0.51},
	// float64 sigmoid rounds as 1/(1+e^−x) does (scipy's expit): bound 2.6.
	{f: fSigmoid, ref: bigref.SigmoidB, lo: 1e-30, hi: 746, max64: 2.5, max32: 2.45, hi32: 110},
	// The GELUs for x >= 0 (x < 0: TestGeluNegative).
	// x·(½+½·erf) rounds twice more: 1.42 ulp measured. x·sigmoid(2v) adds
	// a rounding (and v's) to sigmoid's 2.6 bound: 1.97 measured. The
	// float32 GeluErf computes in float32 (erf's polynomial, ½·erf + ½, the
	// product each rounded): 1.93 ulp over all float32 inputs.
	{f: fGeluErf, ref: bigref.GeluErfB, lo: 1e-30, hi: 1e4, pos: true, max64: 2, max32: 2},
	{f: fGeluTanh, ref: bigref.GeluTanhB, lo: 1e-30, hi: 1e4, pos: true, max64: 3, max32: 0.51},
}

func sampleAbs(rng *rand.Rand, lo, hi float64) float64 {
	x := math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	return math.Min(math.Max(x, lo), hi) // e^ln(lo) may underflow
}

// TestAccuracy measures the largest error against bigref on random samples.
func TestAccuracy(t *testing.T) {
	n := 2000
	switch {
	case report:
		n = 50000
	case testing.Short() || raceEnabled:
		n = 400
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var lines []string
	for _, c := range accCases {
		var w64, w32 float64
		var x64w, x32w float64
		xs := make([]float64, n)
		for i := range xs {
			x := sampleAbs(rng, c.lo, c.hi)
			if !c.pos && rng.IntN(2) == 0 {
				x = -x
			}
			xs[i] = x
		}
		ys := make([]float64, n)
		apply64(active, c.f, ys, xs)
		for i, x := range xs {
			if u := bigref.ULP64(ys[i], bigref.Eval(c.ref, x)); u > w64 {
				w64, x64w = u, x
			}
		}
		lo32, hi32 := c.lo, c.hi
		if c.lo32 != 0 {
			lo32 = c.lo32
		}
		if c.hi32 != 0 {
			hi32 = c.hi32
		}
		x32 := make([]float32, n)
		for i := range x32 {
			x := float32(sampleAbs(rng, lo32, hi32))
			if !c.pos && rng.IntN(2) == 0 {
				x = -x
			}
			x32[i] = x
		}
		y32 := make([]float32, n)
		apply32(active, c.f, y32, x32)
		for i, x := range x32 {
			if u := bigref.ULP32(y32[i], bigref.Eval(c.ref, float64(x))); u > w32 {
				w32, x32w = u, float64(x)
			}
		}
		lines = append(lines, fmt.Sprintf("%-9s f64 %.3f ulp (at %.6g)   f32 %.3f ulp (at %.6g)", fnNames[c.f], w64, x64w, w32, x32w))
		if w64 > c.max64 {
			t.Errorf("%s f64: %.3f ulp at %v, allowed %v", fnNames[c.f], w64, x64w, c.max64)
		}
		if w32 > c.max32 {
			t.Errorf("%s f32: %.3f ulp at %v, allowed %v", fnNames[c.f], w32, x32w, c.max32)
		}
	}
	t.Logf("max error against bigref, %d samples per function and type:\n%s", n, strings.Join(lines, "\n"))
}

// TestGeluNegative bounds the GELUs for x < 0, where x·Φ(x) is small
// and ill-conditioned: GeluErf computes ½ + ½·erf(x/√2), whose
// cancellation leaves an absolute error of about 2^−54·|x| (relative error
// grows like 1/Φ(x)); GeluTanh is x·sigmoid(2v) and keeps relative
// precision except for the rounding of its argument v, which costs about
// |v| ulp. GeluTanh32 stays within half an ulp down to −5; GeluErf32
// computes in float32 (geluErf32Neg).
func TestGeluNegative(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	n := 2000
	if testing.Short() || raceEnabled {
		n = 200
	}
	xs := make([]float64, n)
	for i := range xs {
		if i%2 == 0 {
			xs[i] = -sampleAbs(rng, 1e-30, 40)
		} else {
			xs[i] = -40 * rng.Float64()
		}
	}
	ye := make([]float64, n)
	yt := make([]float64, n)
	GeluErf64(ye, xs)
	GeluTanh64(yt, xs)
	x32 := to32(xs)
	ye32 := make([]float32, n)
	yt32 := make([]float32, n)
	GeluErf32(ye32, x32)
	GeluTanh32(yt32, x32)
	var absErf, relTanh, absErf32, ulpTanh32 float64
	for i, x := range xs {
		we, _ := bigref.Eval(bigref.GeluErfB, x).Float64()
		absErf = math.Max(absErf, math.Abs(ye[i]-we)/(math.Abs(x)*0x1p-53))
		v := 0.7978845608028654 * (x + 0.044715*x*x*x)
		relTanh = math.Max(relTanh, bigref.ULP64(yt[i], bigref.Eval(bigref.GeluTanhB, x))/math.Max(1, math.Abs(v)))
		we32, _ := bigref.Eval(bigref.GeluErfB, float64(x32[i])).Float64()
		absErf32 = math.Max(absErf32, excess32(ye32[i], we32)/(math.Abs(float64(x32[i]))*0x1p-27))
		if x32[i] >= -5 {
			ulpTanh32 = math.Max(ulpTanh32, bigref.ULP32(yt32[i], bigref.Eval(bigref.GeluTanhB, float64(x32[i]))))
		}
	}
	t.Logf("x < 0: GeluErf64 |error| <= %.3f·2^−53·|x|; GeluTanh64 <= %.3f·max(1,|v|) ulp; "+
		"GeluErf32 |error| <= %.3f·2^−27·|x|; GeluTanh32 (x >= −5) %.3f ulp", absErf, relTanh, absErf32, ulpTanh32)
	if absErf > 1 || relTanh > 8 || absErf32 > geluErf32Neg || ulpTanh32 > 0.51 {
		t.Errorf("GELU errors for x < 0: %.3f, %.3f, %.3f, %.3f", absErf, relTanh, absErf32, ulpTanh32)
	}
}

// ref32 are float64 references for the float32 sweep: package math, whose
// error (< 1 float64 ulp) is far below float32's.
var ref32 = [numFns]func(float64) float64{
	math.Exp, math.Log, math.Tanh, math.Erf, sigmoidRef,
	func(x float64) float64 {
		if x == math.Inf(-1) {
			return math.NaN()
		}
		return 0.5 * x * math.Erfc(-x/math.Sqrt2)
	},
	func(x float64) float64 {
		if x == math.Inf(-1) {
			return math.NaN()
		}
		return x * sigmoidRef(2*0.7978845608028654*(x+0.044715*x*x*x))
	},
}

// sigmoidRef is 1/(1+e^−x), as e^x/(1+e^x) below 0 so that it underflows
// gradually instead of overflowing e^−x: the float32 sweep's reference.
func sigmoidRef(x float64) float64 {
	if x < 0 {
		e := math.Exp(x)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(-x))
}

// sigmoidFormula is what Sigmoid64 computes, with math.Exp: the float64
// sweep checks that only exp's last bit can differ.
func sigmoidFormula(x float64) float64 {
	if x < sigLow64 {
		return math.Exp(x)
	}
	return 1 / (1 + math.Exp(-x))
}

// maxSweep32 bounds each float32 kernel's error against package math in
// the sweep: half an ulp and a little (they compute in float64 and round
// once), except tanh, sigmoid and GeluErf32, which compute in float32.
var maxSweep32 = [numFns]float64{0.51, 0.51, 1.55, 0.51, 2.45, 2, 0.51}

// geluErf32Neg bounds GeluErf32 for x < 0 in units of 2^−27·|x|: ½·erf +
// ½ cancels, leaving the absolute error of its float32 rounding (2^−25),
// about 4·2^−27·|x| once multiplied by x; 5.27 over all inputs.
const geluErf32Neg = 5.5

// TestSweep32 runs every float32 kernel over a strided sweep of all 2^32
// bit patterns, checks the error against package math and that every
// implementation gives the same bits. MLE_VMATH_SWEEP=full takes all 2^32
// patterns through the fastest implementation.
func TestSweep32(t *testing.T) {
	stride := uint64(1) << 8 // 2^24 patterns
	switch {
	case fullSweep:
		stride = 1
	case testing.Short() || raceEnabled:
		stride = 1 << 14
	}
	const chunk = 1 << 16
	ims := supported()
	if fullSweep {
		ims = []impl{active} // identity: the strided sweep and TestSameBits
	}
	x := make([]float32, chunk)
	ys := make([][]float32, len(ims))
	for i := range ys {
		ys[i] = make([]float32, chunk)
	}
	var lines []string
	for f := fn(0); f < numFns; f++ {
		worst, at := 0.0, float32(0)
		negErf, negAt := 0.0, float32(0) // GeluErf32 for x < 0: |error| in 2^−27·|x|
		for start := uint64(0); start < 1<<32; start += chunk * stride {
			n := 0
			for b := start; b < 1<<32 && n < chunk; b += stride {
				x[n] = math.Float32frombits(uint32(b + stride/2)) // odd offsets, not only round patterns
				n++
			}
			for i, im := range ims {
				apply32(im, f, ys[i][:n], x[:n])
			}
			for j := 0; j < n; j++ {
				y := ys[0][j]
				for i := 1; i < len(ims); i++ {
					if !same32(ys[i][j], y) {
						t.Fatalf("%s f32(%v): %s %v, go %v", fnNames[f], x[j], implNames[ims[i]], ys[i][j], y)
					}
				}
				ref := ref32[f](float64(x[j]))
				if f == fGeluErf && x[j] < 0 && !math.IsInf(float64(x[j]), 0) {
					if e := excess32(y, ref) / (-float64(x[j]) * 0x1p-27); e > negErf {
						negErf, negAt = e, x[j]
					}
					continue
				}
				if u := ulp32(y, ref); u > worst {
					worst, at = u, x[j]
				}
			}
		}
		lines = append(lines, fmt.Sprintf("%-9s f32 %.3f ulp (at %v)", fnNames[f], worst, at))
		if f == fGeluErf {
			lines = append(lines, fmt.Sprintf("%-9s f32 x < 0: |error| <= %.3f·2^−27·|x| (at %v)", fnNames[f], negErf, negAt))
			if negErf > geluErf32Neg {
				t.Errorf("geluErf f32: error %.3f·2^−27·|x| at %v", negErf, negAt)
			}
		}
		if max := maxSweep32[f]; worst > max {
			t.Errorf("%s f32: %.3f ulp from math at %v, allowed %v", fnNames[f], worst, at, max)
		}
	}
	t.Logf("float32 sweep, every %d-th pattern, max error against math in float64:\n%s", stride, strings.Join(lines, "\n"))
}

// TestSweep64 compares the float64 kernels with package math over a
// strided sweep of the 2^64 bit patterns (2^22 of them; 2^26 with
// MLE_VMATH_SWEEP=full), plus math's own faults checked against bigref:
// on amd64 math.Exp returns +Inf from 709.44 (not 709.79) and math.Log
// ignores subnormals.
func TestSweep64(t *testing.T) {
	count := 1 << 22
	switch {
	case fullSweep:
		count = 1 << 26
	case testing.Short() || raceEnabled:
		count = 1 << 16
	}
	stride := uint64(math.MaxUint64/uint64(count)) | 1
	refs := map[fn]func(float64) float64{fExp: math.Exp, fLog: math.Log, fTanh: math.Tanh, fErf: math.Erf, fSigmoid: sigmoidFormula}
	bigs := map[fn]bigref.Func{fExp: bigref.ExpB, fLog: bigref.LogB, fTanh: bigref.TanhB, fErf: bigref.ErfB, fSigmoid: bigref.SigmoidB}
	const chunk = 1 << 16
	x := make([]float64, chunk)
	y := make([]float64, chunk)
	var lines []string
	fns := make([]fn, 0, len(refs))
	for f := range refs {
		fns = append(fns, f)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i] < fns[j] })
	for _, f := range fns {
		worst, at, viaBig := 0.0, 0.0, 0
		b := stride / 3
		for done := 0; done < count; {
			n := min(chunk, count-done)
			for i := 0; i < n; i++ {
				x[i] = math.Float64frombits(b)
				b += stride
			}
			apply64(active, f, y[:n], x[:n])
			for i := 0; i < n; i++ {
				ref := refs[f](x[i])
				mathFault := (f == fExp && x[i] > 709.43 && x[i] <= 709.79) ||
					(f == fLog && x[i] > 0 && x[i] < 0x1p-1022)
				var u float64
				if mathFault {
					u = bigref.ULP64(y[i], bigref.Eval(bigs[f], x[i]))
					viaBig++
				} else {
					u = ulp64(y[i], ref)
				}
				if u > worst {
					worst, at = u, x[i]
				}
			}
			done += n
		}
		lines = append(lines, fmt.Sprintf("%-9s f64 %.3f ulp from math (at %v; %d points against bigref)", fnNames[f], worst, at, viaBig))
		if worst > 2 {
			t.Errorf("%s f64: %.3f ulp from math at %v", fnNames[f], worst, at)
		}
	}
	// math's faults, densely.
	for _, x := range []float64{709.5, 709.6, 709.7, 709.78} {
		var y [1]float64
		Exp64(y[:], []float64{x})
		if u := bigref.ULP64(y[0], bigref.Eval(bigref.ExpB, x)); u > 1 {
			t.Errorf("exp(%v) = %v: %.3f ulp", x, y[0], u)
		}
	}
	t.Logf("float64 sweep of %d patterns:\n%s", count, strings.Join(lines, "\n"))
}
