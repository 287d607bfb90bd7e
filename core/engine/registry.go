package engine

import (
	"fmt"
	"sort"
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// The op registry: kernels are registered by (op, backend, dtype) and run in
// two phases. Compile runs once per Model and node, on the node's first use
// (so opening stays flat in the weights' size): it may pre-pack constant
// weights or precompute anything that depends only on the model. Bind runs
// once per plan, with concrete shapes, and returns the Executor that runs.
// Adding an op is a schema (core/graph), one kernel file here and a
// Register call in that file's init.

// KernelKey names one registered kernel. DType is the op's type parameter:
// the dtype of the schema's TypeInput.
type KernelKey struct {
	Op      string
	Backend string
	DType   dtype.DType
}

// Kernel is one op's implementation on one backend.
type Kernel struct {
	Op      string
	Backend string
	DTypes  []dtype.DType // the type-parameter values it implements
	// View marks ops whose output 0 is input 0's storage, reinterpreted
	// (Identity, Reshape, ...): the planner aliases the two, and Compile is
	// only called when other outputs need computing (Dropout's mask).
	View bool
	// Compile prepares the node once per Model.
	Compile func(c *CompileCtx) (Compiled, error)
}

// CompileCtx is what Compile sees: the node, its arguments' static types
// and shapes (graph.Dynamic where only known at run time) and the bytes of
// constant inputs.
type CompileCtx struct {
	Node    *graph.CNode
	In      []*graph.ValueInfo // nil for absent optional inputs
	Out     []graph.ValueInfo
	Backend Backend
	consts  [][]byte
}

// Const returns the stored bytes of input i when it is a model constant,
// else nil. They are mapped from the file and must not be written.
func (c *CompileCtx) Const(i int) []byte {
	if i < len(c.consts) {
		return c.consts[i]
	}
	return nil
}

// Compiled is a node prepared for a Model. It is shared by every session
// of the Model, so Bind must not modify it.
type Compiled interface {
	// Bind prepares an executor for concrete shapes. It must allocate
	// nothing proportional to a tensor's size: memory a kernel needs while
	// it runs is asked for with BindCtx.Scratch and comes from the arena.
	Bind(b *BindCtx) (Executor, error)
}

// BindCtx is what Bind sees: concrete argument shapes and the pool size.
type BindCtx struct {
	Node    *graph.CNode
	In      []*graph.ValueInfo
	Out     []graph.ValueInfo
	Threads int
	scratch int64
}

// Scratch reserves n bytes of arena memory that the executor receives as
// RunCtx.Scratch while it runs (64-byte aligned).
func (b *BindCtx) Scratch(n int64) { b.scratch = n }

// Executor runs one bound node on its argument buffers. It is used by one
// session at a time and may keep per-run state in its fields.
type Executor interface {
	Run(x *RunCtx, in, out []Buf)
}

// BindFunc is a Compiled with no per-model state.
type BindFunc func(b *BindCtx) (Executor, error)

// Bind implements Compiled.
func (f BindFunc) Bind(b *BindCtx) (Executor, error) { return f(b) }

// Stateless returns the Compile function of a kernel that needs nothing
// from the model beyond shapes.
func Stateless(bind BindFunc) func(*CompileCtx) (Compiled, error) {
	return func(*CompileCtx) (Compiled, error) { return bind, nil }
}

var registry = struct {
	sync.RWMutex
	m map[KernelKey]*Kernel
}{m: map[KernelKey]*Kernel{}}

// Register adds k for each of its dtypes. Registering a key twice is a
// programming error and is reported as such.
func Register(k Kernel) error {
	if k.Op == "" || k.Backend == "" || len(k.DTypes) == 0 || (k.Compile == nil && !k.View) {
		return errs.New(errs.Internal, "kernel registration %q on %q is incomplete", k.Op, k.Backend)
	}
	registry.Lock()
	defer registry.Unlock()
	for _, dt := range k.DTypes {
		key := KernelKey{k.Op, k.Backend, dt}
		if _, dup := registry.m[key]; dup {
			return errs.New(errs.Internal, "kernel %v is registered twice", key)
		}
	}
	kk := k
	for _, dt := range k.DTypes {
		registry.m[KernelKey{k.Op, k.Backend, dt}] = &kk
	}
	return nil
}

// mustRegister is Register for this package's init functions, whose
// registrations are fixed: a failure is a bug found by every test run.
func mustRegister(k Kernel) {
	if err := Register(k); err != nil {
		panic(err)
	}
}

// LookupKernel returns the kernel registered for key.
func LookupKernel(key KernelKey) (*Kernel, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.m[key]
	return k, ok
}

// RegisteredKernels lists every registered key, sorted.
func RegisteredKernels() []KernelKey {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]KernelKey, 0, len(registry.m))
	for k := range registry.m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		if a.Backend != b.Backend {
			return a.Backend < b.Backend
		}
		return a.DType < b.DType
	})
	return out
}

func (k KernelKey) String() string { return fmt.Sprintf("%s/%s/%s", k.Op, k.Backend, k.DType) }

// kernelKey returns the registry key of node n on backend be.
func kernelKey(g *graph.Checked, n *graph.CNode, be string) KernelKey {
	key := KernelKey{Op: n.Op, Backend: be}
	if i := n.Schema.TypeInput; i < len(n.In) && n.In[i] >= 0 {
		key.DType = g.Values[n.In[i]].DType
	}
	return key
}
