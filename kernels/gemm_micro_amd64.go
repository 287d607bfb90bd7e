//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The assembly micro-kernels are generated into gemm_amd64.s and declared
// in gemm_stub_amd64.go by kernels/asmgen/gemm (see kernels/asmgen/doc.go).

// asmMicro is the shared signature of the assembly micro-kernels: the
// gemmKernel.fn contract on raw pointers, load == false for beta == 0.
type asmMicro[T gemmFloat] func(kc int, a, b *T, alpha, beta T, c *T, ldc int, src *T, lds int, load bool)

// wrapMicro returns the gemmKernel.fn of an mr×nr assembly kernel. Its
// bounds checks stand in for the ones the assembly cannot do.
func wrapMicro[T gemmFloat](mr, nr int, f asmMicro[T]) func(kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int) {
	return func(kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int) {
		_, _, _ = a[mr*kc-1], b[nr*kc-1], c[(mr-1)*ldc+nr-1]
		sp := &c[0] // not read when beta == 0
		if beta != 0 {
			_ = s[(mr-1)*lds+nr-1]
			sp = &s[0]
		}
		f(kc, &a[0], &b[0], alpha, beta, &c[0], ldc, sp, lds, beta != 0)
	}
}

// wrapShort is wrapMicro for a kernel of the first rows rows of mr-wide
// A slivers.
func wrapShort[T gemmFloat](rows, mr, nr int, f asmMicro[T]) gemmShort[T] {
	return gemmShort[T]{rows, func(kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int) {
		_, _, _ = a[mr*kc-1], b[nr*kc-1], c[(rows-1)*ldc+nr-1]
		sp := &c[0]
		if beta != 0 {
			_ = s[(rows-1)*lds+nr-1]
			sp = &s[0]
		}
		f(kc, &a[0], &b[0], alpha, beta, &c[0], ldc, sp, lds, beta != 0)
	}}
}

// transposeF32 and transposeF64 are gemmKernel.transpose. Their bounds
// checks stand in for the ones the assembly cannot do.
func transposeF32(src []float32, lds, rows, n int, dst []float32, ldd int) {
	_, _ = src[(rows-1)*lds+n-1], dst[(n-1)*ldd+rows-1]
	gemmTransposeF32(&src[0], lds, rows, n, &dst[0], ldd)
}

func transposeF64(src []float64, lds, rows, n int, dst []float64, ldd int) {
	_, _ = src[(rows-1)*lds+n-1], dst[(n-1)*ldd+rows-1]
	gemmTransposeF64(&src[0], lds, rows, n, &dst[0], ldd)
}

// copyRowsAsm returns a gemmKernel.copyA or copyB for rows of width
// values from an assembly routine that copies rows of that many bytes.
func copyRowsAsm[T gemmFloat](width int, f func(src *byte, lds, rows int, dst *byte)) func(src []T, lds, rows int, dst []T) {
	return func(src []T, lds, rows int, dst []T) {
		if rows <= 0 {
			return
		}
		_, _ = src[(rows-1)*lds+width-1], dst[rows*width-1]
		size := int(unsafe.Sizeof(src[0]))
		f((*byte)(unsafe.Pointer(&src[0])), lds*size, rows, (*byte)(unsafe.Pointer(&dst[0])))
	}
}

// copyRowsPadAsm returns a gemmKernel.copyBPad for 128-byte packed rows
// (width values) on gemmCopyRowsPad128.
func copyRowsPadAsm[T gemmFloat](width int) func(src []T, lds, rows int, dst []T, w int) {
	return func(src []T, lds, rows int, dst []T, w int) {
		if rows <= 0 {
			return
		}
		if w <= 0 || w > width {
			panic("kernels: copyBPad width out of range")
		}
		_, _ = src[(rows-1)*lds+w-1], dst[rows*width-1]
		size := int(unsafe.Sizeof(src[0]))
		gemmCopyRowsPad128((*byte)(unsafe.Pointer(&src[0])), lds*size, rows, (*byte)(unsafe.Pointer(&dst[0])), w*size)
	}
}

// Block sizes for the loop order of gemmTask.block: an MR×KC sliver of A
// in L1, a KC×NC block of B in L2 (256 KiB f32, 512 KiB f64 at 256×256:
// the L2 is 2 MiB) and an MC×KC panel of A in L3. Chosen with the tuning
// benchmarks on a 2-vCPU Xeon (AVX-512) VM whose neighbours kept it busy:
// kc 256-512 and nc 256-512 measured alike within the noise, an L2-sized
// B block beat 1-4 MiB ones, and mc only bounds scratch (A is packed once
// per panel whatever its height) and how often an unpacked B is repacked.
//
// directMax is 4: with the AVX2 direct kernels (gemv_amd64.go) m = 2..4
// runs 3-25× faster unpacked than packed into 6-row slivers (4×1024×1024:
// 57-86 vs 8-11 GFLOP/s). directParBytes: splitting a direct product over
// two goroutines paid from about 0.3 ms of serial work, a B of 8-12 MiB
// when it is in L3 (break-even at 8 MiB) and less from DRAM; below, the
// wake-up costs more.
var sgemmKernelAVX2 = gemmKernel[float32]{
	name: "avx2-6x16", mr: 6, nr: 16, mc: 1536, kc: 256, nc: 256,
	parMACs: 224 * 224 * 224, directMax: 4, directParBytes: 8 << 20,
	gemvN: sgemvAVX2.gemvN, gemvT: sgemvAVX2.gemvT,
	transpose: transposeF32, tblk: 8, copyB: copyRowsAsm[float32](16, gemmCopyRows64),
	fn: wrapMicro(6, 16, sgemmKernel6x16),
}

