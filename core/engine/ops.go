package engine

import (
	"math"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// parallelMin is the element count below which a loop runs on the caller
// alone: dispatch costs about a microsecond, which small tensors cannot repay.
const parallelMin = 1 << 15

// runCtx is the per-run state executors use.
type runCtx struct {
	pool   *kernels.Pool
	worker *kernels.Worker
	err    error // the first data-dependent failure (e.g. a Gather index out of range)
}

// fail records a run-time error; the session stops after the current step.
func (x *runCtx) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

func (x *runCtx) parallel(chunks int, t kernels.Task) { x.pool.For(x.worker, chunks, t) }

// rowChunks splits rows of inner elements each into chunks for the pool.
type rowChunks struct{ rows, size, count int }

func splitRows(rows, inner, poolSize int) rowChunks {
	return splitWork(rows, inner, 1, poolSize)
}

// splitWork is splitRows for loops whose elements cost about cost times a
// simple arithmetic op (transcendental functions): they pay for the pool's
// dispatch sooner.
func splitWork(rows, inner, cost, poolSize int) rowChunks {
	if rows*inner*cost < parallelMin || poolSize <= 1 {
		return rowChunks{rows: rows, size: max(rows, 1), count: min(rows, 1)}
	}
	grain := max(1, parallelMin/(4*max(inner*cost, 1)))
	count, size := kernels.Chunks(rows, grain, 4*poolSize)
	return rowChunks{rows: rows, size: size, count: count}
}

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

var unaryOps = map[string]kernels.UnaryOp{
	"Abs": kernels.OpAbs, "Neg": kernels.OpNeg, "Sqrt": kernels.OpSqrt, "Exp": kernels.OpExp,
	"Log": kernels.OpLog, "Relu": kernels.OpRelu, "LeakyRelu": kernels.OpLeakyRelu,
	"Sigmoid": kernels.OpSigmoid, "Tanh": kernels.OpTanh, "Gelu": kernels.OpGeluErf,
}

// prepare builds the executor of node n for concrete shapes. alias is true
// when output 0 is a view of input 0 (no work, no buffer).
func prepare(n *graph.CNode, in []*graph.ValueInfo, out []graph.ValueInfo, poolSize int) (executor, bool, error) {
	switch n.Op {
	case "Identity", "Reshape", "Flatten":
		return nil, true, nil
	case "Dropout":
		if len(out) > 1 && n.Out[1] >= 0 {
			return maskExec{}, true, nil
		}
		return nil, true, nil
	case "Add", "Sub", "Mul", "Div":
		s := kernels.NewStrided(out[0].Shape, in[0].Shape, in[1].Shape)
		rows, inner := s.Rows()
		return &binaryExec{op: binaryOps[n.Op], s: s, dt: out[0].DType, rc: splitRows(rows, inner, poolSize)}, false, nil
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
		return e, false, nil
	case "Softmax", "LogSoftmax":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		outer, inner := numel(s[:axis]), numel(s[axis+1:])
		return &softmaxExec{log: n.Op == "LogSoftmax", dt: out[0].DType, axis: int(s[axis]), inner: inner,
			rc: splitRows(outer, int(s[axis])*inner, poolSize)}, false, nil
	case "LayerNormalization":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		rows, d := numel(s[:axis]), numel(s[axis:])
		return &layerNormExec{dt: out[0].DType, d: d, eps: n.Attr("epsilon").Float, rc: splitRows(rows, d, poolSize)}, false, nil
	case "Gemm":
		return prepareGemm(n, in, out)
	case "MatMul":
		return prepareMatMul(in, out)
	case "Transpose":
		perm, err := graph.TransposePerm(n.Attr("perm").Ints, len(in[0].Shape))
		if err != nil {
			return nil, false, err
		}
		return &transposeExec{size: in[0].DType.Size(), shape: in[0].Shape, perm: perm}, false, nil
	case "Concat":
		s := out[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		es := out[0].DType.Size()
		e := &concatExec{outer: numel(s[:axis]), outBlock: numel(s[axis:]) * es}
		for _, v := range in {
			e.inBlocks = append(e.inBlocks, numel(v.Shape[axis:])*es)
		}
		return e, false, nil
	case "ArgMax":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		return &argMaxExec{dt: in[0].DType, outer: numel(s[:axis]), axis: int(s[axis]), inner: numel(s[axis+1:]),
			last: n.Attr("select_last_index").Int != 0}, false, nil
	case "Equal", "Greater", "Less":
		op := map[string]kernels.CompareOp{"Equal": kernels.OpEqual, "Greater": kernels.OpGreater, "Less": kernels.OpLess}[n.Op]
		return &compareExec{op: op, dt: in[0].DType, s: kernels.NewStrided(out[0].Shape, in[0].Shape, in[1].Shape)}, false, nil
	case "IsNaN":
		return &isNaNExec{dt: in[0].DType}, false, nil
	case "Where":
		return newWhereExec(in, out[0]), false, nil
	case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2":
		reduced, err := graph.ReduceAxes(n.Attr("axes").Ints, len(in[0].Shape))
		if err != nil {
			return nil, false, err
		}
		ops := map[string]kernels.ReduceOp{"ReduceSum": kernels.OpReduceSum, "ReduceMean": kernels.OpReduceMean,
			"ReduceMax": kernels.OpReduceMax, "ReduceMin": kernels.OpReduceMin, "ReduceL1": kernels.OpReduceL1, "ReduceL2": kernels.OpReduceL2}
		return &reduceExec{op: ops[n.Op], dt: in[0].DType, shape: in[0].Shape, reduced: reduced,
			acc: make([]float64, numel(out[0].Shape))}, false, nil
	case "Clip":
		return &clipExec{dt: in[0].DType}, false, nil
	case "Gather":
		s := in[0].Shape
		axis, _ := graph.NormAxis(n.Attr("axis").Int, len(s))
		return &gatherExec{idx: in[1].DType, outer: numel(s[:axis]), dim: int(s[axis]),
			block: numel(s[axis+1:]) * in[0].DType.Size()}, false, nil
	case "Cast":
		return &castExec{from: kernels.Elem(in[0].DType), to: kernels.Elem(out[0].DType), n: numel(in[0].Shape)}, false, nil
	}
	return nil, false, errs.New(errs.Internal, "op %s has a schema but no CPU kernel", n.Op)
}

// maskExec fills Dropout's optional mask output with true (inference keeps
// every element).
type maskExec struct{}

func (maskExec) run(_ *runCtx, _, out [][]byte) {
	m := out[1]
	for i := range m {
		m[i] = 1
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
	size  int
	shape []int64
	perm  []int
}

func (e *transposeExec) run(_ *runCtx, in, out [][]byte) {
	kernels.Transpose(out[0], in[0], e.size, e.shape, e.perm)
}

type concatExec struct {
	outer, outBlock int
	inBlocks        []int
}

func (e *concatExec) run(_ *runCtx, in, out [][]byte) {
	at := 0
	for i, b := range in {
		kernels.ConcatCopy(out[0], b, e.outer, e.inBlocks[i], e.outBlock, at)
		at += e.inBlocks[i]
	}
}

type argMaxExec struct {
	dt                 dtype.DType
	outer, axis, inner int
	last               bool
}

func (e *argMaxExec) run(_ *runCtx, in, out [][]byte) {
	o := i64s(out[0])
	switch e.dt {
	case dtype.Float32:
		kernels.ArgMax(o, f32s(in[0]), e.axis, e.inner, e.last, 0, e.outer)
	case dtype.Float64:
		kernels.ArgMax(o, f64s(in[0]), e.axis, e.inner, e.last, 0, e.outer)
	case dtype.Int32:
		kernels.ArgMax(o, i32s(in[0]), e.axis, e.inner, e.last, 0, e.outer)
	case dtype.Int64:
		kernels.ArgMax(o, i64s(in[0]), e.axis, e.inner, e.last, 0, e.outer)
	}
}

type castExec struct {
	from, to kernels.Elem
	n        int
}

type compareExec struct {
	op kernels.CompareOp
	dt dtype.DType
	s  kernels.Strided
}

func (e *compareExec) run(_ *runCtx, in, out [][]byte) {
	rows, _ := e.s.Rows()
	switch e.dt {
	case dtype.Float32:
		kernels.Compare(e.op, &e.s, out[0], f32s(in[0]), f32s(in[1]), 0, rows)
	case dtype.Float64:
		kernels.Compare(e.op, &e.s, out[0], f64s(in[0]), f64s(in[1]), 0, rows)
	case dtype.Int32:
		kernels.Compare(e.op, &e.s, out[0], i32s(in[0]), i32s(in[1]), 0, rows)
	case dtype.Int64:
		kernels.Compare(e.op, &e.s, out[0], i64s(in[0]), i64s(in[1]), 0, rows)
	}
}

type isNaNExec struct{ dt dtype.DType }

func (e *isNaNExec) run(_ *runCtx, in, out [][]byte) {
	if e.dt == dtype.Float32 {
		kernels.IsNaN(out[0], f32s(in[0]))
	} else {
		kernels.IsNaN(out[0], f64s(in[0]))
	}
}

// whereExec is ONNX Where with three-way broadcasting: an odometer over the
// output walks the condition and both branches with their own strides.
type whereExec struct {
	size    int
	dims    []int
	strides [3][]int // condition, X, Y: element strides along the output's axes
}

func newWhereExec(in []*graph.ValueInfo, out graph.ValueInfo) *whereExec {
	r := len(out.Shape)
	e := &whereExec{size: out.DType.Size(), dims: make([]int, r)}
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

func (e *whereExec) run(_ *runCtx, in, out [][]byte) {
	n := len(out[0]) / e.size
	var idxA [dtype.MaxRank]int
	idx := idxA[:len(e.dims)]
	c, a, b := 0, 0, 0
	for i := 0; i < n; i++ {
		src, off := in[2], b
		if in[0][c] != 0 {
			src, off = in[1], a
		}
		copy(out[0][i*e.size:(i+1)*e.size], src[off*e.size:(off+1)*e.size])
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
	acc     []float64 // scratch, owned by the plan
}

func (e *reduceExec) run(_ *runCtx, in, out [][]byte) {
	if e.dt == dtype.Float32 {
		kernels.Reduce(e.op, f32s(out[0]), f32s(in[0]), e.shape, e.reduced, e.acc)
	} else {
		kernels.Reduce(e.op, f64s(out[0]), f64s(in[0]), e.shape, e.reduced, e.acc)
	}
}

type clipExec struct{ dt dtype.DType }

func (e *clipExec) run(_ *runCtx, in, out [][]byte) {
	lo, hi := math.Inf(-1), math.Inf(1)
	bound := func(i int, def float64) float64 {
		if b := opt(in, i); b != nil {
			if e.dt == dtype.Float32 {
				return float64(f32s(b)[0])
			}
			return f64s(b)[0]
		}
		return def
	}
	lo, hi = bound(1, lo), bound(2, hi)
	if e.dt == dtype.Float32 {
		kernels.Clip(f32s(out[0]), f32s(in[0]), float32(lo), float32(hi))
	} else {
		kernels.Clip(f64s(out[0]), f64s(in[0]), lo, hi)
	}
}

// gatherExec is ONNX Gather: data viewed as [outer, dim, block bytes].
type gatherExec struct {
	idx               dtype.DType
	outer, dim, block int
}

func (e *gatherExec) run(x *runCtx, in, out [][]byte) {
	var n int
	if e.idx == dtype.Int64 {
		n = len(in[1]) / 8
	} else {
		n = len(in[1]) / 4
	}
	o := 0
	for r := 0; r < e.outer; r++ {
		for i := 0; i < n; i++ {
			var k int64
			if e.idx == dtype.Int64 {
				k = i64s(in[1])[i]
			} else {
				k = int64(i32s(in[1])[i])
			}
			given := k
			if k < 0 {
				k += int64(e.dim)
			}
			if k < 0 || k >= int64(e.dim) {
				x.fail(errs.New(errs.InvalidValue, "Gather index %d is out of range for an axis of size %d", given, e.dim))
				return
			}
			src := (r*e.dim + int(k)) * e.block
			copy(out[0][o:o+e.block], in[0][src:src+e.block])
			o += e.block
		}
	}
}

func (e *castExec) run(_ *runCtx, in, out [][]byte) {
	if e.from == e.to {
		copy(out[0], in[0])
		return
	}
	kernels.Cast(out[0], e.to, in[0], e.from, e.n)
}
