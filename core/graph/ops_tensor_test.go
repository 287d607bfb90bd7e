package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// tvals is stored int64 tensors by name (the shape is their length, or a
// scalar when the name starts with "s_").
type tvals map[string][]int64

func (c tvals) Lookup(n string) (ValueInfo, bool) {
	v, ok := c[n]
	if !ok {
		return ValueInfo{}, false
	}
	shape := []int64{int64(len(v))}
	if strings.HasPrefix(n, "s_") {
		shape = []int64{}
	}
	return ValueInfo{Name: n, DType: dtype.Int64, Shape: shape}, true
}

func (c tvals) Int64s(n string) ([]int64, error) { return c[n], nil }

// inferT checks a one-node graph over input x (float32, shape xs) plus
// int64 inputs (run-time values: not constant) and stored tensors c, and
// returns the outputs' shapes.
func inferT(xs []int64, runtime map[string][]int64, c tvals, n Node) ([][]int64, error) {
	ins := []ValueInfo{{Name: "x", DType: dtype.Float32, Shape: xs}}
	for name, s := range runtime {
		ins = append(ins, ValueInfo{Name: name, DType: dtype.Int64, Shape: s})
	}
	return inferOne(nil, ins, c, n)
}

func ia(name string, v int64) Attr { return Attr{Name: name, Type: AttrInt, Int: v} }

