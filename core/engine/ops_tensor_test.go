package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

func i64c(name string, vals ...float64) tconst {
	return tconst{name: name, dt: dtype.Int64, shape: []int64{int64(len(vals))}, values: vals}
}

func scalarc(name string, dt dtype.DType, v float64) tconst {
	return tconst{name: name, dt: dt, shape: []int64{}, values: []float64{v}}
}

func iota64(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}

// tensorCase is a one-node run and its expected output 0.
type tensorCase struct {
	name   string
	ins    []tin
	consts []tconst
	node   graph.Node
	shape  []int64
	want   []float64
}

func runTensorCases(t *testing.T, cases []tensorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.node.Outputs == nil {
				c.node.Outputs = []string{"y"}
			}
			got, err := single(t, c.ins, c.consts, c.node)
			if err != nil {
				t.Fatal(err)
			}
			if s := got.Dims[:got.Rank]; !slices.Equal(s, c.shape) {
				t.Fatalf("shape %v; want %v", s, c.shape)
			}
			near(t, c.name, decode(got.DType, got.Data), c.want, 0)
		})
	}
}

func TestTensorOpsRun(t *testing.T) {
	x34 := tin{"x", dtype.Float32, []int64{-1, 4}, []int64{3, 4}, iota64(12)}
	const maxI, minI = float64(math.MaxInt64), float64(math.MinInt64)
	runTensorCases(t, []tensorCase{
		{"shape", []tin{x34}, nil, graph.Node{Op: "Shape", Inputs: []string{"x"}}, []int64{2}, []float64{3, 4}},
		{"shape-end", []tin{x34}, nil, graph.Node{Op: "Shape", Inputs: []string{"x"}, Attrs: []graph.Attr{{Name: "end", Type: graph.AttrInt, Int: -1}}}, []int64{1}, []float64{3}},
		{"size", []tin{x34}, nil, graph.Node{Op: "Size", Inputs: []string{"x"}}, []int64{}, []float64{12}},
		{"slice", []tin{x34}, []tconst{i64c("s", 1, 3), i64c("e", 3, 0), i64c("a", 0, 1), i64c("st", 1, -2)},
			graph.Node{Op: "Slice", Inputs: []string{"x", "s", "e", "a", "st"}}, []int64{2, 2}, []float64{7, 5, 11, 9}},
		{"slice-flip", []tin{x34}, []tconst{i64c("s", -1), i64c("e", minI), i64c("a", -2), i64c("st", -1)},
			graph.Node{Op: "Slice", Inputs: []string{"x", "s", "e", "a", "st"}}, []int64{3, 4}, []float64{8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3}},
		{"slice-clamp", []tin{x34}, []tconst{i64c("s", 1), i64c("e", maxI)},
			graph.Node{Op: "Slice", Inputs: []string{"x", "s", "e"}}, []int64{2, 4}, iota64(12)[4:]},
		{"expand", []tin{{"x", dtype.Float64, []int64{3, 1}, []int64{3, 1}, []float64{1, 2, 3}}}, []tconst{i64c("s", 2, 1, 2)},
			graph.Node{Op: "Expand", Inputs: []string{"x", "s"}}, []int64{2, 3, 2}, []float64{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}},
		{"tile", []tin{{"x", dtype.Int32, []int64{2, 2}, []int64{2, 2}, []float64{1, 2, 3, 4}}}, []tconst{i64c("r", 2, 2)},
			graph.Node{Op: "Tile", Inputs: []string{"x", "r"}}, []int64{4, 4}, []float64{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}},
		{"squeeze", []tin{{"x", dtype.Float32, []int64{1, 3, 1}, []int64{1, 3, 1}, []float64{1, 2, 3}}}, []tconst{i64c("a", 0, -1)},
			graph.Node{Op: "Squeeze", Inputs: []string{"x", "a"}}, []int64{3}, []float64{1, 2, 3}},
		{"unsqueeze", []tin{{"x", dtype.Float32, []int64{3}, []int64{3}, []float64{1, 2, 3}}}, []tconst{i64c("a", -1, 0)},
			graph.Node{Op: "Unsqueeze", Inputs: []string{"x", "a"}}, []int64{1, 3, 1}, []float64{1, 2, 3}},
		{"range", nil, []tconst{scalarc("a", dtype.Int64, 10), scalarc("b", dtype.Int64, 1), scalarc("c", dtype.Int64, -3)},
			graph.Node{Op: "Range", Inputs: []string{"a", "b", "c"}}, []int64{3}, []float64{10, 7, 4}},
		{"constantofshape", nil, []tconst{i64c("s", 2, 2)},
			graph.Node{Op: "ConstantOfShape", Inputs: []string{"s"}, Attrs: []graph.Attr{{Name: "value", Type: graph.AttrFloat, Float: 7}, {Name: "dtype", Type: graph.AttrInt, Int: int64(dtype.Int32)}}},
			[]int64{2, 2}, []float64{7, 7, 7, 7}},
		{"triu", []tin{x34}, []tconst{scalarc("k", dtype.Int64, 1)},
			graph.Node{Op: "Trilu", Inputs: []string{"x", "k"}}, []int64{3, 4}, []float64{0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11}},
		{"tril", []tin{x34}, []tconst{scalarc("k", dtype.Int64, -1)},
			graph.Node{Op: "Trilu", Inputs: []string{"x", "k"}, Attrs: []graph.Attr{{Name: "upper", Type: graph.AttrInt, Int: 0}}}, []int64{3, 4}, []float64{0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0}},
		{"tril-huge-k", []tin{x34}, []tconst{scalarc("k", dtype.Int64, maxI)},
			graph.Node{Op: "Trilu", Inputs: []string{"x", "k"}, Attrs: []graph.Attr{{Name: "upper", Type: graph.AttrInt, Int: 0}}}, []int64{3, 4}, iota64(12)},
		{"cumsum", []tin{x34}, []tconst{scalarc("a", dtype.Int64, 0)},
			graph.Node{Op: "CumSum", Inputs: []string{"x", "a"}}, []int64{3, 4}, []float64{0, 1, 2, 3, 4, 6, 8, 10, 12, 15, 18, 21}},
		{"cumsum-excl-rev", []tin{x34}, []tconst{scalarc("a", dtype.Int32, -1)},
			graph.Node{Op: "CumSum", Inputs: []string{"x", "a"}, Attrs: []graph.Attr{{Name: "exclusive", Type: graph.AttrInt, Int: 1}, {Name: "reverse", Type: graph.AttrInt, Int: 1}}},
			[]int64{3, 4}, []float64{6, 5, 3, 0, 18, 13, 7, 0, 30, 21, 11, 0}},
		{"max3", []tin{{"x", dtype.Float32, []int64{2, 1}, []int64{2, 1}, []float64{1, math.NaN()}}},
			[]tconst{{"b", dtype.Float32, []int64{3}, []float64{0, 2, 5}}, {"c", dtype.Float32, []int64{}, []float64{3}}},
			graph.Node{Op: "Max", Inputs: []string{"x", "b", "c"}}, []int64{2, 3}, []float64{3, 3, 5, math.NaN(), math.NaN(), math.NaN()}},
		{"min1", []tin{{"x", dtype.Int64, []int64{2}, []int64{2}, []float64{4, -2}}}, nil,
			graph.Node{Op: "Min", Inputs: []string{"x"}}, []int64{2}, []float64{4, -2}},
		{"mod", []tin{{"x", dtype.Int32, []int64{4}, []int64{4}, []float64{-3, 3, 7, 5}}}, []tconst{{"b", dtype.Int32, []int64{4}, []float64{2, -2, 0, 3}}},
			graph.Node{Op: "Mod", Inputs: []string{"x", "b"}}, []int64{4}, []float64{1, -1, 0, 2}},
		{"fmod", []tin{{"x", dtype.Float64, []int64{3}, []int64{3}, []float64{-3.5, 3.5, 1}}}, []tconst{{"b", dtype.Float64, []int64{}, []float64{2}}},
			graph.Node{Op: "Mod", Inputs: []string{"x", "b"}, Attrs: []graph.Attr{{Name: "fmod", Type: graph.AttrInt, Int: 1}}}, []int64{3}, []float64{-1.5, 1.5, 1}},
		{"ge", []tin{{"x", dtype.Float32, []int64{3}, []int64{3}, []float64{1, 2, math.NaN()}}}, []tconst{{"b", dtype.Float32, []int64{}, []float64{2}}},
			graph.Node{Op: "GreaterOrEqual", Inputs: []string{"x", "b"}}, []int64{3}, []float64{0, 1, 0}},
		{"le", []tin{{"x", dtype.Int64, []int64{3}, []int64{3}, []float64{1, 2, 3}}}, []tconst{{"b", dtype.Int64, []int64{}, []float64{2}}},
			graph.Node{Op: "LessOrEqual", Inputs: []string{"x", "b"}}, []int64{3}, []float64{1, 1, 0}},
		{"xor", []tin{{"x", dtype.Bool, []int64{2, 1}, []int64{2, 1}, []float64{0, 1}}}, []tconst{{"b", dtype.Bool, []int64{2}, []float64{0, 1}}},
			graph.Node{Op: "Xor", Inputs: []string{"x", "b"}}, []int64{2, 2}, []float64{0, 1, 1, 0}},
		{"and", []tin{{"x", dtype.Bool, []int64{2, 1}, []int64{2, 1}, []float64{0, 1}}}, []tconst{{"b", dtype.Bool, []int64{2}, []float64{0, 1}}},
			graph.Node{Op: "And", Inputs: []string{"x", "b"}}, []int64{2, 2}, []float64{0, 0, 0, 1}},
		{"or", []tin{{"x", dtype.Bool, []int64{2, 1}, []int64{2, 1}, []float64{0, 1}}}, []tconst{{"b", dtype.Bool, []int64{2}, []float64{0, 1}}},
			graph.Node{Op: "Or", Inputs: []string{"x", "b"}}, []int64{2, 2}, []float64{0, 1, 1, 1}},
		{"not", []tin{{"x", dtype.Bool, []int64{2}, []int64{2}, []float64{0, 1}}}, nil,
			graph.Node{Op: "Not", Inputs: []string{"x"}}, []int64{2}, []float64{1, 0}},
		{"pow", []tin{{"x", dtype.Float32, []int64{3}, []int64{3}, []float64{2, -8, 0}}}, []tconst{{"b", dtype.Int64, []int64{}, []float64{3}}},
			graph.Node{Op: "Pow", Inputs: []string{"x", "b"}}, []int64{3}, []float64{8, -512, 0}},
		{"prelu", []tin{{"x", dtype.Float32, []int64{2, 2}, []int64{2, 2}, []float64{-1, 2, -3, -4}}}, []tconst{{"w", dtype.Float32, []int64{2}, []float64{0.5, 2}}},
			graph.Node{Op: "PRelu", Inputs: []string{"x", "w"}}, []int64{2, 2}, []float64{-0.5, 2, -1.5, -8}},
	})
}

