// Command gemm generates kernels/gemm_amd64.s and its Go declarations,
// kernels/gemm_stub_amd64.go: the register-blocked GEMM micro-kernels for
// AVX2+FMA (YMM) and AVX-512 (ZMM), float32 and float64.
//
// Every kernel has the contract of gemmKernel.fn in kernels/gemm_micro.go:
// it keeps an MR×NR tile of C in registers (NR = nv vectors per row), and
// for each of kc depth steps loads one packed row of B (nv vectors),
// broadcasts the MR packed values of A and adds their products with one
// FMA each, so every element is one FMA chain over p in order. It then
// multiplies the tile by alpha, adds beta·S with one FMA per element when
// load is set (S is the C source: C itself, or a bias row read with row
// stride 0) and stores the tile to C.
//
// See kernels/asmgen/doc.go for the command line.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// micro describes one micro-kernel.
type micro struct {
	name   string
	f64    bool
	zmm    bool // AVX-512 (32 ZMM registers) rather than AVX2 (16 YMM)
	mr, nv int  // rows, vectors per row
	// astride is the packed A sliver's width, the values of A per depth
	// step (0: mr). A kernel for the last rows of a product reads the
	// first mr of a wider sliver: packing stays one layout.
	astride int
	unroll  int // depth steps per loop iteration
	// prefetchC prefetches the C tile (or the bias row) before the depth
	// loop, so that the loads after it do not wait on memory.
	prefetchC bool
	// prefetchB, when positive, prefetches B that many bytes ahead of each
	// depth step (B streams from L2 when the A sliver is the one in L1).
	prefetchB int
}

func (k micro) size() int {
	if k.f64 {
		return 8
	}
	return 4
}

func (k micro) lanes() int {
	if k.zmm {
		return 64 / k.size()
	}
	return 32 / k.size()
}

func (k micro) nr() int { return k.nv * k.lanes() }

func (k micro) typ() string {
	if k.f64 {
		return "float64"
	}
	return "float32"
}

// regs returns the vector registers the kernel may use, in order.
func (k micro) regs() []VecPhysical {
	ys := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	if !k.zmm {
		return ys
	}
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
}

// The element-type forms of the few instructions the kernels use.
func (k micro) movu(src, dst Op) {
	if k.f64 {
		VMOVUPD(src, dst)
	} else {
		VMOVUPS(src, dst)
	}
}

func (k micro) bcast(src, dst Op) {
	if k.f64 {
		VBROADCASTSD(src, dst)
	} else {
		VBROADCASTSS(src, dst)
	}
}

func (k micro) fma(x, y, acc Op) {
	if k.f64 {
		VFMADD231PD(x, y, acc)
	} else {
		VFMADD231PS(x, y, acc)
	}
}

func (k micro) mul(x, y, dst Op) {
	if k.f64 {
		VMULPD(x, y, dst)
	} else {
		VMULPS(x, y, dst)
	}
}

func (k micro) zero(r Op) {
	if k.zmm {
		VPXORD(r, r, r) // VXORPS on ZMM would need AVX512DQ
	} else {
		VXORPS(r, r, r)
	}
}

// bcastParam broadcasts the scalar parameter name into dst straight from
// the argument frame (a MOVSS into X16-X31 would not encode).
func (k micro) bcastParam(name string, dst VecPhysical) {
	p, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	k.bcast(p.Addr, dst)
}

