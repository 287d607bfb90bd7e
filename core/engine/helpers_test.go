package engine

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// encode packs float64 values as elements of dt.
func encode(dt dtype.DType, vals []float64) []byte {
	b := make([]byte, len(vals)*dt.Size())
	kernels.FromFloat64s(b, kernels.Elem(dt), vals)
	return b
}

// decode unpacks elements of dt as float64.
func decode(dt dtype.DType, b []byte) []float64 {
	return kernels.ToFloat64s(b, kernels.Elem(dt), len(b)/dt.Size())
}

// tin is a test input: a graph input spec plus the values fed at run time.
type tin struct {
	name   string
	dt     dtype.DType
	sig    []int64 // declared shape (-1 dynamic)
	shape  []int64 // run-time shape
	values []float64
}

// tconst is a stored tensor.
type tconst struct {
	name   string
	dt     dtype.DType
	shape  []int64
	values []float64
}

// buildModel saves a model made of the given pieces and opens it.
func buildModel(t testing.TB, ins []tin, consts []tconst, nodes []graph.Node, outs []string, opts Options) *Model {
	t.Helper()
	return saveOpen(t, newBuilder(t, ins, consts, nodes, outs), filepath.Join(t.TempDir(), "m.mle"), opts)
}

// newBuilder is buildModel's builder, for tests that expect the model to be
// refused.
func newBuilder(t testing.TB, ins []tin, consts []tconst, nodes []graph.Node, outs []string) *format.Builder {
	t.Helper()
	b := format.NewBuilder()
	for _, in := range ins {
		if err := b.AddInput(in.name, in.dt, in.sig); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range consts {
		if err := b.AddTensor(c.name, c.dt, c.shape, encode(c.dt, c.values)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		b.AddNode(n)
	}
	for _, o := range outs {
		if err := b.AddOutput(o); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// saveOpen writes b's model to path and opens it (closed when the test ends).
func saveOpen(t testing.TB, b *format.Builder, path string, opts Options) *Model {
	t.Helper()
	if _, err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func inputsOf(ins []tin) []Tensor {
	out := make([]Tensor, len(ins))
	for i, in := range ins {
		out[i] = NewTensor(in.dt, in.shape, encode(in.dt, in.values))
	}
	return out
}

// runModel runs m once through Model.Run, which allocates the outputs.
func runModel(t testing.TB, m *Model, inputs []Tensor) ([]Tensor, error) {
	t.Helper()
	outs := make([]Tensor, len(m.Outputs()))
	return outs, m.Run(inputs, outs, nil, RunOptions{}, heapAlloc)
}

// heapAlloc is an AllocFunc on the Go heap.
func heapAlloc(_ int, _ *Tensor, n int64) ([]byte, error) { return make([]byte, n), nil }

// single builds a one-node model and runs it.
func single(t testing.TB, ins []tin, consts []tconst, node graph.Node) (Tensor, error) {
	t.Helper()
	m := buildModel(t, ins, consts, []graph.Node{node}, node.Outputs[:1], Options{})
	outs, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		return Tensor{}, err
	}
	return outs[0], nil
}

func wantCode(t testing.TB, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("got %v (%v), want %v", got, err, code)
	}
}

// near compares got with want: relative tolerance tol, NaN equal to NaN.
func near(t testing.TB, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s[%d] = %v, want %v (all: %v)", what, i, g, w, got)
		}
	}
}

// seq returns n deterministic values in about [-2, 2].
func seq(n int, seed float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Sin(float64(i)*0.7+seed) * 2
	}
	return out
}

func prod(s []int64) int {
	n := 1
	for _, d := range s {
		n *= int(d)
	}
	return n
}
