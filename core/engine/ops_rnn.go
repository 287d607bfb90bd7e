package engine

// Recurrent layers: LSTM, GRU and RNN (ONNX semantics, gate orders LSTM
// i,o,f,c and GRU z,r,h). For each direction the input projection of every
// time step is one GEMM up front, X·Wᵀ + bias, into arena scratch; each step
// then adds h·Rᵀ for all gates with one GEMM (GRU without
// linear_before_reset: two, as its candidate needs r first) and applies the
// gate functions row by row. The two directions of a bidirectional layer run
// in parallel.

import (
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: compileRNN})
	}
}

// seqFloat is the element type of the sequence kernels.
type seqFloat interface{ float32 | float64 }

// rnnKind selects the cell.
type rnnKind uint8

const (
	kindLSTM rnnKind = iota
	kindGRU
	kindRNN
)

// rnnCompiled is an RNN-family node prepared for a Model: constant W and R
// are packed once (per direction; GRU without linear_before_reset packs R's
// z,r and h rows apart), on the first run that uses them.
type rnnCompiled struct {
	kind     rnnKind
	g, h, nd int
	lbr      bool
	reverse  bool    // direction "reverse"
	relu     [2]bool // RNN: Relu rather than Tanh, per direction
	w, r     []byte  // stored bytes of W and R, nil when computed
	wShape   []int64
	once     sync.Once
	p32      *rnnPacks[float32]
	p64      *rnnPacks[float64]
}

// rnnPacks holds a direction's packed weights.
type rnnPacks[T seqFloat] struct {
	w, r, rh [2]*kernels.PackedB[T]
}

func compileRNN(c *CompileCtx) (Compiled, error) {
	n := c.Node
	cc := &rnnCompiled{kind: map[string]rnnKind{"LSTM": kindLSTM, "GRU": kindGRU, "RNN": kindRNN}[n.Op],
		g: graph.RNNGates(n.Op), nd: 1, h: int(c.In[2].Shape[2])}
	if hs := n.Attr("hidden_size").Int; hs > 0 {
		cc.h = int(hs) // R's shape may be Dynamic when it is computed
	}
	if n.Attr("direction").String == "bidirectional" {
		cc.nd = 2
	}
	cc.reverse = n.Attr("direction").String == "reverse"
	if n.Op == "GRU" {
		cc.lbr = n.Attr("linear_before_reset").Int != 0
	}
	acts, err := graph.RNNActivations(n, cc.nd)
	if err != nil {
		return nil, err
	}
	if cc.kind == kindRNN {
		for d := 0; d < cc.nd; d++ {
			cc.relu[d] = acts[d] == "Relu"
		}
	}
	if w, r := c.Const(1), c.Const(2); w != nil && r != nil && !hasDynamic(c.In[1].Shape) {
		cc.w, cc.r, cc.wShape = w, r, c.In[1].Shape
	}
	return cc, nil
}

func hasDynamic(s []int64) bool {
	for _, d := range s {
		if d == graph.Dynamic {
			return true
		}
	}
	return false
}

// packs returns the packed weights for T, packing on first use; nil when W
// and R are not constants.
func packs[T seqFloat](cc *rnnCompiled) *rnnPacks[T] {
	if cc.w == nil {
		return nil
	}
	cc.once.Do(func() {
		in, gh, h := int(cc.wShape[2]), cc.g*cc.h, cc.h
		if _, is32 := any(T(0)).(float32); is32 {
			cc.p32 = buildPacks(cc, f32s(cc.w), f32s(cc.r), in, gh, h)
		} else {
			cc.p64 = buildPacks(cc, f64s(cc.w), f64s(cc.r), in, gh, h)
		}
	})
	if p, ok := any(cc.p32).(*rnnPacks[T]); ok && cc.p32 != nil {
		return p
	}
	p, _ := any(cc.p64).(*rnnPacks[T])
	if cc.p64 == nil {
		return nil
	}
	return p
}

func buildPacks[T seqFloat](cc *rnnCompiled, w, r []T, in, gh, h int) *rnnPacks[T] {
	p := &rnnPacks[T]{}
	for d := 0; d < cc.nd; d++ {
		wd, rd := w[d*gh*in:(d+1)*gh*in], r[d*gh*h:(d+1)*gh*h]
		p.w[d] = packBT(in, gh, wd)
		if cc.kind == kindGRU && !cc.lbr {
			p.r[d] = packBT(h, 2*h, rd[:2*h*h])
			p.rh[d] = packBT(h, h, rd[2*h*h:])
		} else {
			p.r[d] = packBT(h, gh, rd)
		}
	}
	return p
}

