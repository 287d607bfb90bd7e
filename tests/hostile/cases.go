package hostile

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// Cases returns the deterministic hostile suite.
func Cases() []Case {
	var out []Case
	out = append(out, emptyOperands()...)
	out = append(out, blowups()...)
	out = append(out, chains()...)
	out = append(out, indices()...)
	return out
}

// emptyShapes are run-time shapes with no elements next to huge
// dimensions, by rank.
var emptyShapes = map[int][][]int64{
	1: {{0}},
	2: {{Huge, 0}, {0, Huge}},
	3: {{Huge, 0, Huge}, {0, Huge, Huge}, {Huge, Huge, 0}, {1 << 31, 1 << 31, 0}},
}

// inputTypes are tried, in order, for each input of an op until its schema
// accepts the node.
var inputTypes = []dtype.DType{dtype.Float32, dtype.Int64, dtype.Bool}

// emptyOperands puts every registered op over every empty shape: one node
// whose inputs are all dynamic graph inputs of the same rank. Whatever the
// op, the run must end at once: empty results or a refusal.
func emptyOperands() []Case {
	ops := graph.Ops()
	slices.Sort(ops)
	var out []Case
	for _, op := range ops {
		s := graph.Schema(op)
		for rank := 1; rank <= 3; rank++ {
			c, ok := acceptedNode(op, s, rank)
			if !ok {
				continue
			}
			for _, shape := range emptyShapes[rank] {
				k := c
				k.Name = fmt.Sprintf("empty/%s/%v", op, shape)
				k.Inputs = slices.Clone(c.Inputs)
				for i := range k.Inputs {
					k.Inputs[i].Shape = shape
				}
				out = append(out, k)
			}
		}
	}
	return out
}

// acceptedNode finds input dtypes (and, for ops that need them, stored
// arguments) with which a single node of op passes validation at rank.
func acceptedNode(op string, s *graph.OpSchema, rank int) (Case, bool) {
	if op == "TreeEnsemble" { // its node arrays must be stored: one stump
		if rank != 2 {
			return Case{}, false
		}
		c := Case{Outputs: []string{"Y"}, Inputs: []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}}}
		n, consts := treeNode(&bytes{[]byte{2, 1, 0, 1, 2, 0, 1, 0, 0, 0, 1}}, "X0", 0)
		n.Outputs = []string{"Y"}
		c.Nodes, c.Consts = []graph.Node{n}, consts
		_, err := c.Build()
		return c, err == nil
	}
	n := s.MinInputs
	sig := make([]int64, rank)
	for i := range sig {
		sig[i] = graph.Dynamic
	}
	combos := 1
	for i := 0; i < n; i++ {
		combos *= len(inputTypes)
	}
	for k := 0; k < combos; k++ {
		c := Case{Outputs: []string{"Y"}}
		node := graph.Node{Op: op, Outputs: []string{"Y"}}
		for i, code := 0, k; i < n; i, code = i+1, code/len(inputTypes) {
			name := fmt.Sprint("X", i)
			c.Inputs = append(c.Inputs, Input{Name: name, DType: inputTypes[code%len(inputTypes)], Sig: sig})
			node.Inputs = append(node.Inputs, name)
		}
		for _, a := range s.Attrs {
			if a.Required && a.Name == "to" {
				node.Attrs = append(node.Attrs, graph.Attr{Name: "to", Type: graph.AttrInt, Int: int64(dtype.Float64)})
			} else if a.Required && a.Name == "axis" {
				node.Attrs = append(node.Attrs, graph.Attr{Name: "axis", Type: graph.AttrInt, Int: 0})
			}
		}
		if op == "Reshape" { // its shape must be stored: flatten to [-1]
			c.Inputs = c.Inputs[:1]
			c.Consts = []Const{int64s("shape", -1)}
			node.Inputs = []string{"X0", "shape"}
		}
		c.Nodes = []graph.Node{node}
		if _, err := c.Build(); err == nil {
			return c, true
		}
	}
	return Case{}, false
}

func int64s(name string, vals ...int64) Const {
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Const{Name: name, DType: dtype.Int64, Shape: []int64{int64(len(vals))}, Data: b}
}

