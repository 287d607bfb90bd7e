package engine

import (
	"fmt"
	"math"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

func TestMoreUnary(t *testing.T) {
	x := []float64{-2, -0.5, 0, 0.25, 3, math.NaN()}
	cases := map[string]func(float64) float64{
		"Abs": math.Abs, "Neg": func(v float64) float64 { return -v }, "Sqrt": math.Sqrt, "Exp": math.Exp, "Log": math.Log,
	}
	for _, dt := range floatTypes {
		for op, f := range cases {
			t.Run(dt.String()+"/"+op, func(t *testing.T) {
				y, err := single(t, []tin{{"X", dt, []int64{6}, []int64{6}, x}}, nil, graph.Node{Op: op, Inputs: []string{"X"}, Outputs: []string{"Y"}})
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float64, len(x))
				for i, v := range x {
					want[i] = f(v)
				}
				near(t, "Y", decode(dt, y.Data), want, tolFor(dt))
			})
		}
	}
}

func TestCompareAndIsNaN(t *testing.T) {
	a := []float64{1, 2, 3, math.NaN(), 5, 6}
	b := []float64{2, 2, 2}
	for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int64} {
		in := a
		if dt == dtype.Int64 {
			in = []float64{1, 2, 3, 4, 5, 6}
		}
		for op, want := range map[string][]float64{
			"Equal": {0, 1, 0, 0, 0, 0}, "Greater": {0, 0, 1, 0, 1, 1}, "Less": {1, 0, 0, 0, 0, 0},
		} {
			t.Run(dt.String()+"/"+op, func(t *testing.T) {
				y, err := single(t, []tin{{"A", dt, []int64{2, 3}, []int64{2, 3}, in}, {"B", dt, []int64{3}, []int64{3}, b}}, nil,
					graph.Node{Op: op, Inputs: []string{"A", "B"}, Outputs: []string{"Y"}})
				if err != nil {
					t.Fatal(err)
				}
				if dt == dtype.Int64 && op == "Greater" {
					want = []float64{0, 0, 1, 1, 1, 1}
				}
				if y.DType != dtype.Bool {
					t.Fatalf("dtype %s", y.DType)
				}
				near(t, "Y", decode(dtype.Bool, y.Data), want, 0)
			})
		}
	}
	y, err := single(t, []tin{{"X", dtype.Float64, []int64{3}, []int64{3}, []float64{1, math.NaN(), math.Inf(1)}}}, nil,
		graph.Node{Op: "IsNaN", Inputs: []string{"X"}, Outputs: []string{"Y"}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "IsNaN", decode(dtype.Bool, y.Data), []float64{0, 1, 0}, 0)
}

