package kernels

import (
	"sync/atomic"
	"time"
)

// Why a Stop ended a loop early.
const (
	StopNone      uint32 = iota
	StopCancelled        // the caller's flag was set
	StopDeadline         // the time limit passed
)

// Stop tells long loops when to give up: a caller's cancel flag, a time
// limit, or both. Loops poll it between chunks (Pool.For, Serial), the
// engine between nodes. Once it has fired it stays fired. A nil *Stop never
// fires.
type Stop struct {
	flag  *atomic.Int32 // the caller's; nil: none
	start time.Time
	limit time.Duration // 0: none
	why   atomic.Uint32
}

// Reset arms s for a new run: it fires once *flag != 0 (flag may be nil) or
// once limit has passed (0: never).
func (s *Stop) Reset(flag *atomic.Int32, limit time.Duration) {
	s.flag, s.limit = flag, limit
	if limit > 0 {
		s.start = time.Now()
	}
	s.why.Store(StopNone)
}

// Armed reports whether s can fire at all.
func (s *Stop) Armed() bool { return s != nil && (s.flag != nil || s.limit > 0) }

// Stopped reports whether the loop polling s should stop now. It inlines
// to a nil check: unarmed runs pay nothing at the poll points.
func (s *Stop) Stopped() bool { return s != nil && s.poll() }

func (s *Stop) poll() bool {
	if s.why.Load() != StopNone {
		return true
	}
	if s.flag != nil && s.flag.Load() != 0 {
		s.why.CompareAndSwap(StopNone, StopCancelled)
		return true
	}
	if s.limit > 0 && time.Since(s.start) > s.limit {
		s.why.CompareAndSwap(StopNone, StopDeadline)
		return true
	}
	return false
}

// Why returns why s fired (StopNone if it has not).
func (s *Stop) Why() uint32 {
	if s == nil {
		return StopNone
	}
	return s.why.Load()
}

// Limit returns the time limit s was armed with.
func (s *Stop) Limit() time.Duration { return s.limit }

// Serial runs t's chunks [0, n) one after another on the caller, polling
// w's Stop between them: for loops that must not run in parallel (their
// chunks accumulate into shared state) but must stay interruptible.
func Serial(w *Worker, n int, t Task) {
	for i := 0; i < n; i++ {
		// Not before the first chunk: whoever started the loop has just
		// polled (the engine does between nodes).
		if i > 0 && w.Stop.Stopped() {
			return
		}
		t.RunChunk(i, w)
	}
}
