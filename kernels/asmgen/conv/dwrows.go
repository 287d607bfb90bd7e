package main

// The row-wise depthwise kernels (kernels/dwrows.go): a stride-1 depthwise
// convolution of small planes in their own layout, blocks of dwRowsBlock
// output rows of one channel at a time, each row one or two vectors. Each
// input row the block reads is loaded once per tap column (shifted by the
// column, masked to the row's inside) and added, with the tap's weight
// broadcast from memory, to every output row of the block it reaches, so
// the block's rows are independent FMA chains. Rows outside the plane load
// nothing (their mask is empty) and multiply zeros, so every output is the
// blocked kernel's chain: bias, then every tap in order.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dwRowsBlock is the output rows a block computes together: eight FMA
// chains in flight, enough for the FMA units' latency.
const dwRowsBlock = 8

// dwRows emits sconvDWRows{k}x{nv}(x, y, w, bias *float32, c, h, wd, oh,
// ow, ph, pw int, masks *uint16, act int) for a k×k kernel and output rows
// of nv vectors.
func dwRows(k, nv int) {
	name := fmt.Sprintf("sconvDWRows%dx%d", k, nv)
	TEXT(name, NOSPLIT, "func(x, y, w, bias *float32, c, h, wd, oh, ow, ph, pw int, masks *uint16, act int)")
	Doc(fmt.Sprintf("%s is the AVX-512F row-wise depthwise kernel of a %d×%d stride-1 convolution with output", name, k, k),
		fmt.Sprintf("rows of %d vectors: for each of c channels (planes h×wd at x, oh×ow at y, weights k·k at w, one bias", nv),
		"each), out[r][16v+l] = bias + Σ taps w[kh·k+kw]·x[r−ph+kh][16v+l+kw−pw] in order, zeros outside the plane",
		"(the load of tap column kw of vector v masked by masks[v·k+kw]), through activation act, stored under",
		"masks[2k+v].")
	Pragma("noescape")
	pre := fmt.Sprintf("dwr%dx%d", k, nv)
	const R = dwRowsBlock
	acc := make([][]VecPhysical, R)
	for i := range acc {
		acc[i] = zmm[i*nv : (i+1)*nv]
	}
	tmp := zmm[R*nv]
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	w := Load(Param("w"), GP64())
	bias := Load(Param("bias"), GP64())
	c := Load(Param("c"), GP64())
	masks := Load(Param("masks"), GP64())
	h, wd, ohMem, owMem, phMem, pwMem := argAddr("h"), argAddr("wd"), argAddr("oh"), argAddr("ow"), argAddr("ph"), argAddr("pw")
	TESTQ(c, c)
	JZ(LabelRef(pre + "end"))
	Label(pre + "chan")
	r0 := GP64()
	XORQ(r0, r0)
	Label(pre + "block")
	for i := 0; i < R; i++ {
		for v := 0; v < nv; v++ {
			VBROADCASTSS(Mem{Base: bias}, acc[i][v])
		}
	}
	ir, rowp, valid := GP64(), GP64(), GP64()
	for j := 0; j < R+k-1; j++ {
		// Input row ir = r0 − ph + j: all lanes when inside the plane,
		// none (a load that reads nothing) when not.
		MOVQ(r0, ir)
		SUBQ(phMem, ir)
		if j > 0 {
			ADDQ(U8(j), ir)
		}
		XORQ(valid, valid)
		CMPQ(ir, h)
		mk := GP64()
		MOVQ(U32(0xffff), mk)
		CMOVQCS(mk, valid) // unsigned ir < h
		KMOVW(valid.As32(), K2)
		MOVQ(ir, rowp)
		IMULQ(wd, rowp)
		SUBQ(pwMem, rowp)
		LEAQ(Mem{Base: x, Index: rowp, Scale: 4}, rowp)
		for kw := 0; kw < k; kw++ {
			for v := 0; v < nv; v++ {
				KMOVW(Mem{Base: masks, Disp: 2 * (v*k + kw)}, K1)
				KANDW(K2, K1, K1)
				VMOVUPS_Z(Mem{Base: rowp, Disp: 4 * (16*v + kw)}, K1, tmp)
				// Output row i of the block takes this row as its tap row
				// kh = j − i.
				for i := 0; i < R; i++ {
					if kh := j - i; kh >= 0 && kh < k {
						VFMADD231PS_BCST(Mem{Base: w, Disp: 4 * (kh*k + kw)}, tmp, acc[i][v])
					}
				}
			}
		}
	}
	var all []VecPhysical
	for i := range acc {
		all = append(all, acc[i]...)
	}
	actTile(all, zmm[R*nv+1:R*nv+5], pre)
	Comment("Store the block's rows that are inside the output.")
	yr, left := GP64(), GP64()
	MOVQ(r0, yr)
	IMULQ(owMem, yr)
	LEAQ(Mem{Base: y, Index: yr, Scale: 4}, yr)
	MOVQ(ohMem, left)
	SUBQ(r0, left) // rows left, >= 1
	for v := 0; v < nv; v++ {
		KMOVW(Mem{Base: masks, Disp: 2 * (2*k + v)}, zmask[v])
	}
	ow := GP64()
	MOVQ(owMem, ow)
	for i := 0; i < R; i++ {
		if i > 0 {
			CMPQ(left, U8(i))
			JLE(LabelRef(pre + "stored"))
			LEAQ(Mem{Base: yr, Index: ow, Scale: 4}, yr)
		}
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[i][v], zmask[v], Mem{Base: yr, Disp: 64 * v})
		}
	}
	Label(pre + "stored")
	ADDQ(U8(R), r0)
	CMPQ(r0, ohMem)
	JL(LabelRef(pre + "block"))
	Comment("Next channel: its plane, its outputs, its weights and bias.")
	hw, o := GP64(), GP64()
	MOVQ(h, hw)
	IMULQ(wd, hw)
	LEAQ(Mem{Base: x, Index: hw, Scale: 4}, x)
	MOVQ(ohMem, o)
	IMULQ(owMem, o)
	LEAQ(Mem{Base: y, Index: o, Scale: 4}, y)
	ADDQ(U32(4*k*k), w)
	ADDQ(U8(4), bias)
	DECQ(c)
	JNZ(LabelRef(pre + "chan"))
	Label(pre + "end")
	VZEROUPPER()
	RET()
}

// zmask are the store masks of the row-wise kernels' vectors.
var zmask = []Op{K3, K4}
