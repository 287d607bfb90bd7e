//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// sgemmKernel6x16 and dgemmKernel6x8 are in gemm_amd64.s. They need
// kc >= 1 and read 6·kc values of a, 16·kc (8·kc) of b and a 6×16 (6×8)
// tile of c at row stride ldc; load == false stores without reading C.
//
//go:noescape
func sgemmKernel6x16(kc int, a, b *float32, alpha, beta float32, c *float32, ldc int, load bool)

//go:noescape
func dgemmKernel6x8(kc int, a, b *float64, alpha, beta float64, c *float64, ldc int, load bool)

// The AVX2 kernels peak at two 8-wide (4-wide) FMAs per cycle, so the block
// sizes matter here: a 256-deep B sliver (16 KiB in both types) stays in
// L1 and the MC×KC A block (144 KiB f32, 192 KiB f64) in L2. Chosen with
// BenchmarkGemmBlocks on a 2-vCPU Zen 4 VM: f32 is flat (±5%) over
// mc 48-288, kc 128-512, nc 512-4096; f64 at 2048 gained ~10% from
// nc 2048 to 512 (a 1 MiB B panel, kept warm in L2/L3). directMax is 4:
// with the AVX2 direct kernels (gemv_amd64.go) m = 2..4 runs 3-25× faster
// unpacked than packed into 6-row slivers (4×1024×1024: 57-86 vs 8-11
// GFLOP/s). directParBytes: splitting a direct product over two goroutines
// paid from about 0.3 ms of serial work, a B of 8-12 MiB when it is in L3
// (break-even at 8 MiB) and less from DRAM; below, the wake-up costs more.
var sgemmKernelAVX2 = gemmKernel[float32]{
	name: "avx2-6x16", mr: 6, nr: 16, mc: 144, kc: 256, nc: 4096,
	parMACs: 224 * 224 * 224, directMax: 4, directParBytes: 8 << 20,
	gemvN: sgemvAVX2.gemvN, gemvT: sgemvAVX2.gemvT,
	fn: func(kc int, a, b []float32, alpha, beta float32, c []float32, ldc int) {
		// Bounds checks here stand in for the ones the assembly cannot do.
		_, _, _ = a[6*kc-1], b[16*kc-1], c[5*ldc+15]
		sgemmKernel6x16(kc, &a[0], &b[0], alpha, beta, &c[0], ldc, beta != 0)
	},
}

var dgemmKernelAVX2 = gemmKernel[float64]{
	name: "avx2-6x8", mr: 6, nr: 8, mc: 96, kc: 256, nc: 512,
	parMACs: 176 * 176 * 176, directMax: 4, directParBytes: 8 << 20,
	gemvN: dgemvAVX2.gemvN, gemvT: dgemvAVX2.gemvT,
	fn: func(kc int, a, b []float64, alpha, beta float64, c []float64, ldc int) {
		_, _, _ = a[6*kc-1], b[8*kc-1], c[5*ldc+7]
		dgemmKernel6x8(kc, &a[0], &b[0], alpha, beta, &c[0], ldc, beta != 0)
	},
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && !gemmForceGo() {
		sgemmKern, dgemmKern = &sgemmKernelAVX2, &dgemmKernelAVX2
	}
}
