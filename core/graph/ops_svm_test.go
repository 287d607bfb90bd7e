package graph

import (
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

func f64v(name string, shape ...int64) ValueInfo {
	return ValueInfo{Name: name, DType: dtype.Float64, Shape: shape}
}

// svmGraph is a whole SVM with 3 classes (n_support 2, 1, 2) over X [N, 4].
func svmGraph() (*Graph, consts) {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", DType: dtype.Float32, Shape: []int64{Dynamic, 4}}},
		Outputs: []ValueInfo{{Name: "idx"}, {Name: "ovr"}, {Name: "p"}},
		Nodes: []Node{
			{Op: "SVMKernel", Inputs: []string{"x", "sv"}, Outputs: []string{"k"},
				Attrs: []Attr{{Name: "kernel", Type: AttrString, String: "poly"}, {Name: "degree", Type: AttrInt, Int: 2}}},
			{Op: "SVMDecision", Inputs: []string{"k", "coef", "rho"}, Outputs: []string{"dec"},
				Attrs: []Attr{{Name: "n_support", Type: AttrInts, Ints: []int64{2, 1, 2}}}},
			{Op: "SVMVote", Inputs: []string{"dec"}, Outputs: []string{"idx", "ovr"},
				Attrs: []Attr{{Name: "n_classes", Type: AttrInt, Int: 3}}},
			{Op: "SVMProbability", Inputs: []string{"dec", "pa", "pb"}, Outputs: []string{"p"},
				Attrs: []Attr{{Name: "n_classes", Type: AttrInt, Int: 3}}},
		},
	}
	c := consts{"sv": f64v("sv", 5, 4), "coef": f64v("coef", 2, 5), "rho": f64v("rho", 3), "pa": f64v("pa", 3), "pb": f64v("pb", 3)}
	return g, c
}

func TestSVMInfer(t *testing.T) {
	g, c := svmGraph()
	if _, err := CheckInferOutputs(g, c); err != nil {
		t.Fatal(err)
	}
	want := []ValueInfo{{Name: "idx", DType: dtype.Int64, Shape: []int64{Dynamic}},
		{Name: "ovr", DType: dtype.Float64, Shape: []int64{Dynamic, 3}}, {Name: "p", DType: dtype.Float64, Shape: []int64{Dynamic, 3}}}
	for i, w := range want {
		o := g.Outputs[i]
		if o.DType != w.DType || len(o.Shape) != len(w.Shape) || o.Shape[len(o.Shape)-1] != w.Shape[len(w.Shape)-1] {
			t.Errorf("output %d: %v, want %v", i, o, w)
		}
	}
}

func TestSVMInferRefuses(t *testing.T) {
	cases := []struct {
		name string
		edit func(g *Graph, c consts)
		want errs.Code
	}{
		{"X width", func(g *Graph, _ consts) { g.Inputs[0].Shape = []int64{Dynamic, 3} }, errs.GraphShape},
		{"kernel", func(g *Graph, _ consts) { g.Nodes[0].Attrs[0].String = "precomputed" }, errs.GraphAttribute},
		{"degree", func(g *Graph, _ consts) { g.Nodes[0].Attrs[1].Int = -2 }, errs.GraphAttribute},
		{"support vectors' dtype", func(_ *Graph, c consts) { c["sv"] = f32("sv", 5, 4) }, errs.GraphDType},
		{"support counts", func(g *Graph, _ consts) { g.Nodes[1].Attrs[0].Ints = []int64{2, 2, 2} }, errs.GraphShape},
		{"coef rows", func(_ *Graph, c consts) { c["coef"] = f64v("coef", 3, 5) }, errs.GraphShape},
		{"rho", func(_ *Graph, c consts) { c["rho"] = f64v("rho", 2) }, errs.GraphShape},
		{"vote classes", func(g *Graph, _ consts) { g.Nodes[2].Attrs[0].Int = 2 }, errs.GraphShape},
		{"probability classes", func(g *Graph, _ consts) { g.Nodes[3].Attrs[0].Int = 1 }, errs.GraphAttribute},
		{"probA", func(_ *Graph, c consts) { c["pa"] = f64v("pa", 3, 1) }, errs.GraphDType},
		{"n_support missing", func(g *Graph, _ consts) { g.Nodes[1].Attrs = nil }, errs.GraphAttribute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, c := svmGraph()
			tc.edit(g, c)
			_, err := CheckInferOutputs(g, c)
			if got := errs.CodeOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
