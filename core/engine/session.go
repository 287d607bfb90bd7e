package engine

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
	"github.com/mle-runtime/mle/kernels"
)

// defaultMaxPlans bounds the per-session plan cache (one plan per distinct
// set of input shapes) unless SessionOptions says otherwise; past it the
// cache starts over.
const defaultMaxPlans = 16

// maxPlanNodes bounds the cached plans' total size in steps: a plan costs a
// few hundred bytes of Go memory per node, so a 100,000-node graph fed many
// shapes must not keep 16 of them (hundreds of MB from a 4 MB file).
const maxPlanNodes = 1 << 19

// Session runs a model. It owns an arena sized by the planner and caches a
// plan per input-shape set, so that a repeated run allocates nothing. A
// Session must be used by one goroutine at a time; concurrent use is
// detected and refused with errs.Busy.
//
// The arena and staging copies are mapped from the operating system
// (package osmem): they never count toward the Go heap, and a machine out of
// memory gives errs.NoMemorySystem. Together they stay within the model's
// memory limit.
type Session struct {
	m       *Model
	plans   map[uint64]*plan
	planSz  int // total steps of the cached plans
	arena   Buf
	bufs    []Buf    // by value id, for the current run
	staging []Buf    // by input index: the backend's copies of inputs (of strings: references)
	strSrc  [][]byte // the run's string sources: the model's, then the inputs' (strings.go)
	worker  kernels.Worker
	stop    kernels.Stop
	ctx     RunCtx          // kept here so passing it to executors does not allocate
	times   []time.Duration // by step: this run's times, when profiled
	busy    atomic.Bool
	closed  bool
	// maxMemory is the session's memory limit; maxPlans its plan cache's.
	maxMemory int64
	maxPlans  int
}

// Close releases the session's memory and its reference to its model.
func (s *Session) Close() error {
	if !s.busy.CompareAndSwap(false, true) {
		return errs.New(errs.Busy, "session is in use by another thread")
	}
	defer s.busy.Store(false)
	if s.closed {
		return nil
	}
	s.closed = true
	s.release()
	s.plans, s.bufs, s.staging = nil, nil, nil
	return s.m.release()
}

// release frees the arena and the staging copies.
func (s *Session) release() {
	be := s.m.backend
	be.Free(&s.arena)
	for i := range s.staging {
		be.Free(&s.staging[i])
	}
}

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

func (s *Session) enter() error {
	if !s.busy.CompareAndSwap(false, true) {
		return errs.New(errs.Busy, "session is in use by another thread; use one session per thread")
	}
	if s.closed {
		s.busy.Store(false)
		return errs.New(errs.BadHandle, "session is closed")
	}
	return nil
}

// guard turns a memory fault or any other panic during a run into an error,
// so a run never crashes its host. A fault is blamed on whoever owns the
// address: a caller's buffer (errs.InvalidBuffer, naming the tensor) or the
// model's mapped file (errs.IOFault: it was truncated under us).
func (s *Session) guard(err *error, c callerBuffers) {
	v := recover()
	if v == nil {
		return
	}
	fe, ok := v.(interface{ Addr() uintptr })
	if !ok {
		*err = errs.New(errs.Internal, "panic during run: %v\n%s", v, debug.Stack())
		return
	}
	addr := fe.Addr()
	for i := range c.in {
		if within(addr, c.in[i].Data) {
			*err = errs.New(errs.InvalidBuffer, "input %q: reading its buffer faulted at %#x: it holds fewer bytes than its nbytes says", s.m.Inputs()[i].Name, addr)
			return
		}
	}
	for i := range c.out {
		if within(addr, c.out[i].Data) {
			o := i
			if c.which != nil {
				o = c.which[i]
			}
			*err = errs.New(errs.InvalidBuffer, "output %q: writing its buffer faulted at %#x: it holds fewer bytes than its nbytes says", s.m.Outputs()[o].Name, addr)
			return
		}
	}
	if within(addr, s.m.file.Bytes()) {
		*err = errs.New(errs.IOFault, "memory fault at %#x reading the model's weights: the file was truncated while in use", addr)
		return
	}
	*err = errs.New(errs.InvalidBuffer, "memory fault at %#x outside the model and the session: a caller's buffer is shorter than declared", addr)
}

