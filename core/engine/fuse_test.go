package engine

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// fusedVsUnfused runs the graph with and without fusion on 1 and 2
// threads, requires bit-identical outputs, and returns the number of steps
// the fused plan has.
func fusedVsUnfused(t *testing.T, what string, ins []tin, consts []tconst, nodes []graph.Node, outs []string) int {
	t.Helper()
	return withAndWithout(t, what, "fusion", func(o *Options) { o.NoFusion = true }, ins, consts, nodes, outs)
}

// withAndWithout runs the graph on 1 and 2 threads with a feature on and
// turned off by off, requires bit-identical outputs, and returns the
// number of steps the plan has with the feature on.
func withAndWithout(t *testing.T, what, feature string, off func(*Options), ins []tin, consts []tconst, nodes []graph.Node, outs []string) int {
	t.Helper()
	var ref []Tensor
	steps := -1
	for _, threads := range []int{1, 2} {
		for _, on := range []bool{false, true} {
			opts := Options{Threads: threads}
			if !on {
				off(&opts)
			}
			m := buildModel(t, ins, consts, nodes, outs, opts)
			s, _ := m.NewSession()
			got := make([]Tensor, len(outs))
			if err := s.RunAlloc(inputsOf(ins), got, nil, RunOptions{}, heapAlloc); err != nil {
				t.Fatalf("%s (threads %d, %s %v): %v", what, threads, feature, on, err)
			}
			if on {
				for _, p := range s.plans {
					steps = len(p.steps)
				}
			}
			s.Close()
			m.Close()
			if ref == nil {
				ref = got
				continue
			}
			for i := range got {
				a, b := decode(got[i].DType, got[i].Data), decode(ref[i].DType, ref[i].Data)
				if len(a) != len(b) {
					t.Fatalf("%s: output %d has %d elements, want %d", what, i, len(a), len(b))
				}
				for j := range a {
					if math.Float64bits(a[j]) != math.Float64bits(b[j]) && !(a[j] != a[j] && b[j] != b[j]) {
						t.Fatalf("%s (threads %d, %s %v): output %d element %d is %v, without %v", what, threads, feature, on, i, j, a[j], b[j])
					}
				}
			}
		}
	}
	return steps
}

// randVals returns n values in [-2, 2) with a few NaN and ±Inf when special.
func randVals(r *rand.Rand, n int, special bool) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Float64()*4 - 2
	}
	if special && n > 3 {
		v[r.Intn(n)] = math.NaN()
		v[r.Intn(n)] = math.Inf(1)
		v[r.Intn(n)] = math.Inf(-1)
	}
	return v
}

