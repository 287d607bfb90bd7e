package main

// The Winograd F(4×4, 3×3) transforms of kernels/winograd4.go, 16 tiles
// of a tile row a vector. A 2-D transform is the 1-D one applied to every
// row of the tile, the results kept on the stack, then to every column:
// six rows of six vectors would not fit the 32 registers.

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// splat32 broadcasts the float32 constant f into z.
func splat32(f float32, z VecPhysical) {
	r := GP32()
	MOVL(U32(math.Float32bits(f)), r)
	VPBROADCASTD(r, z)
}

// wino4InT sets Z6–Z11 to Bᵀ·x for x in Z0–Z5 (Z12–Z15 scratch; c2, c4,
// c5 hold 2, 4 and 5):
//
//	y0 = 4x0 − 5x2 + x4          y3 = (x4 − x2) + 2(x3 − x1)
//	y1 = (x4 − 4x2) + (x3 − 4x1) y4 = (x4 − x2) − 2(x3 − x1)
//	y2 = (x4 − 4x2) − (x3 − 4x1) y5 = 4x1 − 5x3 + x5
func wino4InT(c2, c4, c5 VecPhysical) {
	x0, x1, x2, x3, x4, x5 := Z0, Z1, Z2, Z3, Z4, Z5
	VMOVAPS(x4, Z12)
	VFNMADD231PS(c4, x2, Z12) // x4 − 4x2
	VMOVAPS(x3, Z13)
	VFNMADD231PS(c4, x1, Z13) // x3 − 4x1
	VADDPS(Z13, Z12, Z7)
	VSUBPS(Z13, Z12, Z8)
	VSUBPS(x2, x4, Z14) // x4 − x2
	VSUBPS(x1, x3, Z15) // x3 − x1
	VMOVAPS(Z14, Z9)
	VFMADD231PS(c2, Z15, Z9)
	VMOVAPS(Z14, Z10)
	VFNMADD231PS(c2, Z15, Z10)
	VMOVAPS(x4, Z6)
	VFMADD231PS(c4, x0, Z6)
	VFNMADD231PS(c5, x2, Z6)
	VMOVAPS(x5, Z11)
	VFMADD231PS(c4, x1, Z11)
	VFNMADD231PS(c5, x3, Z11)
}

// wino4In emits wino4In16AVX512(v *float32, vs int, p *float32, pl, ld,
// n int): the input transform of n <= 16 tiles (see Winograd4Input).
func wino4In() {
	TEXT("wino4In16AVX512", 0, // a 2.3 KiB frame: too large for NOSPLIT
		"func(v *float32, vs int, p *float32, pl, ld, n int)")
	Doc("wino4In16AVX512 is the Winograd F(4×4, 3×3) input transform Bᵀ·d·B of n <= 16 consecutive tiles of",
		"one tile row and channel. p is phase 0 (padded columns 4k) of the patch's first padded row at the",
		"first tile; the four phases are pl floats apart and rows ld apart, so tile j's column c is phase",
		"c mod 4 at j + c/4. Tile j's 36 values go to v[ξ·vs + j], ξ = 6·row + column.")
	Pragma("noescape")
	e := AllocLocal(36 * 64)
	v := Load(Param("v"), GP64())
	vs := Load(Param("vs"), GP64())
	p := Load(Param("p"), GP64())
	pl := Load(Param("pl"), GP64())
	ld := Load(Param("ld"), GP64())
	n := Load(Param("n"), GP64())
	SHLQ(U8(2), vs)
	SHLQ(U8(2), pl)
	SHLQ(U8(2), ld)
	m := GP64()
	MOVQ(U32(0xffff), m)
	BZHIQ(n, m, m)
	KMOVW(m.As32(), K1)
	pl3 := GP64()
	LEAQ(Mem{Base: pl, Index: pl, Scale: 2}, pl3)
	c2, c4, c5 := Z29, Z30, Z31
	splat32(2, c2)
	splat32(4, c4)
	splat32(5, c5)
	Comment("Each padded row's six columns, transformed along the row, to the stack.")
	for r := 0; r < 6; r++ {
		if r > 0 {
			ADDQ(ld, p)
		}
		VMOVUPS(Mem{Base: p}, Z0)
		VMOVUPS(Mem{Base: p, Index: pl, Scale: 1}, Z1)
		VMOVUPS(Mem{Base: p, Index: pl, Scale: 2}, Z2)
		VMOVUPS(Mem{Base: p, Index: pl3, Scale: 1}, Z3)
		VMOVUPS(Mem{Base: p, Disp: 4}, Z4)
		VMOVUPS(Mem{Base: p, Index: pl, Scale: 1, Disp: 4}, Z5)
		wino4InT(c2, c4, c5)
		for k := 0; k < 6; k++ {
			VMOVUPS(zmm[6+k], e.Offset((r*6+k)*64))
		}
	}
	Comment("Each column of those, transformed down the column, to v[(6·i + k)·vs].")
	vs6, col := GP64(), GP64()
	LEAQ(Mem{Base: vs, Index: vs, Scale: 2}, vs6)
	SHLQ(U8(1), vs6)
	for k := 0; k < 6; k++ {
		if k > 0 {
			ADDQ(vs, v)
		}
		for r := 0; r < 6; r++ {
			VMOVUPS(e.Offset((r*6+k)*64), zmm[r])
		}
		wino4InT(c2, c4, c5)
		MOVQ(v, col)
		for i := 0; i < 6; i++ {
			if i > 0 {
				ADDQ(vs6, col)
			}
			VMOVUPS(zmm[6+i], K1, Mem{Base: col})
		}
	}
	VZEROUPPER()
	RET()
}

