package engine

// Elementwise ops: arithmetic, activations, comparisons, Clip, IsNaN,
// Where, Cast.

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

var (
	floatTypes   = []dtype.DType{dtype.Float32, dtype.Float64}
	numericTypes = []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int32, dtype.Int64}
)

// binaryOps, compareOps and unaryOps map op names to their kernels.
var binaryOps = map[string]kernels.BinaryOp{
	"Add": kernels.OpAdd, "Sub": kernels.OpSub, "Mul": kernels.OpMul, "Div": kernels.OpDiv,
}

var compareOps = map[string]kernels.CompareOp{"Equal": kernels.OpEqual, "Greater": kernels.OpGreater, "Less": kernels.OpLess}

var unaryOps = map[string]kernels.UnaryOp{
	"Abs": kernels.OpAbs, "Neg": kernels.OpNeg, "Sqrt": kernels.OpSqrt, "Exp": kernels.OpExp,
	"Log": kernels.OpLog, "Relu": kernels.OpRelu, "LeakyRelu": kernels.OpLeakyRelu,
	"Sigmoid": kernels.OpSigmoid, "Tanh": kernels.OpTanh, "Gelu": kernels.OpGeluErf,
}

func init() {
	for op := range binaryOps {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: numericTypes, Compile: Stateless(bindBinary)})
	}
	for op := range unaryOps {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindUnary)})
	}
	for op := range compareOps {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: numericTypes, Compile: Stateless(bindCompare)})
	}
	mustRegister(Kernel{Op: "Clip", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindClip)})
	mustRegister(Kernel{Op: "IsNaN", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindIsNaN)})
	mustRegister(Kernel{Op: "Where", Backend: CPUBackend, DTypes: graph.Schema("Where").Types, Compile: Stateless(bindWhere)})
	mustRegister(Kernel{Op: "Cast", Backend: CPUBackend, DTypes: graph.Schema("Cast").Types, Compile: Stateless(bindCast)})
}

type binaryExec struct {
	op        kernels.BinaryOp
	s         kernels.Strided
	dt        dtype.DType
	rc        rowChunks
	inPlace   int // the argument with the output's shape, or -1
	out, a, b []byte
}

func bindBinary(b *BindCtx) (Executor, error) {
	s := kernels.NewStrided(b.Out[0].Shape, b.In[0].Shape, b.In[1].Shape)
	rows, inner := s.Rows()
	e := &binaryExec{op: binaryOps[b.Node.Op], s: s, dt: b.Out[0].DType, rc: splitRows(rows, inner, b.Threads), inPlace: -1}
	for j := range 2 {
		if sameShape(b.In[j].Shape, b.Out[0].Shape) {
			e.inPlace = j
			break
		}
	}
	return e, nil
}

func (e *binaryExec) inPlaceArg() int { return e.inPlace }

