// Package kernels holds MLE's CPU math. Kernels take plain slices and sizes;
// they know nothing of graphs, files or sessions.
package kernels

import (
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Task is one data-parallel loop body. RunChunk is called once for every
// chunk index in [0, n) of a Pool.For call, possibly from several goroutines.
// Implementations are kept in long-lived structs (a Worker's slot or a plan)
// so that dispatching a loop allocates nothing.
type Task interface {
	RunChunk(chunk int, w *Worker)
}

// Worker is the scratch memory of one goroutine taking part in a loop. A
// Worker is used by one goroutine at a time; tasks may use its buffers freely
// during RunChunk.
type Worker struct {
	// Stop, when set, is polled between chunks of every loop this Worker
	// dispatches; chunks not yet started when it fires are skipped.
	Stop   *Stop
	f32    []float32
	f64    []float64
	inPool bool // a pool goroutine: nested For calls run inline
	busy   bool // dispatching a loop: nested For calls on it run inline
	call   call // the loop this Worker's goroutine is dispatching
	gemm   gemmScratch
}

// Float32s returns a scratch slice of length n, reusing earlier memory.
func (w *Worker) Float32s(n int) []float32 {
	if cap(w.f32) < n {
		w.f32 = make([]float32, n)
	}
	return w.f32[:n]
}

// Float64s returns a scratch slice of length n, reusing earlier memory.
func (w *Worker) Float64s(n int) []float64 {
	if cap(w.f64) < n {
		w.f64 = make([]float64, n)
	}
	return w.f64[:n]
}

// call is the shared state of one For invocation.
type call struct {
	task Task
	stop *Stop
	// span packs the chunks not yet claimed, [front, back), as
	// back<<32 | front: the caller claims from the front, helpers from the
	// back (see work).
	span atomic.Uint64
	wg   sync.WaitGroup
	// left counts the helpers still running; each decrements it after
	// its wg.Done, as its last access to the call, so the caller may
	// reuse the call once left is 0.
	left  atomic.Int32
	mu    sync.Mutex
	panic any
	// claims are the helper places offered to spinning workers; each
	// spinner that takes one joins the loop.
	claims atomic.Int32
}

// work runs chunks of c until none is left: the caller's from the front,
// a helper's from the back. Loops split their data the same way step after
// step (channel blocks, rows), so on two threads the caller keeps taking
// the low part of each tensor and the helper the high part, and a step
// mostly reads what the same core wrote in the step before, from its own
// cache: with chunks taken in one order by whoever came first, half of
// mobilenet_v3_small's small steps read across cores and ran slower on
// two threads than on one.
func (c *call) work(w *Worker, fromBack bool) {
	for !c.stop.Stopped() {
		s := c.span.Load()
		front, back := s&math.MaxUint32, s>>32
		if front >= back {
			return
		}
		i, rest := front, s+1
		if fromBack {
			i, rest = back-1, s-1<<32
		}
		if c.span.CompareAndSwap(s, rest) {
			c.task.RunChunk(int(i), w)
		}
	}
}

func (c *call) recordPanic(v any) {
	c.mu.Lock()
	if c.panic == nil {
		c.panic = v
	}
	c.mu.Unlock()
}

// Pool runs data-parallel loops on a fixed set of goroutines. A worker that
// finishes a loop spins for a while (Spin) watching for the next one before
// it parks on a channel: waking a parked goroutine costs 0.1-0.3 ms on a
// loaded VM, longer than many loops take, while a spinner joins within a
// microsecond. A Pool is safe for concurrent use: loops from several
// callers interleave on the same workers.
type Pool struct {
	size     int
	spin     atomic.Int64 // time.Duration
	jobs     chan *call
	once     sync.Once            // closes jobs
	started  sync.Once            // starts the workers
	spinning atomic.Int32         // workers spinning now
	offer    atomic.Pointer[call] // a loop offering places to spinners
	closed   atomic.Bool
}

// DefaultSpin is how long an idle worker spins before parking: long enough
// to span the serial stretches between the loops of one run (a 58 µs
// layer too small to split, then the caller's own work between runs:
// 100 µs missed them and every loop paid a wake-up), short enough that an
// idle process goes quiet within a millisecond. OpenMP runtimes spin
// about as long by default (libgomp) or far longer (Intel's 200 ms).
const DefaultSpin = time.Millisecond

// MaxSpin caps the spin time.
const MaxSpin = 100 * time.Millisecond

// NewPool returns a pool whose loops use up to size goroutines, the caller's
// included, spinning DefaultSpin. size <= 0 means runtime.NumCPU().
func NewPool(size int) *Pool { return NewPoolSpin(size, DefaultSpin) }

// NewPoolSpin is NewPool with idle workers spinning for spin (0: never,
// at most MaxSpin) before they park.
func NewPoolSpin(size int, spin time.Duration) *Pool {
	if size <= 0 {
		size = runtime.NumCPU()
	}
	p := &Pool{size: size, jobs: make(chan *call, 4*size)}
	p.SetSpin(spin)
	return p
}

// start starts the workers, on the first loop that wants helpers: opening
// a model then costs no goroutines, no thread wake-ups and no spinning
// until it runs something that is split.
func (p *Pool) start() {
	for i := 1; i < p.size; i++ {
		go p.worker()
	}
}

// SetSpin changes how long idle workers spin before parking (0: never, at
// most MaxSpin); workers pick it up when they next go idle.
func (p *Pool) SetSpin(d time.Duration) {
	if p != nil {
		p.spin.Store(int64(min(max(d, 0), MaxSpin)))
	}
}

// Hot reports whether a worker is spinning now, so that a loop started
// at once would be joined within a microsecond rather than after a
// wake-up: cost models may then split smaller loops.
func (p *Pool) Hot() bool { return p != nil && p.spinning.Load() > 0 }

// Size returns the number of goroutines a loop may use, the caller's included.
func (p *Pool) Size() int {
	if p == nil {
		return 1
	}
	return p.size
}

// Close stops the worker goroutines. Loops started afterwards run on the
// caller alone.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.jobs)
	})
}

