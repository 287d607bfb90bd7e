package vmath

// Constants of the kernels. The assembly generator (kernels/asmgen/vmath)
// reads this file and coeffs.go and emits the same values, so every
// constant here must be a plain literal.

const (
	log2e = 0x1.71547652b82fep+00 // 1/ln 2
	// ln 2 = ln2Hi + ln2Lo to about 2^−110.
	ln2Hi    = 0x1.62e42fefa39efp-01
	ln2Lo    = 0x1.abc9e3b39803fp-56
	negLn2Lo = -0x1.abc9e3b39803fp-56

	// pow2Shift·2^52 puts 1023 + k in the low bits of k + pow2Shift for any
	// integral k with |k| < 2^51: shifted left by 52, they are the bits of 2^k.
	pow2Shift = 0x1.80000000003ffp+52

	// float64 exp: e^x is 0 below −745.13 and +Inf above 709.78; clamping
	// to these bounds keeps k within [−1077, 1025] (two factors 2^(k/2)).
	expMin64 = -746.0
	expMax64 = 710.0
	// float32: e^x rounds to 0 below −103.98 and to +Inf above 88.73.
	expMin32 = -104.0
	expMax32 = 89.0
	// float64 sigmoid: below, e^(−x) nears overflow (e^708 = 3e307) and
	// 1/(1+e^(−x)) is e^x.
	sigLow64 = -708.0
	// float32 sigmoid: e^x below −110 is 0, so that GeluTanh32's x·sigmoid
	// (|x| < 12 where it matters) still underflows correctly.
	sigMin32 = -110.0

	// log: m = mantissa scaled into [√½, √2): adding logShift to the bits
	// of x carries into the exponent exactly when the mantissa is at least
	// √2's, so (bits+logShift)>>52 is the biased exponent of the reduced
	// form and the low 52 bits plus logSqrtHalf the bits of m.
	logShift     = 0x00095f619980c433 // 0x3ff0000000000000 − logSqrtHalf
	logSqrtHalf  = 0x3fe6a09e667f3bcd // the bits of √½
	mantMask     = 0x000fffffffffffff
	expBits2p52  = 0x4330000000000000    // the bits of 2^52: OR an integer n < 2^52 in, subtract 2^52, get n
	logExpBias   = 0x1.00000000003ffp+52 // 2^52 + 1023
	minNormal64  = 0x1p-1022
	twoP52       = 0x1p+52
	subnormalAdj = 52.0

	// tanh: below tanhSmall a polynomial, above 1 − 2/(e^(2|x|)+1), whose
	// result is ≥ ½ so the subtraction loses nothing. tanh rounds to ±1
	// beyond 19.06 (float64) and 9.01 (float32): clamp 2|x| there.
	tanhSmall = 0.55
	tanhMax64 = 40.0
	tanhMax32 = 20.0

	// erf: 16 intervals of width 1/erfInvW; |x| is clamped just below
	// 16/erfInvW, where erf has rounded to 1 (float64 from 5.93, float32
	// from 3.92).
	erfInvW64 = 0x1.5555555555555p+01 // 8/3
	erfMax64  = 0x1.7ffffffffffffp+02 // 6 − 2^−50
	erfInvW32 = 4.0
	erfMax32  = 0x1.fffffffffffffp+01 // 4 − 2^−51

	// GELU.
	invSqrt2    = 0x1.6a09e667f3bcdp-01 // 1/√2
	geluTanhC2  = 0x1.9884533d43651p+00 // 2·√(2/π)
	geluTanhC2K = 0x1.2444f2a4d8b4bp-04 // 2·√(2/π)·0.044715
	signBit     = 0x8000000000000000
)

// The float32 sigmoid and tanh compute in float32 (scalar32.go): e^(−a) as
// 2^k·e^r, k = round(−a·log2e32), r = −a − k·exp32Ln2Hi (exact: the
// constant has 9 significant bits) − k·exp32Ln2Lo, and e^r = 1 + r +
// r²·P(r); tanh below tanh32Small an odd polynomial. The coefficients are
// Cephes' expf and tanhf ones, rounded to float32; lowest degree first.
const (
	log2e32     = 0x1.715476p+00
	exp32Ln2Hi  = 0x1.63p-01
	exp32Ln2Lo  = -0x1.bd0106p-13
	expNegMax32 = 104.0 // e^−104 is below half the smallest subnormal
	tanh32Small = 0.625
)

var exp32P = [...]float64{0x1p-01, 0x1.555554p-03, 0x1.555382p-05, 0x1.11121p-07, 0x1.6e879cp-10, 0x1.a0d2cep-13}

var tanh32P = [...]float64{-0x1.555532p-02, 0x1.110726p-03, -0x1.b83c5ap-05, 0x1.52269cp-06, -0x1.75e1d4p-08}
