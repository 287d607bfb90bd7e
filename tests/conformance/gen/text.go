package main

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

func texts(shape []int64, s ...string) value { return value{dt: dtype.String, shape: shape, text: s} }

// text: string tensors. A classifier whose graph maps scores to string
// labels; a model of named columns of mixed types (text and numbers, as a
// DataFrame gives them) with a category lookup and a one-hot encoding.
func (s *suite) text() error {
	labels := &spec{name: "string_labels", desc: "ArgMax of float64 scores gathers string class labels (non-ASCII included); 4 rows and 0 rows",
		inputs: []graph.ValueInfo{in("scores", dtype.Float64, -1, 3)},
		texts:  []textConst{{"classes", []string{"setosa", "versicolor", "virginica ünï 東京"}}},
		nodes: []graph.Node{
			node("ArgMax", []string{"scores"}, []string{"index"}, ai("axis", 1), ai("keepdims", 0)),
			node("Gather", []string{"classes", "index"}, []string{"label"}),
		},
		outputs: []string{"label", "index"},
		runs: [][]value{
			{{dtype.Float64, []int64{4, 3}, []float64{0, 1, 0, 5, 2, 1, 0, 0, 9, 1, 7, 3}, nil}},
			{{dtype.Float64, []int64{0, 3}, nil, nil}},
		}}
	if err := s.add(labels); err != nil {
		return err
	}
	cities := []string{"Paris", "東京", "São Paulo", ""}
	mixed := &spec{name: "mixed_columns", desc: "Named columns of mixed types: a text column looked up among categories (unknown -> -1) and one-hot encoded, joined with a float64 column; echoes the text back",
		inputs: []graph.ValueInfo{in("city", dtype.String, -1), in("age", dtype.Float64, -1)},
		texts:  []textConst{{"cities", cities}},
		consts: []constant{
			{"range", dtype.Int64, []int64{4}, []float64{0, 1, 2, 3}},
			{"col", dtype.Int64, []int64{2}, []float64{-1, 1}},
			{"W", dtype.Float64, []int64{5, 1}, []float64{0.5, -1.25, 2, 0.125, 0.01}},
		},
		nodes: []graph.Node{
			{Op: "CategoryIndex", Name: "city", Inputs: []string{"city", "cities"}, Outputs: []string{"code"}},
			node("Reshape", []string{"code", "col"}, []string{"code2"}),
			node("Equal", []string{"code2", "range"}, []string{"hot"}),
			node("Cast", []string{"hot"}, []string{"onehot"}, ai("to", int64(dtype.Float64))),
			node("Reshape", []string{"age", "col"}, []string{"age2"}),
			node("Concat", []string{"onehot", "age2"}, []string{"features"}, ai("axis", 1)),
			node("MatMul", []string{"features", "W"}, []string{"score"}),
			node("Identity", []string{"city"}, []string{"city_echo"}),
		},
		outputs: []string{"code", "score", "city_echo"},
		runs: [][]value{
			{texts([]int64{5}, "東京", "Lyon", "", "Paris", "São Paulo"), {dtype.Float64, []int64{5}, []float64{30, 41.5, 0, 18, 77}, nil}},
			{texts([]int64{0}), {dtype.Float64, []int64{0}, nil, nil}},
			{{dtype.Float64, []int64{1}, []float64{1}, nil}, {dtype.Float64, []int64{1}, []float64{1}, nil}},
		},
		fail: []*Status{nil, nil, status(errs.DType)}}
	return s.add(mixed)
}
