package engine

import (
	"cmp"
	"slices"
	"sort"

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
	offset []int64   // by value id: arena offset of computed, non-alias values; -1 otherwise
	arena  int64     // planned peak bytes
	naive  int64     // sum of all computed buffers, for comparison
	steps  []step
}

// step is one live node, prepared.
type step struct {
	node *graph.CNode
	exec executor // nil for pure views (Identity, Reshape, Flatten)
	in   [][]byte // argument buffers, filled per run
	out  [][]byte
}

// executor runs one prepared node on its argument buffers.
type executor interface {
	run(x *runCtx, in, out [][]byte)
}

// MemoryStats describes a plan's activation memory.
type MemoryStats struct {
	ArenaBytes int64 // planned peak: the arena a session allocates
	NaiveBytes int64 // what one buffer per tensor would take
	Buffers    int   // computed tensors that needed a buffer
}

// constSource serves constant int64 values to shape inference at plan time.
type constSource struct{ m *Model }

func (c constSource) Int64s(id int) ([]int64, bool, error) {
	v := c.m.g.Values[id]
	if v.Kind != graph.KindConstant {
		return nil, false, nil
	}
	vals, err := c.m.file.Int64s(v.Name)
	return vals, true, err
}

// newPlan infers concrete shapes for the given input shapes, prepares each
// live node and lays out the arena.
func newPlan(m *Model, inShapes [][]int64, sel []int, poolSize int) (*plan, error) {
	g := m.g
	outIDs := make([]int, len(sel))
	for i, o := range sel {
		outIDs[i] = g.Outputs[o]
	}
	live := liveNodes(g, outIDs)
	p := &plan{
		sel:    sel,
		shapes: make([][]int64, len(g.Values)),
		bytes:  make([]int64, len(g.Values)),
		alias:  make([]int, len(g.Values)),
		offset: make([]int64, len(g.Values)),
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
		if v.Kind == graph.KindConstant {
			p.shapes[id] = v.Shape
		}
	}
	setBytes := func(id int) error {
		n, ok := dtype.ByteSize(g.Values[id].DType, p.shapes[id])
		if !ok {
			return errs.New(errs.Shape, "tensor %q: shape %v is too large", g.Values[id].Name, p.shapes[id])
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
	cs := constSource{m}
	infos := make([]graph.ValueInfo, len(g.Values))
	for ni := range g.Nodes {
		if !live[ni] {
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
			p.shapes[id] = outs[j].Shape
			if err := setBytes(id); err != nil {
				return nil, err
			}
		}
		exec, alias, err := prepare(n, ins, outs, poolSize)
		if err != nil {
			return nil, runShapeErr(err, n)
		}
		if alias {
			p.alias[n.Out[0]] = rootOf(p.alias, n.In[0])
		}
		st := step{node: n, exec: exec, in: make([][]byte, len(n.In)), out: make([][]byte, len(n.Out))}
		p.steps = append(p.steps, st)
	}
	p.layout(outIDs)
	return p, nil
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
	}
	return errs.Wrap(code, err, "node %s %q does not accept these input shapes", n.Op, n.Name)
}

// layout assigns arena offsets: each computed buffer lives from the step
// that writes it to the last step that reads it (or its aliases); buffers
// are placed largest first at the lowest offset that does not collide with
// an already placed buffer whose lifetime overlaps (TFLite's greedy-by-size).
func (p *plan) layout(outputs []int) {
	type buf struct {
		id         int
		size       int64
		start, end int
		off        int64
	}
	var bufs []*buf
	byID := map[int]*buf{}
	for si, st := range p.steps {
		for _, id := range st.node.Out {
			if id < 0 || p.alias[id] >= 0 {
				continue
			}
			b := &buf{id: id, size: (p.bytes[id] + arenaAlign - 1) &^ (arenaAlign - 1), start: si, end: si}
			bufs = append(bufs, b)
			byID[id] = b
			p.naive += b.size
		}
	}
	extend := func(id, at int) {
		if b, ok := byID[rootOf(p.alias, id)]; ok && at > b.end {
			b.end = at
		}
	}
	for si, st := range p.steps {
		for _, id := range st.node.In {
			if id >= 0 {
				extend(id, si)
			}
		}
	}
	for _, id := range outputs {
		extend(id, len(p.steps))
	}
	order := slices.Clone(bufs)
	sort.SliceStable(order, func(i, j int) bool { return order[i].size > order[j].size })
	// placed holds values (no pointers: inserting moves no write barriers)
	// sorted by offset, so one pass finds the lowest gap among the buffers
	// whose lifetimes overlap b's.
	type span struct {
		off, size  int64
		start, end int
	}
	placed := make([]span, 0, len(order))
	for _, b := range order {
		var off int64
		for _, q := range placed {
			if q.start > b.end || b.start > q.end {
				continue
			}
			if off+b.size <= q.off {
				break
			}
			off = max(off, q.off+q.size)
		}
		b.off = off
		at, _ := slices.BinarySearchFunc(placed, off, func(q span, o int64) int { return cmp.Compare(q.off, o) })
		placed = slices.Insert(placed, at, span{off, b.size, b.start, b.end})
		p.arena = max(p.arena, off+b.size)
	}
	for _, b := range bufs {
		p.offset[b.id] = b.off
	}
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
