// Command conv generates kernels/conv_amd64.s and its Go declarations,
// kernels/conv_stub_amd64.go: the AVX-512 float32 micro-kernels of direct
// convolution (kernels/convdirect.go).
//
// A kernel is the GEMM micro-kernel with B read through a table of offsets
// instead of from a packed panel: it keeps an MR×NR tile of outputs in
// registers (MR output channels, NR = 16·nv consecutive output positions),
// starts it at the channels' bias, and for each of k taps loads nv vectors
// at x + offs[p], broadcasts the MR packed weights of the tap and adds their
// products with one FMA each, so every output is one FMA chain over the
// taps in order. It then stores the tile to C (row stride ldc).
//
// See kernels/asmgen/doc.go for the command line.
package main

import (
	"flag"
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// shapes are the tiles generated: MR·nv = 24 accumulators each (the FMA
// ports' latency times their count, with room for nv loads and two
// broadcasts in the 32 ZMM registers), plus 12×16 for layers with few
// output positions. convdirect.go picks, per layer, the one that pads the
// channels and positions least.
var shapes = []struct{ mr, nv int }{{12, 2}, {8, 3}, {6, 4}, {4, 6}, {12, 1}}

// prefetchA is how far ahead of each tap the kernels prefetch the packed
// weights: a block's weights stream from L3 or memory once per run in a
// model (resnet18's 46 MB do not stay in cache between runs).
var prefetchA = 2048

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

func kernel(mr, nv int) {
	name := fmt.Sprintf("sconvDirect%dx%d", mr, nv*16)
	acc := zmm[:mr*nv]
	bv := zmm[mr*nv : mr*nv+nv]
	av := zmm[mr*nv+nv : mr*nv+nv+2]
	TEXT(name, NOSPLIT, "func(k int, offs *int32, a, x, bias, c *float32, ldc int, load bool)")
	Doc(fmt.Sprintf("%s is the AVX-512F %d×%d float32 direct-convolution micro-kernel:", name, mr, nv*16),
		fmt.Sprintf("C[i][j] = S[i][j] + Σp a[p·%d+i]·x[offs[p]+j] over k >= 1 taps, %d rows of %d at c (row stride ldc),", mr, mr, nv*16),
		"where S is C itself when load, else bias[i].")
	Pragma("noescape")

	k := Load(Param("k"), GP64())
	offs := Load(Param("offs"), GP64())
	a := Load(Param("a"), GP64())
	x := Load(Param("x"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	load := Load(Param("load"), GP8())
	TESTB(load, load)
	JZ(LabelRef("bias"))
	pc := GP64()
	MOVQ(c, pc)
	for i := 0; i < mr; i++ {
		if i > 0 {
			ADDQ(ldc, pc)
		}
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: pc, Disp: 64 * v}, acc[i*nv+v])
		}
	}
	JMP(LabelRef("loop"))
	Label("bias")
	bias := Load(Param("bias"), GP64())
	for i := 0; i < mr; i++ {
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, acc[i*nv])
		for v := 1; v < nv; v++ {
			VMOVAPS(acc[i*nv], acc[i*nv+v])
		}
	}
	Label("loop")
	off := GP64()
	PREFETCHT0(Mem{Base: a, Disp: prefetchA})
	MOVLQSX(Mem{Base: offs}, off)
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: x, Index: off, Scale: 4, Disp: 64 * v}, bv[v])
	}
	for i := 0; i < mr; i++ {
		ai := av[i%2] // alternate so consecutive rows do not wait on one register
		VBROADCASTSS(Mem{Base: a, Disp: 4 * i}, ai)
		for v := 0; v < nv; v++ {
			VFMADD231PS(bv[v], ai, acc[i*nv+v])
		}
	}
	ADDQ(U8(4), offs)
	ADDQ(U32(4*mr), a)
	DECQ(k)
	JNZ(LabelRef("loop"))

	for i := 0; i < mr; i++ {
		if i > 0 {
			ADDQ(ldc, c)
		}
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[i*nv+v], Mem{Base: c, Disp: 64 * v})
		}
	}
	VZEROUPPER()
	RET()
}

// kernelDW generates the one-channel tile of depthwise convolution: nv
// vectors of 16 positions, one FMA chain per vector over the taps, each
// tap one broadcast weight and nv FMAs reading the input from memory.
// Eight chains keep both FMA ports busy through their latency.
func kernelDW(nv int) {
	name := fmt.Sprintf("sconvDirect1x%d", nv*16)
	acc := zmm[:nv]
	wv := zmm[nv]
	TEXT(name, NOSPLIT, "func(k int, offs *int32, a, x, bias, c *float32, ldc int, load bool)")
	Doc(fmt.Sprintf("%s is the AVX-512F 1×%d float32 direct-convolution micro-kernel (depthwise):", name, nv*16),
		"C[j] = S[j] + Σp a[p]·x[offs[p]+j] over k >= 1 taps, where S is C itself when load, else bias[0]; ldc is unused.")
	Pragma("noescape")
	k := Load(Param("k"), GP64())
	offs := Load(Param("offs"), GP64())
	a := Load(Param("a"), GP64())
	x := Load(Param("x"), GP64())
	c := Load(Param("c"), GP64())
	load := Load(Param("load"), GP8())
	TESTB(load, load)
	JZ(LabelRef("biasDW"))
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: c, Disp: 64 * v}, acc[v])
	}
	JMP(LabelRef("loopDW"))
	Label("biasDW")
	bias := Load(Param("bias"), GP64())
	VBROADCASTSS(Mem{Base: bias}, acc[0])
	for v := 1; v < nv; v++ {
		VMOVAPS(acc[0], acc[v])
	}
	Label("loopDW")
	off := GP64()
	MOVLQSX(Mem{Base: offs}, off)
	VBROADCASTSS(Mem{Base: a}, wv)
	for v := 0; v < nv; v++ {
		VFMADD231PS(Mem{Base: x, Index: off, Scale: 4, Disp: 64 * v}, wv, acc[v])
	}
	ADDQ(U8(4), offs)
	ADDQ(U8(4), a)
	DECQ(k)
	JNZ(LabelRef("loopDW"))
	for v := 0; v < nv; v++ {
		VMOVUPS(acc[v], Mem{Base: c, Disp: 64 * v})
	}
	VZEROUPPER()
	RET()
}

func main() {
	flag.Parse()
	ConstraintExpr("amd64,!purego")
	for _, s := range shapes {
		kernel(s.mr, s.nv)
	}
	for _, nv := range []int{8, 4, 2} {
		kernelDW(nv)
	}
	Generate()
}
