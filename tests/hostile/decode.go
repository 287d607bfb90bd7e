package hostile

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// dims are the sizes the decoder draws from: small ones, and huge ones that
// only make legal tensors next to a zero.
var dims = []int64{0, 1, 2, 3, 5, 16, 64, 1 << 20, 1 << 31, Huge, 1 << 62}

// dtypes favour float32, which every op takes.
var dtypes = []dtype.DType{dtype.Float32, dtype.Float32, dtype.Float32, dtype.Float64, dtype.Int64, dtype.Int32, dtype.Bool}

// bytes reads fuzzer input; past its end every read is 0.
type bytes struct {
	b []byte
}

func (r *bytes) next() int {
	if len(r.b) == 0 {
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *bytes) pick(n int) int { return r.next() % n }

// Decode turns fuzzer bytes into a case: up to 3 inputs (dynamic or static
// dims from dims), up to 8 nodes of any registered op reading earlier
// tensors or small stored ones, attributes from the bytes, and run-time
// shapes for the dynamic dims. Most byte strings give graphs the checker
// rejects; those are skipped by the caller.
func Decode(data []byte) Case {
	r := &bytes{data}
	ops := graph.Ops()
	slices.Sort(ops)
	c := Case{Name: "fuzz"}
	var names []string
	nIn := 1 + r.pick(3)
	for i := 0; i < nIn; i++ {
		rank := r.pick(4)
		in := Input{Name: fmt.Sprint("in", i), DType: dtypes[r.pick(len(dtypes))], Sig: make([]int64, rank), Shape: make([]int64, rank)}
		for d := 0; d < rank; d++ {
			size := dims[r.pick(len(dims))]
			in.Shape[d] = size
			in.Sig[d] = size
			if r.pick(2) == 0 {
				in.Sig[d] = graph.Dynamic
			}
		}
		c.Inputs = append(c.Inputs, in)
		names = append(names, in.Name)
	}
	nConst := r.pick(3)
	for i := 0; i < nConst; i++ {
		k := Const{Name: fmt.Sprint("k", i), DType: dtypes[r.pick(len(dtypes))]}
		rank := r.pick(3)
		n := int64(1)
		for d := 0; d < rank; d++ {
			size := int64(r.pick(5))
			k.Shape = append(k.Shape, size)
			n *= size
		}
		k.Data = make([]byte, n*int64(k.DType.Size()))
		for j := range k.Data {
			k.Data[j] = byte(r.next())
		}
		if k.DType == dtype.Bool {
			for j := range k.Data {
				k.Data[j] &= 1
			}
		}
		c.Consts = append(c.Consts, k)
		names = append(names, k.Name)
	}
	nNodes := 1 + r.pick(8)
	for i := 0; i < nNodes; i++ {
		op := ops[r.pick(len(ops))]
		s := graph.Schema(op)
		if op == "TreeEnsemble" {
			n, consts := treeNode(r, names[len(names)-1-r.pick(min(len(names), 3))], i)
			c.Consts = append(c.Consts, consts...)
			c.Nodes = append(c.Nodes, n)
			names = append(names, n.Outputs...)
			continue
		}
		n := graph.Node{Op: op, Outputs: []string{fmt.Sprint("t", i)}}
		nArgs := s.MinInputs + r.pick(min(s.MaxInputs-s.MinInputs, 3)+1)
		for j := 0; j < nArgs; j++ { // mostly the newest tensors: chains
			n.Inputs = append(n.Inputs, names[len(names)-1-r.pick(min(len(names), 3))])
		}
		for _, a := range s.Attrs {
			if !a.Required && r.pick(3) != 0 {
				continue
			}
			v := graph.Attr{Name: a.Name, Type: a.Type}
			switch a.Type {
			case graph.AttrInt:
				v.Int = int64(r.pick(7)) - 3
				if a.Name == "to" {
					v.Int = int64(dtypes[r.pick(len(dtypes))])
				}
			case graph.AttrFloat:
				v.Float = float64(r.pick(5)) / 4
			case graph.AttrInts:
				for k := r.pick(4); k > 0; k-- {
					v.Ints = append(v.Ints, int64(r.pick(7))-3)
				}
			case graph.AttrString:
				v.String = []string{"none", "tanh"}[r.pick(2)]
			case graph.AttrFloats:
				v.Floats = []float64{float64(r.pick(5))}
			}
			n.Attrs = append(n.Attrs, v)
		}
		if s.MaxOutputs > 1 && r.pick(2) == 0 {
			n.Outputs = append(n.Outputs, fmt.Sprint("t", i, "b"))
		}
		c.Nodes = append(c.Nodes, n)
		names = append(names, n.Outputs...)
	}
	c.Outputs = []string{c.Nodes[len(c.Nodes)-1].Outputs[0]}
	if nNodes > 1 && r.pick(2) == 0 {
		c.Outputs = append(c.Outputs, c.Nodes[r.pick(nNodes-1)].Outputs[0])
	}
	return c
}

// treeNode builds a TreeEnsemble over x whose node arrays (stored tensors)
// and attributes come from the bytes: most are refused by the node-array
// validator, the rest must run (FuzzTreeEnsemble in core/engine checks
// their values against a reference).
func treeNode(r *bytes, x string, id int) (graph.Node, []Const) {
	m := 1 + r.pick(6)
	i32 := func(name string, vals []int32) Const {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return Const{Name: name, DType: dtype.Int32, Shape: []int64{int64(len(vals))}, Data: b}
	}
	var feat, left, right []int32
	thr := make([]byte, 8*m)
	flags := make([]byte, m)
	for i := 0; i < m; i++ {
		feat = append(feat, int32(r.pick(4))-1)
		left = append(left, int32(i+r.pick(4)-1))
		right = append(right, int32(i+r.pick(4)-1))
		flags[i] = byte(r.next())
		binary.LittleEndian.PutUint64(thr[8*i:], math.Float64bits([]float64{0, 1, math.Inf(1), math.NaN()}[r.pick(4)]))
	}
	k := 1 + r.pick(2)
	leaves := make([]byte, 8*3)
	p := fmt.Sprint("tree", id, "_")
	consts := []Const{
		i32(p+"feature", feat), {Name: p + "threshold", DType: dtype.Float64, Shape: []int64{int64(m)}, Data: thr},
		i32(p+"left", left), i32(p+"right", right), {Name: p + "flags", DType: dtype.Uint8, Shape: []int64{int64(m)}, Data: flags},
		i32(p+"roots", []int32{int32(r.pick(m))}), i32(p+"targets", []int32{int32(r.pick(2))}),
		{Name: p + "leaves", DType: dtype.Float64, Shape: []int64{3, 1}, Data: leaves},
	}
	if r.pick(2) == 0 {
		offs := make([]int32, m+1)
		for i := 1; i <= m; i++ {
			offs[i] = offs[i-1] + int32(r.pick(3))
		}
		consts = append(consts, i32(p+"cat_offsets", offs),
			Const{Name: p + "cat_bits", DType: dtype.Uint8, Shape: []int64{int64(2 * m)}, Data: make([]byte, 2*m)})
	}
	n := graph.Node{Op: "TreeEnsemble", Inputs: []string{x}, Outputs: []string{fmt.Sprint("t", id)}}
	for _, c := range consts {
		n.Inputs = append(n.Inputs, c.Name)
	}
	n.Attrs = []graph.Attr{{Name: "n_targets", Type: graph.AttrInt, Int: int64(k)},
		{Name: "post_transform", Type: graph.AttrString, String: graph.TreePostTransforms[r.pick(len(graph.TreePostTransforms))]},
		{Name: "aggregate", Type: graph.AttrString, String: graph.TreeAggregates[r.pick(2)]},
		{Name: "accumulate", Type: graph.AttrString, String: graph.TreeAccumulates[r.pick(2)]},
		{Name: "input_cast", Type: graph.AttrString, String: graph.TreeInputCasts[r.pick(2)]}}
	return n, consts
}
