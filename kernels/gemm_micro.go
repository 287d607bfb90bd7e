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
// alpha·AB + beta·S into the mr×nr tile c (row stride ldc), where S is the
// mr×nr source s of row stride lds: C itself (s = c, lds = ldc) or, for a
// bias row broadcast over the rows, lds = 0. Each element is
// alpha·acc + beta·s with acc one sum over p in order, so a source copied
// into C gives the same bits as read from elsewhere. beta == 0 must not read
// S. The driver guarantees kc >= 1, len(a) >= kc*mr, len(b) >= kc*nr,
// len(c) >= (mr-1)*ldc+nr and, when beta != 0, len(s) >= (mr-1)*lds+nr.
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
	fn      func(kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int)

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
	// transpose, where set, is gemmTransposeRows in SIMD for rows a
	// multiple of four and n of tblk columns: packing A (and B stored n×k)
	// is a transpose, and element by element it cost up to a third of a
	// product.
	transpose func(src []T, lds, rows, n int, dst []T, ldd int)
	tblk      int
	// copyA and copyB, where set, copy rows rows of mr (nr) values from
	// src (row stride lds) to dst back to back: packing op(A) = Aᵀ (op(B)
	// = B) into slivers.
	copyA, copyB func(src []T, lds, rows int, dst []T)
	// copyBPad, where set, is copyB for a partial sliver: w < nr values a
	// row, the rest of each packed row zero.
	copyBPad func(src []T, lds, rows int, dst []T, w int)
	// directParBytes, where set, replaces parMACs for the direct path: the
	// size of op(B) in bytes from which a split pays. With at most four
	// rows of A the SIMD kernels' time follows the bytes of B they stream,
	// not m·n·k.
	directParBytes int
	// short, where set, are kernels for a product's last rows: the first
	// rows of the same mr-wide packed slivers (ascending rows < mr), with
	// fn's contract otherwise and the same bits per element, so that a
	// remainder of r rows costs about r/mr of a tile, not a whole one.
	short []gemmShort[T]
	// narrow, where set, is this kernel one vector wide (nr halved) with the
	// same A packing, for products at most narrow.nr columns wide: the
	// full width would multiply mostly padding. Same bits per element.
	narrow *gemmKernel[T]
}

// forN returns the kernel for products n columns wide.
func (k *gemmKernel[T]) forN(n int) *gemmKernel[T] {
	if k.narrow != nil && n <= k.narrow.nr {
		return k.narrow
	}
	return k
}

// gemmShort is a kernel for the first rows rows of an mr-wide A sliver.
type gemmShort[T gemmFloat] struct {
	rows int
	fn   func(kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int)
}

// The kernels the Sgemm and Dgemm drivers use. They start as the pure-Go
// kernels; an init in an architecture file may swap in a SIMD kernel.
var (
	sgemmKern = &sgemmKernelGo
	dgemmKern = &dgemmKernelGo
)

// gemmKernelEnv names the environment variable that forces a kernel family:
// MLE_GEMM_KERNEL=go keeps the pure-Go kernels even where SIMD ones exist.
// MLE_GEMM_KERNEL=avx2 or avx512 caps the family at that instruction set
// (the best one available up to it); unset or any other value picks the
// best the CPU has.
const gemmKernelEnv = "MLE_GEMM_KERNEL"

// gemmKernelChoice returns the family MLE_GEMM_KERNEL asks for, "" if none.
func gemmKernelChoice() string {
	switch v := os.Getenv(gemmKernelEnv); v {
	case "go", "avx2", "avx512":
		return v
	}
	return ""
}

// gemmSelect returns the family to use for the request want (a
// MLE_GEMM_KERNEL value, "" for the best): the named one if the CPU has
// it, else the best one below it.
func gemmSelect(want string) gemmVariant {
	best := gemmVariants[0]
	for _, v := range gemmVariants[1:] {
		if want == "go" || best.name == want {
			break
		}
		best = v
	}
	return best
}

// gemmVariant is one kernel family, float32 and float64 together.
type gemmVariant struct {
	name string
	s    *gemmKernel[float32]
	d    *gemmKernel[float64]
}

// gemmVariants lists the families this CPU can run, pure Go first; an init
// in an architecture file appends the SIMD ones. Tests run every one.
var gemmVariants = []gemmVariant{{"go", &sgemmKernelGo, &dgemmKernelGo}}

