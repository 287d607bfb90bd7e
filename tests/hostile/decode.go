package hostile

import (
	"fmt"
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
