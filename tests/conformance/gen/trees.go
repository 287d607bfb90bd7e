package main

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// trees: TreeEnsemble models — a classifier with a categorical split and
// NaN, a regressor accumulating in float32 over float32 input, and node
// arrays that point backwards (refused when the model first runs).
func (s *suite) trees() error {
	nan := math.NaN()
	ints := func(name string, v ...float64) constant {
		return constant{name, dtype.Int32, []int64{int64(len(v))}, v}
	}
	// Tree 0: x0 <= 0.5 (NaN left) ? leaf 0 : (x1 in {1, 3} ? leaf 1 : leaf 2).
	// Tree 1: x2 < 2 (strict, NaN right) ? leaf 3 : leaf 4.
	arrays := []constant{
		ints("feature", 0, -1, 1, -1, -1, 2, -1, -1),
		{"threshold", dtype.Float64, []int64{8}, []float64{0.5, 0, 0, 0, 0, 2, 0, 0}},
		ints("left", 1, 0, 3, 1, 2, 6, 3, 4),
		ints("right", 2, -1, 4, -1, -1, 7, -1, -1),
		{"flags", dtype.Uint8, []int64{8}, []float64{graph.TreeDefaultLeft, 0, graph.TreeCategorical, 0, 0, graph.TreeStrict, 0, 0}},
		ints("roots", 0, 5),
	}
	cats := []constant{ints("cat_offsets", 0, 0, 0, 1, 1, 1, 1, 1, 1), {"cat_bits", dtype.Uint8, []int64{1}, []float64{0b1010}}}
	names := []string{"X", "feature", "threshold", "left", "right", "flags", "roots", "targets", "leaves", "cat_offsets", "cat_bits"}
	x := value{dtype.Float64, []int64{6, 3}, []float64{
		0, 1, 1, // left, x2 < 2
		1, 3, 2, // x1=3 in set, x2 = 2 not < 2
		1, 2, nan, // not in set, NaN right
		nan, 7, -1, // NaN goes left
		2, -1, 1.5, // negative category: not in set
		0.5, 1.9, 3, // on the threshold: left; category 1 (truncated)
	}, nil}
	classifier := &spec{name: "trees_classifier", desc: "TreeEnsemble, 2 trees over 3 classes: numeric, categorical and NaN splits; softmax and argmax",
		inputs: []graph.ValueInfo{in("X", dtype.Float64, -1, 3)},
		consts: append(append(arrays, ints("targets", 0, 0),
			constant{"leaves", dtype.Float64, []int64{5, 3}, []float64{1, 0, 0, 0, 2, 0, 0, 0, 3, 0.5, 0.5, 0, 0, 0, 1}}), cats...),
		nodes: []graph.Node{node("TreeEnsemble", names, []string{"raw", "proba", "label"}, ai("n_targets", 3),
			as("post_transform", "softmax"), as("decision", "argmax"),
			graph.Attr{Name: "base_values", Type: graph.AttrFloats, Floats: []float64{0.25, 0, -0.25}})},
		outputs: []string{"raw", "proba", "label"},
		runs:    [][]value{{x}, {{dtype.Float64, []int64{0, 3}, nil, nil}}}}
	regressor := &spec{name: "trees_regressor_float32", desc: "TreeEnsemble regressor: float32 input, float32 accumulation, mean of 2 trees",
		inputs: []graph.ValueInfo{in("X", dtype.Float32, -1, 3)},
		consts: append(append(arrays, ints("targets", 0, 0),
			constant{"leaves", dtype.Float64, []int64{5, 1}, []float64{0.1, 0.2, 0.3, 0.4, 0.5}}), cats...),
		nodes: []graph.Node{node("TreeEnsemble", names, []string{"Y"}, ai("n_targets", 1),
			as("accumulate", "float32"), as("aggregate", "mean"))},
		outputs: []string{"Y"},
		runs:    [][]value{{{dtype.Float32, x.shape, x.vals, nil}}}}
	bad := append([]constant(nil), arrays...)
	bad[2] = ints("left", 1, 0, 0, 1, 2, 6, 3, 4) // node 2's left child is node 0: a cycle
	malformed := &spec{name: "trees_cyclic_children", desc: "TreeEnsemble whose child points back to the root is refused at its first run",
		inputs: []graph.ValueInfo{in("X", dtype.Float64, -1, 3)},
		consts: append(append(bad, ints("targets", 0, 0),
			constant{"leaves", dtype.Float64, []int64{5, 1}, []float64{1, 2, 3, 4, 5}}), cats...),
		nodes:   []graph.Node{node("TreeEnsemble", names, []string{"Y"}, ai("n_targets", 1))},
		outputs: []string{"Y"},
		runs:    [][]value{{x}}, fail: []*Status{status(errs.GraphTree)}}
	for _, sp := range []*spec{classifier, regressor, malformed} {
		if err := s.add(sp); err != nil {
			return err
		}
	}
	return nil
}
