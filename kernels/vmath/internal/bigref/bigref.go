// Package bigref computes exp, log, tanh, erf, sigmoid and GELU to high
// precision with math/big. It is the yardstick that vmath's tests measure
// errors against and that its coefficient fitter (../fit) approximates; it
// is slow (microseconds to milliseconds per value) and only for finite
// arguments of moderate size.
package bigref

import (
	"math"
	"math/big"
	"sync"
)

// Prec is the default working precision in bits: far beyond float64's 53,
// so rounding the result once gives the correctly rounded value.
const Prec = 192

const constPrec = 1200

var (
	constOnce          sync.Once
	ln2c, pic, sqrtPic *big.Float
)

func consts() {
	constOnce.Do(func() {
		// ln 2 = 2·atanh(1/3).
		third := new(big.Float).SetPrec(constPrec).Quo(newF(1, constPrec), newF(3, constPrec))
		ln2c = atanh(third, constPrec)
		ln2c.Mul(ln2c, newF(2, constPrec))
		// π = 16·atan(1/5) − 4·atan(1/239) (Machin).
		a := atanInv(5, constPrec)
		a.Mul(a, newF(16, constPrec))
		b := atanInv(239, constPrec)
		b.Mul(b, newF(4, constPrec))
		pic = a.Sub(a, b)
		sqrtPic = new(big.Float).SetPrec(constPrec).Sqrt(pic)
	})
}

func newF(v float64, prec uint) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }

func prec(x *big.Float, p uint) *big.Float { return new(big.Float).SetPrec(p).Set(x) }

// Ln2 returns ln 2 at precision p (p <= 1200).
func Ln2(p uint) *big.Float { consts(); return prec(ln2c, p) }

// Pi returns π at precision p (p <= 1200).
func Pi(p uint) *big.Float { consts(); return prec(pic, p) }

// atanh(x) = Σ x^(2k+1)/(2k+1), for |x| < 1 (converges fast for |x| <= 1/3).
func atanh(x *big.Float, p uint) *big.Float {
	x2 := new(big.Float).SetPrec(p).Mul(x, x)
	term := prec(x, p)
	sum := prec(x, p)
	t := new(big.Float).SetPrec(p)
	for k := 1; ; k++ {
		term.Mul(term, x2)
		t.Quo(term, newF(float64(2*k+1), p))
		if t.Sign() == 0 || t.MantExp(nil)-sum.MantExp(nil) < -int(p)-8 {
			return sum
		}
		sum.Add(sum, t)
	}
}

// atanInv returns atan(1/n) = Σ (−1)^k / ((2k+1)·n^(2k+1)).
func atanInv(n int, p uint) *big.Float {
	x := new(big.Float).SetPrec(p).Quo(newF(1, p), newF(float64(n), p))
	x2 := new(big.Float).SetPrec(p).Mul(x, x)
	term := prec(x, p)
	sum := prec(x, p)
	t := new(big.Float).SetPrec(p)
	for k := 1; ; k++ {
		term.Mul(term, x2)
		t.Quo(term, newF(float64(2*k+1), p))
		if t.MantExp(nil) < -int(p)-8 {
			return sum
		}
		if k%2 == 1 {
			sum.Sub(sum, t)
		} else {
			sum.Add(sum, t)
		}
	}
}

// ExpB returns e^x at precision p. |x| must be below about 1e6.
func ExpB(x *big.Float, p uint) *big.Float {
	if x.Sign() == 0 {
		return newF(1, p)
	}
	xf, _ := x.Float64()
	k := math.Round(xf / math.Ln2)
	wp := p + 64
	r := new(big.Float).SetPrec(wp).Mul(Ln2(wp), newF(k, wp))
	r.Sub(prec(x, wp), r)
	// Halve the argument 16 times, sum the series, square back.
	const halvings = 16
	r.SetMantExp(r, -halvings)
	sum := newF(1, wp)
	term := newF(1, wp)
	for n := 1; ; n++ {
		term.Mul(term, r)
		term.Quo(term, newF(float64(n), wp))
		if term.Sign() == 0 || term.MantExp(nil) < -int(wp)-4 {
			break
		}
		sum.Add(sum, term)
	}
	for i := 0; i < halvings; i++ {
		sum.Mul(sum, sum)
	}
	sum.SetMantExp(sum, int(k))
	return prec(sum, p)
}

