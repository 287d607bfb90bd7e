package engine

// Conv and ConvTranspose (NCW / NCHW). A float32 Conv runs on the direct
// kernels where this build has them (kernels/convdirect.go): phase planes
// of the input, a register tile read through tap offsets, weights packed
// once per Model; a float32 depthwise Conv (one input and one output
// channel per group) runs 16 channels to a vector (kernels/dwblocked.go).
// Otherwise Conv is a GEMM per image and group, Y[M, P] = W[M, K] ·
// col[K, P] (K = C/group·KH·KW, P = OH·OW), with the weights as A and the
// im2col matrix built in column tiles that stay in cache until the GEMM
// reads them; a 1×1 stride-1 unpadded conv reads X directly. Bias is
// written into Y's tile before the GEMM (beta = 1); activation and
// residual run in the GEMM epilogue. Depthwise convs (one input channel
// per group) without those kernels use phase-plane axpys
// (kernels/depthwise.go).

import (
	"sync"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "Conv", Backend: CPUBackend, DTypes: floatTypes, Compile: compileConv})
	mustRegister(Kernel{Op: "ConvTranspose", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindConvTranspose)})
}

// convCompiled is a Conv prepared for a Model. Folded, when set, holds the
// weights and bias with a following BatchNormalization folded in (fuse.go).
type convCompiled struct {
	packs *convPacks // constant weights: packed for the direct kernels
}

func compileConv(c *CompileCtx) (Compiled, error) {
	cc := &convCompiled{}
	if c.Const(1) != nil {
		cc.packs = &convPacks{}
	}
	return cc, nil
}

func (cc *convCompiled) Bind(b *BindCtx) (Executor, error) {
	e, err := newConvExec(b.Node, b.In, b.Out[0].Shape, b.Threads)
	if err != nil {
		return nil, err
	}
	e.packs = cc.packs
	e.maybeWino()
	b.Scratch(e.scratchBytes())
	return e, nil
}

// convPacks holds a constant Conv's weights (BN-folded where the Conv's
// group folds one) packed for the direct kernels: once per Model and tile
// height, on the first run that needs them, and shared by every session.
type convPacks struct {
	mu   sync.Mutex
	by   map[int][]float32 // by DirectConv.Rows()
	dw   []float32         // for the blocked depthwise kernels
	wino winoWeights
}

// dwPlan is a depthwise plan of the kernels: kernels.DepthwiseRows, which
// reads the weights as they are stored, or kernels.DepthwiseBlocked, which
// packs them.
type dwPlan interface {
	weightLayout
	Tasks() int
	TaskElems() int
	Run(y, x, w, bias []float32, t int, ep *kernels.Epilogue[float32], scratch []float32)
}

// dwRowsMinWidth is the narrowest output row the row-wise depthwise path
// takes: 7 of a vector's 16 lanes left mobilenet's 7×7 layers slower than
// the blocked path (stride 1: 50 against 29 µs on one core; stride 2, 14
// to 7: 42 against 19), 14 tied, and 28 to 56 gained a third at stride 1
// and 40–45% at stride 2 (BenchmarkDepthwise).
const dwRowsMinWidth = 12

func (c *convPacks) getDW(d *kernels.DepthwiseBlocked, w []float32) []float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dw == nil {
		c.dw = make([]float32, d.PackedElems())
		d.PackWeights(c.dw, w)
	}
	return c.dw
}

func (c *convPacks) get(d *kernels.DirectConv, w []float32) []float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.by[d.Rows()]; ok {
		return p
	}
	p := make([]float32, d.PackedElems())
	d.PackWeights(p, w)
	if c.by == nil {
		c.by = map[int][]float32{}
	}
	c.by[d.Rows()] = p
	return p
}

// convTileElems is the im2col tile an image's GEMM takes at a time: 2 MiB
// of float32, about this machine's L2. Each tile's GEMM packs W again, so
// wider tiles pay that less often: resnet18 ran 20% faster than with
// 256 KiB tiles, and 4 MiB measured no better (docs/BENCHMARKS.md §15).
const convTileElems = 512 << 10

