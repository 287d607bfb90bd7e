package vmath

import "math"

// The pure-Go kernels, one value at a time. They are the definition that
// the assembly reproduces bit for bit: the same operations in the same
// order, math.FMA exactly where the vector code fuses, and an explicit
// float64() around every product that feeds an addition, so that no
// compiler fuses it on its own (Go may fuse x*y+z on arm64, ppc64le, s390x
// and riscv64). Where the vector code computes two branches and blends,
// these take the branch the blend would choose. The float32 kernels compute
// in float64 with shorter polynomials and round once at the end.
//
// A NaN input is returned as it is (float32: through float64 and back,
// which quiets a signaling NaN as the vector code does). The NaNs the
// kernels make are math.NaN()'s bits (log of a negative number) or the
// hardware's (GELU at −Inf: −Inf·0).

// horner evaluates Σ p[i]·x^i.
func horner(p []float64, x float64) float64 {
	y := p[len(p)-1]
	for i := len(p) - 2; i >= 0; i-- {
		y = math.FMA(y, x, p[i])
	}
	return y
}

// pow2 returns 2^k for an integral k in [−1022, 1023].
func pow2(k float64) float64 {
	return math.Float64frombits(math.Float64bits(k+pow2Shift) << 52)
}

// pow2Bits returns 2^k from kd = k + pow2Shift as reduce returns it.
func pow2Bits(kd float64) float64 { return math.Float64frombits(math.Float64bits(kd) << 52) }

// reduce splits x = k·ln2 + r with integral k and |r| <= ln2/2 (plus
// rounding), for |x| < 2^50. Adding pow2Shift rounds x/ln2 to an integer
// (kd = k + pow2Shift, whose bits also hold 2^k); k·ln2Hi is subtracted
// exactly, k·ln2Lo with one rounding.
func reduce(x float64) (kd, k, r float64) {
	kd, k = roundK(x)
	r = math.FMA(-k, ln2Hi, x)
	r = math.FMA(-k, ln2Lo, r)
	return kd, k, r
}

// roundK is reduce's k: kd = x/ln2 + pow2Shift rounded, k = kd − pow2Shift.
func roundK(x float64) (kd, k float64) {
	kd = math.FMA(x, log2e, pow2Shift)
	return kd, kd - pow2Shift
}

// recip returns 1/d to about 2^−46 for d in [2^−126, 2^127]: a float32
// quotient (exactly specified, unlike the approximate reciprocal
// instructions) refined by one Newton step in float64.
func recip(d float64) float64 {
	y := float64(float32(1) / float32(d))
	return math.FMA(y, math.FMA(-d, y, 1), y)
}

// expm1r returns e^r − 1 = r + r²·q(r) for a reduced r.
func expm1r(q []float64, r float64) float64 {
	return math.FMA(float64(r*r), horner(q, r), r)
}

// expParts returns k and e^(x − k·ln2) as hi + lo (|lo| <= ulp(hi)/2),
// accurate to about 2^−56: with r = rh + rl (rh = x − k·ln2Hi exact,
// rl = −k·ln2Lo, up to 2^−45), e^r ≈ 1 + rh + (rh²·q(rh) + rl·e^rh) where
// e^rh = 1 + em; 1 + rh is split exactly (Fast2Sum, |rh| < 1), the small
// terms added to its remainder, and the sum split again.
func expParts(x float64) (kd, k, hi, lo float64) {
	kd, k = roundK(x)
	rh := math.FMA(-k, ln2Hi, x)
	rl := float64(k * negLn2Lo)
	r2 := float64(rh * rh)
	q := horner(expQ64[:], rh)
	em := math.FMA(r2, q, rh)
	p := math.FMA(r2, q, math.FMA(rl, em, rl))
	s := 1 + rh
	t := ((1 - s) + rh) + p
	hi = s + t
	lo = (s - hi) + t // Fast2Sum: |s| > 0.7 > |t|
	return kd, k, hi, lo
}

// exp64 is e^x. 2^k is applied as two factors so that results beyond the normal range
// round once, as gradual underflow requires.
func exp64(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	if x < expMin64 {
		x = expMin64
	}
	if x > expMax64 {
		x = expMax64
	}
	_, k, hi, _ := expParts(x)
	k1 := math.Floor(k * 0.5)
	return float64(hi*pow2(k1)) * pow2(k-k1)
}

