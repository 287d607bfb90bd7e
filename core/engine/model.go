// Package engine runs validated MLE graphs on the CPU. A Model is immutable
// and shared by threads; a Session holds per-thread state (arena, plans) and
// is used by one goroutine at a time.
package engine

import (
	"crypto/ed25519"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/core/par"
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
	// Serve holds the serving settings (Model.SetServeOptions changes them).
	Serve ServeOptions
	// NoFusion runs every node as its own step. Results are the same bit
	// for bit; it is there to compare and to measure what fusion gives.
	NoFusion bool
	// NoFold runs nodes whose inputs are all constants on every run
	// instead of once (fold.go): the same bits, for comparison.
	NoFold bool
	// Key decrypts an encrypted file (32 bytes).
	Key []byte
	// TrustedKeys and RequireSignature: see format.OpenOptions.
	TrustedKeys      []ed25519.PublicKey
	RequireSignature bool
	// SkipPolicy opens a model whose access policy refuses this process
	// (tools that inspect it; see format.OpenOptions).
	SkipPolicy bool
}

func (o *Options) formatOptions() format.OpenOptions {
	return format.OpenOptions{Verify: o.Verify, ReadAll: o.ReadAll, Key: o.Key, TrustedKeys: o.TrustedKeys, RequireSignature: o.RequireSignature,
		SkipPolicy: o.SkipPolicy}
}

// MaxThreads caps Options.Threads.
const MaxThreads = 1024

// MaxSessions caps Options.MaxSessions.
const MaxSessions = 1 << 16

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
	backend   Backend
	consts    []Buf    // by value id: constants on the backend, zero otherwise
	constIDs  []int    // the value ids of constants
	storedIDs []int    // the value ids of stored constants
	stored    [][]byte // by value id: a stored constant's element bytes (loadConstants)
	loadOnce  sync.Once
	loadErr   error
	nodes     []nodeState // by node index: the compiled kernel
	strs      modelStrings
	sessions  sessionPool
	fuseOnce  sync.Once
	fusion    fusion
	noFusion  bool
	fold      foldState
	noFold    bool
	maxMemory int64
	refs      atomic.Int64
	closed    atomic.Bool
	closeMu   sync.Mutex
}

// check validates the options before anything is opened.
func (o *Options) check() error {
	if o.Threads < 0 || o.Threads > MaxThreads {
		return errs.New(errs.InvalidOptions, "threads must be 0 (all CPUs) to %d, got %d", MaxThreads, o.Threads)
	}
	if o.MaxArenaBytes < 0 {
		return errs.New(errs.InvalidOptions, "MaxArenaBytes must be >= 0, got %d", o.MaxArenaBytes)
	}
	if err := o.Serve.check(); err != nil {
		return err
	}
	return checkDevice(o.Device)
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
	if err := opts.check(); err != nil {
		return nil, err
	}
	f, err := format.Open(path, opts.formatOptions())
	if err != nil {
		return nil, err
	}
	return newModel(f, opts)
}

// OpenBytes opens a model held in memory. The bytes are copied when they are
// not 64-byte aligned; otherwise they must not change while the model lives.
func OpenBytes(b []byte, opts Options) (*Model, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	f, err := format.Parse(b, opts.formatOptions())
	if err != nil {
		return nil, err
	}
	return newModel(f, opts)
}

// OpenOwned opens a model held in memory from osmem.Alloc; the Model takes
// the buffer over and frees it when the last of it is released.
func OpenOwned(buf osmem.Buffer, opts Options) (*Model, error) {
	if err := opts.check(); err != nil {
		osmem.Free(&buf)
		return nil, err
	}
	f, err := format.ParseOwned(buf, opts.formatOptions())
	if err != nil {
		return nil, err
	}
	return newModel(f, opts)
}

func newModel(f *format.File, opts Options) (*Model, error) {
	threads := opts.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	m := &Model{file: f, g: f.Checked, maxMemory: opts.MaxArenaBytes, noFusion: opts.NoFusion, noFold: opts.NoFold}
	m.sessions.max = opts.Serve.MaxSessions
	if m.sessions.max == 0 {
		m.sessions.max = runtime.NumCPU()
	}
	if m.maxMemory == 0 {
		m.maxMemory = DefaultMaxMemory()
	}
	m.backend = cpu
	m.consts = make([]Buf, len(m.g.Values))
	m.stored = make([][]byte, len(m.g.Values))
	for id, v := range m.g.Values {
		if v.Kind == graph.KindConstant {
			m.constIDs = append(m.constIDs, id)
			m.storedIDs = append(m.storedIDs, id)
		}
	}
	m.nodes = make([]nodeState, len(m.g.Nodes))
	m.pool = kernels.NewPoolSpin(threads, opts.Serve.spin())
	m.refs.Store(1)
	return m, nil
}

// loadConstants makes the stored constants usable, once, when the first
// plan is made (not at open, which stays O(1) in the weights): a tensor of
// an encrypted file is decrypted, a signed one's digest checked, a
// compressed or quantized one decoded (format.File.Load).
func (m *Model) loadConstants() error {
	m.loadOnce.Do(func() {
		// Decoded tensors are memory the model owns, which a small file can
		// declare in gigabytes: they count against the memory limit.
		if n := m.file.DecodedBytes(); n > uint64(m.maxMemory) {
			m.loadErr = errs.New(errs.NoMemoryLimit, "decoding the model's compressed or quantized tensors needs %d bytes; the memory limit is %d", n, m.maxMemory)
			return
		}
		m.loadErr = par.For(len(m.storedIDs), func(k int) error {
			id := m.storedIDs[k]
			ti, _ := m.file.TensorIndex(m.g.Values[id].Name)
			data, err := m.file.Load(ti)
			if err == nil {
				m.stored[id] = data
				m.consts[id], err = m.backend.Constant(data)
			}
			return errs.Prefix(err, "constant %q", m.g.Values[id].Name)
		})
	})
	return m.loadErr
}

