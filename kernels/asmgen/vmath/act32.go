package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 sigmoid and tanh in float32 arithmetic, 8 (AVX2) or 16
// (AVX-512) lanes a vector: vmath's sigmoid32 and tanh32 (scalar32.go),
// operation for operation, both branches of tanh computed and blended.

// f32c is the named constant of kernels/vmath rounded to float32, splat.
func (p *pool) f32c(name string) operand.Mem {
	v, ok := p.consts.scalars[name]
	if !ok {
		panic("no constant " + name)
	}
	return p.f32(float32(math.Float64frombits(v.bits)))
}

// f32Elem is element i of a one-dimensional table, rounded to float32.
func (p *pool) f32Elem(name string, i int) operand.Mem {
	a, ok := p.consts.arrays[name]
	if !ok || i >= len(a) {
		panic(fmt.Sprintf("no element %s[%d]", name, i))
	}
	return p.f32(float32(a[i]))
}

// ops32 emits float32 vector operations into new registers; each method
// mirrors one Go operation of scalar32.go.
type ops32 struct{ a *isa }

func (o ops32) reg() reg.VecVirtual { return o.a.newReg() }

func (o ops32) mul(x, y operand.Op) reg.VecVirtual { d := o.reg(); VMULPS(y, x, d); return d }
func (o ops32) add(x, y operand.Op) reg.VecVirtual { d := o.reg(); VADDPS(y, x, d); return d }
func (o ops32) sub(x, y operand.Op) reg.VecVirtual { d := o.reg(); VSUBPS(y, x, d); return d }
func (o ops32) div(x, y operand.Op) reg.VecVirtual { d := o.reg(); VDIVPS(y, x, d); return d }
func (o ops32) min(x, y operand.Op) reg.VecVirtual { d := o.reg(); VMINPS(y, x, d); return d }

// The fused forms (fma32: rounded once) update a register the caller no
// longer needs: fmaTo sets d = y·d + z, fmaAcc d = x·y + d, fnmaAcc
// d = d − x·y.
func (o ops32) fmaTo(d reg.VecVirtual, y, z operand.Op) reg.VecVirtual {
	VFMADD213PS(z, y, d)
	return d
}

func (o ops32) fmaAcc(d, x reg.VecVirtual, y operand.Op) reg.VecVirtual {
	VFMADD231PS(y, x, d)
	return d
}

func (o ops32) fnmaAcc(d, x reg.VecVirtual, y operand.Op) reg.VecVirtual {
	VFNMADD231PS(y, x, d)
	return d
}

// logic applies a bitwise operation: the integer form on AVX-512 (the
// float forms of 512-bit registers need AVX512DQ), the float form on AVX2.
func (o ops32) logic(evex, vex func(...operand.Op), x, y operand.Op) reg.VecVirtual {
	d := o.reg()
	if o.a.avx512 {
		evex(y, x, d)
	} else {
		vex(y, x, d)
	}
	return d
}

func (o ops32) and(x, y operand.Op) reg.VecVirtual { return o.logic(VPANDD, VANDPS, x, y) }
func (o ops32) or(x, y operand.Op) reg.VecVirtual  { return o.logic(VPORD, VORPS, x, y) }
func (o ops32) xor(x, y operand.Op) reg.VecVirtual { return o.logic(VPXORD, VXORPS, x, y) }

// sel returns (x pred y) ? t : f, lane by lane.
func (o ops32) sel(pred uint8, x, y operand.Op, t, f reg.VecVirtual) reg.VecVirtual {
	d := o.reg()
	if o.a.avx512 {
		k := K()
		VCMPPS(operand.Imm(uint64(pred)), y, x, k)
		VBLENDMPS(t, f, k, d)
		return d
	}
	m := o.reg()
	VCMPPS(operand.Imm(uint64(pred)), y, x, m)
	VBLENDVPS(m, t, f, d)
	return d
}

// expNeg is expNeg32 of a in [0, expNegMax32].
func (o ops32) expNeg(a reg.VecVirtual) reg.VecVirtual {
	p := o.a.pool
	y := o.xor(a, p.f32(math.Float32frombits(0x80000000)))
	k := o.reg()
	if o.a.avx512 {
		VRNDSCALEPS(operand.Imm(0), o.mul(y, p.f32c("log2e32")), k) // to nearest, even on ties
	} else {
		VROUNDPS(operand.Imm(0), o.mul(y, p.f32c("log2e32")), k)
	}
	r := o.sub(y, o.mul(k, p.f32c("exp32Ln2Hi"))) // k·ln2Hi is exact
	r = o.fnmaAcc(r, k, p.f32c("exp32Ln2Lo"))
	z := o.mul(r, r)
	e := o.add(o.fmaAcc(r, o.horner("exp32P", r), z), p.f32(1)) // p·z + r
	// 2^(k+64): k + 64 + 127 in the exponent field.
	bits := o.reg()
	VCVTPS2DQ(k, bits)
	VPADDD(p.f32(math.Float32frombits(64+127)), bits, bits)
	VPSLLD(operand.Imm(23), bits, bits)
	return o.mul(o.mul(e, bits), p.f32(0x1p-64))
}

