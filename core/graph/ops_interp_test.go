package graph

import (
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// interpGraph interpolates X [N, 3] through per-column tables [3, 5].
func interpGraph() (*Graph, consts) {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", DType: dtype.Float32, Shape: []int64{Dynamic, 3}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Nodes:   []Node{{Op: "Interp", Inputs: []string{"x", "xp", "fp", "l", "r"}, Outputs: []string{"y"}}},
	}
	c := consts{"xp": f64v("xp", 3, 5), "fp": f32("fp", 3, 5), "l": f64v("l", 3), "r": f64v("r")}
	return g, c
}

func TestInterpInfer(t *testing.T) {
	g, c := interpGraph()
	if _, err := CheckInferOutputs(g, c); err != nil {
		t.Fatal(err)
	}
	if o := g.Outputs[0]; o.DType != dtype.Float32 || len(o.Shape) != 2 || o.Shape[1] != 3 {
		t.Fatalf("output %v, want float32 [?, 3]", o)
	}
	// One shared table: X of any shape.
	g, c = interpGraph()
	g.Inputs[0] = ValueInfo{Name: "x", DType: dtype.Float64, Shape: []int64{2, 7, 4}}
	g.Nodes[0].Inputs = []string{"x", "xp", "fp"}
	c["xp"], c["fp"] = f64v("xp", 5), f64v("fp", 5)
	if _, err := CheckInferOutputs(g, c); err != nil {
		t.Fatal(err)
	}
}

func TestInterpInferRefuses(t *testing.T) {
	cases := []struct {
		name string
		edit func(g *Graph, c consts)
		want errs.Code
	}{
		{"X width", func(g *Graph, _ consts) { g.Inputs[0].Shape = []int64{Dynamic, 4} }, errs.GraphShape},
		{"X int", func(g *Graph, _ consts) { g.Inputs[0].DType = dtype.Int64 }, errs.GraphDType},
		{"table dtype", func(_ *Graph, c consts) { c["xp"] = ValueInfo{Name: "xp", DType: dtype.Int32, Shape: []int64{3, 5}} }, errs.GraphDType},
		{"tables differ", func(_ *Graph, c consts) { c["fp"] = f64v("fp", 3, 4) }, errs.GraphShape},
		{"tables rank", func(_ *Graph, c consts) { c["xp"], c["fp"] = f64v("xp", 1, 3, 5), f64v("fp", 1, 3, 5) }, errs.GraphShape},
		{"empty tables", func(_ *Graph, c consts) { c["xp"], c["fp"] = f64v("xp", 3, 0), f64v("fp", 3, 0) }, errs.GraphShape},
		{"left per row", func(_ *Graph, c consts) { c["l"] = f64v("l", 2) }, errs.GraphShape},
		{"right rank", func(_ *Graph, c consts) { c["r"] = f64v("r", 3, 1) }, errs.GraphShape},
		{"scalar X", func(g *Graph, _ consts) { g.Inputs[0].Shape = nil }, errs.GraphShape},
		{"no fp", func(g *Graph, _ consts) { g.Nodes[0].Inputs = []string{"x", "xp"} }, errs.GraphShape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, c := interpGraph()
			tc.edit(g, c)
			_, err := CheckInferOutputs(g, c)
			if got := errs.CodeOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