func TestSplitAndTopKRun(t *testing.T) {
	x := tin{"x", dtype.Float64, []int64{-1, 5}, []int64{2, 5}, []float64{3, 1, math.NaN(), 3, 0, 1, 2, 3, 4, 5}}
	m := buildModel(t, []tin{x}, []tconst{i64c("sp", 2, 3), i64c("k", 3)}, []graph.Node{
		{Op: "Split", Inputs: []string{"x", "sp"}, Outputs: []string{"a", "b"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}}},
		{Op: "TopK", Inputs: []string{"x", "k"}, Outputs: []string{"v", "i"}},
		{Op: "TopK", Inputs: []string{"x", "k"}, Outputs: []string{"sv", "si"}, Attrs: []graph.Attr{{Name: "largest", Type: graph.AttrInt, Int: 0}}},
	}, []string{"a", "b", "v", "i", "sv", "si"}, Options{})
	outs, err := runModel(t, m, inputsOf([]tin{x}))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{3, 1, 1, 2}, {math.NaN(), 3, 0, 3, 4, 5}, {math.NaN(), 3, 3, 5, 4, 3}, {2, 0, 3, 4, 3, 2},
		{0, 1, 3, 1, 2, 3}, {4, 1, 0, 0, 1, 2}}
	for k, w := range want {
		near(t, m.Outputs()[k].Name, decode(outs[k].DType, outs[k].Data), w, 0)
	}
}

