package engine

import (
	"slices"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// A reshape to [batch·seq, 8] and back to [batch, seq, 2, 4], its sizes
// computed from the input's shape as exporters write them, runs at every
// input shape: the planner evaluates the size arithmetic per plan.
func TestShapeValuesReshape(t *testing.T) {
	ints := func(name string, v ...float64) tconst {
		return tconst{name: name, dt: dtype.Int64, shape: []int64{int64(len(v))}, values: v}
	}
	consts := []tconst{ints("eight", 8), ints("two_four", 2, 4)}
	nodes := []graph.Node{
		{Op: "Shape", Inputs: []string{"X"}, Outputs: []string{"b"}, Attrs: []graph.Attr{{Name: "start", Type: graph.AttrInt, Int: 0}, {Name: "end", Type: graph.AttrInt, Int: 1}}},
		{Op: "Shape", Inputs: []string{"X"}, Outputs: []string{"s"}, Attrs: []graph.Attr{{Name: "start", Type: graph.AttrInt, Int: 1}, {Name: "end", Type: graph.AttrInt, Int: 2}}},
		{Op: "Mul", Inputs: []string{"b", "s"}, Outputs: []string{"bs"}},
		{Op: "Concat", Inputs: []string{"bs", "eight"}, Outputs: []string{"flat"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 0}}},
		// allowzero: a computed 0 is an empty dimension, not "copy the input's".
		{Op: "Reshape", Inputs: []string{"X", "flat"}, Outputs: []string{"F"}, Attrs: []graph.Attr{{Name: "allowzero", Type: graph.AttrInt, Int: 1}}},
		{Op: "Relu", Inputs: []string{"F"}, Outputs: []string{"R"}},
		{Op: "Concat", Inputs: []string{"b", "s", "two_four"}, Outputs: []string{"back"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 0}}},
		{Op: "Reshape", Inputs: []string{"R", "back"}, Outputs: []string{"Y"}, Attrs: []graph.Attr{{Name: "allowzero", Type: graph.AttrInt, Int: 1}}},
	}
	for _, shape := range [][]int64{{2, 3, 8}, {1, 7, 8}, {0, 5, 8}, {4, 0, 8}} {
		n := prod(shape)
		vals := seq(n, 0.3)
		for i := range vals {
			vals[i] -= 0.5
		}
		ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{-1, -1, 8}, shape: shape, values: vals}}
		m := buildModel(t, ins, consts, nodes, []string{"Y", "F"}, Options{Threads: 2})
		out, err := runModel(t, m, inputsOf(ins))
		if err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		if want := []int64{shape[0], shape[1], 2, 4}; !slices.Equal(out[0].Shape(), want) {
			t.Fatalf("%v: Y is %v, want %v", shape, out[0].Shape(), want)
		}
		if want := []int64{shape[0] * shape[1], 8}; !slices.Equal(out[1].Shape(), want) {
			t.Fatalf("%v: F is %v, want %v", shape, out[1].Shape(), want)
		}
		got := decode(dtype.Float32, out[0].Data)
		for i, v := range vals {
			if w := max(float64(float32(v)), 0); got[i] != w {
				t.Fatalf("%v: Y[%d] = %v, want %v", shape, i, got[i], w)
			}
		}
		m.Close()
	}
}

// A shape computed from input data (not from shapes) cannot be planned:
// the run is refused with a clear error, not a wrong shape.
func TestShapeValuesFromDataRefused(t *testing.T) {
	ins := []tin{
		{name: "X", dt: dtype.Float32, sig: []int64{6}, shape: []int64{6}, values: seq(6, 1)},
		{name: "S", dt: dtype.Int64, sig: []int64{2}, shape: []int64{2}, values: []float64{2, 3}},
	}
	nodes := []graph.Node{{Op: "Reshape", Inputs: []string{"X", "S"}, Outputs: []string{"Y"}}}
	m := buildModel(t, ins, nil, nodes, []string{"Y"}, Options{Threads: 1})
	defer m.Close()
	_, err := runModel(t, m, inputsOf(ins))
	if errs.CodeOf(err) != errs.UnsupportedFeature {
		t.Fatalf("got %v, want MLE_ERR_UNSUPPORTED_FEATURE", err)
	}
}

// Size arithmetic with an empty operand (a Shape slice of no dimensions
// times a one-element constant) broadcasts to an empty result, as ONNX
// has it, rather than indexing the empty operand (a fuzzer's panic).
func TestShapeValuesEmptyOperand(t *testing.T) {
	consts := []tconst{
		{name: "one", dt: dtype.Int64, shape: []int64{1}, values: []float64{1}},
		{name: "six", dt: dtype.Int64, shape: []int64{1}, values: []float64{6}},
	}
	nodes := []graph.Node{
		{Op: "Shape", Inputs: []string{"X"}, Outputs: []string{"none"}, Attrs: []graph.Attr{{Name: "start", Type: graph.AttrInt, Int: 0}, {Name: "end", Type: graph.AttrInt, Int: 0}}},
		{Op: "Mul", Inputs: []string{"none", "one"}, Outputs: []string{"still"}},
		{Op: "Concat", Inputs: []string{"still", "six"}, Outputs: []string{"flat"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 0}}},
		{Op: "Reshape", Inputs: []string{"X", "flat"}, Outputs: []string{"Y"}},
	}
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{2, 3}, shape: []int64{2, 3}, values: seq(6, 1)}}
	m := buildModel(t, ins, consts, nodes, []string{"Y"}, Options{Threads: 1})
	defer m.Close()
	out, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].Shape(), []int64{6}) {
		t.Fatalf("Y is %v, want [6]", out[0].Shape())
	}
}
