package engine

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRunStoppable is BenchmarkRun with a timeout and a cancel flag
// armed: the cost of polling them between nodes and chunks.
func BenchmarkRunStoppable(b *testing.B) {
	var flag atomic.Int32
	opts := RunOptions{Timeout: time.Hour, Cancel: &flag}
	benchMLP(b, func(s *Session, in, outs []Tensor) error { return s.RunWith(in, outs, nil, opts) })
}

// BenchmarkMatMulStoppable compares a 1024³ product with and without a
// timeout and cancel flag armed (the Stop is polled between micro-panels).
func BenchmarkMatMulStoppable(b *testing.B) {
	for _, threads := range []int{1, 2} {
		for _, armed := range []bool{false, true} {
			b.Run(fmt.Sprintf("threads=%d/armed=%v", threads, armed), func(b *testing.B) {
				m := matmulModel(b, Options{Threads: threads})
				s, _ := m.NewSession()
				defer s.Close()
				ins := []Tensor{square(1024), square(1024)}
				out := []Tensor{{Data: make([]byte, 4*1024*1024)}}
				var opts RunOptions
				var flag atomic.Int32
				if armed {
					opts = RunOptions{Timeout: time.Hour, Cancel: &flag}
				}
				for b.Loop() {
					out[0].Data = out[0].Data[:cap(out[0].Data)]
					if err := s.RunWith(ins, out, nil, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