func TestFusedGemmMatchesUnfused(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	acts := []graph.Node{
		{Op: "Relu"}, {Op: "LeakyRelu", Attrs: []graph.Attr{{Name: "alpha", Type: graph.AttrFloat, Float: 0.1}}},
		{Op: "Gelu"}, {Op: "Gelu", Attrs: []graph.Attr{{Name: "approximate", Type: graph.AttrString, String: "tanh"}}},
		{Op: "Tanh"}, {Op: "Sigmoid"}, {Op: "Exp"}, {Op: "Clip"}, {Op: "Clip"},
		{Op: "HardSwish"}, {Op: "HardSigmoid", Attrs: []graph.Attr{{Name: "alpha", Type: graph.AttrFloat, Float: 1.0 / 6}}},
		{Op: "Swish", Attrs: []graph.Attr{{Name: "alpha", Type: graph.AttrFloat, Float: 1.5}}},
	}
	for _, dt := range floatTypes {
		for ai, act := range acts {
			// Sizes and C shapes rotate with the activation so that every
			// path (direct, packed, edge tiles, depth blocks, C row / full /
			// scalar) meets every activation in a test that stays fast.
			sizes := [][3]int{{0, 5, 3}, {1, 1, 1}, {3, 37, 7}, {17, 5, 300}, {64, 33, 300}, {130, 40, 20}}
			for si := range 3 {
				sz := sizes[(ai+si*2)%len(sizes)]
				m, n, k := sz[0], sz[1], sz[2]
				cshapes := [][]int64{{int64(n)}, {1, int64(n)}, {int64(m), int64(n)}, {1}}
				for ci := range 2 {
					cshape := cshapes[(ai+si+ci*2)%len(cshapes)]
					for _, residual := range []int{-1, (ai + si + ci) % 2} {
						what := fmt.Sprintf("%s Gemm %dx%dx%d C%v + %s residual %d", dt, m, n, k, cshape, act.Op, residual)
						ins := []tin{
							{name: "A", dt: dt, sig: []int64{-1, int64(k)}, shape: []int64{int64(m), int64(k)}, values: randVals(r, m*k, true)},
							{name: "R", dt: dt, sig: []int64{-1, int64(n)}, shape: []int64{int64(m), int64(n)}, values: randVals(r, m*n, false)},
						}
						consts := []tconst{
							{name: "W", dt: dt, shape: []int64{int64(n), int64(k)}, values: randVals(r, n*k, false)},
							{name: "C", dt: dt, shape: cshape, values: randVals(r, numel(cshape), false)},
							{name: "lo", dt: dt, shape: []int64{}, values: []float64{-0.5}},
							{name: "hi", dt: dt, shape: []int64{}, values: []float64{0.7}},
						}
						nodes := []graph.Node{{Op: "Gemm", Inputs: []string{"A", "W", "C"}, Outputs: []string{"Y"},
							Attrs: []graph.Attr{{Name: "transB", Type: graph.AttrInt, Int: 1},
								{Name: "alpha", Type: graph.AttrFloat, Float: 1.5}, {Name: "beta", Type: graph.AttrFloat, Float: 0.5}}}}
						a := act
						a.Inputs, a.Outputs = []string{"Y"}, []string{"Z"}
						if a.Op == "Clip" && ai == len(acts)-1 {
							a.Inputs = []string{"Y", "lo", "hi"}
						}
						nodes = append(nodes, a)
						out := "Z"
						if residual >= 0 {
							in := []string{"Z", "R"}
							if residual == 1 {
								in = []string{"R", "Z"}
							}
							nodes = append(nodes, graph.Node{Op: "Add", Inputs: in, Outputs: []string{"O"}})
							out = "O"
						}
						steps := fusedVsUnfused(t, what, ins, consts, nodes, []string{out})
						if m > 0 && steps != 1 {
							t.Fatalf("%s: %d steps, want the one fused step", what, steps)
						}
					}
				}
			}
		}
	}
}