// within reports whether addr lies in b.
func within(addr uintptr, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return addr >= p && addr-p < uintptr(len(b))
}

// callerBuffers are a run's caller memory, to say whose memory faulted.
// They are passed down, not kept in the Session, so that callers' slices
// do not escape to the heap.
type callerBuffers struct {
	in, out []Tensor
	which   []int
}

// do runs fn as the session's only user, with faults and panics turned into
// errors.
func (s *Session) do(c callerBuffers, fn func() error) (err error) {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.busy.Store(false)
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer s.guard(&err, c)
	return fn()
}

// RunOptions bound one run.
type RunOptions struct {
	// Timeout > 0 stops the run with errs.CancelledDeadline once it has
	// taken that long.
	Timeout time.Duration
	// Cancel, when set, stops the run with errs.Cancelled soon after it
	// becomes non-zero (any goroutine or thread may set it).
	Cancel *atomic.Int32
	// Profile, when set, receives the run's time in each step.
	Profile *Profile
}

// Run executes the model. inputs are in graph-input order; outputs, in
// graph-output order, receive dtype, shape and data (their Data must have
// room; see errs.BufferTooSmall).
func (s *Session) Run(inputs, outputs []Tensor) error {
	return s.RunWith(inputs, outputs, nil, RunOptions{})
}

// RunSelected computes only the graph outputs at the indices in which (nil:
// all, in order): outputs[i] receives output which[i], and nodes that feed
// none of them do not run.
func (s *Session) RunSelected(inputs, outputs []Tensor, which []int) error {
	return s.RunWith(inputs, outputs, which, RunOptions{})
}

// RunWith is RunSelected with a timeout and a cancel flag. Output buffers
// must not overlap each other or any input (errs.InvalidValue): an output
// may be a view of an input.
func (s *Session) RunWith(inputs, outputs []Tensor, which []int, opts RunOptions) error {
	return s.RunAlloc(inputs, outputs, which, opts, nil)
}

// RunAlloc is RunWith that also allocates: in one pass it finds the output
// shapes (a cached plan), sets every selected output's dtype and shape, has
// alloc provide the buffer of each output given with nil Data (nil alloc:
// none may be nil), and runs.
func (s *Session) RunAlloc(inputs, outputs []Tensor, which []int, opts RunOptions, alloc AllocFunc) error {
	if opts.Timeout < 0 {
		return errs.New(errs.InvalidOptions, "timeout %v is negative", opts.Timeout)
	}
	return s.do(callerBuffers{inputs, outputs, which}, func() error {
		p, err := s.planFor(inputs, which, true)
		if err != nil {
			return err
		}
		if alloc != nil {
			if err := s.allocOutputs(p, outputs, alloc); err != nil {
				return err
			}
		}
		if err := s.fillOutputs(p, outputs, false, nil); err != nil {
			return err
		}
		if err := checkOverlap(s.m, inputs, outputs); err != nil {
			return err
		}
		defer s.forget(p)
		s.worker.Stop = nil
		if opts.Cancel != nil || opts.Timeout > 0 {
			s.stop.Reset(opts.Cancel, opts.Timeout)
			s.worker.Stop = &s.stop
		}
		s.times = s.times[:0]
		if opts.Profile != nil {
			s.times = slices.Grow(s.times, len(p.steps))[:len(p.steps)]
			clear(s.times)
		}
		if err := s.execute(p, inputs); err != nil {
			return err
		}
		if err := s.fillOutputs(p, outputs, true, alloc); err != nil {
			return err
		}
		if opts.Profile != nil {
			opts.Profile.add(s.m, p, s.times)
		}
		return nil
	})
}