func dyn(rank int) []int64 {
	s := make([]int64, rank)
	for i := range s {
		s[i] = graph.Dynamic
	}
	return s
}

// blowups: small inputs whose broadcast (or product) no limit allows.
func blowups() []Case {
	var out []Case
	for _, n := range []int64{1 << 13, 1 << 20, 1 << 24} {
		for _, op := range []string{"Add", "Mul", "Equal", "Less"} {
			out = append(out, Case{
				Name:    fmt.Sprintf("blowup/%s/%d", op, n),
				Inputs:  []Input{{"A", dtype.Float32, dyn(2), []int64{n, 1}}, {"B", dtype.Float32, dyn(2), []int64{1, n}}},
				Nodes:   []graph.Node{{Op: op, Inputs: []string{"A", "B"}, Outputs: []string{"Y"}}},
				Outputs: []string{"Y"}, Allowed: []errs.Code{errs.NoMemoryLimit}})
		}
		out = append(out, Case{
			Name:    fmt.Sprintf("blowup/MatMul/%d", n),
			Inputs:  []Input{{"A", dtype.Float32, dyn(2), []int64{n, 1}}, {"B", dtype.Float32, dyn(2), []int64{1, n}}},
			Nodes:   []graph.Node{{Op: "MatMul", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}}},
			Outputs: []string{"Y"}, Allowed: []errs.Code{errs.NoMemoryLimit}})
	}
	// Three-way Where broadcast and a rank-3 outer product past 2^62 bytes.
	out = append(out, Case{Name: "blowup/Where",
		Inputs: []Input{{"C", dtype.Bool, dyn(3), []int64{1 << 21, 1, 1}}, {"A", dtype.Float32, dyn(3), []int64{1, 1 << 21, 1}},
			{"B", dtype.Float32, dyn(3), []int64{1, 1, 1 << 21}}},
		Nodes:   []graph.Node{{Op: "Where", Inputs: []string{"C", "A", "B"}, Outputs: []string{"Y"}}},
		Outputs: []string{"Y"}, Allowed: []errs.Code{errs.ShapeTooLarge}})
	return out
}

// chains: depth and width — a 100,000-node chain and a Concat of 65,536
// inputs must plan and run (the planner is O(n log n)).
func chains() []Case {
	const depth = 100000
	deep := Case{Name: "chain/deep", Inputs: []Input{{"v0", dtype.Float32, dyn(1), []int64{8}}},
		Outputs: []string{fmt.Sprint("v", depth)}, Allowed: []errs.Code{errs.OK}}
	for i := 0; i < depth; i++ {
		deep.Nodes = append(deep.Nodes, graph.Node{Op: "Neg", Inputs: []string{fmt.Sprint("v", i)}, Outputs: []string{fmt.Sprint("v", i+1)}})
	}
	const width = 1 << 16
	wide := Case{Name: "chain/wide-concat", Inputs: []Input{{"X", dtype.Float32, dyn(1), []int64{2}}},
		Outputs: []string{"Y"}, Allowed: []errs.Code{errs.OK}}
	cat := graph.Node{Op: "Concat", Outputs: []string{"Y"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 0}}}
	for i := 0; i < width; i++ {
		cat.Inputs = append(cat.Inputs, "X")
	}
	wide.Nodes = []graph.Node{cat}
	return []Case{deep, wide}
}

// indices: Gather indices far out of range, negative, and at the extremes.
func indices() []Case {
	var out []Case
	for _, idx := range []int64{-1 << 63, 1<<63 - 1, 1 << 40, -4, 3} {
		out = append(out, Case{Name: fmt.Sprintf("gather/index=%d", idx),
			Inputs:  []Input{{"X", dtype.Float32, dyn(1), []int64{3}}},
			Consts:  []Const{int64s("I", idx)},
			Nodes:   []graph.Node{{Op: "Gather", Inputs: []string{"X", "I"}, Outputs: []string{"Y"}}},
			Outputs: []string{"Y"}, Allowed: []errs.Code{errs.InvalidValue}})
	}
	return out
}
