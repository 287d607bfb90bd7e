package kernels

// PackedB is a constant op(B) packed once, for products that reuse it (a
// layer's weights): SgemmPacked and DgemmPacked then skip packing B, which
// a plain Sgemm repeats on every call. It holds op(B) in the depth blocks
// and column slivers of the micro-kernel chosen when it was packed (that
// kernel also runs its products, so the result is bit for bit that of
// Sgemm or Dgemm with B unpacked) and keeps B itself for the few-row and
// few-column products, which read B unpacked.
//
// A PackedB is immutable and safe for concurrent use. B must not change
// while it is in use.
type PackedB[T Float] struct {
	kern   *gemmKernel[T]
	transB bool
	k, n   int
	b      []T // the caller's B
	ldb    int
	// data holds depth block pc (kern.kc deep, the last one shorter) at
	// data[pc*nPad:], as the driver packs a panel: sliver s of nr columns
	// at +s·kcb·nr. Nil when the products never use it (n <= directMax).
	data []T
	nPad int // n rounded up to the kernel's nr
}

// K returns the depth of op(B) (its rows).
func (p *PackedB[T]) K() int { return p.k }

// N returns the width of op(B) (its columns).
func (p *PackedB[T]) N() int { return p.n }

// PackB32 packs op(B), k×n (B stored n×k with row stride ldb when transB),
// for SgemmPacked with the float32 kernel in use now. It keeps a reference
// to b.
func PackB32(transB bool, k, n int, b []float32, ldb int) *PackedB[float32] {
	return packB(sgemmKern, transB, k, n, b, ldb)
}

// PackB64 is PackB32 for float64.
func PackB64(transB bool, k, n int, b []float64, ldb int) *PackedB[float64] {
	return packB(dgemmKern, transB, k, n, b, ldb)
}

func packB[T gemmFloat](kern *gemmKernel[T], transB bool, k, n int, b []T, ldb int) *PackedB[T] {
	if k < 0 || n < 0 {
		panic("kernels: PackB with negative size")
	}
	kern = kern.forN(n)
	pb := &PackedB[T]{kern: kern, transB: transB, k: k, n: n, b: b, ldb: ldb}
	// Products at most directMax columns wide run transposed from b.
	if k > 0 && n > kern.directMax {
		pb.nPad = roundUp(n, kern.nr)
		pb.data = make([]T, k*pb.nPad)
		gemmPackBPanels(kern, pb.data, pb.nPad, b, ldb, transB, k, 0, n)
	}
	return pb
}

// SgemmPacked is SgemmEpilogue with op(B) taken from pb (op(A) is m×k,
// pb.K() = k, pb.N() = n): C = alpha·op(A)·op(B) + beta·C, then ep (nil:
// none). The result is bit for bit that of SgemmEpilogue on pb's B with the
// same kernel, whatever the pool.
func SgemmPacked(p *Pool, w *Worker, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB[float32], beta float32, c []float32, ldc int, ep *Epilogue[float32]) {
	if w == nil {
		w = new(Worker)
	}
	gemm(p, w, sgemmState, pb.kern, transA, pb.transB, m, pb.n, pb.k, alpha, a, lda, pb.b, pb.ldb, pb, beta, c, ldc, ep)
}

// DgemmPacked is SgemmPacked for float64.
func DgemmPacked(p *Pool, w *Worker, transA bool, m int, alpha float64, a []float64, lda int, pb *PackedB[float64], beta float64, c []float64, ldc int, ep *Epilogue[float64]) {
	if w == nil {
		w = new(Worker)
	}
	gemm(p, w, dgemmState, pb.kern, transA, pb.transB, m, pb.n, pb.k, alpha, a, lda, pb.b, pb.ldb, pb, beta, c, ldc, ep)
}

// PackedA is a constant A packed once, as PackedB is for B: products that
// reuse a left operand (Winograd's transformed weights) then skip packing
// it. It holds A (m×k, not transposed) in the depth blocks and row slivers
// of the micro-kernel chosen when it was made, filled a block of rows at a
// time (PackRows), so a source computed in blocks need never exist whole.
// The products the packing cannot serve (few rows or columns, or a kernel
// with other slivers) read a copy of A unpacked from it, so every result
// is bit for bit that of SgemmEpilogue on A. It is safe for concurrent
// products once filled.
type PackedA[T Float] struct {
	kern *gemmKernel[T]
	m, k int
	// data holds depth block pc (kern.kc deep, the last one shorter) at
	// data[pc*mPad:], as the driver packs a panel: the sliver of rows
	// [i, i+mr) at +i·kcb.
	data []T
	mPad int // m rounded up to the kernel's mr
}

// NewPackedA32 returns the packing of an m×k A for the float32 kernel in
// use now, with nothing packed yet: PackRows fills it.
func NewPackedA32(m, k int) *PackedA[float32] {
	if m < 0 || k < 0 {
		panic("kernels: PackedA with negative size")
	}
	kern := sgemmKern
	pa := &PackedA[float32]{kern: kern, m: m, k: k}
	if m > 0 && k > 0 {
		pa.mPad = roundUp(m, kern.mr)
		pa.data = make([]float32, k*pa.mPad)
	}
	return pa
}

