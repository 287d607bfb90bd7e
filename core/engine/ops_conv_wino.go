package engine

// Winograd F(4×4, 3×3) or F(2×2, 3×3) for float32 3×3 stride-1
// convolutions (kernels/winograd4.go, kernels/winograd.go): per pass of
// images, each input channel's padded plane split into its column phases
// and transformed (the pass's images side by side in each transformed
// row), 36 or 16 products with the transformed weights (computed once per
// Model), then each output channel's transform with its bias, activation
// and residual. A pass of several images packs each product's weights once
// for all of them and gives its GEMM more columns (layer3 of resnet18 has
// 49 F(2×2) tiles an image). F(4×4, 3×3) does 36 multiplies a 4×4 tile and
// channel pair where F(2×2, 3×3) does 64, and transforms 36 values for 16
// outputs where it transforms 16 for 4: one image of resnet18's layer1 on
// one core takes 0.96 ms against 1.37 (BenchmarkWinograd).

import (
	"sync"

	"github.com/mle-runtime/mle/kernels"
)

// Winograd takes a layer whose pass (the images that share each product's
// GEMM) has enough tiles for its products to run well (resnet18's
// layer1–3: F(2×2, 3×3) 12–30% faster than direct on one core) and
// transformed weights (16/9 or 36/9 of the weights, streamed from memory
// every run) that stay small next to the pass: layer4 (16 F(2×2) tiles an
// image, 16.8 MB) ran slower at batch 1, and at batch 8 takes 5.4 ms a
// convolution against the direct path's 8.7 (docs/BENCHMARKS.md §15).
const (
	winoMinTiles   = 32       // a pass's tiles
	winoMaxWeights = 8 << 20  // bytes of transformed weights per image of a pass, up to 4 images
	winoMaxScratch = 64 << 20 // bytes: a large image stays direct, whose planes are 4× smaller
)

// winoF4 lets layers take F(4×4, 3×3); tests turn it off to run the
// F(2×2, 3×3) path on the shapes that would take it.
var winoF4 = true

// winoPassBytes bounds the transformed inputs and products of one pass: as
// many images as fit (at least one) share each product's GEMM.
var winoPassBytes = 16 << 20

// winoWeights is a constant Conv's transformed weights, once per Model and
// algorithm: each product's M×C matrix packed for the GEMM, which would
// otherwise pack it again for every product of every run (half the time of
// layer4's products at batch 1). A Model's plans for different batches may
// pick different algorithms.
type winoWeights struct {
	once2, once4 sync.Once
	u2, u4       []*kernels.PackedA[float32]
}

func (ww *winoWeights) get(w []float32, m, c int, f4 bool) []*kernels.PackedA[float32] {
	if f4 {
		ww.once4.Do(func() { ww.u4 = packWino(w, m, c, 36, kernels.Winograd4Filter) })
		return ww.u4
	}
	ww.once2.Do(func() { ww.u2 = packWino(w, m, c, 16, kernels.WinogradFilter) })
	return ww.u2
}

// packWino transforms and packs the weights of np products.
func packWino(w []float32, m, c, np int, filter func(u, w []float32, m, c int)) []*kernels.PackedA[float32] {
	us := make([]*kernels.PackedA[float32], np)
	for i := range us {
		us[i] = kernels.NewPackedA32(m, c)
	}
	// A few row blocks of output channels at a time: the whole of U
	// besides its packing would double the memory it takes while it is
	// made (layer4 of resnet18: 17 MB a convolution).
	rows := min(m, 4*us[0].RowBlock())
	u := make([]float32, np*rows*c)
	for m0 := 0; m0 < m; m0 += rows {
		r := min(rows, m-m0)
		filter(u, w[m0*c*9:], r, c)
		for i, pa := range us {
			pa.PackRows(u[i*r*c:(i+1)*r*c], c, m0, r)
		}
	}
	return us
}