func (p *Pool) worker() {
	// Faults on mapped weights must become panics we can report, not SIGBUS.
	debug.SetPanicOnFault(true)
	w := &Worker{inPool: true}
	for {
		if c := p.spinForWork(); c != nil {
			p.help(c, w)
			continue
		}
		c, ok := <-p.jobs
		if !ok {
			return
		}
		p.help(c, w)
	}
}

// spinForWork watches the offer slot for up to p.spin and returns a loop
// whose place it claimed, or nil.
func (p *Pool) spinForWork() *call {
	spin := time.Duration(p.spin.Load())
	if spin <= 0 {
		return nil
	}
	p.spinning.Add(1)
	defer p.spinning.Add(-1)
	deadline := time.Now().Add(spin)
	for i := 0; ; i++ {
		if c := p.offer.Load(); c != nil && c.claim() {
			return c
		}
		if len(p.jobs) > 0 || p.closed.Load() { // a job was queued for parked workers, or the pool closed
			return nil
		}
		// No runtime.Gosched here: it puts the spinner on the global run
		// queue and wakes an idle thread to look for work, a futex round
		// trip every few microseconds. The runtime still preempts a
		// spinner that holds its P for 10 ms.
		if i&63 == 63 && time.Now().After(deadline) {
			return nil
		}
	}
}

