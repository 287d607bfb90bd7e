package engine

// Tensor-manipulation ops: Shape, Size, Slice, Split, Squeeze and
// Unsqueeze (views), Expand, Tile, Range, ConstantOfShape, Trilu, CumSum,
// TopK; and the elementwise ops without a fast path: Not, And, Or, Xor,
// Min, Max, Mod, GreaterOrEqual, LessOrEqual.
//
// Shape-taking inputs (Slice's starts, Range's start and delta, ...) are
// read when the node runs; the output shape was planned from the same
// values, and a run whose values would give another shape fails rather
// than write past a buffer.

import (
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

var boolTypes = []dtype.DType{dtype.Bool}

func init() {
	reg := func(op string, bind BindFunc) {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: graph.Schema(op).Types, Compile: Stateless(bind)})
	}
	reg("Shape", bindShape)
	reg("Size", bindShape)
	reg("Slice", bindSlice)
	reg("Split", bindSplit)
	for _, op := range []string{"Squeeze", "Unsqueeze"} {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: graph.Schema(op).Types, View: true})
	}
	reg("Expand", bindExpand)
	reg("Tile", bindTile)
	reg("Range", bindRange)
	reg("ConstantOfShape", bindConstantOfShape)
	reg("Trilu", bindTrilu)
	reg("CumSum", bindCumSum)
	reg("TopK", bindTopK)
	reg("Not", bindNot)
	for _, op := range []string{"And", "Or", "Xor", "Min", "Max", "Mod", "GreaterOrEqual", "LessOrEqual"} {
		reg(op, bindFunc)
	}
}

// contiguousStrides returns the element strides of a row-major shape.
func contiguousStrides(s []int64) []int {
	st := make([]int, len(s))
	n := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = n
		n *= int(s[i])
	}
	return st
}