// packBT packs Bᵀ where B is n×k row-major (a weight matrix applied as x·Bᵀ).
func packBT[T seqFloat](k, n int, b []T) *kernels.PackedB[T] {
	switch b := any(b).(type) {
	case []float32:
		return any(kernels.PackB32(true, k, n, b, k)).(*kernels.PackedB[T])
	case []float64:
		return any(kernels.PackB64(true, k, n, b, k)).(*kernels.PackedB[T])
	}
	return nil
}

// gemmBT computes C = a·Bᵀ + beta·C (C m×n, a m×k, B n×k row-major), from
// pb when packed, with ep's bias (nil: none).
func gemmBT[T seqFloat](p *kernels.Pool, w *kernels.Worker, m, n, k int, a []T, lda int, pb *kernels.PackedB[T], b []T, beta T, c []T, ldc int, ep *kernels.Epilogue[T]) {
	switch a := any(a).(type) {
	case []float32:
		c, ep, beta := any(c).([]float32), any(ep).(*kernels.Epilogue[float32]), float32(beta)
		if pb != nil {
			kernels.SgemmPacked(p, w, false, m, 1, a, lda, any(pb).(*kernels.PackedB[float32]), beta, c, ldc, ep)
		} else {
			kernels.SgemmEpilogue(p, w, false, true, m, n, k, 1, a, lda, any(b).([]float32), k, beta, c, ldc, ep)
		}
	case []float64:
		c, ep, beta := any(c).([]float64), any(ep).(*kernels.Epilogue[float64]), float64(beta)
		if pb != nil {
			kernels.DgemmPacked(p, w, false, m, 1, a, lda, any(pb).(*kernels.PackedB[float64]), beta, c, ldc, ep)
		} else {
			kernels.DgemmEpilogue(p, w, false, true, m, n, k, 1, a, lda, any(b).([]float64), k, beta, c, ldc, ep)
		}
	}
}

// unaryT is kernels.Unary for the sequence kernels' element types.
func unaryT[T seqFloat](op kernels.UnaryOp, out, x []T) { kernels.Unary(op, out, x, 0) }

func (cc *rnnCompiled) Bind(b *BindCtx) (Executor, error) {
	xs := b.In[0].Shape
	layout := int(b.Node.Attr("layout").Int)
	seq, batch := int(xs[0]), int(xs[1])
	if layout == 1 {
		seq, batch = batch, seq
	}
	s := rnnShape{cc: cc, layout: layout, seq: seq, batch: batch, in: int(xs[2])}
	gh, bh := cc.g*cc.h, batch*cc.h
	// Scratch sections, each 64-byte aligned.
	at := 0
	section := func(n int) int {
		o := at
		at += (n + 15) &^ 15
		return o
	}
	s.oXW = section(cc.nd * seq * batch * gh)
	s.oBias = section(cc.nd * gh)
	s.oRB = section(cc.nd * gh)
	s.oH = section(cc.nd * bh)
	s.oC = section(cc.nd * bh)
	s.oExt = section(cc.nd * batch * gh)
	b.Scratch(int64(at * b.Out[0].DType.Size()))
	s.parDirs = cc.nd == 2 && b.Threads > 1
	if b.Out[0].DType == dtype.Float32 {
		return &rnnExec[float32]{rnnShape: s}, nil
	}
	return &rnnExec[float64]{rnnShape: s}, nil
}

// rnnShape is a bound node's sizes and scratch layout (element offsets).
type rnnShape struct {
	cc              *rnnCompiled
	layout          int
	seq, batch, in  int
	oXW, oBias, oRB int
	oH, oC, oExt    int
	parDirs         bool
}

type rnnExec[T seqFloat] struct {
	rnnShape
	x         *RunCtx
	pk        *rnnPacks[T]
	xv, w, r  []T
	bias, rb  []T // per direction: bias added to X·Wᵀ; GRU with lbr: R's bias
	hasB      bool
	scr       []T
	y, yh, yc []T
	h0, c0    []T // initial states, nil when absent
	ep        [2]kernels.Epilogue[T]
}