// act32 emits func name(dst, src *float32, n int), n a multiple of the
// block, computing body of each vector of x and returning x's NaN lanes as
// they are.
func (a *isa) act32(name, what string, body func(o ops32, x reg.VecVirtual) reg.VecVirtual) {
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes n (a multiple of %d) elements of the float32 %s in float32 with %s; see vmath's %s32.", name, block, what, a.name, what))
	o := ops32{a}
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	lanes := 2 * a.lanes // float32 lanes a register
	// Four blocks an iteration while they last, then one: a vector's chain
	// (a division among 30-odd dependent operations) is long, and four
	// independent ones keep the vector units busy.
	for _, blocks := range []int{4, 1} {
		loop := fmt.Sprintf("%s_loop%d", name, blocks)
		next := fmt.Sprintf("%s_next%d", name, blocks)
		Label(loop)
		CMPQ(n, operand.Imm(uint64(blocks*block)))
		JL(operand.LabelRef(next))
		for k := 0; k < blocks*block/lanes; k++ {
			x := o.reg()
			VMOVUPS(operand.Mem{Base: src, Disp: 4 * k * lanes}, x)
			y := body(o, x)
			y = o.sel(cmpUNORD, x, x, x, y)
			VMOVUPS(y, operand.Mem{Base: dst, Disp: 4 * k * lanes})
		}
		ADDQ(operand.U32(4*blocks*block), src)
		ADDQ(operand.U32(4*blocks*block), dst)
		SUBQ(operand.Imm(uint64(blocks*block)), n)
		JMP(operand.LabelRef(loop))
		Label(next)
	}
	VZEROUPPER()
	RET()
}

// sigmoid32 is n/(1+e), e = e^(−|x|), n = 1 where x >= 0 else e.
func (a *isa) sigmoid32(name string) {
	p := a.pool
	a.act32(name, "sigmoid", func(o ops32, x reg.VecVirtual) reg.VecVirtual {
		abs := o.and(x, p.f32(math.Float32frombits(0x7fffffff)))
		e := o.expNeg(o.min(abs, p.f32c("expNegMax32")))
		one := o.reg()
		VMOVUPS(p.f32(1), one)
		num := o.sel(cmpGE, x, p.f32(0), one, e)
		return o.div(num, o.add(e, p.f32(1)))
	})
}

// tanh32 blends x + x·(z·P(z) + 0) (|x| < tanh32Small) and
// (1−e)/(1+e)·sign(x) with e = e^(−2|x|).
func (a *isa) tanh32(name string) {
	p := a.pool
	a.act32(name, "tanh", func(o ops32, x reg.VecVirtual) reg.VecVirtual {
		signMask := p.f32(math.Float32frombits(0x80000000))
		abs := o.and(x, p.f32(math.Float32frombits(0x7fffffff)))
		z := o.mul(x, x)
		w := o.fmaTo(o.horner("tanh32P", z), z, p.f32(0))
		small := o.fmaTo(w, x, x) // w·x + x
		e := o.expNeg(o.min(o.add(abs, abs), p.f32c("expNegMax32")))
		one := p.f32(1)
		t := o.div(o.sub(o.reg1(one), e), o.add(e, one))
		large := o.or(t, o.and(x, signMask))
		return o.sel(cmpLT, abs, p.f32c("tanh32Small"), small, large)
	})
}

// horner evaluates table's polynomial (lowest degree first) at x, an FMA
// a step.
func (o ops32) horner(table string, x reg.VecVirtual) reg.VecVirtual {
	p := o.a.pool
	n := len(p.consts.arrays[table])
	q := o.reg1(p.f32Elem(table, n-1))
	for i := n - 2; i >= 0; i-- {
		q = o.fmaTo(q, x, p.f32Elem(table, i))
	}
	return q
}

// reg1 loads constant c into a register (a first operand must be one).
func (o ops32) reg1(c operand.Op) reg.VecVirtual {
	d := o.reg()
	VMOVUPS(c, d)
	return d
}
