//go:build amd64 && !purego

package kernels

// The direct-path kernels in gemv_amd64.s. All take up to four rows of
// op(A) (row i at a[i*lda:], k values) and write raw sums, without alpha or
// beta, into a 4-row tile c of row stride ldc:
//
//   - N kernels (op(B) = B, row-major): c[i*ldc+j] = Σ_p a[i*lda+p]·b[p*ldb+j].
//     sgemvN1/N2/N4 do n blocks of 64/32/24 columns (f32; f64 32/16/12) for
//     m = 1, 2 and 3..4; sgemvNTail does n columns, any n >= 1, for m = 1..4.
//   - T kernels (B stored n×k): c[i*ldc+j] = Σ_p a[i*lda+p]·b[j*ldb+p].
//     sgemvT1/T2/T4 do n groups of 8/4/2 rows of B for m = 1, 2 and 3..4;
//     sgemvTTail does n single rows for m = 1..4.
//
// They need k >= 1 and n >= 1, and may write all four rows of c (rows past
// m-1 repeat row m-1). They never read A or B outside the rows and columns
// named: partial vectors use masked loads.

//go:noescape
func sgemvN1(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvN2(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvN4(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvNTail(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvT1(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvT2(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvT4(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func sgemvTTail(m, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int)

//go:noescape
func dgemvN1(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvN2(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvN4(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvNTail(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvT1(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvT2(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvT4(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

//go:noescape
func dgemvTTail(m, k int, a *float64, lda int, b *float64, ldb int, c *float64, ldc int, n int)

// gemvAsm is the shared signature of the kernels above.
type gemvAsm[T gemmFloat] func(m, k int, a *T, lda int, b *T, ldb int, c *T, ldc int, n int)

// gemvAVX2 is one element type's set of direct-path kernels.
type gemvAVX2[T gemmFloat] struct {
	n1, n2, n4, nTail gemvAsm[T]
	t1, t2, t4, tTail gemvAsm[T]
	lanes             int // values per YMM register
}

var sgemvAVX2 = gemvAVX2[float32]{
	n1: sgemvN1, n2: sgemvN2, n4: sgemvN4, nTail: sgemvNTail,
	t1: sgemvT1, t2: sgemvT2, t4: sgemvT4, tTail: sgemvTTail,
	lanes: 8,
}

var dgemvAVX2 = gemvAVX2[float64]{
	n1: dgemvN1, n2: dgemvN2, n4: dgemvN4, nTail: dgemvNTail,
	t1: dgemvT1, t2: dgemvT2, t4: dgemvT4, tTail: dgemvTTail,
	lanes: 4,
}

// gemvN is gemmKernel.gemvN. It covers a last partial block by computing
// the full block that ends at column j0+n-1, which overlaps columns already
// done but gives them the same values (each column is one FMA chain,
// whatever block holds it). Only a product narrower than one block goes to
// the tail kernel, which is latency-bound: one chain per column.
func (s *gemvAVX2[T]) gemvN(m, k int, a []T, lda int, b []T, ldb, j0, n int, c []T, ldc int) {
	if m < 1 || m > 4 || k < 1 || n < 1 || j0 < 0 {
		panic("kernels: gemvN shape out of range")
	}
	kern, w := s.n4, 3*s.lanes
	switch m {
	case 1:
		kern, w = s.n1, 8*s.lanes
	case 2:
		kern, w = s.n2, 4*s.lanes
	}
	// Bounds checks here stand in for the ones the assembly cannot do.
	_, _, _ = a[(m-1)*lda+k-1], b[(k-1)*ldb+j0+n-1], c[3*ldc+max(n, w)-1]
	switch {
	case n >= w:
		kern(m, k, &a[0], lda, &b[j0], ldb, &c[0], ldc, n/w)
		if n%w != 0 {
			kern(m, k, &a[0], lda, &b[j0+n-w], ldb, &c[n-w], ldc, 1)
		}
	case j0+n >= w:
		// The end of a chunk or tile: take the block that ends with it
		// from the columns on its left, then keep its last n columns.
		kern(m, k, &a[0], lda, &b[j0+n-w], ldb, &c[0], ldc, 1)
		for i := 0; i < m; i++ {
			copy(c[i*ldc:i*ldc+n], c[i*ldc+w-n:i*ldc+w])
		}
	default:
		s.nTail(m, k, &a[0], lda, &b[j0], ldb, &c[0], ldc, n)
	}
}

// gemvT is gemmKernel.gemvT, with the same overlaps for partial groups
// (for speed only: every T kernel gives an output the same value).
func (s *gemvAVX2[T]) gemvT(m, k int, a []T, lda int, b []T, ldb, j0, n int, c []T, ldc int) {
	if m < 1 || m > 4 || k < 1 || n < 1 || j0 < 0 {
		panic("kernels: gemvT shape out of range")
	}
	kern, g := s.t4, 2
	switch m {
	case 1:
		kern, g = s.t1, 8
	case 2:
		kern, g = s.t2, 4
	}
	_, _, _ = a[(m-1)*lda+k-1], b[(j0+n-1)*ldb+k-1], c[3*ldc+max(n, g)-1]
	switch {
	case n >= g:
		kern(m, k, &a[0], lda, &b[j0*ldb], ldb, &c[0], ldc, n/g)
		if n%g != 0 {
			kern(m, k, &a[0], lda, &b[(j0+n-g)*ldb], ldb, &c[n-g], ldc, 1)
		}
	case j0+n >= g:
		kern(m, k, &a[0], lda, &b[(j0+n-g)*ldb], ldb, &c[0], ldc, 1)
		for i := 0; i < m; i++ {
			copy(c[i*ldc:i*ldc+n], c[i*ldc+g-n:i*ldc+g])
		}
	default:
		s.tTail(m, k, &a[0], lda, &b[j0*ldb], ldb, &c[0], ldc, n)
	}
}
