package engine

// Constant folding. A node whose inputs are all constants — stored in the
// file, or folded before it — computes the same outputs on every run, so
// it runs once, when the Model plans its first run, and its outputs become
// constants: plans skip the node, kernels downstream see the values at
// Compile (a folded weight is packed like a stored one). Nothing is folded
// at open, which stays flat in the model's size. (Shape inputs, such as a
// Reshape's, must be stored tensors: the graph check refuses computed ones,
// so folding does not reach shape inference.)
//
// A node that does not fold — its shapes do not infer, an output would be
// too large, its kernel reports an error or panics — is left to run, so
// that its error surfaces at run time as it would unfolded. Nodes whose
// outputs are graph outputs are not folded (a run copies each output out
// of the arena).

import (
	"fmt"
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// Folding bounds: the bytes of one folded value and of all of a Model's.
// Folded values are backend memory (mmap on the CPU, which fails cleanly,
// unlike a Go heap allocation) kept for the Model's life.
const (
	foldMaxValue = 16 << 20
	foldMaxTotal = 64 << 20
)

// foldState is a Model's folded constants, computed once.
type foldState struct {
	once  sync.Once
	node  []bool    // by node index: folded
	value []bool    // by value id: a folded constant
	data  [][]byte  // by value id: its bytes
	shape [][]int64 // by value id: its shape
	bytes int64     // all folded bytes
	owned []Buf     // backend memory to free with the Model
}

// free releases the folded values' memory.
func (fs *foldState) free(be Backend) {
	for i := range fs.owned {
		be.Free(&fs.owned[i])
	}
	fs.owned = nil
}

// folded returns the Model's folded constants, folding on first use.
func (m *Model) folded() *foldState {
	fs := &m.fold
	fs.once.Do(m.foldConstants)
	return fs
}

// isConst reports whether value id is a constant, stored or folded. Call
// after folded.
func (m *Model) isConst(id int) bool {
	return m.g.Values[id].Kind == graph.KindConstant || m.fold.value != nil && m.fold.value[id]
}

// constData returns a constant's bytes and shape (stored or folded).
func (m *Model) constData(id int) ([]byte, []int64) {
	if m.fold.value != nil && m.fold.value[id] {
		return m.fold.data[id], m.fold.shape[id]
	}
	return m.stored[id], m.g.Values[id].Shape
}

func (m *Model) foldConstants() {
	g, fs := m.g, &m.fold
	fs.node = make([]bool, len(g.Nodes))
	fs.value = make([]bool, len(g.Values))
	fs.data = make([][]byte, len(g.Values))
	fs.shape = make([][]int64, len(g.Values))
	if m.noFold {
		return
	}
	isOut := make([]bool, len(g.Values))
	for _, id := range g.Outputs {
		isOut[id] = true
	}
	for ni := range g.Nodes {
		if !m.foldable(ni, isOut) {
			continue
		}
		outs, shapes, owned, err := m.foldNode(ni)
		fs.owned = append(fs.owned, owned...)
		if err != nil {
			continue // left to run: its error, if any, comes at run time
		}
		consts := make([]Buf, len(outs))
		for j, id := range g.Nodes[ni].Out {
			if id >= 0 && err == nil {
				consts[j], err = m.backend.Constant(outs[j])
			}
		}
		if err != nil {
			continue // the backend could not take it: left to run
		}
		fs.node[ni] = true
		for j, id := range g.Nodes[ni].Out {
			if id >= 0 {
				fs.value[id], fs.data[id], fs.shape[id] = true, outs[j], shapes[j]
				m.consts[id] = consts[j]
				m.constIDs = append(m.constIDs, id)
			}
		}
	}
}

// foldable reports whether node ni reads only constants (at least one)
// and writes no graph output.
func (m *Model) foldable(ni int, isOut []bool) bool {
	if hasStrings(m.g, ni) { // text stays packed for Compile and referenced for runs
		return false
	}
	n := &m.g.Nodes[ni]
	present := 0
	for _, id := range n.In {
		if id < 0 {
			continue
		}
		if !m.isConst(id) {
			return false
		}
		present++
	}
	for _, id := range n.Out {
		if id >= 0 && isOut[id] {
			return false
		}
	}
	return present > 0 && len(n.Out) > 0
}

// foldNode computes node ni's outputs from its constant inputs, within
// the folding bounds. owned is the backend memory it allocated (freed with
// the Model even when folding fails).
func (m *Model) foldNode(ni int) (outs [][]byte, shapes [][]int64, owned []Buf, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic while folding: %v", v)
		}
	}()
	g, fs := m.g, &m.fold
	n := &g.Nodes[ni]
	ins := make([]*graph.ValueInfo, len(n.In))
	in := make([]Buf, len(n.In))
	for j, id := range n.In {
		if id < 0 {
			continue
		}
		b, shape := m.constData(id)
		v := &g.Values[id]
		ins[j] = &graph.ValueInfo{Name: v.Name, DType: v.DType, Shape: shape}
		in[j] = Buf{Host: b, Len: int64(len(b))}
	}
	infos, err := graph.Infer(n, ins, constSource{m: m})
	if err != nil {
		return nil, nil, nil, err
	}
	sizes := make([]int64, len(n.Out))
	total, empty := fs.bytes, true
	for j, id := range n.Out {
		if id < 0 {
			continue
		}
		size, ok := dtype.ByteSize(infos[j].DType, infos[j].Shape)
		if !ok || size > foldMaxValue || total+size > foldMaxTotal {
			return nil, nil, nil, errs.New(errs.ShapeTooLarge, "too large to fold")
		}
		sizes[j], total = size, total+size
		if c, _ := dtype.NumElements(infos[j].Shape); c > 0 {
			empty = false
		}
	}
	k, c, err := m.compiled(ni)
	if err != nil {
		return nil, nil, nil, err
	}
	outs, shapes = make([][]byte, len(n.Out)), make([][]int64, len(n.Out))
	for j, id := range n.Out {
		if id >= 0 {
			shapes[j] = infos[j].Shape
		}
	}
	if k.View {
		if hasOutputsPast0(n) {
			return nil, nil, nil, errs.New(errs.UnsupportedFeature, "a view with more outputs")
		}
		outs[0] = in[0].Host // the same bytes under the output's shape
		fs.bytes = total
		return outs, shapes, nil, nil
	}
	out := make([]Buf, len(n.Out))
	for j, id := range n.Out {
		if id < 0 {
			continue
		}
		b, err := m.backend.Alloc(sizes[j])
		if err != nil {
			return nil, nil, owned, err
		}
		owned = append(owned, b)
		outs[j], out[j] = b.Host, b
	}
	if !empty { // no kernel for outputs without elements, as in a plan
		bc := BindCtx{Node: n, In: ins, Out: infos, Threads: 1}
		exec, err := c.Bind(&bc)
		if err != nil {
			return nil, nil, owned, err
		}
		x := &RunCtx{Worker: new(kernels.Worker)}
		if bc.scratch > 0 {
			s, err := m.backend.Alloc(bc.scratch)
			if err != nil {
				return nil, nil, owned, err
			}
			defer m.backend.Free(&s)
			x.Scratch = s
		}
		exec.Run(x, in, out)
		if x.err != nil {
			return nil, nil, owned, x.err
		}
	}
	fs.bytes = total
	return outs, shapes, owned, nil
}
