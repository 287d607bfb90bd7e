package kernels

// GEMM in the BLIS/MLAS structure: C is cut into NC-wide column blocks, the
// depth into KC-deep blocks and the rows into MC-tall blocks. For each
// (NC, KC) block, B is packed into KC×NR slivers; for each MC block, A is
// packed into MR×KC slivers; a register-blocked MR×NR micro-kernel then
// sweeps the packed operands. Packing absorbs transposes and strides, so the
// micro-kernel only ever sees unit-stride data, and it pads edge slivers
// with zeros so every micro-kernel call is a full tile.

import "unsafe"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C where op(A) is m×k and op(B) is k×n.
// A is stored m×k with row stride lda (k×m when transA); B is k×n with row stride ldb (n×k when transB);
// C is m×n with row stride ldc. beta == 0 overwrites C without reading it (NaN/Inf in C are ignored, as in BLAS).
// p may be nil (serial). w is the calling goroutine's scratch. Any of m, n, k may be 0 (k == 0 gives C = beta·C).
//
// Slices need only their minimal lengths, e.g. (m-1)*lda+k for A when not
// transA. The result does not depend on p: every element is summed in the
// same order whatever the number of goroutines.
func Sgemm(p *Pool, w *Worker, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if w == nil {
		w = new(Worker)
	}
	gemm(p, w, sgemmState, sgemmKern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm for float64.
func Dgemm(p *Pool, w *Worker, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if w == nil {
		w = new(Worker)
	}
	gemm(p, w, dgemmState, dgemmKern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmScratch is a Worker's GEMM memory. It is kept apart from the Worker's
// general Float32s/Float64s buffers so that a caller may pass one of those
// as C (or A, B) without packing overwriting it.
type gemmScratch struct {
	s gemmState[float32]
	d gemmState[float64]
}

// gemmState holds one element type's packing buffers and the dispatch task.
// task is only used in the calling goroutine's Worker; the buffers in every
// Worker that runs a chunk.
type gemmState[T gemmFloat] struct {
	packA, packB, tile []T
	task               gemmTask[T]
}

// gemmForceSplit makes every product split over the pool, ignoring the
// kernel's minimum; tests use it to exercise chunking on small shapes.
var gemmForceSplit = false

// gemmChunksPerThread oversplits large products so that a goroutine that is
// descheduled or slowed does not hold up the whole product. More chunks cost
// more repacking (each row chunk packs all of B), so it stays small.
const gemmChunksPerThread = 2

// gemmTask is one GEMM split into a grid of independent C blocks.
type gemmTask[T gemmFloat] struct {
	kern           *gemmKernel[T]
	state          func(*Worker) *gemmState[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	rsc, csc       int  // C strides; (ldc, 1) unless the direct path transposed
	direct         bool // few rows: no packing, see directBlock
	rowsPer        int  // rows per chunk, a multiple of mr
	colsPer        int  // columns per chunk, a multiple of nr
	colChunks      int
	stop           *Stop // polled between micro-panels; nil: never stops
}

func sgemmState(w *Worker) *gemmState[float32] { return &w.gemm.s }
func dgemmState(w *Worker) *gemmState[float64] { return &w.gemm.d }

func gemm[T gemmFloat](p *Pool, w *Worker, state func(*Worker) *gemmState[T], kern *gemmKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		// BLAS does not reference A and B here.
		gemmScaleC(m, n, beta, c, ldc)
		return
	}
	st := state(w)
	t := &st.task
	*t = gemmTask[T]{
		kern: kern, state: state, transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
	}
	t.rsc, t.csc = ldc, 1
	switch {
	case m <= kern.directMax:
		t.direct = true
	case n <= kern.directMax:
		// C is tall and thin: compute Cᵀ = op(B)ᵀ·op(A)ᵀ, whose few rows
		// are C's columns. Transposing an operand only flips its flag.
		t.direct = true
		t.transA, t.transB = !transB, !transA
		t.m, t.n = n, m
		t.a, t.lda, t.b, t.ldb = b, ldb, a, lda
		t.rsc, t.csc = 1, ldc
	}
	threads := 1
	if size, minPar := t.parSize(); p != nil && !w.inPool && !w.busy && (size >= minPar || gemmForceSplit) {
		threads = p.Size()
	}
	t.stop = w.Stop // polled inside the blocks, on every goroutine
	switch {
	case threads <= 1 && t.direct:
		t.directBlock(st, 0, t.n)
	case threads <= 1:
		t.block(st, 0, m, 0, n)
	default:
		p.For(w, t.split(threads), t)
	}
	// Drop the references so the Worker does not keep the caller's matrices alive.
	*t = gemmTask[T]{}
}

// split cuts C into a grid of chunks for threads goroutines and returns the
// chunk count. Rows are cut in multiples of MR and columns in multiples of
// NR (direct path: columns only) so that every micro-tile sits where it
// would in a serial run: the per-element summation order does not change.
// Rows are cut first (each chunk then repacks only its own A rows and all of
// B, which is cheap when chunks are tall); columns are cut when m is too
// small to feed every chunk.
func (t *gemmTask[T]) split(threads int) int {
	mr, nr := t.kern.mr, t.kern.nr
	if t.direct {
		// Direct chunks are column ranges of all rows.
		mr, nr = t.m, gemmDirectCols
	}
	// One chunk per goroutine until each could take several of the
	// kernel's minimum parallel size; a multiple of threads keeps them even.
	target := threads
	if size, minPar := t.parSize(); size >= 4*threads*minPar {
		target = threads * gemmChunksPerThread
	}
	rowTiles := (t.m + mr - 1) / mr
	colTiles := (t.n + nr - 1) / nr
	// Aim for chunks of at least 8 micro-rows so packing B stays amortized.
	rc := min(target, max(rowTiles/8, 1))
	cc := min(max(target/rc, 1), colTiles)
	rowTilesPer := (rowTiles + rc - 1) / rc
	colTilesPer := (colTiles + cc - 1) / cc
	t.rowsPer = rowTilesPer * mr
	t.colsPer = colTilesPer * nr
	rc = (rowTiles + rowTilesPer - 1) / rowTilesPer
	t.colChunks = (colTiles + colTilesPer - 1) / colTilesPer
	return rc * t.colChunks
}

// parSize returns t's size and the size from which splitting it over a
// pool pays: m·n·k against the kernel's parMACs, or for the direct path
// with directParBytes set, the bytes of op(B).
func (t *gemmTask[T]) parSize() (size, minPar int) {
	if t.direct && t.kern.directParBytes > 0 {
		return t.n * t.k * int(unsafe.Sizeof(t.alpha)), t.kern.directParBytes
	}
	return t.m * t.n * t.k, t.kern.parMACs
}

// RunChunk computes one block of C in w's scratch.
func (t *gemmTask[T]) RunChunk(chunk int, w *Worker) {
	ri, ci := chunk/t.colChunks, chunk%t.colChunks
	i0, j0 := ri*t.rowsPer, ci*t.colsPer
	if t.direct {
		t.directBlock(t.state(w), j0, min(j0+t.colsPer, t.n))
		return
	}
	t.block(t.state(w), i0, min(i0+t.rowsPer, t.m), j0, min(j0+t.colsPer, t.n))
}

// block computes rows [i0, i1) and columns [j0, j1) of C serially.
func (t *gemmTask[T]) block(st *gemmState[T], i0, i1, j0, j1 int) {
	kern := t.kern
	mr, nr := kern.mr, kern.nr
	k := t.k
	kcMax := min(kern.kc, k)
	pa := growScratch(&st.packA, roundUp(min(kern.mc, i1-i0), mr)*kcMax)
	pb := growScratch(&st.packB, roundUp(min(kern.nc, j1-j0), nr)*kcMax)
	tile := growScratch(&st.tile, mr*nr)
	ldc := t.ldc
	for jc := j0; jc < j1; jc += kern.nc {
		nc := min(kern.nc, j1-jc)
		for pc := 0; pc < k; pc += kern.kc {
			kc := min(kern.kc, k-pc)
			beta := t.beta
			if pc > 0 {
				beta = 1 // later depth blocks accumulate onto the first
			}
			gemmPackB(pb, t.b, t.ldb, t.transB, pc, kc, jc, nc, nr)
			for ic := i0; ic < i1; ic += kern.mc {
				mc := min(kern.mc, i1-ic)
				gemmPackA(pa, t.a, t.lda, t.transA, ic, mc, pc, kc, mr)
				for jr := 0; jr < nc; jr += nr {
					// One micro-panel is mc·nr·kc multiply-adds (tens of
					// microseconds): a cancelled product stops here.
					if jr > 0 && t.stop.Stopped() {
						return
					}
					bs := pb[jr*kc : jr*kc+kc*nr]
					nrr := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						as := pa[ir*kc : ir*kc+kc*mr]
						mrr := min(mr, mc-ir)
						off := (ic+ir)*ldc + jc + jr
						if mrr == mr && nrr == nr {
							kern.fn(kc, as, bs, t.alpha, beta, t.c[off:], ldc)
							continue
						}
						// Edge tile: compute the full padded tile aside and
						// write back only the part inside C.
						kern.fn(kc, as, bs, 1, 0, tile, nr)
						gemmEdge(mrr, nrr, t.alpha, tile, nr, beta, t.c[off:], ldc)
					}
				}
			}
		}
	}
}

// gemmDirectCols is the column granule of parallel direct-path chunks, a
// multiple of every SIMD block width (64, 32, 24 f32 and 32, 16, 12 f64
// columns) so that only a product's last chunk ends in a partial block,
// and at least the widest, so that a chunk or tile narrower than a block
// always has a full block's columns on its left (see gemmKernel.gemvN).
const gemmDirectCols = 192

// gemmDirectTile is the width of the SIMD direct path's output tile: four
// rows of it stay in L1 (12 KiB in f64), and it is a multiple of
// gemmDirectCols.
const gemmDirectTile = 2 * gemmDirectCols

// directBlock computes columns [j0, j1) of all t.m rows without packing.
// Each element's sum runs over p in groups of four, the same way in every
// chunking.
func (t *gemmTask[T]) directBlock(st *gemmState[T], j0, j1 int) {
	if t.kern.gemvN != nil {
		t.directBlockSIMD(st, j0, j1)
		return
	}
	k, nc := t.k, j1-j0
	acc := growScratch(&st.tile, nc)
	for i := 0; i < t.m; i++ {
		if i > 0 && t.stop.Stopped() {
			return
		}
		var arow []T
		if t.transA {
			arow = growScratch(&st.packA, k)
			for p := range arow {
				arow[p] = t.a[p*t.lda+i]
			}
		} else {
			arow = t.a[i*t.lda : i*t.lda+k]
		}
		if t.transB {
			for j := range acc {
				base := (j0 + j) * t.ldb
				acc[j] = gemmDot(arow, t.b[base:base+k])
			}
		} else {
			gemmAxpyRows(acc, arow, t.b, t.ldb, j0)
		}
		gemmStoreStrided(acc, t.alpha, t.beta, t.c, i*t.rsc+j0*t.csc, t.csc)
	}
}

// directBlockSIMD is directBlock with the kernel's gemvN/gemvT: four rows
// of op(A) at a time, so that each load of B serves all of them, into a
// scratch tile that is then scaled into C.
func (t *gemmTask[T]) directBlockSIMD(st *gemmState[T], j0, j1 int) {
	kern, k := t.kern, t.k
	a, lda := t.a, t.lda
	if t.transA {
		// The kernels read rows of op(A) along k; gather them.
		pa := growScratch(&st.packA, t.m*k)
		for i := 0; i < t.m; i++ {
			row := pa[i*k : i*k+k]
			for p := range row {
				row[p] = a[p*lda+i]
			}
		}
		a, lda = pa, k
	}
	const ldt = gemmDirectTile
	tile := growScratch(&st.tile, 4*ldt)
	for jb := j0; jb < j1; jb += ldt {
		if jb > j0 && t.stop.Stopped() {
			return
		}
		nc := min(ldt, j1-jb)
		for i0 := 0; i0 < t.m; i0 += 4 {
			mg := min(4, t.m-i0)
			if t.transB {
				kern.gemvT(mg, k, a[i0*lda:], lda, t.b, t.ldb, jb, nc, tile, ldt)
			} else {
				kern.gemvN(mg, k, a[i0*lda:], lda, t.b, t.ldb, jb, nc, tile, ldt)
			}
			gemmStoreTile(tile, ldt, mg, nc, t.alpha, t.beta, t.c, i0*t.rsc+jb*t.csc, t.rsc, t.csc)
		}
	}
}

// gemmStoreTile stores alpha·tile + beta·C for an m×n block of C at
// c[off:] with row and column strides rsc and csc; tile has four rows of
// stride ldt (rows past m-1 are ignored).
func gemmStoreTile[T gemmFloat](tile []T, ldt, m, n int, alpha, beta T, c []T, off, rsc, csc int) {
	if csc == 1 || m == 1 {
		for i := 0; i < m; i++ {
			gemmStoreStrided(tile[i*ldt:i*ldt+n], alpha, beta, c, off+i*rsc, csc)
		}
		return
	}
	// C computed transposed (rsc == 1): tile column j is m consecutive
	// values of C. Filling them together costs a third of the strided
	// stores per row, which dominated the tall-thin products.
	r0 := tile[:n]
	r1, r2, r3 := tile[ldt:ldt+n], tile[2*ldt:2*ldt+n], tile[3*ldt:3*ldt+n]
	r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
	if m == 4 {
		// The common 4-class head, unrolled.
		for j := range r0 {
			row := (*[4]T)(c[off+j*csc:])
			if beta == 0 {
				*row = [4]T{alpha * r0[j], alpha * r1[j], alpha * r2[j], alpha * r3[j]}
			} else {
				*row = [4]T{alpha*r0[j] + beta*row[0], alpha*r1[j] + beta*row[1], alpha*r2[j] + beta*row[2], alpha*r3[j] + beta*row[3]}
			}
		}
		return
	}
	for j := range r0 {
		v := [4]T{r0[j], r1[j], r2[j], r3[j]}
		row := c[off+j*csc:][:m:m]
		if beta == 0 {
			for i := range row {
				row[i] = alpha * v[i&3]
			}
		} else {
			for i := range row {
				row[i] = alpha*v[i&3] + beta*row[i]
			}
		}
	}
}

// gemmDot returns Σ x[p]·y[p] with four partial sums for instruction-level
// parallelism.
func gemmDot[T gemmFloat](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	p := 0
	for ; p+4 <= len(x); p += 4 {
		xx, yy := x[p:p+4:p+4], y[p:p+4:p+4]
		s0 += xx[0] * yy[0]
		s1 += xx[1] * yy[1]
		s2 += xx[2] * yy[2]
		s3 += xx[3] * yy[3]
	}
	for ; p < len(x); p++ {
		s0 += x[p] * y[p]
	}
	return (s0 + s1) + (s2 + s3)
}

// gemmAxpyRows sets acc[j] = Σ_p arow[p]·b[p*ldb+j0+j], taking four rows of
// B per sweep so acc is loaded and stored a quarter as often.
func gemmAxpyRows[T gemmFloat](acc, arow, b []T, ldb, j0 int) {
	n := len(acc)
	clear(acc)
	k := len(arow)
	p := 0
	for ; p+4 <= k; p += 4 {
		a0, a1, a2, a3 := arow[p], arow[p+1], arow[p+2], arow[p+3]
		base := p*ldb + j0
		r0 := b[base : base+n]
		r1 := b[base+ldb : base+ldb+n]
		r2 := b[base+2*ldb : base+2*ldb+n]
		r3 := b[base+3*ldb : base+3*ldb+n]
		for j := range acc {
			acc[j] += a0*r0[j] + a1*r1[j] + a2*r2[j] + a3*r3[j]
		}
	}
	for ; p < k; p++ {
		av := arow[p]
		base := p*ldb + j0
		r := b[base : base+n]
		for j := range acc {
			acc[j] += av * r[j]
		}
	}
}

// gemmStoreStrided stores alpha·acc[j] + beta·c[off+j*stride].
func gemmStoreStrided[T gemmFloat](acc []T, alpha, beta T, c []T, off, stride int) {
	if stride == 1 {
		row := c[off : off+len(acc)]
		if beta == 0 {
			for j, v := range acc {
				row[j] = alpha * v
			}
		} else {
			for j, v := range acc {
				row[j] = alpha*v + beta*row[j]
			}
		}
		return
	}
	for j, v := range acc {
		idx := off + j*stride
		if beta == 0 {
			c[idx] = alpha * v
		} else {
			c[idx] = alpha*v + beta*c[idx]
		}
	}
}

// gemmEdge stores alpha·tile + beta·C for an mr×nr corner of C.
func gemmEdge[T gemmFloat](mr, nr int, alpha T, tile []T, ldt int, beta T, c []T, ldc int) {
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		tr := tile[i*ldt : i*ldt+nr]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * tr[j]
			}
		} else {
			for j := range row {
				row[j] = alpha*tr[j] + beta*row[j]
			}
		}
	}
}