// expF32 is e^x for a float32 x held in a float64: k stays within
// [−151, 129], so one factor 2^k suffices.
func expF32(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	if x < expMin32 {
		x = expMin32
	}
	if x > expMax32 {
		x = expMax32
	}
	kd, _, r := reduce(x)
	return (1 + expm1r(expQ32[:], r)) * pow2Bits(kd)
}

func exp32(x float32) float32 { return float32(expF32(float64(x))) }

// negAbs returns −|x| (NaN stays NaN).
func negAbs(x float64) float64 { return math.Float64frombits(math.Float64bits(x) | signBit) }

// sigmoid64 is 1/(1+e^(−x)) rounded as that formula is: e^(−x), then
// 1 + e, then the division, each rounded once (up to 1.6 ulp from the exact
// value). A correctly rounded sigmoid would be more accurate but not what
// scikit-learn (scipy's expit) computes, and models that go on to 1 − p
// amplify a last-bit difference near p = 1 by 1e10 and more. Below
// sigLow64, where e^(−x) would overflow, it is e^x (1 + e^x rounds to 1),
// so tiny results underflow gradually instead of to 0.
func sigmoid64(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	if x < sigLow64 {
		return exp64(x)
	}
	return 1 / (1 + exp64(-x))
}

// sigmoidF32 is n/(1+e) with e = e^(−|x|) in (0, 1] and n = 1 (x >= 0)
// or e (x < 0), in float64 with the float32 polynomial and rounded once at
// the end: the denominator stays in [1, 2]. Above e^−110 one factor 2^k
// suffices.
func sigmoidF32(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	a := negAbs(x)
	e := 0.0 // below sigMin32: exactly 0, so that GeluTanh32's x·sigmoid is too
	if !(a < sigMin32) {
		kd, _, r := reduce(a)
		e = float64((1 + expm1r(expQ32[:], r)) * pow2Bits(kd))
	}
	n := e
	if x >= 0 {
		n = 1
	}
	return n * recip(1+e)
}

// tanh64: x + x·z·P(z) (z = x²) below tanhSmall, else 1 − 2/(e+1) with
// e = e^(2|x|) and x's sign, where e+1 is a hi + lo pair, 2/(e+1) is
// corrected by its residual and 1 − q is split exactly before the
// correction is added.
func tanh64(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	a := math.Abs(x)
	if a < tanhSmall {
		z := float64(x * x)
		// z·P + 0 turns −0 into +0 so that x·w + x keeps x's sign at ±0.
		w := math.FMA(z, horner(tanhP64[:], z), 0)
		return math.FMA(x, w, x)
	}
	y := a + a
	if y > tanhMax64 {
		y = tanhMax64
	}
	kd, _, hi, lo := expParts(y)
	s := pow2Bits(kd)
	eh, el := float64(hi*s), float64(lo*s)
	dh := eh + 1
	dl := ((eh - dh) + 1) + el // Fast2Sum: eh >= 1
	r := recip(dh)
	q0 := r + r
	rho := math.FMA(-q0, dh, 2)
	rho = math.FMA(-q0, dl, rho)
	h := 1 - q0
	l := (1 - h) - q0 // Fast2Sum: 1 >= q0
	return math.Copysign(h+math.FMA(-rho, r, l), x)
}

// erfCore evaluates erf for a >= 0 (or NaN) from a table of 16 intervals
// (see fit's erfTable): m = a − c_i, y = the polynomial in v = m (in m² on
// interval 0), and erf = m·y + base with base = erf(c_i), or m itself on
// interval 0. Beyond max (where erf has rounded to 1) it is 1; the vector
// kernels compute garbage there and blend the 1 in.
func erfCore(a float64, p [][16]float64, c *[16]float64, invW, max float64) float64 {
	if a >= max { // exactly 1, so that ½+½·erf in GeluErf is exactly 0
		return 1
	}
	i := math.Float64bits(math.Floor(float64(a*invW))+twoP52) & 15
	m := a - c[i]
	v, base := m, p[0][i]
	if i == 0 {
		v, base = float64(m*m), m
	}
	deg := len(p) - 1
	y := p[deg][i]
	for j := deg - 1; j >= 1; j-- {
		y = math.FMA(y, v, p[j][i])
	}
	return math.FMA(m, y, base)
}

func erf64(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	return math.Copysign(erfCore(math.Abs(x), erf64P[:], &erf64C, erfInvW64, erfMax64), x)
}

func erfF32(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	return math.Copysign(erfCore(math.Abs(x), erf32P[:], &erf32C, erfInvW32, erfMax32), x)
}

func erf32(x float32) float32 { return float32(erfF32(float64(x))) }

