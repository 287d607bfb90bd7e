package engine

// Pooling over NCW / NCHW: MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool and the adaptive pools (MLE extensions), parallel over the
// N·C planes.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	for _, op := range []string{"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "AdaptiveAveragePool", "AdaptiveMaxPool"} {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindPool)})
	}
}

type poolKind uint8

const (
	poolMax poolKind = iota
	poolAvg
	poolAdaptiveMax
	poolAdaptiveAvg
)

type poolExec struct {
	dt         dtype.DType
	kind       poolKind
	s          kernels.ConvShape
	includePad bool
	hw, ohw    int
	rc         rowChunks
	x, y       []byte
}

func bindPool(b *BindCtx) (Executor, error) {
	xs, ys := b.In[0].Shape, b.Out[0].Shape
	e := &poolExec{dt: b.In[0].DType}
	planes := int(xs[0] * xs[1])
	switch op := b.Node.Op; op {
	case "MaxPool", "AveragePool":
		k := make([]int64, len(xs)-2)
		for i := range k {
			k[i] = graph.Dynamic
		}
		g, err := graph.ResolveConvGeom(b.Node, xs[2:], k)
		if err != nil {
			return nil, err
		}
		e.s = convShape(xs, g)
		e.kind = poolMax
		if op == "AveragePool" {
			e.kind = poolAvg
			e.includePad = b.Node.Attr("count_include_pad").Int != 0
		}
	default:
		// Global pools are adaptive pools to one cell.
		e.s = kernels.ConvShape{H: 1, W: int(xs[len(xs)-1]), OH: 1, OW: int(ys[len(ys)-1])}
		if len(xs) == 4 {
			e.s.H, e.s.OH = int(xs[2]), int(ys[2])
		}
		e.kind = poolAdaptiveAvg
		if op == "GlobalMaxPool" || op == "AdaptiveMaxPool" {
			e.kind = poolAdaptiveMax
		}
	}
	e.hw, e.ohw = e.s.H*e.s.W, e.s.OH*e.s.OW
	if e.hw == 0 && e.ohw > 0 && planes > 0 {
		// Nothing to pool (torch refuses too); a window walk over a huge
		// zero-width plane would also not end.
		return nil, errs.New(errs.Shape, "%s %q: input %v has empty spatial dims; the output %v would pool nothing", b.Node.Op, b.Node.Name, xs, ys)
	}
	e.rc = splitWork(planes, max(e.hw, e.ohw), 2, b.Threads)
	return e, nil
}

func (e *poolExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.y = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.x, e.y = nil, nil
}

func (e *poolExec) RunChunk(c int, w *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		poolPlanes(e, w, f32s(e.y), f32s(e.x), r0, r1)
	} else {
		poolPlanes(e, w, f64s(e.y), f64s(e.x), r0, r1)
	}
}

func poolPlanes[T kernels.Float](e *poolExec, w *kernels.Worker, y, x []T, r0, r1 int) {
	if e.kind == poolAdaptiveAvg && e.ohw == 1 {
		kernels.AvgRows(y[r0:r1], x[r0*e.hw:r1*e.hw], e.hw)
		return
	}
	if e.kind == poolMax {
		kernels.MaxPoolPlanes(y[r0*e.ohw:r1*e.ohw], x[r0*e.hw:r1*e.hw], r1-r0, &e.s, workerScratch[T](w, kernels.MaxPoolScratch(&e.s)))
		return
	}
	for r := r0; r < r1; r++ {
		out, in := y[r*e.ohw:(r+1)*e.ohw], x[r*e.hw:(r+1)*e.hw]
		switch e.kind {
		case poolAvg:
			kernels.AvgPoolPlane(out, in, &e.s, e.includePad)
		default:
			kernels.AdaptivePoolPlane(out, in, e.s.H, e.s.W, e.s.OH, e.s.OW, e.kind == poolAdaptiveMax)
		}
	}
}