// allocOutputs sizes the outputs that have no buffer, checks them against
// the memory limit with the session's own memory, and has alloc provide them.
func (s *Session) allocOutputs(p *plan, outputs []Tensor, alloc AllocFunc) error {
	if len(outputs) != len(p.sel) {
		return errs.New(errs.InvalidValue, "%d outputs selected; %d buffers given", len(p.sel), len(outputs))
	}
	var total int64
	for i, o := range p.sel {
		if id := s.m.g.Outputs[o]; outputs[i].Data == nil && !s.m.g.Values[id].DType.IsString() {
			total += p.bytes[id]
		}
	}
	if held := s.held(); total > s.maxMemory-held {
		return errs.New(errs.NoMemoryLimit, "the outputs need %d bytes and the session holds %d; the memory limit is %d", total, held, s.maxMemory)
	}
	for i, o := range p.sel {
		t := &outputs[i]
		id := s.m.g.Outputs[o]
		if t.Data != nil || s.m.g.Values[id].DType.IsString() {
			continue // strings: allocated once packed (fillOutputs)
		}
		t.DType, t.Rank = s.m.g.Values[id].DType, len(p.shapes[id])
		copy(t.Dims[:], p.shapes[id])
		b, err := alloc(i, t, p.bytes[id])
		if err != nil {
			return err
		}
		t.Data = b
	}
	return nil
}

// held returns the bytes the session holds from the system.
func (s *Session) held() int64 {
	n := s.arena.Len
	for i := range s.staging {
		n += s.staging[i].Len
	}
	return n
}

// checkOverlap refuses output buffers that overlap each other or an input.
// The inputs' bytes are summarized as one address span first: an output
// outside it (the usual case) needs no per-input test.
func checkOverlap(m *Model, inputs, outputs []Tensor) error {
	lo, hi := ^uintptr(0), uintptr(0)
	for i := range inputs {
		if b := inputs[i].Data; len(b) > 0 {
			p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
			lo, hi = min(lo, p), max(hi, p+uintptr(len(b)))
		}
	}
	for i := range outputs {
		o := outputs[i].Data
		if len(o) == 0 {
			continue
		}
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(o))); p < hi && lo < p+uintptr(len(o)) {
			for j := range inputs {
				if overlap(o, inputs[j].Data) {
					return errs.New(errs.InvalidValue, "output %d's buffer overlaps input %q: outputs may be views of inputs, so output buffers must not share their memory", i, m.Inputs()[j].Name)
				}
			}
		}
		for j := range outputs[:i] {
			if overlap(o, outputs[j].Data) {
				return errs.New(errs.InvalidValue, "the buffers of outputs %d and %d overlap", j, i)
			}
		}
	}
	return nil
}

func overlap(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(len(b)) && pb < pa+uintptr(len(a))
}

// OutputShapes fills the dtype and shape of the outputs RunSelected would
// give for these inputs (which as there), without running the model.
func (s *Session) OutputShapes(inputs, outputs []Tensor, which []int) error {
	return s.do(callerBuffers{}, func() error {
		p, err := s.planFor(inputs, which, false)
		if err != nil {
			return err
		}
		if len(outputs) != len(p.sel) {
			return errs.New(errs.InvalidValue, "%d outputs selected; %d given", len(p.sel), len(outputs))
		}
		for i, o := range p.sel {
			id := s.m.g.Outputs[o]
			t := &outputs[i]
			t.DType, t.Rank = s.m.g.Values[id].DType, len(p.shapes[id])
			copy(t.Dims[:], p.shapes[id])
		}
		return nil
	})
}