// wino4OutT sets out[0..3] to Aᵀ·x for x in Z0–Z5 (Z6–Z9 scratch; c2, c4,
// c8 hold 2, 4 and 8):
//
//	y0 = x0 + (x1 + x2) + (x3 + x4)   y2 = (x1 + x2) + 4(x3 + x4)
//	y1 = (x1 − x2) + 2(x3 − x4)       y3 = (x1 − x2) + 8(x3 − x4) + x5
func wino4OutT(out []VecPhysical, c2, c4, c8 VecPhysical) {
	x0, x1, x2, x3, x4, x5 := Z0, Z1, Z2, Z3, Z4, Z5
	VADDPS(x2, x1, Z6) // s1
	VSUBPS(x2, x1, Z7) // d1
	VADDPS(x4, x3, Z8) // s2
	VSUBPS(x4, x3, Z9) // d2
	VADDPS(Z6, x0, out[0])
	VADDPS(Z8, out[0], out[0])
	VMOVAPS(Z7, out[1])
	VFMADD231PS(c2, Z9, out[1])
	VMOVAPS(Z6, out[2])
	VFMADD231PS(c4, Z8, out[2])
	VMOVAPS(Z7, out[3])
	VFMADD231PS(c8, Z9, out[3])
	VADDPS(x5, out[3], out[3])
}

// wino4Out emits wino4Out16AVX512(y *float32, ow, rows, w int, m *float32,
// ms int, bias float32, n int): the output transform of n <= 16 tiles (see
// Winograd4Output).
func wino4Out() {
	TEXT("wino4Out16AVX512", 0, "func(y *float32, ow, rows, w int, m *float32, ms int, bias float32, n int)")
	Doc("wino4Out16AVX512 is the Winograd F(4×4, 3×3) output transform Aᵀ·M·A of n <= 16 consecutive tiles of",
		"one tile row and channel: tile j's products at m[ξ·ms + j]; its 4×4 outputs plus bias go to y (row",
		"stride ow), w <= 64 columns of each of the first rows <= 4 rows.")
	Pragma("noescape")
	e := AllocLocal(24 * 64)
	mp := Load(Param("m"), GP64())
	ms := Load(Param("ms"), GP64())
	n := Load(Param("n"), GP64())
	SHLQ(U8(2), ms)
	k := GP64()
	MOVQ(U32(0xffff), k)
	BZHIQ(n, k, k)
	KMOVW(k.As32(), K1)
	c2, c4, c8, bias := Z26, Z27, Z28, Z29
	splat32(2, c2)
	splat32(4, c4)
	splat32(8, c8)
	bp, err := Param("bias").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(bp.Addr, bias)
	Comment("Each row of the 6×6 products, transformed along the row, to the stack.")
	tmp := []VecPhysical{Z10, Z11, Z12, Z13}
	for r := 0; r < 6; r++ {
		for c := 0; c < 6; c++ {
			if r > 0 || c > 0 {
				ADDQ(ms, mp)
			}
			VMOVUPS_Z(Mem{Base: mp}, K1, zmm[c])
		}
		wino4OutT(tmp, c2, c4, c8)
		for j := 0; j < 4; j++ {
			VMOVUPS(tmp[j], e.Offset((r*4+j)*64))
		}
	}
	Comment("Each column of those down the column: out[i][j] in Z(10 + 4i + j), plus bias.")
	for j := 0; j < 4; j++ {
		for r := 0; r < 6; r++ {
			VMOVUPS(e.Offset((r*4+j)*64), zmm[r])
		}
		out := []VecPhysical{zmm[10+j], zmm[14+j], zmm[18+j], zmm[22+j]}
		wino4OutT(out, c2, c4, c8)
		for _, o := range out {
			VADDPS(bias, o, o)
		}
	}
	Comment("Tile j's four columns to y[4j…4j+3]: two rounds of pairwise interleaves.")
	lo, hi := Z30, Z31
	VMOVDQU32(wino4Lo, lo)
	VMOVDQU32(wino4Hi, hi)
	Comment("Masks of the w columns: 16 a store.")
	w := Load(Param("w"), GP64())
	masks := []Op{K2, K3, K4, K5}
	for q := range masks {
		t, z := GP64(), GP64()
		MOVQ(w, t)
		SUBQ(U8(16*q), t)
		XORQ(z, z)
		CMPQ(t, z)
		CMOVQLT(z, t) // max(w − 16q, 0)
		mk := GP64()
		MOVQ(U32(0xffff), mk)
		BZHIQ(t, mk, mk)
		KMOVW(mk.As32(), masks[q])
	}
	y := Load(Param("y"), GP64())
	ow := Load(Param("ow"), GP64())
	rows := Load(Param("rows"), GP64())
	SHLQ(U8(2), ow)
	for i := 0; i < 4; i++ {
		if i > 0 {
			CMPQ(rows, U8(i))
			JLE(LabelRef("w4done"))
			ADDQ(ow, y)
		}
		c0, c1, c2r, c3 := zmm[10+4*i], zmm[11+4*i], zmm[12+4*i], zmm[13+4*i]
		// A = c0,c2 interleaved and B = c1,c3, low and high halves; then
		// tiles 0–3, 4–7 from the low halves, 8–11, 12–15 from the high.
		permute2(Z0, c0, c2r, lo)
		permute2(Z1, c0, c2r, hi)
		permute2(Z2, c1, c3, lo)
		permute2(Z3, c1, c3, hi)
		permute2(Z4, Z0, Z2, lo)
		permute2(Z5, Z0, Z2, hi)
		permute2(Z6, Z1, Z3, lo)
		permute2(Z7, Z1, Z3, hi)
		for q, s := range []VecPhysical{Z4, Z5, Z6, Z7} {
			VMOVUPS(s, masks[q], Mem{Base: y, Disp: 64 * q})
		}
	}
	Label("w4done")
	VZEROUPPER()
	RET()
}

