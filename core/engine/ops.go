package engine

import (
	"math"
	"sync"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// parallelMin is the element count below which a loop runs on the caller
// alone: dispatch costs about a microsecond, which small tensors cannot repay.
const parallelMin = 1 << 15

// stopChunkWork bounds the work (elements times cost) of one chunk of a
// long loop, so that a cancelled or timed-out run stops within about a
// millisecond even on one thread.
const stopChunkWork = 1 << 22

// runCtx is the per-run state executors use.
type runCtx struct {
	pool    *kernels.Pool
	worker  *kernels.Worker
	scratch []byte // the current step's arena scratch
	errMu   sync.Mutex
	err     error // the first data-dependent failure (e.g. a Gather index out of range)
}

// fail records a run-time error; the session stops after the current step.
// Chunks running in parallel may call it.
func (x *runCtx) fail(err error) {
	x.errMu.Lock()
	if x.err == nil {
		x.err = err
	}
	x.errMu.Unlock()
}

// parallel runs t's chunks over the pool; one chunk runs right here (the
// common case for small tensors: no dispatch at all).
func (x *runCtx) parallel(chunks int, t kernels.Task) {
	if chunks == 1 {
		t.RunChunk(0, x.worker)
		return
	}
	x.pool.For(x.worker, chunks, t)
}

// rowChunks splits rows of inner elements each into chunks for the pool.
type rowChunks struct{ rows, size, count int }

func splitRows(rows, inner, poolSize int) rowChunks {
	return splitWork(rows, inner, 1, poolSize)
}

// splitWork is splitRows for loops whose elements cost about cost times a
// simple arithmetic op (transcendental functions): they pay for the pool's
// dispatch sooner. Long loops get at least one chunk per stopChunkWork even
// on one thread: the Stop is polled between chunks.
func splitWork(rows, inner, cost, poolSize int) rowChunks {
	perRow := satMul(max(inner, 1), cost)
	work := satMul(rows, perRow)
	if work < parallelMin {
		return rowChunks{rows: rows, size: max(rows, 1), count: min(rows, 1)}
	}
	grain := max(1, parallelMin/satMul(4, perRow))
	maxChunks := max(4*poolSize, work/stopChunkWork)
	if poolSize <= 1 {
		maxChunks = max(1, work/stopChunkWork)
	}
	count, size := kernels.Chunks(rows, grain, maxChunks)
	return rowChunks{rows: rows, size: size, count: count}
}

// satMul multiplies non-negative ints, saturating at MaxInt.
func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// elemChunks splits a flat loop over n elements of about cost each.
func elemChunks(n, cost, poolSize int) rowChunks { return splitWork(n, 1, cost, poolSize) }

func (r rowChunks) bounds(c int) (int, int) {
	lo := c * r.size
	return lo, min(lo+r.size, r.rows)
}

func f32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func f64s(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func i32s(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func i64s(b []byte) []int64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func numel(s []int64) int {
	n := 1
	for _, d := range s {
		n *= int(d)
	}
	return n
}

// binaryOps and unaryOps map op names to their kernels.
var binaryOps = map[string]kernels.BinaryOp{
	"Add": kernels.OpAdd, "Sub": kernels.OpSub, "Mul": kernels.OpMul, "Div": kernels.OpDiv,
}

var compareOps = map[string]kernels.CompareOp{"Equal": kernels.OpEqual, "Greater": kernels.OpGreater, "Less": kernels.OpLess}

var reduceOps = map[string]kernels.ReduceOp{"ReduceSum": kernels.OpReduceSum, "ReduceMean": kernels.OpReduceMean,
	"ReduceMax": kernels.OpReduceMax, "ReduceMin": kernels.OpReduceMin, "ReduceL1": kernels.OpReduceL1, "ReduceL2": kernels.OpReduceL2}

var unaryOps = map[string]kernels.UnaryOp{
	"Abs": kernels.OpAbs, "Neg": kernels.OpNeg, "Sqrt": kernels.OpSqrt, "Exp": kernels.OpExp,
	"Log": kernels.OpLog, "Relu": kernels.OpRelu, "LeakyRelu": kernels.OpLeakyRelu,
	"Sigmoid": kernels.OpSigmoid, "Tanh": kernels.OpTanh, "Gelu": kernels.OpGeluErf,
}

// prepare builds the executor of node n for concrete shapes, for steps that
// have elements to compute. It allocates nothing proportional to a tensor's
// size: scratch comes from the arena (scratchBytes).
func prepare(n *graph.CNode, in []*graph.ValueInfo, out []graph.ValueInfo, poolSize int) (executor, error) {
	switch n.Op {
	case "Dropout":
		return &maskExec{rc: elemChunks(numel(out[1].Shape), 1, poolSize)}, nil
	case "Add", "Sub", "Mul", "Div":
		s := kernels.NewStrided(out[0].Shape, in[0].Shape, in[1].Shape)
		rows, inner := s.Rows()
		return &binaryExec{op: binaryOps[n.Op], s: s, dt: out[0].DType, rc: splitRows(rows, inner, poolSize)}, nil
	case "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Abs", "Neg", "Sqrt", "Exp", "Log":
		e := &unaryExec{dt: out[0].DType, op: unaryOps[n.Op]}
		switch {
		case n.Op == "LeakyRelu":
			e.alpha = n.Attr("alpha").Float
		case n.Op == "Gelu" && n.Attr("approximate").String == "tanh":
			e.op = kernels.OpGeluTanh
		}
		const chunk = 4096
		cost := 16 // exp, tanh, erf, log, sqrt: tens of nanoseconds each
		switch e.op {
		case kernels.OpRelu, kernels.OpLeakyRelu, kernels.OpAbs, kernels.OpNeg:
			cost = 1
		}
		e.rc = splitWork((numel(out[0].Shape)+chunk-1)/chunk, chunk, cost, poolSize)
		e.n = numel(out[0].Shape)
		return e, nil
	case "Softmax", "LogSoftmax":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		outer, inner := numel(s[:axis]), numel(s[axis+1:])
		return &softmaxExec{log: n.Op == "LogSoftmax", dt: out[0].DType, axis: int(s[axis]), inner: inner,
			rc: splitWork(outer, int(s[axis])*inner, 4, poolSize)}, nil
	case "LayerNormalization":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		rows, d := numel(s[:axis]), numel(s[axis:])
		return &layerNormExec{dt: out[0].DType, d: d, eps: n.Attr("epsilon").Float, rc: splitRows(rows, d, poolSize)}, nil
	case "Gemm":
		return prepareGemm(n, in, out, poolSize)
	case "MatMul":
		return prepareMatMul(in, out)
	case "Transpose":
		perm, err := graph.TransposePerm(n.Attr("perm").Ints, len(in[0].Shape))
		if err != nil {
			return nil, err
		}
		rows := kernels.TransposeRowCount(in[0].Shape, perm)
		inner := 1
		if len(perm) > 0 {
			inner = int(in[0].Shape[perm[len(perm)-1]])
		}
		return &transposeExec{size: in[0].DType.Size(), shape: in[0].Shape, perm: perm, rc: splitRows(rows, inner, poolSize)}, nil
	case "Concat":
		s := out[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		es := out[0].DType.Size()
		outer := numel(s[:axis])
		e := &concatExec{outBlock: numel(s[axis:]) * es, rc: splitRows(outer, numel(s[axis:]), poolSize)}
		for _, v := range in {
			e.inBlocks = append(e.inBlocks, numel(v.Shape[axis:])*es)
		}
		return e, nil
	case "ArgMax":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		outer, inner := numel(s[:axis]), numel(s[axis+1:])
		return &argMaxExec{dt: in[0].DType, axis: int(s[axis]), inner: inner,
			last: n.Attr("select_last_index").Int != 0, rc: splitRows(outer, int(s[axis])*inner, poolSize)}, nil
	case "Equal", "Greater", "Less":
		op := compareOps[n.Op]
		s := kernels.NewStrided(out[0].Shape, in[0].Shape, in[1].Shape)
		rows, inner := s.Rows()
		return &compareExec{op: op, dt: in[0].DType, s: s, rc: splitRows(rows, inner, poolSize)}, nil
	case "IsNaN":
		return &isNaNExec{dt: in[0].DType, rc: elemChunks(numel(in[0].Shape), 1, poolSize)}, nil
	case "Where":
		return newWhereExec(in, out[0], poolSize), nil
	case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2":
		reduced, err := graph.ReduceAxes(n.Attr("axes").Ints, len(in[0].Shape))
		if err != nil {
			return nil, err
		}
		// The accumulators are shared, so chunks run one after another
		// (kernels.Serial), each polling the Stop.
		return &reduceExec{op: reduceOps[n.Op], dt: in[0].DType, shape: in[0].Shape, reduced: reduced,
			rc: elemChunks(numel(in[0].Shape), 1, 1)}, nil
	case "Clip":
		return &clipExec{dt: in[0].DType, rc: elemChunks(numel(in[0].Shape), 1, poolSize)}, nil
	case "Gather":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		outer, block := numel(s[:axis]), numel(s[axis+1:])
		idx := numel(in[1].Shape)
		return &gatherExec{idx: in[1].DType, n: idx, dim: int(s[axis]), block: block * in[0].DType.Size(),
			rc: splitRows(outer*idx, block, poolSize)}, nil
	case "Cast":
		return &castExec{from: kernels.Elem(in[0].DType), to: kernels.Elem(out[0].DType),
			fromSize: in[0].DType.Size(), toSize: out[0].DType.Size(), rc: elemChunks(numel(in[0].Shape), 2, poolSize)}, nil
	}
	return nil, errs.New(errs.Internal, "op %s has a schema but no CPU kernel", n.Op)
}

// maskExec fills Dropout's optional mask output with true (inference keeps
// every element).
type maskExec struct {
	rc  rowChunks
	out []byte
}

func (e *maskExec) run(x *runCtx, _, out [][]byte) {
	e.out = out[1]
	x.parallel(e.rc.count, e)
	e.out = nil
}

func (e *maskExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	for i := range e.out[lo:hi] {
		e.out[lo+i] = 1
	}
}

type binaryExec struct {
	op        kernels.BinaryOp
	s         kernels.Strided
	dt        dtype.DType
	rc        rowChunks
	out, a, b []byte
}

func (e *binaryExec) run(x *runCtx, in, out [][]byte) {
	e.a, e.b, e.out = in[0], in[1], out[0]
	x.parallel(e.rc.count, e)
	e.a, e.b, e.out = nil, nil, nil
}

func (e *binaryExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	switch e.dt {
	case dtype.Float32:
		kernels.Binary(e.op, &e.s, f32s(e.out), f32s(e.a), f32s(e.b), r0, r1)
	case dtype.Float64:
		kernels.Binary(e.op, &e.s, f64s(e.out), f64s(e.a), f64s(e.b), r0, r1)
	case dtype.Int32:
		kernels.Binary(e.op, &e.s, i32s(e.out), i32s(e.a), i32s(e.b), r0, r1)
	case dtype.Int64:
		kernels.Binary(e.op, &e.s, i64s(e.out), i64s(e.a), i64s(e.b), r0, r1)
	}
}

type unaryExec struct {
	op     kernels.UnaryOp
	alpha  float64
	dt     dtype.DType
	n      int
	rc     rowChunks
	out, x []byte
}

func (e *unaryExec) run(x *runCtx, in, out [][]byte) {
	e.x, e.out = in[0], out[0]
	x.parallel(e.rc.count, e)
	e.x, e.out = nil, nil
}

func (e *unaryExec) RunChunk(c int, _ *kernels.Worker) {
	const chunk = 4096
	r0, r1 := e.rc.bounds(c)
	lo, hi := r0*chunk, min(r1*chunk, e.n)
	switch e.dt {
	case dtype.Float32:
		kernels.Unary(e.op, f32s(e.out)[lo:hi], f32s(e.x)[lo:hi], e.alpha)
	case dtype.Float64:
		kernels.Unary(e.op, f64s(e.out)[lo:hi], f64s(e.x)[lo:hi], e.alpha)
	}
}

type softmaxExec struct {
	log         bool
	dt          dtype.DType
	axis, inner int
	rc          rowChunks
	out, x      []byte
}

func (e *softmaxExec) run(x *runCtx, in, out [][]byte) {
	e.x, e.out = in[0], out[0]
	x.parallel(e.rc.count, e)
	e.x, e.out = nil, nil
}

func (e *softmaxExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	switch e.dt {
	case dtype.Float32:
		kernels.Softmax(e.log, f32s(e.out), f32s(e.x), e.axis, e.inner, r0, r1)
	case dtype.Float64:
		if e.log {
			kernels.Softmax(true, f64s(e.out), f64s(e.x), e.axis, e.inner, r0, r1)
		} else {
			kernels.SoftmaxF64(f64s(e.out), f64s(e.x), e.axis, e.inner, r0, r1)
		}
	}
}

type layerNormExec struct {
	dt      dtype.DType
	d       int
	eps     float64
	rc      rowChunks
	in, out [][]byte
}

func (e *layerNormExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in, out
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func opt(bufs [][]byte, i int) []byte {
	if i < len(bufs) {
		return bufs[i]
	}
	return nil
}

func (e *layerNormExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	x, scale, bias := e.in[0], e.in[1], opt(e.in, 2)
	y, mean, inv := e.out[0], opt(e.out, 1), opt(e.out, 2)
	switch e.dt {
	case dtype.Float32:
		kernels.LayerNorm(f32s(y), f32s(x), f32s(scale), f32s(bias), f32s(mean), f32s(inv), e.d, e.eps, r0, r1)
	case dtype.Float64:
		kernels.LayerNorm(f64s(y), f64s(x), f64s(scale), f64s(bias), f64s(mean), f64s(inv), e.d, e.eps, r0, r1)
	}
}

type transposeExec struct {
	size     int
	shape    []int64
	perm     []int
	rc       rowChunks
	dst, src []byte
}

func (e *transposeExec) run(x *runCtx, in, out [][]byte) {
	e.dst, e.src = out[0], in[0]
	x.parallel(e.rc.count, e)
	e.dst, e.src = nil, nil
}

func (e *transposeExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	kernels.TransposeRows(e.dst, e.src, e.size, e.shape, e.perm, r0, r1)
}

type concatExec struct {
	outBlock int
	inBlocks []int
	rc       rowChunks // over the outer rows
	in       [][]byte
	out      []byte
}

func (e *concatExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in, out[0]
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *concatExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	at := 0
	for i, b := range e.in {
		kernels.ConcatCopy(e.out, b, e.inBlocks[i], e.outBlock, at, r0, r1)
		at += e.inBlocks[i]
	}
}

type argMaxExec struct {
	dt          dtype.DType
	axis, inner int
	last        bool
	rc          rowChunks // over the outer rows
	in, out     []byte
}

func (e *argMaxExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in[0], out[0]
	x.parallel(e.rc.count, e)
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

type castExec struct {
	from, to         kernels.Elem
	fromSize, toSize int
	rc               rowChunks
	in, out          []byte
}

type compareExec struct {
	op  kernels.CompareOp
	dt  dtype.DType
	s   kernels.Strided
	rc  rowChunks
	in  [][]byte
	out []byte
}

func (e *compareExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in, out[0]
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *compareExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	a, b := e.in[0], e.in[1]
	switch e.dt {
	case dtype.Float32:
		kernels.Compare(e.op, &e.s, e.out, f32s(a), f32s(b), r0, r1)
	case dtype.Float64:
		kernels.Compare(e.op, &e.s, e.out, f64s(a), f64s(b), r0, r1)
	case dtype.Int32:
		kernels.Compare(e.op, &e.s, e.out, i32s(a), i32s(b), r0, r1)
	case dtype.Int64:
		kernels.Compare(e.op, &e.s, e.out, i64s(a), i64s(b), r0, r1)
	}
}

type isNaNExec struct {
	dt      dtype.DType
	rc      rowChunks
	in, out []byte
}

func (e *isNaNExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in[0], out[0]
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *isNaNExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		kernels.IsNaN(e.out[lo:hi], f32s(e.in)[lo:hi])
	} else {
		kernels.IsNaN(e.out[lo:hi], f64s(e.in)[lo:hi])
	}
}

// whereExec is ONNX Where with three-way broadcasting: an odometer over the
// output walks the condition and both branches with their own strides.
type whereExec struct {
	size    int
	dims    []int
	strides [3][]int // condition, X, Y: element strides along the output's axes
	rc      rowChunks
	in      [][]byte
	out     []byte
}

func newWhereExec(in []*graph.ValueInfo, out graph.ValueInfo, poolSize int) *whereExec {
	r := len(out.Shape)
	e := &whereExec{size: out.DType.Size(), dims: make([]int, r), rc: elemChunks(numel(out.Shape), 2, poolSize)}
	for d := range e.dims {
		e.dims[d] = int(out.Shape[d])
	}
	for k := range e.strides {
		s := in[k].Shape
		e.strides[k] = make([]int, r)
		stride := 1
		for d := len(s) - 1; d >= 0; d-- {
			if s[d] != 1 {
				e.strides[k][d+r-len(s)] = stride
			}
			stride *= int(s[d])
		}
	}
	return e
}

func (e *whereExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in, out[0]
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *whereExec) RunChunk(ch int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(ch)
	var idxA [dtype.MaxRank]int
	idx := idxA[:len(e.dims)]
	c, a, b := 0, 0, 0
	for d, q := len(idx)-1, lo; d >= 0; d-- {
		idx[d] = q % e.dims[d]
		q /= e.dims[d]
		c, a, b = c+idx[d]*e.strides[0][d], a+idx[d]*e.strides[1][d], b+idx[d]*e.strides[2][d]
	}
	cond, xs, ys, out := e.in[0], e.in[1], e.in[2], e.out
	for i := lo; i < hi; i++ {
		src, off := ys, b
		if cond[c] != 0 {
			src, off = xs, a
		}
		copy(out[i*e.size:(i+1)*e.size], src[off*e.size:(off+1)*e.size])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			c, a, b = c+e.strides[0][d], a+e.strides[1][d], b+e.strides[2][d]
			if idx[d] < e.dims[d] {
				break
			}
			c -= e.strides[0][d] * e.dims[d]
			a -= e.strides[1][d] * e.dims[d]
			b -= e.strides[2][d] * e.dims[d]
			idx[d] = 0
		}
	}
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

func (e *reduceExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.acc = in[0], f64s(x.scratch)
	kernels.ReduceStart(e.op, e.acc)
	kernels.Serial(x.worker, e.rc.count, e)
	if e.dt == dtype.Float32 {
		kernels.ReduceFinish(e.op, f32s(out[0]), e.shape, e.reduced, e.acc)
	} else {
		kernels.ReduceFinish(e.op, f64s(out[0]), e.shape, e.reduced, e.acc)
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

type clipExec struct {
	dt     dtype.DType
	rc     rowChunks
	lo, hi float64
	in     []byte
	out    []byte
}

func (e *clipExec) run(x *runCtx, in, out [][]byte) {
	bound := func(i int, def float64) float64 {
		if b := opt(in, i); b != nil {
			if e.dt == dtype.Float32 {
				return float64(f32s(b)[0])
			}
			return f64s(b)[0]
		}
		return def
	}
	e.lo, e.hi = bound(1, math.Inf(-1)), bound(2, math.Inf(1))
	e.in, e.out = in[0], out[0]
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *clipExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		kernels.Clip(f32s(e.out)[lo:hi], f32s(e.in)[lo:hi], float32(e.lo), float32(e.hi))
	} else {
		kernels.Clip(f64s(e.out)[lo:hi], f64s(e.in)[lo:hi], e.lo, e.hi)
	}
}

// gatherExec is ONNX Gather: data viewed as [outer, dim, block bytes],
// chunked over the output's (outer, index) rows.
type gatherExec struct {
	idx     dtype.DType
	n       int // index count
	dim     int
	block   int // bytes
	rc      rowChunks
	x       *runCtx
	data    []byte
	indices []byte
	out     []byte
}

func (e *gatherExec) run(x *runCtx, in, out [][]byte) {
	e.x, e.data, e.indices, e.out = x, in[0], in[1], out[0]
	x.parallel(e.rc.count, e)
	e.x, e.data, e.indices, e.out = nil, nil, nil, nil
}

func (e *gatherExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	for row := r0; row < r1; row++ {
		r, i := row/e.n, row%e.n
		var k int64
		if e.idx == dtype.Int64 {
			k = i64s(e.indices)[i]
		} else {
			k = int64(i32s(e.indices)[i])
		}
		given := k
		if k < 0 {
			k += int64(e.dim)
		}
		if k < 0 || k >= int64(e.dim) {
			e.x.fail(errs.New(errs.InvalidValue, "Gather index %d is out of range for an axis of size %d", given, e.dim))
			return
		}
		src := (r*e.dim + int(k)) * e.block
		o := row * e.block
		copy(e.out[o:o+e.block], e.data[src:src+e.block])
	}
}

func (e *castExec) run(x *runCtx, in, out [][]byte) {
	e.in, e.out = in[0], out[0]
	x.parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *castExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	dst, src := e.out[lo*e.toSize:hi*e.toSize], e.in[lo*e.fromSize:hi*e.fromSize]
	if e.from == e.to {
		copy(dst, src)
		return
	}
	kernels.Cast(dst, e.to, src, e.from, hi-lo)
}