// A data-dependent failure: CumSum's axis given at run time.
func TestCumSumAxisAtRunTime(t *testing.T) {
	x := tin{"x", dtype.Float32, []int64{2, 2}, []int64{2, 2}, []float64{1, 2, 3, 4}}
	a := tin{"a", dtype.Int64, []int64{}, []int64{}, []float64{2}}
	_, err := single(t, []tin{x, a}, nil, graph.Node{Op: "CumSum", Inputs: []string{"x", "a"}, Outputs: []string{"y"}})
	wantCode(t, err, errs.InvalidValue)
	a.values = []float64{-1}
	got, err := single(t, []tin{x, a}, nil, graph.Node{Op: "CumSum", Inputs: []string{"x", "a"}, Outputs: []string{"y"}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "cumsum", decode(got.DType, got.Data), []float64{1, 3, 3, 7}, 0)
}

// Unary2 ops against their float64 formulas, on both dtypes, over values
// large enough to run in parallel.
func TestUnary2Run(t *testing.T) {
	n := 70000
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = (float64(i)/float64(n) - 0.5) * 24
	}
	vals = append(vals, 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 2.5, -2.5, 0.5)
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	sp := func(v float64) float64 { return math.Log1p(math.Exp(-math.Abs(v))) + math.Max(v, 0) }
	ref := map[string]func(float64) float64{
		"Reciprocal": func(v float64) float64 { return 1 / v },
		"Erf":        math.Erf,
		"Floor":      math.Floor, "Ceil": math.Ceil, "Round": math.RoundToEven,
		"Sign": func(v float64) float64 {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return -1
			}
			return 0
		},
		"Sin": math.Sin, "Cos": math.Cos, "Softplus": sp,
		"Softsign":    func(v float64) float64 { return v / (1 + math.Abs(v)) },
		"Mish":        func(v float64) float64 { return v * math.Tanh(sp(v)) },
		"HardSwish":   func(v float64) float64 { return v * math.Min(math.Max(v+3, 0), 6) / 6 },
		"HardSigmoid": func(v float64) float64 { return math.Max(0, math.Min(1, 0.2*v+0.5)) },
		"Swish":       func(v float64) float64 { return v * sig(v) },
		"Elu": func(v float64) float64 {
			if v > 0 {
				return v
			}
			return math.Expm1(v)
		},
		"Selu": func(v float64) float64 {
			const a, g = 1.67326319217681884765625, 1.05070102214813232421875
			if v > 0 {
				return g * v
			}
			return g * a * math.Expm1(v)
		},
		"Celu": func(v float64) float64 { return math.Max(0, v) + math.Min(0, math.Expm1(v)) },
		"ThresholdedRelu": func(v float64) float64 {
			if v <= 1 {
				return 0
			}
			return v
		},
	}
	for _, op := range graph.Unary2Ops {
		f := ref[op]
		if f == nil {
			t.Fatalf("no reference for %s", op)
		}
		for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64} {
			in := slices.Clone(vals)
			if dt == dtype.Float32 {
				for i, v := range in {
					in[i] = float64(float32(v))
				}
			}
			x := tin{"x", dt, []int64{-1}, []int64{int64(len(in))}, in}
			got, err := single(t, []tin{x}, nil, graph.Node{Op: op, Inputs: []string{"x"}, Outputs: []string{"y"}})
			if err != nil {
				t.Fatal(err)
			}
			g := decode(dt, got.Data)
			tol := 2e-15
			if dt == dtype.Float32 {
				tol = 2e-7
				if op == "Swish" {
					// float32 sigmoid computes in float32 (≤ 2.4 ulp), then x·.
					tol = 3.5e-7
				}
			}
			for i, v := range in {
				w := f(v)
				if dt == dtype.Float32 {
					w = float64(float32(w))
				}
				if math.IsNaN(w) && math.IsNaN(g[i]) {
					continue
				}
				// Near a zero of the function (sin, cos), the error is absolute.
				if d := math.Abs(g[i] - w); !(d <= tol*math.Abs(w) || d <= 1e-15 || g[i] == w) {
					t.Fatalf("%s %s(%v) = %v; want %v", op, dt, v, g[i], w)
				}
			}
		}
	}
}

