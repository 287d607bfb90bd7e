package engine

import (
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// arenaAlign aligns every buffer the planner places (cache lines, SIMD).
const arenaAlign = 64

// plan is everything a run needs for one set of input shapes: concrete
// shapes, the arena layout and the prepared kernels. Plans are per session.
type plan struct {
	dims   []int64   // input ranks and dims, the cache key (with sel)
	sel    []int     // the graph outputs this plan computes (indices into Checked.Outputs)
	all    bool      // sel was not given: every output, in order
	shapes [][]int64 // by value id
	bytes  []int64   // by value id
	alias  []int     // by value id: value whose storage this one shares, or -1
	// viewOff is, by value id, the byte offset of an alias in its root's
	// storage: 0 for a reshape, a slice's start for a Gather read in place.
	viewOff []int64
	offset  []int64 // by value id: arena offset of computed, non-alias values; -1 otherwise
	arena   int64   // planned peak bytes: activations and kernel scratch
	naive   int64   // sum of all computed buffers, for comparison
	steps   []step
}

// step is one live node, or a group of fused nodes, bound.
type step struct {
	node       *graph.CNode // the node, or the group's last (for messages)
	args, res  []int        // value ids read and written (-1: absent)
	exec       Executor     // nil: a view (Identity, Reshape, ...) or no elements to compute
	in         []Buf        // argument buffers, filled per run
	out        []Buf
	scratch    int64 // bytes of arena scratch the kernel needs during this step
	scratchOff int64
	fused      bool // a fusion group's step (node is its last)
}

// MemoryStats describes a plan's activation memory.
type MemoryStats struct {
	ArenaBytes int64 // planned peak: the arena a session allocates
	NaiveBytes int64 // what one buffer per tensor would take
	Buffers    int   // computed tensors that needed a buffer
}

// newPlan infers concrete shapes for the given input shapes, lays out the
// arena and prepares each live node. Nothing proportional to a tensor's size
// is allocated here: the arena (which holds kernels' scratch too) is checked
// against limit first, and allocated by the session.
func newPlan(m *Model, inShapes [][]int64, sel []int, poolSize int, limit int64) (*plan, error) {
	if err := m.loadConstants(); err != nil {
		return nil, err
	}
	if err := m.strings(); err != nil {
		return nil, err
	}
	g, fs := m.g, m.folded()
	outIDs := make([]int, len(sel))
	for i, o := range sel {
		outIDs[i] = g.Outputs[o]
	}
	live := liveNodes(g, outIDs)
	p := &plan{
		sel:     sel,
		shapes:  make([][]int64, len(g.Values)),
		bytes:   make([]int64, len(g.Values)),
		alias:   make([]int, len(g.Values)),
		viewOff: make([]int64, len(g.Values)),
		offset:  make([]int64, len(g.Values)),
	}
	for i := range p.alias {
		p.alias[i], p.offset[i] = -1, -1
	}
	for i, id := range g.Inputs {
		p.shapes[id] = inShapes[i]
		p.dims = append(p.dims, int64(len(inShapes[i])))
		p.dims = append(p.dims, inShapes[i]...)
	}
	for id, v := range g.Values {
		switch {
		case v.Kind == graph.KindConstant:
			p.shapes[id] = v.Shape
		case fs.value[id]:
			p.shapes[id] = fs.shape[id]
		}
	}
	setBytes := func(id int) error {
		n, ok := dtype.ByteSize(g.Values[id].DType, p.shapes[id])
		if !ok {
			return errs.New(errs.ShapeTooLarge, "tensor %q: shape %v is too large for any run", g.Values[id].Name, p.shapes[id])
		}
		if n > limit {
			return errs.New(errs.NoMemoryLimit, "tensor %q: shape %v needs %d bytes; the session's memory limit is %d", g.Values[id].Name, p.shapes[id], n, limit)
		}
		p.bytes[id] = n
		return nil
	}
	for id := range g.Values {
		if p.shapes[id] != nil {
			if err := setBytes(id); err != nil {
				return nil, err
			}
		}
	}
	cs := constSource{m: m, known: make([][]int64, len(g.Values))}
	infos := make([]graph.ValueInfo, len(g.Values))
	// Pass 1: shapes, and the kernels bound to them. Binding allocates
	// nothing sized by a tensor, so it may precede the memory check.
	fz := m.groups()
	type member struct {
		ni    int
		ins   []*graph.ValueInfo
		outs  []graph.ValueInfo
		empty bool
	}
	// held: by group, the members waiting for their group's last node.
	// Groups may interleave in node order, so each keeps its own list.
	held := make(map[int32][]member)
	for ni := range g.Nodes {
		if !live[ni] || fs.node[ni] {
			continue
		}
		n := &g.Nodes[ni]
		ins := make([]*graph.ValueInfo, len(n.In))
		for j, id := range n.In {
			if id >= 0 {
				infos[id] = graph.ValueInfo{Name: g.Values[id].Name, DType: g.Values[id].DType, Shape: p.shapes[id]}
				ins[j] = &infos[id]
			}
		}
		outs, err := graph.Infer(n, ins, cs)
		if err != nil {
			return nil, runShapeErr(err, n)
		}
		for j, id := range n.Out {
			if id < 0 {
				continue
			}
			if slices.Contains(outs[j].Shape, graph.Dynamic) {
				// Only a size read from input data (not from shapes) stays unknown here.
				return nil, errs.New(errs.UnsupportedFeature, "node %s %q: the shape of %q depends on the values of input data; MLE plans every shape before it runs",
					n.Op, n.Name, g.Values[id].Name)
			}
			p.shapes[id] = outs[j].Shape
		}
		evalShapeValue(cs, n, p.shapes)
		empty := true
		for j, id := range n.Out {
			if id < 0 {
				continue
			}
			p.shapes[id] = outs[j].Shape
			if err := setBytes(id); err != nil {
				return nil, errs.Prefix(err, "node %s %q", n.Op, n.Name)
			}
			if c, _ := dtype.NumElements(outs[j].Shape); c > 0 {
				empty = false
			}
		}
		if gi := fz.of[ni]; gi >= 0 {
			grp := &fz.groups[gi]
			if ni != grp.nodes[len(grp.nodes)-1] {
				held[gi] = append(held[gi], member{ni, ins, outs, empty})
				continue
			}
			if !empty {
				exec, args, err := p.bindGroup(m, int(gi), poolSize)
				if err != nil {
					return nil, runShapeErr(err, n)
				}
				if exec != nil {
					st := step{node: n, args: args, res: n.Out, exec: exec, fused: true,
						in: make([]Buf, len(args)), out: make([]Buf, len(n.Out))}
					if s, ok := exec.(scratcher); ok {
						st.scratch = s.scratchBytes()
					}
					p.steps = append(p.steps, st)
					delete(held, gi)
					continue
				}
			}
			// Unfused: the members' steps, then this one's.
			for _, h := range held[gi] {
				if err := p.addStep(m, h.ni, h.ins, h.outs, h.empty, poolSize); err != nil {
					return nil, err
				}
			}
			delete(held, gi)
		}
		if err := p.addStep(m, ni, ins, outs, empty, poolSize); err != nil {
			return nil, err
		}
	}
	// Pass 2: memory.
	p.layout(outIDs)
	if p.arena > limit {
		return nil, errs.New(errs.NoMemoryLimit, "these input shapes need %d bytes of activations; the session's memory limit is %d", p.arena, limit)
	}
	return p, nil
}

// addStep binds node ni on its own and appends its step.
func (p *plan) addStep(m *Model, ni int, ins []*graph.ValueInfo, outs []graph.ValueInfo, empty bool, poolSize int) error {
	n := &m.g.Nodes[ni]
	st := step{node: n, args: n.In, res: n.Out, in: make([]Buf, len(n.In)), out: make([]Buf, len(n.Out))}
	if !empty {
		// A node whose outputs have no elements gets no kernel, so no
		// loop can spin over the outer dimensions of an empty tensor.
		k, c, err := m.compiled(ni)
		if err != nil {
			return err
		}
		bind := !k.View
		off, slice := p.gatherSlice(m, n, ins)
		if k.View || slice {
			root := rootOf(p.alias, n.In[0])
			off += p.viewOff[n.In[0]]
			if off < 0 || p.bytes[n.Out[0]] > p.bytes[root]-off { // an inference bug must not read past a buffer
				return errs.New(errs.Internal, "node %s %q: view %q needs %d bytes at %d of %q's %d", n.Op, n.Name,
					m.g.Values[n.Out[0]].Name, p.bytes[n.Out[0]], off, m.g.Values[root].Name, p.bytes[root])
			}
			p.alias[n.Out[0]], p.viewOff[n.Out[0]] = root, off
			bind = k.View && c != nil && hasOutputsPast0(n)
		}
		if bind {
			bc := BindCtx{Node: n, In: ins, Out: outs, Threads: poolSize}
			exec, err := c.Bind(&bc)
			if err != nil {
				return runShapeErr(err, n)
			}
			st.exec, st.scratch = exec, bc.scratch
		}
	}
	p.steps = append(p.steps, st)
	return nil
}

// scratcher is a fused step's executor that needs arena scratch.
type scratcher interface{ scratchBytes() int64 }

// hasOutputsPast0 reports whether a view node computes more than output 0
// (a Dropout's mask).
func hasOutputsPast0(n *graph.CNode) bool {
	for _, id := range n.Out[1:] {
		if id >= 0 {
			return true
		}
	}
	return false
}

// gatherSlice returns the byte offset at which a Gather's output is a
// contiguous slice of its data, read in place instead of copied (torch's
// q, k, v = qkv[0], qkv[1], qkv[2] in every attention layer): one
// constant index, in range, along an axis with only size-1 dimensions
// before it, over numeric data. slice is false otherwise; an index out of
// range is then the kernel's to report when the node runs.
func (p *plan) gatherSlice(m *Model, n *graph.CNode, ins []*graph.ValueInfo) (off int64, slice bool) {
	if n.Op != "Gather" || len(n.In) != 2 || n.In[1] < 0 || !m.isConst(n.In[1]) || ins[0].DType.IsString() {
		return 0, false
	}
	s := ins[0].Shape
	axis, ok := graph.NormAxis(n.Attr("axis").Int, len(s))
	if !ok {
		return 0, false
	}
	for _, d := range s[:axis] {
		if d != 1 {
			return 0, false
		}
	}
	b, _ := m.constData(n.In[1])
	var k int64
	switch {
	case ins[1].DType == dtype.Int64 && len(b) == 8:
		k = i64s(b)[0]
	case ins[1].DType == dtype.Int32 && len(b) == 4:
		k = int64(i32s(b)[0])
	default:
		return 0, false // not a single index
	}
	if k < 0 {
		k += s[axis]
	}
	if k < 0 || k >= s[axis] {
		return 0, false
	}
	return k * int64(numel(s[axis+1:])) * int64(ins[0].DType.Size()), true
}

func rootOf(alias []int, id int) int {
	for alias[id] >= 0 {
		id = alias[id]
	}
	return id
}

// runShapeErr turns a graph-validation error found at plan time (with
// concrete input shapes) into a run-time shape error.
func runShapeErr(err error, n *graph.CNode) error {
	code := errs.CodeOf(err)
	switch code {
	case errs.GraphShape, errs.GraphAttribute:
		code = errs.Shape
	case errs.GraphTooLarge:
		code = errs.ShapeTooLarge
	}
	return errs.Wrap(code, err, "node %s %q does not accept these input shapes", n.Op, n.Name)
}

// stats reports the plan's memory use.
func (p *plan) stats() MemoryStats {
	n := 0
	for _, o := range p.offset {
		if o >= 0 {
			n++
		}
	}
	return MemoryStats{ArenaBytes: p.arena, NaiveBytes: p.naive, Buffers: n}
}