// Memory returns the activation-memory plan for the given input shapes,
// without allocating it.
func (s *Session) Memory(inputs []Tensor) (st MemoryStats, err error) {
	err = s.do(callerBuffers{}, func() error {
		if err := s.checkInputs(inputs, false); err != nil {
			return err
		}
		shapes := make([][]int64, len(inputs))
		for i := range inputs {
			shapes[i] = inputs[i].Shape()
		}
		sel, _ := s.selection(nil)
		p, err := newPlan(s.m, shapes, sel, s.m.pool.Size(), s.maxMemory)
		if err == nil {
			st = p.stats()
		}
		return err
	})
	return st, err
}

// checkInputs validates inputs against the graph signature, and their data
// lengths when needData or when data is given.
func (s *Session) checkInputs(inputs []Tensor, needData bool) error {
	sig := s.m.file.Graph.Inputs
	if len(inputs) != len(sig) {
		return errs.New(errs.InvalidValue, "model takes %d inputs; %d given", len(sig), len(inputs))
	}
	for i := range inputs {
		t := &inputs[i]
		want := sig[i]
		if t.DType != want.DType {
			return errs.New(errs.DType, "input %q: got %s, the model takes %s", want.Name, t.DType, want.DType)
		}
		if t.Rank < 0 || t.Rank > dtype.MaxRank || t.Rank != len(want.Shape) {
			return errs.New(errs.Shape, "input %q: got rank %d shape %v, the model takes %v", want.Name, t.Rank, t.Dims[:max(0, min(t.Rank, dtype.MaxRank))], want.Shape)
		}
		for d := 0; d < t.Rank; d++ {
			if t.Dims[d] < 0 || (want.Shape[d] != graph.Dynamic && t.Dims[d] != want.Shape[d]) {
				return errs.New(errs.Shape, "input %q: got shape %v, the model takes %v (-1 = any size)", want.Name, t.Shape(), want.Shape)
			}
		}
		size, ok := dtype.ByteSize(t.DType, t.Shape())
		if !ok {
			return errs.New(errs.ShapeTooLarge, "input %q: shape %v is larger than any buffer can be", want.Name, t.Shape())
		}
		if t.DType.IsString() { // packed: at least the offsets (checked in full by the run)
			n, _ := dtype.NumElements(t.Shape())
			head, _ := strs.HeaderSize(n)
			if (needData || t.Data != nil) && int64(len(t.Data)) < head {
				return errs.New(errs.InvalidString, "input %q: %d strings need %d bytes of offsets, got %d bytes", want.Name, n, head, len(t.Data))
			}
			continue
		}
		if (needData || t.Data != nil) && int64(len(t.Data)) != size {
			return errs.New(errs.InvalidValue, "input %q: %s%v needs %d bytes of data, got %d", want.Name, t.DType, t.Shape(), size, len(t.Data))
		}
	}
	return nil
}

// planKey hashes the input shapes and the selected outputs (FNV-1a)
// without allocating.
func planKey(inputs []Tensor, which []int) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v int64) {
		h ^= uint64(v)
		h *= 1099511628211
	}
	for i := range inputs {
		mix(int64(inputs[i].Rank))
		for _, d := range inputs[i].Shape() {
			mix(d)
		}
	}
	mix(-1)
	for _, o := range which {
		mix(int64(o))
	}
	return h
}

func (p *plan) matches(inputs []Tensor, which []int) bool {
	if (which == nil) != p.all || (which != nil && !slices.Equal(p.sel, which)) {
		return false
	}
	k := 0
	for i := range inputs {
		if k >= len(p.dims) || p.dims[k] != int64(inputs[i].Rank) {
			return false
		}
		k++
		for _, d := range inputs[i].Shape() {
			if p.dims[k] != d {
				return false
			}
			k++
		}
	}
	return k == len(p.dims)
}

