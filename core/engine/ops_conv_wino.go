package engine

// Winograd F(2×2, 3×3) for float32 3×3 stride-1 convolutions
// (kernels/winograd.go): per pass of images, each input channel's padded
// plane split into even and odd columns and transformed (the pass's images
// side by side in each transformed row), 16 products with the transformed
// weights (computed once per Model), then each output channel's transform
// with its bias, activation and residual. A pass of several images packs
// each product's weights once for all of them and gives its GEMM more
// columns (layer3 of resnet18 has 49 tiles an image).

import (
	"sync"

	"github.com/mle-runtime/mle/kernels"
)

// Winograd takes a layer whose pass (the images that share each product's
// GEMM) has enough tiles for its 16 products to run well (resnet18's
// layer1–3: 12–30% faster than direct on one core) and transformed
// weights (16/9 of the weights, streamed from memory every run) that stay
// small next to the pass: layer4 (16 tiles an image, 16.8 MB) ran slower
// at batch 1, and at batch 8 takes 5.4 ms a convolution against the
// direct path's 8.7 (docs/BENCHMARKS.md §15).
const (
	winoMinTiles   = 32       // a pass's tiles
	winoMaxWeights = 8 << 20  // bytes of transformed weights per image of a pass, up to 4 images
	winoMaxScratch = 64 << 20 // bytes: a large image stays direct, whose planes are 4× smaller
)

// winoPassBytes bounds the transformed inputs and products of one pass: as
// many images as fit (at least one) share each product's GEMM.
var winoPassBytes = 16 << 20

// winoWeights is a constant Conv's transformed weights, once per Model:
// each of the 16 products' M×C matrix packed for the GEMM, which would
// otherwise pack it again for every product of every run (half the time of
// layer4's products at batch 1).
type winoWeights struct {
	once sync.Once
	u    [16]*kernels.PackedA[float32]
}

func (ww *winoWeights) get(w []float32, m, c int) *[16]*kernels.PackedA[float32] {
	ww.once.Do(func() {
		for i := range ww.u {
			ww.u[i] = kernels.NewPackedA32(m, c)
		}
		// A few row blocks of output channels at a time: the whole of U
		// besides its packing would double the memory it takes while it
		// is made (layer4 of resnet18: 17 MB a convolution).
		rows := min(m, 4*ww.u[0].RowBlock())
		u := make([]float32, 16*rows*c)
		for m0 := 0; m0 < m; m0 += rows {
			r := min(rows, m-m0)
			kernels.WinogradFilter(u, w[m0*c*9:], r, c)
			for i, pa := range ww.u {
				pa.PackRows(u[i*r*c:(i+1)*r*c], c, m0, r)
			}
		}
	})
	return &ww.u
}

// winoPlan is a Conv run by Winograd at one plan's shapes.
type winoPlan struct {
	th, tw, t int // tile grid, tiles an image
	eo        int // elements of one channel's split plane
	perPass   int // images a pass
	vs, ms    int // strides of the transformed inputs and products (perPass images)
	ins, outs rowChunks
	stage     int
	imgs      int                            // images in this pass, from e.img
	u         *[16]*kernels.PackedA[float32] // the packed transformed weights
	v, mt, x  []float32                      // this run's scratch, the pass's input
}

// maybeWino switches e, planned for the direct path, to Winograd where it
// fits: float32 2-D 3×3 stride 1, ungrouped, enough tiles a pass, and constant
// weights (packs, once per Model: transforming them every run would cost
// more than it saves).
func (e *convExec) maybeWino() {
	s := &e.s
	if e.direct == nil || e.packs == nil || e.group != 1 || s.KH != 3 || s.KW != 3 || s.SH != 1 || s.SW != 1 ||
		s.DH != 1 || s.DW != 1 || !kernels.WinogradAvailable() {
		return
	}
	th, tw := kernels.WinogradTiles(s.OH, s.OW)
	wp := &winoPlan{th: th, tw: tw, t: th * tw}
	wp.eo = 2 * (2*th + 2) * kernels.WinogradRow(tw)
	perImage := 16 * 4 * int64(e.c+e.m) * int64(wp.t)
	if perImage > winoMaxScratch {
		return
	}
	wp.perPass = int(max(1, min(int64(e.n), int64(winoPassBytes)/perImage)))
	if wp.perPass*wp.t < winoMinTiles || 16*e.c*e.m*4 > winoMaxWeights*min(wp.perPass, 4) {
		return
	}
	wp.vs = kernels.WinogradStride(e.c * wp.perPass * wp.t)
	wp.ms = kernels.WinogradStride(e.m * wp.perPass * wp.t)
	wp.ins = splitWork(e.c, 16*wp.t, 1, e.threads)
	wp.outs = splitWork(e.m, 16*wp.t, 1, e.threads)
	e.direct, e.wino = nil, wp
}

