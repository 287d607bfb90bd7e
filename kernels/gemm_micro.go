package kernels

import "os"

// gemmFloat is the element type of a GEMM.
type gemmFloat interface{ ~float32 | ~float64 }

// gemmKernel is an MR×NR register-blocked micro-kernel together with the
// cache block sizes the driver should use with it. Block sizes belong to the
// kernel because the best ones depend on its speed and register shape.
//
// fn computes the kc-deep product AB of a packed A sliver (kc steps of mr
// values) and a packed B sliver (kc steps of nr values) and stores
// alpha·AB + beta·C into the mr×nr tile c (row stride ldc). beta == 0 must
// not read C. The driver guarantees len(a) >= kc*mr, len(b) >= kc*nr and
// len(c) >= (mr-1)*ldc+nr.
type gemmKernel[T gemmFloat] struct {
	name       string
	mr, nr     int // register tile
	mc, kc, nc int // cache blocks; mc is a multiple of mr, nc of nr
	// directMax is the largest m (or n) computed without packing: with so
	// few rows, packing costs more than it saves and the micro-kernel would
	// mostly multiply padding.
	directMax int
	// parMACs is the product size m·n·k from which splitting over a pool
	// pays for waking its goroutines, about 0.5 ms of serial work: on the
	// 2-vCPU VM this was tuned on, a parked pool goroutine starts 0.1-0.3 ms
	// after For wakes it, so smaller products run faster on one goroutine.
	parMACs int
	fn      func(kc int, a, b []T, alpha, beta T, c []T, ldc int)

	// gemvN and gemvT, where set, are SIMD kernels for the direct path
	// (nil: the pure-Go loops of directBlock). They take m <= 4 rows of
	// op(A) (row i at a[i*lda:], k values) and write the raw sums of
	// columns [j0, j0+n) of op(B) into the first m rows of the 4-row tile
	// c (row stride ldc >= 64), which they may overwrite whole. gemvN is
	// for op(B) = B row-major (element (p, j) at b[p*ldb+j]), gemvT for B
	// stored n×k (at b[j*ldb+p]); they may read any column left of j0.
	// An output's value may depend on whether j0+n is below 64 (the
	// driver cuts columns at multiples of gemmDirectCols, so that happens
	// only when all of op(B) is that narrow) but not otherwise on j0 or
	// n: splitting columns over a pool must not change a bit. k, n >= 1.
	gemvN, gemvT func(m, k int, a []T, lda int, b []T, ldb, j0, n int, c []T, ldc int)
	// directParBytes, where set, replaces parMACs for the direct path: the
	// size of op(B) in bytes from which a split pays. With at most four
	// rows of A the SIMD kernels' time follows the bytes of B they stream,
	// not m·n·k.
	directParBytes int
}

// The kernels the Sgemm and Dgemm drivers use. They start as the pure-Go
// kernels; an init in an architecture file may swap in a SIMD kernel.
var (
	sgemmKern = &sgemmKernelGo
	dgemmKern = &dgemmKernelGo
)

// gemmKernelEnv names the environment variable that forces a kernel family:
// MLE_GEMM_KERNEL=go keeps the pure-Go kernels even where SIMD ones exist.
const gemmKernelEnv = "MLE_GEMM_KERNEL"

func gemmForceGo() bool { return os.Getenv(gemmKernelEnv) == "go" }

// The pure-Go kernels are 3×3: nine accumulators plus operands fit the 15
// usable XMM registers, so the Go compiler keeps them all in registers
// (measured on Zen 4: 3×3 beat 4×4, 4×3, 3×4 and 2×8, which spill).
// Speed is bounded by scalar mul/add throughput, not by caches, so the block
// sizes mostly bound scratch memory: a 256-deep B sliver (3 KiB) stays in L1
// and a 96×256 A block (96 KiB f32) in L2. directMax is high because the
// unpacked path measured up to 2× faster than packing 3-wide slivers for
// m <= 32 (k = n = 512); 8 keeps big-k products on the cache-blocked path.
var sgemmKernelGo = gemmKernel[float32]{
	name: "go3x3", mr: 3, nr: 3, mc: 96, kc: 256, nc: 3 * 1024,
	parMACs: 112 * 112 * 112, directMax: 8,
	fn: sgemmMicroGo3x3,
}

var dgemmKernelGo = gemmKernel[float64]{
	name: "go3x3", mr: 3, nr: 3, mc: 96, kc: 256, nc: 3 * 1024,
	parMACs: 112 * 112 * 112, directMax: 8,
	fn: dgemmMicroGo3x3,
}