// planFor validates the inputs (their data too, when needData) and returns
// the cached plan for their shapes, making one on first sight. The arena
// grows (from the system) to the plan's size.
func (s *Session) planFor(inputs []Tensor, which []int, needData bool) (*plan, error) {
	if err := s.checkInputs(inputs, needData); err != nil {
		return nil, err
	}
	key := planKey(inputs, which)
	if p, ok := s.plans[key]; ok && p.matches(inputs, which) {
		// The arena may have been released since (a failed allocation).
		return p, s.ensureArena(p)
	}
	sel, err := s.selection(which)
	if err != nil {
		return nil, err
	}
	shapes := make([][]int64, len(inputs))
	for i := range inputs {
		shapes[i] = append([]int64{}, inputs[i].Shape()...)
	}
	p, err := newPlan(s.m, shapes, sel, s.m.pool.Size(), s.maxMemory)
	if err != nil {
		return nil, err
	}
	p.all = which == nil
	if err := s.ensureArena(p); err != nil {
		return nil, err
	}
	if len(s.plans) >= s.maxPlans || s.planSz+len(p.steps) > maxPlanNodes {
		clear(s.plans)
		s.planSz = 0
	}
	s.plans[key] = p
	s.planSz += len(p.steps)
	if s.bufs == nil {
		s.bufs = make([]Buf, len(s.m.g.Values))
		s.staging = make([]Buf, len(inputs))
		s.strSrc = slices.Clone(s.m.strs.src)
	}
	return p, nil
}

// ensureArena grows the arena (from the system) to p's size. On failure the
// session holds no arena; plans stay cached and retry the allocation.
func (s *Session) ensureArena(p *plan) error {
	if s.arena.Len >= p.arena {
		return nil
	}
	// Staging copies are dropped first: they are remade at need.
	s.release()
	a, err := s.m.backend.Alloc(p.arena)
	if err != nil {
		return errs.Prefix(err, "the activation arena")
	}
	s.arena = a
	return nil
}

