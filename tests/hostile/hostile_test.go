package hostile

import (
	"testing"

	"github.com/mle-runtime/mle/core/graph"
)

// TestCases runs the deterministic suite on one and two threads.
func TestCases(t *testing.T) {
	cases := Cases()
	built := 0
	for i := range cases {
		c := &cases[i]
		t.Run(c.Name, func(t *testing.T) {
			model, err := c.Build()
			if err != nil {
				if c.Allowed != nil {
					t.Fatalf("a case meant to run does not build: %v", err)
				}
				return
			}
			built++
			for _, threads := range []int{1, 2} {
				if err := c.Run(model, threads); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if built < 100 {
		t.Fatalf("only %d of %d hostile cases built", built, len(cases))
	}
	t.Logf("%d hostile cases run", built)
}

// Every registered op takes part in the empty-operand family.
func TestEveryOpCovered(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range emptyOperands() {
		seen[c.Nodes[0].Op] = true
	}
	for _, op := range graph.Ops() {
		if !seen[op] {
			t.Errorf("op %s has no empty-operand case: teach acceptedNode its arguments", op)
		}
	}
}
