// Package hostile generates small, valid .mle models and legal inputs built
// to break a runtime — zero-size tensors next to huge dimensions, broadcast
// blow-ups, deep chains, wide fan-ins, out-of-range indices, aliased buffers
// — and checks that the engine refuses or finishes each one promptly with a
// specific status, never a crash, a hang or an abort.
//
// Two sources feed the same checker: Cases, a deterministic list that
// covers every registered op, and Decode, which turns fuzzer bytes into a
// graph and input shapes (the structure-aware fuzz target FuzzHostile).
package hostile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
)

// Huge is a dimension no buffer could hold; next to a zero it is legal.
const Huge = int64(1) << 40

// Limits every hostile run gets: the memory a session may take, and a time
// no run of these tiny models may come near (reaching it means a loop that
// does not end).
const (
	MemoryLimit = 64 << 20
	RunTimeout  = 20 * time.Second
)

// Input is one graph input: its signature and the shape fed at run time.
type Input struct {
	Name  string
	DType dtype.DType
	Sig   []int64
	Shape []int64
}

// Const is a stored tensor.
type Const struct {
	Name  string
	DType dtype.DType
	Shape []int64
	Data  []byte
}

// Case is one hostile model plus the inputs to run it with.
type Case struct {
	Name    string
	Inputs  []Input
	Consts  []Const
	Nodes   []graph.Node
	Outputs []string
	// Allowed lists the status codes the run may end with (OK included when
	// it must succeed); anything else is a failure.
	Allowed []errs.Code
}

// Refusals are the ways a run may legitimately refuse a hostile input
// (GraphTree, GraphAttribute: stored tables — tree node arrays, Interp's
// knots, categories, vocabularies — are validated when their node is
// compiled, at the first run; InvalidCategory: a CategoryIndex fitted to
// refuse unknown categories meets one).
var Refusals = []errs.Code{errs.Shape, errs.ShapeTooLarge, errs.NoMemoryLimit, errs.InvalidValue, errs.DType, errs.GraphTree,
	errs.GraphAttribute, errs.InvalidCategory}

// Build writes the case's model. A graph the checker rejects returns the
// validation error (the generator then skips it: it is not a valid model).
func (c *Case) Build() ([]byte, error) {
	b := format.NewBuilder()
	for _, in := range c.Inputs {
		if err := b.AddInput(in.Name, in.DType, in.Sig); err != nil {
			return nil, err
		}
	}
	for _, k := range c.Consts {
		if err := b.AddTensor(k.Name, k.DType, k.Shape, k.Data); err != nil {
			return nil, err
		}
	}
	for _, n := range c.Nodes {
		b.AddNode(n)
	}
	for _, o := range c.Outputs {
		if err := b.AddOutput(o); err != nil {
			return nil, err
		}
	}
	return b.Bytes()
}

// Tensors returns zeroed run-time inputs, or ok=false when the caller could
// not even hold them (larger than MemoryLimit: not a legal input here).
func (c *Case) Tensors() ([]engine.Tensor, bool) {
	out := make([]engine.Tensor, len(c.Inputs))
	for i, in := range c.Inputs {
		n, ok := dtype.ByteSize(in.DType, in.Shape)
		if in.DType.IsString() { // packed: all-zero offsets are that many empty strings
			elems, _ := dtype.NumElements(in.Shape)
			n, ok = strs.HeaderSize(elems)
		}
		if !ok || n > MemoryLimit {
			return nil, false
		}
		out[i] = engine.NewTensor(in.DType, in.Shape, make([]byte, n))
	}
	return out, true
}

// Run opens the model bytes and runs them once with the case's inputs under
// the hostile limits. It returns what went wrong, or nil. A validation error
// at build time is not a failure (the case is skipped).
func (c *Case) Run(model []byte, threads int) error {
	ins, ok := c.Tensors()
	if !ok {
		return nil
	}
	m, err := engine.OpenBytes(model, engine.Options{Threads: threads, MaxArenaBytes: MemoryLimit})
	if err != nil {
		return fmt.Errorf("%s: a model the builder wrote does not open: %w", c.Name, err)
	}
	defer m.Close()
	outs := make([]engine.Tensor, len(m.Outputs()))
	alloc := func(_ int, _ *engine.Tensor, n int64) ([]byte, error) { return make([]byte, n), nil }
	start := time.Now()
	err = m.Run(ins, outs, nil, engine.RunOptions{Timeout: RunTimeout}, alloc)
	took := time.Since(start)
	code := errs.CodeOf(err)
	if code.Primary() == errs.Cancelled {
		return fmt.Errorf("%s: the run did not finish in %v (a loop without end?): %v", c.Name, RunTimeout, err)
	}
	allowed := c.Allowed
	if allowed == nil {
		allowed = append([]errs.Code{errs.OK}, Refusals...)
	}
	if !slices.Contains(allowed, code) && !slices.Contains(allowed, code.Primary()) && !dataShaped(err) {
		return fmt.Errorf("%s: ended with %v after %v; allowed: %v", c.Name, err, took, allowed)
	}
	return nil
}

// dataShaped reports the planner's refusal of a graph in which a shape
// (Pad's pads, Range's bounds, ...) is read from input data rather than
// computed from shapes: a valid model that no input can run. It has no code
// of its own, so the message tells it from other unsupported features.
func dataShaped(err error) bool {
	return errs.CodeOf(err) == errs.UnsupportedFeature && strings.Contains(err.Error(), "depends on the values of input data")
}
