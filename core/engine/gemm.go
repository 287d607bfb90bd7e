package engine

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// gemmExec is ONNX Gemm: Y = alpha·op(A)·op(B) + beta·C.
type gemmExec struct {
	dt             dtype.DType
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	hasC           bool
	c              kernels.Strided // broadcast of C to [m, n]
}

func prepareGemm(n *graph.CNode, in []*graph.ValueInfo, out []graph.ValueInfo) (executor, bool, error) {
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
	}
	return e, false, nil
}

func (e *gemmExec) run(x *runCtx, in, out [][]byte) {
	lda, ldb := e.k, e.n
	if e.transA {
		lda = e.m
	}
	if e.transB {
		ldb = e.k
	}
	switch e.dt {
	case dtype.Float32:
		y := f32s(out[0])
		beta := float32(0)
		if e.hasC {
			kernels.BroadcastCopy(&e.c, y, f32s(in[2]))
			beta = float32(e.beta)
		}
		kernels.Sgemm(x.pool, x.worker, e.transA, e.transB, e.m, e.n, e.k, float32(e.alpha), f32s(in[0]), lda, f32s(in[1]), ldb, beta, y, e.n)
	case dtype.Float64:
		y := f64s(out[0])
		beta := 0.0
		if e.hasC {
			kernels.BroadcastCopy(&e.c, y, f64s(in[2]))
			beta = e.beta
		}
		kernels.Dgemm(x.pool, x.worker, e.transA, e.transB, e.m, e.n, e.k, e.alpha, f64s(in[0]), lda, f64s(in[1]), ldb, beta, y, e.n)
	}
}

// matMulExec is numpy matmul: a batch of m×k · k×n products, with the batch
// dims broadcast. offA/offB hold each batch's element offsets.
type matMulExec struct {
	dt         dtype.DType
	m, n, k    int
	offA, offB []int
}

func prepareMatMul(in []*graph.ValueInfo, out []graph.ValueInfo) (executor, bool, error) {
	a, b := in[0].Shape, in[1].Shape
	if len(a) == 1 {
		a = []int64{1, a[0]}
	}
	if len(b) == 1 {
		b = []int64{b[0], 1}
	}
	e := &matMulExec{dt: out[0].DType, m: int(a[len(a)-2]), k: int(a[len(a)-1]), n: int(b[len(b)-1])}
	batchA, batchB := a[:len(a)-2], b[:len(b)-2]
	// B without batch dims: fold A's batch into M, one large product.
	if numel(batchB) == 1 {
		e.m *= numel(batchA)
		e.offA, e.offB = []int{0}, []int{0}
		return e, false, nil
	}
	batch, _ := graph.Broadcast(batchA, batchB)
	s := kernels.NewStrided(batch, batchA, batchB)
	rows, inner := s.Rows()
	total := rows * inner
	// Walk the broadcast batch with a 0/1 matrix trick: offsets come from
	// the strided walk over batch indices.
	ia := make([]int64, numel(batchA))
	ib := make([]int64, numel(batchB))
	for i := range ia {
		ia[i] = int64(i)
	}
	for i := range ib {
		ib[i] = int64(i)
	}
	idxA, idxB := make([]int64, total), make([]int64, total)
	kernels.BroadcastCopy(&s, idxA, ia)
	sb := kernels.NewStrided(batch, batchB, batchA)
	kernels.BroadcastCopy(&sb, idxB, ib)
	for i := 0; i < total; i++ {
		e.offA = append(e.offA, int(idxA[i])*e.m*e.k)
		e.offB = append(e.offB, int(idxB[i])*e.k*e.n)
	}
	return e, false, nil
}

func (e *matMulExec) run(x *runCtx, in, out [][]byte) {
	mn := e.m * e.n
	for i := range e.offA {
		switch e.dt {
		case dtype.Float32:
			kernels.Sgemm(x.pool, x.worker, false, false, e.m, e.n, e.k, 1, f32s(in[0])[e.offA[i]:], e.k, f32s(in[1])[e.offB[i]:], e.n, 0, f32s(out[0])[i*mn:], e.n)
		case dtype.Float64:
			kernels.Dgemm(x.pool, x.worker, false, false, e.m, e.n, e.k, 1, f64s(in[0])[e.offA[i]:], e.k, f64s(in[1])[e.offB[i]:], e.n, 0, f64s(out[0])[i*mn:], e.n)
		}
	}
}
