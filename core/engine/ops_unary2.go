package engine

// More float elementwise ops: the Unary2 family (HardSwish, Swish, Erf,
// rounding, ...), Pow and PRelu.

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

var unary2Ops = map[string]kernels.Unary2Op{
	"Reciprocal": kernels.OpReciprocal, "Erf": kernels.OpErf, "Floor": kernels.OpFloor, "Ceil": kernels.OpCeil,
	"Round": kernels.OpRound, "Sign": kernels.OpSign, "Sin": kernels.OpSin, "Cos": kernels.OpCos,
	"Softplus": kernels.OpSoftplus, "Softsign": kernels.OpSoftsign, "Mish": kernels.OpMish,
	"HardSwish": kernels.OpHardSwish, "HardSigmoid": kernels.OpHardSigmoid, "Swish": kernels.OpSwish,
	"Elu": kernels.OpElu, "Selu": kernels.OpSelu, "Celu": kernels.OpCelu, "ThresholdedRelu": kernels.OpThresholdedRelu,
}

func init() {
	for _, op := range graph.Unary2Ops {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindUnary2)})
	}
	mustRegister(Kernel{Op: "Pow", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindPow)})
	mustRegister(Kernel{Op: "PRelu", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindPRelu)})
}

// Unary2Params returns the kernel parameters of a Unary2 node's attributes.
func unary2Params(n *graph.CNode) kernels.UnaryParams {
	var p kernels.UnaryParams
	switch n.Op {
	case "HardSigmoid":
		p.Alpha, p.Beta = n.Attr("alpha").Float, n.Attr("beta").Float
	case "Selu":
		p.Alpha, p.Beta = n.Attr("alpha").Float, n.Attr("gamma").Float
	case "Swish", "Elu", "Celu", "ThresholdedRelu":
		p.Alpha = n.Attr("alpha").Float
	}
	return p
}

type unary2Exec struct {
	op     kernels.Unary2Op
	p      kernels.UnaryParams
	dt     dtype.DType
	n      int
	rc     rowChunks
	out, x []byte
}

func bindUnary2(b *BindCtx) (Executor, error) {
	op, ok := unary2Ops[b.Node.Op]
	if !ok {
		return nil, errs.New(errs.Internal, "no Unary2 kernel for %s", b.Node.Op)
	}
	e := &unary2Exec{op: op, p: unary2Params(b.Node), dt: b.Out[0].DType, n: numel(b.Out[0].Shape)}
	e.rc = splitWork((e.n+unaryChunk-1)/unaryChunk, unaryChunk, kernels.Unary2Cost(op), b.Threads)
	return e, nil
}

func (e *unary2Exec) inPlaceArg() int { return 0 }

func (e *unary2Exec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.x, e.out = nil, nil
}

func (e *unary2Exec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	lo, hi := r0*unaryChunk, min(r1*unaryChunk, e.n)
	if e.dt == dtype.Float32 {
		kernels.Unary2(e.op, f32s(e.out)[lo:hi], f32s(e.x)[lo:hi], e.p)
	} else {
		kernels.Unary2(e.op, f64s(e.out)[lo:hi], f64s(e.x)[lo:hi], e.p)
	}
}

// pow is computed in float64 and rounded once.
func pow[T kernels.Float, E kernels.Number](a T, b E) T { return T(math.Pow(float64(a), float64(b))) }

func powFor[T kernels.Float](v func([]byte) []T, exp dtype.DType) rowFunc {
	switch exp {
	case dtype.Float32:
		return fn(v, f32s, v, pow[T, float32])
	case dtype.Float64:
		return fn(v, f64s, v, pow[T, float64])
	case dtype.Int32:
		return fn(v, i32s, v, pow[T, int32])
	case dtype.Int64:
		return fn(v, i64s, v, pow[T, int64])
	}
	return nil
}

func bindPow(b *BindCtx) (Executor, error) {
	var f rowFunc
	if b.In[0].DType == dtype.Float32 {
		f = powFor(f32s, b.In[1].DType)
	} else {
		f = powFor(f64s, b.In[1].DType)
	}
	return newFuncExec(b, f)
}

// prelu is torch's x > 0 ? x : slope·x (NaN stays NaN).
func prelu[T kernels.Float](x, w T) T {
	if x > 0 {
		return x
	}
	return w * x
}

func bindPRelu(b *BindCtx) (Executor, error) {
	if b.In[0].DType == dtype.Float32 {
		return newFuncExec(b, fn(f32s, f32s, f32s, prelu[float32]))
	}
	return newFuncExec(b, fn(f64s, f64s, f64s, prelu[float64]))
}

// newFuncExec is a one-pass funcExec of two inputs.
func newFuncExec(b *BindCtx, f rowFunc) (Executor, error) {
	if f == nil {
		return nil, errs.New(errs.Internal, "%s has no kernel for %s and %s", b.Node.Op, b.In[0].DType, b.In[1].DType)
	}
	s := kernels.NewStrided(b.Out[0].Shape, b.In[0].Shape, b.In[1].Shape)
	rows, inner := s.Rows()
	return &funcExec{f: f, steps: []funcStep{{s: s, rc: splitWork(rows, inner, 4, b.Threads), a: 0, b: 1}}}, nil
}