// RowBlock is the multiple of rows PackRows takes: the kernel's sliver.
func (pa *PackedA[T]) RowBlock() int { return pa.kern.mr }

// PackRows packs rows [i0, i0+rows) of A (i0 a multiple of RowBlock())
// from a, which holds them as rows×k, row stride lda.
func (pa *PackedA[T]) PackRows(a []T, lda, i0, rows int) {
	if i0%pa.kern.mr != 0 || i0 < 0 || rows < 0 || i0+rows > pa.m {
		panic("kernels: PackRows outside the packing or off its row blocks")
	}
	if pa.data == nil || rows == 0 {
		return
	}
	for pc := 0; pc < pa.k; pc += pa.kern.kc {
		kc := min(pa.kern.kc, pa.k-pc)
		gemmPackA(pa.kern, pa.data[pc*pa.mPad+i0*kc:], a, lda, false, 0, rows, pc, kc)
	}
}

// serves reports whether a product of n columns with kern reads all of A
// from the packing.
func (pa *PackedA[T]) serves(kern *gemmKernel[T], n int) bool {
	return pa.data != nil && kern.mr == pa.kern.mr && kern.kc == pa.kern.kc && pa.m > kern.directMax && n > kern.directMax
}

// unpacked returns A from the packing, m×k row-major.
func (pa *PackedA[T]) unpacked() []T {
	mr := pa.kern.mr
	a := make([]T, pa.m*pa.k)
	for pc := 0; pc < pa.k; pc += pa.kern.kc {
		kc := min(pa.kern.kc, pa.k-pc)
		blk := pa.data[pc*pa.mPad:]
		for i := 0; i < pa.m; i++ {
			s := blk[i/mr*mr*kc:]
			for p := 0; p < kc; p++ {
				a[i*pa.k+pc+p] = s[p*mr+i%mr]
			}
		}
	}
	return a
}

// block returns the packed slivers of rows [ic, ic+mc) (ic a multiple of
// mr) for depth block pc, kc deep, or nil when kern's blocking is not the
// one it was packed with.
func (pa *PackedA[T]) block(kern *gemmKernel[T], ic, mc, pc, kc int) []T {
	if pa == nil || pa.data == nil || kern.mr != pa.kern.mr || kern.kc != pa.kern.kc {
		return nil
	}
	off := pc*pa.mPad + ic*kc
	return pa.data[off : off+roundUp(mc, kern.mr)*kc]
}

// SgemmPackedA is SgemmEpilogue with A taken from pa (pa's m×k times
// op(B), k×n): C = alpha·A·op(B) + beta·C, then ep (nil: none). The result
// is bit for bit that of SgemmEpilogue on A.
func SgemmPackedA(p *Pool, w *Worker, pa *PackedA[float32], transB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int, ep *Epilogue[float32]) {
	if w == nil {
		w = new(Worker)
	}
	var a []float32
	if pa.m > 0 && pa.k > 0 && !pa.serves(sgemmKern.forN(n), n) {
		a = pa.unpacked()
	}
	gemmA(p, w, sgemmState, sgemmKern, false, transB, pa.m, n, pa.k, alpha, a, pa.k, b, ldb, nil, pa, beta, c, ldc, ep)
}

// gemmPackBPanels packs columns [j0, j1) of op(B) (k deep; j0 a multiple
// of kern.nr) into dst in the PackedB layout of kern for a padded width of
// nPad.
func gemmPackBPanels[T gemmFloat](kern *gemmKernel[T], dst []T, nPad int, b []T, ldb int, trans bool, k, j0, j1 int) {
	if j1 <= j0 {
		return
	}
	for pc := 0; pc < k; pc += kern.kc {
		kcb := min(kern.kc, k-pc)
		gemmPackB(kern, dst[pc*nPad+j0*kcb:], b, ldb, trans, pc, kcb, j0, j1-j0)
	}
}

// gemmPackB packs op(B)[pc:pc+kc, jc:jc+nc] into slivers of kern.nr
// columns: sliver s holds kc steps of nr values at dst[s*kc*nr:]. Columns
// past nc are zero.
func gemmPackB[T gemmFloat](kern *gemmKernel[T], dst, b []T, ldb int, trans bool, pc, kc, jc, nc int) {
	nr := kern.nr
	for js := 0; js < nc; js += nr {
		w := min(nr, nc-js)
		d := dst[js*kc : js*kc+kc*nr]
		if !trans {
			// op(B)(p, j) = b[p*ldb+j]: each step copies w contiguous values.
			if w < nr && kern.copyBPad != nil {
				kern.copyBPad(b[pc*ldb+jc+js:], ldb, kc, d, w)
				continue
			}
			gemmCopyRows(kern.copyB, d, nr, b[pc*ldb+jc+js:], ldb, kc, w)
			continue
		}
		// op(B)(p, j) = b[j*ldb+p]: the sliver is w stored rows transposed.
		gemmTransposeRows(kern, d, nr, b[(jc+js)*ldb+pc:], ldb, w, kc)
		if w < nr {
			for p := 0; p < kc; p++ {
				clear(d[p*nr+w : p*nr+nr])
			}
		}
	}
}