// intView views scratch bytes as ints.
func intView(b []byte) []int {
	var z int
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// shapeExec writes Shape's dims (or Size's count), known at bind.
type shapeExec struct{ vals []int64 }

func bindShape(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	if b.Node.Op == "Size" {
		return &shapeExec{vals: []int64{int64(numel(s))}}, nil
	}
	lo, hi := graph.ShapeRange(b.Node.Attr("start").Int, b.Node.Attr("end").Int, len(s))
	return &shapeExec{vals: append([]int64(nil), s[lo:hi]...)}, nil
}

func (e *shapeExec) Run(_ *RunCtx, _, out []Buf) { copy(i64s(out[0].Host), e.vals) }

// walkExec copies a strided walk of input 0 (Slice, Expand, Tile).
type walkExec struct {
	w        kernels.Walk
	es       int
	rc       rowChunks
	dst, src []byte
}

func newWalkExec(es int) walkExec {
	return walkExec{es: es, w: kernels.Walk{Dims: make([]int, 0, 2*dtype.MaxRank), Strides: make([]int, 0, 2*dtype.MaxRank)}}
}

func (e *walkExec) split(threads int) {
	rows, inner := e.w.Rows()
	e.rc = splitRows(rows, inner, threads)
}

func (e *walkExec) copy(x *RunCtx, dst, src []byte) {
	e.dst, e.src = dst, src
	x.Parallel(e.rc.count, e)
	e.dst, e.src = nil, nil
}

func (e *walkExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	kernels.WalkCopy(&e.w, e.dst, e.src, e.es, r0, r1)
}

func (e *walkExec) Run(x *RunCtx, in, out []Buf) { e.copy(x, out[0].Host, in[0].Host) }

type sliceExec struct {
	walkExec
	name      string
	in, out   []int64
	inStrides []int
	threads   int
}

func bindSlice(b *BindCtx) (Executor, error) {
	in := b.In[0].Shape
	return &sliceExec{walkExec: newWalkExec(b.In[0].DType.Size()), name: b.Node.Name, in: in, out: b.Out[0].Shape,
		inStrides: contiguousStrides(in), threads: b.Threads}, nil
}

func (e *sliceExec) Run(x *RunCtx, in, out []Buf) {
	r := len(e.in)
	var startA, stepA [dtype.MaxRank]int64
	var lenA [dtype.MaxRank]int64
	start, step, lens := startA[:r], stepA[:r], lenA[:r]
	for d := range r {
		step[d], lens[d] = 1, e.in[d]
	}
	starts, ends := i64s(in[1].Host), i64s(in[2].Host)
	axes, steps := i64s(opt(in, 3)), i64s(opt(in, 4))
	n := len(starts)
	if len(ends) != n || (axes != nil && len(axes) != n) || (steps != nil && len(steps) != n) || n > r {
		x.Fail(errs.New(errs.InvalidValue, "Slice %q: starts, ends, axes and steps have %d, %d, %d and %d entries for rank %d", e.name, n, len(ends), len(axes), len(steps), r))
		return
	}
	var seen uint64
	for k := range n {
		a, st := int64(k), int64(1)
		if axes != nil {
			a = axes[k]
		}
		if steps != nil {
			st = steps[k]
		}
		d, ok := graph.NormAxis(a, r)
		if !ok || seen&(1<<d) != 0 || st == 0 {
			x.Fail(errs.New(errs.InvalidValue, "Slice %q: axes %v or steps %v are invalid for rank %d", e.name, axes, steps, r))
			return
		}
		seen |= 1 << d
		sa := graph.SliceDim(starts[k], ends[k], st, e.in[d])
		start[d], step[d], lens[d] = sa.Start, sa.Step, sa.Len
	}
	if !sameShape(lens, e.out) {
		// A copy: lens itself passed to the message would move the array
		// to the heap on every run.
		x.Fail(errs.New(errs.InvalidValue, "Slice %q: the values of starts, ends, axes and steps give shape %v; the plan has %v", e.name, slices.Clone(lens), e.out))
		return
	}
	var strideA [dtype.MaxRank]int
	strides := strideA[:r]
	base := 0
	for d := range r {
		strides[d] = e.inStrides[d] * int(step[d])
		base += int(start[d]) * e.inStrides[d]
	}
	e.w.Set(e.out, strides, base)
	e.split(e.threads)
	e.copy(x, out[0].Host, in[0].Host)
}

func bindExpand(b *BindCtx) (Executor, error) {
	in, out := b.In[0].Shape, b.Out[0].Shape
	strides := make([]int, len(out))
	st := contiguousStrides(in)
	for i, d := range in {
		if d != 1 {
			strides[i+len(out)-len(in)] = st[i]
		}
	}
	e := newWalkExec(b.In[0].DType.Size())
	e.w.Set(out, strides, 0)
	e.split(b.Threads)
	return &e, nil
}

// bindTile reads the input as [repeats₀, in₀, repeats₁, in₁, ...] with
// stride 0 along each repeat axis.
func bindTile(b *BindCtx) (Executor, error) {
	in, out := b.In[0].Shape, b.Out[0].Shape
	st := contiguousStrides(in)
	dims := make([]int64, 0, 2*len(in))
	strides := make([]int, 0, 2*len(in))
	for i, d := range in {
		dims = append(dims, out[i]/d, d) // d > 0: the output is not empty
		strides = append(strides, 0, st[i])
	}
	e := newWalkExec(b.In[0].DType.Size())
	e.w.Set(dims, strides, 0)
	e.split(b.Threads)
	return &e, nil
}

// splitExec copies each outer row's runs to the outputs.
type splitExec struct {
	inRow  int   // bytes of one outer row of the input
	blocks []int // bytes of one outer row of each output
	rc     rowChunks
	in     []byte
	out    []Buf
}

func bindSplit(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	inner := numel(s[axis+1:]) * b.In[0].DType.Size()
	e := &splitExec{inRow: int(s[axis]) * inner, rc: splitRows(numel(s[:axis]), numel(s[axis:]), b.Threads)}
	sum := 0
	for _, o := range b.Out {
		e.blocks = append(e.blocks, int(o.Shape[axis])*inner)
		sum += int(o.Shape[axis])
	}
	if int64(sum) != s[axis] {
		return nil, errs.New(errs.GraphShape, "Split outputs take %d of the %d elements along axis %d of %v", sum, s[axis], axis, s)
	}
	return e, nil
}

func (e *splitExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in[0].Host, out
	x.Parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *splitExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	for r := r0; r < r1; r++ {
		at := r * e.inRow
		for k, blk := range e.blocks {
			if o := e.out[k].Host; o != nil && blk > 0 {
				copy(o[r*blk:(r+1)*blk], e.in[at:at+blk])
			}
			at += blk
		}
	}
}

// rangeExec fills start + i·delta, after checking that the values give the
// planned length.
type rangeExec struct {
	dt      dtype.DType
	n       int
	rc      rowChunks
	out     []byte
	s, d    [8]byte // start and delta, as stored
	planned int64
}

func bindRange(b *BindCtx) (Executor, error) {
	n := numel(b.Out[0].Shape)
	return &rangeExec{dt: b.Out[0].DType, n: n, planned: int64(n), rc: elemChunks(n, 1, b.Threads)}, nil
}

func (e *rangeExec) Run(x *RunCtx, in, out []Buf) {
	var n int64
	var ok bool
	switch e.dt {
	case dtype.Int64:
		n, ok = graph.RangeLenInt(i64s(in[0].Host)[0], i64s(in[1].Host)[0], i64s(in[2].Host)[0])
	case dtype.Int32:
		n, ok = graph.RangeLenInt(int64(i32s(in[0].Host)[0]), int64(i32s(in[1].Host)[0]), int64(i32s(in[2].Host)[0]))
	case dtype.Float32:
		n, ok = graph.RangeLen(float64(f32s(in[0].Host)[0]), float64(f32s(in[1].Host)[0]), float64(f32s(in[2].Host)[0]))
	case dtype.Float64:
		n, ok = graph.RangeLen(f64s(in[0].Host)[0], f64s(in[1].Host)[0], f64s(in[2].Host)[0])
	}
	if !ok || n != e.planned {
		x.Fail(errs.New(errs.InvalidValue, "Range: start, limit and delta give %d elements (ok=%v); the plan has %d", n, ok, e.planned))
		return
	}
	sz := e.dt.Size()
	copy(e.s[:], in[0].Host[:sz])
	copy(e.d[:], in[2].Host[:sz])
	e.out = out[0].Host
	x.Parallel(e.rc.count, e)
	e.out = nil
}

func (e *rangeExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	switch e.dt {
	case dtype.Int64:
		kernels.RangeFill(i64s(e.out), i64s(e.s[:])[0], i64s(e.d[:])[0], lo, hi)
	case dtype.Int32:
		kernels.RangeFill(i32s(e.out), i32s(e.s[:])[0], i32s(e.d[:])[0], lo, hi)
	case dtype.Float32:
		kernels.RangeFill(f32s(e.out), f32s(e.s[:])[0], f32s(e.d[:])[0], lo, hi)
	case dtype.Float64:
		kernels.RangeFill(f64s(e.out), f64s(e.s[:])[0], f64s(e.d[:])[0], lo, hi)
	}
}

// fillExec repeats one element (ConstantOfShape).
type fillExec struct {
	elem []byte
	zero bool
	rc   rowChunks
	out  []byte
}

func bindConstantOfShape(b *BindCtx) (Executor, error) {
	dt := b.Out[0].DType
	e := &fillExec{elem: make([]byte, dt.Size()), rc: elemChunks(numel(b.Out[0].Shape), 1, b.Threads)}
	kernels.FromFloat64s(e.elem, kernels.Elem(dt), []float64{b.Node.Attr("value").Float})
	e.zero = true
	for _, c := range e.elem {
		e.zero = e.zero && c == 0
	}
	return e, nil
}

func (e *fillExec) Run(x *RunCtx, _, out []Buf) {
	e.out = out[0].Host
	x.Parallel(e.rc.count, e)
	e.out = nil
}

func (e *fillExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	es := len(e.elem)
	o := e.out[lo*es : hi*es]
	if e.zero {
		clear(o)
		return
	}
	n := copy(o, e.elem)
	for n < len(o) {
		n += copy(o[n:], o[:n])
	}
}

type triluExec struct {
	es, rows, cols int
	upper          bool
	k              int64
	rc             rowChunks
	dst, src       []byte
}

func bindTrilu(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	rows, cols := int(s[len(s)-2]), int(s[len(s)-1])
	return &triluExec{es: b.In[0].DType.Size(), rows: rows, cols: cols, upper: b.Node.Attr("upper").Int != 0,
		rc: splitRows(numel(s[:len(s)-1]), cols, b.Threads)}, nil
}

func (e *triluExec) inPlaceArg() int { return 0 }

func (e *triluExec) Run(x *RunCtx, in, out []Buf) {
	e.k = 0
	if k := i64s(opt(in, 1)); len(k) > 0 {
		e.k = k[0]
	}
	e.dst, e.src = out[0].Host, in[0].Host
	x.Parallel(e.rc.count, e)
	e.dst, e.src = nil, nil
}

func (e *triluExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	kernels.Trilu(e.dst, e.src, e.es, e.rows, e.cols, e.k, e.upper, r0, r1)
}

type cumSumExec struct {
	name       string
	dt, axisDT dtype.DType
	shape      []int64
	excl, rev  bool
	threads    int
	n, inner   int
	rc         rowChunks
	out, in    []byte
}

func bindCumSum(b *BindCtx) (Executor, error) {
	n := b.Node
	return &cumSumExec{name: n.Name, dt: b.In[0].DType, axisDT: b.In[1].DType, shape: b.In[0].Shape,
		excl: n.Attr("exclusive").Int != 0, rev: n.Attr("reverse").Int != 0, threads: b.Threads}, nil
}

func (e *cumSumExec) inPlaceArg() int { return 0 }

func (e *cumSumExec) Run(x *RunCtx, in, out []Buf) {
	var a int64
	if e.axisDT == dtype.Int32 {
		a = int64(i32s(in[1].Host)[0])
	} else {
		a = i64s(in[1].Host)[0]
	}
	axis, ok := graph.NormAxis(a, len(e.shape))
	if !ok {
		x.Fail(errs.New(errs.InvalidValue, "CumSum %q: axis %d is out of range for shape %v", e.name, a, e.shape))
		return
	}
	e.n, e.inner = int(e.shape[axis]), numel(e.shape[axis+1:])
	e.rc = splitWork(numel(e.shape)/e.n, e.n, 1, e.threads)
	e.out, e.in = out[0].Host, in[0].Host
	x.Parallel(e.rc.count, e)
	e.out, e.in = nil, nil
}

func (e *cumSumExec) RunChunk(c int, _ *kernels.Worker) {
	p0, p1 := e.rc.bounds(c)
	switch e.dt {
	case dtype.Float32:
		kernels.CumSum(f32s(e.out), f32s(e.in), e.n, e.inner, e.excl, e.rev, p0, p1)
	case dtype.Float64:
		kernels.CumSum(f64s(e.out), f64s(e.in), e.n, e.inner, e.excl, e.rev, p0, p1)
	case dtype.Int32:
		kernels.CumSum(i32s(e.out), i32s(e.in), e.n, e.inner, e.excl, e.rev, p0, p1)
	case dtype.Int64:
		kernels.CumSum(i64s(e.out), i64s(e.in), e.n, e.inner, e.excl, e.rev, p0, p1)
	}
}

type topKExec struct {
	name        string
	dt          dtype.DType
	n, inner, k int
	largest     bool
	rc          rowChunks
	scratch     []int
	vals, idx   []byte
	in          []byte
}

func bindTopK(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	axis, _ := graph.NormAxis(b.Node.Attr("axis").Int, len(s))
	n := int(s[axis])
	e := &topKExec{name: b.Node.Name, dt: b.In[0].DType, n: n, inner: numel(s[axis+1:]), k: int(b.Out[0].Shape[axis]),
		largest: b.Node.Attr("largest").Int != 0}
	cost := 4 + 2*bits.Len(uint(n)) // a sort: about log n comparisons per element
	e.rc = splitWork(numel(s)/max(n, 1), n, cost, b.Threads)
	b.Scratch(int64(e.rc.count) * int64(n) * int64(unsafe.Sizeof(0)))
	return e, nil
}

func (e *topKExec) Run(x *RunCtx, in, out []Buf) {
	if k := i64s(in[1].Host); len(k) != 1 || k[0] != int64(e.k) {
		x.Fail(errs.New(errs.InvalidValue, "TopK %q: K is %v; the plan has %d", e.name, k, e.k))
		return
	}
	e.scratch, e.in, e.vals, e.idx = intView(x.Scratch.Host), in[0].Host, out[0].Host, opt(out, 1)
	x.Parallel(e.rc.count, e)
	e.scratch, e.in, e.vals, e.idx = nil, nil, nil, nil
}

func (e *topKExec) RunChunk(c int, _ *kernels.Worker) {
	p0, p1 := e.rc.bounds(c)
	order := e.scratch[c*e.n : (c+1)*e.n]
	idx := i64s(e.idx) // nil when Indices is not wanted
	switch e.dt {
	case dtype.Float32:
		kernels.TopK(f32s(e.vals), idx, f32s(e.in), e.n, e.inner, e.k, e.largest, order, p0, p1)
	case dtype.Float64:
		kernels.TopK(f64s(e.vals), idx, f64s(e.in), e.n, e.inner, e.k, e.largest, order, p0, p1)
	case dtype.Int32:
		kernels.TopK(i32s(e.vals), idx, i32s(e.in), e.n, e.inner, e.k, e.largest, order, p0, p1)
	case dtype.Int64:
		kernels.TopK(i64s(e.vals), idx, i64s(e.in), e.n, e.inner, e.k, e.largest, order, p0, p1)
	}
}

type notExec struct {
	rc      rowChunks
	in, out []byte
}

func bindNot(b *BindCtx) (Executor, error) {
	return &notExec{rc: elemChunks(numel(b.Out[0].Shape), 1, b.Threads)}, nil
}

func (e *notExec) inPlaceArg() int { return 0 }

func (e *notExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.in, e.out = nil, nil
}

func (e *notExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	for i, v := range e.in[lo:hi] {
		e.out[lo+i] = 1 - v&1
	}
}

// funcStep is one broadcast pass of a funcExec: out = f(a, b) over the
// walk s, a and b argument indices (-1: the output itself).
type funcStep struct {
	s    kernels.Strided
	rc   rowChunks
	a, b int
}

// funcExec runs elementwise ops through kernels.BinaryFunc: one pass for
// two inputs, one more per further input of Min and Max.
type funcExec struct {
	steps []funcStep
	f     func(s *kernels.Strided, out, a, b []byte, r0, r1 int)
	cur   *funcStep
	in    []Buf
	out   []byte
}

func bindFunc(b *BindCtx) (Executor, error) {
	n := b.Node
	out := b.Out[0].Shape
	e := &funcExec{f: binaryFuncFor(n.Op, b.In[0].DType, b.In[1%len(b.In)].DType, n)}
	if e.f == nil {
		return nil, errs.New(errs.Internal, "%s has no kernel for %s", n.Op, b.In[0].DType)
	}
	add := func(a, bi int, as, bs []int64) {
		s := kernels.NewStrided(out, as, bs)
		rows, inner := s.Rows()
		e.steps = append(e.steps, funcStep{s: s, rc: splitRows(rows, inner, b.Threads), a: a, b: bi})
	}
	if len(b.In) == 1 { // Min or Max of one input: max(x, x) is x
		add(0, 0, b.In[0].Shape, b.In[0].Shape)
		return e, nil
	}
	add(0, 1, b.In[0].Shape, b.In[1].Shape)
	for i := 2; i < len(b.In); i++ {
		add(-1, i, out, b.In[i].Shape)
	}
	return e, nil
}

func (e *funcExec) Run(x *RunCtx, in, out []Buf) {
	e.in, e.out = in, out[0].Host
	for i := range e.steps {
		e.cur = &e.steps[i]
		x.Parallel(e.cur.rc.count, e)
	}
	e.in, e.out, e.cur = nil, nil, nil
}

func (e *funcExec) RunChunk(c int, _ *kernels.Worker) {
	st := e.cur
	r0, r1 := st.rc.bounds(c)
	a := e.out
	if st.a >= 0 {
		a = e.in[st.a].Host
	}
	e.f(&st.s, e.out, a, e.in[st.b].Host, r0, r1)
}

// binaryFuncFor returns the row function of op for operand dtypes ta, tb.
func binaryFuncFor(op string, ta, tb dtype.DType, n *graph.CNode) func(*kernels.Strided, []byte, []byte, []byte, int, int) {
	switch op {
	case "And":
		return fn(u8s, u8s, u8s, func(a, b byte) byte { return a & b & 1 })
	case "Or":
		return fn(u8s, u8s, u8s, func(a, b byte) byte { return (a | b) & 1 })
	case "Xor":
		return fn(u8s, u8s, u8s, func(a, b byte) byte { return (a ^ b) & 1 })
	}
	switch ta {
	case dtype.Float32:
		return numFunc(op, f32s, n, floatMod[float32])
	case dtype.Float64:
		return numFunc(op, f64s, n, floatMod[float64])
	case dtype.Int32:
		return numFunc(op, i32s, n, intMod[int32])
	case dtype.Int64:
		return numFunc(op, i64s, n, intMod[int64])
	}
	return nil
}

type rowFunc = func(*kernels.Strided, []byte, []byte, []byte, int, int)

func u8s(b []byte) []byte { return b }

// fn binds f and the byte views of its operand types into a row function.
func fn[A, B, U any](va func([]byte) []A, vb func([]byte) []B, vu func([]byte) []U, f func(A, B) U) rowFunc {
	return func(s *kernels.Strided, out, a, b []byte, r0, r1 int) {
		kernels.BinaryFunc(s, vu(out), va(a), vb(b), r0, r1, f)
	}
}

func numFunc[T kernels.Number](op string, v func([]byte) []T, n *graph.CNode, mod func(fmod bool) func(T, T) T) rowFunc {
	switch op {
	case "Min":
		return fn(v, v, v, func(a, b T) T {
			if a != a || a < b {
				return a
			}
			return b
		})
	case "Max":
		return fn(v, v, v, func(a, b T) T {
			if a != a || a > b {
				return a
			}
			return b
		})
	case "Mod":
		return fn(v, v, v, mod(n.Attr("fmod").Int != 0))
	case "GreaterOrEqual":
		return fn(v, v, u8s, func(a, b T) byte { return b2u8(a >= b) })
	case "LessOrEqual":
		return fn(v, v, u8s, func(a, b T) byte { return b2u8(a <= b) })
	}
	return nil
}

// floatMod is C's fmod (the sign of the dividend); ONNX requires fmod=1
// for floats.
func floatMod[T kernels.Float](bool) func(T, T) T {
	return func(a, b T) T { return T(math.Mod(float64(a), float64(b))) }
}

// intMod is fmod's truncated remainder, or (fmod=0) the remainder with
// the divisor's sign, as Python's %. A zero divisor gives 0, as integer
// Div does.
func intMod[T int32 | int64](fmod bool) func(T, T) T {
	if fmod {
		return func(a, b T) T {
			if b == 0 {
				return 0
			}
			return a % b
		}
	}
	return func(a, b T) T {
		if b == 0 {
			return 0
		}
		r := a % b
		if r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	}
}
