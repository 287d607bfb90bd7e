package engine

// Matrix products: Gemm and MatMul.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "Gemm", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindGemm)})
	mustRegister(Kernel{Op: "MatMul", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindMatMul)})
}

// gemmExec is ONNX Gemm: Y = alpha·op(A)·op(B) + beta·C.
type gemmExec struct {
	dt             dtype.DType
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	hasC           bool
	c              kernels.Strided // broadcast of C to [m, n]
	crc            rowChunks       // the broadcast copy's chunks
	y, cdata       []byte
}

func bindGemm(b *BindCtx) (Executor, error) {
	n, in, out, poolSize := b.Node, b.In, b.Out, b.Threads
	e := &gemmExec{dt: out[0].DType, transA: n.Attr("transA").Int != 0, transB: n.Attr("transB").Int != 0,
		alpha: n.Attr("alpha").Float, beta: n.Attr("beta").Float}
	e.m, e.n = int(out[0].Shape[0]), int(out[0].Shape[1])
	e.k = int(in[0].Shape[1])
	if e.transA {
		e.k = int(in[0].Shape[0])
	}
	if len(in) > 2 && in[2] != nil && e.beta != 0 {
		e.hasC = true
		e.c = kernels.NewStrided(out[0].Shape, in[2].Shape, out[0].Shape)
		rows, inner := e.c.Rows()
		e.crc = splitRows(rows, inner, poolSize)
	}
	return e, nil
}

func (e *gemmExec) Run(x *RunCtx, args, res []Buf) {
	in := [3][]byte{args[0].Host, args[1].Host, opt(args, 2)}
	out := [1][]byte{res[0].Host}
	lda, ldb := e.k, e.n
	if e.transA {
		lda = e.m
	}
	if e.transB {
		ldb = e.k
	}
	switch {
	case e.hasC && e.crc.count == 1: // the usual bias row: copy it here
		if e.dt == dtype.Float32 {
			kernels.BroadcastCopy(&e.c, f32s(out[0]), f32s(in[2]))
		} else {
			kernels.BroadcastCopy(&e.c, f64s(out[0]), f64s(in[2]))
		}
	case e.hasC:
		e.y, e.cdata = out[0], in[2]
		x.Parallel(e.crc.count, e)
		e.y, e.cdata = nil, nil
	}
	switch e.dt {
	case dtype.Float32:
		beta := float32(0)
		if e.hasC {
			beta = float32(e.beta)
		}
		kernels.Sgemm(x.Pool, x.Worker, e.transA, e.transB, e.m, e.n, e.k, float32(e.alpha), f32s(in[0]), lda, f32s(in[1]), ldb, beta, f32s(out[0]), e.n)
	case dtype.Float64:
		beta := 0.0
		if e.hasC {
			beta = e.beta
		}
		kernels.Dgemm(x.Pool, x.Worker, e.transA, e.transB, e.m, e.n, e.k, e.alpha, f64s(in[0]), lda, f64s(in[1]), ldb, beta, f64s(out[0]), e.n)
	}
}

// RunChunk copies rows of C's broadcast into Y.
func (e *gemmExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.crc.bounds(c)
	if e.dt == dtype.Float32 {
		kernels.BroadcastCopyRows(&e.c, f32s(e.y), f32s(e.cdata), r0, r1)
	} else {
		kernels.BroadcastCopyRows(&e.c, f64s(e.y), f64s(e.cdata), r0, r1)
	}
}

// matMulExec is numpy matmul: a batch of m×k · k×n products, with the batch
// dims broadcast. Each product's operand offsets come from walking the
// broadcast batch (nothing per batch element is stored).
type matMulExec struct {
	dt      dtype.DType
	m, n, k int
	batch   int
	walk    kernels.Strided // over the batch dims: A and B batch strides
}

func bindMatMul(bc *BindCtx) (Executor, error) {
	in, out := bc.In, bc.Out
	a, b := in[0].Shape, in[1].Shape
	if len(a) == 1 {
		a = []int64{1, a[0]}
	}
	if len(b) == 1 {
		b = []int64{b[0], 1}
	}
	e := &matMulExec{dt: out[0].DType, m: int(a[len(a)-2]), k: int(a[len(a)-1]), n: int(b[len(b)-1]), batch: 1}
	batchA, batchB := a[:len(a)-2], b[:len(b)-2]
	// B without batch dims: fold A's batch into M, one large product.
	if numel(batchB) == 1 {
		e.m *= numel(batchA)
		return e, nil
	}
	batch, _ := graph.Broadcast(batchA, batchB)
	e.batch = numel(batch)
	e.walk = kernels.NewStrided(batch, batchA, batchB)
	return e, nil
}

func (e *matMulExec) Run(x *RunCtx, args, res []Buf) {
	in := [2][]byte{args[0].Host, args[1].Host}
	out := [1][]byte{res[0].Host}
	mn := e.m * e.n
	for i := 0; i < e.batch; i++ {
		if x.Worker.Stop.Stopped() {
			return
		}
		oa, ob := 0, 0
		if e.batch > 1 {
			oa, ob = e.walk.Offsets(i)
		}
		oa, ob = oa*e.m*e.k, ob*e.k*e.n
		switch e.dt {
		case dtype.Float32:
			kernels.Sgemm(x.Pool, x.Worker, false, false, e.m, e.n, e.k, 1, f32s(in[0])[oa:], e.k, f32s(in[1])[ob:], e.n, 0, f32s(out[0])[i*mn:], e.n)
		case dtype.Float64:
			kernels.Dgemm(x.Pool, x.Worker, false, false, e.m, e.n, e.k, 1, f64s(in[0])[oa:], e.k, f64s(in[1])[ob:], e.n, 0, f64s(out[0])[i*mn:], e.n)
		}
	}
}
