package engine

import (
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
}

func (x *runCtx) parallel(chunks int, t kernels.Task) { x.pool.For(x.worker, chunks, t) }

// rowChunks splits rows of inner elements each into chunks for the pool.
type rowChunks struct{ rows, size, count int }

func splitRows(rows, inner, poolSize int) rowChunks {
	if rows*inner < parallelMin || poolSize <= 1 {
		return rowChunks{rows: rows, size: max(rows, 1), count: min(rows, 1)}
	}
	grain := max(1, parallelMin/(4*max(inner, 1)))
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
		op := map[string]kernels.BinaryOp{"Add": kernels.OpAdd, "Sub": kernels.OpSub, "Mul": kernels.OpMul, "Div": kernels.OpDiv}[n.Op]
		s := kernels.NewStrided(out[0].Shape, in[0].Shape, in[1].Shape)
		rows, inner := s.Rows()
		return &binaryExec{op: op, s: s, dt: out[0].DType, rc: splitRows(rows, inner, poolSize)}, false, nil
	case "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu":
		e := &unaryExec{dt: out[0].DType}
		switch n.Op {
		case "Relu":
			e.op = kernels.OpRelu
		case "LeakyRelu":
			e.op, e.alpha = kernels.OpLeakyRelu, n.Attr("alpha").Float
		case "Sigmoid":
			e.op = kernels.OpSigmoid
		case "Tanh":
			e.op = kernels.OpTanh
		case "Gelu":
			e.op = kernels.OpGeluErf
			if n.Attr("approximate").String == "tanh" {
				e.op = kernels.OpGeluTanh
			}
		}
		const chunk = 4096
		e.rc = splitRows((numel(out[0].Shape)+chunk-1)/chunk, chunk, poolSize)
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
		kernels.Softmax(e.log, f64s(e.out), f64s(e.x), e.axis, e.inner, r0, r1)
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

func (e *castExec) run(_ *runCtx, in, out [][]byte) {
	if e.from == e.to {
		copy(out[0], in[0])
		return
	}
	kernels.Cast(out[0], e.to, in[0], e.from, e.n)
}
