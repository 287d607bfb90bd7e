package engine

// Nearest-neighbour ops (schemas in core/graph/ops_neighbors.go), as
// scikit-learn computes them. The contract:
//
//   - Distances in float64 on exactly widened inputs. Direct metrics are
//     scikit-learn's DistanceMetric loops: euclidean Σ(x-y)² then sqrt,
//     manhattan Σ|x-y|, chebyshev max|x-y|, minkowski Σ|x-y|^p then
//     ^(1/p); sequential sums, each product rounded. expand=1 is the
//     brute-force euclidean ‖x‖² − 2x·y + ‖y‖², the norms with fused
//     multiply-add dot products in feature order; k-nearest rows are
//     ranked by −2x·y + ‖y‖² and ‖x‖² is added last, as ArgKmin does.
//     Brute-force k-nearest takes −2·X·Yᵀ from the packed GEMM
//     (ops_neighbors_gemm.go), in its summation order rather than a
//     sequential FMA loop: distances differ from the loop's by rounding
//     only (scikit-learn's BLAS order is not reproducible either; the
//     rows kept at exactly equal distances and their order are
//     unchanged), and may depend on the batch's size, not on the thread
//     count. Radius searches keep the FMA loop and compare
//     max(0, (‖x‖² − 2x·y) + ‖y‖²) with radius², as RadiusNeighbors does.
//     cosine: 1 − x̂·ŷ clipped to [0, 2], x̂ = x/‖x‖ (‖x‖ = 0 leaves x as
//     is); the training rows come normalized.
//   - Selection: scikit-learn's fixed-size max-heap (utils/_heap) fed the
//     training rows in index order, or in the order of its KDTree/BallTree
//     query (ops_neighbors_tree.go), then its introsort (utils/_sorting):
//     ties at the k-th distance keep the rows the heap keeps, and equal
//     distances come out in the order that sort leaves them.
//   - Radius searches list the rows within the radius in index order (the
//     tree's order with a tree), unsorted, as scikit-learn does by default.
//   - Votes and means: scikit-learn's sums in its order (see below).
//
// Memory: the heap lives in the output rows; scratch is per chunk and
// proportional to F or K (the GEMM path: a knnQB×knnMB block of −2·X·Yᵀ
// per thread, and ‖y‖² when the training rows are an input); the fused
// radius ops (ops_neighbors_radius.go)
// hold one row's neighbours, at most M, per chunk — never N×M.

import (
	"math"
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "KNearest", Backend: CPUBackend, DTypes: floatTypes, Compile: compileKNearest})
	f64 := []dtype.DType{dtype.Float64}
	mustRegister(Kernel{Op: "NeighborsClassify", Backend: CPUBackend, DTypes: f64, Compile: Stateless(bindNeighborsClassify)})
	mustRegister(Kernel{Op: "NeighborsRegress", Backend: CPUBackend, DTypes: f64, Compile: Stateless(bindNeighborsRegress)})
}

// Metric kinds, in graph.NeighborMetrics order.
const (
	nbEuclidean = iota
	nbManhattan
	nbChebyshev
	nbMinkowski
	nbCosine
)

// nbChunk is scikit-learn's pairwise_dist_chunk_size default.
const nbChunk = 256

// nbHeapPush is scikit-learn's heap_push on the max-heap (vals, idx): v
// replaces the root unless v >= the root, then sifts down.
func nbHeapPush(vals []float64, idx []int64, v float64, j int64) {
	n := len(vals)
	if v >= vals[0] {
		return
	}
	cur := 0
	for {
		l := 2*cur + 1
		r := l + 1
		var sw int
		if l >= n {
			break
		} else if r >= n {
			if vals[l] > v {
				sw = l
			} else {
				break
			}
		} else if vals[l] >= vals[r] {
			if v < vals[l] {
				sw = l
			} else {
				break
			}
		} else {
			if v < vals[r] {
				sw = r
			} else {
				break
			}
		}
		vals[cur], idx[cur] = vals[sw], idx[sw]
		cur = sw
	}
	vals[cur], idx[cur] = v, j
}

// nbSort is scikit-learn's simultaneous_sort (2-way introsort, median of
// three, heapsort past depth 2·⌊log2 n⌋, insertion sort at 15 and below).
func nbSort(vals []float64, idx []int64) {
	n := len(vals)
	if n == 0 {
		return
	}
	nbIntrosort(vals, idx, 2*int(math.Log2(float64(n))))
}

func nbSwap(v []float64, x []int64, i, j int) {
	v[i], v[j] = v[j], v[i]
	x[i], x[j] = x[j], x[i]
}

func nbIntrosort(v []float64, x []int64, maxd int) {
	for len(v) > 15 {
		n := len(v)
		if maxd <= 0 {
			nbHeapsort(v, x)
			return
		}
		maxd--
		// median of three: smallest to 0, median (the pivot) to n-1.
		m := n / 2
		if v[0] > v[n-1] {
			nbSwap(v, x, 0, n-1)
		}
		if v[n-1] > v[m] {
			nbSwap(v, x, n-1, m)
			if v[0] > v[n-1] {
				nbSwap(v, x, 0, n-1)
			}
		}
		pivot := v[n-1]
		i, j := 1, n-2
		for {
			for i <= j && v[i] < pivot {
				i++
			}
			for i <= j && v[j] > pivot {
				j--
			}
			if i >= j {
				break
			}
			nbSwap(v, x, i, j)
			i++
			j--
		}
		nbSwap(v, x, i, n-1)
		nbIntrosort(v[:i], x[:i], maxd)
		v, x = v[i+1:], x[i+1:]
	}
	for i := 1; i < len(v); i++ {
		tv, tx := v[i], x[i]
		j := i
		for j > 0 && v[j-1] > tv {
			v[j], x[j] = v[j-1], x[j-1]
			j--
		}
		v[j], x[j] = tv, tx
	}
}

func nbHeapsort(v []float64, x []int64) {
	n := len(v)
	for start := (n - 2) / 2; ; start-- {
		nbSiftDown(v, x, start, n)
		if start == 0 {
			break
		}
	}
	for end := n - 1; end > 0; end-- {
		nbSwap(v, x, 0, end)
		nbSiftDown(v, x, 0, end)
	}
}

func nbSiftDown(v []float64, x []int64, root, end int) {
	for {
		child := 2*root + 1
		m := root
		if child < end && v[m] < v[child] {
			m = child
		}
		if child+1 < end && v[m] < v[child+1] {
			m = child + 1
		}
		if m == root {
			return
		}
		nbSwap(v, x, root, m)
		root = m
	}
}

// nbFMADot is Σ a_i·b_i accumulated with fused multiply-adds in order.
func nbFMADot[T float32 | float64](a []T, b []float64) float64 {
	s := 0.0
	for i, v := range b {
		s = math.FMA(float64(a[i]), v, s)
	}
	return s
}

// nbPairwiseSum is numpy's pairwise summation of a contiguous float64 row
// (np.sum along the last axis): sequential below 8, eight accumulators up
// to 128, halves (rounded down to a multiple of 8) above.
func nbPairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		h := n / 2
		h -= h % 8
		return nbPairwiseSum(a[:h]) + nbPairwiseSum(a[h:])
	}
}

// nbSearch is a neighbour search as a bound op runs it: the metric, the
// training rows (set per run) and the tree, if any.
type nbSearch struct {
	metric  int
	p, invP float64
	expand  bool
	repush  bool    // KNearest auto: scikit-learn's parallel_on_Y synchronization
	radius  float64 // the radius of a radius search
	rRadius float64 // radius in the ranked (reduced) scale
	f, m    int
	x32     bool
	tree    *nbTree // nil: brute force
	train   []float64
}

func newSearch(b *BindCtx, tree *nbTree) (*nbSearch, error) {
	n := b.Node
	s := &nbSearch{metric: slices.Index(graph.NeighborMetrics, n.Attr("metric").String), p: n.Attr("p").Float,
		expand: n.Attr("expand").Int == 1, radius: n.Attr("radius").Float,
		f: int(b.In[0].Shape[1]), m: int(b.In[1].Shape[0]), x32: b.In[0].DType == dtype.Float32, tree: tree}
	s.invP = 1 / s.p
	switch s.metric {
	case nbEuclidean:
		s.rRadius = s.radius * s.radius
	case nbMinkowski:
		s.rRadius = math.Pow(s.radius, s.p)
	default:
		s.rRadius = s.radius
	}
	if tree != nil {
		if err := tree.fits(s.m, s.f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// cost is the relative cost of one feature of one distance, for
// splitWork.
func (s *nbSearch) cost() int {
	if s.metric == nbMinkowski {
		return 20 // pow
	}
	return 2
}

// prepRow widens src into row (normalized for cosine) and returns ‖x‖²
// for expand.
func nbPrepRow[T float32 | float64](s *nbSearch, src []T, row []float64) float64 {
	if s.metric == nbCosine {
		ss := 0.0
		for _, v := range src {
			ss += float64(float64(v) * float64(v))
		}
		nrm := math.Sqrt(ss)
		if nrm == 0 {
			nrm = 1
		}
		for i, v := range src {
			row[i] = float64(v) / nrm
		}
		return 0
	}
	for i, v := range src {
		row[i] = float64(v)
	}
	if s.expand {
		return nbFMADot(row, row)
	}
	return 0
}

// rdist is the ranked value of row y: the reduced distance, or for expand
// −2x·y + ‖y‖².
func (s *nbSearch) rdist(x []float64, y []float64) float64 {
	switch s.metric {
	case nbEuclidean:
		if s.expand {
			return float64(-2*nbFMADot(x, y)) + nbFMADot(y, y)
		}
		d := 0.0
		for i, v := range y {
			t := x[i] - v
			d += float64(t * t)
		}
		return d
	case nbManhattan:
		d := 0.0
		for i, v := range y {
			d += math.Abs(x[i] - v)
		}
		return d
	case nbChebyshev:
		d := 0.0
		for i, v := range y {
			d = math.Max(d, math.Abs(x[i]-v))
		}
		return d
	case nbMinkowski:
		d := 0.0
		for i, v := range y {
			d += math.Pow(math.Abs(x[i]-v), s.p)
		}
		return d
	default: // cosine, x normalized
		return min(max(1-nbFMADot(x, y), 0), 2)
	}
}

// toDist turns a ranked value into the distance scikit-learn reports.
func (s *nbSearch) toDist(v, xx float64) float64 {
	switch s.metric {
	case nbEuclidean:
		if s.expand {
			v += xx
		}
		return math.Sqrt(max(v, 0))
	case nbMinkowski:
		return math.Pow(max(v, 0), s.invP)
	}
	return v
}

// knnRow fills (dv, dx) with the k nearest training rows of x, nearest
// first. hv, hx are k-long scratch for repush.
func (s *nbSearch) knnRow(x []float64, xx float64, dv []float64, dx []int64, hv []float64, hx []int64) {
	f := s.f
	if s.tree != nil {
		for i := range dv {
			dv[i], dx[i] = math.Inf(1), 0
		}
		s.treeKNN(x, 0, s.tree.minRdist(s, 0, x), dv, dx)
	} else {
		for i := range dv {
			dv[i], dx[i] = math.MaxFloat64, 0
		}
		for j := 0; j < s.m; j++ {
			nbHeapPush(dv, dx, s.rdist(x, s.train[j*f:(j+1)*f]), int64(j))
		}
	}
	s.knnFinish(xx, dv, dx, hv, hx)
}

// knnFinish turns a filled heap into the sorted distances scikit-learn
// reports.
func (s *nbSearch) knnFinish(xx float64, dv []float64, dx []int64, hv []float64, hx []int64) {
	if s.repush {
		copy(hv, dv)
		copy(hx, dx)
		for i := range dv {
			dv[i], dx[i] = math.MaxFloat64, 0
		}
		for i, v := range hv {
			nbHeapPush(dv, dx, v, hx[i])
		}
	}
	nbSort(dv, dx)
	for i, v := range dv {
		dv[i] = s.toDist(v, xx)
	}
}

// radiusRow lists the training rows within the radius of x into (dv, dx)
// and returns how many there are, or -1 when they do not fit.
func (s *nbSearch) radiusRow(x []float64, xx float64, dv []float64, dx []int64) int {
	if s.tree != nil {
		return s.treeRadius(x, 0, dv, dx, 0)
	}
	f, n := s.f, 0
	for j := 0; j < s.m; j++ {
		y := s.train[j*f : (j+1)*f]
		var d float64
		if s.expand {
			// RadiusNeighbors' order: (‖x‖² + (−2x·y)) + ‖y‖².
			rd := max(0, (xx+float64(-2*nbFMADot(x, y)))+nbFMADot(y, y))
			if !(rd <= s.rRadius) {
				continue
			}
			d = math.Sqrt(rd)
		} else {
			rd := s.rdist(x, y)
			if !(rd <= s.rRadius) {
				continue
			}
			d = s.toDist(rd, 0)
		}
		if n == len(dv) {
			return -1
		}
		dv[n], dx[n] = d, int64(j)
		n++
	}
	return n
}

// kNearest is a bound KNearest.
type kNearest struct {
	s         *nbSearch
	radius    bool
	rows, k   int
	rc        rowChunks
	x         []byte
	dist, idx []byte
	scratch   []byte
	fail      func(error)
	g         *knnGemm // nil: the per-pair loop
}

func bindKNearest(b *BindCtx, tree *nbTree, kc *knnCompiled) (Executor, error) {
	s, err := newSearch(b, tree)
	if err != nil {
		return nil, err
	}
	e := &kNearest{s: s, radius: s.radius > 0, rows: int(b.In[0].Shape[0]), k: int(b.Out[0].Shape[1])}
	s.repush = b.Node.Attr("auto").Int == 1 && e.rows <= s.m && s.m <= nbChunk
	if kc != nil && e.useGemm() {
		e.bindGemm(b, kc)
		return e, nil
	}
	e.rc = splitWork(e.rows, satMul(max(s.m, 1), max(s.f, 1)), s.cost(), b.Threads)
	b.Scratch(int64(e.rc.count) * int64(e.perChunk()) * 8)
	return e, nil
}

// perChunk is the scratch float64s of one chunk: the widened row, and
// for repush a second heap.
func (e *kNearest) perChunk() int {
	if e.s.repush {
		return max(e.s.f, 1) + 2*e.k
	}
	return max(e.s.f, 1)
}

func (e *kNearest) Run(x *RunCtx, in, out []Buf) {
	e.x, e.s.train, e.dist, e.idx, e.scratch, e.fail = in[0].Host, f64s(in[1].Host), out[0].Host, out[1].Host, x.Scratch.Host, x.Fail
	if e.g != nil {
		e.g.prepare(e)
	}
	x.Parallel(e.rc.count, e)
	e.x, e.s.train, e.dist, e.idx, e.scratch, e.fail = nil, nil, nil, nil, nil, nil
}

func (e *kNearest) RunChunk(c int, w *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	if e.g != nil {
		e.g.block(e, r0, r1, w)
		return
	}
	if e.s.x32 {
		kNearestRows(e, f32s(e.x), c, r0, r1)
	} else {
		kNearestRows(e, f64s(e.x), c, r0, r1)
	}
}

func kNearestRows[T float32 | float64](e *kNearest, xs []T, c, r0, r1 int) {
	s := e.s
	dist, idx := f64s(e.dist), i64s(e.idx)
	f, k, pc, fw := s.f, e.k, e.perChunk(), max(s.f, 1)
	row := f64s(e.scratch)[c*pc : c*pc+f]
	var hv []float64
	var hx []int64
	if s.repush {
		hv, hx = f64s(e.scratch)[c*pc+fw:c*pc+fw+k], i64s(e.scratch[8*(c*pc+fw+k):])[:k]
	}
	for r := r0; r < r1; r++ {
		xx := nbPrepRow(s, xs[r*f:(r+1)*f], row)
		dv, dx := dist[r*k:(r+1)*k], idx[r*k:(r+1)*k]
		if !e.radius {
			s.knnRow(row, xx, dv, dx, hv, hx)
			continue
		}
		n := s.radiusRow(row, xx, dv, dx)
		if n < 0 {
			e.fail(errs.New(errs.InvalidValue, "KNearest: more than %d training rows lie within radius %v", k, s.radius))
			return
		}
		for i := n; i < k; i++ {
			dv[i], dx[i] = math.Inf(1), -1
		}
	}
}

// nbWeights fills w with scikit-learn's neighbour weights for the valid
// (index >= 0) neighbours of one row and returns how many there are:
// 1, or for distance weights 1/d, except that a row with an infinite 1/d
// (a zero distance) weighs those neighbours 1 and the others 0. w may be
// d itself.
func nbWeights(distance bool, d []float64, ix []int64, w []float64) int {
	n, inf := 0, false
	for i, j := range ix {
		if j < 0 {
			w[i] = 0
			continue
		}
		n++
		if !distance {
			w[i] = 1
			continue
		}
		w[i] = 1 / d[i]
		inf = inf || math.IsInf(w[i], 0)
	}
	if inf {
		for i, j := range ix {
			if j >= 0 && math.IsInf(w[i], 0) {
				w[i] = 1
			} else {
				w[i] = 0
			}
		}
	}
	return n
}

// nbCheckIndex reports an index outside the training rows.
func nbCheckIndex(fail func(error), op string, ix []int64, m int) bool {
	for _, j := range ix {
		if j >= int64(m) || j < -1 {
			fail(errs.New(errs.InvalidValue, "%s: neighbour index %d is out of range for %d training rows", op, j, m))
			return false
		}
	}
	return true
}

// nbVote is a class vote over one row's neighbours. Scores are summed in
// neighbour order (np.bincount) and divided by their numpy-pairwise sum
// (predict_proba). The class is, with argmax, the first maximum of the
// probabilities (a row of zeros taking zeroClass when zeroRule is set);
// without, scikit-learn's mode: for uniform weights the lowest of the
// most frequent classes, for distance weights utils.extmath.weighted_mode
// — per class present, in class order, the numpy-pairwise sum over all K
// positions of the weights of that class's neighbours (zeros elsewhere),
// a class winning only with a strictly larger sum.
type nbVote struct {
	op        string
	within    string // " within the radius" for the radius op's messages
	c         int
	distance  bool
	argmax    bool
	zeroRule  bool
	outlier   int // a row without neighbours: -1 fails; one-hot at outlier < c, or zeros
	zeroClass int // the class of a row without neighbours when outlier = c
	labs      []int64
}

// row votes row r into p and class[r] (class may be nil). w is K-long
// scratch (it may be d); tmpl and present are K-long scratch for the
// weighted mode.
func (v *nbVote) row(r int, d []float64, ix []int64, p []float64, class []int64, w, tmpl []float64, present []int64, fail func(error)) bool {
	c := v.c
	clear(p)
	if nbWeights(v.distance, d, ix, w) == 0 {
		if v.outlier < 0 {
			fail(errs.New(errs.InvalidValue, "%s: row %d has no neighbours%s and the model has no outlier label (scikit-learn raises)", v.op, r, v.within))
			return false
		}
		cl := v.outlier
		if cl < c {
			p[cl] = 1
		} else {
			cl = v.zeroClass
		}
		if class != nil {
			class[r] = int64(cl)
		}
		return true
	}
	for i, j := range ix {
		if j < 0 {
			continue
		}
		l := v.labs[j]
		if l < 0 || l >= int64(c) {
			fail(errs.New(errs.InvalidValue, "%s: label %d of training row %d is not a class index below %d", v.op, l, j, c))
			return false
		}
		p[l] += w[i]
	}
	if class != nil && !v.argmax {
		if v.distance {
			class[r] = v.weightedMode(ix, w, tmpl, present)
		} else {
			class[r] = int64(nbFirstMax(p))
		}
	}
	s := nbPairwiseSum(p)
	if s != 0 {
		for i := range p {
			p[i] /= s
		}
	}
	if class != nil && v.argmax {
		best := nbFirstMax(p)
		if v.zeroRule && !slices.ContainsFunc(p, func(x float64) bool { return x != 0 }) {
			best = v.zeroClass
		}
		class[r] = int64(best)
	}
	return true
}

func nbFirstMax(p []float64) int {
	best := 0
	for i, x := range p {
		if x > p[best] {
			best = i
		}
	}
	return best
}

func (v *nbVote) weightedMode(ix []int64, w, tmpl []float64, present []int64) int64 {
	np := 0
	for _, j := range ix {
		if j >= 0 && !slices.Contains(present[:np], v.labs[j]) {
			present[np] = v.labs[j]
			np++
		}
	}
	slices.Sort(present[:np])
	best, win := 0.0, int64(0)
	for _, l := range present[:np] {
		for i, j := range ix {
			tmpl[i] = 0
			if j >= 0 && v.labs[j] == l {
				tmpl[i] = w[i]
			}
		}
		if s := nbPairwiseSum(tmpl[:len(ix)]); s > best {
			best, win = s, l
		}
	}
	return win
}

// nbAverage is the (weighted) mean of one row's neighbours' targets:
// uniform weights give np.mean (a numpy-pairwise sum for one target, a
// sequential one per target for several, as numpy reduces a middle or
// leading axis) divided by the count; distance weights give the sum of
// the rounded products y·w (numpy-pairwise per target, or with seqT and
// several targets sequential, as np.average sums axis 0) over the
// numpy-pairwise sum of the weights. With block, a single target's
// uniform sum is numpy's for integer targets, cast buffer by buffer:
// pairwise within each block, the blocks added in order.
type nbAverage struct {
	t        int
	distance bool
	seqT     bool
	block    int // > 0: a uniform single-target sum is pairwise per block of this many, the blocks in order
	ys       []float64
}

// row averages into o and returns the number of neighbours (0: o is
// untouched). w is K-long scratch (it may be d), terms K-long scratch.
func (v *nbAverage) row(d []float64, ix []int64, o, w, terms []float64) int {
	t := v.t
	n := nbWeights(v.distance, d, ix, w)
	if n == 0 {
		return 0
	}
	den := float64(n)
	if v.distance {
		terms = terms[:0]
		for i, q := range ix {
			if q >= 0 {
				terms = append(terms, w[i])
			}
		}
		den = nbPairwiseSum(terms)
	}
	for j := range o {
		terms = terms[:0]
		for i, q := range ix {
			if q < 0 {
				continue
			}
			y := v.ys[int(q)*t+j]
			if v.distance {
				y = float64(y * w[i])
			}
			terms = append(terms, y)
		}
		if t == 1 && !v.distance && v.block > 0 {
			s := 0.0
			for b := 0; b < len(terms); b += v.block {
				s += nbPairwiseSum(terms[b:min(b+v.block, len(terms))])
			}
			o[j] = s / den
			continue
		}
		if t == 1 || (v.distance && !v.seqT) {
			o[j] = nbPairwiseSum(terms) / den
			continue
		}
		s := 0.0
		for _, y := range terms {
			s += y
		}
		o[j] = s / den
	}
	return n
}

// neighborsClassify is a bound NeighborsClassify.
type neighborsClassify struct {
	v            nbVote
	k, m, rows   int
	rc           rowChunks
	dist, idx    []byte
	proba, class []byte
	scratch      []byte
	fail         func(error)
}

func bindNeighborsClassify(b *BindCtx) (Executor, error) {
	n := b.Node
	c := int(n.Attr("n_classes").Int)
	e := &neighborsClassify{v: nbVote{op: "NeighborsClassify", c: c, distance: n.Attr("weights").String == "distance",
		argmax: n.Attr("argmax").Int == 1, outlier: int(n.Attr("outlier").Int), zeroClass: c},
		k: int(b.In[0].Shape[1]), m: int(b.In[2].Shape[0]), rows: int(b.In[0].Shape[0])}
	e.rc = splitWork(e.rows, e.k+c, 2, b.Threads)
	b.Scratch(int64(e.rc.count) * int64(3*max(e.k, 1)) * 8)
	return e, nil
}

func (e *neighborsClassify) Run(x *RunCtx, in, out []Buf) {
	e.dist, e.idx, e.v.labs, e.proba, e.class, e.scratch, e.fail = in[0].Host, in[1].Host, i64s(in[2].Host), out[0].Host, opt(out, 1), x.Scratch.Host, x.Fail
	x.Parallel(e.rc.count, e)
	e.dist, e.idx, e.v.labs, e.proba, e.class, e.scratch, e.fail = nil, nil, nil, nil, nil, nil, nil
}

func (e *neighborsClassify) RunChunk(ch int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(ch)
	dist, idx, proba, class := f64s(e.dist), i64s(e.idx), f64s(e.proba), i64s(e.class)
	k, c := e.k, e.v.c
	kk := max(k, 1)
	sc := f64s(e.scratch)[3*kk*ch : 3*kk*(ch+1)]
	w, tmpl := sc[:k], sc[kk:kk+k]
	present := i64s(e.scratch[8*(3*kk*ch+2*kk):])[:k]
	for r := r0; r < r1; r++ {
		ix := idx[r*k : (r+1)*k]
		if !nbCheckIndex(e.fail, "NeighborsClassify", ix, e.m) ||
			!e.v.row(r, dist[r*k:(r+1)*k], ix, proba[r*c:(r+1)*c], class, w, tmpl, present, e.fail) {
			return
		}
	}
}

// neighborsRegress is a bound NeighborsRegress.
type neighborsRegress struct {
	v            nbAverage
	k, m, rows   int
	rc           rowChunks
	dist, idx    []byte
	out, scratch []byte
	fail         func(error)
}

func bindNeighborsRegress(b *BindCtx) (Executor, error) {
	e := &neighborsRegress{v: nbAverage{t: int(b.In[2].Shape[1]), distance: b.Node.Attr("weights").String == "distance"},
		k: int(b.In[0].Shape[1]), m: int(b.In[2].Shape[0]), rows: int(b.In[0].Shape[0])}
	e.rc = splitWork(e.rows, satMul(max(e.k, 1), max(e.v.t, 1)), 2, b.Threads)
	b.Scratch(int64(e.rc.count) * int64(2*max(e.k, 1)) * 8)
	return e, nil
}

func (e *neighborsRegress) Run(x *RunCtx, in, out []Buf) {
	e.dist, e.idx, e.v.ys, e.out, e.scratch, e.fail = in[0].Host, in[1].Host, f64s(in[2].Host), out[0].Host, x.Scratch.Host, x.Fail
	x.Parallel(e.rc.count, e)
	e.dist, e.idx, e.v.ys, e.out, e.scratch, e.fail = nil, nil, nil, nil, nil, nil
}

func (e *neighborsRegress) RunChunk(ch int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(ch)
	dist, idx, out := f64s(e.dist), i64s(e.idx), f64s(e.out)
	k, t := e.k, e.v.t
	kk := max(k, 1)
	sc := f64s(e.scratch)[2*kk*ch : 2*kk*(ch+1)]
	w, terms := sc[:k], sc[kk:kk+k]
	for r := r0; r < r1; r++ {
		ix, o := idx[r*k:(r+1)*k], out[r*t:(r+1)*t]
		if !nbCheckIndex(e.fail, "NeighborsRegress", ix, e.m) {
			return
		}
		if e.v.row(dist[r*k:(r+1)*k], ix, o, w, terms) == 0 {
			for j := range o {
				o[j] = math.NaN()
			}
		}
	}
}
