package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 GELU (erf form) in float32 arithmetic, 8 (AVX2) or 16
// (AVX-512) lanes a vector: vmath's geluErf32, operation for operation.
// Its erf is the float32 kernels' 16-interval table, coefficients rounded
// to float32, evaluated by Horner with separate multiplies and adds (Go
// has no float32 FMA to mirror a fused one exactly).

// f32 is a float32 constant, splat (VBROADCASTSS reads its first 4 bytes).
func (p *pool) f32(v float32) operand.Mem {
	b := uint64(math.Float32bits(v))
	return p.slot(fmt.Sprintf("f32:%x", b), splat(b|b<<32))
}

// f32Row16 is a 16-entry row (rowValues) rounded to float32: 64 bytes,
// entry i at byte 4i.
func (p *pool) f32Row16(name string, row int) operand.Mem {
	w := make([]uint64, 8)
	for i, v := range p.rowValues(name, row) {
		w[i/2] |= uint64(math.Float32bits(float32(v))) << (32 * (i % 2))
	}
	return p.slot(fmt.Sprintf("f32:%s#%d", name, row), w)
}

// geluErf32 emits func name(dst, src *float32, n int) for n a multiple of
// the block.
func (a *isa) geluErf32(name string) {
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes n (a multiple of %d) elements of the float32 GELU (erf form) in float32 with %s; see vmath's geluErf32.", name, block, a.name))
	p := a.pool
	deg := len(p.consts.tables["erf32P"]) - 1
	// Constants are memory operands (a splat fills a ZMM): AVX2 has 16
	// registers, and the AVX-512 ones hold the tables.
	isq := p.f32(float32(math.Float64frombits(p.consts.scalars["invSqrt2"].bits)))
	absMask := p.f32(math.Float32frombits(0x7fffffff))
	signMask := p.f32(math.Float32frombits(0x80000000))
	four, one, half := p.f32(4), p.f32(1), p.f32(0.5)
	fifteen, zero := p.f32(math.Float32frombits(15)), p.f32(0)
	// The tables: registers on AVX-512 (16 float32 fill one), memory on AVX2.
	rows := make([]operand.Op, deg+2) // rows[0]: the interval centres; rows[1+j]: coefficient j
	for j := range rows {
		var m operand.Mem
		if j == 0 {
			m = p.f32Row16("erf32C", -1)
		} else {
			m = p.f32Row16("erf32P", j-1)
		}
		rows[j] = m
		if a.avx512 {
			r := a.newReg()
			VMOVUPS(m, r)
			rows[j] = r
		}
	}
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	lanes := 2 * a.lanes // float32 lanes a register
	Label(name + "_loop")
	CMPQ(n, operand.Imm(block))
	JL(operand.LabelRef(name + "_done"))
	for k := 0; k < block/lanes; k++ {
		x := a.newReg()
		VMOVUPS(operand.Mem{Base: src, Disp: 4 * k * lanes}, x)
		z := a.newReg()
		VMULPS(isq, x, z)
		ax := a.newReg()
		if a.avx512 {
			VPANDD(absMask, z, ax)
		} else {
			VANDPS(absMask, z, ax)
		}
		idx := a.newReg()
		VMULPS(four, ax, idx)
		VCVTTPS2DQ(idx, idx)
		VPMINUD(fifteen, idx, idx) // NaN and ≥ 4 give garbage, blended away below
		var sel reg.VecVirtual     // AVX2: bit 3 of the index in the sign bit
		if !a.avx512 {
			sel = a.newReg()
			VPSLLD(operand.Imm(28), idx, sel)
		}
		get := func(row operand.Op) reg.VecVirtual {
			d := a.newReg()
			if a.avx512 {
				VPERMPS(row, idx, d)
				return d
			}
			m := row.(operand.Mem)
			hi := a.newReg()
			VPERMPS(m, idx, d)
			VPERMPS(m.Offset(32), idx, hi)
			VBLENDVPS(sel, hi, d, d)
			return d
		}
		// isZero: interval 0, where v = m² and the base is m.
		var kZero reg.OpmaskVirtual
		var vZero reg.VecVirtual
		blend := func(t, f reg.VecVirtual) reg.VecVirtual {
			d := a.newReg()
			if a.avx512 {
				VBLENDMPS(t, f, kZero, d)
			} else {
				VBLENDVPS(vZero, t, f, d)
			}
			return d
		}
		if a.avx512 {
			kZero = K()
			VPTESTNMD(idx, idx, kZero)
		} else {
			vZero = a.newReg()
			VPCMPEQD(zero, idx, vZero)
		}
		m := a.newReg()
		VSUBPS(get(rows[0]), ax, m)
		mm := a.newReg()
		VMULPS(m, m, mm)
		v := blend(mm, m)
		base := blend(m, get(rows[1]))
		y := get(rows[1+deg])
		for j := deg - 1; j >= 1; j-- {
			VMULPS(v, y, y)
			VADDPS(get(rows[1+j]), y, y)
		}
		e := a.newReg()
		VMULPS(m, y, e)
		VADDPS(base, e, e)
		// |z| >= 4: erf is 1 (a NaN lane is replaced by x below).
		if a.avx512 {
			k := K()
			VCMPPS(operand.Imm(cmpGE), four, ax, k)
			VBLENDMPS(one, e, k, e)
		} else {
			ge := a.newReg()
			VCMPPS(operand.Imm(cmpGE), four, ax, ge)
			VBLENDVPS(ge, one, e, e)
		}
		s := a.newReg()
		if a.avx512 {
			VPANDD(signMask, z, s)
			VPORD(s, e, e)
		} else {
			VANDPS(signMask, z, s)
			VORPS(s, e, e)
		}
		// x·(½·erf + ½), and a NaN x returned as it is.
		VMULPS(half, e, e)
		VADDPS(half, e, e)
		VMULPS(x, e, e)
		if a.avx512 {
			k := K()
			VCMPPS(operand.Imm(cmpUNORD), x, x, k)
			VBLENDMPS(x, e, k, e)
		} else {
			un := a.newReg()
			VCMPPS(operand.Imm(cmpUNORD), x, x, un)
			VBLENDVPS(un, x, e, e)
		}
		VMOVUPS(e, operand.Mem{Base: dst, Disp: 4 * k * lanes})
	}
	ADDQ(operand.U32(4*block), src)
	ADDQ(operand.U32(4*block), dst)
	SUBQ(operand.Imm(block), n)
	JMP(operand.LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
