package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

func f32v(name string, shape ...int64) ValueInfo {
	return ValueInfo{Name: name, DType: dtype.Float32, Shape: shape}
}

// inferOne checks a one-node graph and returns its outputs' shapes.
func inferOne(t *testing.T, ins []ValueInfo, c Constants, n Node) ([][]int64, error) {
	if t != nil {
		t.Helper()
	}
	if c == nil {
		c = consts{}
	}
	g := &Graph{Inputs: ins, Nodes: []Node{n}}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, ValueInfo{Name: o})
		}
	}
	if _, err := CheckInferOutputs(g, c); err != nil {
		return nil, err
	}
	var out [][]int64
	for _, o := range g.Outputs {
		out = append(out, o.Shape)
	}
	return out, nil
}

func TestRNNInferDynamic(t *testing.T) {
	D := int64(Dynamic)
	c := consts{"W": f32v("W", 2, 9, 5), "R": f32v("R", 2, 9, 3), "B": f32v("B", 2, 18)}
	for layout, want := range [][][]int64{{{D, 2, D, 3}, {2, D, 3}}, {{D, D, 2, 3}, {D, 2, 3}}} {
		n := Node{Op: "GRU", Name: "g", Inputs: []string{"x", "W", "R", "B"}, Outputs: []string{"y", "yh"},
			Attrs: []Attr{{Name: "direction", Type: AttrString, String: "bidirectional"}, {Name: "layout", Type: AttrInt, Int: int64(layout)}}}
		got, err := inferOne(t, []ValueInfo{f32v("x", D, D, 5)}, c, n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("layout %d output %d: %v, want %v", layout, i, got[i], want[i])
			}
		}
	}
	// hidden_size inconsistent with R; X's width not W's.
	for _, bad := range []struct {
		x     ValueInfo
		attrs []Attr
		code  errs.Code
		msg   string
	}{
		{f32v("x", D, D, 5), []Attr{{Name: "direction", Type: AttrString, String: "bidirectional"}, {Name: "hidden_size", Type: AttrInt, Int: 4}}, errs.GraphShape, "hidden_size is 4"},
		{f32v("x", D, D, 6), []Attr{{Name: "direction", Type: AttrString, String: "bidirectional"}}, errs.GraphShape, "W \"W\""},
		{f32v("x", D, 5), []Attr{{Name: "direction", Type: AttrString, String: "bidirectional"}}, errs.GraphShape, "3-D"},
		{f32v("x", D, D, 5), nil, errs.GraphShape, "W \"W\""},
	} {
		_, err := inferOne(t, []ValueInfo{bad.x}, c, Node{Op: "GRU", Name: "g", Inputs: []string{"x", "W", "R"}, Outputs: []string{"y"}, Attrs: bad.attrs})
		if errs.CodeOf(err) != bad.code || !strings.Contains(err.Error(), bad.msg) || !strings.Contains(err.Error(), "GRU") {
			t.Errorf("%v %v: got %v, want %v naming %q", bad.x, bad.attrs, err, bad.code, bad.msg)
		}
	}
}

func TestAttentionInferDynamic(t *testing.T) {
	D := int64(Dynamic)
	n := Node{Op: "Attention", Name: "a", Inputs: []string{"q", "k", "v"}, Outputs: []string{"y"}}
	got, err := inferOne(t, []ValueInfo{f32v("q", D, 8, D, 16), f32v("k", D, 2, D, 16), f32v("v", D, 2, D, 4)}, nil, n)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0], []int64{D, 8, D, 4}) {
		t.Fatalf("Y %v", got[0])
	}
	_, err = inferOne(t, []ValueInfo{f32v("q", D, 8, D, 16), f32v("k", D, 3, D, 16), f32v("v", D, 3, D, 4)}, nil, n)
	if errs.CodeOf(err) != errs.GraphShape || !strings.Contains(err.Error(), "multiple") {
		t.Fatalf("heads 8 over 3: %v", err)
	}
}

func TestEmbeddingBagInfer(t *testing.T) {
	D := int64(Dynamic)
	i64 := func(name string, shape ...int64) ValueInfo {
		return ValueInfo{Name: name, DType: dtype.Int64, Shape: shape}
	}
	c := consts{"w": f32v("w", 10, 4)}
	node := func(last int64, in ...string) Node {
		return Node{Op: "EmbeddingBag", Name: "e", Inputs: in, Outputs: []string{"y"},
			Attrs: []Attr{{Name: "include_last_offset", Type: AttrInt, Int: last}}}
	}
	got, err := inferOne(t, []ValueInfo{i64("i", D), i64("o", 5)}, c, node(1, "w", "i", "o"))
	if err != nil || !slices.Equal(got[0], []int64{4, 4}) {
		t.Fatalf("%v %v", got, err)
	}
	got, err = inferOne(t, []ValueInfo{i64("i", D, 3)}, c, node(0, "w", "i"))
	if err != nil || !slices.Equal(got[0], []int64{D, 4}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := inferOne(t, []ValueInfo{i64("i", D)}, c, node(0, "w", "i")); errs.CodeOf(err) != errs.GraphShape {
		t.Fatalf("1-D without offsets: %v", err)
	}
}
