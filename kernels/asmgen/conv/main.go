// Command conv generates kernels/conv_amd64.s and its Go declarations,
// kernels/conv_stub_amd64.go: the AVX-512 float32 micro-kernels of direct
// convolution (kernels/convdirect.go), and the Winograd F(4×4, 3×3)
// transforms (wino4.go, for kernels/winograd4.go).
//
// A kernel is the GEMM micro-kernel with B read through a table of offsets
// instead of from a packed panel: it keeps an MR×NR tile of outputs in
// registers (MR output channels, NR = 16·nv consecutive output positions),
// starts it at the channels' bias, and for each of k taps loads nv vectors
// at x + offs[p], broadcasts the MR packed weights of the tap and adds their
// products with one FMA each, so every output is one FMA chain over the
// taps in order. It then stores the tile to C (row stride ldc), through a
// ReLU or HardSwish when asked: a fused Conv → activation then needs no
// pass over its output.
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
// model (resnet18's 46 MB do not stay in cache between runs). 8 KiB ahead
// ran resnet18's layer4 5% faster than 2 KiB at batch 1.
var prefetchA = 8192

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

func kernel(mr, nv int) {
	name := fmt.Sprintf("sconvDirect%dx%d", mr, nv*16)
	acc := zmm[:mr*nv]
	bv := zmm[mr*nv : mr*nv+nv]
	av := zmm[mr*nv+nv : mr*nv+nv+2]
	TEXT(name, NOSPLIT, "func(k int, offs *int32, a, x, bias, c *float32, ldc int, load bool, act int)")
	Doc(fmt.Sprintf("%s is the AVX-512F %d×%d float32 direct-convolution micro-kernel:", name, mr, nv*16),
		fmt.Sprintf("C[i][j] = S[i][j] + Σp a[p·%d+i]·x[offs[p]+j] over k >= 1 taps, %d rows of %d at c (row stride ldc),", mr, mr, nv*16),
		"where S is C itself when load, else bias[i]; each result goes through activation act",
		"(0: none, 1: ReLU, 2: HardSwish) as it is stored.")
	Pragma("noescape")

	ldc := Load(Param("ldc"), GP64()) // before tileArgs' jump: both paths store through it
	SHLQ(U8(2), ldc)
	k, offs, a, x, c := tileArgs("bias")
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

	actTile(acc, zmm[mr*nv:], "") // the registers past the accumulators are free now
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

// tileArgs loads the arguments every direct kernel starts from (taps,
// offsets, weights, input, output) and jumps to label bias unless load is
// set (the tile then starts from C).
func tileArgs(bias string) (k, offs, a, x, c Register) {
	k = Load(Param("k"), GP64())
	offs = Load(Param("offs"), GP64())
	a = Load(Param("a"), GP64())
	x = Load(Param("x"), GP64())
	c = Load(Param("c"), GP64())
	load := Load(Param("load"), GP8())
	TESTB(load, load)
	JZ(LabelRef(bias))
	return k, offs, a, x, c
}

// actTile applies the activation the act argument names (0: none, 1:
// ReLU, 2: HardSwish; kernels/convdirect.go's kernelAct) to the
// accumulators, with the same instructions as vmath's ReLU and
// hardSwish32AVX512, so the same bits, and continues at label pre+"done".
// free holds at least four registers the kernel no longer needs. MAXPS
// and MINPS return their second source (the sum) when either is NaN (and
// MAXPS when both are zero: adding +0 after the ReLU turns −0 into +0).
func actTile(acc, free []VecPhysical, pre string) {
	act := Load(Param("act"), GP64())
	CMPQ(act, U8(1))
	JEQ(LabelRef(pre + "relu"))
	CMPQ(act, U8(2))
	JEQ(LabelRef(pre + "hswish"))
	JMP(LabelRef(pre + "done"))

	zero, three, six, t := free[0], free[1], free[2], free[3]
	Label(pre + "relu")
	VPXORD(zero, zero, zero)
	for _, r := range acc {
		VMAXPS(r, zero, r)
		VADDPS(zero, r, r)
	}
	JMP(LabelRef(pre + "done"))

	Label(pre + "hswish") // x·min(max(x+3, 0), 6)/6
	VPXORD(zero, zero, zero)
	k := GP32()
	MOVL(U32(0x40400000), k) // 3
	VPBROADCASTD(k, three)
	MOVL(U32(0x40C00000), k) // 6
	VPBROADCASTD(k, six)
	for _, r := range acc {
		VADDPS(three, r, t)
		VMAXPS(t, zero, t)
		VMINPS(t, six, t)
		VMULPS(t, r, t)
		VDIVPS(six, t, r)
	}
	Label(pre + "done")
}

// posShapes are the position-broadcast tiles generated: mv vectors of 16
// output channels × 7 positions of one output row (kernelPos). Three
// vectors (21 accumulators) measured slower than two on resnet18's and
// mobilenet's layers.
var posShapes = []int{2}

// posTile is the positions in a position-broadcast tile: a row of 7
// outputs, which 7×7 to 112×112 maps split into without remainder.
const posTile = 7

// kernelPos generates the transposed direct tile: 16·mv output channels in
// mv vectors × 7 positions, one accumulator each. Each tap loads the mv
// vectors of its weights and broadcasts each position's input, so the
// positions need not be consecutive in the q space of the planes (a
// row's dropped columns are never computed, and a stride changes nothing
// but the offsets). Every output is the same FMA chain as the other
// direct kernels': bias, then one FMA per tap in order; the same bits.
func kernelPos(mv int) {
	name := fmt.Sprintf("sconvPos%dx%d", 16*mv, posTile)
	acc := zmm[:mv*posTile] // acc[j·mv+v]: position j, channels 16v…16v+15
	wv := zmm[mv*posTile : mv*posTile+mv]
	xb := zmm[mv*posTile+mv : mv*posTile+mv+2]
	TEXT(name, NOSPLIT, "func(k int, offs *int32, a, x, bias, c *float32, load bool, act int)")
	Doc(fmt.Sprintf("%s is the AVX-512F position-broadcast direct-convolution micro-kernel:", name),
		fmt.Sprintf("C[j·%d+i] = S + Σp a[p·%d+i]·x[offs[p]+j] over k >= 1 taps for %d channels i and %d positions j,", 16*mv, 16*mv, 16*mv, posTile),
		fmt.Sprintf("where S is C[j·%d+i] itself when load, else bias[i]; each result goes through activation", 16*mv),
		"act (as the tiled kernels) as it is stored.")
	Pragma("noescape")
	k, offs, a, x, c := tileArgs("posbias")
	for j := 0; j < posTile; j++ {
		for v := 0; v < mv; v++ {
			VMOVUPS(Mem{Base: c, Disp: 64 * (j*mv + v)}, acc[j*mv+v])
		}
	}
	JMP(LabelRef("posloop"))
	Label("posbias")
	bias := Load(Param("bias"), GP64())
	for v := 0; v < mv; v++ {
		VMOVUPS(Mem{Base: bias, Disp: 64 * v}, acc[v])
		for j := 1; j < posTile; j++ {
			VMOVAPS(acc[v], acc[j*mv+v])
		}
	}
	Label("posloop")
	PREFETCHT0(Mem{Base: a, Disp: prefetchA})
	off := GP64()
	MOVLQSX(Mem{Base: offs}, off)
	for v := 0; v < mv; v++ {
		VMOVUPS(Mem{Base: a, Disp: 64 * v}, wv[v])
	}
	for j := 0; j < posTile; j++ {
		b := xb[j%2] // alternate so consecutive positions do not wait on one register
		VBROADCASTSS(Mem{Base: x, Index: off, Scale: 4, Disp: 4 * j}, b)
		for v := 0; v < mv; v++ {
			VFMADD231PS(wv[v], b, acc[j*mv+v])
		}
	}
	ADDQ(U8(4), offs)
	ADDQ(U32(64*mv), a)
	DECQ(k)
	JNZ(LabelRef("posloop"))
	actTile(acc, zmm[mv*posTile:], "pos")
	for i, r := range acc {
		VMOVUPS(r, Mem{Base: c, Disp: 64 * i})
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
	TEXT(name, NOSPLIT, "func(k int, offs *int32, a, x, bias, c *float32, ldc int, load bool, act int)")
	Doc(fmt.Sprintf("%s is the AVX-512F 1×%d float32 direct-convolution micro-kernel (depthwise):", name, nv*16),
		"C[j] = S[j] + Σp a[p]·x[offs[p]+j] over k >= 1 taps, where S is C itself when load, else bias[0], through",
		"activation act as it is stored (as the tiled kernels); ldc is unused.")
	Pragma("noescape")
	k, offs, a, x, c := tileArgs("biasDW")
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
	actTile(acc, zmm[nv+1:nv+5], "dw")
	for v := 0; v < nv; v++ {
		VMOVUPS(acc[v], Mem{Base: c, Disp: 64 * v})
	}
	VZEROUPPER()
	RET()
}

// kernelDW16 generates the channel-blocked depthwise kernel
// (kernels/dwblocked.go): 16 channels per vector, so each tap is one
// vector of weights for all of them. The output pixels come with a table
// of where each reads its input, so a block of G pixels (8 while at least
// 8 remain, then 4, 2, 1) may span output rows: G FMA chains per tap, one
// weight load and G FMAs reading the input from memory, whatever the row
// width. The count and pointers that last across blocks live in the
// argument frame: the tap loop needs 12 general registers.
func kernelDW16() {
	TEXT("sconvDW16", NOSPLIT, "func(n, taps int, offs *int32, w, x, bias, out *float32, pix *int32, act int)")
	Doc("sconvDW16 is the AVX-512F channel-blocked depthwise-convolution kernel:",
		"out[r·16+l] = bias[l] + Σt w[t·16+l]·x[pix[r]+offs[t]+l] for r < n pixels and l < 16",
		"channels, the taps t < taps (>= 1) in order, offsets in float32s, through activation",
		"act (as the direct kernels) as it is stored.")
	Pragma("noescape")
	nMem, outMem, pixMem := argAddr("n"), argAddr("out"), argAddr("pix")
	bias := Load(Param("bias"), GP64())
	bv, wv := Z31, Z30
	VMOVUPS(Mem{Base: bias}, bv)
	for _, g := range []int{8, 4, 2, 1} {
		blk, tap, next := fmt.Sprintf("dw16g%d", g), fmt.Sprintf("dw16g%dtap", g), fmt.Sprintf("dw16g%dnext", g)
		Label(blk)
		CMPQ(nMem, U8(g))
		JLT(LabelRef(next))
		x := Load(Param("x"), GP64())
		pix := Load(Param("pix"), GP64())
		base := make([]GPVirtual, g)
		for r := range base {
			base[r] = GP64()
			MOVLQSX(Mem{Base: pix, Disp: 4 * r}, base[r])
			LEAQ(Mem{Base: x, Index: base[r], Scale: 4}, base[r])
		}
		ADDQ(U8(4*g), pixMem)
		for r := 0; r < g; r++ {
			VMOVAPS(bv, zmm[r])
		}
		t := Load(Param("taps"), GP64())
		offs := Load(Param("offs"), GP64())
		w := Load(Param("w"), GP64())
		Label(tap)
		off := GP64()
		MOVLQSX(Mem{Base: offs}, off)
		VMOVUPS(Mem{Base: w}, wv)
		for r := 0; r < g; r++ {
			VFMADD231PS(Mem{Base: base[r], Index: off, Scale: 4}, wv, zmm[r])
		}
		ADDQ(U8(4), offs)
		ADDQ(U8(64), w)
		DECQ(t)
		JNZ(LabelRef(tap))
		actTile(zmm[:g], zmm[8:12], blk)
		out := Load(Param("out"), GP64())
		for r := 0; r < g; r++ {
			VMOVUPS(zmm[r], Mem{Base: out, Disp: 64 * r})
		}
		ADDQ(U32(64*g), outMem)
		SUBQ(U8(g), nMem)
		if g == 8 {
			JMP(LabelRef(blk)) // the 8-pixel blocks repeat; the others run at most once
		}
		Label(next)
	}
	VZEROUPPER()
	RET()
}

// argAddr returns where argument name lives in the frame.
func argAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// transpose16 generates the 16×16 float32 transpose the blocked depthwise
// path moves data in and out of its layout with: rows of src (zero past
// the first r, columns past c not read) become columns of dst, of which
// the first c rows are written, w lanes each. The transpose itself is the
// usual three rounds of shuffles: 2×2 blocks of elements (unpack), then of
// pairs (shufps), then of 128-bit lanes twice (shuff32x4).
func transpose16() {
	TEXT("transpose16F32", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, r, c, w int)")
	Doc("transpose16F32 sets dst[j·ldd+i] = src[i·lds+j] (0 for i >= r) for j < c and i < w,",
		"where r, c, w <= 16; strides in float32s.")
	Pragma("noescape")
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	c := Load(Param("c"), GP64())
	r := Load(Param("r"), GP64())
	mask := GP64()
	MOVQ(U32(0xffff), mask)
	BZHIQ(c, mask, mask)
	KMOVW(mask.As32(), K1)
	rows := zmm[:16]
	tmp := zmm[16:]
	for i := 0; i < 16; i++ {
		CMPQ(r, U8(i))
		JLE(LabelRef(fmt.Sprintf("tr16zero%d", i)))
		VMOVUPS_Z(Mem{Base: src}, K1, rows[i])
		if i < 15 {
			ADDQ(lds, src)
		}
	}
	JMP(LabelRef("tr16shuffle"))
	for i := 0; i < 16; i++ {
		Label(fmt.Sprintf("tr16zero%d", i))
		VXORPS(rows[i], rows[i], rows[i])
	}
	Label("tr16shuffle")
	for i := 0; i < 16; i += 2 {
		VUNPCKLPS(rows[i+1], rows[i], tmp[i])
		VUNPCKHPS(rows[i+1], rows[i], tmp[i+1])
	}
	for q := 0; q < 16; q += 4 {
		VSHUFPS(U8(0x44), tmp[q+2], tmp[q], rows[q])
		VSHUFPS(U8(0xee), tmp[q+2], tmp[q], rows[q+1])
		VSHUFPS(U8(0x44), tmp[q+3], tmp[q+1], rows[q+2])
		VSHUFPS(U8(0xee), tmp[q+3], tmp[q+1], rows[q+3])
	}
	// rows[4h+k] now holds, in 128-bit lane L, column 4L+k of source rows
	// 4h…4h+3.
	for k := 0; k < 4; k++ {
		VSHUFF32X4(U8(0x88), rows[4+k], rows[k], tmp[k])
		VSHUFF32X4(U8(0xdd), rows[4+k], rows[k], tmp[4+k])
		VSHUFF32X4(U8(0x88), rows[12+k], rows[8+k], tmp[8+k])
		VSHUFF32X4(U8(0xdd), rows[12+k], rows[8+k], tmp[12+k])
	}
	for k := 0; k < 8; k++ {
		VSHUFF32X4(U8(0x88), tmp[8+k], tmp[k], rows[k])
		VSHUFF32X4(U8(0xdd), tmp[8+k], tmp[k], rows[8+k])
	}
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	w := Load(Param("w"), GP64())
	MOVQ(U32(0xffff), mask)
	BZHIQ(w, mask, mask)
	KMOVW(mask.As32(), K2)
	for j := 0; j < 16; j++ {
		CMPQ(c, U8(j))
		JLE(LabelRef("tr16done"))
		VMOVUPS(rows[j], K2, Mem{Base: dst})
		if j < 15 {
			ADDQ(ldd, dst)
		}
	}
	Label("tr16done")
	VZEROUPPER()
	RET()
}

// copyBlock generates the block copy the direct path stores partial tiles
// with: one call per run of positions instead of one per row.
func copyBlock() {
	TEXT("copyBlock32AVX512", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, rows, n int)")
	Doc("copyBlock32AVX512 sets dst[i·ldd+j] = src[i·lds+j] for i < rows and j < n (strides in float32s);",
		"16 at a time, a masked tail.")
	Pragma("noescape")
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	mask, nv := GP64(), GP64()
	MOVQ(n, nv)
	ANDQ(U8(15), n)
	MOVQ(U32(0xffff), mask)
	BZHIQ(n, mask, mask)
	KMOVW(mask.As32(), K1)
	SHRQ(U8(4), nv)
	TESTQ(rows, rows)
	JZ(LabelRef("cbdone"))
	Label("cbrow")
	sp, dp, c := GP64(), GP64(), GP64()
	MOVQ(src, sp)
	MOVQ(dst, dp)
	MOVQ(nv, c)
	Label("cbvec")
	TESTQ(c, c)
	JZ(LabelRef("cbtail"))
	VMOVUPS(Mem{Base: sp}, Z0)
	VMOVUPS(Z0, Mem{Base: dp})
	ADDQ(U8(64), sp)
	ADDQ(U8(64), dp)
	DECQ(c)
	JMP(LabelRef("cbvec"))
	Label("cbtail")
	VMOVUPS_Z(Mem{Base: sp}, K1, Z0)
	VMOVUPS(Z0, K1, Mem{Base: dp})
	ADDQ(lds, src)
	ADDQ(ldd, dst)
	DECQ(rows)
	JNZ(LabelRef("cbrow"))
	Label("cbdone")
	VZEROUPPER()
	RET()
}

// avgRows generates global average pooling over float32 rows: each row
// summed in float64 exactly as vmath.Sum32 sums (32 lanes, element i into
// lane i mod 32, the tail through zero-masked loads, then the lanes
// halved pairwise), divided, rounded to float32. One call pools every
// plane of a chunk instead of a Sum32 call each (squeeze-and-excite pools
// hundreds of 7×7 planes).
func avgRows() {
	TEXT("avgRows32AVX512", NOSPLIT, "func(out, x *float32, rows, n int, div float64)")
	Doc("avgRows32AVX512 sets out[r] = float32(Σj x[r·n+j] / div) for r < rows, summed in vmath.Sum32's order.")
	Pragma("noescape")
	out := Load(Param("out"), GP64())
	x := Load(Param("x"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	div := Load(Param("div"), XMM())
	rem, mask, n32 := GP64(), GP64(), GP64()
	MOVQ(n, rem)
	ANDQ(U8(31), rem)
	MOVQ(n, n32)
	SUBQ(rem, n32)
	MOVL(U32(0xffffffff), mask.As32())
	BZHIQ(rem, mask, mask)
	ks := []Op{K1, K2, K3, K4}
	for i, k := range ks {
		if i > 0 {
			SHRQ(U8(8), mask)
		}
		KMOVW(mask.As32(), k)
	}
	SHLQ(U8(2), n)
	TESTQ(rows, rows)
	JZ(LabelRef("avgdone"))
	acc := zmm[:4]
	Label("avgrow")
	for _, a := range acc {
		VXORPD(a, a, a)
	}
	p, c := GP64(), GP64()
	MOVQ(x, p)
	MOVQ(n32, c)
	Label("avg32")
	TESTQ(c, c)
	JZ(LabelRef("avgtail"))
	for i, a := range acc {
		VCVTPS2PD(Mem{Base: p, Disp: 32 * i}, Z4)
		VADDPD(Z4, a, a)
	}
	ADDQ(U8(128), p)
	SUBQ(U8(32), c)
	JMP(LabelRef("avg32"))
	Label("avgtail")
	// Lanes past the tail add +0, which changes no lane: they start at +0
	// and round-to-nearest sums never reach −0 from there.
	for i, a := range acc {
		VCVTPS2PD_Z(Mem{Base: p, Disp: 32 * i}, ks[i], Z4)
		VADDPD(Z4, a, a)
	}
	VADDPD(Z2, Z0, Z0)
	VADDPD(Z3, Z1, Z1)
	VADDPD(Z1, Z0, Z0)
	VEXTRACTF64X4(U8(1), Z0, Y5)
	VADDPD(Y5, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X5)
	VADDPD(X5, X0, X0)
	VPERMILPD(U8(1), X0, X5)
	VADDSD(X5, X0, X0)
	VDIVSD(div, X0, X0)
	VCVTSD2SS(X0, X0, X0)
	VMOVSS(X0, Mem{Base: out})
	ADDQ(U8(4), out)
	ADDQ(n, x)
	DECQ(rows)
	JNZ(LabelRef("avgrow"))
	Label("avgdone")
	VZEROUPPER()
	RET()
}

func main() {
	flag.Parse()
	ConstraintExpr("amd64,!purego")
	wino4Tables()
	for _, s := range shapes {
		kernel(s.mr, s.nv)
	}
	for _, mv := range posShapes {
		kernelPos(mv)
	}
	for _, nv := range []int{8, 4, 2} {
		kernelDW(nv)
	}
	kernelDW16()
	transpose16()
	copyBlock()
	avgRows()
	wino4In()
	wino4Out()
	deint4()
	for _, k := range []int{3, 5} {
		for nv := 1; nv <= 2; nv++ {
			dwRows(k, nv)
			dwPhases(k, nv)
		}
	}
	deint2Rows()
	Generate()
}