// convExec runs a Conv, with what fusion adds: an activation and a
// residual in the epilogue, and BN-folded weights.
type convExec struct {
	dt             dtype.DType
	n, c, m, group int
	cg, mg, k      int // channels per group in and out; GEMM depth
	p, hw          int // output and input positions per image
	s              kernels.ConvShape
	pointwise      bool // 1×1, stride 1, unpadded: X is the GEMM's B
	depthwise      bool // one input channel per group: direct
	tile, tiles    int  // GEMM column tile and tiles per image
	whole          bool // one pooled GEMM per image and group (few columns)
	wOwn, bOwn     []byte
	hasBias        bool
	epilogueTail
	lo, hi              float64 // Clip bounds for this run
	rc                  rowChunks
	ep32                []kernels.Epilogue[float32] // per tile
	ep64                []kernels.Epilogue[float64]
	img                 int // the image being run (tiled mode)
	x, w, bias, y, res  []byte
	scratch             []byte
	threads             int
	elem                int
	colPerTile, colSize int       // elements
	wino                *winoPlan // Winograd (float32 3×3 stride 1, constant weights)
	// The depthwise path (float32, where this build has it): row-wise or
	// channel-blocked.
	dw dwPlan
	// The direct path (float32 where this build has the kernels):
	direct      *kernels.DirectConv
	packs       *convPacks  // nil: weights packed into scratch every run
	perPass     int         // images per pass
	split, pass directSplit // the split of a full pass, and of this one
	imgs        int         // images in this pass, from e.img
	computing   bool        // RunChunk computes tasks (else it builds planes)
	// A scaled group (fuse.go): the run's input is x unscaled, and the
	// packed weights' taps are multiplied by the per-channel scales at
	// argument scaleArg (-1: none), an image's own when scaleImages.
	scaleArg                int
	scaleFirst, scaleImages bool
	scale                   []byte
	planes, pw              []float32 // this run's planes and packed weights
	biasPad                 []float32
}

