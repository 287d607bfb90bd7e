package engine

import (
	"runtime"
	"sync"
	"time"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/kernels"
)

// The serving core: Model.Run is safe from any number of goroutines. It
// borrows a session from a bounded pool, so callers (the C ABI, the CLI,
// servers, bindings) need no session management of their own, and a
// burst of concurrent requests holds at most MaxSessions arenas.

// AllocFunc provides the buffer of output i once its dtype and shape are
// known (set in *t) and its nbytes have been counted against the memory
// limit. The buffer must hold nbytes bytes and not overlap the inputs.
type AllocFunc func(i int, t *Tensor, nbytes int64) ([]byte, error)

// sessionPool holds a Model's idle sessions and bounds those in use.
type sessionPool struct {
	mu      sync.Mutex
	max     int
	inUse   int
	idle    []*Session
	closed  bool
	waiters int
	freed   chan struct{} // closed when a session comes back while runs wait
}

// waitPoll is how often a run waiting for a session looks at its cancel
// flag: the flag is plain memory and cannot wake a select.
const waitPoll = time.Millisecond

// getSession returns an idle session, or a new one while fewer than the
// bound are in use, waiting for one otherwise (until the deadline or the
// cancel flag: waiting is part of the run).
func (m *Model) getSession(opts *RunOptions) (*Session, error) {
	sp := &m.sessions
	var deadline <-chan time.Time
	var poll *time.Ticker
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()
	for {
		sp.mu.Lock()
		if sp.closed {
			sp.mu.Unlock()
			return nil, errs.New(errs.BadHandle, "model is closed")
		}
		if sp.inUse < sp.max {
			sp.inUse++
			var s *Session
			if n := len(sp.idle); n > 0 {
				s = sp.idle[n-1]
				sp.idle[n-1] = nil
				sp.idle = sp.idle[:n-1]
			}
			sp.mu.Unlock()
			if s != nil {
				return s, nil
			}
			s, err := m.NewSession()
			if err != nil {
				m.putSession(nil)
				return nil, err
			}
			return s, nil
		}
		// Full: wait for a session to come back.
		if sp.freed == nil {
			sp.freed = make(chan struct{})
		}
		freed, inUse := sp.freed, sp.inUse
		sp.waiters++
		sp.mu.Unlock()
		if deadline == nil && opts.Timeout > 0 {
			t := time.NewTimer(opts.Timeout)
			defer t.Stop()
			deadline = t.C
		}
		if poll == nil && opts.Cancel != nil {
			poll = time.NewTicker(waitPoll)
		}
		var pollC <-chan time.Time
		if poll != nil {
			pollC = poll.C
		}
		var err error
		select {
		case <-freed:
		case <-deadline:
			err = errs.New(errs.CancelledDeadline, "the run waited longer than its timeout of %v for a free session (%d are in use)", opts.Timeout, inUse)
		case <-pollC:
			if opts.Cancel.Load() != 0 {
				err = errs.New(errs.Cancelled, "the run was cancelled while waiting for a free session (%d are in use)", inUse)
			}
		}
		sp.mu.Lock()
		sp.waiters--
		sp.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// putSession returns s (nil: a failed creation) to the pool, or closes it
// when the model is closing or the pool holds enough, and wakes waiters.
func (m *Model) putSession(s *Session) {
	sp := &m.sessions
	sp.mu.Lock()
	sp.inUse--
	keep := s != nil && !sp.closed && len(sp.idle)+sp.inUse < sp.max
	if keep {
		sp.idle = append(sp.idle, s)
	}
	if sp.waiters > 0 && sp.freed != nil {
		// Wake them all; they race for the freed place. A new channel is
		// made only while runs wait, so uncontended runs allocate nothing.
		close(sp.freed)
		sp.freed = nil
	}
	sp.mu.Unlock()
	if s != nil && !keep {
		_ = s.Close()
	}
}

// closeSessions closes the idle sessions; sessions in use close when they
// come back.
func (m *Model) closeSessions() {
	sp := &m.sessions
	sp.mu.Lock()
	sp.closed = true
	idle := sp.idle
	sp.idle = nil
	if sp.waiters > 0 && sp.freed != nil {
		close(sp.freed)
		sp.freed = nil
	}
	sp.mu.Unlock()
	for _, s := range idle {
		_ = s.Close()
	}
}

// ServeOptions are a Model's serving settings, changeable while it runs.
type ServeOptions struct {
	// MaxSessions bounds the sessions Model.Run keeps and runs at once;
	// 0 means runtime.NumCPU().
	MaxSessions int
	// SpinMicros is how long idle pool workers spin for the next loop
	// before they park: 0 means kernels.DefaultSpin, -1 never spin.
	SpinMicros int
}

func (o ServeOptions) check() error {
	if o.SpinMicros < -1 || time.Duration(o.SpinMicros)*time.Microsecond > kernels.MaxSpin {
		return errs.New(errs.InvalidOptions, "SpinMicros must be -1 (never spin), 0 (the default) or up to %d, got %d", kernels.MaxSpin/time.Microsecond, o.SpinMicros)
	}
	if o.MaxSessions < 0 || o.MaxSessions > MaxSessions {
		return errs.New(errs.InvalidOptions, "MaxSessions must be 0 (one per CPU) to %d, got %d", MaxSessions, o.MaxSessions)
	}
	return nil
}

func (o ServeOptions) spin() time.Duration {
	switch {
	case o.SpinMicros < 0:
		return 0
	case o.SpinMicros > 0:
		return time.Duration(o.SpinMicros) * time.Microsecond
	}
	return kernels.DefaultSpin
}

// SetServeOptions changes the session bound and the workers' spin time;
// runs that start afterwards use them. Sessions beyond a lowered bound are
// closed as they come back.
func (m *Model) SetServeOptions(o ServeOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	if m.closed.Load() {
		return errs.New(errs.BadHandle, "model is closed")
	}
	max := o.MaxSessions
	if max == 0 {
		max = runtime.NumCPU()
	}
	sp := &m.sessions
	sp.mu.Lock()
	sp.max = max
	var extra []*Session
	if over := len(sp.idle) + sp.inUse - max; over > 0 {
		n := min(over, len(sp.idle))
		extra = append(extra, sp.idle[len(sp.idle)-n:]...)
		sp.idle = sp.idle[:len(sp.idle)-n]
	}
	if sp.waiters > 0 && sp.freed != nil { // a raised bound may let them in
		close(sp.freed)
		sp.freed = nil
	}
	sp.mu.Unlock()
	for _, s := range extra {
		_ = s.Close()
	}
	m.pool.SetSpin(o.spin())
	return nil
}

// Run runs the model on a pooled session; any number of goroutines may
// call it at once. outputs are as in Session.RunAlloc (alloc may be nil).
// At most Options.MaxSessions runs proceed together; the others wait for a
// session, within their timeout and cancel flag.
func (m *Model) Run(inputs, outputs []Tensor, which []int, opts RunOptions, alloc AllocFunc) error {
	if m.closed.Load() {
		return errs.New(errs.BadHandle, "model is closed")
	}
	if opts.Timeout < 0 {
		return errs.New(errs.InvalidOptions, "timeout %v is negative", opts.Timeout)
	}
	var start time.Time
	if opts.Timeout > 0 { // the clock is read only when a deadline needs it
		start = time.Now()
	}
	s, err := m.getSession(&opts)
	if err != nil {
		return err
	}
	defer m.putSession(s)
	if opts.Timeout > 0 {
		// The wait counted against the timeout.
		if opts.Timeout -= time.Since(start); opts.Timeout <= 0 {
			return errs.New(errs.CancelledDeadline, "the run waited its whole timeout for a free session")
		}
	}
	return s.RunAlloc(inputs, outputs, which, opts, alloc)
}

// SessionStats describes a Model's session pool.
type SessionStats struct {
	Max, InUse, Idle int
}

// Sessions reports the model's session pool.
func (m *Model) Sessions() SessionStats {
	sp := &m.sessions
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return SessionStats{Max: sp.max, InUse: sp.inUse, Idle: len(sp.idle)}
}