// deint4 emits deint4AVX512(dst *float32, pl int, src *float32, blocks
// int): 64·blocks values of src split into their four phases, src[4k + q]
// to dst[q·pl + k].
func deint4() {
	TEXT("deint4AVX512", NOSPLIT, "func(dst *float32, pl int, src *float32, blocks int)")
	Doc("deint4AVX512 sets dst[q·pl + k] = src[4k + q] for q < 4 and k < 16·blocks (pl in float32s).")
	Pragma("noescape")
	dst := Load(Param("dst"), GP64())
	pl := Load(Param("pl"), GP64())
	src := Load(Param("src"), GP64())
	blocks := Load(Param("blocks"), GP64())
	SHLQ(U8(2), pl)
	pl3 := GP64()
	LEAQ(Mem{Base: pl, Index: pl, Scale: 2}, pl3)
	even, odd := Z30, Z31
	VMOVDQU32(deintEven, even)
	VMOVDQU32(deintOdd, odd)
	TESTQ(blocks, blocks)
	JZ(LabelRef("d4done"))
	Label("d4loop")
	VMOVUPS(Mem{Base: src}, Z0)
	VMOVUPS(Mem{Base: src, Disp: 64}, Z1)
	VMOVUPS(Mem{Base: src, Disp: 128}, Z2)
	VMOVUPS(Mem{Base: src, Disp: 192}, Z3)
	// Even and odd of each pair of vectors, then of those.
	permute2(Z4, Z0, Z1, even) // src[0, 2, …, 30]
	permute2(Z5, Z0, Z1, odd)  // src[1, 3, …, 31]
	permute2(Z6, Z2, Z3, even) // src[32, 34, …]
	permute2(Z7, Z2, Z3, odd)
	permute2(Z8, Z4, Z6, even)  // phase 0
	permute2(Z9, Z4, Z6, odd)   // phase 2
	permute2(Z10, Z5, Z7, even) // phase 1
	permute2(Z11, Z5, Z7, odd)  // phase 3
	VMOVUPS(Z8, Mem{Base: dst})
	VMOVUPS(Z10, Mem{Base: dst, Index: pl, Scale: 1})
	VMOVUPS(Z9, Mem{Base: dst, Index: pl, Scale: 2})
	VMOVUPS(Z11, Mem{Base: dst, Index: pl3, Scale: 1})
	ADDQ(U32(256), src)
	ADDQ(U8(64), dst)
	DECQ(blocks)
	JNZ(LabelRef("d4loop"))
	Label("d4done")
	VZEROUPPER()
	RET()
}

// permute2 sets dst to the elements of the 32-element table a ‖ b that idx
// selects.
func permute2(dst, a, b, idx VecPhysical) {
	VMOVAPS(a, dst)
	VPERMT2PS(b, idx, dst)
}

// The permutation tables: wino4Lo/Hi interleave two vectors' low (high)
// halves, deintEven/Odd take the even (odd) elements of two vectors.
var wino4Lo, wino4Hi, deintEven, deintOdd Mem

func wino4Tables() {
	table := func(name string, f func(i int) uint32) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(f(i)))
		}
		return m
	}
	wino4Lo = table("wino4Lo", func(i int) uint32 { return uint32(i/2 + 16*(i%2)) })
	wino4Hi = table("wino4Hi", func(i int) uint32 { return uint32(8 + i/2 + 16*(i%2)) })
	deintEven = table("deintEven", func(i int) uint32 { return uint32(2 * i) })
	deintOdd = table("deintOdd", func(i int) uint32 { return uint32(2*i + 1) })
}