// nodeState is one node's kernel, compiled on the node's first use so that
// opening a model costs nothing per weight byte.
type nodeState struct {
	once     sync.Once
	kernel   *Kernel
	compiled Compiled // nil for views with nothing else to compute
	err      error
}

// compiled returns node ni's kernel, compiling it on first use. Sessions
// planning concurrently share one compilation.
func (m *Model) compiled(ni int) (*Kernel, Compiled, error) {
	ns := &m.nodes[ni]
	ns.once.Do(func() {
		n := &m.g.Nodes[ni]
		key := kernelKey(m.g, n, m.backend.Name())
		k, ok := LookupKernel(key)
		if !ok {
			ns.err = errs.New(errs.UnsupportedFeature, "node %s %q: no %s kernel for %s in this build", n.Op, n.Name, key.Backend, key.DType)
			return
		}
		ns.kernel = k
		if k.Compile == nil {
			return
		}
		c := CompileCtx{Node: n, Backend: m.backend, In: make([]*graph.ValueInfo, len(n.In)), consts: make([][]byte, len(n.In))}
		for j, id := range n.In {
			if id < 0 {
				continue
			}
			v := &m.g.Values[id]
			c.In[j] = &graph.ValueInfo{Name: v.Name, DType: v.DType, Shape: v.Shape}
			if m.isConst(id) { // stored, or folded (folding compiles before it runs)
				c.consts[j], c.In[j].Shape = m.constData(id)
			}
		}
		for _, id := range n.Out {
			info := graph.ValueInfo{}
			if id >= 0 {
				v := &m.g.Values[id]
				info = graph.ValueInfo{Name: v.Name, DType: v.DType, Shape: v.Shape}
			}
			c.Out = append(c.Out, info)
		}
		ns.compiled, ns.err = k.Compile(&c)
		if ns.err != nil {
			ns.err = errs.Prefix(ns.err, "compiling node %s %q", n.Op, n.Name)
		}
	})
	return ns.kernel, ns.compiled, ns.err
}

// groups returns the model's fusion groups, found on first use (after
// folding: folded nodes join no group).
func (m *Model) groups() *fusion {
	fs := m.folded()
	m.fuseOnce.Do(func() {
		if m.noFusion {
			m.fusion = fusion{of: make([]int32, len(m.g.Nodes))}
			for i := range m.fusion.of {
				m.fusion.of[i] = -1
			}
			return
		}
		m.fusion = findGroups(m.g, m.isConst, fs.node)
	})
	return &m.fusion
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
	m.closeSessions()
	return m.release()
}

func (m *Model) release() error {
	if m.refs.Add(-1) != 0 {
		return nil
	}
	m.pool.Close()
	m.fold.free(m.backend)
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

// SessionOptions configure one session.
type SessionOptions struct {
	// MaxMemory caps the session's memory for a run (see
	// Options.MaxArenaBytes); 0 means the model's limit.
	MaxMemory int64
	// MaxPlans bounds the cached plans, one per distinct set of input
	// shapes; 0 means 16.
	MaxPlans int
}

// MaxPlansLimit caps SessionOptions.MaxPlans.
const MaxPlansLimit = 1 << 12

// NewSession returns a session for running the model from one goroutine at a time.
func (m *Model) NewSession() (*Session, error) {
	return m.NewSessionWith(SessionOptions{})
}

// NewSessionWith is NewSession with options.
func (m *Model) NewSessionWith(opts SessionOptions) (*Session, error) {
	if opts.MaxMemory < 0 {
		return nil, errs.New(errs.InvalidOptions, "MaxMemory must be >= 0, got %d", opts.MaxMemory)
	}
	if opts.MaxPlans < 0 || opts.MaxPlans > MaxPlansLimit {
		return nil, errs.New(errs.InvalidOptions, "MaxPlans must be 0 (the default, %d) to %d, got %d", defaultMaxPlans, MaxPlansLimit, opts.MaxPlans)
	}
	if !acquire(&m.refs, &m.closed) {
		return nil, errs.New(errs.BadHandle, "model is closed")
	}
	s := &Session{m: m, plans: map[uint64]*plan{}, maxMemory: m.maxMemory, maxPlans: defaultMaxPlans}
	if opts.MaxMemory > 0 {
		s.maxMemory = opts.MaxMemory
	}
	if opts.MaxPlans > 0 {
		s.maxPlans = opts.MaxPlans
	}
	return s, nil
}

// Tensor is a caller's tensor: an input to Run, or an output buffer that Run
// fills. Data holds little-endian elements; for outputs, len(Data) is the
// capacity and Run reslices it to the bytes written.
type Tensor struct {
	DType dtype.DType
	Rank  int
	Dims  [dtype.MaxRank]int64
	Data  []byte
	// NBytes is set on outputs by a run: the bytes the result takes, also
	// when the buffer was too small (errs.BufferTooSmall). For strings
	// that is their packed size, known only once the run is done.
	NBytes int64
}

// Shape returns the tensor's dimensions.
func (t *Tensor) Shape() []int64 { return t.Dims[:t.Rank] }

// NewTensor returns a Tensor with the given type and shape over data.
func NewTensor(dt dtype.DType, shape []int64, data []byte) Tensor {
	t := Tensor{DType: dt, Rank: len(shape), Data: data}
	copy(t.Dims[:], shape)
	return t
}