// geluErf64 is x·Φ(x) = x·(½ + ½·erf(x/√2)).
func geluErf64(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	return x * math.FMA(0.5, erf64(float64(x*invSqrt2)), 0.5)
}

// geluErf32 is x·(½ + ½·erf(x/√2)) in float32 arithmetic, every
// operation rounded to float32: the vector kernels then do 16 lanes (not
// 8) and a table lookup is one permute. erf is the float32 table's
// polynomial (erfCore's scheme, coefficients rounded to float32) by Horner
// with separate multiplies and adds (Go has no float32 FMA to mirror).
func geluErf32(x float32) float32 {
	if x != x {
		return x
	}
	z := float32(x * invSqrt2F32)
	a := math.Float32frombits(math.Float32bits(z) &^ signBit32)
	e := float32(1)
	if a < 4 {
		i := int32(a * 4)
		m := a - erfCF32[i]
		v, base := m, erfPF32[0][i]
		if i == 0 {
			v, base = float32(m*m), m
		}
		y := erfPF32[len(erfPF32)-1][i]
		for j := len(erfPF32) - 2; j >= 1; j-- {
			y = float32(y*v) + erfPF32[j][i]
		}
		e = float32(m*y) + base
	}
	e = math.Float32frombits(math.Float32bits(e) | math.Float32bits(z)&signBit32)
	return float32(x * (float32(0.5*e) + 0.5))
}

const (
	invSqrt2F32 = float32(invSqrt2)
	signBit32   = 0x80000000
)

// erfCF32 and erfPF32 are erf32C and erf32P rounded to float32.
var (
	erfCF32 [16]float32
	erfPF32 [len(erf32P)][16]float32
)

func init() {
	for i, c := range erf32C {
		erfCF32[i] = float32(c)
	}
	for j := range erf32P {
		for i, c := range erf32P[j] {
			erfPF32[j][i] = float32(c)
		}
	}
}

// geluTanh64 is ½x·(1+tanh(v)) with v = √(2/π)·(x+0.044715x³), computed
// as x·sigmoid(2v) — the same function, without the cancellation of 1+tanh
// for x < 0.
func geluTanh64(x float64) float64 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	v := float64(x * math.FMA(float64(x*x), geluTanhC2K, geluTanhC2))
	return x * sigmoid64(v)
}

func geluTanh32(x float32) float32 {
	f := float64(x)
	if f != f {
		return float32(f)
	}
	v := float64(f * math.FMA(float64(f*f), geluTanhC2K, geluTanhC2))
	return float32(f * sigmoidF32(v))
}

// logCore is ln x for x > 0 finite (other inputs: see log64), in the
// fdlibm scheme: x = 2^k·(1+f) with 1+f in [√½, √2), s = f/(2+f),
// ln(1+f) = f − (f²/2 − s·(f²/2 + R(s²))). The float32 kernels do with
// s to 2^−46 (exact == false).
func logCore(x, k float64, rz []float64, exact bool) float64 {
	u := math.Float64bits(x) + logShift
	k += math.Float64frombits(expBits2p52|u>>52) - logExpBias
	f := math.Float64frombits(u&mantMask+logSqrtHalf) - 1
	d := 2 + f
	y := recip(d)
	s := float64(f * y)
	if exact { // float64: correct s by its residual, to within about an ulp
		s = math.FMA(math.FMA(-s, d, f), y, s)
	}
	z := float64(s * s)
	r := float64(z * horner(rz, z))
	hfsq := float64(0.5 * float64(f*f))
	t := math.FMA(s, hfsq+r, float64(k*ln2Lo))
	return math.FMA(k, ln2Hi, f-(hfsq-t))
}

func log64(x float64) float64 {
	switch {
	case x != x:
		return x
	case x == 0:
		return math.Inf(-1)
	case x < 0:
		return math.NaN()
	case x == math.Inf(1):
		return x
	}
	k := 0.0
	if x < minNormal64 { // subnormal: scale into the normal range
		x *= twoP52
		k = -subnormalAdj
	}
	return logCore(x, k, logR64[:], true)
}

// log32: float32 subnormals are normal float64s, so no scaling.
func log32(x float32) float32 {
	f := float64(x)
	switch {
	case f != f:
		return float32(f)
	case f == 0:
		return float32(math.Inf(-1))
	case f < 0:
		return float32(math.NaN())
	case f == math.Inf(1):
		return x
	}
	return float32(logCore(f, 0, logR32[:], false))
}
