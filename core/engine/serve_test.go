package engine

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// reluModel is Y = Relu(X) over a dynamic-length float64 vector.
func reluModel(t testing.TB, opts Options) *Model {
	ins := []tin{{name: "X", dt: dtype.Float64, sig: []int64{-1}}}
	return buildModel(t, ins, nil, []graph.Node{{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"Y"}}}, []string{"Y"}, opts)
}

// Many goroutines share one Model through Run: every result is right, and
// no more sessions exist than the bound.
func TestModelRunConcurrent(t *testing.T) {
	m := reluModel(t, Options{Serve: ServeOptions{MaxSessions: 2}, Threads: 2})
	var wg sync.WaitGroup
	var bad atomic.Int32
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				n := 1 + (g*50+r)%37 // several shapes: several plans per session
				x := make([]float64, n)
				for i := range x {
					x[i] = float64(i - n/2)
				}
				outs := make([]Tensor, 1)
				if err := m.Run([]Tensor{NewTensor(dtype.Float64, []int64{int64(n)}, encode(dtype.Float64, x))}, outs, nil, RunOptions{}, heapAlloc); err != nil {
					t.Error(err)
					return
				}
				y := decode(dtype.Float64, outs[0].Data)
				for i := range y {
					if y[i] != max(x[i], 0) {
						bad.Add(1)
					}
				}
				if st := m.Sessions(); st.InUse > 2 || st.Idle > 2 {
					t.Errorf("pool exceeded its bound: %+v", st)
				}
			}
		}(g)
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d wrong elements", bad.Load())
	}
	if st := m.Sessions(); st.Max != 2 || st.InUse != 0 || st.Idle > 2 {
		t.Fatalf("after the runs: %+v", st)
	}
}

// A run that cannot get a session waits within its timeout and cancel flag.
func TestModelRunWaitsWithinLimits(t *testing.T) {
	m := matmulModel(t, Options{Serve: ServeOptions{MaxSessions: 1}, Threads: 1})
	ins := []Tensor{square(512), square(512)}
	var stop atomic.Int32
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		// Holds the only session until cancelled.
		close(started)
		var err error
		for err == nil {
			err = m.Run(ins, make([]Tensor, 1), nil, RunOptions{Cancel: &stop}, heapAlloc)
		}
		done <- err
	}()
	<-started
	for m.Sessions().InUse == 0 {
		time.Sleep(time.Millisecond)
	}
	small := []Tensor{square(1), square(1)}
	err := m.Run(small, make([]Tensor, 1), nil, RunOptions{Timeout: 20 * time.Millisecond}, heapAlloc)
	if errs.CodeOf(err) != errs.CancelledDeadline {
		// The holder may have been between runs: then the run got the
		// session and must have succeeded.
		if err != nil {
			t.Fatalf("waiting with a timeout: %v", err)
		}
	}
	var cancel atomic.Int32
	go func() { time.Sleep(5 * time.Millisecond); cancel.Store(1) }()
	err = m.Run(small, make([]Tensor, 1), nil, RunOptions{Cancel: &cancel}, heapAlloc)
	if err != nil && errs.CodeOf(err) != errs.Cancelled {
		t.Fatalf("waiting with a cancel flag: %v", err)
	}
	stop.Store(1)
	wantCode(t, <-done, errs.Cancelled)
}

// Closing the model closes its idle sessions; later runs are refused.
func TestModelRunAfterClose(t *testing.T) {
	m := reluModel(t, Options{})
	in := []Tensor{NewTensor(dtype.Float64, []int64{3}, encode(dtype.Float64, []float64{-1, 0, 2}))}
	if err := m.Run(in, make([]Tensor, 1), nil, RunOptions{}, heapAlloc); err != nil {
		t.Fatal(err)
	}
	if st := m.Sessions(); st.Idle != 1 {
		t.Fatalf("after one run: %+v", st)
	}
	m.Close()
	if st := m.Sessions(); st.Idle != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	if m.refs.Load() != 0 {
		t.Fatalf("the model still has %d references: a pooled session kept it open", m.refs.Load())
	}
	wantCode(t, m.Run(in, make([]Tensor, 1), nil, RunOptions{}, heapAlloc), errs.BadHandle)
}

