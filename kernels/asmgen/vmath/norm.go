package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The normalization kernels behind vmath's Sum, SumSqDev and Affine:
// row statistics summed in float64 as sumLanes partial sums (element i
// into sum i%sumLanes, in order of i), then the per-element affine map.
// Every vector lane is one partial sum, so the order of additions per sum
// is the Go code's whatever the vector width.

// sumLanes is vmath's sumLanes: 4 ZMM or 8 YMM accumulators.
const sumLanes = 32

func elemType(f32 bool) (string, int) {
	if f32 {
		return "float32", 4
	}
	return "float64", 8
}

// loadF64 loads a.lanes elements at byte offset off from p into a fresh
// register as float64 (float32 widened exactly).
func (a *isa) loadF64(p reg.Register, off int, f32 bool) reg.VecVirtual {
	r := a.newReg()
	m := operand.Mem{Base: p, Disp: off}
	if f32 {
		VCVTPS2PD(m, r)
	} else {
		VMOVUPD(m, r)
	}
	return r
}

// storeF64 stores v's a.lanes float64 values at byte offset off from p,
// rounded to float32 when f32.
func (a *isa) storeF64(v reg.VecVirtual, p reg.Register, off int, f32 bool) {
	m := operand.Mem{Base: p, Disp: off}
	switch {
	case !f32:
		VMOVUPD(v, m)
	case a.avx512:
		h := YMM()
		VCVTPD2PS(v, h)
		VMOVUPS(h, m)
	default:
		h := XMM()
		VCVTPD2PSY(v, h)
		VMOVUPS(h, m)
	}
}

// broadcastParam loads the float64 parameter name into every lane.
func (a *isa) broadcastParam(name string) reg.VecVirtual {
	m, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	r := a.newReg()
	VBROADCASTSD(m.Addr, r)
	return r
}

// laneSum emits func name(x *T, n int, [c float64,] acc *[32]float64):
// acc[i%32] += x[i] (sq: += (x[i]−c)², the square rounded before the
// add) for n, a multiple of 32, elements in order of i.
func (a *isa) laneSum(name string, f32, sq bool) {
	typ, size := elemType(f32)
	sig := fmt.Sprintf("func(x *%s, n int, acc *[%d]float64)", typ, sumLanes)
	what := "sums"
	if sq {
		sig = fmt.Sprintf("func(x *%s, n int, c float64, acc *[%d]float64)", typ, sumLanes)
		what = "squared deviations from c"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds the %s of n (a multiple of %d) elements into acc[i%%%d] with %s.", name, what, sumLanes, sumLanes, a.name))
	var c reg.VecVirtual
	if sq {
		c = a.broadcastParam("c")
	}
	accp := Load(Param("acc"), GP64())
	accs := make([]reg.VecVirtual, sumLanes/a.lanes)
	for j := range accs {
		accs[j] = a.newReg()
		VMOVUPD(operand.Mem{Base: accp, Disp: 8 * a.lanes * j}, accs[j])
	}
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	Label(name + "_loop")
	CMPQ(n, operand.Imm(sumLanes))
	JL(operand.LabelRef(name + "_done"))
	for j := range accs {
		v := a.loadF64(x, j*a.lanes*size, f32)
		if sq {
			VSUBPD(c, v, v)
			VMULPD(v, v, v)
		}
		VADDPD(v, accs[j], accs[j])
	}
	ADDQ(operand.U32(uint32(sumLanes*size)), x)
	SUBQ(operand.Imm(sumLanes), n)
	JMP(operand.LabelRef(name + "_loop"))
	Label(name + "_done")
	for j := range accs {
		VMOVUPD(accs[j], operand.Mem{Base: accp, Disp: 8 * a.lanes * j})
	}
	VZEROUPPER()
	RET()
}

// affine emits func name(y, x, scale[, bias] *T, n int, mu, inv float64):
// y[i] = ((x[i]−mu)·inv)·scale[i] [+ bias[i]] in float64, each operation
// rounded, then rounded to T, for n a multiple of the block.
func (a *isa) affine(name string, f32, bias bool) {
	typ, size := elemType(f32)
	ptrs := "y, x, scale"
	if bias {
		ptrs += ", bias"
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(%s *%s, n int, mu, inv float64)", ptrs, typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s normalizes n (a multiple of %d) elements with %s; see vmath's Affine.", name, block, a.name))
	mu := a.broadcastParam("mu")
	inv := a.broadcastParam("inv")
	y := Load(Param("y"), GP64())
	x := Load(Param("x"), GP64())
	s := Load(Param("scale"), GP64())
	var b reg.Register
	if bias {
		b = Load(Param("bias"), GP64())
	}
	n := Load(Param("n"), GP64())
	Label(name + "_loop")
	CMPQ(n, operand.Imm(block))
	JL(operand.LabelRef(name + "_done"))
	for j := 0; j < block/a.lanes; j++ {
		off := j * a.lanes * size
		v := a.loadF64(x, off, f32)
		VSUBPD(mu, v, v)
		VMULPD(inv, v, v)
		VMULPD(a.loadF64(s, off, f32), v, v)
		if bias {
			VADDPD(a.loadF64(b, off, f32), v, v)
		}
		a.storeF64(v, y, off, f32)
	}
	step := operand.U32(uint32(block * size))
	for _, p := range []reg.Register{y, x, s, b} {
		if p != nil {
			ADDQ(step, p)
		}
	}
	SUBQ(operand.Imm(block), n)
	JMP(operand.LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