func TestWhere(t *testing.T) {
	// The imputer pattern: Where(IsNaN(X), fill[cols], X).
	x := []float64{1, math.NaN(), 3, math.NaN(), 5, 6}
	ins := []tin{{"X", dtype.Float64, []int64{-1, 3}, []int64{2, 3}, x}}
	m := buildModel(t, ins, []tconst{{"F", dtype.Float64, []int64{3}, []float64{10, 20, 30}}}, []graph.Node{
		{Op: "IsNaN", Inputs: []string{"X"}, Outputs: []string{"nan"}},
		{Op: "Where", Inputs: []string{"nan", "F", "X"}, Outputs: []string{"Y"}},
	}, []string{"Y"}, Options{})
	outs, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Y", decode(dtype.Float64, outs[0].Data), []float64{1, 20, 3, 10, 5, 6}, 0)
	// Scalar branches and a column condition.
	y, err := single(t, []tin{{"C", dtype.Bool, []int64{2, 1}, []int64{2, 1}, []float64{1, 0}}},
		[]tconst{{"A", dtype.Int64, []int64{}, []float64{7}}, {"B", dtype.Int64, []int64{3}, []float64{1, 2, 3}}},
		graph.Node{Op: "Where", Inputs: []string{"C", "A", "B"}, Outputs: []string{"Y"}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Y", decode(dtype.Int64, y.Data), []float64{7, 7, 7, 1, 2, 3}, 0)
}

func TestReduce(t *testing.T) {
	shape := []int64{2, 3, 2}
	x := seq(12, 0.2)
	x[7] = -x[7]
	cases := []struct {
		axes []int64
		keep int64
	}{{nil, 1}, {nil, 0}, {[]int64{1}, 1}, {[]int64{-1}, 0}, {[]int64{0, 2}, 1}}
	fns := map[string]func(vals []float64) float64{
		"ReduceSum": func(v []float64) float64 {
			s := 0.0
			for _, e := range v {
				s += e
			}
			return s
		},
		"ReduceMean": func(v []float64) float64 {
			s := 0.0
			for _, e := range v {
				s += e
			}
			return s / float64(len(v))
		},
		"ReduceMax": func(v []float64) float64 {
			m := math.Inf(-1)
			for _, e := range v {
				m = math.Max(m, e)
			}
			return m
		},
		"ReduceMin": func(v []float64) float64 {
			m := math.Inf(1)
			for _, e := range v {
				m = math.Min(m, e)
			}
			return m
		},
		"ReduceL1": func(v []float64) float64 {
			s := 0.0
			for _, e := range v {
				s += math.Abs(e)
			}
			return s
		},
		"ReduceL2": func(v []float64) float64 {
			s := 0.0
			for _, e := range v {
				s += e * e
			}
			return math.Sqrt(s)
		},
	}
	for _, dt := range floatTypes {
		for op, f := range fns {
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/%s/%v/keep=%d", dt, op, c.axes, c.keep), func(t *testing.T) {
					y, err := single(t, []tin{{"X", dt, shape, shape, x}}, nil, graph.Node{Op: op, Inputs: []string{"X"}, Outputs: []string{"Y"},
						Attrs: []graph.Attr{{Name: "axes", Type: graph.AttrInts, Ints: c.axes}, {Name: "keepdims", Type: graph.AttrInt, Int: c.keep}}})
					if err != nil {
						t.Fatal(err)
					}
					reduced, _ := graph.ReduceAxes(c.axes, 3)
					groups := map[int][]float64{}
					var keys []int
					for i, v := range decode(dt, encode(dt, x)) {
						idx := unflatten(i, shape)
						k := 0
						for d := range shape {
							if !reduced[d] {
								k = k*int(shape[d]) + idx[d]
							}
						}
						if _, ok := groups[k]; !ok {
							keys = append(keys, k)
						}
						groups[k] = append(groups[k], v)
					}
					want := make([]float64, len(keys))
					for _, k := range keys {
						want[k] = f(groups[k])
					}
					near(t, "Y", decode(dt, y.Data), want, tolFor(dt))
					wantRank := 3
					if c.keep == 0 {
						wantRank = 0
						for d := range shape {
							if !reduced[d] {
								wantRank++
							}
						}
					}
					if y.Rank != wantRank {
						t.Fatalf("rank %d, want %d", y.Rank, wantRank)
					}
				})
			}
		}
	}
}

func TestClip(t *testing.T) {
	x := []float64{-5, -1, 0, 1, 5, math.NaN()}
	for _, c := range []struct {
		inputs []string
		want   []float64
	}{
		{[]string{"X", "lo", "hi"}, []float64{-2, -1, 0, 1, 2, math.NaN()}},
		{[]string{"X", "lo"}, []float64{-2, -1, 0, 1, 5, math.NaN()}},
		{[]string{"X", "", "hi"}, []float64{-5, -1, 0, 1, 2, math.NaN()}},
	} {
		y, err := single(t, []tin{{"X", dtype.Float64, []int64{6}, []int64{6}, x}},
			[]tconst{{"lo", dtype.Float64, []int64{}, []float64{-2}}, {"hi", dtype.Float64, []int64{}, []float64{2}}},
			graph.Node{Op: "Clip", Inputs: c.inputs, Outputs: []string{"Y"}})
		if err != nil {
			t.Fatal(err)
		}
		near(t, fmt.Sprint(c.inputs), decode(dtype.Float64, y.Data), c.want, 0)
	}
}

