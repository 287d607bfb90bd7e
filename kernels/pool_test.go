package kernels

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// taskFunc adapts a function to Task for tests.
type taskFunc func(chunk int, w *Worker)

func (f taskFunc) RunChunk(chunk int, w *Worker) { f(chunk, w) }

func TestPoolForRunsEveryChunkOnce(t *testing.T) {
	for _, size := range []int{0, 1, 2, 4} {
		pools := []*Pool{NewPool(size)}
		if size == 1 {
			pools = append(pools, nil)
		}
		for _, p := range pools {
			w := new(Worker)
			for _, n := range []int{-1, 0, 1, 2, 3, 7, 100, 1000} {
				counts := make([]atomic.Int32, max(n, 0))
				p.For(w, n, taskFunc(func(i int, _ *Worker) { counts[i].Add(1) }))
				for i := range counts {
					if c := counts[i].Load(); c != 1 {
						t.Fatalf("size %d n %d: chunk %d ran %d times", p.Size(), n, i, c)
					}
				}
			}
			p.Close()
		}
	}
}

func TestPoolSize(t *testing.T) {
	var nilPool *Pool
	if nilPool.Size() != 1 {
		t.Errorf("nil pool Size = %d, want 1", nilPool.Size())
	}
	nilPool.Close() // no-op
	p := NewPool(3)
	defer p.Close()
	if p.Size() != 3 {
		t.Errorf("Size = %d, want 3", p.Size())
	}
}

func TestPoolPanicIsReraisedAfterAllChunksStop(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	w := new(Worker)
	const n = 64
	var running, done atomic.Int32
	func() {
		defer func() {
			v := recover()
			if v != "boom" {
				t.Fatalf("recovered %v, want boom", v)
			}
			if r := running.Load(); r != 0 {
				t.Fatalf("%d chunks still running when For panicked", r)
			}
		}()
		p.For(w, n, taskFunc(func(i int, _ *Worker) {
			running.Add(1)
			defer running.Add(-1)
			if i == 3 {
				panic("boom")
			}
			time.Sleep(100 * time.Microsecond)
			done.Add(1)
		}))
		t.Fatal("For returned without panicking")
	}()
	if d := done.Load(); d < 1 || d > n-1 {
		t.Fatalf("%d chunks completed", d)
	}
	// The pool and the Worker remain usable.
	var count atomic.Int32
	p.For(w, 10, taskFunc(func(int, *Worker) { count.Add(1) }))
	if count.Load() != 10 {
		t.Fatalf("after a panic, For ran %d of 10 chunks", count.Load())
	}
}

func TestPoolNestedForRunsInline(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	caller := new(Worker)
	// Repeated because the caller's own chunks, the interesting case, are
	// a matter of scheduling.
	for iter := 0; iter < 50; iter++ {
		testNestedFor(t, p, caller)
	}
}

func testNestedFor(t *testing.T, p *Pool, caller *Worker) {
	var inner atomic.Int32
	var mismatch atomic.Int32
	p.For(caller, 16, taskFunc(func(_ int, w *Worker) {
		// Whether w is a pool goroutine's or the caller's, a nested loop
		// must run on this goroutine with the same Worker.
		p.For(w, 8, taskFunc(func(_ int, w2 *Worker) {
			if w2 != w {
				mismatch.Add(1)
			}
			inner.Add(1)
		}))
	}))
	if inner.Load() != 16*8 {
		t.Fatalf("nested chunks ran %d times, want %d", inner.Load(), 16*8)
	}
	if mismatch.Load() != 0 {
		t.Fatalf("%d nested chunks ran on another Worker", mismatch.Load())
	}
}

