package main

import (
	"math"
	"math/big"

	"github.com/mle-runtime/mle/kernels/vmath/internal/bigref"
)

// expQ is q(r) = (e^r − 1 − r)/r² = Σ r^k/(k+2)!, summed directly so that
// it has no cancellation near 0.
func expQ(r *big.Float) *big.Float {
	sum := bf(0)
	term := bf(0.5) // r^0/2!
	for k := 0; k < 200; k++ {
		sum.Add(sum, term)
		term.Mul(term, r)
		term.Quo(term, bf(float64(k+3)))
		if term.Sign() == 0 || term.MantExp(nil) < -wp {
			break
		}
	}
	return sum
}

// expQWeight weighs q's error by its share of the result: r²·δq against
// e^r − 1 (the expm1 that tanh needs), which is also at least its share of
// e^r.
func expQWeight(r float64) float64 {
	if r == 0 {
		return 0
	}
	return r * r / math.Abs(math.Expm1(r))
}

// logR is R(z)/z with R(z) = (2·atanh(s) − 2s)/s = Σ 2z^k/(2k+1), z = s².
func logR(z *big.Float) *big.Float {
	sum := bf(0)
	pw := bf(1)
	for k := 1; k < 400; k++ {
		t := new(big.Float).SetPrec(wp).Quo(pw, bf(float64(2*k+1)))
		t.Mul(t, bf(2))
		sum.Add(sum, t)
		pw.Mul(pw, z)
		if pw.Sign() == 0 || pw.MantExp(nil) < -wp {
			break
		}
	}
	return sum
}

// logRWeight: s·R's error against log1p(f) = 2·atanh(s).
func logRWeight(z float64) float64 {
	if z == 0 {
		return 0
	}
	s := math.Sqrt(z)
	return z * s / (2 * math.Atanh(s))
}

// tanhP is P(z) = (tanh(x)/x − 1)/z, z = x².
func tanhP(z *big.Float) *big.Float {
	if z.Sign() == 0 {
		return bf(-1.0 / 3)
	}
	x := new(big.Float).SetPrec(wp).Sqrt(z)
	t := bigref.TanhB(x, wp+64)
	t.Quo(t, x)
	t.Sub(t, bf(1))
	return t.Quo(t, z)
}

// tanhPWeight: x·z·P's error against tanh x.
func tanhPWeight(z float64) float64 {
	if z == 0 {
		return 0
	}
	x := math.Sqrt(z)
	return x * z / math.Tanh(x)
}

// erfAt returns the target erf(c+t) for an interval centred on c.
func erfAt(c float64) func(t *big.Float) *big.Float {
	return func(t *big.Float) *big.Float {
		x := new(big.Float).SetPrec(wp).Add(bf(c), t)
		return bigref.ErfB(x, wp)
	}
}

// erfOverX is erf(x)/x, the first interval's target (erf = x·Q(x) there).
func erfOverX(x *big.Float) *big.Float {
	if x.Sign() == 0 {
		return new(big.Float).SetPrec(wp).Quo(bf(2), new(big.Float).SetPrec(wp).Sqrt(bigref.Pi(wp)))
	}
	e := bigref.ErfB(x, wp)
	return e.Quo(e, x)
}

// erfOverSqrt is erf(√z)/√z, interval 0's target in z = x².
func erfOverSqrt(z *big.Float) *big.Float {
	return erfOverX(new(big.Float).SetPrec(wp).Sqrt(z))
}