func TestGather(t *testing.T) {
	classes := tconst{"classes", dtype.Int64, []int64{3}, []float64{10, 20, 30}}
	y, err := single(t, []tin{{"I", dtype.Int64, []int64{-1}, []int64{4}, []float64{2, 0, -1, 1}}}, []tconst{classes},
		graph.Node{Op: "Gather", Inputs: []string{"classes", "I"}, Outputs: []string{"Y"}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "labels", decode(dtype.Int64, y.Data), []float64{30, 10, 30, 20}, 0)
	// Axis 1 of a matrix, int32 indices.
	y, err = single(t, []tin{{"X", dtype.Float32, []int64{2, 3}, []int64{2, 3}, []float64{1, 2, 3, 4, 5, 6}}},
		[]tconst{{"I", dtype.Int32, []int64{2}, []float64{2, 0}}},
		graph.Node{Op: "Gather", Inputs: []string{"X", "I"}, Outputs: []string{"Y"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "axis 1", decode(dtype.Float32, y.Data), []float64{3, 1, 6, 4}, 0)
	// An index out of range is a run-time error, not a crash.
	_, err = single(t, []tin{{"I", dtype.Int64, []int64{-1}, []int64{1}, []float64{3}}}, []tconst{classes},
		graph.Node{Op: "Gather", Inputs: []string{"classes", "I"}, Outputs: []string{"Y"}})
	wantCode(t, err, errs.InvalidValue)
}

// TestGatherSlices checks the Gathers read in place (one constant index,
// only size-1 dimensions before the axis): their values, that the plan
// made them views at the slice's offset, that an in-place step after one
// does not write over its neighbours, a slice of a graph input given as an
// output, and an index out of range still reported when the node runs.
func TestGatherSlices(t *testing.T) {
	xv := []float64{-1, 2, -3, 4, 5, -6, 7, -8, 9, 10, -11, 12}
	idx := func(name string, v float64, shape []int64) tconst {
		return tconst{name, dtype.Int64, shape, []float64{v}}
	}
	consts := []tconst{idx("one", 1, nil), idx("last", -1, nil), idx("two", 2, []int64{1}), idx("three", 3, nil)}
	axis1 := []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}}
	nodes := []graph.Node{
		{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"T"}},
		{Op: "Gather", Name: "a", Inputs: []string{"T", "one"}, Outputs: []string{"A"}},
		{Op: "Gather", Name: "b", Inputs: []string{"T", "last"}, Outputs: []string{"B"}},
		{Op: "Neg", Inputs: []string{"A"}, Outputs: []string{"N"}},
		{Op: "Add", Inputs: []string{"N", "B"}, Outputs: []string{"C"}},
		{Op: "Gather", Name: "x", Inputs: []string{"X", "one"}, Outputs: []string{"XA"}},
		{Op: "Gather", Name: "z", Inputs: []string{"Z", "two"}, Outputs: []string{"ZB"}, Attrs: axis1},
	}
	ins := []tin{{"X", dtype.Float32, []int64{3, 4}, []int64{3, 4}, xv},
		{"Z", dtype.Float32, []int64{1, 3, 2}, []int64{1, 3, 2}, []float64{1, 2, 3, 4, 5, 6}}}
	m := buildModel(t, ins, consts, nodes, []string{"C", "XA", "ZB", "T"}, Options{Threads: 2})
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make([]Tensor, 4)
	if err := s.RunAlloc(inputsOf(ins), got, nil, RunOptions{}, heapAlloc); err != nil {
		t.Fatal(err)
	}
	relu := func(v float64) float64 { return math.Max(v, 0) }
	var wantC []float64
	for j := 0; j < 4; j++ {
		wantC = append(wantC, -relu(xv[4+j])+relu(xv[8+j]))
	}
	near(t, "C", decode(dtype.Float32, got[0].Data), wantC, 0)
	near(t, "XA", decode(dtype.Float32, got[1].Data), xv[4:8], 0)
	near(t, "ZB", decode(dtype.Float32, got[2].Data), []float64{5, 6}, 0)
	if sh := got[2].Shape(); len(sh) != 3 || sh[0] != 1 || sh[1] != 1 || sh[2] != 2 {
		t.Fatalf("ZB shape %v, want [1 1 2]", sh)
	}
	var wantT []float64
	for _, v := range xv {
		wantT = append(wantT, relu(v))
	}
	near(t, "T after the slices' consumers ran", decode(dtype.Float32, got[3].Data), wantT, 0)
	views := map[string]int64{}
	for _, p := range s.plans {
		for _, st := range p.steps {
			if st.node.Op == "Gather" {
				if st.exec != nil {
					t.Errorf("Gather %q is copied, not read in place", st.node.Name)
				}
				views[st.node.Name] = p.viewOff[st.res[0]]
			}
		}
	}
	if views["a"] != 16 || views["b"] != 32 || views["x"] != 16 || views["z"] != 16 {
		t.Fatalf("slice offsets %v, want a 16, b 32, x 16, z 16", views)
	}
	// Out of range: copied by the kernel, which reports it.
	bad := buildModel(t, ins[:1], consts, []graph.Node{{Op: "Gather", Inputs: []string{"X", "three"}, Outputs: []string{"Y"}}},
		[]string{"Y"}, Options{})
	_, err = runModel(t, bad, inputsOf(ins[:1]))
	wantCode(t, err, errs.InvalidValue)
}