func (k micro) generate() {
	size, mr, nv, nr := k.size(), k.mr, k.nv, k.nr()
	as := k.astride
	if as == 0 {
		as = mr
	}
	vs := k.regs()
	if mr*nv+nv+2 > len(vs) {
		panic(fmt.Sprintf("%s: %d×%d tile needs %d vector registers", k.name, mr, nv, mr*nv+nv+2))
	}
	acc := vs[:mr*nv]
	bv := vs[mr*nv : mr*nv+nv]
	av := vs[mr*nv+nv : mr*nv+nv+2]

	TEXT(k.name, NOSPLIT, fmt.Sprintf("func(kc int, a, b *%[1]s, alpha, beta %[1]s, c *%[1]s, ldc int, src *%[1]s, lds int, load bool)", k.typ()))
	isa := "AVX2+FMA"
	if k.zmm {
		isa = "AVX-512F"
	}
	Doc(fmt.Sprintf("%s is the %s %d×%d %s micro-kernel: C = alpha·A·B + beta·S (S read only when load).", k.name, isa, mr, nr, k.typ()),
		fmt.Sprintf("It reads the first %d of every %d values of a (kc steps), %d·kc of b, and %d rows of %d values at c (row stride ldc)", mr, as, nr, mr, nr),
		"and src (row stride lds, which may be 0); kc >= 1.")
	Pragma("noescape")

	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	if k.prefetchC {
		Comment("Prefetch the C tile: every line of every row, aligned or not.")
		pc := Load(Param("c"), GP64())
		pld := Load(Param("ldc"), GP64())
		SHLQ(U8(log2(size)), pld)
		for i := 0; i < mr; i++ {
			if i > 0 {
				ADDQ(pld, pc)
			}
			for off := 0; off < nr*size; off += 64 {
				PREFETCHT0(Mem{Base: pc, Disp: off})
			}
			PREFETCHT0(Mem{Base: pc, Disp: nr*size - 1})
		}
	}
	for _, r := range acc {
		k.zero(r)
	}

	// step emits depth step u of an iteration: one row of B, mr broadcasts.
	step := func(u int) {
		if k.prefetchB > 0 {
			for off := 0; off < nr*size; off += 64 {
				PREFETCHT0(Mem{Base: b, Disp: u*nr*size + off + k.prefetchB})
			}
		}
		for v := 0; v < nv; v++ {
			k.movu(Mem{Base: b, Disp: (u*nr + v*k.lanes()) * size}, bv[v])
		}
		for i := 0; i < mr; i++ {
			ai := av[i%2] // alternate so consecutive rows do not wait on one register
			k.bcast(Mem{Base: a, Disp: (u*as + i) * size}, ai)
			for v := 0; v < nv; v++ {
				k.fma(bv[v], ai, acc[i*nv+v])
			}
		}
	}
	if u := k.unroll; u > 1 {
		CMPQ(kc, U32(u))
		JL(LabelRef("single"))
		Label("unrolled")
		for s := 0; s < u; s++ {
			step(s)
		}
		ADDQ(U32(u*as*size), a)
		ADDQ(U32(u*nr*size), b)
		SUBQ(U32(u), kc)
		CMPQ(kc, U32(u))
		JGE(LabelRef("unrolled"))
		Label("single")
		TESTQ(kc, kc)
		JZ(LabelRef("scale"))
	}
	Label("loop")
	step(0)
	ADDQ(U32(as*size), a)
	ADDQ(U32(nr*size), b)
	DECQ(kc)
	JNZ(LabelRef("loop"))

	Label("scale")
	Comment("Scale by alpha, add beta·S unless S must not be read, store.")
	k.bcastParam("alpha", bv[0])
	for _, r := range acc {
		k.mul(bv[0], r, r)
	}
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(log2(size)), ldc)
	load := Load(Param("load"), GP32())
	TESTL(load, load)
	JZ(LabelRef("store"))
	k.bcastParam("beta", bv[0])
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(log2(size)), lds)
	for i := 0; i < mr; i++ {
		if i > 0 {
			ADDQ(lds, src)
		}
		for v := 0; v < nv; v++ {
			k.fma(Mem{Base: src, Disp: v * k.lanes() * size}, bv[0], acc[i*nv+v])
		}
	}
	Label("store")
	for i := 0; i < mr; i++ {
		if i > 0 {
			ADDQ(ldc, c)
		}
		for v := 0; v < nv; v++ {
			k.movu(acc[i*nv+v], Mem{Base: c, Disp: v * k.lanes() * size})
		}
	}
	VZEROUPPER()
	RET()
}

func log2(n int) int {
	s := 0
	for 1<<s < n {
		s++
	}
	return s
}

func main() {
	ConstraintExpr("amd64,!purego")
	for _, k := range kernels {
		k.generate()
	}
	transpose("gemmTransposeF32", false)
	transpose("gemmTransposeF64", true)
	for _, w := range []int{48, 64, 96, 128} {
		copyRows(fmt.Sprintf("gemmCopyRows%d", w), w)
	}
	copyRowsPad("gemmCopyRowsPad128")
	Generate()
}