// gemmPackB packs op(B)[pc:pc+kc, jc:jc+nc] into slivers of nr columns:
// sliver s holds kc steps of nr values at dst[s*kc*nr:]. Columns past nc
// are zero.
func gemmPackB[T gemmFloat](dst, b []T, ldb int, trans bool, pc, kc, jc, nc, nr int) {
	for js := 0; js < nc; js += nr {
		w := min(nr, nc-js)
		d := dst[js*kc : js*kc+kc*nr]
		if !trans {
			// op(B)(p, j) = b[p*ldb+j]: each step copies w contiguous values.
			// Plain loops: copy and clear calls cost more than nr moves.
			// Full slivers of the SIMD widths move as whole arrays.
			base := pc*ldb + jc + js
			switch {
			case w == 16 && nr == 16:
				for p := 0; p < kc; p++ {
					*(*[16]T)(d[p*16:]) = *(*[16]T)(b[base+p*ldb:])
				}
				continue
			case w == 8 && nr == 8:
				for p := 0; p < kc; p++ {
					*(*[8]T)(d[p*8:]) = *(*[8]T)(b[base+p*ldb:])
				}
				continue
			case w == 3 && nr == 3:
				for p := 0; p < kc; p++ {
					*(*[3]T)(d[p*3:]) = *(*[3]T)(b[base+p*ldb:])
				}
				continue
			}
			for p := 0; p < kc; p++ {
				src := b[base+p*ldb : base+p*ldb+w]
				dp := d[p*nr : p*nr+nr]
				for j, v := range src {
					dp[j] = v
				}
				for j := w; j < nr; j++ {
					dp[j] = 0
				}
			}
			continue
		}
		// op(B)(p, j) = b[j*ldb+p]: read each stored row once, write strided.
		for jj := 0; jj < w; jj++ {
			base := (jc+js+jj)*ldb + pc
			src := b[base : base+kc]
			for p, v := range src {
				d[p*nr+jj] = v
			}
		}
		if w < nr {
			for p := 0; p < kc; p++ {
				clear(d[p*nr+w : p*nr+nr])
			}
		}
	}
}

