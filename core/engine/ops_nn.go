package engine

// Normalizations: Softmax, LogSoftmax, LayerNormalization.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindSoftmax)})
	}
	mustRegister(Kernel{Op: "LayerNormalization", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindLayerNorm)})
}

type softmaxExec struct {
	log         bool
	dt          dtype.DType
	axis, inner int
	rc          rowChunks
	out, x      []byte
}

func bindSoftmax(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	outer, inner := numel(s[:axis]), numel(s[axis+1:])
	return &softmaxExec{log: b.Node.Op == "LogSoftmax", dt: b.Out[0].DType, axis: int(s[axis]), inner: inner,
		rc: splitWork(outer, int(s[axis])*inner, 4, b.Threads)}, nil
}

func (e *softmaxExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
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
	dt                 dtype.DType
	d                  int
	eps                float64
	rc                 rowChunks
	x, scale, bias     []byte
	y, mean, invStdDev []byte
}

func bindLayerNorm(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	rows, d := numel(s[:axis]), numel(s[axis:])
	return &layerNormExec{dt: b.Out[0].DType, d: d, eps: b.Node.Attr("epsilon").Float, rc: splitRows(rows, d, b.Threads)}, nil
}

func (e *layerNormExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.scale, e.bias = in[0].Host, in[1].Host, opt(in, 2)
	e.y, e.mean, e.invStdDev = out[0].Host, opt(out, 1), opt(out, 2)
	x.Parallel(e.rc.count, e)
	e.x, e.scale, e.bias, e.y, e.mean, e.invStdDev = nil, nil, nil, nil, nil, nil
}

func (e *layerNormExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	switch e.dt {
	case dtype.Float32:
		kernels.LayerNorm(f32s(e.y), f32s(e.x), f32s(e.scale), f32s(e.bias), f32s(e.mean), f32s(e.invStdDev), e.d, e.eps, r0, r1)
	case dtype.Float64:
		kernels.LayerNorm(f64s(e.y), f64s(e.x), f64s(e.scale), f64s(e.bias), f64s(e.mean), f64s(e.invStdDev), e.d, e.eps, r0, r1)
	}
}