// selection validates which (graph output indices; nil: all) and returns a
// copy the plan can keep.
func (s *Session) selection(which []int) ([]int, error) {
	n := len(s.m.g.Outputs)
	if which == nil {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	seen := make([]bool, n)
	for _, o := range which {
		if o < 0 || o >= n || seen[o] {
			// Clone: passing which itself to the formatter would make every
			// caller's selection escape to the heap.
			return nil, errs.New(errs.InvalidValue, "output selection %v: indices must be distinct and below %d", slices.Clone(which), n)
		}
		seen[o] = true
	}
	return slices.Clone(which), nil
}

// fillOutputs sets each selected output's dtype and shape; with copyData it
// also copies the results, else it only checks that the buffers are big
// enough. String outputs are sized and packed (and allocated, with alloc)
// only once computed.
func (s *Session) fillOutputs(p *plan, outputs []Tensor, copyData bool, alloc AllocFunc) error {
	g := s.m.g
	if len(outputs) != len(p.sel) {
		return errs.New(errs.InvalidValue, "%d outputs selected; %d buffers given", len(p.sel), len(outputs))
	}
	var short error // the first too-small buffer; every output's shape is set regardless
	for i, sel := range p.sel {
		id := g.Outputs[sel]
		o := &outputs[i]
		need := p.bytes[id]
		isStr := g.Values[id].DType.IsString()
		if !copyData {
			o.DType, o.Rank = g.Values[id].DType, len(p.shapes[id])
			copy(o.Dims[:], p.shapes[id])
			o.NBytes = need
			if isStr {
				o.NBytes = -1 // known once packed
				continue
			}
			if int64(len(o.Data)) < need && short == nil {
				short = errs.New(errs.BufferTooSmall, "output %q needs %d bytes; the buffer holds %d", g.Values[id].Name, need, len(o.Data))
			}
			continue
		}
		if isStr {
			if err := s.stringOutput(o, i, s.bufs[id], alloc); err != nil {
				if errs.CodeOf(err) == errs.BufferTooSmall && short == nil {
					short = errs.Prefix(err, "output %q", g.Values[id].Name)
					continue
				}
				return errs.Prefix(err, "output %q", g.Values[id].Name)
			}
			continue
		}
		if short != nil {
			continue
		}
		if err := s.m.backend.Output(o.Data[:need], s.bufs[id]); err != nil {
			return err
		}
		o.Data = o.Data[:need]
	}
	return short
}

func (s *Session) execute(p *plan, inputs []Tensor) error {
	g, be := s.m.g, s.m.backend
	for i, id := range g.Inputs {
		if inputs[i].DType.IsString() {
			b, err := s.stringInput(i, &inputs[i])
			if err != nil {
				return errs.Prefix(err, "input %q", s.m.Inputs()[i].Name)
			}
			s.bufs[id] = b
			continue
		}
		b, err := be.Input(inputs[i].Data, inputs[i].DType.Size(), &s.staging[i], s.maxMemory-s.held())
		if err != nil {
			return errs.Prefix(err, "input %q", s.m.Inputs()[i].Name)
		}
		s.bufs[id] = b
	}
	for _, id := range s.m.constIDs {
		s.bufs[id] = s.m.consts[id]
	}
	for id, off := range p.offset {
		if off >= 0 {
			s.bufs[id] = be.Slice(s.arena, off, p.bytes[id])
		}
	}
	for id, a := range p.alias {
		if a >= 0 {
			s.bufs[id] = be.Slice(s.bufs[rootOf(p.alias, id)], p.viewOff[id], p.bytes[id])
		}
	}
	x := &s.ctx
	x.Pool, x.Worker, x.strs = s.m.pool, &s.worker, s.strSrc
	stop := s.worker.Stop
	if stop.Stopped() { // a run started with its flag set does no work
		return stopErr(stop, "before its first node", 0, len(p.steps), nil)
	}
	var t0 time.Time
	if len(s.times) > 0 {
		t0 = time.Now()
	}
	for i := range p.steps {
		st := &p.steps[i]
		if st.exec == nil {
			continue
		}
		for j, id := range st.args {
			st.in[j] = Buf{}
			if id >= 0 {
				st.in[j] = s.bufs[id]
			}
		}
		for j, id := range st.res {
			st.out[j] = Buf{}
			if id >= 0 {
				st.out[j] = s.bufs[id]
			}
		}
		if st.scratch > 0 { // few kernels have scratch: keep the others' path bare
			x.Scratch = be.Slice(s.arena, st.scratchOff, st.scratch)
			st.exec.Run(x, st.in, st.out)
			x.Scratch = Buf{}
		} else {
			st.exec.Run(x, st.in, st.out)
		}
		if len(s.times) > 0 {
			t1 := time.Now()
			s.times[i], t0 = t1.Sub(t0), t1
		}
		if x.err != nil {
			err := errs.Prefix(x.err, "node %s %q", st.node.Op, st.node.Name)
			x.err = nil
			return err
		}
		// Polled after each node: a kernel that saw the Stop fire returned
		// early, leaving its output incomplete.
		if stop.Stopped() {
			return stopErr(stop, "in", i+1, len(p.steps), st.node)
		}
	}
	return be.Sync()
}

// stopErr reports a run that stopped in (or before) step i of n.
func stopErr(stop *kernels.Stop, where string, i, n int, at *graph.CNode) error {
	if at != nil {
		where = fmt.Sprintf("%s node %d of %d, %s %q", where, i, n, at.Op, at.Name)
	}
	if stop.Why() == kernels.StopDeadline {
		return errs.New(errs.CancelledDeadline, "the run took longer than its timeout of %v (stopped %s)", stop.Limit(), where)
	}
	return errs.New(errs.Cancelled, "the run was cancelled (stopped %s)", where)
}

// forget drops references to caller memory: it is not ours after Run returns.
func (s *Session) forget(p *plan) {
	clear(s.bufs)
	clear(s.strSrc[s.m.strs.nconst:]) // the inputs' text
	for i := range p.steps {
		clear(p.steps[i].in)
		clear(p.steps[i].out)
	}
}