// gemmPackA packs op(A)[ic:ic+mc, pc:pc+kc] into slivers of mr rows: sliver
// s holds kc steps of mr values at dst[s*kc*mr:]. Rows past mc are zero.
func gemmPackA[T gemmFloat](dst, a []T, lda int, trans bool, ic, mc, pc, kc, mr int) {
	for is := 0; is < mc; is += mr {
		h := min(mr, mc-is)
		d := dst[is*kc : is*kc+kc*mr]
		if trans {
			// op(A)(i, p) = a[p*lda+i]: each step copies h contiguous values.
			base := pc*lda + ic + is
			for p := 0; p < kc; p++ {
				src := a[base+p*lda : base+p*lda+h]
				dp := d[p*mr : p*mr+mr]
				for i, v := range src {
					dp[i] = v
				}
				for i := h; i < mr; i++ {
					dp[i] = 0
				}
			}
			continue
		}
		// op(A)(i, p) = a[i*lda+p]: read each stored row once, write strided.
		for ii := 0; ii < h; ii++ {
			base := (ic+is+ii)*lda + pc
			src := a[base : base+kc]
			for p, v := range src {
				d[p*mr+ii] = v
			}
		}
		if h < mr {
			for p := 0; p < kc; p++ {
				clear(d[p*mr+h : p*mr+mr])
			}
		}
	}
}

// gemmScaleC sets C = beta·C; beta == 0 writes zeros without reading C.
func gemmScaleC[T gemmFloat](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// growScratch returns (*buf)[:n], growing *buf when it is too small.
func growScratch[T gemmFloat](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }
