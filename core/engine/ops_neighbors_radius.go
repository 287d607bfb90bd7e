package engine

// RadiusNeighborsClassify and RadiusNeighborsRegress: a radius search
// (nbSearch.radiusRow) and a vote or mean per row, fused. Each chunk holds
// one row's neighbours at a time, at most M (distance, index) pairs, so
// memory is per chunk rather than N×M; the chunks running at once are
// capped so that all their buffers stay within nbRadiusBudget (at least
// one chunk).

import (
	"math"

	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "RadiusNeighborsClassify", Backend: CPUBackend, DTypes: floatTypes, Compile: compileSearch(bindRadiusClassify)})
	mustRegister(Kernel{Op: "RadiusNeighborsRegress", Backend: CPUBackend, DTypes: floatTypes, Compile: compileSearch(bindRadiusRegress)})
}

// nbRadiusBudget bounds the scratch of the fused radius ops' chunks.
const nbRadiusBudget = 64 << 20

// radiusOp is what the two fused ops share: the search, the chunks and
// the per-chunk scratch of perChunk float64s (the row, then M distances
// (reused as weights), M indices and extra more).
type radiusOp struct {
	s        *nbSearch
	rows     int
	rc       rowChunks
	perChunk int
	x        []byte
	scratch  []byte
	fail     func(error)
}

func (o *radiusOp) bind(b *BindCtx, tree *nbTree, extra int) error {
	s, err := newSearch(b, tree)
	if err != nil {
		return err
	}
	o.s, o.rows = s, int(b.In[0].Shape[0])
	o.perChunk = max(s.f, 1) + 2*max(s.m, 1) + extra
	o.rc = nbCapChunks(splitWork(o.rows, satMul(max(s.m, 1), max(s.f, 1)), s.cost(), b.Threads), 8*o.perChunk)
	b.Scratch(int64(o.rc.count) * int64(o.perChunk) * 8)
	return nil
}

// nbCapChunks lowers rc's chunk count so that chunks of perChunk bytes of
// scratch each stay within nbRadiusBudget, keeping at least one.
func nbCapChunks(rc rowChunks, perChunk int) rowChunks {
	limit := max(1, nbRadiusBudget/max(perChunk, 1))
	if rc.count <= limit {
		return rc
	}
	count, size := kernels.Chunks(rc.rows, 1, limit)
	return rowChunks{rows: rc.rows, size: size, count: count}
}

// radiusSearch finds row r's neighbours with chunk c's scratch: it returns
// them and the rest of the chunk's scratch.
func radiusSearch[T float32 | float64](o *radiusOp, xs []T, c, r int) (d []float64, ix []int64, rest []float64) {
	s, f, m := o.s, o.s.f, max(o.s.m, 1)
	base := c * o.perChunk
	sc := f64s(o.scratch)[base : base+o.perChunk]
	row := sc[:f]
	xx := nbPrepRow(s, xs[r*f:(r+1)*f], row)
	off := max(f, 1)
	dv, dx := sc[off:off+m], i64s(o.scratch[8*(base+off+m):])[:m]
	n := s.radiusRow(row, xx, dv[:s.m], dx[:s.m])
	return dv[:n], dx[:n], sc[off+2*m:]
}

func (o *radiusOp) setRun(x *RunCtx, in []Buf) {
	o.x, o.s.train, o.scratch, o.fail = in[0].Host, f64s(in[1].Host), x.Scratch.Host, x.Fail
}

func (o *radiusOp) clearRun() { o.x, o.s.train, o.scratch, o.fail = nil, nil, nil, nil }

// radiusClassify is a bound RadiusNeighborsClassify.
type radiusClassify struct {
	radiusOp
	v            nbVote
	proba, class []byte
}

func bindRadiusClassify(b *BindCtx, tree *nbTree) (Executor, error) {
	n := b.Node
	e := &radiusClassify{v: nbVote{op: "RadiusNeighborsClassify", within: " within the radius", c: int(n.Attr("n_classes").Int),
		distance: n.Attr("weights").String == "distance", argmax: true, zeroRule: true,
		outlier: int(n.Attr("outlier").Int), zeroClass: int(n.Attr("zero_class").Int)}}
	if err := e.bind(b, tree, 0); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *radiusClassify) Run(x *RunCtx, in, out []Buf) {
	e.setRun(x, in)
	e.v.labs, e.proba, e.class = i64s(in[2].Host), out[0].Host, opt(out, 1)
	x.Parallel(e.rc.count, e)
	e.clearRun()
	e.v.labs, e.proba, e.class = nil, nil, nil
}

func (e *radiusClassify) RunChunk(c int, _ *kernels.Worker) {
	if e.s.x32 {
		radiusClassifyRows(e, f32s(e.x), c)
	} else {
		radiusClassifyRows(e, f64s(e.x), c)
	}
}

func radiusClassifyRows[T float32 | float64](e *radiusClassify, xs []T, c int) {
	r0, r1 := e.rc.bounds(c)
	proba, class, nc := f64s(e.proba), i64s(e.class), e.v.c
	for r := r0; r < r1; r++ {
		d, ix, _ := radiusSearch(&e.radiusOp, xs, c, r)
		if !e.v.row(r, d, ix, proba[r*nc:(r+1)*nc], class, d, nil, nil, e.fail) {
			return
		}
	}
}

// radiusRegress is a bound RadiusNeighborsRegress.
type radiusRegress struct {
	radiusOp
	v     nbAverage
	empty float64
	out   []byte
}

func bindRadiusRegress(b *BindCtx, tree *nbTree) (Executor, error) {
	n := b.Node
	e := &radiusRegress{v: nbAverage{t: int(b.In[2].Shape[1]), distance: n.Attr("weights").String == "distance", seqT: true,
		block: int(n.Attr("sum_block").Int)},
		empty: math.NaN()}
	if n.Attr("empty_nan").Int == 0 {
		e.empty = n.Attr("empty_value").Float
	}
	if err := e.bind(b, tree, max(int(b.In[1].Shape[0]), 1)); err != nil { // terms: M
		return nil, err
	}
	return e, nil
}

func (e *radiusRegress) Run(x *RunCtx, in, out []Buf) {
	e.setRun(x, in)
	e.v.ys, e.out = f64s(in[2].Host), out[0].Host
	x.Parallel(e.rc.count, e)
	e.clearRun()
	e.v.ys, e.out = nil, nil
}

func (e *radiusRegress) RunChunk(c int, _ *kernels.Worker) {
	if e.s.x32 {
		radiusRegressRows(e, f32s(e.x), c)
	} else {
		radiusRegressRows(e, f64s(e.x), c)
	}
}

func radiusRegressRows[T float32 | float64](e *radiusRegress, xs []T, c int) {
	r0, r1 := e.rc.bounds(c)
	out, t := f64s(e.out), e.v.t
	for r := r0; r < r1; r++ {
		d, ix, terms := radiusSearch(&e.radiusOp, xs, c, r)
		o := out[r*t : (r+1)*t]
		if e.v.row(d, ix, o, d, terms) == 0 {
			for j := range o {
				o[j] = e.empty
			}
		}
	}
}
