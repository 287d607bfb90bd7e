// Package engine runs validated MLE graphs on the CPU. A Model is immutable
// and shared by threads; a Session holds per-thread state (arena, plans) and
// is used by one goroutine at a time.
package engine

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/kernels"
)

// Options control how a model is opened and run.
type Options struct {
	Verify  bool   // check every CRC at open
	ReadAll bool   // read the file instead of mapping it
	Threads int    // intra-op threads; 0 = runtime.NumCPU()
	Device  string // "" or "cpu"; "cuda" is not in this build
	// MaxArenaBytes caps the memory a session allocates for a run (arena
	// with kernel scratch, staging copies, outputs it allocates); 0 means
	// DefaultMaxMemory(). Runs that would need more fail with
	// errs.NoMemoryLimit before allocating.
	MaxArenaBytes int64
}

// MaxThreads caps Options.Threads.
const MaxThreads = 1024

// DefaultMaxArenaBytes is the largest default memory limit of a session.
const DefaultMaxArenaBytes = 16 << 30

// DefaultMaxMemory returns the default memory limit of a session:
// DefaultMaxArenaBytes, or 3/4 of what this process may use if that is
// less (physical memory, cgroup limit, RLIMIT_AS, RLIMIT_DATA).
func DefaultMaxMemory() int64 {
	if l := osmem.Limit(); l > 0 {
		return min(DefaultMaxArenaBytes, l/4*3)
	}
	return DefaultMaxArenaBytes
}

// Model is an opened model: the file, its checked graph and views of its
// weights. It is safe for concurrent use. The file stays open until Close
// has been called and every Session is closed.
type Model struct {
	file      *format.File
	g         *graph.Checked
	pool      *kernels.Pool
	consts    [][]byte // by value id: stored bytes of constants, nil otherwise
	live      []bool   // by node index: the node contributes to an output
	maxMemory int64
	refs      atomic.Int64
	closed    atomic.Bool
	closeMu   sync.Mutex
}

func checkDevice(d string) error {
	switch strings.ToLower(d) {
	case "", "cpu":
		return nil
	case "cuda", "gpu":
		return errs.New(errs.UnsupportedDevice, "device %q: MLE was built without CUDA", d)
	}
	return errs.New(errs.InvalidOptions, "unknown device %q (want \"cpu\")", d)
}

// Open opens and validates the model at path.
func Open(path string, opts Options) (*Model, error) {
	if err := checkDevice(opts.Device); err != nil {
		return nil, err
	}
	f, err := format.Open(path, format.OpenOptions{Verify: opts.Verify, ReadAll: opts.ReadAll})
	if err != nil {
		return nil, err
	}
	return newModel(f, opts)
}

// OpenBytes opens a model held in memory. The bytes are copied when they are
// not 64-byte aligned; otherwise they must not change while the model lives.
func OpenBytes(b []byte, opts Options) (*Model, error) {
	if err := checkDevice(opts.Device); err != nil {
		return nil, err
	}
	f, err := format.Parse(b, format.OpenOptions{Verify: opts.Verify})
	if err != nil {
		return nil, err
	}
	return newModel(f, opts)
}

// OpenOwned opens a model held in memory from osmem.Alloc; the Model takes
// the buffer over and frees it when the last of it is released.
func OpenOwned(buf osmem.Buffer, opts Options) (*Model, error) {
	if err := checkDevice(opts.Device); err != nil {
		osmem.Free(&buf)
		return nil, err
	}
	f, err := format.ParseOwned(buf, format.OpenOptions{Verify: opts.Verify})
	if err != nil {
		return nil, err
	}
	return newModel(f, opts)
}

func newModel(f *format.File, opts Options) (*Model, error) {
	if opts.Threads < 0 || opts.Threads > MaxThreads {
		_ = f.Close()
		return nil, errs.New(errs.InvalidOptions, "threads must be 0 (all CPUs) to %d, got %d", MaxThreads, opts.Threads)
	}
	threads := opts.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	if opts.MaxArenaBytes < 0 {
		_ = f.Close()
		return nil, errs.New(errs.InvalidOptions, "MaxArenaBytes must be >= 0, got %d", opts.MaxArenaBytes)
	}
	m := &Model{file: f, g: f.Checked, maxMemory: opts.MaxArenaBytes}
	if m.maxMemory == 0 {
		m.maxMemory = DefaultMaxMemory()
	}
	m.consts = make([][]byte, len(m.g.Values))
	for id, v := range m.g.Values {
		if v.Kind == graph.KindConstant {
			i, _ := f.TensorIndex(v.Name)
			m.consts[id] = f.TensorData(i)
		}
	}
	m.pool = kernels.NewPool(threads)
	m.refs.Store(1)
	return m, nil
}

// liveNodes marks the nodes whose results reach the given outputs (value ids).
func liveNodes(g *graph.Checked, outputs []int) []bool {
	live := make([]bool, len(g.Nodes))
	need := make([]bool, len(g.Values))
	for _, o := range outputs {
		need[o] = true
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := &g.Nodes[i]
		for _, o := range n.Out {
			if o >= 0 && need[o] {
				live[i] = true
			}
		}
		if live[i] {
			for _, in := range n.In {
				if in >= 0 {
					need[in] = true
				}
			}
		}
	}
	return live
}

// acquire takes a reference unless the object is closed or already released
// (a plain Add could resurrect an object whose last reference just went).
func acquire(refs *atomic.Int64, closed *atomic.Bool) bool {
	for {
		r := refs.Load()
		if r <= 0 || closed.Load() {
			return false
		}
		if refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// Close releases the caller's reference. The mapping is released when the
// last Session closes. Close is idempotent.
func (m *Model) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	return m.release()
}

func (m *Model) release() error {
	if m.refs.Add(-1) != 0 {
		return nil
	}
	m.pool.Close()
	return m.file.Close()
}

// File returns the underlying validated file.
func (m *Model) File() *format.File { return m.file }

// Graph returns the checked graph.
func (m *Model) Graph() *graph.Checked { return m.g }

// Inputs returns the graph's input signature.
func (m *Model) Inputs() []graph.ValueInfo { return m.file.Graph.Inputs }

// Outputs returns the graph's output signature.
func (m *Model) Outputs() []graph.ValueInfo { return m.file.Graph.Outputs }

// MaxMemory returns the memory limit of the model's sessions.
func (m *Model) MaxMemory() int64 { return m.maxMemory }

// Threads returns the size of the model's worker pool.
func (m *Model) Threads() int { return m.pool.Size() }

// NewSession returns a session for running the model from one goroutine at a time.
func (m *Model) NewSession() (*Session, error) {
	if !acquire(&m.refs, &m.closed) {
		return nil, errs.New(errs.BadHandle, "model is closed")
	}
	return &Session{m: m, plans: map[uint64]*plan{}}, nil
}

// Tensor is a caller's tensor: an input to Run, or an output buffer that Run
// fills. Data holds little-endian elements; for outputs, len(Data) is the
// capacity and Run reslices it to the bytes written.
type Tensor struct {
	DType dtype.DType
	Rank  int
	Dims  [dtype.MaxRank]int64
	Data  []byte
}

// Shape returns the tensor's dimensions.
func (t *Tensor) Shape() []int64 { return t.Dims[:t.Rank] }

// NewTensor returns a Tensor with the given type and shape over data.
func NewTensor(dt dtype.DType, shape []int64, data []byte) Tensor {
	t := Tensor{DType: dt, Rank: len(shape), Data: data}
	copy(t.Dims[:], shape)
	return t
}