func (e *binaryExec) Run(x *RunCtx, in, out []Buf) {
	e.a, e.b, e.out = in[0].Host, in[1].Host, out[0].Host
	x.Parallel(e.rc.count, e)
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

// unaryChunk is the element block of unary loops: the chunk grain.
const unaryChunk = 4096

type unaryExec struct {
	op     kernels.UnaryOp
	alpha  float64
	dt     dtype.DType
	n      int
	rc     rowChunks
	out, x []byte
}

func bindUnary(b *BindCtx) (Executor, error) {
	n := b.Node
	e := &unaryExec{dt: b.Out[0].DType, op: unaryOps[n.Op]}
	switch {
	case n.Op == "LeakyRelu":
		e.alpha = n.Attr("alpha").Float
	case n.Op == "Gelu" && n.Attr("approximate").String == "tanh":
		e.op = kernels.OpGeluTanh
	}
	e.n = numel(b.Out[0].Shape)
	e.rc = splitWork((e.n+unaryChunk-1)/unaryChunk, unaryChunk, unaryCost(e.op), b.Threads)
	return e, nil
}

// unaryCost is an op's cost per element relative to an add, for splitting.
func unaryCost(op kernels.UnaryOp) int {
	switch op {
	case kernels.OpRelu, kernels.OpLeakyRelu, kernels.OpAbs, kernels.OpNeg:
		return 1
	}
	return 16 // exp, tanh, erf, log, sqrt: tens of nanoseconds each
}

func (e *unaryExec) inPlaceArg() int { return 0 }

func (e *unaryExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.x, e.out = nil, nil
}

func (e *unaryExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	lo, hi := r0*unaryChunk, min(r1*unaryChunk, e.n)
	switch e.dt {
	case dtype.Float32:
		kernels.Unary(e.op, f32s(e.out)[lo:hi], f32s(e.x)[lo:hi], e.alpha)
	case dtype.Float64:
		kernels.Unary(e.op, f64s(e.out)[lo:hi], f64s(e.x)[lo:hi], e.alpha)
	}
}

type compareExec struct {
	op   kernels.CompareOp
	dt   dtype.DType
	s    kernels.Strided
	rc   rowChunks
	a, b []byte
	out  []byte
}

func bindCompare(b *BindCtx) (Executor, error) {
	s := kernels.NewStrided(b.Out[0].Shape, b.In[0].Shape, b.In[1].Shape)
	rows, inner := s.Rows()
	return &compareExec{op: compareOps[b.Node.Op], dt: b.In[0].DType, s: s, rc: splitRows(rows, inner, b.Threads)}, nil
}

func (e *compareExec) Run(x *RunCtx, in, out []Buf) {
	e.a, e.b, e.out = in[0].Host, in[1].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.a, e.b, e.out = nil, nil, nil
}

func (e *compareExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	switch e.dt {
	case dtype.Float32:
		kernels.Compare(e.op, &e.s, e.out, f32s(e.a), f32s(e.b), r0, r1)
	case dtype.Float64:
		kernels.Compare(e.op, &e.s, e.out, f64s(e.a), f64s(e.b), r0, r1)
	case dtype.Int32:
		kernels.Compare(e.op, &e.s, e.out, i32s(e.a), i32s(e.b), r0, r1)
	case dtype.Int64:
		kernels.Compare(e.op, &e.s, e.out, i64s(e.a), i64s(e.b), r0, r1)
	}
}

type isNaNExec struct {
	dt      dtype.DType
	rc      rowChunks
	in, out []byte
}

func bindIsNaN(b *BindCtx) (Executor, error) {
	return &isNaNExec{dt: b.In[0].DType, rc: elemChunks(numel(b.In[0].Shape), 1, b.Threads)}, nil
}

func (e *isNaNExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
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
	size       int
	dims       []int
	strides    [3][]int // condition, X, Y: element strides along the output's axes
	rc         rowChunks
	cond, x, y []byte
	out        []byte
}

func bindWhere(b *BindCtx) (Executor, error) {
	out := b.Out[0]
	r := len(out.Shape)
	e := &whereExec{size: out.DType.Size(), dims: make([]int, r), rc: elemChunks(numel(out.Shape), 2, b.Threads)}
	for d := range e.dims {
		e.dims[d] = int(out.Shape[d])
	}
	for k := range e.strides {
		s := b.In[k].Shape
		e.strides[k] = make([]int, r)
		stride := 1
		for d := len(s) - 1; d >= 0; d-- {
			if s[d] != 1 {
				e.strides[k][d+r-len(s)] = stride
			}
			stride *= int(s[d])
		}
	}
	return e, nil
}

func (e *whereExec) Run(x *RunCtx, in, out []Buf) {
	e.cond, e.x, e.y, e.out = in[0].Host, in[1].Host, in[2].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.cond, e.x, e.y, e.out = nil, nil, nil, nil
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
	cond, xs, ys, out := e.cond, e.x, e.y, e.out
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

type clipExec struct {
	dt     dtype.DType
	rc     rowChunks
	lo, hi float64
	in     []byte
	out    []byte
}

func bindClip(b *BindCtx) (Executor, error) {
	return &clipExec{dt: b.In[0].DType, rc: elemChunks(numel(b.In[0].Shape), 1, b.Threads)}, nil
}

func (e *clipExec) inPlaceArg() int { return 0 }

func (e *clipExec) Run(x *RunCtx, in, out []Buf) {
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
	e.in, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
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

type castExec struct {
	from, to         kernels.Elem
	fromSize, toSize int
	rc               rowChunks
	in, out          []byte
}

func bindCast(b *BindCtx) (Executor, error) {
	in, out := b.In[0].DType, b.Out[0].DType
	return &castExec{from: kernels.Elem(in), to: kernels.Elem(out),
		fromSize: in.Size(), toSize: out.Size(), rc: elemChunks(numel(b.In[0].Shape), 2, b.Threads)}, nil
}

func (e *castExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
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
