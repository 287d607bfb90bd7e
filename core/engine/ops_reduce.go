package engine

// Reductions: ReduceSum/Mean/Max/Min/L1/L2 and ArgMax.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

var reduceOps = map[string]kernels.ReduceOp{"ReduceSum": kernels.OpReduceSum, "ReduceMean": kernels.OpReduceMean,
	"ReduceMax": kernels.OpReduceMax, "ReduceMin": kernels.OpReduceMin, "ReduceL1": kernels.OpReduceL1, "ReduceL2": kernels.OpReduceL2}

func init() {
	for op := range reduceOps {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindReduce)})
	}
	mustRegister(Kernel{Op: "ArgMax", Backend: CPUBackend, DTypes: numericTypes, Compile: Stateless(bindArgMax)})
}

type reduceExec struct {
	op      kernels.ReduceOp
	dt      dtype.DType
	shape   []int64
	reduced []bool
	rc      rowChunks // over x's elements, run serially
	in      []byte
	acc     []float64
}

func bindReduce(b *BindCtx) (Executor, error) {
	in := b.In[0]
	reduced, err := graph.ReduceAxes(b.Node.Attr("axes").Ints, len(in.Shape))
	if err != nil {
		return nil, err
	}
	b.Scratch(8 * int64(numel(b.Out[0].Shape))) // float64 accumulators
	// The accumulators are shared, so chunks run one after another
	// (kernels.Serial), each polling the Stop.
	return &reduceExec{op: reduceOps[b.Node.Op], dt: in.DType, shape: in.Shape, reduced: reduced,
		rc: elemChunks(numel(in.Shape), 1, 1)}, nil
}

func (e *reduceExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.acc = in[0].Host, f64s(x.Scratch.Host)
	kernels.ReduceStart(e.op, e.acc)
	kernels.Serial(x.Worker, e.rc.count, e)
	if e.dt == dtype.Float32 {
		kernels.ReduceFinish(e.op, f32s(out[0].Host), e.shape, e.reduced, e.acc)
	} else {
		kernels.ReduceFinish(e.op, f64s(out[0].Host), e.shape, e.reduced, e.acc)
	}
	e.in, e.acc = nil, nil
}

func (e *reduceExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		kernels.ReduceRange(e.op, f32s(e.in), e.shape, e.reduced, e.acc, lo, hi)
	} else {
		kernels.ReduceRange(e.op, f64s(e.in), e.shape, e.reduced, e.acc, lo, hi)
	}
}

type argMaxExec struct {
	dt          dtype.DType
	axis, inner int
	last        bool
	rc          rowChunks // over the outer rows
	in, out     []byte
}

func bindArgMax(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	outer, inner := numel(s[:axis]), numel(s[axis+1:])
	return &argMaxExec{dt: b.In[0].DType, axis: int(s[axis]), inner: inner,
		last: b.Node.Attr("select_last_index").Int != 0, rc: splitRows(outer, int(s[axis])*inner, b.Threads)}, nil
}

func (e *argMaxExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *argMaxExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	o := i64s(e.out)
	switch e.dt {
	case dtype.Float32:
		kernels.ArgMax(o, f32s(e.in), e.axis, e.inner, e.last, r0, r1)
	case dtype.Float64:
		kernels.ArgMax(o, f64s(e.in), e.axis, e.inner, e.last, r0, r1)
	case dtype.Int32:
		kernels.ArgMax(o, i32s(e.in), e.axis, e.inner, e.last, r0, r1)
	case dtype.Int64:
		kernels.ArgMax(o, i64s(e.in), e.axis, e.inner, e.last, r0, r1)
	}
}