// Expm1B returns e^x − 1 at precision p without cancellation.
func Expm1B(x *big.Float, p uint) *big.Float {
	if x.Sign() == 0 {
		return newF(0, p)
	}
	if x.MantExp(nil) > 0 { // |x| >= 1: e^x − 1 loses at most a couple of bits
		e := ExpB(x, p+8)
		return prec(e.Sub(e, newF(1, p+8)), p)
	}
	wp := p + 16
	sum := new(big.Float).SetPrec(wp)
	term := newF(1, wp)
	for n := 1; ; n++ {
		term.Mul(term, x)
		term.Quo(term, newF(float64(n), wp))
		if term.Sign() == 0 || (n > 1 && term.MantExp(nil)-sum.MantExp(nil) < -int(wp)-4) {
			break
		}
		sum.Add(sum, term)
	}
	return prec(sum, p)
}

// LogB returns ln x for x > 0 at precision p.
func LogB(x *big.Float, p uint) *big.Float {
	wp := p + 32
	m := new(big.Float).SetPrec(wp)
	e := x.MantExp(m) // x = m·2^e, m in [0.5, 1)
	if m.Cmp(newF(math.Sqrt2/2, wp)) < 0 {
		m.SetMantExp(m, 1)
		e--
	}
	// ln m = 2·atanh((m−1)/(m+1)).
	num := new(big.Float).SetPrec(wp).Sub(m, newF(1, wp))
	den := new(big.Float).SetPrec(wp).Add(m, newF(1, wp))
	s := num.Quo(num, den)
	var l *big.Float
	if s.Sign() == 0 {
		l = newF(0, wp)
	} else {
		l = atanh(s, wp)
		l.Mul(l, newF(2, wp))
	}
	ke := new(big.Float).SetPrec(wp).Mul(Ln2(wp), newF(float64(e), wp))
	return prec(l.Add(l, ke), p)
}

// TanhB returns tanh x at precision p: expm1(2x)/(expm1(2x)+2).
func TanhB(x *big.Float, p uint) *big.Float {
	wp := p + 16
	ax := new(big.Float).SetPrec(wp).Abs(x)
	if ax.Cmp(newF(400, wp)) > 0 {
		return newF(float64(x.Sign()), p) // 1 − tanh < 1e-340
	}
	y := new(big.Float).SetPrec(wp).SetMantExp(ax, 1)
	em := Expm1B(y, wp)
	d := new(big.Float).SetPrec(wp).Add(em, newF(2, wp))
	em.Quo(em, d)
	if x.Sign() < 0 {
		em.Neg(em)
	}
	return prec(em, p)
}

// erfcLarge is the threshold above which ErfcB uses the continued fraction.
const erfcLarge = 4

// ErfB returns erf x at precision p.
func ErfB(x *big.Float, p uint) *big.Float {
	ax := new(big.Float).Abs(x)
	if ax.Cmp(newF(erfcLarge, 64)) >= 0 {
		c := ErfcB(ax, p+64)
		r := newF(1, p+64)
		r.Sub(r, c)
		if x.Sign() < 0 {
			r.Neg(r)
		}
		return prec(r, p)
	}
	return erfSeries(x, p)
}

// erfSeries sums erf x = 2/√π · Σ (−1)^n x^(2n+1)/(n!(2n+1)); the terms
// grow to about e^(x²) before they shrink, so the working precision grows
// with x².
func erfSeries(x *big.Float, p uint) *big.Float {
	consts()
	xf, _ := x.Float64()
	wp := p + 32 + uint(2*xf*xf)
	x2 := new(big.Float).SetPrec(wp).Mul(x, x)
	pw := prec(x, wp) // x^(2n+1)/n!
	sum := prec(x, wp)
	t := new(big.Float).SetPrec(wp)
	for n := 1; ; n++ {
		pw.Mul(pw, x2)
		pw.Quo(pw, newF(float64(n), wp))
		t.Quo(pw, newF(float64(2*n+1), wp))
		if t.Sign() == 0 || t.MantExp(nil)-sum.MantExp(nil) < -int(wp)-4 {
			break
		}
		if n%2 == 1 {
			sum.Sub(sum, t)
		} else {
			sum.Add(sum, t)
		}
	}
	sum.Mul(sum, newF(2, wp))
	sum.Quo(sum, prec(sqrtPic, wp))
	return prec(sum, p)
}

