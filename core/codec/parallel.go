package codec

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/mle-runtime/mle/core/errs"
)

// scratchPool recycles the per-goroutine buffers of forEach, so that a file
// of many small tensors does not allocate chunk buffers per tensor.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// forEach calls fn(i, scratch) for i in [0, n) on at most GOMAXPROCS
// goroutines. scratch is a buffer owned by the calling goroutine that fn may
// grow and reuse. It returns the error of the lowest failing index it ran;
// after a failure no new index starts. A panic in fn becomes an
// errs.Internal error, never a crash.
func forEach(n int, fn func(i int, scratch *[]byte) error) error {
	if n <= 0 {
		return nil
	}
	workers := min(n, runtime.GOMAXPROCS(0))
	var (
		next    atomic.Int64
		failed  atomic.Bool
		mu      sync.Mutex
		errIdx  = n
		errSeen error
	)
	work := func() {
		scratch := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(scratch)
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			if err := safeCall(fn, i, scratch); err != nil {
				failed.Store(true)
				mu.Lock()
				if i < errIdx {
					errIdx, errSeen = i, err
				}
				mu.Unlock()
			}
		}
	}
	if workers == 1 {
		work() // one chunk or one CPU: no goroutine to start
		return errSeen
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	return errSeen
}

// safeCall runs fn(i, scratch), turning a panic into an errs.Internal error.
func safeCall(fn func(int, *[]byte) error, i int, scratch *[]byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.Internal, "codec: panic in block %d: %v\n%s", i, r, debug.Stack())
		}
	}()
	return fn(i, scratch)
}

// grow returns (*b)[:n], reallocating when its capacity is short.
func grow(b *[]byte, n int) []byte {
	if cap(*b) < n {
		*b = make([]byte, n)
	}
	return (*b)[:n]
}
