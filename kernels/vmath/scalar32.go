package vmath

import "math"

// The float32 sigmoid and tanh in float32 arithmetic: twice the lanes of
// the float64 evaluation the other float32 kernels use, for 2.4 and 1.5
// ulp at most (over all 2^32 inputs) instead of half an ulp. Recurrent
// nets evaluate them on every gate of every step: an LSTM spent a fifth of
// its time in them. As in geluErf32, every product is rounded before it is
// added (Go has no float32 FMA to mirror a fused one exactly) and the
// vector code performs the same operations in the same order.

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ signBit32) }

// pow2F32 returns 2^k for an integral k in [−126, 127].
func pow2F32(k float32) float32 { return math.Float32frombits(uint32(int32(k)+127) << 23) }

// expNeg32 returns e^(−a) for a in [0, expNegMax32]: e^r·2^(k+64) (a
// normal number), then ·2^−64, which rounds once where the result is
// subnormal.
func expNeg32(a float32) float32 {
	y := -a
	k := float32(math.RoundToEven(float64(float32(y * log2e32))))
	r := y - float32(k*exp32Ln2Hi)
	r -= float32(k * exp32Ln2Lo)
	z := float32(r * r)
	p := float32(exp32P[len(exp32P)-1])
	for i := len(exp32P) - 2; i >= 0; i-- {
		p = float32(p*r) + float32(exp32P[i])
	}
	e := (float32(p*z) + r) + 1
	return float32(e*pow2F32(k+64)) * 0x1p-64
}

// sigmoid32 is n/(1+e) with e = e^(−|x|) and n = 1 (x >= 0) or e (x < 0).
func sigmoid32(x float32) float32 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	e := expNeg32(min(abs32(x), expNegMax32))
	n := e
	if x >= 0 {
		n = 1
	}
	return n / (1 + e)
}

// tanh32 is x + x·z·P(z) (z = x²) below tanh32Small, else (1−e)/(1+e)
// with e = e^(−2|x|) and x's sign.
func tanh32(x float32) float32 {
	if x != x { // NaN: returned as it came, the same bits on every path
		return x
	}
	a := abs32(x)
	if a < tanh32Small {
		z := float32(x * x)
		p := float32(tanh32P[len(tanh32P)-1])
		for i := len(tanh32P) - 2; i >= 0; i-- {
			p = float32(p*z) + float32(tanh32P[i])
		}
		// z·P + 0 turns −0 into +0 so that w·x + x keeps x's sign at ±0.
		w := float32(p*z) + 0
		return float32(w*x) + x
	}
	e := expNeg32(min(a+a, expNegMax32))
	t := (1 - e) / (1 + e)
	return math.Float32frombits(math.Float32bits(t) | math.Float32bits(x)&signBit32)
}