func TestFusedChainMatchesUnfused(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	type tc struct {
		name  string
		nodes []graph.Node
		steps int
	}
	for _, dt := range floatTypes {
		for _, rows := range []int{0, 1, 3, 5000} {
			for _, cols := range []int{1, 7, 64} {
				ins := []tin{
					{name: "X", dt: dt, sig: []int64{-1, int64(cols)}, shape: []int64{int64(rows), int64(cols)}, values: randVals(r, rows*cols, true)},
					{name: "B", dt: dt, sig: []int64{-1, 1}, shape: []int64{int64(rows), 1}, values: randVals(r, rows, false)},
				}
				consts := []tconst{
					{name: "mean", dt: dt, shape: []int64{int64(cols)}, values: randVals(r, cols, false)},
					{name: "scale", dt: dt, shape: []int64{int64(cols)}, values: randVals(r, cols, false)},
					{name: "two", dt: dt, shape: []int64{}, values: []float64{2}},
					{name: "lo", dt: dt, shape: []int64{}, values: []float64{-1}},
				}
				cases := []tc{
					{"scaler+relu", []graph.Node{
						{Op: "Sub", Inputs: []string{"X", "mean"}, Outputs: []string{"a"}},
						{Op: "Div", Inputs: []string{"a", "scale"}, Outputs: []string{"b"}},
						{Op: "Relu", Inputs: []string{"b"}, Outputs: []string{"Y"}}}, 1},
					{"chain second operand", []graph.Node{
						{Op: "Sub", Inputs: []string{"mean", "X"}, Outputs: []string{"a"}},
						{Op: "Div", Inputs: []string{"two", "a"}, Outputs: []string{"b"}},
						{Op: "Add", Inputs: []string{"B", "b"}, Outputs: []string{"c"}},
						{Op: "Clip", Inputs: []string{"c", "lo"}, Outputs: []string{"d"}},
						{Op: "Exp", Inputs: []string{"d"}, Outputs: []string{"Y"}}}, 1},
					{"unary chain", []graph.Node{
						{Op: "Tanh", Inputs: []string{"X"}, Outputs: []string{"a"}},
						{Op: "Mul", Inputs: []string{"a", "X"}, Outputs: []string{"b"}},
						{Op: "Sigmoid", Inputs: []string{"b"}, Outputs: []string{"Y"}}}, 1},
					// B [rows,1] + mean [cols] grows both: the chain cannot
					// start there, the rest fuses.
					{"broadcast start", []graph.Node{
						{Op: "Add", Inputs: []string{"B", "mean"}, Outputs: []string{"a"}},
						{Op: "Mul", Inputs: []string{"a", "two"}, Outputs: []string{"b"}},
						{Op: "Relu", Inputs: []string{"b"}, Outputs: []string{"Y"}}}, 3},
				}
				for _, c := range cases {
					what := fmt.Sprintf("%s %s %dx%d", dt, c.name, rows, cols)
					steps := fusedVsUnfused(t, what, ins, consts, c.nodes, []string{"Y"})
					if cols == 1 {
						c.steps = 1 // B [rows, 1] has the output's shape: the chain starts there
					}
					if rows > 0 && steps != c.steps {
						t.Fatalf("%s: %d steps, want %d", what, steps, c.steps)
					}
				}
			}
		}
	}
}

// A value used twice, or a graph output, stays a step of its own.
func TestFusionKeepsSharedValues(t *testing.T) {
	ins := []tin{{name: "X", dt: dtype.Float64, sig: []int64{4}, shape: []int64{4}, values: []float64{-1, 2, -3, 4}}}
	nodes := []graph.Node{
		{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"a"}},
		{Op: "Neg", Inputs: []string{"a"}, Outputs: []string{"b"}},
		{Op: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"c"}}, // a used twice
		{Op: "Exp", Inputs: []string{"c"}, Outputs: []string{"Y"}},
	}
	if steps := fusedVsUnfused(t, "shared", ins, nil, nodes, []string{"Y", "a"}); steps != 2 {
		t.Fatalf("%d steps, want 2 (Relu; Neg+Add+Exp)", steps)
	}
}

// Groups may interleave in node order: here Exp(X)+Add is one group and
// Neg+Exp another that completes between its members. The first falls back
// to unfused nodes (its Exp is a scalar, its Add is not), and its held
// Exp must still run (found by FuzzHostile, with K a constant: it was
// dropped; K is an input here, or the Neg+Exp of a constant would fold).
func TestInterleavedGroupsFallBack(t *testing.T) {
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{}, shape: []int64{}, values: []float64{0.5}},
		{name: "K", dt: dtype.Float32, sig: []int64{3}, shape: []int64{3}, values: []float64{-1, 0, 2}}}
	var consts []tconst
	nodes := []graph.Node{
		{Op: "Exp", Inputs: []string{"X"}, Outputs: []string{"a"}},
		{Op: "Neg", Inputs: []string{"K"}, Outputs: []string{"k1"}},
		{Op: "Exp", Inputs: []string{"k1"}, Outputs: []string{"k2"}},
		{Op: "Add", Inputs: []string{"a", "k2"}, Outputs: []string{"Y"}},
	}
	if steps := fusedVsUnfused(t, "interleaved", ins, consts, nodes, []string{"Y"}); steps != 3 {
		t.Fatalf("%d steps, want 3 (Neg+Exp; Exp; Add)", steps)
	}
}
