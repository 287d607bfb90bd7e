// Package par is the parallel loop of the core packages that run outside a
// model's worker pool (codec, seal, format, the engine's constant loading):
// short bursts at open, load or save time, where starting goroutines is
// cheap next to the work.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mle-runtime/mle/core/errs"
)

// For calls fn(i) for i in [0, n) on at most GOMAXPROCS goroutines (on the
// caller's alone when one suffices). Once an iteration fails no new one
// starts, and For returns the error of the lowest index that failed: indices
// are handed out in order, so every lower one has run. A panic in fn becomes
// an errs.Internal error naming the index, never a crash.
func For(n int, fn func(i int) error) error {
	if n <= 0 {
		return nil
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		mu     sync.Mutex
		errAt  = n
		first  error
	)
	work := func() {
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			if err := call(fn, i); err != nil {
				failed.Store(true)
				mu.Lock()
				if i < errAt {
					errAt, first = i, err
				}
				mu.Unlock()
			}
		}
	}
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers == 1 {
		work()
		return first
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(work)
	}
	wg.Wait()
	return first
}

func call(fn func(int) error, i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.Internal, "iteration %d: panic: %v", i, r)
		}
	}()
	return fn(i)
}