// The pure-Go kernels are 3×3: nine accumulators plus operands fit the 15
// usable XMM registers, so the Go compiler keeps them all in registers
// (measured on Zen 4: 3×3 beat 4×4, 4×3, 3×4 and 2×8, which spill).
// Speed is bounded by scalar mul/add throughput, not by caches, so the block
// sizes mostly bound scratch memory: a 256-deep A sliver (3 KiB) stays in
// L1 and a 256×384 B block (384 KiB f32) in L2. directMax is high because the
// unpacked path measured up to 2× faster than packing 3-wide slivers for
// m <= 32 (k = n = 512); 8 keeps big-k products on the cache-blocked path.
var sgemmKernelGo = gemmKernel[float32]{
	name: "go3x3", mr: 3, nr: 3, mc: 768, kc: 256, nc: 384,
	parMACs: 112 * 112 * 112, directMax: 8,
	fn: sgemmMicroGo3x3,
}

var dgemmKernelGo = gemmKernel[float64]{
	name: "go3x3", mr: 3, nr: 3, mc: 768, kc: 256, nc: 384,
	parMACs: 112 * 112 * 112, directMax: 8,
	fn: dgemmMicroGo3x3,
}

// sgemmMicroGo3x3 is the pure-Go float32 3×3 micro-kernel.
func sgemmMicroGo3x3(kc int, a, b []float32, alpha, beta float32, c []float32, ldc int, s []float32, lds int) {
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
	if beta == 0 {
		r0[0], r0[1], r0[2] = alpha*c00, alpha*c01, alpha*c02
		r1[0], r1[1], r1[2] = alpha*c10, alpha*c11, alpha*c12
		r2[0], r2[1], r2[2] = alpha*c20, alpha*c21, alpha*c22
		return
	}
	s0 := s[0:3:3]
	s1 := s[lds : lds+3 : lds+3]
	s2 := s[2*lds : 2*lds+3 : 2*lds+3]
	if beta == 1 {
		r0[0], r0[1], r0[2] = alpha*c00+s0[0], alpha*c01+s0[1], alpha*c02+s0[2]
		r1[0], r1[1], r1[2] = alpha*c10+s1[0], alpha*c11+s1[1], alpha*c12+s1[2]
		r2[0], r2[1], r2[2] = alpha*c20+s2[0], alpha*c21+s2[1], alpha*c22+s2[2]
		return
	}
	r0[0], r0[1], r0[2] = alpha*c00+beta*s0[0], alpha*c01+beta*s0[1], alpha*c02+beta*s0[2]
	r1[0], r1[1], r1[2] = alpha*c10+beta*s1[0], alpha*c11+beta*s1[1], alpha*c12+beta*s1[2]
	r2[0], r2[1], r2[2] = alpha*c20+beta*s2[0], alpha*c21+beta*s2[1], alpha*c22+beta*s2[2]
}

// dgemmMicroGo3x3 is the pure-Go float64 3×3 micro-kernel.
func dgemmMicroGo3x3(kc int, a, b []float64, alpha, beta float64, c []float64, ldc int, s []float64, lds int) {
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
	if beta == 0 {
		r0[0], r0[1], r0[2] = alpha*c00, alpha*c01, alpha*c02
		r1[0], r1[1], r1[2] = alpha*c10, alpha*c11, alpha*c12
		r2[0], r2[1], r2[2] = alpha*c20, alpha*c21, alpha*c22
		return
	}
	s0 := s[0:3:3]
	s1 := s[lds : lds+3 : lds+3]
	s2 := s[2*lds : 2*lds+3 : 2*lds+3]
	if beta == 1 {
		r0[0], r0[1], r0[2] = alpha*c00+s0[0], alpha*c01+s0[1], alpha*c02+s0[2]
		r1[0], r1[1], r1[2] = alpha*c10+s1[0], alpha*c11+s1[1], alpha*c12+s1[2]
		r2[0], r2[1], r2[2] = alpha*c20+s2[0], alpha*c21+s2[1], alpha*c22+s2[2]
		return
	}
	r0[0], r0[1], r0[2] = alpha*c00+beta*s0[0], alpha*c01+beta*s0[1], alpha*c02+beta*s0[2]
	r1[0], r1[1], r1[2] = alpha*c10+beta*s1[0], alpha*c11+beta*s1[1], alpha*c12+beta*s1[2]
	r2[0], r2[1], r2[2] = alpha*c20+beta*s2[0], alpha*c21+beta*s2[1], alpha*c22+beta*s2[2]
}

// gemmMicroRef is a plain-loop micro-kernel of any shape with the same
// contract as gemmKernel.fn. Tests use it as the reference for SIMD kernels
// on identical packed inputs.
func gemmMicroRef[T gemmFloat](mr, nr, kc int, a, b []T, alpha, beta T, c []T, ldc int, s []T, lds int) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var sum T
			for p := 0; p < kc; p++ {
				sum += a[p*mr+i] * b[p*nr+j]
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * sum
			} else {
				c[i*ldc+j] = alpha*sum + beta*s[i*lds+j]
			}
		}
	}
}
