package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// checkPlacement fails if two buffers whose lifetimes overlap share bytes,
// or the peak does not cover every buffer.
func checkPlacement(t *testing.T, bufs []lifetime, peak int64) {
	t.Helper()
	for i, a := range bufs {
		if a.size > 0 && (a.off < 0 || a.off+a.size > peak || a.off%arenaAlign != 0) {
			t.Fatalf("buffer %d at %d+%d outside [0, %d) or misaligned", i, a.off, a.size, peak)
		}
		for j := i + 1; j < len(bufs); j++ {
			b := bufs[j]
			if a.size == 0 || b.size == 0 || a.start > b.end || b.start > a.end {
				continue
			}
			if a.off < b.off+b.size && b.off < a.off+a.size {
				t.Fatalf("buffers %d [%d,%d]@%d+%d and %d [%d,%d]@%d+%d overlap", i, a.start, a.end, a.off, a.size, j, b.start, b.end, b.off, b.size)
			}
		}
	}
}

// Both placements keep live buffers apart; the sweep stays within a small
// factor of greedy-by-size on random lifetimes.
func TestPlacementsNeverOverlap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		steps := 1 + rng.IntN(60)
		n := rng.IntN(80)
		bufs := make([]lifetime, n)
		for i := range bufs {
			s := rng.IntN(steps)
			e := s + rng.IntN(min(steps-s, 1+rng.IntN(10)))
			size := int64(rng.IntN(8)) * arenaAlign * int64(1+rng.IntN(16))
			bufs[i] = lifetime{id: i, size: size, start: s, end: e}
		}
		g := append([]lifetime(nil), bufs...)
		gp := placeGreedy(g)
		checkPlacement(t, g, gp)
		sw := append([]lifetime(nil), bufs...)
		sp := placeSweep(sw, steps+1)
		checkPlacement(t, sw, sp)
		if sp > 3*gp+arenaAlign*16*8 {
			t.Fatalf("trial %d: sweep peak %d vs greedy %d", trial, sp, gp)
		}
	}
}

// A 100,000-node chain plans with the sweep (O(n log n)) and runs right:
// ping-pong buffers, so the arena is two activations, not 100,000.
func TestLongChainPlansAndRuns(t *testing.T) {
	const n = 100000
	nodes := make([]graph.Node, n)
	for i := range nodes {
		nodes[i] = graph.Node{Op: "Neg", Inputs: []string{fmt.Sprint("v", i)}, Outputs: []string{fmt.Sprint("v", i+1)}}
	}
	ins := []tin{{name: "v0", dt: dtype.Float32, sig: []int64{-1}, shape: []int64{4}, values: []float64{-1, 2, -3, 4}}}
	m := buildModel(t, ins, nil, nodes, []string{fmt.Sprint("v", n)}, Options{Threads: 1})
	s, _ := m.NewSession()
	defer s.Close()
	st, err := s.Memory(inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	if st.ArenaBytes > 4*arenaAlign {
		t.Fatalf("arena %d bytes for a chain of 16-byte tensors", st.ArenaBytes)
	}
	outs, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	// An even number of negations.
	near(t, "chain", decode(dtype.Float32, outs[0].Data), []float64{-1, 2, -3, 4}, 0)
}