// sgemmMicroGo3x3 is the pure-Go float32 3×3 micro-kernel.
func sgemmMicroGo3x3(kc int, a, b []float32, alpha, beta float32, c []float32, ldc int) {
	var c00, c01, c02, c10, c11, c12, c20, c21, c22 float32
	a, b = a[:3*kc], b[:3*kc]
	p := 0
	// Two depth steps per iteration halve the loop overhead and give the
	// adds two independent products; it measured 25% faster than one step.
	// Fixed-length reslices let the compiler drop the index checks.
	for ; p+2 <= kc; p += 2 {
		aa := a[3*p : 3*p+6 : 3*p+6]
		bb := b[3*p : 3*p+6 : 3*p+6]
		c00 += aa[0]*bb[0] + aa[3]*bb[3]
		c01 += aa[0]*bb[1] + aa[3]*bb[4]
		c02 += aa[0]*bb[2] + aa[3]*bb[5]
		c10 += aa[1]*bb[0] + aa[4]*bb[3]
		c11 += aa[1]*bb[1] + aa[4]*bb[4]
		c12 += aa[1]*bb[2] + aa[4]*bb[5]
		c20 += aa[2]*bb[0] + aa[5]*bb[3]
		c21 += aa[2]*bb[1] + aa[5]*bb[4]
		c22 += aa[2]*bb[2] + aa[5]*bb[5]
	}
	for ; p < kc; p++ {
		aa := a[3*p : 3*p+3 : 3*p+3]
		bb := b[3*p : 3*p+3 : 3*p+3]
		c00 += aa[0] * bb[0]
		c01 += aa[0] * bb[1]
		c02 += aa[0] * bb[2]
		c10 += aa[1] * bb[0]
		c11 += aa[1] * bb[1]
		c12 += aa[1] * bb[2]
		c20 += aa[2] * bb[0]
		c21 += aa[2] * bb[1]
		c22 += aa[2] * bb[2]
	}
	r0 := c[0:3:3]
	r1 := c[ldc : ldc+3 : ldc+3]
	r2 := c[2*ldc : 2*ldc+3 : 2*ldc+3]
	switch beta {
	case 0:
		r0[0], r0[1], r0[2] = alpha*c00, alpha*c01, alpha*c02
		r1[0], r1[1], r1[2] = alpha*c10, alpha*c11, alpha*c12
		r2[0], r2[1], r2[2] = alpha*c20, alpha*c21, alpha*c22
	case 1:
		r0[0], r0[1], r0[2] = alpha*c00+r0[0], alpha*c01+r0[1], alpha*c02+r0[2]
		r1[0], r1[1], r1[2] = alpha*c10+r1[0], alpha*c11+r1[1], alpha*c12+r1[2]
		r2[0], r2[1], r2[2] = alpha*c20+r2[0], alpha*c21+r2[1], alpha*c22+r2[2]
	default:
		r0[0], r0[1], r0[2] = alpha*c00+beta*r0[0], alpha*c01+beta*r0[1], alpha*c02+beta*r0[2]
		r1[0], r1[1], r1[2] = alpha*c10+beta*r1[0], alpha*c11+beta*r1[1], alpha*c12+beta*r1[2]
		r2[0], r2[1], r2[2] = alpha*c20+beta*r2[0], alpha*c21+beta*r2[1], alpha*c22+beta*r2[2]
	}
}

// dgemmMicroGo3x3 is the pure-Go float64 3×3 micro-kernel.
func dgemmMicroGo3x3(kc int, a, b []float64, alpha, beta float64, c []float64, ldc int) {
	var c00, c01, c02, c10, c11, c12, c20, c21, c22 float64
	a, b = a[:3*kc], b[:3*kc]
	p := 0
	// Two depth steps per iteration halve the loop overhead and give the
	// adds two independent products; it measured 25% faster than one step.
	for ; p+2 <= kc; p += 2 {
		aa := a[3*p : 3*p+6 : 3*p+6]
		bb := b[3*p : 3*p+6 : 3*p+6]
		c00 += aa[0]*bb[0] + aa[3]*bb[3]
		c01 += aa[0]*bb[1] + aa[3]*bb[4]
		c02 += aa[0]*bb[2] + aa[3]*bb[5]
		c10 += aa[1]*bb[0] + aa[4]*bb[3]
		c11 += aa[1]*bb[1] + aa[4]*bb[4]
		c12 += aa[1]*bb[2] + aa[4]*bb[5]
		c20 += aa[2]*bb[0] + aa[5]*bb[3]
		c21 += aa[2]*bb[1] + aa[5]*bb[4]
		c22 += aa[2]*bb[2] + aa[5]*bb[5]
	}
	for ; p < kc; p++ {
		aa := a[3*p : 3*p+3 : 3*p+3]
		bb := b[3*p : 3*p+3 : 3*p+3]
		c00 += aa[0] * bb[0]
		c01 += aa[0] * bb[1]
		c02 += aa[0] * bb[2]
		c10 += aa[1] * bb[0]
		c11 += aa[1] * bb[1]
		c12 += aa[1] * bb[2]
		c20 += aa[2] * bb[0]
		c21 += aa[2] * bb[1]
		c22 += aa[2] * bb[2]
	}
	r0 := c[0:3:3]
	r1 := c[ldc : ldc+3 : ldc+3]
	r2 := c[2*ldc : 2*ldc+3 : 2*ldc+3]
	switch beta {
	case 0:
		r0[0], r0[1], r0[2] = alpha*c00, alpha*c01, alpha*c02
		r1[0], r1[1], r1[2] = alpha*c10, alpha*c11, alpha*c12
		r2[0], r2[1], r2[2] = alpha*c20, alpha*c21, alpha*c22
	case 1:
		r0[0], r0[1], r0[2] = alpha*c00+r0[0], alpha*c01+r0[1], alpha*c02+r0[2]
		r1[0], r1[1], r1[2] = alpha*c10+r1[0], alpha*c11+r1[1], alpha*c12+r1[2]
		r2[0], r2[1], r2[2] = alpha*c20+r2[0], alpha*c21+r2[1], alpha*c22+r2[2]
	default:
		r0[0], r0[1], r0[2] = alpha*c00+beta*r0[0], alpha*c01+beta*r0[1], alpha*c02+beta*r0[2]
		r1[0], r1[1], r1[2] = alpha*c10+beta*r1[0], alpha*c11+beta*r1[1], alpha*c12+beta*r1[2]
		r2[0], r2[1], r2[2] = alpha*c20+beta*r2[0], alpha*c21+beta*r2[1], alpha*c22+beta*r2[2]
	}
}

// gemmMicroRef is a plain-loop micro-kernel of any shape with the same
// contract as gemmKernel.fn. Tests use it as the reference for SIMD kernels
// on identical packed inputs.
func gemmMicroRef[T gemmFloat](mr, nr, kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var s T
			for p := 0; p < kc; p++ {
				s += a[p*mr+i] * b[p*nr+j]
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
