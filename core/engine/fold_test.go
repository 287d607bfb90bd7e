package engine

import (
	"math/rand"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// A weight stored transposed and scaled (Transpose, Mul of constants) is
// folded once and packed like a stored one, and a Clip whose bound is a
// folded value still fuses into the Gemm's epilogue. Two steps remain: the
// Gemm group and the Reshape (a view, with no kernel).
func TestFoldConstantSubgraphs(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	const rows, in, out = 37, 20, 12
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{-1, in}, shape: []int64{rows, in}, values: randVals(r, rows*in, true)}}
	consts := []tconst{
		{name: "WT", dt: dtype.Float32, shape: []int64{in, out}, values: randVals(r, in*out, false)},
		{name: "S", dt: dtype.Float32, shape: []int64{}, values: []float64{0.5}},
		{name: "B", dt: dtype.Float32, shape: []int64{out}, values: randVals(r, out, false)},
		{name: "Hi", dt: dtype.Float32, shape: []int64{}, values: []float64{1.5}},
		{name: "Two", dt: dtype.Float32, shape: []int64{}, values: []float64{2}},
		{name: "Shape2", dt: dtype.Int64, shape: []int64{2}, values: []float64{-1, 3}},
	}
	nodes := []graph.Node{
		{Op: "Transpose", Inputs: []string{"WT"}, Outputs: []string{"W"}},    // [out, in]
		{Op: "Mul", Inputs: []string{"W", "S"}, Outputs: []string{"Ws"}},     // folded
		{Op: "Mul", Inputs: []string{"Hi", "Two"}, Outputs: []string{"Hi2"}}, // a folded Clip bound
		{Op: "Gemm", Inputs: []string{"X", "Ws", "B"}, Outputs: []string{"H"}, Attrs: []graph.Attr{{Name: "transB", Type: graph.AttrInt, Int: 1}}},
		{Op: "Clip", Inputs: []string{"H", "", "Hi2"}, Outputs: []string{"C"}},
		{Op: "Reshape", Inputs: []string{"C", "Shape2"}, Outputs: []string{"Y"}},
	}
	if steps := withAndWithout(t, "fold", "folding", func(o *Options) { o.NoFold = true }, ins, consts, nodes, []string{"Y"}); steps != 2 {
		t.Fatalf("%d steps, want 2 (Gemm+Clip, Reshape)", steps)
	}
}

// A constant node whose kernel fails (a Gather index out of range) is not
// folded: the run reports the error, as it does unfolded.
func TestFoldLeavesFailuresToTheRun(t *testing.T) {
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{2}, shape: []int64{2}, values: []float64{1, 2}}}
	consts := []tconst{
		{name: "T", dt: dtype.Float32, shape: []int64{2}, values: []float64{3, 4}},
		{name: "I", dt: dtype.Int64, shape: []int64{2}, values: []float64{0, 7}},
	}
	nodes := []graph.Node{
		{Op: "Gather", Inputs: []string{"T", "I"}, Outputs: []string{"G"}},
		{Op: "Add", Inputs: []string{"X", "G"}, Outputs: []string{"Y"}},
	}
	for _, noFold := range []bool{false, true} {
		m := buildModel(t, ins, consts, nodes, []string{"Y"}, Options{Threads: 1, NoFold: noFold})
		got := make([]Tensor, 1)
		err := m.Run(inputsOf(ins), got, nil, RunOptions{}, heapAlloc)
		if errs.CodeOf(err) != errs.InvalidValue {
			t.Fatalf("folding %v: %v, want MLE_ERR_INVALID_VALUE", !noFold, err)
		}
		m.Close()
	}
}

// Folding stops at its bounds: a constant product of 64 MiB (4× the bound)
// is left to the run, which then applies the session's memory limit.
func TestFoldBounded(t *testing.T) {
	const n = 4096
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{1}, shape: []int64{1}, values: []float64{1}}}
	consts := []tconst{
		{name: "A", dt: dtype.Float32, shape: []int64{n, 1}, values: make([]float64, n)},
		{name: "B", dt: dtype.Float32, shape: []int64{1, n}, values: make([]float64, n)},
	}
	nodes := []graph.Node{
		{Op: "MatMul", Inputs: []string{"A", "B"}, Outputs: []string{"E"}},
		{Op: "Add", Inputs: []string{"X", "E"}, Outputs: []string{"Y"}},
	}
	m := buildModel(t, ins, consts, nodes, []string{"Y"}, Options{Threads: 1, MaxArenaBytes: 1 << 20})
	defer m.Close()
	err := m.Run(inputsOf(ins), make([]Tensor, 1), nil, RunOptions{}, heapAlloc)
	if errs.CodeOf(err) != errs.NoMemoryLimit {
		t.Fatalf("%v, want MLE_ERR_NO_MEMORY_LIMIT", err)
	}
	if fs := m.folded(); fs.node[0] || fs.bytes != 0 {
		t.Fatalf("the Expand was folded (%d bytes)", fs.bytes)
	}
}
