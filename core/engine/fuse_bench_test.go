package engine

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// mlpModel builds an MLP of Gemm (transB, bias) + act layers with the
// given widths, the issue-8 benchmark shapes: widths[0] inputs, Softmax at
// the end when softmax is set.
func mlpModel(b testing.TB, dt dtype.DType, widths []int, act string, softmax bool, opts Options) *Model {
	r := rand.New(rand.NewSource(3))
	var consts []tconst
	var nodes []graph.Node
	x := "X"
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		w, c := fmt.Sprintf("W%d", l), fmt.Sprintf("B%d", l)
		consts = append(consts, tconst{name: w, dt: dt, shape: []int64{int64(out), int64(in)}, values: randVals(r, in*out, false)},
			tconst{name: c, dt: dt, shape: []int64{int64(out)}, values: randVals(r, out, false)})
		y := fmt.Sprintf("H%d", l)
		nodes = append(nodes, graph.Node{Op: "Gemm", Inputs: []string{x, w, c}, Outputs: []string{y},
			Attrs: []graph.Attr{{Name: "transB", Type: graph.AttrInt, Int: 1}}})
		x = y
		if l+2 < len(widths) {
			a := fmt.Sprintf("A%d", l)
			nodes = append(nodes, graph.Node{Op: act, Inputs: []string{x}, Outputs: []string{a}})
			x = a
		}
	}
	if softmax {
		nodes = append(nodes, graph.Node{Op: "Softmax", Inputs: []string{x}, Outputs: []string{"P"}})
		x = "P"
	}
	return buildModel(b, []tin{{name: "X", dt: dt, sig: []int64{-1, int64(widths[0])}}}, consts, nodes, []string{x}, opts)
}

// BenchmarkMLPFusion runs the MLPs fused and unfused (2 threads):
// go test -run '^$' -bench MLPFusion ./core/engine
func BenchmarkMLPFusion(b *testing.B) {
	cases := []struct {
		name    string
		dt      dtype.DType
		widths  []int
		act     string
		softmax bool
		rows    []int
	}{
		{"torch50-256-256-4", dtype.Float32, []int{50, 256, 256, 4}, "Relu", false, []int{1, 256, 10000}},
		{"sklearn20-100-3", dtype.Float64, []int{20, 100, 3}, "Relu", true, []int{1, 10000}},
		{"relu4x1024", dtype.Float32, []int{1024, 1024, 1024, 1024, 1024}, "Relu", false, []int{64}},
	}
	for _, c := range cases {
		for _, rows := range c.rows {
			for _, fused := range []bool{false, true} {
				name := fmt.Sprintf("%s/rows=%d/fused=%v", c.name, rows, fused)
				b.Run(name, func(b *testing.B) {
					m := mlpModel(b, c.dt, c.widths, c.act, c.softmax, Options{Threads: 2, NoFusion: !fused})
					in := []Tensor{NewTensor(c.dt, []int64{int64(rows), int64(c.widths[0])}, encode(c.dt, make([]float64, rows*c.widths[0])))}
					outs := make([]Tensor, 1)
					if err := m.Run(in, outs, nil, RunOptions{}, heapAlloc); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := m.Run(in, outs, nil, RunOptions{}, nil); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// geluLNModel is the torch 128→512 GELU+LayerNorm→10 model.
func geluLNModel(b testing.TB, opts Options) *Model {
	r := rand.New(rand.NewSource(4))
	dt := dtype.Float32
	consts := []tconst{
		{name: "W0", dt: dt, shape: []int64{512, 128}, values: randVals(r, 512*128, false)},
		{name: "B0", dt: dt, shape: []int64{512}, values: randVals(r, 512, false)},
		{name: "S", dt: dt, shape: []int64{512}, values: randVals(r, 512, false)},
		{name: "C", dt: dt, shape: []int64{512}, values: randVals(r, 512, false)},
		{name: "W1", dt: dt, shape: []int64{10, 512}, values: randVals(r, 5120, false)},
		{name: "B1", dt: dt, shape: []int64{10}, values: randVals(r, 10, false)},
	}
	tb := []graph.Attr{{Name: "transB", Type: graph.AttrInt, Int: 1}}
	nodes := []graph.Node{
		{Op: "Gemm", Inputs: []string{"X", "W0", "B0"}, Outputs: []string{"H"}, Attrs: tb},
		{Op: "Gelu", Inputs: []string{"H"}, Outputs: []string{"G"}},
		{Op: "LayerNormalization", Inputs: []string{"G", "S", "C"}, Outputs: []string{"L"}},
		{Op: "Gemm", Inputs: []string{"L", "W1", "B1"}, Outputs: []string{"Y"}, Attrs: tb},
	}
	return buildModel(b, []tin{{name: "X", dt: dt, sig: []int64{-1, 128}}}, consts, nodes, []string{"Y"}, opts)
}

// BenchmarkGeluLayerNorm: go test -run '^$' -bench GeluLayerNorm ./core/engine
func BenchmarkGeluLayerNorm(b *testing.B) {
	for _, rows := range []int{1, 10000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			m := geluLNModel(b, Options{Threads: 2})
			in := []Tensor{NewTensor(dtype.Float32, []int64{int64(rows), 128}, encode(dtype.Float32, make([]float64, rows*128)))}
			outs := make([]Tensor, 1)
			if err := m.Run(in, outs, nil, RunOptions{}, heapAlloc); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.Run(in, outs, nil, RunOptions{}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
