package hostile

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
)

// Cases returns the deterministic hostile suite.
func Cases() []Case {
	var out []Case
	out = append(out, emptyOperands()...)
	out = append(out, blowups()...)
	out = append(out, chains()...)
	out = append(out, indices()...)
	out = append(out, newOps()...)
	return out
}

// emptyShapes are run-time shapes with no elements next to huge
// dimensions, by rank.
var emptyShapes = map[int][][]int64{
	1: {{0}},
	2: {{Huge, 0}, {0, Huge}},
	3: {{Huge, 0, Huge}, {0, Huge, Huge}, {Huge, Huge, 0}, {1 << 31, 1 << 31, 0},
		{Huge, 0, 3}, {0, 2, 3}, {0, 2, Huge}, {Huge, 2, 0}},
	4: {{0, 2, Huge, Huge}, {Huge, 2, 0, Huge}, {2, 2, Huge, 0}, {Huge, 0, Huge, Huge}, {1 << 31, 1 << 31, 0, 1}},
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
		for rank := 1; rank <= 4; rank++ {
			c, ok := acceptedNode(op, s, rank)
			if !ok {
				continue
			}
			for _, shape := range emptyShapes[rank] {
				k := c
				k.Name = fmt.Sprintf("empty/%s/%v", op, shape)
				k.Inputs = slices.Clone(c.Inputs)
				for i := range k.Inputs {
					if slices.Equal(k.Inputs[i].Sig, dyn(rank)) { // scalars and static inputs keep theirs
						k.Inputs[i].Shape = shape
					}
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
	if build, ok := rankedArgs[op]; ok {
		c, ok := build(rank)
		if !ok {
			return Case{}, false
		}
		_, err := c.Build()
		return c, err == nil
	}
	if build, ok := storedArgs[op]; ok { // ops whose arguments are partly stored: a fixed node
		c, wantRank := build()
		if rank != wantRank {
			return Case{}, false
		}
		_, err := c.Build()
		return c, err == nil
	}
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

// storedArgs builds, for ops that take stored tensors next to their data,
// one node whose data inputs are dynamic graph inputs of the returned rank
// and whose other arguments are small stored tensors.
var storedArgs = map[string]func() (Case, int){
	"SVMKernel": func() (Case, int) {
		return oneNode("SVMKernel", []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}},
			[]Const{f64s("sv", []int64{2, 2}, 1, 2, 3, 4)}, []string{"X0", "sv"}, nil,
			graph.Attr{Name: "kernel", Type: graph.AttrString, String: "rbf"}), 2
	},
	"SVMDecision": func() (Case, int) {
		return oneNode("SVMDecision", []Input{{Name: "X0", DType: dtype.Float64, Sig: dyn(2)}},
			[]Const{f64s("coef", []int64{1, 2}, 1, -1), f64s("rho", []int64{1}, 0.5)}, []string{"X0", "coef", "rho"}, nil,
			graph.Attr{Name: "n_support", Type: graph.AttrInts, Ints: []int64{1, 1}}), 2
	},
	"SVMVote": func() (Case, int) {
		return oneNode("SVMVote", []Input{{Name: "X0", DType: dtype.Float64, Sig: dyn(2)}}, nil, []string{"X0"}, nil,
			graph.Attr{Name: "n_classes", Type: graph.AttrInt, Int: 2}), 2
	},
	"SVMProbability": func() (Case, int) {
		return oneNode("SVMProbability", []Input{{Name: "X0", DType: dtype.Float64, Sig: dyn(2)}},
			[]Const{f64s("a", []int64{1}, -1), f64s("b", []int64{1}, 0)}, []string{"X0", "a", "b"}, nil,
			graph.Attr{Name: "n_classes", Type: graph.AttrInt, Int: 2}), 2
	},
	"KNearest": func() (Case, int) {
		return oneNode("KNearest", []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}},
			[]Const{f64s("train", []int64{3, 2}, 0, 1, 2, 3, 4, 5)}, []string{"X0", "train"}, []string{"Y", "I"},
			graph.Attr{Name: "k", Type: graph.AttrInt, Int: 2}, graph.Attr{Name: "metric", Type: graph.AttrString, String: "euclidean"}), 2
	},
	"NeighborsClassify": func() (Case, int) {
		return oneNode("NeighborsClassify", []Input{{Name: "X0", DType: dtype.Float64, Sig: dyn(2)}, {Name: "X1", DType: dtype.Int64, Sig: dyn(2)}},
			[]Const{int64s("labels", 0, 1, 1)}, []string{"X0", "X1", "labels"}, nil,
			graph.Attr{Name: "n_classes", Type: graph.AttrInt, Int: 2}, graph.Attr{Name: "weights", Type: graph.AttrString, String: "distance"}), 2
	},
	"NeighborsRegress": func() (Case, int) {
		return oneNode("NeighborsRegress", []Input{{Name: "X0", DType: dtype.Float64, Sig: dyn(2)}, {Name: "X1", DType: dtype.Int64, Sig: dyn(2)}},
			[]Const{f64s("targets", []int64{3, 1}, 1, 2, 3)}, []string{"X0", "X1", "targets"}, nil,
			graph.Attr{Name: "weights", Type: graph.AttrString, String: "uniform"}), 2
	},
	"CategoryIndex": func() (Case, int) {
		return oneNode("CategoryIndex", []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}},
			[]Const{f32s("cats", 1, 2, 3)}, []string{"X0", "cats"}, nil), 2
	},
	"Interp": func() (Case, int) {
		return oneNode("Interp", []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}},
			[]Const{f64s("xp", []int64{3}, 0, 1, 2), f64s("fp", []int64{3}, 5, 6, 8)}, []string{"X0", "xp", "fp"}, nil), 2
	},
	"TermCount": func() (Case, int) {
		return oneNode("TermCount", []Input{{Name: "X0", DType: dtype.String, Sig: dyn(1)}},
			[]Const{texts("vocab", "ab", "cd")}, []string{"X0", "vocab"}, nil), 1
	},
	"RadiusNeighborsClassify": func() (Case, int) {
		return oneNode("RadiusNeighborsClassify", []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}},
			[]Const{f64s("train", []int64{3, 2}, 0, 1, 2, 3, 4, 5), int64s("labels", 0, 1, 1)}, []string{"X0", "train", "labels"}, nil,
			graph.Attr{Name: "metric", Type: graph.AttrString, String: "euclidean"}, graph.Attr{Name: "weights", Type: graph.AttrString, String: "uniform"},
			graph.Attr{Name: "radius", Type: graph.AttrFloat, Float: 1}, graph.Attr{Name: "n_classes", Type: graph.AttrInt, Int: 2},
			graph.Attr{Name: "outlier", Type: graph.AttrInt, Int: 2}), 2
	},
	"RadiusNeighborsRegress": func() (Case, int) {
		return oneNode("RadiusNeighborsRegress", []Input{{Name: "X0", DType: dtype.Float32, Sig: dyn(2)}},
			[]Const{f64s("train", []int64{3, 2}, 0, 1, 2, 3, 4, 5), f64s("targets", []int64{3, 1}, 1, 2, 3)}, []string{"X0", "train", "targets"}, nil,
			graph.Attr{Name: "metric", Type: graph.AttrString, String: "manhattan"}, graph.Attr{Name: "weights", Type: graph.AttrString, String: "distance"},
			graph.Attr{Name: "radius", Type: graph.AttrFloat, Float: 1}), 2
	},
	"TermHash": func() (Case, int) {
		return oneNode("TermHash", []Input{{Name: "X0", DType: dtype.String, Sig: dyn(1)}}, nil, []string{"X0"}, nil,
			graph.Attr{Name: "n_features", Type: graph.AttrInt, Int: 16}), 1
	},
}

// oneNode is a case of a single node reading ins (names of inputs and consts).
func oneNode(op string, inputs []Input, consts []Const, ins, outs []string, attrs ...graph.Attr) Case {
	if outs == nil {
		outs = []string{"Y"}
	}
	return Case{Inputs: inputs, Consts: consts, Outputs: outs[:1],
		Nodes: []graph.Node{{Op: op, Inputs: ins, Outputs: outs, Attrs: attrs}}}
}

func f64s(name string, shape []int64, vals ...float64) Const {
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return Const{Name: name, DType: dtype.Float64, Shape: shape, Data: b}
}

func texts(name string, vals ...string) Const {
	return Const{Name: name, DType: dtype.String, Shape: []int64{int64(len(vals))}, Data: strs.PackStrings(vals)}
}

func f32s(name string, vals ...float32) Const {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Const{Name: name, DType: dtype.Float32, Shape: []int64{int64(len(vals))}, Data: b}
}