// scratchElems is the arena scratch: the transformed inputs and the
// products of a pass. (Each input chunk splits its planes in its worker's
// scratch.)
func (wp *winoPlan) scratchElems() int { return 16*wp.vs + 16*wp.ms }

// Winograd stages, each a parallel loop.
const (
	winoIn = iota
	winoProducts
	winoOut
)

func (e *convExec) runWino(x *RunCtx) {
	wp := e.wino
	sc := f32s(x.Scratch.Host)
	wp.v, wp.mt = sc[:16*wp.vs], sc[16*wp.vs:16*wp.vs+16*wp.ms]
	wp.u = e.packs.wino.get(f32s(e.w), e.m, e.c)
	for i0 := 0; i0 < e.n && !x.Worker.Stop.Stopped(); i0 += wp.perPass {
		e.img, wp.imgs = i0, min(wp.perPass, e.n-i0)
		wp.x = f32s(e.x)[i0*e.c*e.hw : (i0+wp.imgs)*e.c*e.hw]
		wp.stage = winoIn
		x.Parallel(wp.imgs*wp.ins.count, e)
		wp.stage = winoProducts
		x.Parallel(16, e)
		wp.stage = winoOut
		x.Parallel(wp.imgs*wp.outs.count, e)
	}
	wp.v, wp.mt, wp.u, wp.x = nil, nil, nil, nil
}

func (e *convExec) winoChunk(c int, w *kernels.Worker) {
	wp := e.wino
	s := &e.s
	ld := wp.imgs * wp.t // a transformed row: the pass's images side by side
	switch wp.stage {
	case winoIn:
		img := c / wp.ins.count
		c0, c1 := wp.ins.bounds(c % wp.ins.count)
		eo := workerScratch[float32](w, wp.eo)
		xi := wp.x[img*e.c*e.hw:]
		for ci := c0; ci < c1; ci++ {
			kernels.WinogradSplit(eo, xi[ci*e.hw:(ci+1)*e.hw], s.H, s.W, s.PH, s.PW, wp.th, wp.tw)
			kernels.WinogradInput(wp.v[img*wp.t:], wp.vs, ld, eo, ci, wp.th, wp.tw)
		}
	case winoProducts:
		kernels.SgemmPackedA(nil, w, wp.u[c], false, ld, 1, wp.v[c*wp.vs:c*wp.vs+e.c*ld], ld, 0, wp.mt[c*wp.ms:c*wp.ms+e.m*ld], ld, nil)
	case winoOut:
		img := e.img + c/wp.outs.count
		m0, m1 := wp.outs.bounds(c % wp.outs.count)
		var bias []float32
		if e.bias != nil {
			bias = f32s(e.bias)
		}
		y := f32s(e.y)[img*e.m*e.p:]
		ep := epilogueOf[float32](&e.epilogueTail, e.lo, e.hi)
		var res []float32
		if e.res != nil {
			res = f32s(e.res)[img*e.m*e.p:]
		}
		for mo := m0; mo < m1; mo++ {
			var b float32
			if bias != nil {
				b = bias[mo]
			}
			plane := y[mo*e.p : (mo+1)*e.p]
			kernels.WinogradOutput(plane, wp.mt[(img-e.img)*wp.t:], wp.ms, ld, b, mo, s.OH, s.OW)
			if ep.Act != kernels.ActNone || res != nil || ep.ReluAfter {
				var r []float32
				if res != nil {
					r = res[mo*e.p : (mo+1)*e.p]
				}
				ep.FinishRun(plane, r)
			}
		}
	}
}