func newConvExec(n *graph.CNode, in []*graph.ValueInfo, outShape []int64, threads int) (*convExec, error) {
	xs, ws := in[0].Shape, in[1].Shape
	if len(xs) != 3 && len(xs) != 4 {
		return nil, errs.New(errs.UnsupportedFeature, "Conv %q: input rank %d; MLE supports 3 and 4", n.Name, len(xs))
	}
	g, err := graph.ResolveConvGeom(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	e := &convExec{dt: in[0].DType, n: int(xs[0]), c: int(xs[1]), m: int(ws[0]), group: int(n.Attr("group").Int),
		epilogueTail: newEpilogueTail(), threads: threads, scaleArg: -1}
	e.elem = e.dt.Size()
	e.cg, e.mg = e.c/e.group, e.m/e.group
	e.s = convShape(xs, g)
	e.k = e.cg * e.s.KH * e.s.KW
	e.p, e.hw = e.s.OH*e.s.OW, e.s.H*e.s.W
	e.hasBias = len(in) > 2 && in[2] != nil
	e.depthwise = e.cg == 1 && e.group > 1
	e.pointwise = e.s.KH == 1 && e.s.KW == 1 && e.s.SH == 1 && e.s.SW == 1 && e.s.PH == 0 && e.s.PW == 0 &&
		e.s.OH == e.s.H && e.s.OW == e.s.W
	if e.dt == dtype.Float32 && e.depthwise && e.mg == 1 {
		if d := kernels.NewDepthwiseRows(&e.s, e.c, e.n, threads); d != nil && e.s.OW >= dwRowsMinWidth {
			e.dw = d
			return e, nil
		}
		if d := kernels.NewDepthwiseBlocked(&e.s, e.c, e.n, threads); d != nil {
			e.dw = d
			return e, nil
		}
	}
	if e.dt == dtype.Float32 && e.p >= directMinPositions {
		if e.direct = kernels.NewDirectConv(&e.s, e.c, e.group, e.mg); e.direct != nil {
			e.planDirect(threads)
			return e, nil
		}
	}
	if e.depthwise {
		e.rc = splitWork(e.n*e.m, e.p, e.s.KH*e.s.KW, threads)
		return e, nil
	}
	budget := convTileElems
	if e.pointwise {
		budget *= 4 // no copy: the tile only bounds the GEMM's B
	}
	e.tile = max(64, budget/max(e.k, 1)/16*16) // narrower tiles starve the 32-wide micro-kernel
	if threads > 1 && e.p >= 2*threads*32 {
		e.tile = min(e.tile, roundUpInt((e.p+2*threads-1)/(2*threads), 16))
	}
	e.tile = min(e.tile, e.p)
	e.tiles = (e.p + e.tile - 1) / e.tile
	e.whole = threads > 1 && e.tiles < threads
	if e.whole {
		e.tile, e.tiles = e.p, 1
	}
	if !e.pointwise {
		e.colPerTile = e.k * e.tile
		e.colSize = e.colPerTile * e.tiles
	}
	e.ep32 = make([]kernels.Epilogue[float32], e.tiles)
	e.ep64 = make([]kernels.Epilogue[float64], e.tiles)
	return e, nil
}

func roundUpInt(n, m int) int { return (n + m - 1) / m * m }

// convShape maps a resolved geometry onto the kernels' 2-D ConvShape (1-D:
// H = KH = 1).
func convShape(xs []int64, g *graph.ConvGeom) kernels.ConvShape {
	s := kernels.ConvShape{H: 1, KH: 1, SH: 1, DH: 1, OH: 1}
	last := len(g.Kernel) - 1
	s.W, s.KW, s.SW, s.DW = int(xs[len(xs)-1]), int(g.Kernel[last]), int(g.Strides[last]), int(g.Dilations[last])
	s.PW, s.PWE, s.OW = int(g.PadBegin[last]), int(g.PadEnd[last]), int(g.Out[last])
	if last == 1 {
		s.H, s.KH, s.SH, s.DH = int(xs[2]), int(g.Kernel[0]), int(g.Strides[0]), int(g.Dilations[0])
		s.PH, s.PHEnd, s.OH = int(g.PadBegin[0]), int(g.PadEnd[0]), int(g.Out[0])
	}
	return s
}

// directMinPositions is the fewest output positions per image that take
// the direct path: with fewer, most of its 16-position vectors would be
// padding, while the GEMM's few-column path fits them.
const directMinPositions = 16

// directPlaneBudget bounds the planes one pass of the direct path builds
// (bytes): a batch runs in passes of as many images as fit, each task of a
// pass reading its blocks of weights once for all of the pass's images.
const directPlaneBudget = 16 << 20

// planDirect sets the images per pass and the task split of a full pass.
func (e *convExec) planDirect(threads int) {
	d := e.direct
	e.threads = threads
	e.perPass = e.n
	if per := d.PlaneElems(1) * 4; per > 0 {
		e.perPass = min(e.n, max(1, directPlaneBudget/per))
	}
	e.split = e.directSplit(e.perPass)
}

// directSplit splits each group of n images' direct convolution into
// tq × tb tasks (position ranges × channel-block ranges). Every task reads
// the weights of its channel blocks and the planes of its positions, so a
// split along positions reads all the weights once more and one along
// channels all the planes: the split picked moves the fewest bytes (a layer
// with large weights and few positions splits its channels).
func (e *convExec) directSplit(n int) directSplit {
	mb, qb := e.direct.Blocks()
	qb *= n
	if qb == 0 || mb == 0 { // no images: nothing to split (plans give empty outputs no kernel)
		return directSplit{gPer: 1, tq: 1, tb: 1, nqPer: 1, nbPer: 1}
	}
	want := 1
	if e.threads > 1 {
		want = 3 * e.threads // enough that uneven tasks even out
	}
	var sp directSplit
	if e.group >= want {
		// Many groups (depthwise): tasks of whole groups, whose epilogue
		// is one run over their channels.
		sp.gPer = (e.group + want - 1) / want
		sp.tq, sp.tb, sp.nqPer, sp.nbPer = 1, 1, qb, mb
		sp.build, sp.buildParts = e.buildSplit(n)
		return sp
	}
	sp.gPer = 1
	perGroup := max(1, (want+e.group-1)/e.group)
	wBytes, xBytes := float64(e.mg*e.k), float64(n*e.cg*e.hw)
	best := -1.0
	for tq := 1; tq <= min(qb, perGroup); tq++ {
		tb := min(mb, (perGroup+tq-1)/tq)
		if cost := float64(tq)*wBytes + float64(tb)*xBytes; best < 0 || cost < best {
			best, sp.tq, sp.tb = cost, tq, tb
		}
	}
	sp.nqPer, sp.nbPer = (qb+sp.tq-1)/sp.tq, (mb+sp.tb-1)/sp.tb
	// Along the one split dimension, sizes that spread evenly over the
	// threads: layer4 of resnet18 (16 blocks) in 6 tasks of 3 left one
	// thread 9 blocks and the other 7.
	switch {
	case sp.tq == 1 && sp.tb > 1:
		sp.nbPer = evenPer(mb, sp.nbPer, e.threads)
	case sp.tb == 1 && sp.tq > 1:
		sp.nqPer = evenPer(qb, sp.nqPer, e.threads)
	}
	sp.tq, sp.tb = (qb+sp.nqPer-1)/sp.nqPer, (mb+sp.nbPer-1)/sp.nbPer
	sp.build, sp.buildParts = e.buildSplit(n)
	return sp
}

// buildSplit splits the building of n images' planes: chunks of channels,
// or, with fewer channels than two a thread (an image's three colours),
// parts of each channel's rows, so that both threads build.
func (e *convExec) buildSplit(n int) (rowChunks, int) {
	ch := n * e.c
	if e.threads > 1 && ch > 0 && ch < 2*e.threads && ch*e.hw >= parallelMin {
		parts := (2*e.threads + ch - 1) / ch
		return rowChunks{rows: ch * parts, size: 1, count: ch * parts}, parts
	}
	return splitWork(ch, e.hw, 1, e.threads), 1
}

// evenPer returns the items per task, near per, that split n items into
// tasks the threads finish together: the fewest items on the busiest
// thread when each takes the next task as it finishes one, then the size
// nearest per.
func evenPer(n, per, threads int) int {
	best, bestSpan := per, 0
	for p := 1; p <= n; p++ {
		tasks := (n + p - 1) / p
		span := (tasks + threads - 1) / threads * p // the busiest thread's items, at worst
		if last := n - (tasks-1)*p; tasks%threads == 1 && threads > 1 {
			span = (tasks-1)/threads*p + last // its extra task is the short last one
		}
		if bestSpan == 0 || span < bestSpan || span == bestSpan && abs(p-per) < abs(best-per) {
			best, bestSpan = p, span
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// directSplit is how one pass of the direct path runs in parallel.
type directSplit struct {
	build        rowChunks // phase-plane building: chunks of the pass's channels
	buildParts   int       // > 1: chunks are parts of one channel's rows
	gPer         int       // groups per task
	tq, tb       int       // each group's position and channel blocks split in tq × tb tasks
	nqPer, nbPer int       // blocks per task
}

// scratchBytes is the arena scratch a run needs: the im2col tiles, or the
// direct path's planes and padded bias (and its packed weights when they
// are not a constant's).
func (e *convExec) scratchBytes() int64 {
	if e.wino != nil {
		return 4 * int64(e.wino.scratchElems())
	}
	if d := e.dw; d != nil {
		n := int64(roundUpInt(d.BiasElems(), 16))
		if e.packs == nil {
			n += int64(d.PackedElems())
		}
		return 4 * n
	}
	if d := e.direct; d != nil {
		n := int64(roundUpInt(d.PlaneElems(e.perPass), 16)) + int64(roundUpInt(d.BiasElems(), 16))
		if e.packs == nil {
			n += int64(roundUpInt(d.PackedElems(), 16))
		}
		if e.scaleArg >= 0 {
			n += int64(d.PackedElems())
		}
		return 4 * n
	}
	return int64(e.colSize) * int64(e.elem)
}

func (e *convExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.w, e.bias, e.y = in[0].Host, in[1].Host, opt(in, 2), out[0].Host
	if e.wOwn != nil {
		e.w, e.bias = e.wOwn, e.bOwn
	} else if !e.hasBias {
		e.bias = nil
	}
	e.res = nil
	if e.resArg >= 0 {
		e.res = in[e.resArg].Host
	}
	e.scale = nil
	if e.scaleArg >= 0 {
		e.scale = in[e.scaleArg].Host
	}
	if e.act == kernels.ActClip {
		e.lo, e.hi = clipBounds(in, e.clipArgs, e.dt)
	}
	e.scratch = nil
	if need := e.colSize * e.elem; need > 0 && len(x.Scratch.Host) >= need {
		e.scratch = x.Scratch.Host
	}
	switch {
	case e.wino != nil:
		e.runWino(x)
	case e.dw != nil:
		e.runDW(x)
	case e.direct != nil:
		e.runDirect(x)
	case e.depthwise:
		x.Parallel(e.rc.count, e)
	case e.whole:
		for img := 0; img < e.n && !x.Worker.Stop.Stopped(); img++ {
			if e.dt == dtype.Float32 {
				convImage(e, x.Pool, x.Worker, img, 0, f32s, e.ep32)
			} else {
				convImage(e, x.Pool, x.Worker, img, 0, f64s, e.ep64)
			}
		}
	default:
		for img := 0; img < e.n && !x.Worker.Stop.Stopped(); img++ {
			e.img = img
			x.Parallel(e.tiles, e)
		}
	}
	e.x, e.w, e.bias, e.y, e.res, e.scratch = nil, nil, nil, nil, nil, nil
}

// runDirect runs the direct path a pass of images at a time: the phase
// planes, then the tasks, each a parallel loop.
func (e *convExec) runDirect(x *RunCtx) {
	d := e.direct
	sc := f32s(x.Scratch.Host)
	pe := roundUpInt(d.PlaneElems(e.perPass), 16)
	e.layWeights(d, sc[pe:], func() []float32 { return e.packs.get(d, f32s(e.w)) })
	var packed, scaled []float32
	if e.scale != nil {
		at := pe + roundUpInt(d.BiasElems(), 16)
		if e.packs == nil {
			at += roundUpInt(d.PackedElems(), 16)
		}
		packed, scaled = e.pw, sc[at:at+d.PackedElems()]
	}
	for i0 := 0; i0 < e.n && !x.Worker.Stop.Stopped(); i0 += e.perPass {
		if scaled != nil && (i0 == 0 || e.scaleImages) {
			s := f32s(e.scale)
			if e.scaleImages {
				s = s[i0*e.c : (i0+1)*e.c]
			}
			d.ScaleTaps(scaled, packed, s)
			e.pw = scaled
		}
		e.img, e.imgs = i0, min(e.perPass, e.n-i0)
		e.pass = e.split
		if e.imgs < e.perPass {
			e.pass = e.directSplit(e.imgs)
		}
		if d.Pointwise() {
			e.planes = f32s(e.x)[i0*e.c*e.hw : (i0+e.imgs)*e.c*e.hw]
		} else {
			e.planes = sc[:d.PlaneElems(e.imgs)]
			e.computing = false
			x.Parallel(e.pass.build.count, e)
		}
		e.computing = true
		x.Parallel((e.group+e.pass.gPer-1)/e.pass.gPer*e.pass.tq*e.pass.tb, e)
	}
	e.planes, e.pw, e.biasPad = nil, nil, nil
}

// weightLayout is what the direct and the blocked depthwise plans share:
// a padded bias and weights packed for their kernels.
type weightLayout interface {
	BiasElems() int
	PadBias(dst, b []float32)
	PackedElems() int
	PackWeights(dst, w []float32)
}

// layWeights sets e.biasPad to d's padded bias at the start of sc, and
// e.pw to the packed weights: packed() for a constant's (once per Model),
// else packed into sc after the bias, every run.
func (e *convExec) layWeights(d weightLayout, sc []float32, packed func() []float32) {
	be := roundUpInt(d.BiasElems(), 16)
	e.biasPad = sc[:d.BiasElems()]
	var bias []float32
	if e.bias != nil {
		bias = f32s(e.bias)
	}
	d.PadBias(e.biasPad, bias)
	if e.packs != nil {
		e.pw = packed()
		return
	}
	e.pw = sc[be : be+d.PackedElems()]
	d.PackWeights(e.pw, f32s(e.w))
}

// runDW runs the blocked depthwise path: the padded bias (and the packed
// weights, when they are not a constant) in scratch, then the tasks.
func (e *convExec) runDW(x *RunCtx) {
	d := e.dw
	e.layWeights(d, f32s(x.Scratch.Host), func() []float32 {
		if b, ok := d.(*kernels.DepthwiseBlocked); ok {
			return e.packs.getDW(b, f32s(e.w))
		}
		return f32s(e.w) // the row-wise kernels read them as stored
	})
	x.Parallel(d.Tasks(), e)
	e.pw, e.biasPad = nil, nil
}

// dwChunk runs task c of the blocked depthwise path.
func (e *convExec) dwChunk(c int, w *kernels.Worker) {
	ep := epilogueOf[float32](&e.epilogueTail, e.lo, e.hi)
	if e.res != nil {
		ep.Residual, ep.LdR = f32s(e.res), e.p
	}
	sc := workerScratch[float32](w, e.dw.TaskElems())
	// Concrete calls: through the interface &ep would escape, a heap
	// allocation per task and run (and a GC cycle every ~200 runs of
	// mobilenet).
	switch d := e.dw.(type) {
	case *kernels.DepthwiseRows:
		d.Run(f32s(e.y), f32s(e.x), e.pw, e.biasPad, c, &ep, sc)
	case *kernels.DepthwiseBlocked:
		d.Run(f32s(e.y), f32s(e.x), e.pw, e.biasPad, c, &ep, sc)
	}
}

// directChunk builds chunk c of the pass's planes, or computes task c.
func (e *convExec) directChunk(c int, w *kernels.Worker) {
	d := e.direct
	sp := &e.pass
	if !e.computing {
		x := f32s(e.x)[e.img*e.c*e.hw : (e.img+e.imgs)*e.c*e.hw]
		if sp.buildParts > 1 {
			// Chunks go part by part, so that the caller (claiming from
			// the front) builds the top rows of every plane and a helper
			// (from the back) the bottom ones: the rows each computes.
			ch := sp.build.count / sp.buildParts
			cg := c % ch
			d.BuildPlanesPart(e.planes, x, e.imgs, cg, cg+1, c/ch, sp.buildParts)
			return
		}
		c0, c1 := sp.build.bounds(c)
		d.BuildPlanes(e.planes, x, e.imgs, c0, c1)
		return
	}
	g, t := c/(sp.tq*sp.tb)*sp.gPer, c%(sp.tq*sp.tb)
	mb, qb := d.Blocks()
	q0, b0 := t/sp.tb*sp.nqPer, t%sp.tb*sp.nbPer
	q1, b1 := min(q0+sp.nqPer, e.imgs*qb), min(b0+sp.nbPer, mb)
	ep := epilogueOf[float32](&e.epilogueTail, e.lo, e.hi)
	at, end := e.img*e.m*e.p, (e.img+e.imgs)*e.m*e.p
	if e.res != nil {
		ep.Residual, ep.LdR = f32s(e.res)[at:end], e.p
	}
	d.Run(f32s(e.y)[at:end], e.planes, e.pw, e.biasPad, e.imgs, g, min(g+sp.gPer, e.group), b0, b1, q0, q1, &ep,
		workerScratch[float32](w, d.TaskElems(b1-b0, q1-q0)))
}

func (e *convExec) RunChunk(c int, w *kernels.Worker) {
	if e.wino != nil {
		e.winoChunk(c, w)
		return
	}
	if e.dw != nil {
		e.dwChunk(c, w)
		return
	}
	if e.direct != nil {
		e.directChunk(c, w)
		return
	}
	if e.depthwise {
		r0, r1 := e.rc.bounds(c)
		if e.dt == dtype.Float32 {
			depthwiseRows(e, w, r0, r1, f32s)
		} else {
			depthwiseRows(e, w, r0, r1, f64s)
		}
		return
	}
	if e.dt == dtype.Float32 {
		convImage(e, nil, w, e.img, c, f32s, e.ep32)
	} else {
		convImage(e, nil, w, e.img, c, f64s, e.ep64)
	}
}

// convImage computes column tile t of image img (all of it when e.whole),
// every group, with GEMMs on p (nil: serial on w).
func convImage[T kernels.Float](e *convExec, p *kernels.Pool, w *kernels.Worker, img, t int, view func([]byte) []T, eps []kernels.Epilogue[T]) {
	j0 := t * e.tile
	j1 := min(j0+e.tile, e.p)
	nc := j1 - j0
	x := view(e.x)[img*e.c*e.hw:]
	y := view(e.y)[img*e.m*e.p:]
	wt := view(e.w)
	var bias, res []T
	if e.bias != nil {
		bias = view(e.bias)
	}
	if e.res != nil {
		res = view(e.res)[img*e.m*e.p:]
	}
	var col []T
	if !e.pointwise {
		if e.scratch != nil {
			col = view(e.scratch)[t*e.colPerTile : (t+1)*e.colPerTile]
		} else {
			col = workerScratch[T](w, e.colPerTile)
		}
	}
	ep := &eps[t]
	for g := 0; g < e.group; g++ {
		yg := y[g*e.mg*e.p+j0:]
		b, ldb := x[g*e.cg*e.hw+j0:], e.hw
		if !e.pointwise {
			kernels.Im2col(col, nc, x[g*e.cg*e.hw:], e.cg, &e.s, j0, j1)
			b, ldb = col, nc
		}
		beta := T(0)
		if bias != nil {
			beta = 1
			for r := 0; r < e.mg; r++ {
				kernels.Fill(yg[r*e.p:r*e.p+nc], bias[g*e.mg+r])
			}
		}
		*ep = epilogueOf[T](&e.epilogueTail, e.lo, e.hi)
		if res != nil {
			ep.Residual, ep.LdR = res[g*e.mg*e.p+j0:], e.p
		}
		var epp *kernels.Epilogue[T]
		if ep.Act != kernels.ActNone || res != nil || ep.ReluAfter {
			epp = ep
		}
		gemmT(p, w, false, false, e.mg, nc, e.k, wt[g*e.mg*e.k:], e.k, b, ldb, beta, yg, e.p, epp)
	}
	*ep = kernels.Epilogue[T]{}
}

// workerScratch returns n elements of w's scratch (fused steps get no
// arena scratch).
func workerScratch[T kernels.Float](w *kernels.Worker, n int) []T {
	var z T
	if unsafe.Sizeof(z) == 4 {
		s := w.Float32s(n)
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(s))), n)
	}
	s := w.Float64s(n)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(s))), n)
}

