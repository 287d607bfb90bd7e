package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

type consts map[string]ValueInfo

func (c consts) Lookup(n string) (ValueInfo, bool) { v, ok := c[n]; return v, ok }
func (c consts) Int64s(n string) ([]int64, error) {
	switch n {
	case "shape":
		return []int64{0, -1}, nil
	case "pos":
		return []int64{2, 2}, nil
	case "one", "si":
		return []int64{1}, nil
	case "pads4":
		return []int64{0, 1, 0, 1}, nil
	case "sz4":
		return []int64{1, 4, 8, 8}, nil
	case "zero1":
		return []int64{0}, nil
	}
	return nil, errs.New(errs.GraphMissingTensor, "no %q", n)
}

func TestBroadcast(t *testing.T) {
	cases := []struct {
		a, b, want []int64
		ok         bool
	}{
		{[]int64{2, 3}, []int64{3}, []int64{2, 3}, true},
		{[]int64{2, 1}, []int64{1, 4}, []int64{2, 4}, true},
		{[]int64{}, []int64{5}, []int64{5}, true},
		{[]int64{-1, 3}, []int64{3}, []int64{-1, 3}, true},
		{[]int64{-1, 3}, []int64{4, 1}, []int64{4, 3}, true},
		{[]int64{-1}, []int64{-1}, []int64{-1}, true},
		{[]int64{0, 3}, []int64{1, 3}, []int64{0, 3}, true},
		{[]int64{2, 3}, []int64{4}, nil, false},
		{[]int64{0}, []int64{2}, nil, false},
	}
	for _, c := range cases {
		got, ok := Broadcast(c.a, c.b)
		if ok != c.ok || (ok && !cmp.Equal(got, c.want)) {
			t.Errorf("Broadcast(%v, %v) = %v, %v; want %v, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

func TestMatMulShape(t *testing.T) {
	cases := []struct{ a, b, want []int64 }{
		{[]int64{3, 4}, []int64{4, 5}, []int64{3, 5}},
		{[]int64{4}, []int64{4, 5}, []int64{5}},
		{[]int64{3, 4}, []int64{4}, []int64{3}},
		{[]int64{4}, []int64{4}, []int64{}},
		{[]int64{2, 1, 3, 4}, []int64{5, 4, 6}, []int64{2, 5, 3, 6}},
		{[]int64{-1, 4}, []int64{4, 2}, []int64{-1, 2}},
		{[]int64{2, 4}, []int64{-1, 2}, []int64{2, 2}},
	}
	for _, c := range cases {
		got, err := MatMulShape(c.a, c.b)
		if err != nil || !cmp.Equal(got, c.want) {
			t.Errorf("MatMulShape(%v, %v) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
	if _, err := MatMulShape([]int64{3, 4}, []int64{5, 6}); errs.CodeOf(err) != errs.GraphShape {
		t.Errorf("inner mismatch: %v", err)
	}
}

func TestReshapeShape(t *testing.T) {
	cases := []struct {
		in, target, want []int64
		allowZero        bool
		code             errs.Code
	}{
		{[]int64{2, 3, 4}, []int64{0, -1}, []int64{2, 12}, false, errs.OK},
		{[]int64{2, 3, 4}, []int64{-1}, []int64{24}, false, errs.OK},
		{[]int64{-1, 3, 4}, []int64{0, -1}, []int64{-1, -1}, false, errs.OK},
		{[]int64{2, 3}, []int64{0, 3}, []int64{0, 3}, true, errs.GraphShape},
		{[]int64{2, 0}, []int64{0, 5}, []int64{0, 5}, true, errs.OK},
		{[]int64{2, 3}, []int64{4, -1}, nil, false, errs.GraphShape},
		{[]int64{2, 3}, []int64{-1, -1}, nil, false, errs.GraphShape},
		{[]int64{2, 3}, []int64{7}, nil, false, errs.GraphShape},
		{[]int64{2, 3}, []int64{-2, 3}, nil, false, errs.GraphShape},
		{[]int64{2}, []int64{0, 0}, nil, false, errs.GraphShape},
	}
	for _, c := range cases {
		got, err := ReshapeShape(c.in, c.target, c.allowZero)
		if errs.CodeOf(err) != c.code || (c.code == errs.OK && !cmp.Equal(got, c.want)) {
			t.Errorf("ReshapeShape(%v, %v, %v) = %v, %v; want %v, %v", c.in, c.target, c.allowZero, got, err, c.want, c.code)
		}
	}
}

func TestTransposePerm(t *testing.T) {
	if p, err := TransposePerm(nil, 3); err != nil || !cmp.Equal(p, []int{2, 1, 0}) {
		t.Errorf("default perm %v %v", p, err)
	}
	for _, bad := range [][]int64{{0, 0, 1}, {0, 1}, {0, 1, 3}, {-1, 0, 1}} {
		if _, err := TransposePerm(bad, 3); errs.CodeOf(err) != errs.GraphAttribute {
			t.Errorf("perm %v: %v", bad, err)
		}
	}
}

func f32(name string, shape ...int64) ValueInfo {
	return ValueInfo{Name: name, DType: dtype.Float32, Shape: shape}
}

func TestCheckOrdersAndTypes(t *testing.T) {
	// Nodes stored out of order; the checker sorts them and keeps the
	// stored order among independent nodes.
	g := &Graph{
		Inputs:  []ValueInfo{f32("x", -1, 4)},
		Outputs: []ValueInfo{f32("y", -1, 4), f32("z", -1, 4)},
		Nodes: []Node{
			{Op: "Relu", Name: "second", Inputs: []string{"h"}, Outputs: []string{"y"}},
			{Op: "Add", Name: "first", Inputs: []string{"x", "b"}, Outputs: []string{"h"}},
			{Op: "Sigmoid", Name: "third", Inputs: []string{"h"}, Outputs: []string{"z"}},
		},
	}
	c, err := Check(g, consts{"b": f32("b", 4)})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range c.Nodes {
		order = append(order, n.Name)
	}
	if !cmp.Equal(order, []string{"first", "second", "third"}) {
		t.Errorf("order %v", order)
	}
	if v := c.Values[c.ByName["h"]]; v.Kind != KindComputed || !cmp.Equal(v.Shape, []int64{-1, 4}) {
		t.Errorf("h = %+v", v)
	}
	if c.Values[c.ByName["b"]].Kind != KindConstant {
		t.Error("b should be a constant")
	}
}

func TestAttributeDefaults(t *testing.T) {
	g := &Graph{
		Inputs:  []ValueInfo{f32("x", 2, 3)},
		Outputs: []ValueInfo{f32("y", 2, 3)},
		Nodes:   []Node{{Op: "LeakyRelu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}
	c, err := Check(g, consts{})
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Nodes[0].Attr("alpha"); a.Float != 0.01 || a.Type != AttrFloat {
		t.Errorf("alpha default %+v", a)
	}
}

func TestCheckErrors(t *testing.T) {
	base := func() *Graph {
		return &Graph{
			Inputs:  []ValueInfo{f32("x", -1, 4)},
			Outputs: []ValueInfo{f32("y", -1, 4)},
			Nodes:   []Node{{Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		}
	}
	cases := []struct {
		name string
		edit func(g *Graph)
		want errs.Code
	}{
		{"input shadows constant", func(g *Graph) { g.Inputs[0].Name = "b" }, errs.GraphDuplicate},
		{"output undefined", func(g *Graph) { g.Outputs[0].Name = "nope" }, errs.GraphMissingTensor},
		{"output listed twice", func(g *Graph) { g.Outputs = append(g.Outputs, g.Outputs[0]) }, errs.GraphDuplicate},
		{"no outputs", func(g *Graph) { g.Outputs = nil }, errs.GraphShape},
		{"empty name", func(g *Graph) { g.Nodes[0].Outputs[0] = ""; g.Outputs[0].Name = "" }, errs.GraphShape},
		{"NUL in name", func(g *Graph) { g.Inputs[0].Name = "a\x00b" }, errs.GraphMalformed},
		{"bad dtype", func(g *Graph) { g.Inputs[0].DType = 42 }, errs.GraphDType},
		{"int relu", func(g *Graph) { g.Inputs[0].DType = dtype.Int64; g.Outputs[0].DType = dtype.Int64 }, errs.GraphDType},
		{"rank 9", func(g *Graph) { g.Inputs[0].Shape = make([]int64, 9) }, errs.UnsupportedFeature},
		{"dim -2", func(g *Graph) { g.Inputs[0].Shape = []int64{-2, 4} }, errs.GraphShape},
		{"self loop", func(g *Graph) { g.Nodes[0].Inputs[0] = "y" }, errs.GraphCycle},
		{"NaN attribute", func(g *Graph) {
			g.Nodes[0].Op = "LeakyRelu"
			g.Nodes[0].Attrs = []Attr{{Name: "alpha", Type: AttrFloat, Float: nan()}}
		}, errs.GraphAttribute},
		{"duplicate attribute", func(g *Graph) {
			g.Nodes[0].Op = "LeakyRelu"
			g.Nodes[0].Attrs = []Attr{{Name: "alpha", Type: AttrFloat}, {Name: "alpha", Type: AttrFloat}}
		}, errs.GraphAttribute},
		{"missing required attribute", func(g *Graph) { g.Nodes[0].Op = "Cast" }, errs.GraphAttribute},
		{"bad gelu mode", func(g *Graph) {
			g.Nodes[0].Op = "Gelu"
			g.Nodes[0].Attrs = []Attr{{Name: "approximate", Type: AttrString, String: "fast"}}
		}, errs.GraphAttribute},
		{"softmax axis", func(g *Graph) {
			g.Nodes[0].Op = "Softmax"
			g.Nodes[0].Attrs = []Attr{{Name: "axis", Type: AttrInt, Int: 2}}
		}, errs.GraphAttribute},
		{"static input larger than any run", func(g *Graph) {
			g.Inputs[0].Shape = []int64{-1, 1 << 31, 1 << 31, 4}
			g.Outputs[0].Shape = g.Inputs[0].Shape
		}, errs.GraphTooLarge},
		{"computed tensor larger than any run", func(g *Graph) {
			g.Inputs[0].Shape = []int64{1 << 31, 1}
			g.Inputs = append(g.Inputs, f32("z", 1, 1<<31))
			g.Nodes[0] = Node{Op: "Add", Inputs: []string{"x", "z"}, Outputs: []string{"y"}}
			g.Outputs[0].Shape = []int64{1 << 31, 1 << 31}
		}, errs.GraphTooLarge},
		// A computed target shape is resolved when a run is planned; only its
		// length, the output's rank, must be known here.
		{"computed reshape shape of unknown length", func(g *Graph) {
			g.Inputs = append(g.Inputs, ValueInfo{Name: "s", DType: dtype.Int64, Shape: []int64{-1}})
			g.Nodes[0] = Node{Op: "Reshape", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}
		}, errs.UnsupportedFeature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := base()
			c.edit(g)
			_, err := Check(g, consts{"b": f32("b", 4)})
			if got := errs.CodeOf(err); got != c.want {
				t.Fatalf("got %v (%v), want %v", got, err, c.want)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestEveryOpInfers(t *testing.T) {
	// Each schema accepts a minimal well-typed use (guards the registry).
	for _, op := range Ops() {
		t.Run(op, func(t *testing.T) {
			n := Node{Op: op, Inputs: []string{"x"}, Outputs: []string{"y"}}
			switch op {
			case "Gemm":
				n.Inputs = []string{"x", "w"}
			case "MatMul", "Add", "Sub", "Mul", "Div", "Equal", "Greater", "Less":
				n.Inputs = []string{"x", "sq"}
			case "Where":
				n.Inputs = []string{"cond", "x", "sq"}
			case "Gather":
				n.Inputs = []string{"x", "idx"}
			case "CategoryIndex":
				n.Inputs = []string{"x", "v"}
			case "TermCount":
				n.Inputs = []string{"s", "s"}
			case "TermHash":
				n.Inputs = []string{"s"}
			case "Interp":
				n.Inputs = []string{"x", "t", "t"}
			case "RadiusNeighborsClassify":
				n.Inputs = []string{"x", "train", "labels"}
				n.Attrs = []Attr{{Name: "metric", Type: AttrString, String: "euclidean"}, {Name: "weights", Type: AttrString, String: "uniform"},
					{Name: "radius", Type: AttrFloat, Float: 1}, {Name: "n_classes", Type: AttrInt, Int: 2}}
			case "RadiusNeighborsRegress":
				n.Inputs = []string{"x", "train", "targets"}
				n.Attrs = []Attr{{Name: "metric", Type: AttrString, String: "manhattan"}, {Name: "weights", Type: AttrString, String: "distance"},
					{Name: "radius", Type: AttrFloat, Float: 1}}
			case "SVMKernel":
				n.Inputs = []string{"x", "sv"}
				n.Attrs = []Attr{{Name: "kernel", Type: AttrString, String: "rbf"}}
			case "SVMDecision":
				n.Inputs = []string{"kd", "coef3", "t"}
				n.Attrs = []Attr{{Name: "n_support", Type: AttrInts, Ints: []int64{3, 0, 0}}}
			case "SVMVote":
				n.Inputs = []string{"kd"}
				n.Attrs = []Attr{{Name: "n_classes", Type: AttrInt, Int: 3}}
			case "SVMProbability":
				n.Inputs = []string{"kd", "t", "t"}
				n.Attrs = []Attr{{Name: "n_classes", Type: AttrInt, Int: 3}}
			case "KNearest":
				n.Inputs = []string{"x", "train"}
				n.Outputs = []string{"y", "nn"}
				n.Attrs = []Attr{{Name: "k", Type: AttrInt, Int: 2}, {Name: "metric", Type: AttrString, String: "euclidean"}}
			case "NeighborsClassify":
				n.Inputs = []string{"kd", "nni", "labels"}
				n.Attrs = []Attr{{Name: "n_classes", Type: AttrInt, Int: 2}, {Name: "weights", Type: AttrString, String: "uniform"}}
			case "NeighborsRegress":
				n.Inputs = []string{"kd", "nni", "targets"}
				n.Attrs = []Attr{{Name: "weights", Type: AttrString, String: "distance"}}
			case "Clip":
				n.Inputs = []string{"x", "lo", ""}
			case "Pow", "PRelu", "GreaterOrEqual", "LessOrEqual":
				n.Inputs = []string{"x", "sq"}
			case "Mod":
				n.Inputs = []string{"x", "sq"}
				n.Attrs = []Attr{{Name: "fmod", Type: AttrInt, Int: 1}}
			case "Not":
				n.Inputs = []string{"cond"}
			case "And", "Or", "Xor":
				n.Inputs = []string{"cond", "cond"}
			case "Slice":
				n.Inputs = []string{"x", "shape", "shape"}
			case "Unsqueeze":
				n.Inputs = []string{"x", "shape"}
			case "Expand":
				n.Inputs = []string{"x", "one"}
			case "Tile":
				n.Inputs = []string{"x", "pos"}
			case "ConstantOfShape":
				n.Inputs = []string{"pos"}
			case "Range":
				n.Inputs = []string{"si", "si", "si"}
			case "CumSum":
				n.Inputs = []string{"x", "si"}
			case "TopK":
				n.Inputs = []string{"x", "one"}
				n.Outputs = []string{"y", "nn"}
			case "Conv":
				n.Inputs = []string{"img", "cw", "c4"}
			case "ConvTranspose":
				n.Inputs = []string{"img", "cw", "c4"}
			case "MaxPool", "AveragePool":
				n.Inputs = []string{"img"}
				n.Attrs = []Attr{{Name: "kernel_shape", Type: AttrInts, Ints: []int64{2, 2}}}
			case "AdaptiveAveragePool", "AdaptiveMaxPool":
				n.Inputs = []string{"img"}
				n.Attrs = []Attr{{Name: "output_size", Type: AttrInts, Ints: []int64{3, 3}}}
			case "GlobalAveragePool", "GlobalMaxPool":
				n.Inputs = []string{"img"}
			case "BatchNormalization":
				n.Inputs = []string{"img", "c4", "c4", "c4", "c4"}
			case "InstanceNormalization", "GroupNormalization":
				n.Inputs = []string{"img", "c4", "c4"}
				if n.Op == "GroupNormalization" {
					n.Attrs = []Attr{{Name: "num_groups", Type: AttrInt, Int: 2}}
				}
			case "Pad":
				n.Inputs = []string{"x", "pads4"}
			case "Resize":
				n.Inputs = []string{"img", "", "", "sz4"}
				n.Attrs = []Attr{{Name: "nearest_mode", Type: AttrString, String: "floor"}, {Name: "coordinate_transformation_mode", Type: AttrString, String: "asymmetric"}}
			case "LSTM", "GRU", "RNN":
				g := map[string]string{"LSTM": "4", "GRU": "3", "RNN": "1"}[n.Op]
				n.Inputs = []string{"seq", "rw" + g, "rr" + g}
			case "Attention":
				n.Inputs = []string{"q", "q", "q"}
			case "EmbeddingBag":
				n.Inputs = []string{"w", "idx", "zero1"}
			case "LayerNormalization":
				n.Inputs = []string{"x", "v"}
			case "Reshape":
				n.Inputs = []string{"x", "shape"}
			case "Concat":
				n.Attrs = []Attr{{Name: "axis", Type: AttrInt, Int: 1}}
			case "Cast":
				n.Attrs = []Attr{{Name: "to", Type: AttrInt, Int: int64(dtype.Float64)}}
			case "TreeEnsemble":
				n.Inputs = []string{"x", "i", "t", "i", "i", "u", "i", "i", "lv"}
				n.Attrs = []Attr{{Name: "n_targets", Type: AttrInt, Int: 2}}
			}
			g := &Graph{Inputs: []ValueInfo{f32("x", 4, 4)}, Outputs: []ValueInfo{{Name: "y"}}, Nodes: []Node{n}}
			c := consts{"w": f32("w", 4, 2), "sq": f32("sq", 4, 4), "v": f32("v", 4),
				"shape":   {Name: "shape", DType: dtype.Int64, Shape: []int64{2}},
				"cond":    {Name: "cond", DType: dtype.Bool, Shape: []int64{4, 1}},
				"idx":     {Name: "idx", DType: dtype.Int64, Shape: []int64{3}},
				"pos":     {Name: "pos", DType: dtype.Int64, Shape: []int64{2}},
				"one":     {Name: "one", DType: dtype.Int64, Shape: []int64{1}},
				"si":      {Name: "si", DType: dtype.Int64, Shape: []int64{}},
				"lo":      f32("lo"),
				"i":       {Name: "i", DType: dtype.Int32, Shape: []int64{3}},
				"t":       {Name: "t", DType: dtype.Float64, Shape: []int64{3}},
				"u":       {Name: "u", DType: dtype.Uint8, Shape: []int64{3}},
				"lv":      {Name: "lv", DType: dtype.Float64, Shape: []int64{2, 1}},
				"sv":      {Name: "sv", DType: dtype.Float64, Shape: []int64{3, 4}},
				"s":       {Name: "s", DType: dtype.String, Shape: []int64{3}},
				"kd":      {Name: "kd", DType: dtype.Float64, Shape: []int64{4, 3}},
				"coef3":   {Name: "coef3", DType: dtype.Float64, Shape: []int64{2, 3}},
				"train":   {Name: "train", DType: dtype.Float64, Shape: []int64{5, 4}},
				"nni":     {Name: "nni", DType: dtype.Int64, Shape: []int64{4, 3}},
				"labels":  {Name: "labels", DType: dtype.Int64, Shape: []int64{5}},
				"targets": {Name: "targets", DType: dtype.Float64, Shape: []int64{5, 2}},
				"img":     f32("img", 1, 4, 4, 4),
				"cw":      f32("cw", 4, 4, 3, 3),
				"c4":      f32("c4", 4),
				"pads4":   {Name: "pads4", DType: dtype.Int64, Shape: []int64{4}},
				"sz4":     {Name: "sz4", DType: dtype.Int64, Shape: []int64{4}},
				"seq":     f32("seq", 5, 2, 4),
				"rw4":     f32("rw4", 1, 16, 4),
				"rr4":     f32("rr4", 1, 16, 4),
				"rw3":     f32("rw3", 1, 12, 4),
				"rr3":     f32("rr3", 1, 12, 4),
				"rw1":     f32("rw1", 1, 4, 4),
				"rr1":     f32("rr1", 1, 4, 4),
				"q":       f32("q", 1, 2, 3, 4),
				"zero1":   {Name: "zero1", DType: dtype.Int64, Shape: []int64{1}}}
			if _, err := CheckInferOutputs(g, c); err != nil {
				t.Fatal(err)
			}
			if g.Outputs[0].DType == dtype.Invalid {
				t.Fatal("output type not inferred")
			}
			_ = fmt.Sprint(g.Outputs[0])
		})
	}
}

// Tables a kernel prepares once per model must be stored, not computed or
// passed at run time: refused when the graph is checked, not at first run.
func TestStoredInputsAreChecked(t *testing.T) {
	g := &Graph{Inputs: []ValueInfo{{Name: "x", DType: dtype.String, Shape: []int64{-1}}, {Name: "cats", DType: dtype.String, Shape: []int64{3}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Nodes:   []Node{{Op: "CategoryIndex", Inputs: []string{"x", "cats"}, Outputs: []string{"y"}}}}
	_, err := CheckInferOutputs(g, consts{})
	if errs.CodeOf(err) != errs.GraphAttribute || !strings.Contains(err.Error(), "must be a stored tensor") {
		t.Fatalf("got %v, want MLE_ERR_GRAPH_ATTRIBUTE: must be a stored tensor", err)
	}
	g.Inputs = g.Inputs[:1]
	if _, err := CheckInferOutputs(g, consts{"cats": {Name: "cats", DType: dtype.String, Shape: []int64{3}}}); err != nil {
		t.Fatal(err)
	}
}
