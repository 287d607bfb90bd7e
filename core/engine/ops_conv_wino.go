package engine

// Winograd F(2×2, 3×3) for float32 3×3 stride-1 convolutions
// (kernels/winograd.go): per image, each input channel's padded plane split
// into even and odd columns and transformed, 16 products with the
// transformed weights (computed once per Model), then each output
// channel's transform with its bias, activation and residual.

import (
	"sync"

	"github.com/mle-runtime/mle/kernels"
)

// Winograd takes a layer with enough tiles for its 16 products to run well
// (resnet18's layer1–3: 12–30% faster than direct on one core) and
// transformed weights (16/9 of the weights, streamed from memory every
// run) that stay small: layer4 (16 tiles, 16.8 MB) ran slower.
const (
	winoMinTiles   = 32
	winoMaxWeights = 8 << 20  // bytes of transformed weights
	winoMaxScratch = 64 << 20 // bytes: a large image stays direct, whose planes are 4× smaller
)

// winoWeights is a constant Conv's transformed weights, once per Model.
type winoWeights struct {
	once sync.Once
	u    []float32
}

func (ww *winoWeights) get(w []float32, m, c int) []float32 {
	ww.once.Do(func() {
		ww.u = make([]float32, 16*c*m)
		kernels.WinogradFilter(ww.u, w, m, c)
	})
	return ww.u
}

// winoPlan is a Conv run by Winograd at one plan's shapes.
type winoPlan struct {
	th, tw, t   int // tile grid, tiles
	eo          int // elements of one channel's split plane
	vs, ms      int // strides of the transformed inputs and products
	ins, outs   rowChunks
	stage       int
	u, v, mt, x []float32 // this run's weights and scratch, the image's input
	eoAll       []float32
}

// maybeWino switches e, planned for the direct path, to Winograd where it
// fits: float32 2-D 3×3 stride 1, ungrouped, enough tiles, and constant
// weights (packs, once per Model: transforming them every run would cost
// more than it saves).
func (e *convExec) maybeWino() {
	s := &e.s
	if e.direct == nil || e.packs == nil || e.group != 1 || s.KH != 3 || s.KW != 3 || s.SH != 1 || s.SW != 1 ||
		s.DH != 1 || s.DW != 1 || !kernels.WinogradAvailable() {
		return
	}
	th, tw := kernels.WinogradTiles(s.OH, s.OW)
	if th*tw < winoMinTiles || 16*e.c*e.m*4 > winoMaxWeights {
		return
	}
	wp := &winoPlan{th: th, tw: tw, t: th * tw}
	wp.eo = 2 * (2*th + 2) * kernels.WinogradRow(tw)
	wp.vs, wp.ms = kernels.WinogradStride(e.c*wp.t), kernels.WinogradStride(e.m*wp.t)
	wp.ins = splitWork(e.c, 16*wp.t, 1, e.threads)
	wp.outs = splitWork(e.m, 16*wp.t, 1, e.threads)
	if 4*int64(wp.scratchElems()) > winoMaxScratch {
		return
	}
	e.direct, e.wino = nil, wp
}

// scratchElems is the arena scratch: a split plane per input chunk, the
// transformed inputs and the products.
func (wp *winoPlan) scratchElems() int {
	return roundUpInt(wp.ins.count*wp.eo, 16) + 16*wp.vs + 16*wp.ms
}

// Winograd stages, each a parallel loop.
const (
	winoIn = iota
	winoProducts
	winoOut
)

func (e *convExec) runWino(x *RunCtx) {
	wp := e.wino
	sc := f32s(x.Scratch.Host)
	n := roundUpInt(wp.ins.count*wp.eo, 16)
	wp.eoAll, wp.v, wp.mt = sc[:n], sc[n:n+16*wp.vs], sc[n+16*wp.vs:n+16*wp.vs+16*wp.ms]
	wp.u = e.packs.wino.get(f32s(e.w), e.m, e.c)
	for img := 0; img < e.n && !x.Worker.Stop.Stopped(); img++ {
		e.img = img
		wp.x = f32s(e.x)[img*e.c*e.hw : (img+1)*e.c*e.hw]
		wp.stage = winoIn
		x.Parallel(wp.ins.count, e)
		wp.stage = winoProducts
		x.Parallel(16, e)
		wp.stage = winoOut
		x.Parallel(wp.outs.count, e)
	}
	wp.eoAll, wp.v, wp.mt, wp.u, wp.x = nil, nil, nil, nil, nil
}

func (e *convExec) winoChunk(c int, w *kernels.Worker) {
	wp := e.wino
	s := &e.s
	switch wp.stage {
	case winoIn:
		c0, c1 := wp.ins.bounds(c)
		eo := wp.eoAll[c*wp.eo : (c+1)*wp.eo]
		for ci := c0; ci < c1; ci++ {
			kernels.WinogradSplit(eo, wp.x[ci*e.hw:(ci+1)*e.hw], s.H, s.W, s.PH, s.PW, wp.th, wp.tw)
			kernels.WinogradInput(wp.v, eo, e.c, ci, wp.th, wp.tw)
		}
	case winoProducts:
		kernels.SgemmEpilogue(nil, w, false, false, e.m, wp.t, e.c, 1, wp.u[c*e.m*e.c:(c+1)*e.m*e.c], e.c,
			wp.v[c*wp.vs:c*wp.vs+e.c*wp.t], wp.t, 0, wp.mt[c*wp.ms:c*wp.ms+e.m*wp.t], wp.t, nil)
	case winoOut:
		m0, m1 := wp.outs.bounds(c)
		var bias []float32
		if e.bias != nil {
			bias = f32s(e.bias)
		}
		y := f32s(e.y)[e.img*e.m*e.p:]
		ep := kernels.Epilogue[float32]{Act: e.act, Op: e.op, Alpha: e.actAlpha, Lo: float32(e.lo), Hi: float32(e.hi), Op2: e.op2, P2: e.p2}
		var res []float32
		if e.res != nil {
			res = f32s(e.res)[e.img*e.m*e.p:]
		}
		for mo := m0; mo < m1; mo++ {
			var b float32
			if bias != nil {
				b = bias[mo]
			}
			plane := y[mo*e.p : (mo+1)*e.p]
			kernels.WinogradOutput(plane, wp.mt, b, e.m, mo, s.OH, s.OW)
			if e.act != kernels.ActNone || res != nil {
				var r []float32
				if res != nil {
					r = res[mo*e.p : (mo+1)*e.p]
				}
				ep.FinishRun(plane, r)
			}
		}
	}
}
