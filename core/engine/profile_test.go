package engine

import (
	"math/rand"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// TestProfile: a profiled run reports each executed step once, fused
// groups by their ops, in execution order, with output shapes; runs on
// several sessions add up; a failed run adds nothing.
func TestProfile(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	dt := dtype.Float32
	ws := []int64{4, 4, 3, 3}
	consts := []tconst{{name: "w", dt: dt, shape: ws, values: convRand(prod(ws), r)}, {name: "b", dt: dt, shape: ws[:1], values: convRand(4, r)}}
	nodes := []graph.Node{
		{Op: "Conv", Name: "conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
			Attrs: []graph.Attr{cIntsA("pads", []int64{1, 1, 1, 1})}},
		{Op: "Add", Name: "add", Inputs: []string{"c", "x"}, Outputs: []string{"a"}},
		{Op: "Relu", Name: "relu", Inputs: []string{"a"}, Outputs: []string{"h"}},
		{Op: "ReduceSum", Name: "sum", Inputs: []string{"h"}, Outputs: []string{"y"},
			Attrs: []graph.Attr{cIntsA("axes", []int64{2, 3})}},
	}
	xs := []int64{2, 4, 6, 5}
	ins := []tin{{name: "x", dt: dt, sig: []int64{-1, 4, 6, 5}, shape: xs, values: convRand(prod(xs), r)}}
	m := buildModel(t, ins, consts, nodes, []string{"y"}, Options{Threads: 2})
	var prof Profile
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				outs := make([]Tensor, 1)
				if err := m.Run(inputsOf(ins), outs, nil, RunOptions{Profile: &prof}, heapAlloc); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	bad := inputsOf(ins)
	bad[0] = NewTensor(dt, []int64{2, 3, 6, 5}, bad[0].Data[:2*3*6*5*4])
	if err := m.Run(bad, make([]Tensor, 1), nil, RunOptions{Profile: &prof}, heapAlloc); err == nil {
		t.Fatal("a run with 3 channels for 4 succeeded")
	}
	if prof.Runs() != 20 {
		t.Fatalf("Runs() = %d, want 20", prof.Runs())
	}
	steps := prof.Steps()
	type row struct {
		Op, Name string
		Shape    []int64
		Runs     int
	}
	var got []row
	for _, s := range steps {
		got = append(got, row{s.Op, s.Name, s.Shape, s.Runs})
		if s.Time <= 0 {
			t.Errorf("step %s %q: time %v", s.Op, s.Name, s.Time)
		}
	}
	want := []row{{"Conv+Add+Relu", "relu", []int64{2, 4, 6, 5}, 20}, {"ReduceSum", "sum", []int64{2, 4, 1, 1}, 20}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("steps (-want +got):\n%s", d)
	}
	// Steps is a copy.
	steps[0].Shape[0] = 99
	if slices.Equal(prof.Steps()[0].Shape, steps[0].Shape) {
		t.Fatal("Steps shares its shapes with the profile")
	}
	// Without fusion every node is its own step.
	m = buildModel(t, ins, consts, nodes, []string{"y"}, Options{Threads: 2, NoFusion: true})
	var unfused Profile
	if err := m.Run(inputsOf(ins), make([]Tensor, 1), nil, RunOptions{Profile: &unfused}, heapAlloc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, s := range unfused.Steps() {
		ops = append(ops, s.Op)
	}
	if d := cmp.Diff([]string{"Conv", "Add", "Relu", "ReduceSum"}, ops); d != "" {
		t.Fatalf("unfused steps (-want +got):\n%s", d)
	}
}
