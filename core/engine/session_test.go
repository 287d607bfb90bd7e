package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// mlp returns a 2-layer MLP classifier: X[-1, in] → Gemm → Relu → Gemm →
// Softmax (probs) and ArgMax (label).
func mlp(t testing.TB, dt dtype.DType, in, hidden, out int, opts Options) *Model {
	t.Helper()
	return buildModel(t, []tin{{"X", dt, []int64{-1, int64(in)}, nil, nil}},
		[]tconst{
			{"W1", dt, []int64{int64(in), int64(hidden)}, seq(in*hidden, 1)},
			{"B1", dt, []int64{int64(hidden)}, seq(hidden, 2)},
			{"W2", dt, []int64{int64(hidden), int64(out)}, seq(hidden*out, 3)},
			{"B2", dt, []int64{int64(out)}, seq(out, 4)},
		},
		[]graph.Node{
			{Op: "Gemm", Inputs: []string{"X", "W1", "B1"}, Outputs: []string{"H1"}},
			{Op: "Relu", Inputs: []string{"H1"}, Outputs: []string{"A1"}},
			{Op: "Gemm", Inputs: []string{"A1", "W2", "B2"}, Outputs: []string{"Z"}},
			{Op: "Softmax", Inputs: []string{"Z"}, Outputs: []string{"probs"}},
			{Op: "ArgMax", Inputs: []string{"Z"}, Outputs: []string{"label"},
				Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}, {Name: "keepdims", Type: graph.AttrInt, Int: 0}}},
		}, []string{"probs", "label"}, opts)
}

func xbatch(dt dtype.DType, rows, cols int, seed float64) Tensor {
	return NewTensor(dt, []int64{int64(rows), int64(cols)}, encode(dt, seq(rows*cols, seed)))
}

func TestDynamicBatch(t *testing.T) {
	m := mlp(t, dtype.Float64, 4, 8, 3, Options{})
	s, _ := m.NewSession()
	defer s.Close()
	// Row r of a batch must equal the same row run alone.
	big := xbatch(dtype.Float64, 5, 4, 0.3)
	outs := []Tensor{{Data: make([]byte, 5*3*8)}, {Data: make([]byte, 5*8)}}
	if err := s.Run([]Tensor{big}, outs); err != nil {
		t.Fatal(err)
	}
	probs := decode(dtype.Float64, outs[0].Data)
	labels := decode(dtype.Int64, outs[1].Data)
	for r := 0; r < 5; r++ {
		one := NewTensor(dtype.Float64, []int64{1, 4}, big.Data[r*32:r*32+32])
		o := []Tensor{{Data: make([]byte, 24)}, {Data: make([]byte, 8)}}
		if err := s.Run([]Tensor{one}, o); err != nil {
			t.Fatal(err)
		}
		near(t, "probs row", decode(dtype.Float64, o[0].Data), probs[r*3:r*3+3], 1e-13)
		near(t, "label row", decode(dtype.Int64, o[1].Data), labels[r:r+1], 0)
	}
	// Zero rows is a valid batch.
	o := []Tensor{{}, {}}
	if err := s.Run([]Tensor{NewTensor(dtype.Float64, []int64{0, 4}, nil)}, o); err != nil {
		t.Fatal(err)
	}
	if o[0].Shape()[0] != 0 || len(o[0].Data) != 0 {
		t.Fatalf("zero batch gave %v", o[0].Shape())
	}
}