func (e *rnnExec[T]) Run(x *RunCtx, in, out []Buf) {
	cc := e.cc
	gh := cc.g * cc.h
	e.x, e.pk = x, packs[T](cc)
	e.xv, e.w, e.r = tsl[T](in[0].Host), tsl[T](in[1].Host), tsl[T](in[2].Host)
	e.scr = tsl[T](x.Scratch.Host)
	e.y, e.yh, e.yc = tsl[T](opt(out, 0)), tsl[T](opt(out, 1)), tsl[T](opt(out, 2))
	e.h0, e.c0 = tsl[T](opt(in, 5)), tsl[T](opt(in, 6))
	bsrc := tsl[T](opt(in, 3))
	e.hasB = bsrc != nil
	e.bias = e.scr[e.oBias : e.oBias+cc.nd*gh]
	e.rb = e.scr[e.oRB : e.oRB+cc.nd*gh]
	for d := 0; d < cc.nd; d++ {
		bias, rb := e.bias[d*gh:(d+1)*gh], e.rb[d*gh:(d+1)*gh]
		if bsrc == nil {
			clear(bias)
			continue
		}
		wb, rbs := bsrc[2*d*gh:(2*d+1)*gh], bsrc[(2*d+1)*gh:(2*d+2)*gh]
		copy(rb, rbs)
		for j := range bias {
			bias[j] = wb[j]
			// GRU with linear_before_reset adds Rb_h inside r ⊙ (·).
			if !(cc.kind == kindGRU && cc.lbr && j >= 2*cc.h) {
				bias[j] += rbs[j]
			}
		}
		if cc.kind == kindGRU && cc.lbr {
			// Rb_z and Rb_r are already in bias; only Rb_h stays.
			clear(rb[:2*cc.h])
		}
	}
	// The input projection of every step, for each direction.
	rows := e.seq * e.batch
	for d := 0; d < cc.nd; d++ {
		var pw *kernels.PackedB[T]
		if e.pk != nil {
			pw = e.pk.w[d]
		}
		ep := &e.ep[d]
		*ep = kernels.Epilogue[T]{Bias: e.bias[d*gh : (d+1)*gh]}
		xw := e.scr[e.oXW+d*rows*gh:]
		gemmBT(x.Pool, x.Worker, rows, gh, e.in, e.xv, e.in, pw, e.w[d*gh*e.in:], 1, xw, gh, ep)
		*ep = kernels.Epilogue[T]{}
	}
	if e.parDirs {
		x.Parallel(2, e)
	} else {
		for d := 0; d < cc.nd; d++ {
			e.direction(d, x.Pool, x.Worker)
		}
	}
	e.x, e.pk, e.xv, e.w, e.r, e.scr, e.y, e.yh, e.yc, e.bias, e.rb = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
	e.h0, e.c0 = nil, nil
}

// RunChunk runs direction c of a bidirectional layer.
func (e *rnnExec[T]) RunChunk(c int, w *kernels.Worker) { e.direction(c, nil, w) }

// tsl views bytes as a []T (nil for nil).
func tsl[T seqFloat](b []byte) []T {
	switch any(T(0)).(type) {
	case float32:
		return any(f32s(b)).([]T)
	default:
		return any(f64s(b)).([]T)
	}
}

// stateRow returns the offset of row b of direction d in a state tensor
// (initial_h, Y_h, ...): [nd, batch, H], or [batch, nd, H] for layout 1.
func (s *rnnShape) stateRow(d, b int) int {
	if s.layout == 1 {
		return (b*s.cc.nd + d) * s.cc.h
	}
	return (d*s.batch + b) * s.cc.h
}