// claim takes one of c's offered places.
func (c *call) claim() bool {
	for {
		n := c.claims.Load()
		if n <= 0 {
			return false
		}
		if c.claims.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (p *Pool) help(c *call, w *Worker) {
	defer func() {
		c.wg.Done()
		c.left.Add(-1)
	}()
	defer func() {
		if v := recover(); v != nil {
			c.recordPanic(v)
		}
	}()
	c.work(w, true)
}

// For calls t.RunChunk(i, ·) for every i in [0, n), spreading chunks over
// the pool, and returns when all are done. caller is the scratch of the
// calling goroutine. A panic in any chunk is re-raised here, after every
// chunk has stopped, so the caller's memory is never used after For returns.
func (p *Pool) For(caller *Worker, n int, t Task) {
	if n <= 0 {
		return
	}
	helpers := 0
	if p != nil && !caller.inPool && !caller.busy {
		helpers = min(n, p.size) - 1
	}
	if helpers <= 0 || uint64(n) > math.MaxUint32 { // more chunks than span holds: no loop splits so finely
		Serial(caller, n, t)
		return
	}
	p.started.Do(p.start)
	// A chunk run by the caller may call For again with the same Worker;
	// that call must not reuse caller.call while this loop still owns it.
	caller.busy = true
	defer func() { caller.busy = false }()
	c := &caller.call
	c.task, c.stop, c.panic = t, caller.Stop, nil
	c.span.Store(uint64(n) << 32)
	c.wg.Add(helpers)
	c.left.Store(int32(helpers))
	// Spinning workers take places first; parked ones are woken for the
	// rest. One loop at a time can use the offer slot.
	offered := int32(0)
	if sp := p.spinning.Load(); sp > 0 && !p.closed.Load() && p.offer.CompareAndSwap(nil, c) {
		offered = min(sp, int32(helpers))
		c.claims.Store(offered)
	}
	sent := int(offered)
	func() {
		defer func() {
			// A send on a closed pool panics; those helpers never started.
			if v := recover(); v != nil {
				c.wg.Add(sent - helpers)
				c.left.Add(int32(sent - helpers))
			}
		}()
		for ; sent < helpers; sent++ {
			p.jobs <- c
		}
	}()
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.recordPanic(v)
			}
		}()
		c.work(caller, false)
	}()
	if offered > 0 {
		// Places no spinner took are withdrawn; a spinner that claims
		// later finds the claims at zero.
		p.offer.CompareAndSwap(c, nil)
		unclaimed := c.claims.Swap(0)
		c.wg.Add(-int(unclaimed))
		c.left.Add(-unclaimed)
	}
	p.waitHelpers(c)
	c.task, c.stop = nil, nil
	if v := c.panic; v != nil {
		c.panic = nil
		panic(v)
	}
}

// waitHelpers returns once every helper of c has finished. It spins for up
// to the pool's spin time before it blocks: the caller may be a goroutine
// locked to its thread (a call from C through cgo), and parking one hands
// its thread's P off and back through the OS (tens to hundreds of
// microseconds) when the helpers are usually microseconds from done.
func (p *Pool) waitHelpers(c *call) {
	if c.left.Load() <= 0 {
		return
	}
	deadline := time.Now().Add(time.Duration(p.spin.Load()))
	for i := 1; c.left.Load() > 0; i++ {
		if i&63 == 0 && time.Now().After(deadline) {
			c.wg.Wait()
			// Every helper has called Done; each is one atomic add from
			// its last access to c.
			for c.left.Load() > 0 {
			}
			return
		}
	}
}

// Chunks splits n items into at most maxChunks chunks of at least grain
// items each and returns the chunk count and size.
func Chunks(n, grain, maxChunks int) (count, size int) {
	if n <= 0 {
		return 0, 0
	}
	grain = max(grain, 1)
	count = min(max(n/grain, 1), max(maxChunks, 1))
	size = ceilDiv(n, count)
	count = ceilDiv(n, size)
	return count, size
}

// ceilDiv returns ⌈n/d⌉ for n >= 0, d > 0 without overflowing near MaxInt.
func ceilDiv(n, d int) int {
	q := n / d
	if q*d != n {
		q++
	}
	return q
}
