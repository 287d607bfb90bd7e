package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

// The vector kernels. Each mirrors the pure-Go kernel of the same name in
// kernels/vmath/scalar.go operation for operation; where Go branches, these
// compute both sides and blend, which picks the same bits per lane.

// passNaN returns x where x is NaN, else y: vmath's kernels return a NaN
// input unchanged.
func (a *isa) passNaN(x, y vec) vec { return a.blend(a.cmp(cmpUNORD, x, x), x, y) }

// roundK is vmath.roundK: kd = x/ln2 + pow2Shift rounded, k = kd − pow2Shift.
func (a *isa) roundK(x vec) (kd, k vec) {
	kd = a.fma(x, a.c("log2e"), a.c("pow2Shift"))
	return kd, a.sub(kd, a.c("pow2Shift"))
}

// pow2Bits is 2^k from kd (vmath.pow2Bits).
func (a *isa) pow2Bits(kd vec) vec { return a.shl(kd, 52) }

// recip is vmath.recip: a float32 quotient refined by a Newton step.
func (a *isa) recip(d vec) vec {
	one := a.newReg()
	VMOVUPD(a.u64(0x3f8000003f800000), one) // float32 1s
	h := make([]reg.VecVirtual, len(d))
	for i := range d {
		if a.avx512 {
			h[i] = YMM()
			VCVTPD2PS(d[i], h[i])
		} else {
			h[i] = XMM()
			VCVTPD2PSY(d[i], h[i])
		}
	}
	for i := range h {
		if a.avx512 {
			VDIVPS(h[i], one.AsY(), h[i])
		} else {
			VDIVPS(h[i], one.AsX(), h[i])
		}
	}
	y := a.newVec()
	for i := range h {
		VCVTPS2PD(h[i], y[i])
	}
	return a.fma(y, a.fnma(d, y, a.f(1)), y)
}

// expParts is vmath.expParts: kd, k and e^(x − k·ln2) as hi + lo.
func (a *isa) expParts(x vec, wantLo bool) (kd, k, hi, lo vec) {
	kd, k = a.roundK(x)
	rh := a.fnma(k, a.c("ln2Hi"), x)
	rl := a.mul(k, a.c("negLn2Lo"))
	r2 := a.mul(rh, rh)
	q := a.horner("expQ64", rh)
	em := a.fma(r2, q, rh)
	p := a.fma(r2, q, a.fma(rl, em, rl))
	s := a.add(a.f(1), rh)
	t := a.add(a.add(a.sub(a.f(1), s), rh), p)
	hi = a.add(s, t)
	if wantLo {
		lo = a.add(a.sub(s, hi), t)
	}
	return kd, k, hi, lo
}

func (a *isa) exp64(x vec) vec { return a.passNaN(x, a.exp64Core(x)) }

func (a *isa) exp64Core(x vec) vec {
	x = a.atLeast(x, a.c("expMin64"))
	x = a.atMost(x, a.c("expMax64"))
	_, k, hi, _ := a.expParts(x, false)
	k1 := a.floor(a.mul(k, a.f(0.5)))
	return a.mul(a.mul(hi, a.pow2(k1)), a.pow2(a.sub(k, k1)))
}

// reduce is vmath.reduce.
func (a *isa) reduce(x vec) (kd, k, r vec) {
	kd, k = a.roundK(x)
	r = a.fnma(k, a.c("ln2Hi"), x)
	r = a.fnma(k, a.c("ln2Lo"), r)
	return kd, k, r
}

// expm1r is vmath.expm1r.
func (a *isa) expm1r(q string, r vec) vec { return a.fma(a.mul(r, r), a.horner(q, r), r) }

func (a *isa) expF32(x vec) vec { return a.passNaN(x, a.expF32Core(x)) }

func (a *isa) expF32Core(x vec) vec {
	x = a.atLeast(x, a.c("expMin32"))
	x = a.atMost(x, a.c("expMax32"))
	kd, _, r := a.reduce(x)
	return a.mul(a.add(a.f(1), a.expm1r("expQ32", r)), a.pow2Bits(kd))
}

func (a *isa) sigmoid64(x vec) vec { return a.passNaN(x, a.sigmoid64Core(x)) }

func (a *isa) sigmoid64Core(x vec) vec {
	// One exp: of x below sigLow64 (the result), else of −x.
	low := a.cmp(cmpLT, x, a.c("sigLow64"))
	e := a.exp64(a.blend(low, x, a.xor(x, a.c("signBit"))))
	return a.blend(low, e, a.div(a.f(1), a.add(a.f(1), e)))
}

func (a *isa) sigmoidF32(x vec) vec { return a.passNaN(x, a.sigmoidF32Core(x)) }

func (a *isa) sigmoidF32Core(x vec) vec {
	na := a.negAbs(x)
	kd, _, r := a.reduce(a.atLeast(na, a.c("sigMin32")))
	ex := a.mul(a.add(a.f(1), a.expm1r("expQ32", r)), a.pow2Bits(kd))
	ex = a.blend(a.cmp(cmpLT, na, a.c("sigMin32")), a.f(0), ex)
	n := a.blend(a.cmp(cmpGE, x, a.f(0)), a.f(1), ex)
	return a.mul(n, a.recip(a.add(a.f(1), ex)))
}

func (a *isa) tanh64(x vec) vec { return a.passNaN(x, a.tanh64Core(x)) }

