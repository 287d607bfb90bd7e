package engine

// Ops that move bytes: views (Identity, Reshape, Flatten, Dropout),
// Transpose, Concat, Gather.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	for _, op := range []string{"Identity", "Reshape", "Flatten"} {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: graph.Schema(op).Types, View: true})
	}
	mustRegister(Kernel{Op: "Dropout", Backend: CPUBackend, DTypes: graph.Schema("Dropout").Types, View: true, Compile: Stateless(bindMask)})
	mustRegister(Kernel{Op: "Transpose", Backend: CPUBackend, DTypes: graph.Schema("Transpose").Types, Compile: Stateless(bindTranspose)})
	mustRegister(Kernel{Op: "Concat", Backend: CPUBackend, DTypes: graph.Schema("Concat").Types, Compile: Stateless(bindConcat)})
	mustRegister(Kernel{Op: "Gather", Backend: CPUBackend, DTypes: graph.Schema("Gather").Types, Compile: Stateless(bindGather)})
}

// maskExec fills Dropout's optional mask output with true (inference keeps
// every element).
type maskExec struct {
	rc  rowChunks
	out []byte
}

func bindMask(b *BindCtx) (Executor, error) {
	return &maskExec{rc: elemChunks(numel(b.Out[1].Shape), 1, b.Threads)}, nil
}

func (e *maskExec) Run(x *RunCtx, _, out []Buf) {
	e.out = out[1].Host
	x.Parallel(e.rc.count, e)
	e.out = nil
}

func (e *maskExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	for i := range e.out[lo:hi] {
		e.out[lo+i] = 1
	}
}

type transposeExec struct {
	size     int
	shape    []int64
	perm     []int
	rc       rowChunks
	dst, src []byte
}

func bindTranspose(b *BindCtx) (Executor, error) {
	in := b.In[0]
	perm, err := graph.TransposePerm(b.Node.Attr("perm").Ints, len(in.Shape))
	if err != nil {
		return nil, err
	}
	shape := in.Shape
	if numel(shape) > 0 { // an empty tensor keeps its shape: no elements move
		shape, perm = kernels.SimplifyTranspose(shape, perm)
	}
	rows := kernels.TransposeRowCount(shape, perm)
	inner := 1
	if len(perm) > 0 {
		inner = int(shape[perm[len(perm)-1]])
	}
	return &transposeExec{size: in.DType.Size(), shape: shape, perm: perm, rc: splitRows(rows, inner, b.Threads)}, nil
}

func (e *transposeExec) Run(x *RunCtx, in, out []Buf) {
	e.dst, e.src = out[0].Host, in[0].Host
	x.Parallel(e.rc.count, e)
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
	in       []Buf
	out      []byte
}

func bindConcat(b *BindCtx) (Executor, error) {
	s := b.Out[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	es := b.Out[0].DType.Size()
	outer := numel(s[:axis])
	e := &concatExec{outBlock: numel(s[axis:]) * es, rc: splitRows(outer, numel(s[axis:]), b.Threads)}
	for _, v := range b.In {
		e.inBlocks = append(e.inBlocks, numel(v.Shape[axis:])*es)
	}
	return e, nil
}

func (e *concatExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in, out[0].Host
	x.Parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *concatExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	at := 0
	for i, b := range e.in {
		kernels.ConcatCopy(e.out, b.Host, e.inBlocks[i], e.outBlock, at, r0, r1)
		at += e.inBlocks[i]
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
	x       *RunCtx
	data    []byte
	indices []byte
	out     []byte
}

func bindGather(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	outer, block := numel(s[:axis]), numel(s[axis+1:])
	idx := numel(b.In[1].Shape)
	return &gatherExec{idx: b.In[1].DType, n: idx, dim: int(s[axis]), block: block * b.In[0].DType.Size(),
		rc: splitRows(outer*idx, block, b.Threads)}, nil
}

func (e *gatherExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.data, e.indices, e.out = x, in[0].Host, in[1].Host, out[0].Host
	x.Parallel(e.rc.count, e)
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
			e.x.Fail(errs.New(errs.InvalidValue, "Gather index %d is out of range for an axis of size %d", given, e.dim))
			return
		}
		src := (r*e.dim + int(k)) * e.block
		o := row * e.block
		copy(e.out[o:o+e.block], e.data[src:src+e.block])
	}
}