// ErfcB returns erfc x = 1 − erf x at precision p, with full relative
// precision for large positive x.
func ErfcB(x *big.Float, p uint) *big.Float {
	if x.Sign() < 0 { // erfc(−u) = 2 − erfc(u): the series would need ~x² extra bits
		c := ErfcB(new(big.Float).Neg(x), p+8)
		return prec(c.Sub(newF(2, p+8), c), p)
	}
	if x.Cmp(newF(erfcLarge, 64)) < 0 {
		e := erfSeries(x, p+64)
		return prec(e.Sub(newF(1, p+64), e), p)
	}
	// erfc x = e^(−x²)/√π · K, K = 1/(x+ (1/2)/(x+ 1/(x+ (3/2)/(x+ …)))),
	// evaluated bottom-up from a depth that makes the tail negligible.
	consts()
	xf, _ := x.Float64()
	wp := p + 32
	depth := int(float64(p)*float64(p)/(4*xf*xf)) + 40
	if depth > 20000 {
		depth = 20000
	}
	xb := prec(x, wp)
	k := new(big.Float).SetPrec(wp).Set(xb)
	for n := depth; n >= 1; n-- {
		// k = x + (n/2)/k
		t := newF(float64(n)/2, wp)
		t.Quo(t, k)
		k.Add(xb, t)
	}
	res := newF(1, wp)
	res.Quo(res, k)
	x2 := new(big.Float).SetPrec(wp).Mul(xb, xb)
	e := ExpB(x2.Neg(x2), wp)
	res.Mul(res, e)
	res.Quo(res, prec(sqrtPic, wp))
	return prec(res, p)
}

// SigmoidB returns 1/(1+e^(−x)) at precision p.
func SigmoidB(x *big.Float, p uint) *big.Float {
	wp := p + 16
	nx := new(big.Float).SetPrec(wp).Neg(x)
	if x.Sign() < 0 {
		// e^x/(1+e^x): no overflow of e^(−x) for very negative x.
		e := ExpB(x, wp)
		d := new(big.Float).SetPrec(wp).Add(e, newF(1, wp))
		return prec(e.Quo(e, d), p)
	}
	e := ExpB(nx, wp)
	e.Add(e, newF(1, wp))
	return prec(e.Quo(newF(1, wp), e), p)
}

// GeluErfB returns x·Φ(x) = x/2·erfc(−x/√2) at precision p.
func GeluErfB(x *big.Float, p uint) *big.Float {
	wp := p + 32
	u := new(big.Float).SetPrec(wp).Quo(prec(x, wp), new(big.Float).SetPrec(wp).Sqrt(newF(2, wp)))
	c := ErfcB(u.Neg(u), wp)
	c.Mul(c, prec(x, wp))
	return prec(c.SetMantExp(c, -1), p)
}

// GeluTanhB returns x/2·(1+tanh(√(2/π)·(x+0.044715·x³))) at precision p,
// with the constant 0.044715 exact (not its float64).
func GeluTanhB(x *big.Float, p uint) *big.Float {
	consts()
	wp := p + 32
	xb := prec(x, wp)
	c := new(big.Float).SetPrec(wp).Quo(newF(2, wp), prec(pic, wp))
	c.Sqrt(c)
	k, _ := new(big.Float).SetPrec(wp).SetString("0.044715")
	v := new(big.Float).SetPrec(wp).Mul(xb, xb)
	v.Mul(v, xb)
	v.Mul(v, k)
	v.Add(v, xb)
	v.Mul(v, c)
	// (1+tanh v)/2 = sigmoid(2v)
	v.SetMantExp(v, 1)
	s := SigmoidB(v, wp)
	return prec(s.Mul(s, xb), p)
}

// Func names one of the reference functions over float64 arguments.
type Func func(x *big.Float, p uint) *big.Float

// Eval returns f(x) at precision Prec for a finite float64 x.
func Eval(f Func, x float64) *big.Float { return f(newF(x, 64), Prec) }

// ULP64 returns |got − want| in units of the last place of want rounded to
// float64 (subnormal spacing below 2^−1022). got must be finite; an
// infinite got against a finite want counts as +Inf.
func ULP64(got float64, want *big.Float) float64 {
	return ulps(got, want, 53, -1022)
}

// ULP32 is ULP64 for float32 (24-bit significand, normal from 2^−126).
func ULP32(got float32, want *big.Float) float64 {
	return ulps(float64(got), want, 24, -126)
}

func ulps(got float64, want *big.Float, mant, emin int) float64 {
	if math.IsNaN(got) {
		return math.Inf(1)
	}
	if math.IsInf(got, 0) {
		var w float64
		if mant == 24 {
			w32, _ := want.Float32()
			w = float64(w32)
		} else {
			w, _ = want.Float64()
		}
		if w == got { // want rounds to the same infinity
			return 0
		}
		return math.Inf(1)
	}
	p := uint(Prec + 64)
	d := new(big.Float).SetPrec(p).Sub(newF(got, p), want)
	d.Abs(d)
	if d.Sign() == 0 {
		return 0
	}
	e := emin
	if want.Sign() != 0 {
		if we := want.MantExp(nil) - 1; we > e { // want in [2^we, 2^(we+1))
			e = we
		}
	}
	// ulp = 2^(e−mant+1)
	d.SetMantExp(d, -(e - mant + 1))
	f, _ := d.Float64()
	return f
}
