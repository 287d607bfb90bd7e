package engine

// Matrix products: Gemm and MatMul.

import (
	"math"
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "Gemm", Backend: CPUBackend, DTypes: floatTypes, Compile: compileGemm})
	mustRegister(Kernel{Op: "MatMul", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindMatMul)})
}

// packMinRows is the row count above which a constant B is used packed:
// with fewer rows the GEMM reads B unpacked (its few-row path), so packing
// would cost memory and time for nothing.
const packMinRows = 8

// gemmCompiled is a Gemm node prepared for a Model: a constant B is packed
// into the micro-kernel's panels once, on the first product that can use
// it, and shared by every session.
type gemmCompiled struct {
	transB bool
	b      []byte // B's stored bytes when B is a constant, else nil
	k, n   int
	once   sync.Once
	p32    *kernels.PackedB[float32]
	p64    *kernels.PackedB[float64]
}

func compileGemm(c *CompileCtx) (Compiled, error) {
	gc := &gemmCompiled{transB: c.Node.Attr("transB").Int != 0}
	if b := c.Const(1); b != nil && len(c.In[1].Shape) == 2 {
		gc.b = b
		gc.k, gc.n = int(c.In[1].Shape[0]), int(c.In[1].Shape[1])
		if gc.transB {
			gc.k, gc.n = gc.n, gc.k
		}
	}
	return gc, nil
}

// packed returns B packed, packing it on first use; nil when B is not a
// constant or packing failed (a fault on the mapped file: the run reports it).
func (gc *gemmCompiled) packed(dt dtype.DType) (*kernels.PackedB[float32], *kernels.PackedB[float64]) {
	if gc.b == nil {
		return nil, nil
	}
	gc.once.Do(func() {
		ldb := gc.n
		if gc.transB {
			ldb = gc.k
		}
		if dt == dtype.Float32 {
			gc.p32 = kernels.PackB32(gc.transB, gc.k, gc.n, f32s(gc.b), ldb)
		} else {
			gc.p64 = kernels.PackB64(gc.transB, gc.k, gc.n, f64s(gc.b), ldb)
		}
	})
	return gc.p32, gc.p64
}

func (gc *gemmCompiled) Bind(b *BindCtx) (Executor, error) {
	e, err := newGemmExec(b.Node, b.In, b.Out, b.Threads)
	if err != nil {
		return nil, err
	}
	e.cc = gc
	return e, nil
}

// cMode is how Gemm's C term is computed.
type cMode uint8

const (
	cNone cMode = iota
	cRow        // a row broadcast over Y's rows: the epilogue's bias
	cFull       // anything else: broadcast-copied into Y, then beta·Y
)

// gemmExec is ONNX Gemm, Y = alpha·op(A)·op(B) + beta·C, with an optional
// activation and residual Add fused into its epilogue (fuse.go).
type gemmExec struct {
	dt             dtype.DType
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	cmode          cMode
	c              kernels.Strided // cFull: broadcast of C to [m, n]
	crc            rowChunks       // cFull: the broadcast copy's chunks
	epilogueTail
	cc       *gemmCompiled
	y, cdata []byte
	ep32     kernels.Epilogue[float32]
	ep64     kernels.Epilogue[float64]
}

func newGemmExec(n *graph.CNode, in []*graph.ValueInfo, out []graph.ValueInfo, poolSize int) (*gemmExec, error) {
	e := &gemmExec{dt: out[0].DType, transA: n.Attr("transA").Int != 0, transB: n.Attr("transB").Int != 0,
		alpha: n.Attr("alpha").Float, beta: n.Attr("beta").Float, epilogueTail: newEpilogueTail()}
	e.m, e.n = int(out[0].Shape[0]), int(out[0].Shape[1])
	e.k = int(in[0].Shape[1])
	if e.transA {
		e.k = int(in[0].Shape[0])
	}
	if len(in) > 2 && in[2] != nil && e.beta != 0 {
		if cs := in[2].Shape; numel(cs) == e.n && (len(cs) == 1 || (len(cs) == 2 && cs[0] == 1)) {
			e.cmode = cRow
		} else {
			e.cmode = cFull
			e.c = kernels.NewStrided(out[0].Shape, cs, out[0].Shape)
			rows, inner := e.c.Rows()
			e.crc = splitRows(rows, inner, poolSize)
		}
	}
	return e, nil
}