// gemmPackA packs op(A)[ic:ic+mc, pc:pc+kc] into slivers of kern.mr rows:
// sliver s holds kc steps of mr values at dst[s*kc*mr:]. Rows past mc are
// zero.
func gemmPackA[T gemmFloat](kern *gemmKernel[T], dst, a []T, lda int, trans bool, ic, mc, pc, kc int) {
	mr := kern.mr
	for is := 0; is < mc; is += mr {
		h := min(mr, mc-is)
		d := dst[is*kc : is*kc+kc*mr]
		if trans {
			// op(A)(i, p) = a[p*lda+i]: each step copies h contiguous values.
			gemmCopyRows(kern.copyA, d, mr, a[pc*lda+ic+is:], lda, kc, h)
			continue
		}
		// op(A)(i, p) = a[i*lda+p]: the sliver is h stored rows transposed.
		gemmTransposeRows(kern, d, mr, a[(ic+is)*lda+pc:], lda, h, kc)
		if h < mr {
			for p := 0; p < kc; p++ {
				clear(d[p*mr+h : p*mr+mr])
			}
		}
	}
}

// gemmCopyRows sets dst[p*ldd+j] = src[p*lds+j] for p < rows and j < w,
// and zeroes dst[p*ldd+w : p*ldd+ldd]. Full rows go through fast (the
// kernel's SIMD copy for this width, nil: none) or move as whole arrays:
// plain loops and copy calls cost several times more.
func gemmCopyRows[T gemmFloat](fast func(src []T, lds, rows int, dst []T), dst []T, ldd int, src []T, lds, rows, w int) {
	if w == ldd && fast != nil {
		fast(src, lds, rows, dst)
		return
	}
	if w == ldd {
		switch ldd {
		case 32:
			for p := 0; p < rows; p++ {
				*(*[32]T)(dst[p*32:]) = *(*[32]T)(src[p*lds:])
			}
			return
		case 16:
			for p := 0; p < rows; p++ {
				*(*[16]T)(dst[p*16:]) = *(*[16]T)(src[p*lds:])
			}
			return
		case 12:
			for p := 0; p < rows; p++ {
				*(*[12]T)(dst[p*12:]) = *(*[12]T)(src[p*lds:])
			}
			return
		case 8:
			for p := 0; p < rows; p++ {
				*(*[8]T)(dst[p*8:]) = *(*[8]T)(src[p*lds:])
			}
			return
		case 6:
			for p := 0; p < rows; p++ {
				*(*[6]T)(dst[p*6:]) = *(*[6]T)(src[p*lds:])
			}
			return
		case 3:
			for p := 0; p < rows; p++ {
				*(*[3]T)(dst[p*3:]) = *(*[3]T)(src[p*lds:])
			}
			return
		}
	}
	for p := 0; p < rows; p++ {
		s := src[p*lds : p*lds+w]
		d := dst[p*ldd : p*ldd+ldd]
		for j, v := range s {
			d[j] = v
		}
		for j := w; j < ldd; j++ {
			d[j] = 0
		}
	}
}

// gemmTransposeRows sets dst[p*ldd+r] = src[r*lds+p] for r < rows and
// p < cols. The kernel's SIMD transpose, where it has one, takes the rows
// in groups of four and the columns in blocks of tblk; fixed-size stores
// take the rest.
func gemmTransposeRows[T gemmFloat](kern *gemmKernel[T], dst []T, ldd int, src []T, lds, rows, cols int) {
	r4 := rows &^ 3
	p0 := 0
	if kern.transpose != nil && r4 > 0 && cols >= kern.tblk {
		p0 = cols / kern.tblk * kern.tblk
		kern.transpose(src, lds, r4, p0, dst, ldd)
	}
	if p0 < cols {
		for r := 0; r < r4; r += 4 {
			s0 := src[r*lds : r*lds+cols]
			s1 := src[(r+1)*lds : (r+1)*lds+cols]
			s2 := src[(r+2)*lds : (r+2)*lds+cols]
			s3 := src[(r+3)*lds : (r+3)*lds+cols]
			s1, s2, s3 = s1[:len(s0)], s2[:len(s0)], s3[:len(s0)]
			for p := p0; p < cols; p++ {
				*(*[4]T)(dst[p*ldd+r:]) = [4]T{s0[p], s1[p], s2[p], s3[p]}
			}
		}
	}
	for r := r4; r < rows; r++ {
		s := src[r*lds : r*lds+cols]
		for p, v := range s {
			dst[p*ldd+r] = v
		}
	}
}