func TestPoolConcurrentFor(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := new(Worker)
			for iter := 0; iter < 50; iter++ {
				n := 1 + (g*7+iter)%40
				out := make([]int, n)
				p.For(w, n, taskFunc(func(i int, w *Worker) {
					s := w.Float64s(4) // scratch is per Worker: no race
					s[0] = float64(i)
					out[i] = int(s[0]) + g
				}))
				for i, v := range out {
					if v != i+g {
						t.Errorf("goroutine %d: out[%d] = %d", g, i, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestPoolForAfterCloseRunsSerially(t *testing.T) {
	p := NewPool(4)
	p.Close()
	p.Close() // idempotent
	caller := new(Worker)
	var count atomic.Int32
	p.For(caller, 100, taskFunc(func(_ int, w *Worker) {
		if w != caller {
			t.Errorf("chunk ran on a pool Worker after Close")
		}
		count.Add(1)
	}))
	if count.Load() != 100 {
		t.Fatalf("ran %d of 100 chunks", count.Load())
	}
}

func TestWorkerScratch(t *testing.T) {
	w := new(Worker)
	a := w.Float32s(10)
	b := w.Float32s(5)
	if len(a) != 10 || len(b) != 5 || &a[0] != &b[0] {
		t.Fatal("Float32s does not reuse memory")
	}
	if len(w.Float64s(0)) != 0 || len(w.Float64s(7)) != 7 {
		t.Fatal("Float64s lengths")
	}
}

func TestChunks(t *testing.T) {
	for _, tc := range []struct{ n, grain, max, count, size int }{
		{0, 1, 4, 0, 0},
		{-5, 1, 4, 0, 0},
		{1, 1, 4, 1, 1},
		{10, 1, 4, 4, 3}, // 3+3+3+1
		{10, 3, 4, 3, 4}, // 4+4+2
		{10, 100, 4, 1, 10},
		{10, 0, 4, 4, 3},  // grain <= 0 acts as 1
		{10, 1, 0, 1, 10}, // maxChunks <= 0 acts as 1
		{10, 1, -3, 1, 10},
		{7, 1, 7, 7, 1},
		{7, 1, 100, 7, 1},
		{math.MaxInt, 1, 2, 2, math.MaxInt/2 + 1},
		{math.MaxInt, math.MaxInt, 8, 1, math.MaxInt},
	} {
		count, size := Chunks(tc.n, tc.grain, tc.max)
		if count != tc.count || size != tc.size {
			t.Errorf("Chunks(%d, %d, %d) = %d, %d; want %d, %d", tc.n, tc.grain, tc.max, count, size, tc.count, tc.size)
		}
		// The last chunk is non-empty and no larger than size (written so
		// that nothing overflows near MaxInt).
		if last := tc.n - (count-1)*size; tc.n > 0 && (last <= 0 || last > size) {
			t.Errorf("Chunks(%d, %d, %d) = %d, %d does not tile n", tc.n, tc.grain, tc.max, count, size)
		}
	}
}

// Spinning workers join loops through the offer slot; places they do not
// take are withdrawn. Loops back to back, with gaps around the spin time,
// from several callers: every chunk runs once and nothing hangs.
func TestPoolSpinningStress(t *testing.T) {
	for _, spin := range []time.Duration{0, 20 * time.Microsecond, DefaultSpin} {
		p := NewPoolSpin(4, spin)
		var wg sync.WaitGroup
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				w := new(Worker)
				for r := 0; r < 300; r++ {
					n := 1 + (r*7+g)%9
					counts := make([]atomic.Int32, n)
					p.For(w, n, taskFunc(func(i int, _ *Worker) { counts[i].Add(1) }))
					for i := range counts {
						if c := counts[i].Load(); c != 1 {
							t.Errorf("spin %v: chunk %d of %d ran %d times", spin, i, n, c)
							return
						}
					}
					if r%50 == 0 {
						time.Sleep(spin + 10*time.Microsecond) // let spinners give up and park
					}
				}
			}(g)
		}
		wg.Wait()
		p.Close()
	}
}

// A worker still spinning from the last loop runs chunks of the next one:
// back-to-back loops use more than the caller's goroutine without waking a
// parked one.
func TestPoolSpinnerJoins(t *testing.T) {
	p := NewPoolSpin(2, 50*time.Millisecond)
	defer p.Close()
	w := new(Worker)
	joined := 0
	for r := 0; r < 200 && joined == 0; r++ {
		var others atomic.Int32
		p.For(w, 8, taskFunc(func(_ int, cw *Worker) {
			if cw != w {
				others.Add(1)
			}
			time.Sleep(20 * time.Microsecond)
		}))
		if others.Load() > 0 {
			joined++
		}
	}
	if joined == 0 {
		t.Fatal("no loop was joined by the pool's worker")
	}
	// The worker spins between loops: soon after one, it is spinning.
	deadline := time.Now().Add(time.Second)
	for p.spinning.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Microsecond)
	}
	if !p.Hot() {
		t.Fatal("no worker spins after a loop")
	}
}

// A caller locked to its OS thread (as a call from C through cgo is) runs
// loops whose last helper finishes after the caller's own chunks: the
// caller waits for it (spinning, then blocking) and every chunk has run
// once when For returns, with and without spinning.
func TestPoolLockedCallerWaitsForHelpers(t *testing.T) {
	for _, spin := range []time.Duration{0, 200 * time.Microsecond} {
		p := NewPoolSpin(2, spin)
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			w := new(Worker)
			for r := 0; r < 200; r++ {
				var ran [2]atomic.Int32
				p.For(w, 2, taskFunc(func(i int, cw *Worker) {
					if cw != w {
						time.Sleep(time.Duration(r%4) * 100 * time.Microsecond) // outlast the caller's spin
					}
					ran[i].Add(1)
				}))
				if ran[0].Load() != 1 || ran[1].Load() != 1 {
					t.Errorf("spin %v, round %d: chunks ran %d and %d times", spin, r, ran[0].Load(), ran[1].Load())
					return
				}
			}
		}()
		<-done
		p.Close()
	}
	if (*Pool)(nil).Hot() {
		t.Error("a nil pool is hot")
	}
}

// On two threads the caller takes chunks from the front and the helper
// from the back, so that the caller's chunks are a prefix: successive loops
// over the same data then keep each part on the same core.
func TestPoolCallerTakesFrontHelperBack(t *testing.T) {
	p := NewPoolSpin(2, 50*time.Millisecond)
	defer p.Close()
	w := new(Worker)
	const n = 64
	shared := false
	for r := 0; r < 200 && !shared; r++ {
		var byCaller [n]atomic.Bool
		var ran atomic.Int32
		p.For(w, n, taskFunc(func(i int, cw *Worker) {
			byCaller[i].Store(cw == w)
			ran.Add(1)
			time.Sleep(5 * time.Microsecond)
		}))
		if ran.Load() != n {
			t.Fatalf("%d chunks ran, want %d", ran.Load(), n)
		}
		k := 0 // the caller's prefix
		for k < n && byCaller[k].Load() {
			k++
		}
		for i := k; i < n; i++ {
			if byCaller[i].Load() {
				t.Fatalf("run %d: the caller ran chunk %d after the helper's chunk %d", r, i, k)
			}
		}
		shared = k > 0 && k < n
	}
	if !shared {
		t.Fatal("the helper never joined a loop")
	}
}
