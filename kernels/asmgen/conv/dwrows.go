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
	acc := dwBlockAcc(nv)
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
	dwStoreBlock(acc, zmm[R*nv+1:R*nv+5], pre, y, r0, masks, 2*k, ohMem, owMem)
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

// dwPhases emits sconvDWPhases{k}x{nv}(x, y, w, bias *float32, rl, oh, ow
// int, masks *uint16, act int): the row-wise depthwise kernel of a k×k
// stride-2 convolution of one channel, over its input split into column
// phases (deint2Rows): padded input row r is two rows of rl values at
// x + 2r·rl, its even columns then its odd ones, zero outside the input.
// Output column c's tap column kw is then phase kw mod 2 at c + kw/2: one
// unmasked load a tap column and vector, as at stride 1, with no mask, no
// permute. Blocks of dwRowsBlock output rows; each padded row the block
// reads reaches the rows i with kh = j − 2i in [0, k).
func dwPhases(k, nv int) {
	name := fmt.Sprintf("sconvDWPhases%dx%d", k, nv)
	TEXT(name, NOSPLIT, "func(x, y, w, bias *float32, rl, oh, ow int, masks *uint16, act int)")
	Doc(fmt.Sprintf("%s is the AVX-512F row-wise depthwise kernel of a %d×%d stride-2 convolution of one channel", name, k, k),
		fmt.Sprintf("with output rows of %d vectors: out[r][16v+l] = bias + Σ taps w[kh·k+kw]·x[(2(2r+kh) + kw mod 2)·rl", nv),
		"+ 16v+l + kw/2] in order (x: the column phases of the zero-padded input rows, rl values each), through",
		"activation act, oh rows of ow at y stored under masks[v].")
	Pragma("noescape")
	pre := fmt.Sprintf("dwp%dx%d", k, nv)
	const R = dwRowsBlock
	acc := dwBlockAcc(nv)
	next := R * nv
	tmp := zmm[next]
	free := zmm[next+1 : next+5]
	next += 5
	// The taps' weights stay in registers where they fit; else each FMA
	// broadcasts its weight from memory.
	var wreg []VecPhysical
	if next+k*k <= len(zmm) {
		wreg = zmm[next : next+k*k]
	}
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	w := Load(Param("w"), GP64())
	bias := Load(Param("bias"), GP64())
	rl := Load(Param("rl"), GP64())
	masks := Load(Param("masks"), GP64())
	ohMem, owMem := argAddr("oh"), argAddr("ow")
	for i, r := range wreg {
		VBROADCASTSS(Mem{Base: w, Disp: 4 * i}, r)
	}
	SHLQ(U8(2), rl) // bytes: the odd phase's offset; a padded row is 2·rl
	row := GP64()
	LEAQ(Mem{Base: rl, Index: rl, Scale: 1}, row)
	r0 := GP64()
	XORQ(r0, r0)
	Label(pre + "block")
	for i := 0; i < R; i++ {
		for v := 0; v < nv; v++ {
			VBROADCASTSS(Mem{Base: bias}, acc[i][v])
		}
	}
	rowp := GP64()
	MOVQ(x, rowp)
	for j := 0; j < 2*(R-1)+k; j++ {
		if j > 0 {
			ADDQ(row, rowp)
		}
		for kw := 0; kw < k; kw++ {
			for v := 0; v < nv; v++ {
				src := Mem{Base: rowp, Disp: 4 * (16*v + kw/2)}
				if kw%2 == 1 {
					src.Index, src.Scale = rl, 1
				}
				VMOVUPS(src, tmp)
				for i := 0; i < R; i++ {
					kh := j - 2*i
					if kh < 0 || kh >= k {
						continue
					}
					if wreg != nil {
						VFMADD231PS(wreg[kh*k+kw], tmp, acc[i][v])
					} else {
						VFMADD231PS_BCST(Mem{Base: w, Disp: 4 * (kh*k + kw)}, tmp, acc[i][v])
					}
				}
			}
		}
	}
	dwStoreBlock(acc, free, pre, y, r0, masks, 0, ohMem, owMem)
	Comment("The next block starts 2·R padded rows down.")
	adv := GP64()
	MOVQ(row, adv)
	SHLQ(U8(4), adv) // 16 = 2·R rows
	ADDQ(adv, x)
	ADDQ(U8(R), r0)
	CMPQ(r0, ohMem)
	JL(LabelRef(pre + "block"))
	VZEROUPPER()
	RET()
}