// direction runs every step of direction d; p is the pool for its GEMMs
// (nil: serial, when the directions run in parallel).
func (e *rnnExec[T]) direction(d int, p *kernels.Pool, w *kernels.Worker) {
	cc := e.cc
	H, gh, nd, batch, seq := cc.h, cc.g*cc.h, cc.nd, e.batch, e.seq
	bh := batch * H
	h := e.scr[e.oH+d*bh : e.oH+(d+1)*bh]
	c := e.scr[e.oC+d*bh : e.oC+(d+1)*bh]
	ext := e.scr[e.oExt+d*batch*gh : e.oExt+(d+1)*batch*gh]
	xw := e.scr[e.oXW+d*seq*batch*gh:]
	rb := e.rb[d*gh : (d+1)*gh]
	rd := e.r[d*gh*H:]
	for b := 0; b < batch; b++ {
		o := e.stateRow(d, b)
		if e.h0 != nil {
			copy(h[b*H:(b+1)*H], e.h0[o:o+H])
		} else {
			clear(h[b*H : (b+1)*H])
		}
		if e.c0 != nil {
			copy(c[b*H:(b+1)*H], e.c0[o:o+H])
		} else {
			clear(c[b*H : (b+1)*H])
		}
	}
	var pr, prh *kernels.PackedB[T]
	if e.pk != nil {
		pr, prh = e.pk.r[d], e.pk.rh[d]
	}
	reverse := d == 1 || cc.reverse
	stop := e.x.Worker.Stop
	for s := 0; s < seq; s++ {
		if stop.Stopped() {
			return
		}
		t := s
		if reverse {
			t = seq - 1 - s
		}
		// This step's gate rows: row b at gates[b*ld:].
		off, ld := t*batch*gh, gh
		if e.layout == 1 {
			off, ld = t*gh, seq*gh
		}
		gates := xw[off:]
		switch cc.kind {
		case kindLSTM:
			gemmBT(p, w, batch, gh, H, h, H, pr, rd, 1, gates, ld, nil)
			for b := 0; b < batch; b++ {
				g := gates[b*ld : b*ld+gh]
				unaryT(kernels.OpSigmoid, g[:3*H], g[:3*H])
				unaryT(kernels.OpTanh, g[3*H:], g[3*H:])
				gi, go_, gf, gc := g[:H], g[H:2*H], g[2*H:3*H], g[3*H:]
				cb, hb := c[b*H:(b+1)*H], h[b*H:(b+1)*H]
				// c = f·c + i·g, each product rounded, then the sum (the
				// vector rows, where g is spent and holds i·g).
				kernels.BinaryRow(kernels.OpMul, cb, gf, cb)
				kernels.BinaryRow(kernels.OpMul, gc, gi, gc)
				kernels.BinaryRow(kernels.OpAdd, cb, cb, gc)
				unaryT(kernels.OpTanh, gi, cb) // i is spent: it holds tanh(c)
				kernels.BinaryRow(kernels.OpMul, hb, go_, gi)
			}
		case kindGRU:
			if cc.lbr {
				// rec = h·Rᵀ + Rb (Rb_h only: z and r took theirs in bias).
				ep := &e.ep[d]
				*ep = kernels.Epilogue[T]{Bias: rb}
				gemmBT(p, w, batch, gh, H, h, H, pr, rd, 1, ext, gh, ep)
				*ep = kernels.Epilogue[T]{}
				for b := 0; b < batch; b++ {
					g, r := gates[b*ld:b*ld+gh], ext[b*gh:(b+1)*gh]
					for j := 0; j < 2*H; j++ {
						g[j] += r[j]
					}
					unaryT(kernels.OpSigmoid, g[:2*H], g[:2*H])
					gr, gn := g[H:2*H], g[2*H:]
					for j := range gn {
						gn[j] += gr[j] * r[2*H+j]
					}
					unaryT(kernels.OpTanh, gn, gn)
					e.gruUpdate(h[b*H:(b+1)*H], g[:H], gn)
				}
				break
			}
			gemmBT(p, w, batch, 2*H, H, h, H, pr, rd, 1, gates, ld, nil)
			for b := 0; b < batch; b++ {
				g := gates[b*ld : b*ld+2*H]
				unaryT(kernels.OpSigmoid, g, g)
				rh, hb, gr := ext[b*H:(b+1)*H], h[b*H:(b+1)*H], g[H:2*H]
				for j := range rh {
					rh[j] = gr[j] * hb[j]
				}
			}
			gemmBT(p, w, batch, H, H, ext, H, prh, rd[2*H*H:], 1, gates[2*H:], ld, nil)
			for b := 0; b < batch; b++ {
				g := gates[b*ld : b*ld+gh]
				unaryT(kernels.OpTanh, g[2*H:], g[2*H:])
				e.gruUpdate(h[b*H:(b+1)*H], g[:H], g[2*H:])
			}
		case kindRNN:
			gemmBT(p, w, batch, H, H, h, H, pr, rd, 1, gates, ld, nil)
			op := kernels.OpTanh
			if cc.relu[d] {
				op = kernels.OpRelu
			}
			for b := 0; b < batch; b++ {
				g, hb := gates[b*ld:b*ld+H], h[b*H:(b+1)*H]
				unaryT(op, hb, g)
			}
		}
		if e.y != nil {
			for b := 0; b < batch; b++ {
				o := ((t*nd+d)*batch + b) * H
				if e.layout == 1 {
					o = ((b*seq+t)*nd + d) * H
				}
				copy(e.y[o:o+H], h[b*H:(b+1)*H])
			}
		}
	}
	for b := 0; b < batch; b++ {
		o := e.stateRow(d, b)
		if e.yh != nil {
			copy(e.yh[o:o+H], h[b*H:(b+1)*H])
		}
		if e.yc != nil {
			copy(e.yc[o:o+H], c[b*H:(b+1)*H])
		}
	}
}

// gruUpdate is h = (1−z)·n + z·h, computed as torch does: n + z·(h − n).
func (e *rnnExec[T]) gruUpdate(h, z, n []T) {
	for j := range h {
		h[j] = n[j] + z[j]*(h[j]-n[j])
	}
}
