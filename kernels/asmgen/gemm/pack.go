package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// transpose emits name(src *T, lds, rows, n int, dst *T, ldd int), which
// sets dst[p*ldd+r] = src[r*lds+p] for r < rows and p < n: rows of a matrix
// become n groups of rows consecutive values, as packing A (and B stored
// n×k) into slivers needs. rows is a positive multiple of 4 and n of the
// block: 8 float32 or 4 float64 columns, one YMM register per row.
//
// It walks n in blocks and, within a block, the rows in groups of four,
// so that each block of dst (block·ldd values) is written whole before
// the next: a sliver is then filled once, not once per group of rows.
func transpose(name string, f64 bool) {
	typ, size, blk := "float32", 4, 8
	if f64 {
		typ, size, blk = "float64", 8, 4
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(src *%[1]s, lds, rows, n int, dst *%[1]s, ldd int)", typ))
	Doc(fmt.Sprintf("%s transposes rows rows of %s (row stride lds) into n groups of rows values at dst (group stride ldd);", name, typ),
		fmt.Sprintf("rows is a positive multiple of 4 and n of %d.", blk))
	Pragma("noescape")
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(log2(size)), lds)
	SHLQ(U8(log2(size)), ldd)
	lds3, ldd3 := GP64(), GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	s, d, g, d4 := GP64(), GP64(), GP64(), GP64()

	Label("block")
	MOVQ(src, s)
	MOVQ(dst, d)
	Load(Param("rows"), g)
	Label("group")
	VMOVUPS(Mem{Base: s}, Y0)
	VMOVUPS(Mem{Base: s, Index: lds, Scale: 1}, Y1)
	VMOVUPS(Mem{Base: s, Index: lds, Scale: 2}, Y2)
	VMOVUPS(Mem{Base: s, Index: lds3, Scale: 1}, Y3)
	// at returns the address of group q (q < 4) from base.
	at := func(base Register, q int) Mem {
		switch q {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: ldd, Scale: 1}
		case 2:
			return Mem{Base: base, Index: ldd, Scale: 2}
		}
		return Mem{Base: base, Index: ldd3, Scale: 1}
	}
	if !f64 {
		// Pairs of rows interleaved, then pairs of pairs: register q holds
		// column q in its low half and column q+4 in its high half.
		VUNPCKLPS(Y1, Y0, Y4)
		VUNPCKHPS(Y1, Y0, Y5)
		VUNPCKLPS(Y3, Y2, Y6)
		VUNPCKHPS(Y3, Y2, Y7)
		VUNPCKLPD(Y6, Y4, Y0)
		VUNPCKHPD(Y6, Y4, Y1)
		VUNPCKLPD(Y7, Y5, Y2)
		VUNPCKHPD(Y7, Y5, Y3)
		LEAQ(Mem{Base: d, Index: ldd, Scale: 4}, d4)
		for q, y := range []VecPhysical{Y0, Y1, Y2, Y3} {
			VMOVUPS(y.AsX(), at(d, q))
			VEXTRACTF128(U8(1), y, at(d4, q))
		}
	} else {
		// Interleaved pairs hold columns (0, 2) and (1, 3); lane swaps
		// join the halves.
		VUNPCKLPD(Y1, Y0, Y4)
		VUNPCKHPD(Y1, Y0, Y5)
		VUNPCKLPD(Y3, Y2, Y6)
		VUNPCKHPD(Y3, Y2, Y7)
		VPERM2F128(U8(0x20), Y6, Y4, Y0)
		VPERM2F128(U8(0x20), Y7, Y5, Y1)
		VPERM2F128(U8(0x31), Y6, Y4, Y2)
		VPERM2F128(U8(0x31), Y7, Y5, Y3)
		for q, y := range []VecPhysical{Y0, Y1, Y2, Y3} {
			VMOVUPD(y, at(d, q))
		}
	}
	LEAQ(Mem{Base: s, Index: lds, Scale: 4}, s)
	ADDQ(U32(4*size), d)
	SUBQ(U32(4), g)
	JNZ(LabelRef("group"))
	ADDQ(U32(blk*size), src)
	LEAQ(Mem{Base: dst, Index: ldd, Scale: uint8(blk)}, dst)
	SUBQ(U32(blk), n)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// copyRows emits name(src *byte, lds, rows int, dst *byte): rows rows of
// width bytes (a multiple of 16) from src (row stride lds bytes) to dst,
// packed. Packing copies such rows (B rows into slivers, Aᵀ rows into
// A slivers); a Go array copy of that size calls memmove.
func copyRows(name string, width int) {
	TEXT(name, NOSPLIT, "func(src *byte, lds, rows int, dst *byte)")
	Doc(fmt.Sprintf("%s copies rows rows of %d bytes from src (row stride lds bytes) to dst, back to back; rows >= 1.", name, width))
	Pragma("noescape")
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	rows := Load(Param("rows"), GP64())
	dst := Load(Param("dst"), GP64())
	regs := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	Label("loop")
	off := 0
	for i := 0; off+32 <= width; i++ {
		VMOVUPS(Mem{Base: src, Disp: off}, regs[i])
		off += 32
	}
	if off < width {
		VMOVUPS(Mem{Base: src, Disp: off}, X8)
	}
	off = 0
	for i := 0; off+32 <= width; i++ {
		VMOVUPS(regs[i], Mem{Base: dst, Disp: off})
		off += 32
	}
	if off < width {
		VMOVUPS(X8, Mem{Base: dst, Disp: off})
	}
	ADDQ(lds, src)
	ADDQ(U32(width), dst)
	DECQ(rows)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
}

// copyRowsPad emits name(src *byte, lds, rows int, dst *byte, n int) for
// AVX-512: rows rows of n bytes (a multiple of 4, at most 128) from src
// (row stride lds bytes) to 128-byte rows at dst, each zero past n: the
// last, partial sliver of a packed B. Masked loads read nothing past n.
func copyRowsPad(name string) {
	TEXT(name, NOSPLIT, "func(src *byte, lds, rows int, dst *byte, n int)")
	Doc(fmt.Sprintf("%s copies rows rows of n bytes (n a multiple of 4, at most 128) from src (row stride lds bytes) to", name),
		"128-byte rows at dst, back to back, zero past n; rows >= 1. AVX-512F.")
	Pragma("noescape")
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	rows := Load(Param("rows"), GP64())
	dst := Load(Param("dst"), GP64())
	n := Load(Param("n"), GP64())
	// Dword mask of the first n/4 lanes: its low 16 bits cover the first
	// vector, its high 16 bits the second.
	SHRQ(U8(2), n)
	m := GP64()
	MOVQ(U32(1), m)
	SHLXQ(n, m, m)
	DECQ(m)
	k1, k2 := K1, K2
	KMOVW(m.As32(), k1)
	SHRQ(U8(16), m)
	KMOVW(m.As32(), k2)
	Label("loop")
	VMOVUPS_Z(Mem{Base: src}, k1, Z0)
	VMOVUPS_Z(Mem{Base: src, Disp: 64}, k2, Z1)
	VMOVUPS(Z0, Mem{Base: dst})
	VMOVUPS(Z1, Mem{Base: dst, Disp: 64})
	ADDQ(lds, src)
	ADDQ(U32(128), dst)
	DECQ(rows)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
}