// A Slice runs without allocating: the shape it checks its arguments'
// values against once escaped to the heap through the error path, an
// allocation per run of every transformer (its positional table's slice).
func TestSliceSteadyStateAllocs(t *testing.T) {
	ints := func(name string, v ...float64) tconst {
		return tconst{name: name, dt: dtype.Int64, shape: []int64{int64(len(v))}, values: v}
	}
	consts := []tconst{ints("starts", 1, 0), ints("ends", 3, 5), ints("axes", 0, 1)}
	nodes := []graph.Node{{Op: "Slice", Name: "s", Inputs: []string{"X", "starts", "ends", "axes"}, Outputs: []string{"Y"}}}
	x := make([]float64, 24)
	for i := range x {
		x[i] = float64(i)
	}
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{4, 6}, shape: []int64{4, 6}, values: x}}
	m := buildModel(t, ins, consts, nodes, []string{"Y"}, Options{Threads: 1})
	defer m.Close()
	s, _ := m.NewSession()
	defer s.Close()
	in, outs := inputsOf(ins), []Tensor{{Data: make([]byte, 2*5*4)}}
	run := func() {
		if err := s.Run(in, outs); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if want := []float64{6, 7, 8, 9, 10, 12, 13, 14, 15, 16}; !slices.Equal(decode(dtype.Float32, outs[0].Data), want) {
		t.Fatalf("Y = %v, want %v", decode(dtype.Float32, outs[0].Data), want)
	}
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Fatalf("%v allocs per run, want 0", a)
	}
}
