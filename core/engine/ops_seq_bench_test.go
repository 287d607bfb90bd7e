package engine

import (
	"fmt"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// benchSeq times steady-state runs of a one-node model with 1 and 2 threads.
func benchSeq(b *testing.B, ins []tin, consts []tconst, node graph.Node, outBytes []int) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			m := buildModel(b, ins, consts, []graph.Node{node}, node.Outputs[:1], Options{Threads: threads})
			s, err := m.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			in := inputsOf(ins)
			outs := make([]Tensor, len(outBytes))
			for i, n := range outBytes {
				outs[i].Data = make([]byte, n)
			}
			b.ReportAllocs()
			for b.Loop() {
				for i := range outs {
					outs[i].Data = outs[i].Data[:cap(outs[i].Data)]
				}
				if err := s.Run(in, outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAttention: B=16, H=8, S=128, D=32, float32 (a transformer
// encoder layer's attention at batch 16).
func BenchmarkAttention(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := []int64{int64(batch), 8, 128, 32}
			dyn := []int64{-1, 8, -1, 32}
			n := prod(s)
			ins := []tin{{"Q", dtype.Float32, dyn, s, seq(n, 0)}, {"K", dtype.Float32, dyn, s, seq(n, 1)}, {"V", dtype.Float32, dyn, s, seq(n, 2)}}
			benchSeq(b, ins, nil, graph.Node{Op: "Attention", Name: "a", Inputs: []string{"Q", "K", "V"}, Outputs: []string{"Y"}}, []int{n * 4})
		})
	}
}

// BenchmarkLSTM: bidirectional, batch 32 (and 1), seq 50, in 128, H 128, float32.
func BenchmarkLSTM(b *testing.B) {
	const seqLen, in, h = 50, 128, 128
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			xs := []int64{seqLen, int64(batch), in}
			scale := func(v []float64) []float64 {
				for i := range v {
					v[i] *= 0.05
				}
				return v
			}
			consts := []tconst{
				{"W", dtype.Float32, []int64{2, 4 * h, in}, scale(seq(2*4*h*in, 1))},
				{"R", dtype.Float32, []int64{2, 4 * h, h}, scale(seq(2*4*h*h, 2))},
				{"B", dtype.Float32, []int64{2, 8 * h}, scale(seq(2*8*h, 3))},
			}
			ins := []tin{{"X", dtype.Float32, []int64{-1, -1, in}, xs, seq(prod(xs), 0)}}
			node := graph.Node{Op: "LSTM", Name: "l", Inputs: []string{"X", "W", "R", "B"}, Outputs: []string{"Y"},
				Attrs: []graph.Attr{{Name: "hidden_size", Type: graph.AttrInt, Int: h},
					{Name: "direction", Type: graph.AttrString, String: "bidirectional"}}}
			benchSeq(b, ins, consts, node, []int{seqLen * 2 * batch * h * 4})
		})
	}
}
