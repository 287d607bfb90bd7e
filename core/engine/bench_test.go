package engine

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// writeChain saves a chain of `layers` Gemm+Relu layers of width×width
// float32 weights and returns its path.
func writeChain(b *testing.B, dir string, layers, width int) string {
	b.Helper()
	bl := format.NewBuilder()
	bl.AddInput("x0", dtype.Float32, []int64{-1, int64(width)})
	w := make([]byte, width*width*4)
	for i := 0; i < layers; i++ {
		wn, h, x := fmt.Sprintf("w%d", i), fmt.Sprintf("h%d", i), fmt.Sprintf("x%d", i)
		if err := bl.AddTensor(wn, dtype.Float32, []int64{int64(width), int64(width)}, w); err != nil {
			b.Fatal(err)
		}
		bl.AddNode(graph.Node{Op: "Gemm", Inputs: []string{x, wn}, Outputs: []string{h}})
		bl.AddNode(graph.Node{Op: "Relu", Inputs: []string{h}, Outputs: []string{fmt.Sprintf("x%d", i+1)}})
	}
	bl.AddOutput(fmt.Sprintf("x%d", layers))
	path := filepath.Join(dir, fmt.Sprintf("chain-%d-%d.mle", layers, width))
	if _, err := bl.Save(path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkOpen measures open + structural validation + planning a session
// for batch 1 — what a process pays before its first run. The weights cases
// keep the graph fixed (one Gemm+Relu layer) and grow the weights from 1 MB
// to 1 GB: the target is < 1 ms and flat in size. The nodes case is a
// 1,000-node graph with small weights (target < 1 ms).
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name          string
		layers, width int
	}{{"weights=1MB", 1, 512}, {"weights=100MB", 1, 5120}, {"weights=1GB", 1, 16384}, {"nodes=1000", 500, 16}} {
		var path string
		file := func(b *testing.B) string { // written on first use only
			if path == "" {
				path = writeChain(b, dir, c.layers, c.width)
			}
			return path
		}
		in := []Tensor{NewTensor(dtype.Float32, []int64{1, int64(c.width)}, nil)}
		b.Run("open/"+c.name, func(b *testing.B) {
			path := file(b)
			b.ReportAllocs()
			for b.Loop() {
				m, err := Open(path, Options{Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
		})
		b.Run("open+plan/"+c.name, func(b *testing.B) {
			path := file(b)
			b.ReportAllocs()
			for b.Loop() {
				m, err := Open(path, Options{Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				s, _ := m.NewSession()
				if _, err := s.Memory(in); err != nil {
					b.Fatal(err)
				}
				s.Close()
				m.Close()
			}
		})
	}
}

// BenchmarkPlanLarge opens and plans a 100,000-node graph (50,000
// Gemm+Relu layers of 4×4 weights, a 4 MB file): the planner is O(n log n),
// so this stays well under a second.
func BenchmarkPlanLarge(b *testing.B) {
	path := writeChain(b, b.TempDir(), 50000, 4)
	in := []Tensor{NewTensor(dtype.Float32, []int64{1, 4}, nil)}
	for _, plan := range []bool{false, true} {
		name := "open/nodes=100000"
		if plan {
			name = "open+plan/nodes=100000"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				m, err := Open(path, Options{Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				if plan {
					s, _ := m.NewSession()
					if _, err := s.Memory(in); err != nil {
						b.Fatal(err)
					}
					s.Close()
				}
				m.Close()
			}
		})
	}
}

// BenchmarkRun shows steady-state runs allocate nothing (allocs/op = 0).
func BenchmarkRun(b *testing.B) {
	benchMLP(b, func(s *Session, in, outs []Tensor) error { return s.Run(in, outs) })
}

// benchMLP times run on a 784-256-10 MLP at batch 1 and 256, and on a
// 4-8-3 MLP at batch 1 (where the engine's own overhead is most of a run).
func benchMLP(b *testing.B, run func(s *Session, in, outs []Tensor) error) {
	for _, c := range []struct{ in, hidden, out, rows int }{{784, 256, 10, 1}, {784, 256, 10, 256}, {4, 8, 3, 1}} {
		b.Run(fmt.Sprintf("mlp-%d-%d-%d/batch=%d", c.in, c.hidden, c.out, c.rows), func(b *testing.B) {
			rows := c.rows
			m := mlp(b, dtype.Float32, c.in, c.hidden, c.out, Options{})
			s, _ := m.NewSession()
			defer s.Close()
			in := []Tensor{xbatch(dtype.Float32, rows, c.in, 0)}
			outs := []Tensor{{Data: make([]byte, rows*4*c.out)}, {Data: make([]byte, rows*8)}}
			b.ReportAllocs()
			for b.Loop() {
				outs[0].Data, outs[1].Data = outs[0].Data[:cap(outs[0].Data)], outs[1].Data[:cap(outs[1].Data)]
				if err := run(s, in, outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