func TestTensorOpsInfer(t *testing.T) {
	D := int64(Dynamic)
	rt := map[string][]int64{"r2": {2}, "r1": {1}, "r3": {3}, "rs": {}, "rd": {D}}
	c := tvals{"st": {1, -1}, "en": {3, -100}, "ax": {0, 1}, "sp": {1, -1}, "big": {1 << 62, -(1 << 62)},
		"a0": {0}, "a02": {0, 2}, "sh": {2, 1, 4}, "rep": {2, 3}, "k": {2}, "split": {1, 3},
		"s_0": {0}, "s_5": {5}, "s_2": {2}, "s_m1": {-1}, "cs": {3, 2}, "dup": {1, -3}}
	cases := []struct {
		name string
		xs   []int64
		n    Node
		want [][]int64
		code errs.Code
	}{
		{"shape", []int64{D, 3, 4}, Node{Op: "Shape", Attrs: []Attr{ia("start", 1)}}, [][]int64{{2}}, 0},
		{"shape-neg", []int64{2, 3, 4}, Node{Op: "Shape", Attrs: []Attr{ia("start", -2), ia("end", -5)}}, [][]int64{{0}}, 0},
		{"size", []int64{D, 3}, Node{Op: "Size"}, [][]int64{{}}, 0},
		{"slice", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "st", "en", "ax", "sp"}}, [][]int64{{2, 4}}, 0},
		{"slice-clamp", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "big", "big", "", "sp"}}, [][]int64{{0, 1}}, 0},
		{"slice-dyn-data", []int64{D, 4}, Node{Op: "Slice", Inputs: []string{"x", "st", "en"}}, [][]int64{{D, 0}}, 0},
		{"slice-runtime-ends", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "a0", "r1", "a0"}}, [][]int64{{D, 4}}, 0},
		{"slice-runtime-axes", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "a0", "k", "r1"}}, [][]int64{{D, D}}, 0},
		{"slice-unknown-len", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "rd", "rd"}}, nil, errs.UnsupportedFeature},
		{"slice-step0", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "a0", "k", "a0", "a0"}}, nil, errs.GraphAttribute},
		{"slice-dup-axes", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "st", "en", "a02", "sp"}}, nil, errs.GraphAttribute},
		{"slice-len-mismatch", []int64{5, 4}, Node{Op: "Slice", Inputs: []string{"x", "st", "k"}}, nil, errs.GraphShape},
		{"split", []int64{2, 4}, Node{Op: "Split", Inputs: []string{"x", "split"}, Outputs: []string{"y", "z"}, Attrs: []Attr{ia("axis", 1)}}, [][]int64{{2, 1}, {2, 3}}, 0},
		{"split-num", []int64{5}, Node{Op: "Split", Outputs: []string{"y", "z"}, Attrs: []Attr{ia("num_outputs", 2)}}, [][]int64{{3}, {2}}, 0},
		{"split-equal", []int64{6}, Node{Op: "Split", Outputs: []string{"y", "z", "w"}}, [][]int64{{2}, {2}, {2}}, 0},
		{"split-uneven", []int64{5}, Node{Op: "Split", Outputs: []string{"y", "z"}}, nil, errs.GraphShape},
		{"split-dyn", []int64{D}, Node{Op: "Split", Outputs: []string{"y", "z"}}, [][]int64{{D}, {D}}, 0},
		{"split-bad-sum", []int64{5}, Node{Op: "Split", Inputs: []string{"x", "split"}, Outputs: []string{"y", "z"}}, nil, errs.GraphShape},
		{"squeeze", []int64{1, 3, 1}, Node{Op: "Squeeze"}, [][]int64{{3}}, 0},
		{"squeeze-axes", []int64{1, 3, 1}, Node{Op: "Squeeze", Inputs: []string{"x", "a02"}}, [][]int64{{3}}, 0},
		{"squeeze-not-1", []int64{2, 3, 1}, Node{Op: "Squeeze", Inputs: []string{"x", "a02"}}, nil, errs.GraphShape},
		{"squeeze-dyn", []int64{D, 3}, Node{Op: "Squeeze"}, nil, errs.UnsupportedFeature},
		{"squeeze-dyn-axes", []int64{D, 3}, Node{Op: "Squeeze", Inputs: []string{"x", "a0"}}, [][]int64{{3}}, 0},
		{"squeeze-runtime", []int64{1, 3}, Node{Op: "Squeeze", Inputs: []string{"x", "r1"}}, [][]int64{{D}}, 0},
		{"unsqueeze", []int64{D, 3}, Node{Op: "Unsqueeze", Inputs: []string{"x", "a02"}}, [][]int64{{1, D, 1, 3}}, 0},
		{"unsqueeze-runtime", []int64{2, 3}, Node{Op: "Unsqueeze", Inputs: []string{"x", "r2"}}, [][]int64{{D, D, D, D}}, 0},
		{"unsqueeze-bad", []int64{2, 3}, Node{Op: "Unsqueeze", Inputs: []string{"x", "dup"}}, nil, errs.GraphAttribute},
		{"expand", []int64{3, 1}, Node{Op: "Expand", Inputs: []string{"x", "sh"}}, [][]int64{{2, 3, 4}}, 0},
		{"expand-dyn", []int64{D, 1}, Node{Op: "Expand", Inputs: []string{"x", "sh"}}, [][]int64{{2, D, 4}}, 0},
		{"expand-runtime", []int64{3, 1}, Node{Op: "Expand", Inputs: []string{"x", "r3"}}, [][]int64{{D, 3, D}}, 0},
		{"expand-bad", []int64{3, 2}, Node{Op: "Expand", Inputs: []string{"x", "sh"}}, nil, errs.GraphShape},
		{"tile", []int64{D, 2}, Node{Op: "Tile", Inputs: []string{"x", "rep"}}, [][]int64{{D, 6}}, 0},
		{"tile-rank", []int64{2}, Node{Op: "Tile", Inputs: []string{"x", "rep"}}, nil, errs.GraphShape},
		{"cos", []int64{2, 3}, Node{Op: "ConstantOfShape", Inputs: []string{"cs"}}, [][]int64{{3, 2}}, 0},
		{"cos-runtime", []int64{2, 3}, Node{Op: "ConstantOfShape", Inputs: []string{"r2"}}, [][]int64{{D, D}}, 0},
		{"range", nil, Node{Op: "Range", Inputs: []string{"s_0", "s_5", "s_2"}}, [][]int64{{3}}, 0},
		{"range-neg", nil, Node{Op: "Range", Inputs: []string{"s_5", "s_0", "s_m1"}}, [][]int64{{5}}, 0},
		{"range-zero", nil, Node{Op: "Range", Inputs: []string{"s_5", "s_0", "s_0"}}, nil, errs.GraphShape},
		{"range-runtime", nil, Node{Op: "Range", Inputs: []string{"s_0", "rs", "s_2"}}, [][]int64{{D}}, 0},
		{"trilu", []int64{D, 3, 4}, Node{Op: "Trilu", Inputs: []string{"x", "s_2"}}, [][]int64{{D, 3, 4}}, 0},
		{"trilu-1d", []int64{3}, Node{Op: "Trilu"}, nil, errs.GraphShape},
		{"cumsum", []int64{D, 3}, Node{Op: "CumSum", Inputs: []string{"x", "s_m1"}}, [][]int64{{D, 3}}, 0},
		{"cumsum-bad-axis", []int64{D, 3}, Node{Op: "CumSum", Inputs: []string{"x", "s_5"}}, nil, errs.GraphAttribute},
		{"topk", []int64{D, 5}, Node{Op: "TopK", Inputs: []string{"x", "k"}, Outputs: []string{"v", "i"}}, [][]int64{{D, 2}, {D, 2}}, 0},
		{"topk-runtime", []int64{D, 5}, Node{Op: "TopK", Inputs: []string{"x", "r1"}, Outputs: []string{"v", "i"}}, [][]int64{{D, D}, {D, D}}, 0},
		{"topk-too-big", []int64{3, 1}, Node{Op: "TopK", Inputs: []string{"x", "k"}, Outputs: []string{"v", "i"}}, nil, errs.GraphShape},
		{"max", []int64{D, 3}, Node{Op: "Max", Inputs: []string{"x", "x", "x"}}, [][]int64{{D, 3}}, 0},
		{"mod-float", []int64{3}, Node{Op: "Mod", Inputs: []string{"x", "x"}}, nil, errs.GraphAttribute},
		{"pow", []int64{D, 3}, Node{Op: "Pow", Inputs: []string{"x", "k"}}, [][]int64{{D, 3}}, 0},
		{"prelu", []int64{D, 3, 2}, Node{Op: "PRelu", Inputs: []string{"x", "x"}}, [][]int64{{D, 3, 2}}, 0},
		{"hardsigmoid", []int64{D}, Node{Op: "HardSigmoid"}, [][]int64{{D}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			if n.Inputs == nil {
				n.Inputs = []string{"x"}
			}
			if n.Outputs == nil {
				n.Outputs = []string{"y"}
			}
			got, err := inferT(tc.xs, rt, c, n)
			if tc.code != 0 {
				if errs.CodeOf(err) != tc.code {
					t.Fatalf("got %v, %v; want code %v", got, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestSliceDim(t *testing.T) {
	const maxI, minI = int64(1<<63 - 1), int64(-1 << 63)
	cases := []struct{ start, end, step, dim, wantStart, wantLen int64 }{
		{0, 3, 1, 5, 0, 3},
		{1, 5, 2, 5, 1, 2},
		{-1, minI, -1, 5, 4, 5},
		{maxI, minI, -2, 5, 4, 3},
		{-100, -200, -1, 3, 0, 1}, // ONNX clamps start into [0, dim-1] for a negative step
		{3, 1, -1, 5, 3, 2},
		{minI, maxI, 1, 5, 0, 5},
		{2, 2, 1, 5, 2, 0},
		{0, 5, maxI, 5, 0, 1},
		{4, minI, minI + 1, 5, 4, 1},
		{0, 0, -1, 0, -1, 0},
		{4, minI, minI, 5, 4, 1},
		{maxI, -6, -3, 5, 4, 2},
	}
	for _, c := range cases {
		got := SliceDim(c.start, c.end, c.step, c.dim)
		if got.Len != c.wantLen || (got.Len > 0 && got.Start != c.wantStart) {
			t.Errorf("SliceDim(%d, %d, %d, %d) = %+v; want start %d, len %d", c.start, c.end, c.step, c.dim, got, c.wantStart, c.wantLen)
		}
	}
}

func TestRangeLen(t *testing.T) {
	for _, c := range []struct{ s, l, d, want int64 }{
		{0, 5, 2, 3}, {5, 0, -1, 5}, {0, 0, 1, 0}, {5, 0, 1, 0}, {-1 << 63, 1<<63 - 1, 1 << 62, 4}, {0, 10, 3, 4},
	} {
		if n, ok := RangeLenInt(c.s, c.l, c.d); !ok || n != c.want {
			t.Errorf("RangeLenInt(%d, %d, %d) = %d, %v; want %d", c.s, c.l, c.d, n, ok, c.want)
		}
	}
	if n, ok := RangeLen(0, 1, 0.1); !ok || n != 10 {
		t.Errorf("RangeLen(0, 1, 0.1) = %d, %v", n, ok)
	}
	if _, ok := RangeLen(0, 1, 0); ok {
		t.Error("RangeLen with delta 0 succeeded")
	}
}