// winoPlan is a Conv run by Winograd at one plan's shapes.
type winoPlan struct {
	f4        bool // F(4×4, 3×3), 36 products; else F(2×2, 3×3), 16
	np        int  // products
	th, tw, t int  // tile grid, tiles an image
	eo        int  // elements of one channel's split plane
	perPass   int  // images a pass
	vs, ms    int  // strides of the transformed inputs and products (perPass images)
	ins, outs rowChunks
	stage     int
	imgs      int                         // images in this pass, from e.img
	u         []*kernels.PackedA[float32] // the packed transformed weights
	v, mt, x  []float32                   // this run's scratch, the pass's input
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
	// F(4×4, 3×3) where it fits, else F(2×2, 3×3).
	var wp *winoPlan
	for _, f4 := range []bool{true, false} {
		if f4 && !winoF4 {
			continue
		}
		if wp = e.winoFits(f4); wp != nil {
			break
		}
	}
	if wp == nil {
		return
	}
	wp.vs = kernels.WinogradStride(e.c * wp.perPass * wp.t)
	wp.ms = kernels.WinogradStride(e.m * wp.perPass * wp.t)
	wp.ins = splitWork(e.c, 16*wp.t, 1, e.threads)
	wp.outs = splitWork(e.m, 16*wp.t, 1, e.threads)
	e.direct, e.wino = nil, wp
}

// winoFits returns the plan of one algorithm (f4: F(4×4, 3×3)) when it
// fits this layer: enough tiles a pass for its products to run well, and
// transformed weights (np/9 of the weights, streamed every run) small next
// to the pass. F(4×4, 3×3) takes resnet18's layer1 and layer2 at batch 1
// (layer3 has 16 of its tiles an image, and 9.4 MB of its weights: it
// measured slower there than F(2×2, 3×3)).
func (e *convExec) winoFits(f4 bool) *winoPlan {
	s := &e.s
	wp := &winoPlan{f4: f4}
	if f4 {
		wp.np = 36
		wp.th, wp.tw = kernels.Winograd4Tiles(s.OH, s.OW)
		wp.eo = kernels.Winograd4SplitElems(wp.th, wp.tw)
	} else {
		wp.np = 16
		wp.th, wp.tw = kernels.WinogradTiles(s.OH, s.OW)
		wp.eo = 2 * (2*wp.th + 2) * kernels.WinogradRow(wp.tw)
	}
	wp.t = wp.th * wp.tw
	perImage := int64(wp.np) * 4 * int64(e.c+e.m) * int64(wp.t)
	if perImage > winoMaxScratch {
		return nil
	}
	wp.perPass = int(max(1, min(int64(e.n), int64(winoPassBytes)/perImage)))
	if wp.perPass*wp.t < winoMinTiles || wp.np*e.c*e.m*4 > winoMaxWeights*min(wp.perPass, 4) {
		return nil
	}
	return wp
}

// scratchElems is the arena scratch: the transformed inputs and the
// products of a pass. (Each input chunk splits its planes in its worker's
// scratch.)
func (wp *winoPlan) scratchElems() int { return wp.np*wp.vs + wp.np*wp.ms }

// Winograd stages, each a parallel loop.
const (
	winoIn = iota
	winoProducts
	winoOut
)

func (e *convExec) runWino(x *RunCtx) {
	wp := e.wino
	sc := f32s(x.Scratch.Host)
	wp.v, wp.mt = sc[:wp.np*wp.vs], sc[wp.np*wp.vs:wp.np*wp.vs+wp.np*wp.ms]
	wp.u = e.packs.wino.get(f32s(e.w), e.m, e.c, wp.f4)
	for i0 := 0; i0 < e.n && !x.Worker.Stop.Stopped(); i0 += wp.perPass {
		e.img, wp.imgs = i0, min(wp.perPass, e.n-i0)
		wp.x = f32s(e.x)[i0*e.c*e.hw : (i0+wp.imgs)*e.c*e.hw]
		wp.stage = winoIn
		x.Parallel(wp.imgs*wp.ins.count, e)
		wp.stage = winoProducts
		x.Parallel(wp.np, e)
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
			if wp.f4 {
				kernels.Winograd4Split(eo, xi[ci*e.hw:(ci+1)*e.hw], s.H, s.W, s.PH, s.PW, wp.th, wp.tw)
				kernels.Winograd4Input(wp.v[img*wp.t:], wp.vs, ld, eo, ci, wp.th, wp.tw)
				continue
			}
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
			if wp.f4 {
				kernels.Winograd4Output(plane, wp.mt[(img-e.img)*wp.t:], wp.ms, ld, b, mo, s.OH, s.OW)
			} else {
				kernels.WinogradOutput(plane, wp.mt[(img-e.img)*wp.t:], wp.ms, ld, b, mo, s.OH, s.OW)
			}
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