func (a *isa) tanh64Core(x vec) vec {
	ax := a.abs(x)
	// |x| < tanhSmall
	z := a.mul(x, x)
	small := a.fma(x, a.fma(z, a.horner("tanhP64", z), a.f(0)), x)
	// otherwise
	y := a.atMost(a.add(ax, ax), a.c("tanhMax64"))
	kd, _, hi, lo := a.expParts(y, true)
	s := a.pow2Bits(kd)
	eh, el := a.mul(hi, s), a.mul(lo, s)
	dh := a.add(eh, a.f(1))
	dl := a.add(a.add(a.sub(eh, dh), a.f(1)), el)
	r := a.recip(dh)
	q0 := a.add(r, r)
	rho := a.fnma(q0, dh, a.f(2))
	rho = a.fnma(q0, dl, rho)
	h := a.sub(a.f(1), q0)
	l := a.sub(a.sub(a.f(1), h), q0)
	large := a.copySign(a.add(h, a.fnma(rho, r, l)), x)
	return a.blend(a.cmp(cmpLT, ax, a.c("tanhSmall")), small, large)
}

// erfCore is vmath.erfCore for a >= 0 (or NaN).
func (a *isa) erfCore(ax vec, p, c, invW, max string) vec {
	idx := a.add(a.floor(a.mul(ax, a.c(invW))), a.c("twoP52"))
	l := a.newLookup(idx)
	m := a.sub(ax, l.get(a.row16(c, -1)))
	v := a.blend(l.isZero, a.mul(m, m), m)
	base := a.blend(l.isZero, m, l.get(a.row16(p, 0)))
	deg := len(a.consts.tables[p]) - 1
	y := l.get(a.row16(p, deg))
	for j := deg - 1; j >= 1; j-- {
		a.fmaInto(y, v, l.get(a.row16(p, j)))
	}
	return a.blend(a.cmp(cmpGE, ax, a.c(max)), a.f(1), a.fma(m, y, base))
}

func (a *isa) erf64(x vec) vec { return a.passNaN(x, a.erf64Core(x)) }

func (a *isa) erf64Core(x vec) vec {
	return a.copySign(a.erfCore(a.abs(x), "erf64P", "erf64C", "erfInvW64", "erfMax64"), x)
}

func (a *isa) erfF32(x vec) vec { return a.passNaN(x, a.erfF32Core(x)) }

func (a *isa) erfF32Core(x vec) vec {
	return a.copySign(a.erfCore(a.abs(x), "erf32P", "erf32C", "erfInvW32", "erfMax32"), x)
}

func (a *isa) geluErf64(x vec) vec { return a.passNaN(x, a.geluErf64Core(x)) }

func (a *isa) geluErf64Core(x vec) vec {
	e := a.erf64(a.mul(x, a.c("invSqrt2")))
	return a.mul(x, a.fma(e, a.f(0.5), a.f(0.5)))
}

// geluTanhArg is 2·√(2/π)·(x + 0.044715·x³) as vmath computes it.
func (a *isa) geluTanhArg(x vec) vec {
	return a.mul(x, a.fma(a.mul(x, x), a.c("geluTanhC2K"), a.c("geluTanhC2")))
}

func (a *isa) geluTanh64(x vec) vec { return a.passNaN(x, a.geluTanh64Core(x)) }

func (a *isa) geluTanh64Core(x vec) vec { return a.mul(x, a.sigmoid64(a.geluTanhArg(x))) }
func (a *isa) geluTanhF32(x vec) vec    { return a.passNaN(x, a.geluTanhF32Core(x)) }

func (a *isa) geluTanhF32Core(x vec) vec { return a.mul(x, a.sigmoidF32(a.geluTanhArg(x))) }

// logCore is vmath.logCore.
func (a *isa) logCore(x, k vec, rz string, exact bool) vec {
	u := a.addq(x, a.c("logShift"))
	k = a.add(k, a.sub(a.or(a.shr(u, 52), a.c("expBits2p52")), a.c("logExpBias")))
	f := a.sub(a.addq(a.and(u, a.c("mantMask")), a.c("logSqrtHalf")), a.f(1))
	d := a.add(a.f(2), f)
	y := a.recip(d)
	s := a.mul(f, y)
	if exact {
		s = a.fma(a.fnma(s, d, f), y, s)
	}
	z := a.mul(s, s)
	r := a.mul(z, a.horner(rz, z))
	hfsq := a.mul(a.f(0.5), a.mul(f, f))
	t := a.fma(s, a.add(hfsq, r), a.mul(k, a.c("ln2Lo")))
	return a.fma(k, a.c("ln2Hi"), a.sub(f, a.sub(hfsq, t)))
}

// logSpecial applies log's special cases of the input x to res.
func (a *isa) logSpecial(x, res vec) vec {
	res = a.blend(a.cmp(cmpEQ, x, a.f(0)), a.f(negInf), res)
	res = a.blend(a.cmp(cmpLT, x, a.f(0)), a.u64(0x7ff8000000000001), res) // math.NaN()
	return a.blend(a.cmp(cmpEQ, x, a.f(posInf)), a.f(posInf), res)
}

func (a *isa) log64(x vec) vec { return a.passNaN(x, a.log64Core(x)) }

func (a *isa) log64Core(x vec) vec {
	sub := a.cmp(cmpLT, x, a.c("minNormal64"))
	xs := a.blend(sub, a.mul(x, a.c("twoP52")), x)
	k := a.blend(sub, a.f(-52), a.f(0))
	return a.logSpecial(x, a.logCore(xs, k, "logR64", true))
}

func (a *isa) logF32(x vec) vec { return a.passNaN(x, a.logF32Core(x)) }

func (a *isa) logF32Core(x vec) vec {
	return a.logSpecial(x, a.logCore(x, a.reg(a.f(0)), "logR32", false))
}
