package kernels

// GEMM in the BLIS/MLAS structure: C is cut into MC-tall row panels, the
// depth into KC-deep blocks and the columns into NC-wide blocks. For each
// (MC, KC) panel, A is packed into MR×KC slivers; for each NC block, B is
// packed into KC×NR slivers (or taken from a PackedB); a register-blocked
// MR×NR micro-kernel then sweeps each A sliver across the block's B
// slivers. Packing absorbs transposes and strides, so the micro-kernel only
// ever sees unit-stride data, and it pads edge slivers with zeros so every
// micro-kernel call is a full tile. An Epilogue finishes each MR×NC stripe
// of C after its last depth block, while the stripe is in L1.

import (
	"sync/atomic"
	"unsafe"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C where op(A) is m×k and op(B) is k×n.
// A is stored m×k with row stride lda (k×m when transA); B is k×n with row stride ldb (n×k when transB);
// C is m×n with row stride ldc. beta == 0 overwrites C without reading it (NaN/Inf in C are ignored, as in BLAS).
// p may be nil (serial). w is the calling goroutine's scratch. Any of m, n, k may be 0 (k == 0 gives C = beta·C).
//
// Slices need only their minimal lengths, e.g. (m-1)*lda+k for A when not
// transA. The result does not depend on p: every element is summed in the
// same order whatever the number of goroutines.
func Sgemm(p *Pool, w *Worker, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmEpilogue(p, w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// Dgemm is Sgemm for float64.
func Dgemm(p *Pool, w *Worker, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	DgemmEpilogue(p, w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// SgemmEpilogue is Sgemm with the epilogue ep (nil: none) fused into the
// stores of C: see Epilogue. The result is bit for bit that of the unfused
// sequence the Epilogue documents.
func SgemmEpilogue(p *Pool, w *Worker, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep *Epilogue[float32]) {
	if w == nil {
		w = new(Worker)
	}
	gemm(p, w, sgemmState, sgemmKern, transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc, ep)
}

// DgemmEpilogue is SgemmEpilogue for float64.
func DgemmEpilogue(p *Pool, w *Worker, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int, ep *Epilogue[float64]) {
	if w == nil {
		w = new(Worker)
	}
	gemm(p, w, dgemmState, dgemmKern, transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc, ep)
}

// gemmScratch is a Worker's GEMM memory. It is kept apart from the Worker's
// general Float32s/Float64s buffers so that a caller may pass one of those
// as C (or A, B) without packing overwriting it.
type gemmScratch struct {
	s gemmState[float32]
	d gemmState[float64]
}

// gemmState holds one element type's packing buffers and the dispatch task.
// task, packAll and packFlags are only used in the calling goroutine's
// Worker; the other buffers in every Worker that runs a chunk.
type gemmState[T gemmFloat] struct {
	packA, packB, tile []T
	packAll            []T             // all of op(B), packed once per call for every row chunk
	packFlags          []atomic.Uint32 // which pieces of packAll are packed
	task               gemmTask[T]
}

// gemmForceSplit makes every product split over the pool, ignoring the
// kernel's minimum; tests use it to exercise chunking on small shapes.
var gemmForceSplit = false

// gemmHotDiv lowers the size from which a product is split when a worker
// is spinning (Pool.Hot): joining then costs about a microsecond, not a
// wake-up, so a product of ~15 µs (256×256×50 f32) already gains.
const gemmHotDiv = 8

// gemmHotDivT is gemmHotDiv for direct products of a transposed B (a
// layer's weights, as mobilenet's squeeze-and-excite convolutions and its
// classifier read them): their chunks can be narrow (gemmDirectColsT), so
// a 0.33 MB product of 13 µs already halves on two threads.
const gemmHotDivT = 32

// gemmChunksPerThread oversplits large products so that a goroutine that is
// descheduled or slowed does not hold up the whole product. 4 and 8
// measured no better on the busy 2-vCPU VM (row chunks share one packing
// of B, so they would cost little).
const gemmChunksPerThread = 2

// gemmSharedPackB makes a product split into several row chunks pack
// op(B) once, shared, rather than once in every row chunk (tests and
// benchmarks turn it off to compare).
var gemmSharedPackB = true

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
	transC         bool // the direct path computes Cᵀ (C's columns are t's rows)
	// src is the source of the beta term: t's element (i, j) adds
	// beta·src[i*srs+j*scs]. It is C itself or a bias row (stride 0 along
	// C's rows).
	src      []T
	srs, scs int
	ep       *Epilogue[T] // activation and residual after the last depth block; nil: none
	// packed, when set, is all of op(B) in the kernel's slivers (see
	// PackedB), packN its padded width; nil: blocks pack their own panels.
	packed []T
	packN  int
	// packedA, when set, holds op(A) packed (see PackedA); nil: blocks
	// pack their own panels of A.
	packedA *PackedA[T]
	// packUnits, when positive, is the number of pieces (a depth block
	// of up to packUnitSlivers slivers) in which the chunks fill packed
	// before they compute; packNext hands them out and packFlags[u] is
	// set once piece u is in packed.
	packUnits       int
	packUnitSlivers int
	packNext        atomic.Int64
	packFlags       []atomic.Uint32
	direct          bool // few rows: no packing, see directBlock
	rowsPer         int  // rows per chunk, a multiple of mr
	colsPer         int  // columns per chunk, a multiple of nr
	rowChunks       int
	colChunks       int
	stop            *Stop // polled between micro-panels; nil: never stops
}

func sgemmState(w *Worker) *gemmState[float32] { return &w.gemm.s }
func dgemmState(w *Worker) *gemmState[float64] { return &w.gemm.d }

// gemm is the driver behind every public entry point. pb, when not nil, is
// op(B) packed by kern (b, ldb and transB are its original).
func gemm[T gemmFloat](p *Pool, w *Worker, state func(*Worker) *gemmState[T], kern *gemmKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, pb *PackedB[T], beta T, c []T, ldc int, ep *Epilogue[T]) {
	gemmA(p, w, state, kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, pb, nil, beta, c, ldc, ep)
}

// gemmA is gemm with op(A) taken packed from pa when not nil; a is then
// read only by products the packing does not serve (see SgemmPackedA).
func gemmA[T gemmFloat](p *Pool, w *Worker, state func(*Worker) *gemmState[T], kern *gemmKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, pb *PackedB[T], pa *PackedA[T], beta T, c []T, ldc int, ep *Epilogue[T]) {
	if m <= 0 || n <= 0 {
		return
	}
	ep.check(m, n)
	if pb == nil {
		kern = kern.forN(n) // a PackedB chose when it was packed
	}
	if k <= 0 || alpha == 0 {
		// BLAS does not reference A and B here.
		gemmScaleC(m, n, beta, c, ldc, ep)
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
	t.src, t.srs, t.scs = c, ldc, 1
	if ep != nil && ep.Bias != nil {
		t.src, t.srs = ep.Bias, 0
	}
	if ep.finishes() {
		t.ep = ep
	}
	switch {
	case m <= kern.directMax:
		t.direct = true
	case n <= kern.directMax:
		// C is tall and thin: compute Cᵀ = op(B)ᵀ·op(A)ᵀ, whose few rows
		// are C's columns. Transposing an operand only flips its flag.
		t.direct, t.transC = true, true
		t.transA, t.transB = !transB, !transA
		t.m, t.n = n, m
		t.a, t.lda, t.b, t.ldb = b, ldb, a, lda
		t.rsc, t.csc = 1, ldc
		t.srs, t.scs = t.scs, t.srs
	case pb != nil:
		t.packed, t.packN = pb.data, pb.nPad
	}
	if !t.direct {
		t.packedA = pa
	}
	threads := 1
	hotDiv := gemmHotDiv
	if t.direct && t.transB {
		hotDiv = gemmHotDivT
	}
	if size, minPar := t.parSize(); p != nil && !w.inPool && !w.busy &&
		(size >= minPar || size >= minPar/hotDiv && p.Hot() || gemmForceSplit) {
		threads = p.Size()
	}
	t.stop = w.Stop // polled inside the blocks, on every goroutine
	switch {
	case threads <= 1 && t.direct:
		t.directBlock(st, 0, t.n)
	case threads <= 1:
		t.block(st, 0, m, 0, n)
	default:
		chunks := t.split(threads)
		if !t.direct && t.packed == nil && t.rowChunks > 1 && gemmSharedPackB {
			// Every row chunk needs all of op(B): pack it once, in pieces
			// that the chunks' goroutines share.
			t.packN = roundUp(n, kern.nr)
			t.packed = growScratch(&st.packAll, k*t.packN)
			slivers := t.packN / kern.nr
			t.packUnitSlivers = min(gemmPackUnitSlivers, max(1, slivers/(2*threads)))
			t.packUnits = ceilDiv(k, kern.kc) * ceilDiv(slivers, t.packUnitSlivers)
			t.packFlags = growFlags(&st.packFlags, t.packUnits)
		}
		p.For(w, chunks, t)
	}
	// Drop the references so the Worker does not keep the caller's matrices alive.
	*t = gemmTask[T]{}
}

// split cuts C into a grid of chunks for threads goroutines and returns the
// chunk count. Rows are cut in multiples of MR and columns in multiples of
// NR (direct path: columns only) so that every micro-tile sits where it
// would in a serial run: the per-element summation order does not change.
// Rows are cut first (each chunk then packs only its own A rows); columns
// are cut when m is too small to feed every chunk.
func (t *gemmTask[T]) split(threads int) int {
	mr, nr := t.kern.mr, t.kern.nr
	if t.direct {
		// Direct chunks are column ranges of all rows.
		mr, nr = t.m, gemmDirectCols
		if t.transB {
			nr = gemmDirectColsT
		}
	}
	// One chunk per goroutine until each could take several of the
	// kernel's minimum parallel size; a multiple of threads keeps them even.
	target := threads
	if size, minPar := t.parSize(); size >= 4*threads*minPar {
		target = threads * gemmChunksPerThread
	}
	rowTiles := (t.m + mr - 1) / mr
	colTiles := (t.n + nr - 1) / nr
	// Aim for chunks of at least 8 micro-rows so that A blocks stay tall.
	rc := min(target, max(rowTiles/8, 1))
	cc := min(max(target/rc, 1), colTiles)
	rowTilesPer := (rowTiles + rc - 1) / rc
	colTilesPer := (colTiles + cc - 1) / cc
	t.rowsPer = rowTilesPer * mr
	t.colsPer = colTilesPer * nr
	t.rowChunks = (rowTiles + rowTilesPer - 1) / rowTilesPer
	t.colChunks = (colTiles + colTilesPer - 1) / colTilesPer
	return t.rowChunks * t.colChunks
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

// gemmPackUnitSlivers caps the width in slivers of a piece of a shared
// packing of B (256 KiB of f32 at 256×32). A narrow B is cut finer, so that
// every goroutine gets pieces.
const gemmPackUnitSlivers = 8

// RunChunk computes one block of C in w's scratch, first helping to pack
// the shared op(B) when there is one.
func (t *gemmTask[T]) RunChunk(chunk int, w *Worker) {
	if t.packUnits > 0 {
		t.helpPack()
	}
	ri, ci := chunk/t.colChunks, chunk%t.colChunks
	i0, j0 := ri*t.rowsPer, ci*t.colsPer
	if t.direct {
		t.directBlock(t.state(w), j0, min(j0+t.colsPer, t.n))
		return
	}
	t.block(t.state(w), i0, min(i0+t.rowsPer, t.m), j0, min(j0+t.colsPer, t.n))
}

// helpPack packs pieces of the shared op(B) until none is left to take.
// It does not wait for the pieces other goroutines are packing: a block
// whose piece is not ready packs its own copy (see sharedB), so that a
// goroutine descheduled mid-piece on a busy machine holds nobody up.
func (t *gemmTask[T]) helpPack() {
	units := int64(t.packUnits)
	for t.packNext.Load() < units {
		u := t.packNext.Add(1) - 1
		if u >= units {
			return
		}
		t.packUnit(int(u))
	}
}

// packUnit packs piece u of the shared op(B): depth block u / (pieces per
// block), a run of up to packUnitSlivers slivers.
func (t *gemmTask[T]) packUnit(u int) {
	kern := t.kern
	nr := kern.nr
	perBlock := ceilDiv(t.packN/nr, t.packUnitSlivers)
	pc := u / perBlock * kern.kc
	kc := min(kern.kc, t.k-pc)
	j0 := u % perBlock * t.packUnitSlivers * nr
	j1 := min(j0+t.packUnitSlivers*nr, t.n)
	gemmPackB(kern, t.packed[pc*t.packN+j0*kc:], t.b, t.ldb, t.transB, pc, kc, j0, j1-j0)
	t.packFlags[u].Store(1)
}

// sharedB returns the packed B block for depth pc (kc deep) and columns
// [jc, jc+nc) from the shared packing, or nil if a piece of it is not
// packed yet.
func (t *gemmTask[T]) sharedB(pc, kc, jc, nc int) []T {
	nr := t.kern.nr
	if t.packFlags != nil {
		perBlock := ceilDiv(t.packN/nr, t.packUnitSlivers)
		first := pc/t.kern.kc*perBlock + jc/nr/t.packUnitSlivers
		last := pc/t.kern.kc*perBlock + (ceilDiv(jc+nc, nr)-1)/t.packUnitSlivers
		for u := first; u <= last; u++ {
			if t.packFlags[u].Load() == 0 {
				return nil
			}
		}
	}
	// jc is a multiple of nr: its slivers start at jc·kc.
	off := pc*t.packN + jc*kc
	return t.packed[off : off+roundUp(nc, nr)*kc]
}

// growFlags returns (*buf)[:n] cleared, growing *buf when it is too small.
func growFlags(buf *[]atomic.Uint32, n int) []atomic.Uint32 {
	if cap(*buf) < n {
		*buf = make([]atomic.Uint32, n)
	}
	flags := (*buf)[:n]
	for i := range flags {
		flags[i].Store(0)
	}
	return flags
}

// block computes rows [i0, i1) and columns [j0, j1) of C serially. For
// each MC×KC panel of A (packed once, read from L3), KC×NC blocks of B
// (packed, or taken from the pre-packed B; kept in L2) are swept by every
// MR×KC sliver of A in turn, which stays in L1 while the B slivers stream
// past it. Holding the A sliver (12 KiB at 12×256 f32) rather than a B
// sliver (32 KiB at 256×32) in L1 left room for the streamed operand and
// measured 10-30% faster at 2048 with the AVX-512 kernels.
func (t *gemmTask[T]) block(st *gemmState[T], i0, i1, j0, j1 int) {
	kern := t.kern
	mr, nr := kern.mr, kern.nr
	k := t.k
	kcMax := min(kern.kc, k)
	pa := growScratch(&st.packA, roundUp(min(kern.mc, i1-i0), mr)*kcMax)
	var own []T // B blocks packed here
	if t.packed == nil || t.packFlags != nil {
		own = growScratch(&st.packB, roundUp(min(kern.nc, j1-j0), nr)*kcMax)
	}
	tile := growScratch(&st.tile, mr*nr)
	for ic := i0; ic < i1; ic += kern.mc {
		mc := min(kern.mc, i1-ic)
		for pc := 0; pc < k; pc += kern.kc {
			kc := min(kern.kc, k-pc)
			first, last := pc == 0, pc+kc == k
			pa := pa
			if pre := t.packedA.block(kern, ic, mc, pc, kc); pre != nil {
				pa = pre
			} else {
				gemmPackA(kern, pa, t.a, t.lda, t.transA, ic, mc, pc, kc)
			}
			for jc := j0; jc < j1; jc += kern.nc {
				nc := min(kern.nc, j1-jc)
				var pb []T
				if t.packed != nil {
					pb = t.sharedB(pc, kc, jc, nc)
				}
				if pb == nil {
					pb = own
					gemmPackB(kern, pb, t.b, t.ldb, t.transB, pc, kc, jc, nc)
				}
				for ir := 0; ir < mc; ir += mr {
					// One micro-panel is mr·nc·kc multiply-adds (tens of
					// microseconds): a cancelled product stops here.
					if ir > 0 && t.stop.Stopped() {
						return
					}
					as := pa[ir*kc : ir*kc+kc*mr]
					mrr := min(mr, mc-ir)
					for jr := 0; jr < nc; jr += nr {
						t.tile(kc, as, pb[jr*kc:jr*kc+kc*nr], ic+ir, jc+jr, mrr, min(nr, nc-jr), first, tile)
					}
					if last && t.ep != nil {
						// The MR×NC stripe just stored is still in L1 and
						// its stores have drained: finishing each tile
						// right after its kernel measured slower (the
						// loads waited on the kernel's wide stores).
						t.ep.finish(t.c, t.ldc, ic+ir, ic+ir+mrr, jc, jc+nc)
					}
				}
			}
		}
	}
}

// tile runs the micro-kernel for the mrr×nrr tile of C at (i, j) on the
// packed slivers as and bs, kc deep. The first depth block adds beta·S;
// later ones add to what the earlier ones stored.
func (t *gemmTask[T]) tile(kc int, as, bs []T, i, j, mrr, nrr int, first bool, tile []T) {
	kern, c, ldc := t.kern, t.c, t.ldc
	off := i*ldc + j
	beta, s, lds := T(1), c[off:], ldc
	if first {
		beta, s, lds = t.beta, t.src[i*t.srs+j*t.scs:], t.srs
	}
	// The shortest kernel that covers the tile's rows: the full one, or
	// for a product's last rows a short one.
	fn, rows := kern.fn, kern.mr
	for _, sk := range kern.short {
		if sk.rows >= mrr {
			fn, rows = sk.fn, sk.rows
			break
		}
	}
	if mrr == rows && nrr == kern.nr {
		fn(kc, as, bs, t.alpha, beta, c[off:], ldc, s, lds)
		return
	}
	// Edge tile: compute the padded tile aside and write back only the
	// part inside C.
	fn(kc, as, bs, 1, 0, tile, kern.nr, nil, 0)
	gemmEdge(mrr, nrr, t.alpha, tile, kern.nr, beta, c[off:], ldc, s, lds)
}

// gemmDirectCols is the column granule of parallel direct-path chunks, a
// multiple of every SIMD block width (64, 32, 24 f32 and 32, 16, 12 f64
// columns) so that only a product's last chunk ends in a partial block,
// and at least the widest, so that a chunk or tile narrower than a block
// always has a full block's columns on its left (see gemmKernel.gemvN).
const gemmDirectCols = 192

// gemmDirectColsT is gemmDirectCols for a transposed B: every gemvT
// kernel gives a column the same value (a dot product in order), whatever
// the block it falls in, so the chunks need only be wide enough to pay
// for themselves.
const gemmDirectColsT = 32

// gemmDirectTile is the width of the direct path's output tile: four
// rows of it stay in L1 (12 KiB in f64), and it is a multiple of
// gemmDirectCols.
const gemmDirectTile = 2 * gemmDirectCols

// directRows returns op(A)'s rows as the direct kernels read them (row i
// at a[i*lda:], k values), gathering them into scratch when transA.
func (t *gemmTask[T]) directRows(st *gemmState[T]) (a []T, lda int) {
	if !t.transA {
		return t.a, t.lda
	}
	k := t.k
	pa := growScratch(&st.packA, t.m*k)
	for i := 0; i < t.m; i++ {
		row := pa[i*k : i*k+k]
		for p := range row {
			row[p] = t.a[p*t.lda+i]
		}
	}
	return pa, k
}

// directBlock computes columns [j0, j1) of all t.m rows without packing,
// in tiles of gemmDirectTile columns. Each element's sum runs over p in
// groups of four, the same way in every chunking.
func (t *gemmTask[T]) directBlock(st *gemmState[T], j0, j1 int) {
	if t.kern.gemvN != nil {
		t.directBlockSIMD(st, j0, j1)
		return
	}
	k := t.k
	a, lda := t.directRows(st)
	accAll := growScratch(&st.tile, gemmDirectTile)
	for jb := j0; jb < j1; jb += gemmDirectTile {
		acc := accAll[:min(gemmDirectTile, j1-jb)]
		for i := 0; i < t.m; i++ {
			if (i > 0 || jb > j0) && t.stop.Stopped() {
				return
			}
			arow := a[i*lda : i*lda+k]
			if t.transB {
				for j := range acc {
					base := (jb + j) * t.ldb
					acc[j] = gemmDot(arow, t.b[base:base+k])
				}
			} else {
				gemmAxpyRows(acc, arow, t.b, t.ldb, jb)
			}
			gemmStoreStrided(acc, t.alpha, t.beta, t.c, i*t.rsc+jb*t.csc, t.csc, t.src, i*t.srs+jb*t.scs, t.scs)
			if t.ep != nil && !t.transC {
				t.ep.finish(t.c, t.ldc, i, i+1, jb, jb+len(acc))
			}
		}
		if t.ep != nil && t.transC {
			t.ep.finish(t.c, t.ldc, jb, jb+len(acc), 0, t.m)
		}
	}
}

// directBlockSIMD is directBlock with the kernel's gemvN/gemvT: four rows
// of op(A) at a time, so that each load of B serves all of them, into a
// scratch tile that is then scaled into C.
func (t *gemmTask[T]) directBlockSIMD(st *gemmState[T], j0, j1 int) {
	kern, k := t.kern, t.k
	a, lda := t.directRows(st)
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
			gemmStoreTile(tile, ldt, mg, nc, t.alpha, t.beta, t.c, i0*t.rsc+jb*t.csc, t.rsc, t.csc, t.src, i0*t.srs+jb*t.scs, t.srs, t.scs)
			if t.ep != nil && !t.transC {
				t.ep.finish(t.c, t.ldc, i0, i0+mg, jb, jb+nc)
			}
		}
		if t.ep != nil && t.transC {
			t.ep.finish(t.c, t.ldc, jb, jb+nc, 0, t.m)
		}
	}
}

// gemmStoreTile stores alpha·tile + beta·S for an m×n block of C at
// c[off:] with row and column strides rsc and csc; tile has four rows of
// stride ldt (rows past m-1 are ignored), and element (i, j) of S is
// s[soff+i*srs+j*scs] (read only when beta != 0).
func gemmStoreTile[T gemmFloat](tile []T, ldt, m, n int, alpha, beta T, c []T, off, rsc, csc int, s []T, soff, srs, scs int) {
	if csc == 1 || m == 1 {
		for i := 0; i < m; i++ {
			gemmStoreStrided(tile[i*ldt:i*ldt+n], alpha, beta, c, off+i*rsc, csc, s, soff+i*srs, scs)
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
				continue
			}
			so := soff + j*scs
			s0, s1, s2, s3 := s[so], s[so+srs], s[so+2*srs], s[so+3*srs]
			*row = [4]T{alpha*r0[j] + beta*s0, alpha*r1[j] + beta*s1, alpha*r2[j] + beta*s2, alpha*r3[j] + beta*s3}
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
			continue
		}
		so := soff + j*scs
		for i := range row {
			row[i] = alpha*v[i&3] + beta*s[so+i*srs]
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

// gemmStoreStrided stores alpha·acc[j] + beta·s[soff+j*sstride] into
// c[off+j*stride] (s read only when beta != 0).
func gemmStoreStrided[T gemmFloat](acc []T, alpha, beta T, c []T, off, stride int, s []T, soff, sstride int) {
	if beta == 0 {
		if stride == 1 {
			row := c[off : off+len(acc)]
			for j, v := range acc {
				row[j] = alpha * v
			}
			return
		}
		for j, v := range acc {
			c[off+j*stride] = alpha * v
		}
		return
	}
	if stride == 1 && sstride == 1 {
		row := c[off : off+len(acc)]
		src := s[soff : soff+len(acc)]
		for j, v := range acc {
			row[j] = alpha*v + beta*src[j]
		}
		return
	}
	for j, v := range acc {
		c[off+j*stride] = alpha*v + beta*s[soff+j*sstride]
	}
}

// gemmEdge stores alpha·tile + beta·S for an mr×nr corner of C; S has row
// stride lds (read only when beta != 0).
func gemmEdge[T gemmFloat](mr, nr int, alpha T, tile []T, ldt int, beta T, c []T, ldc int, s []T, lds int) {
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		tr := tile[i*ldt : i*ldt+nr]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * tr[j]
			}
			continue
		}
		sr := s[i*lds : i*lds+nr]
		for j := range row {
			row[j] = alpha*tr[j] + beta*sr[j]
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
