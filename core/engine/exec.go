package engine

import (
	"math"
	"sync"
	"unsafe"

	"github.com/mle-runtime/mle/kernels"
)

// parallelMin is the element count below which a loop runs on the caller
// alone: dispatch costs about a microsecond, which small tensors cannot repay.
const parallelMin = 1 << 15

// stopChunkWork bounds the work (elements times cost) of one chunk of a
// long loop, so that a cancelled or timed-out run stops within about a
// millisecond even on one thread.
const stopChunkWork = 1 << 22

// RunCtx is the per-run state executors use.
type RunCtx struct {
	Pool    *kernels.Pool
	Worker  *kernels.Worker
	Scratch Buf      // the current step's arena scratch (BindCtx.Scratch)
	strs    [][]byte // the run's string sources (strings.go)
	errMu   sync.Mutex
	err     error // the first data-dependent failure (e.g. a Gather index out of range)
}

// Fail records a run-time error; the session stops after the current step.
// Chunks running in parallel may call it.
func (x *RunCtx) Fail(err error) {
	x.errMu.Lock()
	if x.err == nil {
		x.err = err
	}
	x.errMu.Unlock()
}

// Parallel runs t's chunks over the pool; one chunk runs right here (the
// common case for small tensors: no dispatch at all).
func (x *RunCtx) Parallel(chunks int, t kernels.Task) {
	if chunks == 1 {
		t.RunChunk(0, x.Worker)
		return
	}
	x.Pool.For(x.Worker, chunks, t)
}

// rowChunks splits rows of inner elements each into chunks for the pool.
type rowChunks struct{ rows, size, count int }

func splitRows(rows, inner, poolSize int) rowChunks {
	return splitWork(rows, inner, 1, poolSize)
}

// splitWork is splitRows for loops whose elements cost about cost times a
// simple arithmetic op (transcendental functions): they pay for the pool's
// dispatch sooner. Long loops get at least one chunk per stopChunkWork even
// on one thread: the Stop is polled between chunks.
func splitWork(rows, inner, cost, poolSize int) rowChunks {
	perRow := satMul(max(inner, 1), cost)
	work := satMul(rows, perRow)
	if work < parallelMin {
		return rowChunks{rows: rows, size: max(rows, 1), count: min(rows, 1)}
	}
	grain := max(1, parallelMin/satMul(4, perRow))
	maxChunks := max(4*poolSize, work/stopChunkWork)
	if poolSize <= 1 {
		maxChunks = max(1, work/stopChunkWork)
	}
	count, size := kernels.Chunks(rows, grain, maxChunks)
	return rowChunks{rows: rows, size: size, count: count}
}

// satMul multiplies non-negative ints, saturating at MaxInt.
func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// elemChunks splits a flat loop over n elements of about cost each.
func elemChunks(n, cost, poolSize int) rowChunks { return splitWork(n, 1, cost, poolSize) }

func (r rowChunks) bounds(c int) (int, int) {
	lo := c * r.size
	return lo, min(lo+r.size, r.rows)
}

func f32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func f64s(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func i32s(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func i64s(b []byte) []int64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func numel(s []int64) int {
	n := 1
	for _, d := range s {
		n *= int(d)
	}
	return n
}

// opt returns bufs[i].Host, or nil when the optional argument i is absent.
func opt(bufs []Buf, i int) []byte {
	if i < len(bufs) {
		return bufs[i].Host
	}
	return nil
}
