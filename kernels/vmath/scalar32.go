package vmath

import "math"

// The float32 sigmoid and tanh in float32 arithmetic: twice the lanes of
// the float64 evaluation the other float32 kernels use, for 2.4 and 1.5
// ulp at most (over all 2^32 inputs) instead of half an ulp. Recurrent
// nets evaluate them on every gate of every step: an LSTM spent a fifth of
// its time in them. Polynomial steps and the low part of the argument
// reduction are fused multiply-adds (fma32, which Go spells out exactly:
// it has no float32 FMA), and the vector code performs the same operations
// in the same order.

// fma32 returns x·y + z rounded once to float32, as VFMADD does. The
// product is exact in float64 (48 bits); the sum is rounded to odd at 53
// bits (its 2Sum error says which way the exact value lies), and rounding
// to odd at p+2 bits or more, then to nearest at p, rounds correctly
// (Boldo and Melquiond). Results that overflow or are NaN are the plain
// sum's.
func fma32(x, y, z float32) float32 {
	p, c := float64(x)*float64(y), float64(z)
	s := p + c
	if math.IsInf(s, 0) || s != s {
		return float32(s)
	}
	b := s - p
	if e := (p - (s - b)) + (c - b); e != 0 && math.Float64bits(s)&1 == 0 {
		// Toward the exact value, one step: away from zero when the
		// error has s's sign, else toward it.
		if (e > 0) == (s > 0) {
			s = math.Float64frombits(math.Float64bits(s) + 1)
		} else {
			s = math.Float64frombits(math.Float64bits(s) - 1)
		}
	}
	return float32(s)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ signBit32) }

// pow2F32 returns 2^k for an integral k in [−126, 127].
func pow2F32(k float32) float32 { return math.Float32frombits(uint32(int32(k)+127) << 23) }

// expNeg32 returns e^(−a) for a in [0, expNegMax32]: e^r·2^(k+64) (a
// normal number), then ·2^−64, which rounds once where the result is
// subnormal.
func expNeg32(a float32) float32 {
	y := -a
	k := float32(math.RoundToEven(float64(float32(y * log2e32))))
	r := y - float32(k*exp32Ln2Hi) // k·ln2Hi is exact
	r = fma32(-k, exp32Ln2Lo, r)
	z := float32(r * r)
	p := float32(exp32P[len(exp32P)-1])
	for i := len(exp32P) - 2; i >= 0; i-- {
		p = fma32(p, r, float32(exp32P[i]))
	}
	e := fma32(p, z, r) + 1
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
			p = fma32(p, z, float32(tanh32P[i]))
		}
		// z·P + 0 turns −0 into +0 so that w·x + x keeps x's sign at ±0.
		w := fma32(p, z, 0)
		return fma32(w, x, x)
	}
	e := expNeg32(min(a+a, expNegMax32))
	t := (1 - e) / (1 + e)
	return math.Float32frombits(math.Float32bits(t) | math.Float32bits(x)&signBit32)
}
