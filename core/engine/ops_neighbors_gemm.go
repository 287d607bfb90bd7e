package engine

// KNearest's brute-force expand=1 path for batches: −2·X·Yᵀ comes from
// the packed GEMM a block of query rows × training rows at a time, and
// each query row's block is fed to the heap in training-row order, so the
// rows kept at equal distances are the loop's (scikit-learn's). Only the
// dot products change: the GEMM's summation order instead of a sequential
// FMA loop (see the contract in ops_neighbors.go).

import (
	"math"
	"sync"

	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// knnGemmMinRows is the batch size from which KNearest uses the GEMM.
// One row already gains (its few-row kernels: 48 µs against the loop's
// 184 µs at 5000×20), so only tests raise it to reach the loop.
var knnGemmMinRows = 1

// knnQB and knnMB size a block of −2·X·Yᵀ: query rows (a multiple of the
// f64 micro-kernels' 6 and 12 rows) × training rows, 512 KiB, so that the
// block is still in L2 when the heap reads it back. Variables for tests.
var (
	knnQB = 48
	knnMB = 1024
)

// knnCompiled is a KNearest prepared for a Model: its tree, if any, and a
// stored training matrix packed for the GEMM in knnMB-row blocks, with
// ‖y‖², on the first run that uses them, shared by every session.
type knnCompiled struct {
	tree   *nbTree
	train  []byte // stored training rows, else nil
	m, f   int
	mb     int
	once   sync.Once
	packed []*kernels.PackedB[float64]
	yy     []float64
}

func compileKNearest(c *CompileCtx) (Compiled, error) {
	sc, err := compileSearch(nil)(c)
	if err != nil {
		return nil, err
	}
	kc := &knnCompiled{tree: sc.(*nbCompiled).tree, mb: knnMB}
	metric := c.Node.Attr("metric").String
	if kc.tree == nil && c.Node.Attr("expand").Int == 1 && metric == graph.NeighborMetrics[nbEuclidean] && len(c.In[1].Shape) == 2 {
		kc.train = c.Const(1)
		kc.m, kc.f = int(c.In[1].Shape[0]), int(c.In[1].Shape[1])
	}
	return kc, nil
}

func (kc *knnCompiled) Bind(b *BindCtx) (Executor, error) { return bindKNearest(b, kc.tree, kc) }

// pack returns the packed blocks and ‖y‖², packing on first use; nil when
// the training rows are not stored or packing failed (a fault on the
// mapped file: the run reports it).
func (kc *knnCompiled) pack() ([]*kernels.PackedB[float64], []float64) {
	if kc.train == nil {
		return nil, nil
	}
	kc.once.Do(func() {
		y := f64s(kc.train)[:kc.m*kc.f]
		yy := make([]float64, kc.m)
		knnNorms(y, kc.f, yy)
		var p []*kernels.PackedB[float64]
		for j0 := 0; j0 < kc.m; j0 += kc.mb {
			j1 := min(j0+kc.mb, kc.m)
			p = append(p, kernels.PackB64(true, kc.f, j1-j0, y[j0*kc.f:j1*kc.f], kc.f))
		}
		kc.packed, kc.yy = p, yy
	})
	return kc.packed, kc.yy
}

// knnNorms sets yy[j] to ‖y_j‖², the loop's fused multiply-adds.
func knnNorms(y []float64, f int, yy []float64) {
	for j := range yy {
		yy[j] = nbFMADot(y[j*f:(j+1)*f], y[j*f:(j+1)*f])
	}
}

// knnGemm is the GEMM path of a bound KNearest. Chunks are knnQB-row
// query blocks (fixed, so a row's distances do not depend on the thread
// count); a chunk takes one of the per-thread scratch slots.
type knnGemm struct {
	kc     *knnCompiled
	qb, mb int
	slot   int      // float64s per slot
	slots  chan int // free slots
	packed []*kernels.PackedB[float64]
	yy     []float64
}

// useGemm reports whether this KNearest is a brute-force expand=1
// k-nearest search over a batch large enough for the GEMM.
func (e *kNearest) useGemm() bool {
	s := e.s
	return s.tree == nil && s.expand && s.metric == nbEuclidean && !e.radius &&
		e.rows >= knnGemmMinRows && e.k > 0 && s.m > 0 && s.f > 0
}

func (e *kNearest) bindGemm(b *BindCtx, kc *knnCompiled) {
	s := e.s
	g := &knnGemm{kc: kc, qb: min(knnQB, e.rows), mb: min(kc.mb, s.m)}
	e.rc = rowChunks{rows: e.rows, size: g.qb, count: (e.rows + g.qb - 1) / g.qb}
	nslots := max(1, min(b.Threads, e.rc.count))
	// C block, the widened query rows, and for repush a second heap.
	g.slot = g.qb*g.mb + g.qb*s.f + 2*e.k
	g.slots = make(chan int, nslots)
	for i := range nslots {
		g.slots <- i
	}
	e.g = g
	// ‖y‖² leads the scratch: used when the training rows are an input.
	b.Scratch((int64(s.m) + int64(nslots)*int64(g.slot)) * 8)
}

// prepare sets the run's packed blocks and ‖y‖²: the model's, or for
// training rows given at run time, ‖y‖² into scratch and no packing (the
// GEMM packs each block as it goes).
func (g *knnGemm) prepare(e *kNearest) {
	if g.packed, g.yy = g.kc.pack(); g.packed != nil {
		return
	}
	g.yy = f64s(e.scratch)[:e.s.m]
	knnNorms(e.s.train[:e.s.m*e.s.f], e.s.f, g.yy)
}

// block runs the query rows [r0, r1) in a free slot.
func (g *knnGemm) block(e *kNearest, r0, r1 int, w *kernels.Worker) {
	sl := <-g.slots
	defer func() { g.slots <- sl }()
	s := e.s
	f, k, m, n := s.f, e.k, s.m, r1-r0
	base := s.m + sl*g.slot
	sc := f64s(e.scratch)
	c := sc[base : base+g.qb*g.mb]
	var xs []float64
	if s.x32 {
		xs = sc[base+g.qb*g.mb : base+g.qb*g.mb+n*f]
		for i, v := range f32s(e.x)[r0*f : r1*f] {
			xs[i] = float64(v)
		}
	} else {
		xs = f64s(e.x)[r0*f : r1*f]
	}
	var hv []float64
	var hx []int64
	if s.repush {
		o := base + g.qb*g.mb + g.qb*f
		hv, hx = sc[o:o+k], i64s(e.scratch[8*(o+k):])[:k]
	}
	dist, idx := f64s(e.dist)[r0*k:r1*k], i64s(e.idx)[r0*k:r1*k]
	for i := range dist {
		dist[i], idx[i] = math.MaxFloat64, 0
	}
	for j0, b := 0, 0; j0 < m; j0, b = j0+g.mb, b+1 {
		nc := min(g.mb, m-j0)
		if g.packed != nil {
			kernels.DgemmPacked(nil, w, false, n, -2, xs, f, g.packed[b], 0, c, nc, nil)
		} else {
			kernels.Dgemm(nil, w, false, true, n, nc, f, -2, xs, f, s.train[j0*f:(j0+nc)*f], f, 0, c, nc)
		}
		yy := g.yy[j0 : j0+nc]
		for i := range n {
			dv, dx := dist[i*k:(i+1)*k], idx[i*k:(i+1)*k]
			for j, v := range c[i*nc : (i+1)*nc] {
				// nbHeapPush's test, inlined: most rows are not kept.
				if v += yy[j]; !(v >= dv[0]) {
					nbHeapPush(dv, dx, v, int64(j0+j))
				}
			}
		}
	}
	for i := range n {
		x := xs[i*f : (i+1)*f]
		s.knnFinish(nbFMADot(x, x), dist[i*k:(i+1)*k], idx[i*k:(i+1)*k], hv, hx)
	}
}