func TestInputErrors(t *testing.T) {
	m := mlp(t, dtype.Float32, 4, 8, 3, Options{})
	s, _ := m.NewSession()
	defer s.Close()
	outs := func() []Tensor { return []Tensor{{Data: make([]byte, 1024)}, {Data: make([]byte, 1024)}} }
	cases := []struct {
		name string
		in   []Tensor
		outs []Tensor
		want errs.Code
	}{
		{"wrong dtype", []Tensor{xbatch(dtype.Float64, 2, 4, 0)}, outs(), errs.DType},
		{"wrong features", []Tensor{xbatch(dtype.Float32, 2, 5, 0)}, outs(), errs.Shape},
		{"wrong rank", []Tensor{NewTensor(dtype.Float32, []int64{8}, make([]byte, 32))}, outs(), errs.Shape},
		{"bad rank", []Tensor{{DType: dtype.Float32, Rank: 9}}, outs(), errs.Shape},
		{"negative dim", []Tensor{NewTensor(dtype.Float32, []int64{-2, 4}, nil)}, outs(), errs.Shape},
		{"short data", []Tensor{NewTensor(dtype.Float32, []int64{2, 4}, make([]byte, 31))}, outs(), errs.InvalidValue},
		{"too many inputs", []Tensor{xbatch(dtype.Float32, 2, 4, 0), xbatch(dtype.Float32, 2, 4, 0)}, outs(), errs.InvalidValue},
		{"too few outputs", []Tensor{xbatch(dtype.Float32, 2, 4, 0)}, outs()[:1], errs.InvalidValue},
		{"small output", []Tensor{xbatch(dtype.Float32, 2, 4, 0)}, []Tensor{{Data: make([]byte, 23)}, {Data: make([]byte, 16)}}, errs.BufferTooSmall},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, s.Run(c.in, c.outs), c.want)
		})
	}
	// BufferTooSmall still reports the shape needed.
	o := []Tensor{{Data: make([]byte, 4)}, {Data: make([]byte, 16)}}
	_ = s.Run([]Tensor{xbatch(dtype.Float32, 2, 4, 0)}, o)
	if o[0].Rank != 2 || o[0].Dims[0] != 2 || o[0].Dims[1] != 3 {
		t.Fatalf("needed shape not reported: %v", o[0].Shape())
	}
	// The session still works after errors.
	if err := s.Run([]Tensor{xbatch(dtype.Float32, 2, 4, 0)}, outs()); err != nil {
		t.Fatal(err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	m := mlp(t, dtype.Float32, 4, 8, 3, Options{})
	s, _ := m.NewSession()
	if err := m.Close(); err != nil { // the session keeps the model alive
		t.Fatal(err)
	}
	if _, err := m.NewSession(); errs.CodeOf(err) != errs.BadHandle {
		t.Fatalf("NewSession after Close: %v", err)
	}
	outs := []Tensor{{Data: make([]byte, 12)}, {Data: make([]byte, 8)}}
	if err := s.Run([]Tensor{xbatch(dtype.Float32, 1, 4, 0)}, outs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Run([]Tensor{xbatch(dtype.Float32, 1, 4, 0)}, outs), errs.BadHandle)
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	m := mlp(t, dtype.Float32, 16, 64, 5, Options{Threads: 2})
	const goroutines, runs = 8, 200
	var wg sync.WaitGroup
	errc := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			s, err := m.NewSession()
			if err != nil {
				errc <- err
				return
			}
			defer s.Close()
			in := []Tensor{xbatch(dtype.Float32, 3+g, 16, float64(g))}
			var first []byte
			for r := 0; r < runs; r++ {
				outs := []Tensor{{Data: make([]byte, (3+g)*5*4)}, {Data: make([]byte, (3+g)*8)}}
				if err := s.Run(in, outs); err != nil {
					errc <- err
					return
				}
				if first == nil {
					first = outs[0].Data
				} else if !bytes.Equal(first, outs[0].Data) {
					errc <- errs.New(errs.Internal, "goroutine %d run %d differs", g, r)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func TestSharedSessionIsRefused(t *testing.T) {
	m := mlp(t, dtype.Float32, 64, 256, 8, Options{Threads: 1})
	s, _ := m.NewSession()
	defer s.Close()
	in := []Tensor{xbatch(dtype.Float32, 64, 64, 1)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[errs.Code]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				outs := []Tensor{{Data: make([]byte, 64*8*4)}, {Data: make([]byte, 64*8)}}
				err := s.Run(in, outs)
				mu.Lock()
				codes[errs.CodeOf(err)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for c := range codes {
		if c != errs.OK && c != errs.Busy {
			t.Fatalf("unexpected code %v (%v)", c, codes)
		}
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	for _, rows := range []int{1, 4096} { // 4096 rows exercise the parallel paths
		m := mlp(t, dtype.Float32, 32, 128, 10, Options{Threads: 2})
		s, _ := m.NewSession()
		in := []Tensor{xbatch(dtype.Float32, rows, 32, 0)}
		outs := []Tensor{{Data: make([]byte, rows*10*4)}, {Data: make([]byte, rows*8)}}
		run := func() {
			outs[0].Data, outs[1].Data = outs[0].Data[:cap(outs[0].Data)], outs[1].Data[:cap(outs[1].Data)]
			if err := s.Run(in, outs); err != nil {
				t.Fatal(err)
			}
		}
		run()
		if a := testing.AllocsPerRun(20, run); a != 0 {
			t.Errorf("%d rows: %v allocs per run, want 0", rows, a)
		}
		s.Close()
	}
}

func TestMemoryPlan(t *testing.T) {
	// A chain of 6 ops that do not fuse (Softmax): one-buffer-per-tensor
	// needs 6 buffers, lifetimes allow 2. A chain of 6 Relus fuses into one
	// step with one buffer; unfused, each Relu runs in place over the last.
	for _, c := range []struct {
		op                 string
		noFusion           bool
		naive, arena, bufs int64
	}{{"Softmax", false, 6, 2, 6}, {"Relu", false, 1, 1, 1}, {"Relu", true, 6, 1, 6}} {
		var nodes []graph.Node
		prev := "X"
		for i := 0; i < 6; i++ {
			out := "T" + string(rune('a'+i))
			nodes = append(nodes, graph.Node{Op: c.op, Inputs: []string{prev}, Outputs: []string{out}})
			prev = out
		}
		m := buildModel(t, []tin{{"X", dtype.Float32, []int64{-1, 1000}, nil, nil}}, nil, nodes, []string{prev}, Options{NoFusion: c.noFusion})
		s, _ := m.NewSession()
		st, err := s.Memory([]Tensor{NewTensor(dtype.Float32, []int64{10, 1000}, nil)})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.NaiveBytes != c.naive*40000 || st.ArenaBytes != c.arena*40000 || int64(st.Buffers) != c.bufs {
			t.Fatalf("%s chain: plan %+v", c.op, st)
		}
	}
}

func TestViewsAndPassThrough(t *testing.T) {
	// Outputs may be a graph input, a stored tensor, or a view of either.
	ins := []tin{{"X", dtype.Float32, []int64{2, 3}, []int64{2, 3}, seq(6, 0)}}
	m := buildModel(t, ins, []tconst{{"C", dtype.Float32, []int64{3}, []float64{1, 2, 3}}, {"S", dtype.Int64, []int64{1}, []float64{-1}}},
		[]graph.Node{
			{Op: "Reshape", Inputs: []string{"X", "S"}, Outputs: []string{"flat"}},
			{Op: "Identity", Inputs: []string{"C"}, Outputs: []string{"c2"}},
			{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"unused"}}, // dead: not an output
		}, []string{"X", "C", "flat", "c2"}, Options{})
	outs, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	x := decode(dtype.Float32, encode(dtype.Float32, seq(6, 0)))
	near(t, "X", decode(dtype.Float32, outs[0].Data), x, 0)
	near(t, "C", decode(dtype.Float32, outs[1].Data), []float64{1, 2, 3}, 0)
	near(t, "flat", decode(dtype.Float32, outs[2].Data), x, 0)
	near(t, "c2", decode(dtype.Float32, outs[3].Data), []float64{1, 2, 3}, 0)
	if live := liveNodes(m.g, m.g.Outputs); len(live) != 3 || live[2] {
		t.Fatalf("dead node not pruned: %v", live)
	}
}

func TestOpenOptions(t *testing.T) {
	m := mlp(t, dtype.Float32, 4, 8, 3, Options{})
	path := m.File().Size()
	_ = path
	dir := t.TempDir()
	b := format.NewBuilder()
	b.AddInput("X", dtype.Float32, []int64{1})
	b.AddNode(graph.Node{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"Y"}})
	b.AddOutput("Y")
	p := filepath.Join(dir, "r.mle")
	if _, err := b.Save(p); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p, Options{Device: "cuda"})
	wantCode(t, err, errs.UnsupportedDevice)
	_, err = Open(p, Options{Device: "tpu"})
	wantCode(t, err, errs.InvalidOptions)
	_, err = Open(p, Options{Threads: -1})
	wantCode(t, err, errs.InvalidOptions)
	for _, o := range []Options{{ReadAll: true}, {Verify: true}, {Threads: 1}} {
		m, err := Open(p, o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		m.Close()
	}
	data, _ := os.ReadFile(p)
	mm, err := OpenBytes(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mm.Close()
}

func TestArenaLimit(t *testing.T) {
	m := mlp(t, dtype.Float32, 4, 1000, 3, Options{MaxArenaBytes: 1 << 20})
	_, err := runModel(t, m, []Tensor{xbatch(dtype.Float32, 1000, 4, 0)})
	wantCode(t, err, errs.NoMemoryLimit)
}

// A file truncated while mapped must give IOFault, not SIGBUS.
func TestTruncatedWhileMapped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.mle")
	b := format.NewBuilder()
	b.AddInput("X", dtype.Float32, []int64{1, 1024})
	b.AddTensor("W", dtype.Float32, []int64{1024, 256}, make([]byte, 1024*256*4))
	b.AddNode(graph.Node{Op: "MatMul", Inputs: []string{"X", "W"}, Outputs: []string{"Y"}})
	b.AddOutput("Y")
	if _, err := b.Save(p); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := os.Truncate(p, 8192); err != nil {
		t.Fatal(err)
	}
	_, err = runModel(t, m, []Tensor{NewTensor(dtype.Float32, []int64{1, 1024}, make([]byte, 4096))})
	wantCode(t, err, errs.IOFault)
}

// Closing a model while other goroutines create sessions: each NewSession
// either fails with BadHandle or returns a session that works.
func TestCloseRacesNewSession(t *testing.T) {
	for round := 0; round < 20; round++ {
		m := mlp(t, dtype.Float32, 4, 8, 3, Options{Threads: 1})
		var wg sync.WaitGroup
		errc := make(chan error, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := m.NewSession()
				if err != nil {
					if errs.CodeOf(err) != errs.BadHandle {
						errc <- err
					}
					return
				}
				defer s.Close()
				outs := []Tensor{{Data: make([]byte, 12)}, {Data: make([]byte, 8)}}
				if err := s.Run([]Tensor{xbatch(dtype.Float32, 1, 4, 0)}, outs); err != nil {
					errc <- err
				}
			}()
		}
		m.Close()
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
	}
}

// RunSelected computes only what the selected outputs need.
func TestRunSelected(t *testing.T) {
	m := mlp(t, dtype.Float64, 4, 8, 3, Options{})
	s, _ := m.NewSession()
	defer s.Close()
	in := []Tensor{xbatch(dtype.Float64, 5, 4, 0.3)}
	all := []Tensor{{Data: make([]byte, 5*3*8)}, {Data: make([]byte, 5*8)}}
	if err := s.Run(in, all); err != nil {
		t.Fatal(err)
	}
	only := []Tensor{{Data: make([]byte, 5*8)}}
	if err := s.RunSelected(in, only, []int{1}); err != nil {
		t.Fatal(err)
	}
	near(t, "label", decode(dtype.Int64, only[0].Data), decode(dtype.Int64, all[1].Data), 0)
	// The label does not need Softmax: the plan skips it.
	for _, p := range s.plans {
		if !p.all {
			for _, st := range p.steps {
				if st.node.Op == "Softmax" {
					t.Fatal("Softmax ran for a label-only selection")
				}
			}
		}
	}
	swapped := []Tensor{{Data: make([]byte, 5*8)}, {Data: make([]byte, 5*3*8)}}
	if err := s.RunSelected(in, swapped, []int{1, 0}); err != nil {
		t.Fatal(err)
	}
	near(t, "probs", decode(dtype.Float64, swapped[1].Data), decode(dtype.Float64, all[0].Data), 0)
	for _, bad := range [][]int{{2}, {0, 0}, {-1}} {
		wantCode(t, s.RunSelected(in, make([]Tensor, len(bad)), bad), errs.InvalidValue)
	}
	if a := testing.AllocsPerRun(50, func() {
		only[0].Data = only[0].Data[:cap(only[0].Data)]
		s.RunSelected(in, only, []int{1})
	}); a != 0 {
		t.Errorf("%v allocs per selected run", a)
	}
}

func TestThreadsLimit(t *testing.T) {
	b := format.NewBuilder()
	b.AddInput("X", dtype.Float32, []int64{1})
	b.AddNode(graph.Node{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"Y"}})
	b.AddOutput("Y")
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenBytes(data, Options{Threads: MaxThreads + 1})
	wantCode(t, err, errs.InvalidOptions)
}