// gemmT is SgemmEpilogue or DgemmEpilogue by T (alpha 1).
func gemmT[T kernels.Float](p *kernels.Pool, w *kernels.Worker, ta, tb bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, ep *kernels.Epilogue[T]) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		kernels.SgemmEpilogue(p, w, ta, tb, m, n, k, 1, asF32(a), lda, asF32(b), ldb, float32(beta), asF32(c), ldc,
			(*kernels.Epilogue[float32])(unsafe.Pointer(ep)))
		return
	}
	kernels.DgemmEpilogue(p, w, ta, tb, m, n, k, 1, asF64(a), lda, asF64(b), ldb, float64(beta), asF64(c), ldc,
		(*kernels.Epilogue[float64])(unsafe.Pointer(ep)))
}

func asF32[T kernels.Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
func asF64[T kernels.Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// depthwiseRows computes output planes [r0, r1) (plane = image·M + m) of a
// depthwise conv, then the fused activation and residual on each plane
// while it is in cache.
func depthwiseRows[T kernels.Float](e *convExec, wk *kernels.Worker, r0, r1 int, view func([]byte) []T) {
	x, w, y := view(e.x), view(e.w), view(e.y)
	var bias, res []T
	if e.bias != nil {
		bias = view(e.bias)
	}
	if e.res != nil {
		res = view(e.res)
	}
	kk := e.s.KH * e.s.KW
	ep := epilogueOf[T](&e.epilogueTail, e.lo, e.hi)
	for r := r0; r < r1; r++ {
		img, m := r/e.m, r%e.m
		ci := m / e.mg // input channel of this output channel
		var b T
		if bias != nil {
			b = bias[m]
		}
		out := y[r*e.p : (r+1)*e.p]
		kernels.DepthwisePhases(out, x[(img*e.c+ci)*e.hw:(img*e.c+ci+1)*e.hw], w[m*kk:(m+1)*kk], b, &e.s,
			workerScratch[T](wk, kernels.DepthwiseScratch(&e.s)))
		var rr []T
		if res != nil {
			rr = res[r*e.p : (r+1)*e.p]
		}
		ep.FinishRun(out, rr)
	}
}

// convTransposeExec is ConvTranspose: per image and group, col = W_gᵀ·X_g
// ([Mg·KH·KW, H·W]), then col2im adds col into Y, which starts as the bias.
type convTransposeExec struct {
	dt             dtype.DType
	n, c, m, group int
	cg, mg, kk     int
	hw, p          int
	s              kernels.ConvShape
	hasBias        bool
}

func bindConvTranspose(b *BindCtx) (Executor, error) {
	xs, ws := b.In[0].Shape, b.In[1].Shape
	g, err := graph.ResolveConvGeom(b.Node, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	group := int(b.Node.Attr("group").Int)
	e := &convTransposeExec{dt: b.In[0].DType, n: int(xs[0]), c: int(xs[1]), group: group, hasBias: len(b.In) > 2 && b.In[2] != nil}
	e.cg, e.mg = e.c/group, int(ws[1])
	e.m = e.mg * group
	// In col2im terms the conv's input is ConvTranspose's output: the
	// kernels' H×W is X's, OH×OW is Y's.
	e.s = convShape(xs, g)
	e.kk = e.s.KH * e.s.KW
	e.hw, e.p = e.s.H*e.s.W, e.s.OH*e.s.OW
	b.Scratch(int64(e.mg*e.kk*e.hw) * int64(e.dt.Size()))
	return e, nil
}

func (e *convTransposeExec) Run(x *RunCtx, in, out []Buf) {
	if e.dt == dtype.Float32 {
		convTransposeRun(e, x, in, out, f32s)
	} else {
		convTransposeRun(e, x, in, out, f64s)
	}
}

func convTransposeRun[T kernels.Float](e *convTransposeExec, x *RunCtx, in, out []Buf, view func([]byte) []T) {
	xv, w, y := view(in[0].Host), view(in[1].Host), view(out[0].Host)
	col := view(x.Scratch.Host)[:e.mg*e.kk*e.hw]
	var bias []T
	if e.hasBias {
		bias = view(in[2].Host)
	}
	for img := 0; img < e.n; img++ {
		if x.Worker.Stop.Stopped() {
			return
		}
		for g := 0; g < e.group; g++ {
			yg := y[(img*e.m+g*e.mg)*e.p : (img*e.m+(g+1)*e.mg)*e.p]
			if bias != nil {
				for r := 0; r < e.mg; r++ {
					v := bias[g*e.mg+r]
					row := yg[r*e.p : (r+1)*e.p]
					for i := range row {
						row[i] = v
					}
				}
			} else {
				clear(yg)
			}
			// W_g is [Cg, Mg·KH·KW] as stored: col = W_gᵀ · X_g.
			wg := w[g*e.cg*e.mg*e.kk:]
			xg := xv[(img*e.c+g*e.cg)*e.hw:]
			gemmT[T](x.Pool, x.Worker, true, false, e.mg*e.kk, e.hw, e.cg, wg, e.mg*e.kk, xg, e.hw, 0, col, e.hw, nil)
			kernels.Col2im(yg, col, e.mg, &e.s)
		}
	}
}