func (e *gemmExec) Run(x *RunCtx, args, res []Buf) {
	a, b, c, y := args[0].Host, args[1].Host, opt(args, 2), res[0].Host
	lda, ldb := e.k, e.n
	if e.transA {
		lda = e.m
	}
	if e.transB {
		ldb = e.k
	}
	switch {
	case e.cmode == cFull && e.crc.count == 1:
		if e.dt == dtype.Float32 {
			kernels.BroadcastCopy(&e.c, f32s(y), f32s(c))
		} else {
			kernels.BroadcastCopy(&e.c, f64s(y), f64s(c))
		}
	case e.cmode == cFull:
		e.y, e.cdata = y, c
		x.Parallel(e.crc.count, e)
		e.y, e.cdata = nil, nil
	}
	var p32 *kernels.PackedB[float32]
	var p64 *kernels.PackedB[float64]
	if e.cc != nil && e.m > packMinRows {
		p32, p64 = e.cc.packed(e.dt)
	}
	switch e.dt {
	case dtype.Float32:
		beta := float32(0)
		if e.cmode != cNone {
			beta = float32(e.beta)
		}
		ep := e.epilogue32(c, args)
		if p32 != nil {
			kernels.SgemmPacked(x.Pool, x.Worker, e.transA, e.m, float32(e.alpha), f32s(a), lda, p32, beta, f32s(y), e.n, ep)
		} else {
			kernels.SgemmEpilogue(x.Pool, x.Worker, e.transA, e.transB, e.m, e.n, e.k, float32(e.alpha), f32s(a), lda, f32s(b), ldb, beta, f32s(y), e.n, ep)
		}
		e.ep32 = kernels.Epilogue[float32]{}
	case dtype.Float64:
		beta := 0.0
		if e.cmode != cNone {
			beta = e.beta
		}
		ep := e.epilogue64(c, args)
		if p64 != nil {
			kernels.DgemmPacked(x.Pool, x.Worker, e.transA, e.m, e.alpha, f64s(a), lda, p64, beta, f64s(y), e.n, ep)
		} else {
			kernels.DgemmEpilogue(x.Pool, x.Worker, e.transA, e.transB, e.m, e.n, e.k, e.alpha, f64s(a), lda, f64s(b), ldb, beta, f64s(y), e.n, ep)
		}
		e.ep64 = kernels.Epilogue[float64]{}
	}
}

// epilogue32 fills e.ep32 for this run; nil when there is nothing to fuse.
func (e *gemmExec) epilogue32(c []byte, args []Buf) *kernels.Epilogue[float32] {
	if e.cmode != cRow && e.act == kernels.ActNone && e.resArg < 0 {
		return nil
	}
	ep := &e.ep32
	if e.cmode == cRow {
		ep.Bias = f32s(c)
	}
	ep.Act, ep.Op, ep.Alpha, ep.Op2, ep.P2 = e.act, e.op, e.actAlpha, e.op2, e.p2
	if e.act == kernels.ActClip {
		lo, hi := clipBounds(args, e.clipArgs, dtype.Float32)
		ep.Lo, ep.Hi = float32(lo), float32(hi)
	}
	if e.resArg >= 0 {
		ep.Residual, ep.LdR = f32s(args[e.resArg].Host), e.n
	}
	return ep
}

// epilogue64 is epilogue32 for float64.
func (e *gemmExec) epilogue64(c []byte, args []Buf) *kernels.Epilogue[float64] {
	if e.cmode != cRow && e.act == kernels.ActNone && e.resArg < 0 {
		return nil
	}
	ep := &e.ep64
	if e.cmode == cRow {
		ep.Bias = f64s(c)
	}
	ep.Act, ep.Op, ep.Alpha, ep.Op2, ep.P2 = e.act, e.op, e.actAlpha, e.op2, e.p2
	if e.act == kernels.ActClip {
		ep.Lo, ep.Hi = clipBounds(args, e.clipArgs, dtype.Float64)
	}
	if e.resArg >= 0 {
		ep.Residual, ep.LdR = f64s(args[e.resArg].Host), e.n
	}
	return ep
}

// clipBounds reads Clip's optional bounds from the argument buffers at
// idx (-1: absent, unbounded on that side).
func clipBounds(args []Buf, idx [2]int, dt dtype.DType) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	read := func(i int, def float64) float64 {
		if i < 0 || args[i].Host == nil {
			return def
		}
		if dt == dtype.Float32 {
			return float64(f32s(args[i].Host)[0])
		}
		return f64s(args[i].Host)[0]
	}
	return read(idx[0], lo), read(idx[1], hi)
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