var dgemmKernelAVX2 = gemmKernel[float64]{
	name: "avx2-6x8", mr: 6, nr: 8, mc: 768, kc: 256, nc: 256,
	parMACs: 176 * 176 * 176, directMax: 4, directParBytes: 8 << 20,
	gemvN: dgemvAVX2.gemvN, gemvT: dgemvAVX2.gemvT,
	transpose: transposeF64, tblk: 4,
	copyA: copyRowsAsm[float64](6, gemmCopyRows48), copyB: copyRowsAsm[float64](8, gemmCopyRows64),
	fn: wrapMicro(6, 8, dgemmKernel6x8),
}

// The AVX-512 kernels keep 24 ZMM accumulators: 12 rows of two vectors.
// Their direct path is the AVX2 one: it streams B, which one ZMM or two
// YMM loads do alike.
var sgemmKernelAVX512 = gemmKernel[float32]{
	name: "avx512-12x32", mr: 12, nr: 32, mc: 1536, kc: 256, nc: 256,
	parMACs: 256 * 256 * 256, directMax: 4, directParBytes: 8 << 20,
	gemvN: sgemvAVX2.gemvN, gemvT: sgemvAVX2.gemvT,
	transpose: transposeF32, tblk: 8,
	copyA: copyRowsAsm[float32](12, gemmCopyRows48), copyB: copyRowsAsm[float32](32, gemmCopyRows128),
	copyBPad: copyRowsPadAsm[float32](32),
	fn:       wrapMicro(12, 32, sgemmKernel12x32),
	short:    []gemmShort[float32]{wrapShort(4, 12, 32, sgemmKernel4x32), wrapShort(8, 12, 32, sgemmKernel8x32)},
}

var dgemmKernelAVX512 = gemmKernel[float64]{
	name: "avx512-12x16", mr: 12, nr: 16, mc: 768, kc: 256, nc: 256,
	parMACs: 224 * 224 * 224, directMax: 4, directParBytes: 8 << 20,
	gemvN: dgemvAVX2.gemvN, gemvT: dgemvAVX2.gemvT,
	transpose: transposeF64, tblk: 4,
	copyA: copyRowsAsm[float64](12, gemmCopyRows96), copyB: copyRowsAsm[float64](16, gemmCopyRows128),
	copyBPad: copyRowsPadAsm[float64](16),
	fn:       wrapMicro(12, 16, dgemmKernel12x16),
	short:    []gemmShort[float64]{wrapShort(4, 12, 16, dgemmKernel4x16), wrapShort(8, 12, 16, dgemmKernel8x16)},
}

// narrowed returns k one vector wide (nr values), for narrow products:
// the same blocks, A packing and direct path, with B copied and multiplied
// nr at a time (the 12 rows' accumulators then use 12 of the 32 ZMM).
func narrowed[T gemmFloat](k *gemmKernel[T], name string, nr int, copyB func(src []T, lds, rows int, dst []T),
	fn func(kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int), short []gemmShort[T]) *gemmKernel[T] {
	n := *k
	n.name, n.nr, n.copyB, n.fn, n.short, n.narrow = name, nr, copyB, fn, short, nil
	n.copyBPad = nil // its rows are 128 bytes
	return &n
}

func init() {
	sgemmKernelAVX512.narrow = narrowed(&sgemmKernelAVX512, "avx512-12x16", 16, copyRowsAsm[float32](16, gemmCopyRows64),
		wrapMicro(12, 16, sgemmKernel12x16), []gemmShort[float32]{wrapShort(4, 12, 16, sgemmKernel4x16), wrapShort(8, 12, 16, sgemmKernel8x16)})
	dgemmKernelAVX512.narrow = narrowed(&dgemmKernelAVX512, "avx512-12x8", 8, copyRowsAsm[float64](8, gemmCopyRows64),
		wrapMicro(12, 8, dgemmKernel12x8), []gemmShort[float64]{wrapShort(4, 12, 8, dgemmKernel4x8), wrapShort(8, 12, 8, dgemmKernel8x8)})
	// The AVX-512 family uses the AVX2 direct-path kernels too.
	hasAVX2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 := hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL
	if hasAVX2 {
		gemmVariants = append(gemmVariants, gemmVariant{"avx2", &sgemmKernelAVX2, &dgemmKernelAVX2})
	}
	if hasAVX512 {
		gemmVariants = append(gemmVariants, gemmVariant{"avx512", &sgemmKernelAVX512, &dgemmKernelAVX512})
	}
	v := gemmSelect(gemmKernelChoice())
	sgemmKern, dgemmKern = v.s, v.d
}
