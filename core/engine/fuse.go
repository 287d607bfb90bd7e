package engine

// Fusion: runs of nodes that execute as one step. A Gemm takes the
// activation and residual Add that follow it into its epilogue, applied
// to each block of Y while it is in cache; a chain of elementwise ops runs
// block by block, every op on a block before the next block, with no
// buffer for the values between them. A fusion never changes a result:
// every element gets the same operations, in the same order, from the
// same functions as unfused (tests compare bit for bit).
//
// Groups are found once per Model from the graph alone: a value inside a
// group has exactly one consumer and is not a graph output, so no
// selection of outputs can need it. Whether a group runs fused is decided
// per plan, from the concrete shapes; otherwise its nodes run one by one.

import (
	"math"
	"slices"
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

type fuseKind uint8

const (
	fuseGemm  fuseKind = iota + 1 // Gemm, then an activation and/or a residual Add
	fuseChain                     // elementwise ops over one shape
	fuseConv                      // Conv, then a folded BatchNormalization, an activation and/or a residual Add
)

// fuseGroup is a run of nodes; the last one's outputs are the group's.
type fuseGroup struct {
	kind  fuseKind
	nodes []int
	bn    *bnFold    // fuseConv with a BatchNormalization: its folding, once per Model
	packs *convPacks // fuseConv with constant weights: packed for the direct kernels, once per Model
	// scaled: fuseConv whose first node is a Mul by one value per input
	// channel (squeeze-and-excite's scale·x) that only its 1×1 Conv, the
	// second node, reads: the Conv reads x itself and multiplies its
	// packed weights' taps by the scales instead (scaledConv).
	scaled bool
}

// head is the index of the group's first node that computes on its own:
// the Conv of a scaled group.
func (grp *fuseGroup) head() int {
	if grp.scaled {
		return grp.nodes[1]
	}
	return grp.nodes[0]
}

// fusion holds a Model's groups.
type fusion struct {
	groups []fuseGroup
	of     []int32 // by node index: its group, or -1
}

// findGroups finds the fusion groups of g; isConst tells constants
// (stored or folded), and folded nodes join no group.
func findGroups(g *graph.Checked, isConst func(id int) bool, folded []bool) fusion {
	uses := make([]int, len(g.Values))
	consumer := make([]int, len(g.Values))
	for ni := range g.Nodes {
		for _, id := range g.Nodes[ni].In {
			if id >= 0 {
				uses[id]++
				consumer[id] = ni
			}
		}
	}
	for _, id := range g.Outputs {
		uses[id] += 2 // a graph output is never internal to a group
	}
	// next returns the node that alone consumes node ni's only output.
	next := func(ni int) int {
		n := &g.Nodes[ni]
		if len(n.Out) != 1 || n.Out[0] < 0 || uses[n.Out[0]] != 1 {
			return -1
		}
		return consumer[n.Out[0]]
	}
	f := fusion{of: make([]int32, len(g.Nodes))}
	for i := range f.of {
		f.of[i] = -1
	}
	for ni := range g.Nodes {
		if f.of[ni] >= 0 || folded[ni] || !floatNode(g, ni) {
			continue
		}
		var grp fuseGroup
		switch n := &g.Nodes[ni]; {
		case n.Op == "Gemm" && len(n.Out) == 1:
			grp = fuseGroup{kind: fuseGemm, nodes: []int{ni}}
			cur := ni
			if nx := next(cur); nx >= 0 && f.of[nx] < 0 && epilogueAct(g, isConst, nx, g.Nodes[cur].Out[0]) {
				grp.nodes = append(grp.nodes, nx)
				cur = nx
			}
			if nx := next(cur); nx >= 0 && f.of[nx] < 0 && residualAdd(g, nx, g.Nodes[cur].Out[0]) {
				grp.nodes = append(grp.nodes, nx)
			}
		case n.Op == "Conv" && len(n.Out) == 1:
			grp = convGroup(g, isConst, ni, next, func(nx int) bool { return f.of[nx] < 0 })
		case n.Op == "Mul" && scaledConv(g, isConst, ni, next(ni)):
			grp = convGroup(g, isConst, next(ni), next, func(nx int) bool { return f.of[nx] < 0 })
			grp.nodes = append([]int{ni}, grp.nodes...)
			grp.scaled = true
		case chainable(g, isConst, ni, -1):
			grp = fuseGroup{kind: fuseChain, nodes: []int{ni}}
			for cur := ni; ; {
				nx := next(cur)
				if nx < 0 || f.of[nx] >= 0 || !chainable(g, isConst, nx, g.Nodes[cur].Out[0]) {
					break
				}
				grp.nodes = append(grp.nodes, nx)
				cur = nx
			}
		}
		if len(grp.nodes) < 2 {
			continue
		}
		for _, m := range grp.nodes {
			f.of[m] = int32(len(f.groups))
		}
		f.groups = append(f.groups, grp)
	}
	return f
}

// floatNode reports whether node ni computes float32 or float64.
func floatNode(g *graph.Checked, ni int) bool {
	n := &g.Nodes[ni]
	if len(n.Out) == 0 || n.Out[0] < 0 {
		return false
	}
	dt := g.Values[n.Out[0]].DType
	return dt == dtype.Float32 || dt == dtype.Float64
}

// epilogueAct reports whether node ni applies an activation to value v
// that the GEMM epilogue can: any unary op, or Clip with constant or
// absent bounds.
func epilogueAct(g *graph.Checked, isConst func(int) bool, ni, v int) bool {
	n := &g.Nodes[ni]
	if len(n.In) == 0 || n.In[0] != v || len(n.Out) != 1 {
		return false
	}
	if _, ok := unaryOps[n.Op]; ok {
		return true
	}
	if _, ok := unary2Ops[n.Op]; ok {
		return true
	}
	return n.Op == "Clip" && constOrAbsent(isConst, n.In[1:])
}

func constOrAbsent(isConst func(int) bool, ids []int) bool {
	for _, id := range ids {
		if id >= 0 && !isConst(id) {
			return false
		}
	}
	return true
}

// residualAdd reports whether node ni adds another value to v.
func residualAdd(g *graph.Checked, ni, v int) bool {
	n := &g.Nodes[ni]
	return n.Op == "Add" && len(n.In) == 2 && (n.In[0] == v) != (n.In[1] == v)
}

// chainable reports whether node ni can join an elementwise chain whose
// value so far is v (-1: ni would start it).
func chainable(g *graph.Checked, isConst func(int) bool, ni, v int) bool {
	n := &g.Nodes[ni]
	if len(n.Out) != 1 || !floatNode(g, ni) {
		return false
	}
	_, unary := unaryOps[n.Op]
	_, binary := binaryOps[n.Op]
	switch {
	case unary || (n.Op == "Clip" && constOrAbsent(isConst, n.In[1:])):
		return v < 0 || n.In[0] == v
	case binary:
		return v < 0 || (n.In[0] == v) != (n.In[1] == v)
	}
	return false
}

// bindGroup binds group gi for the plan's shapes, or returns nil when it
// must run unfused (its shapes do not allow it). It returns the step's
// argument value ids too.
func (p *plan) bindGroup(m *Model, gi int, threads int) (Executor, []int, error) {
	grp := &m.fusion.groups[gi]
	g := m.g
	switch grp.kind {
	case fuseGemm:
		return p.bindGemmGroup(m, grp, threads)
	case fuseChain:
		return p.bindChain(g, grp, threads)
	case fuseConv:
		return p.bindConvGroup(m, grp, threads)
	}
	return nil, nil, nil
}

func (p *plan) info(g *graph.Checked, id int) *graph.ValueInfo {
	return &graph.ValueInfo{Name: g.Values[id].Name, DType: g.Values[id].DType, Shape: p.shapes[id]}
}

// groupHead returns a group's first node and its arguments at the plan's shapes.
func (p *plan) groupHead(g *graph.Checked, grp *fuseGroup) (*graph.CNode, []*graph.ValueInfo) {
	head := &g.Nodes[grp.head()]
	ins := make([]*graph.ValueInfo, len(head.In))
	for j, id := range head.In {
		if id >= 0 {
			ins[j] = p.info(g, id)
		}
	}
	return head, ins
}

func (p *plan) bindGemmGroup(m *Model, grp *fuseGroup, threads int) (Executor, []int, error) {
	g := m.g
	head, ins := p.groupHead(g, grp)
	y := head.Out[0]
	e, err := newGemmExec(head, ins, []graph.ValueInfo{*p.info(g, y)}, threads)
	if err != nil {
		return nil, nil, err
	}
	_, c, err := m.compiled(grp.nodes[0])
	if err != nil {
		return nil, nil, err
	}
	e.cc, _ = c.(*gemmCompiled)
	args := append([]int{}, head.In...)
	for _, ni := range grp.nodes[1:] {
		n := &g.Nodes[ni]
		if !e.take(n, y, p.shapes, &args) {
			return nil, nil, nil
		}
		y = n.Out[0]
	}
	return e, args, nil
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// chainBlock is the elements a chain takes through all its ops at a time:
// 32 KiB of float64, so the block stays in L1/L2 between ops.
const chainBlock = 4096

// chainOp is one op of a fused elementwise chain.
type chainOp struct {
	unary    bool
	uop      kernels.UnaryOp
	alpha    float64
	clip     bool
	clipArgs [2]int
	bop      kernels.BinaryOp
	other    int  // arg index of a binary op's other operand
	swap     bool // the chain value is the binary op's second operand
	s        kernels.Strided
}

// chainExec runs a fused elementwise chain: block by block, each op reads
// the previous op's block (the chain's input for the first) and writes the
// output's block in place.
type chainExec struct {
	dt   dtype.DType
	n    int
	ops  []chainOp
	rc   rowChunks // over blocks
	args []Buf
	out  []byte
	lo   []float64 // per op: Clip bounds read for this run
	hi   []float64
}

func (p *plan) bindChain(g *graph.Checked, grp *fuseGroup, threads int) (Executor, []int, error) {
	last := &g.Nodes[grp.nodes[len(grp.nodes)-1]]
	shape := p.shapes[last.Out[0]]
	e := &chainExec{dt: g.Values[last.Out[0]].DType, n: numel(shape),
		lo: make([]float64, len(grp.nodes)), hi: make([]float64, len(grp.nodes))}
	args := []int{-1} // arg 0: the chain's input
	v := -1           // the chain value's id
	cost := 0
	for k, ni := range grp.nodes {
		n := &g.Nodes[ni]
		if !sameShape(p.shapes[n.Out[0]], shape) {
			return nil, nil, nil
		}
		var op chainOp
		switch {
		case n.Op == "Clip":
			op.clip, op.clipArgs = true, [2]int{-1, -1}
			for j := 1; j < len(n.In) && j < 3; j++ {
				if n.In[j] >= 0 {
					op.clipArgs[j-1] = len(args)
					args = append(args, n.In[j])
				}
			}
			cost++
		case isUnary(n.Op):
			op.unary, op.uop = true, unaryOps[n.Op]
			switch {
			case n.Op == "LeakyRelu":
				op.alpha = n.Attr("alpha").Float
			case n.Op == "Gelu" && n.Attr("approximate").String == "tanh":
				op.uop = kernels.OpGeluTanh
			}
			cost += unaryCost(op.uop)
		default: // binary
			op.bop = binaryOps[n.Op]
			a, b := n.In[0], n.In[1]
			other := b
			if k == 0 {
				// The chain starts at whichever operand has the output's shape.
				if !sameShape(p.shapes[a], shape) {
					if !sameShape(p.shapes[b], shape) {
						return nil, nil, nil
					}
					other, op.swap = a, true
				}
			} else if b == v {
				other, op.swap = a, true
			}
			op.other = len(args)
			args = append(args, other)
			if op.swap {
				op.s = kernels.NewStrided(shape, p.shapes[other], shape)
			} else {
				op.s = kernels.NewStrided(shape, shape, p.shapes[other])
			}
			cost++
		}
		if k == 0 {
			first := n.In[0]
			if op.swap {
				first = n.In[1]
			}
			args[0] = first
		}
		e.ops = append(e.ops, op)
		v = n.Out[0]
	}
	blocks := (e.n + chainBlock - 1) / chainBlock
	e.rc = splitWork(blocks, chainBlock, cost, threads)
	return e, args, nil
}

func isUnary(op string) bool { _, ok := unaryOps[op]; return ok }

func (e *chainExec) Run(x *RunCtx, in, out []Buf) {
	e.args, e.out = in, out[0].Host
	for k := range e.ops {
		if e.ops[k].clip {
			e.lo[k], e.hi[k] = clipBounds(in, e.ops[k].clipArgs, e.dt)
		}
	}
	x.Parallel(e.rc.count, e)
	e.args, e.out = nil, nil
}

func (e *chainExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	for b := r0; b < r1; b++ {
		lo, hi := b*chainBlock, min((b+1)*chainBlock, e.n)
		if e.dt == dtype.Float32 {
			chainBlockRun(e, f32s(e.out), lo, hi, f32s)
		} else {
			chainBlockRun(e, f64s(e.out), lo, hi, f64s)
		}
	}
}

// chainBlockRun applies every op of e to elements [lo, hi).
func chainBlockRun[T kernels.Float](e *chainExec, out []T, lo, hi int, view func([]byte) []T) {
	src := view(e.args[0].Host) // the chain value: the input, then out
	for k := range e.ops {
		op := &e.ops[k]
		switch {
		case op.unary:
			kernels.Unary(op.uop, out[lo:hi], src[lo:hi], op.alpha)
		case op.clip:
			kernels.Clip(out[lo:hi], src[lo:hi], T(e.lo[k]), T(e.hi[k]))
		case op.swap:
			kernels.BinaryRange(op.bop, &op.s, out, view(e.args[op.other].Host), src, lo, hi)
		default:
			kernels.BinaryRange(op.bop, &op.s, out, src, view(e.args[op.other].Host), lo, hi)
		}
		src = out
	}
}

// convGroup collects a Conv at ni and what can run in its step: a
// BatchNormalization to fold, then an activation, then a residual Add.
func convGroup(g *graph.Checked, isConst func(int) bool, ni int, next func(int) int, free func(int) bool) fuseGroup {
	grp := fuseGroup{kind: fuseConv, nodes: []int{ni}}
	if w := g.Nodes[ni].In; len(w) > 1 && w[1] >= 0 && isConst(w[1]) {
		grp.packs = &convPacks{}
	}
	cur := ni
	if nx := next(cur); nx >= 0 && free(nx) && bnFoldable(g, isConst, ni, nx) {
		grp.nodes = append(grp.nodes, nx)
		grp.bn = &bnFold{}
		cur = nx
	}
	if nx := next(cur); nx >= 0 && free(nx) && convAct(g, isConst, nx, g.Nodes[cur].Out[0]) {
		grp.nodes = append(grp.nodes, nx)
		cur = nx
	}
	if nx := next(cur); nx >= 0 && free(nx) && residualAdd(g, nx, g.Nodes[cur].Out[0]) {
		grp.nodes = append(grp.nodes, nx)
		if r := next(nx); r >= 0 && free(r) && g.Nodes[r].Op == "Relu" {
			grp.nodes = append(grp.nodes, r)
		}
	}
	return grp
}

// scaledConv reports whether Mul mi and Conv ci (-1: none), which alone
// reads its product, may fuse as a scaled group: a float32 1×1 Conv of one
// group with constant weights, reading the product as its input, with
// fewer output channels than input positions (H and W fixed), so that
// scaling its weights touches fewer values than the Mul (per image: M·C
// against C·H·W). The rest (stride 1 and no padding: the direct kernels'
// pointwise path; one operand per-channel scales of the other) is checked
// at the plan's shapes (bindScale).
func scaledConv(g *graph.Checked, isConst func(int) bool, mi, ci int) bool {
	if ci < 0 {
		return false
	}
	m, c := &g.Nodes[mi], &g.Nodes[ci]
	if c.Op != "Conv" || len(c.Out) != 1 || len(c.In) < 2 || c.In[0] != m.Out[0] || c.In[1] < 0 || !isConst(c.In[1]) ||
		len(m.In) != 2 || m.In[0] < 0 || m.In[1] < 0 || g.Values[m.Out[0]].DType != dtype.Float32 {
		return false
	}
	ws, xs := g.Values[c.In[1]].Shape, g.Values[m.Out[0]].Shape
	return len(ws) == 4 && ws[2] == 1 && ws[3] == 1 && c.Attr("group").Int <= 1 && len(xs) == 4 && xs[2] > 0 && xs[3] > 0 &&
		ws[0] < xs[2]*xs[3]
}

// convAct is epilogueAct for a Conv: only activations whose parameters
// the epilogue carries (none, LeakyRelu's alpha, Gelu's approximation), so
// an op added to unaryOps later with other attributes is never fused with
// them dropped.
func convAct(g *graph.Checked, isConst func(int) bool, ni, v int) bool {
	n := &g.Nodes[ni]
	if !epilogueAct(g, isConst, ni, v) {
		return false
	}
	switch n.Op {
	case "Clip", "LeakyRelu", "Gelu":
		return true
	}
	if _, ok := unary2Ops[n.Op]; ok {
		return true // unary2Params carries every attribute
	}
	return len(n.Schema.Attrs) == 0
}

// bnFoldable reports whether BatchNormalization bi, reading Conv ci's
// output, can fold into the Conv's weights: the Conv's weights and bias
// and every BN parameter are constants, and the BN computes one output.
func bnFoldable(g *graph.Checked, isConst func(int) bool, ci, bi int) bool {
	c, b := &g.Nodes[ci], &g.Nodes[bi]
	if b.Op != "BatchNormalization" || len(b.In) != 5 || b.In[0] != c.Out[0] || b.Attr("training_mode").Int != 0 {
		return false
	}
	for _, id := range b.Out[1:] {
		if id >= 0 {
			return false
		}
	}
	return len(c.In) >= 2 && c.In[1] >= 0 && isConst(c.In[1]) && constOrAbsent(isConst, c.In[2:]) && constOrAbsent(isConst, b.In[1:])
}

// bnFold is a Conv's weights and bias with the following BatchNormalization
// folded in: W' = W·s, b' = (b − mean)·s + beta, s = scale/√(var + eps),
// computed in float64 and rounded once to the model's type.
type bnFold struct {
	once sync.Once
	ok   bool
	w, b []byte
}

// bnScaleMax bounds |s| for folding. Folding rounds W·s once instead of
// rounding the Conv's result and then (y − mean)·s: both forms carry the
// same relative error as long as W·s and b' are normal numbers of the
// type. A huge or tiny s (a variance near zero with eps near zero, or a
// zero scale next to huge weights) could overflow W·s or flush it into
// subnormals, where the folded weights would lose their precision; then the
// group runs unfused. Cancellation between the conv's sum and the mean
// costs both forms alike and is no reason to refuse.
const bnScaleMax = 1 << 40

func (f *bnFold) compute(m *Model, conv, bn *graph.CNode, dt dtype.DType) {
	wb, ws := m.constData(conv.In[1])
	mOut := int(ws[0])
	per := numel(ws) / max(mOut, 1)
	get := func(id int, i int) float64 {
		b, _ := m.constData(id)
		if dt == dtype.Float32 {
			return float64(f32s(b)[i])
		}
		return f64s(b)[i]
	}
	eps := bn.Attr("epsilon").Float
	smallest := math.SmallestNonzeroFloat64 * (1 << 52) // the least normal float64
	largest := math.MaxFloat64
	if dt == dtype.Float32 {
		smallest, largest = 0x1p-126, math.MaxFloat32
	}
	// Each folded value is computed in float64, checked and rounded once
	// straight into the result: no float64 copy of the weights (a model's
	// worth of garbage at the first run, resnet18's 180 MB).
	w, b := make([]byte, numel(ws)*dt.Size()), make([]byte, mOut*dt.Size())
	put := func(dst []byte, i int, v float64) bool {
		if a := math.Abs(v); a > largest || (a != 0 && a < smallest) || math.IsNaN(v) {
			return false
		}
		if dt == dtype.Float32 {
			f32s(dst)[i] = float32(v)
		} else {
			f64s(dst)[i] = v
		}
		return true
	}
	for o := 0; o < mOut; o++ {
		s := get(bn.In[1], o) / math.Sqrt(get(bn.In[4], o)+eps)
		if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > bnScaleMax || (s != 0 && math.Abs(s) < 1/bnScaleMax) {
			return
		}
		bias := 0.0
		if len(conv.In) > 2 && conv.In[2] >= 0 {
			bias = get(conv.In[2], o)
		}
		if !put(b, o, (bias-get(bn.In[3], o))*s+get(bn.In[2], o)) {
			return
		}
		for i := o * per; i < (o+1)*per; i++ {
			var wv float64
			if dt == dtype.Float32 {
				wv = float64(f32s(wb)[i])
			} else {
				wv = f64s(wb)[i]
			}
			if !put(w, i, wv*s) {
				return
			}
		}
	}
	f.w, f.b = w, b
	f.ok = true
}

func (p *plan) bindConvGroup(m *Model, grp *fuseGroup, threads int) (Executor, []int, error) {
	g := m.g
	head, ins := p.groupHead(g, grp)
	y := head.Out[0]
	e, err := newConvExec(head, ins, p.shapes[y], threads)
	if err != nil {
		return nil, nil, err
	}
	e.packs = grp.packs
	args := append([]int{}, head.In...)
	members := grp.nodes[1:]
	if grp.scaled {
		if !p.bindScale(g, e, grp.nodes[0], args) {
			return nil, nil, nil
		}
		x, sc := g.Nodes[grp.nodes[0]].In[0], g.Nodes[grp.nodes[0]].In[1]
		if e.scaleFirst {
			x, sc = sc, x
		}
		args[0] = x
		args = append(args, sc)
		e.scaleArg = len(args) - 1
		members = grp.nodes[2:]
	}
	for _, ni := range members {
		n := &g.Nodes[ni]
		if n.Op == "BatchNormalization" {
			grp.bn.once.Do(func() { grp.bn.compute(m, head, n, e.dt) })
			if !grp.bn.ok {
				return nil, nil, nil
			}
			e.wOwn, e.bOwn, e.hasBias = grp.bn.w, grp.bn.b, true
		} else if !e.take(n, y, p.shapes, &args) {
			return nil, nil, nil
		}
		y = n.Out[0]
	}
	e.maybeWino()
	return e, args, nil
}

// bindScale checks, at the plan's shapes, that scaled group's Mul mi
// multiplies the Conv's input [N, C, H, W] by per-channel scales ([N, C,
// 1, 1] or [1, C, 1, 1], either operand) and that the Conv runs the direct
// kernels' pointwise path; it sets e's scale layout. (False runs the
// group's nodes unfused.)
func (p *plan) bindScale(g *graph.Checked, e *convExec, mi int, args []int) bool {
	m := &g.Nodes[mi]
	if e.direct == nil || !e.direct.Pointwise() || e.dt != dtype.Float32 || len(args) > 3 {
		return false
	}
	xs := p.shapes[m.Out[0]]
	for first, pair := range [2][2]int{{m.In[0], m.In[1]}, {m.In[1], m.In[0]}} {
		xv, sv := p.shapes[pair[0]], p.shapes[pair[1]]
		if !slices.Equal(xv, xs) || len(sv) != 4 || sv[1] != xs[1] || sv[2] != 1 || sv[3] != 1 || (sv[0] != 1 && sv[0] != xs[0]) {
			continue
		}
		perImage := sv[0] > 1
		e.scaleFirst, e.scaleImages = first == 1, perImage
		if perImage {
			e.perPass, e.split = 1, e.directSplit(1)
		}
		return true
	}
	return false
}

// epilogueTail is what a fused Gemm or Conv applies to its output blocks:
// an activation (Clip's bounds read from the run's arguments) and a
// residual Add.
type epilogueTail struct {
	act      kernels.Activation
	op       kernels.UnaryOp
	actAlpha float64
	op2      kernels.Unary2Op
	p2       kernels.UnaryParams
	clipArgs [2]int // arg indices of Clip's bounds, -1: none
	resArg   int    // arg index of the residual, -1: none
	// reluAfter: a Relu after the residual (convGroup's last member).
	reluAfter bool
}

// epilogueOf is the tail's epilogue for a run with Clip bounds lo, hi
// (the caller sets Bias and Residual).
func epilogueOf[T kernels.Float](t *epilogueTail, lo, hi float64) kernels.Epilogue[T] {
	return kernels.Epilogue[T]{Act: t.act, Op: t.op, Alpha: t.actAlpha, Lo: T(lo), Hi: T(hi), Op2: t.op2, P2: t.p2,
		ReluAfter: t.reluAfter}
}

func newEpilogueTail() epilogueTail {
	return epilogueTail{resArg: -1, clipArgs: [2]int{-1, -1}}
}

// take adds group member n, which reads y, to the tail, appending the
// arguments it needs; false when it cannot fuse at these shapes (a
// residual that broadcasts).
func (t *epilogueTail) take(n *graph.CNode, y int, shapes [][]int64, args *[]int) bool {
	switch {
	case n.Op == "Relu" && t.resArg >= 0:
		t.reluAfter = true
	case n.Op == "Add": // the residual: exactly Y's shape, no broadcast
		r := n.In[0]
		if r == y {
			r = n.In[1]
		}
		if !sameShape(shapes[r], shapes[y]) {
			return false
		}
		t.resArg = len(*args)
		*args = append(*args, r)
	case n.Op == "Clip":
		t.act = kernels.ActClip
		for j := 1; j < len(n.In) && j < 3; j++ {
			if n.In[j] >= 0 {
				t.clipArgs[j-1] = len(*args)
				*args = append(*args, n.In[j])
			}
		}
	default:
		if op2, ok := unary2Ops[n.Op]; ok {
			t.act, t.op2, t.p2 = kernels.ActUnary2, op2, unary2Params(n)
			return true
		}
		t.act, t.op = kernels.ActUnary, unaryOps[n.Op]
		switch {
		case n.Op == "LeakyRelu":
			t.actAlpha = n.Attr("alpha").Float
		case n.Op == "Gelu" && n.Attr("approximate").String == "tanh":
			t.op = kernels.OpGeluTanh
		}
	}
	return true
}
