package codec

import (
	"sync"

	"github.com/mle-runtime/mle/core/par"
)

// scratchPool recycles the scratch buffers of forEach, so that a file
// of many small tensors does not allocate chunk buffers per tensor.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// forEach calls fn(i, scratch) for i in [0, n) in parallel (par.For: the
// lowest failing index's error; no new index after a failure; panics become
// errs.Internal). scratch is a buffer fn may grow and reuse, from a pool.
func forEach(n int, fn func(i int, scratch *[]byte) error) error {
	return par.For(n, func(i int) error {
		scratch := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(scratch)
		return fn(i, scratch)
	})
}

// grow returns (*b)[:n], reallocating when its capacity is short.
func grow(b *[]byte, n int) []byte {
	if cap(*b) < n {
		*b = make([]byte, n)
	}
	return (*b)[:n]
}