// deint2Rows emits deint2Rows32AVX512(even, odd *float32, ldd int, src
// *float32, lds, rows, n int): the column phases of rows rows of n values.
func deint2Rows() {
	TEXT("deint2Rows32AVX512", NOSPLIT, "func(even, odd *float32, ldd int, src *float32, lds, rows, n int)")
	Doc("deint2Rows32AVX512 sets even[r·ldd + i] = src[r·lds + 2i] and odd[r·ldd + i] = src[r·lds + 2i + 1]",
		"for r < rows and 2i (2i + 1) < n, writing nothing else.")
	Pragma("noescape")
	even, odd := Load(Param("even"), GP64()), Load(Param("odd"), GP64())
	ldd, src, lds := Load(Param("ldd"), GP64()), Load(Param("src"), GP64()), Load(Param("lds"), GP64())
	rows, n := Load(Param("rows"), GP64()), Load(Param("n"), GP64())
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	ie, io := Z30, Z31
	VMOVDQU32(deintEven, ie)
	VMOVDQU32(deintOdd, io)
	// The tail's masks: its loads' lanes and its stores'.
	tail := GP64()
	MOVQ(n, tail)
	ANDQ(U8(31), tail)
	ones, cnt, m := GP32(), GP64(), GP32()
	MOVL(U32(0xffff), ones)
	MOVQ(tail, cnt)
	BZHIL(cnt.As32(), ones, m) // min(tail, 16) lanes (an index past 16 keeps all)
	KMOVW(m, K1)
	XORQ(cnt, cnt)
	SUBQ(U8(16), tail)
	CMOVQGT(tail, cnt) // max(tail − 16, 0)
	ADDQ(U8(16), tail)
	BZHIL(cnt.As32(), ones, m)
	KMOVW(m, K2)
	MOVQ(tail, cnt)
	INCQ(cnt)
	SHRQ(U8(1), cnt)
	BZHIL(cnt.As32(), ones, m) // the tail's even values
	KMOVW(m, K3)
	MOVQ(tail, cnt)
	SHRQ(U8(1), cnt)
	BZHIL(cnt.As32(), ones, m) // its odd values
	KMOVW(m, K4)
	TESTQ(rows, rows)
	JZ(LabelRef("d2done"))
	Label("d2row")
	s, e, o, left := GP64(), GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(even, e)
	MOVQ(odd, o)
	MOVQ(n, left)
	Label("d2loop")
	CMPQ(left, U8(32))
	JL(LabelRef("d2tail"))
	VMOVUPS(Mem{Base: s}, Z0)
	VMOVUPS(Mem{Base: s, Disp: 64}, Z1)
	permute2(Z2, Z0, Z1, ie)
	permute2(Z3, Z0, Z1, io)
	VMOVUPS(Z2, Mem{Base: e})
	VMOVUPS(Z3, Mem{Base: o})
	ADDQ(U8(128), s)
	ADDQ(U8(64), e)
	ADDQ(U8(64), o)
	SUBQ(U8(32), left)
	JMP(LabelRef("d2loop"))
	Label("d2tail")
	TESTQ(left, left)
	JZ(LabelRef("d2next"))
	VMOVUPS_Z(Mem{Base: s}, K1, Z0)
	VMOVUPS_Z(Mem{Base: s, Disp: 64}, K2, Z1)
	permute2(Z2, Z0, Z1, ie)
	permute2(Z3, Z0, Z1, io)
	VMOVUPS(Z2, K3, Mem{Base: e})
	VMOVUPS(Z3, K4, Mem{Base: o})
	Label("d2next")
	ADDQ(lds, src)
	ADDQ(ldd, even)
	ADDQ(ldd, odd)
	DECQ(rows)
	JNZ(LabelRef("d2row"))
	Label("d2done")
	VZEROUPPER()
	RET()
}

// dwBlockAcc lays a block's accumulators out: output row i's nv vectors.
func dwBlockAcc(nv int) [][]VecPhysical {
	acc := make([][]VecPhysical, dwRowsBlock)
	for i := range acc {
		acc[i] = zmm[i*nv : (i+1)*nv]
	}
	return acc
}

// dwStoreBlock applies act to the block of output rows from r0 (free: four
// spare registers) and stores the rows below oh at y (rows ow apart) under
// the store masks at masks + 2·at.
func dwStoreBlock(acc [][]VecPhysical, free []VecPhysical, pre string, y, r0, masks Register, at int, ohMem, owMem Mem) {
	var all []VecPhysical
	for i := range acc {
		all = append(all, acc[i]...)
	}
	actTile(all, free, pre)
	Comment("Store the block's rows that are inside the output.")
	yr, left, ow := GP64(), GP64(), GP64()
	MOVQ(owMem, ow)
	MOVQ(r0, yr)
	IMULQ(ow, yr)
	LEAQ(Mem{Base: y, Index: yr, Scale: 4}, yr)
	MOVQ(ohMem, left)
	SUBQ(r0, left) // rows left, >= 1
	for v := range acc[0] {
		KMOVW(Mem{Base: masks, Disp: 2 * (at + v)}, zmask[v])
	}
	for i := range acc {
		if i > 0 {
			CMPQ(left, U8(i))
			JLE(LabelRef(pre + "stored"))
			LEAQ(Mem{Base: yr, Index: ow, Scale: 4}, yr)
		}
		for v, a := range acc[i] {
			VMOVUPS(a, zmask[v], Mem{Base: yr, Disp: 64 * v})
		}
	}
	Label(pre + "stored")
}