// RunAlloc hands the allocator each output's dtype and shape.
func TestRunAllocSeesShapes(t *testing.T) {
	m := reluModel(t, Options{})
	s, _ := m.NewSession()
	defer s.Close()
	var seen Tensor
	alloc := func(i int, o *Tensor, n int64) ([]byte, error) {
		seen = *o
		return make([]byte, n), nil
	}
	in := []Tensor{NewTensor(dtype.Float64, []int64{5}, make([]byte, 40))}
	outs := make([]Tensor, 1)
	if err := s.RunAlloc(in, outs, nil, RunOptions{}, alloc); err != nil {
		t.Fatal(err)
	}
	if seen.DType != dtype.Float64 || seen.Rank != 1 || seen.Dims[0] != 5 || len(outs[0].Data) != 40 {
		t.Fatalf("alloc saw %+v; output %d bytes", seen, len(outs[0].Data))
	}
	// Without an allocator a nil buffer is too small.
	outs[0].Data = nil
	wantCode(t, s.RunAlloc(in, outs, nil, RunOptions{}, nil), errs.BufferTooSmall)
}

func TestSessionOptions(t *testing.T) {
	m := reluModel(t, Options{})
	for _, bad := range []SessionOptions{{MaxMemory: -1}, {MaxPlans: -1}, {MaxPlans: MaxPlansLimit + 1}} {
		if _, err := m.NewSessionWith(bad); errs.CodeOf(err) != errs.InvalidOptions {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	s, err := m.NewSessionWith(SessionOptions{MaxMemory: 1 << 10, MaxPlans: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 1 KiB: 100 doubles fit, 1000 do not.
	for _, c := range []struct {
		n    int64
		want errs.Code
	}{{100, errs.OK}, {1000, errs.NoMemoryLimit}} {
		in := []Tensor{NewTensor(dtype.Float64, []int64{c.n}, make([]byte, 8*c.n))}
		out := []Tensor{{Data: make([]byte, 8*c.n)}}
		if err := s.Run(in, out); errs.CodeOf(err) != c.want {
			t.Fatalf("%d elements under a 1 KiB limit: %v, want %v", c.n, err, c.want)
		}
	}
	for n := int64(1); n <= 5; n++ {
		in := []Tensor{NewTensor(dtype.Float64, []int64{n}, make([]byte, 8*n))}
		if err := s.Run(in, []Tensor{{Data: make([]byte, 8*n)}}); err != nil {
			t.Fatal(err)
		}
		if len(s.plans) > 2 {
			t.Fatalf("%d plans cached; the bound is 2", len(s.plans))
		}
	}
	if _, err := (&Model{}).NewSessionWith(SessionOptions{}); errs.CodeOf(err) != errs.BadHandle {
		t.Fatalf("closed model: %v", err)
	}
	if _, err := Open("/nonexistent", Options{Serve: ServeOptions{MaxSessions: -1}}); errs.CodeOf(err) != errs.InvalidOptions {
		t.Fatalf("MaxSessions -1: %v", err)
	}
}

// The serving path allocates nothing in steady state either.
func TestModelRunNoAllocs(t *testing.T) {
	m := reluModel(t, Options{})
	in := []Tensor{NewTensor(dtype.Float64, []int64{64}, make([]byte, 8*64))}
	outs := []Tensor{{Data: make([]byte, 8*64)}}
	run := func() {
		outs[0].Data = outs[0].Data[:cap(outs[0].Data)]
		if err := m.Run(in, outs, nil, RunOptions{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Fatalf("Model.Run allocates %.1f times per run", a)
	}
}

// Serving options change while the model runs.
func TestSetServeOptions(t *testing.T) {
	m := reluModel(t, Options{Serve: ServeOptions{MaxSessions: 4}})
	in := []Tensor{NewTensor(dtype.Float64, []int64{3}, make([]byte, 24))}
	for _, bad := range []ServeOptions{{MaxSessions: -1}, {MaxSessions: MaxSessions + 1}, {SpinMicros: -2}, {SpinMicros: 100001}} {
		wantCode(t, m.SetServeOptions(bad), errs.InvalidOptions)
	}
	// Four sessions come to exist under concurrent use...
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				if err := m.Run(in, make([]Tensor, 1), nil, RunOptions{}, heapAlloc); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// ...and a lower bound closes the extra idle ones at once.
	if err := m.SetServeOptions(ServeOptions{MaxSessions: 1, SpinMicros: -1}); err != nil {
		t.Fatal(err)
	}
	if st := m.Sessions(); st.Max != 1 || st.Idle > 1 || st.InUse != 0 {
		t.Fatalf("after lowering the bound: %+v", st)
	}
	if err := m.Run(in, make([]Tensor, 1), nil, RunOptions{}, heapAlloc); err != nil {
		t.Fatal(err)
	}
	if err := m.SetServeOptions(ServeOptions{}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	wantCode(t, m.SetServeOptions(ServeOptions{}), errs.BadHandle)
}
