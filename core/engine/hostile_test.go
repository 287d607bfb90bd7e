package engine

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

const huge = int64(1) << 40

// Operands with no elements next to huge dimensions: every op must finish
// at once with an empty result (no loop over the huge outer dimensions, no
// allocation sized by them).
func TestEmptyOperandsDoNoWork(t *testing.T) {
	x := func(shape ...int64) tin {
		return tin{name: "X", dt: dtype.Float32, sig: []int64{-1, -1}, shape: shape}
	}
	one := func(op string, attrs ...graph.Attr) []graph.Node {
		return []graph.Node{{Op: op, Inputs: []string{"X"}, Outputs: []string{"Y"}, Attrs: attrs}}
	}
	axis := func(v int64) graph.Attr { return graph.Attr{Name: "axis", Type: graph.AttrInt, Int: v} }
	cases := []struct {
		name   string
		ins    []tin
		consts []tconst
		nodes  []graph.Node
	}{
		{"softmax", []tin{x(huge, 0)}, nil, one("Softmax")},
		{"logsoftmax axis 0", []tin{x(0, huge)}, nil, one("LogSoftmax", axis(0))},
		{"relu", []tin{x(huge, 0)}, nil, one("Relu")},
		{"exp", []tin{x(0, huge)}, nil, one("Exp")},
		{"transpose", []tin{x(huge, 0)}, nil, one("Transpose")},
		{"cast", []tin{x(huge, 0)}, nil, one("Cast", graph.Attr{Name: "to", Type: graph.AttrInt, Int: int64(dtype.Float64)})},
		{"isnan", []tin{x(huge, 0)}, nil, one("IsNaN")},
		{"clip", []tin{x(huge, 0)}, nil, one("Clip")},
		{"argmax axis 1", []tin{x(0, huge)}, nil, one("ArgMax", axis(1))},
		{"reduce to empty", []tin{x(huge, 0)}, nil, one("ReduceSum", graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{0}})},
		{"layernorm", []tin{x(huge, 0)}, []tconst{{"S", dtype.Float32, []int64{0}, nil}},
			[]graph.Node{{Op: "LayerNormalization", Inputs: []string{"X", "S"}, Outputs: []string{"Y"}}}},
		{"concat", []tin{x(huge, 0)}, nil, []graph.Node{{Op: "Concat", Inputs: []string{"X", "X"}, Outputs: []string{"Y"}, Attrs: []graph.Attr{axis(0)}}}},
		{"add broadcast", []tin{x(huge, 0)}, []tconst{{"B", dtype.Float32, []int64{1, 1}, []float64{1}}},
			[]graph.Node{{Op: "Add", Inputs: []string{"X", "B"}, Outputs: []string{"Y"}}}},
		{"equal", []tin{x(huge, 0)}, []tconst{{"B", dtype.Float32, []int64{1}, []float64{1}}},
			[]graph.Node{{Op: "Equal", Inputs: []string{"X", "B"}, Outputs: []string{"Y"}}}},
		{"gather rows of nothing", []tin{x(huge, 0)}, []tconst{{"I", dtype.Int64, []int64{3}, []float64{0, 1, 2}}},
			[]graph.Node{{Op: "Gather", Inputs: []string{"X", "I"}, Outputs: []string{"Y"}}}},
		{"matmul", []tin{x(0, huge)}, []tconst{{"W", dtype.Float32, []int64{1, 3}, []float64{1, 2, 3}},
			{"S", dtype.Int64, []int64{2}, []float64{-1, 1}}},
			[]graph.Node{{Op: "Reshape", Inputs: []string{"X", "S"}, Outputs: []string{"R"}},
				{Op: "MatMul", Inputs: []string{"R", "W"}, Outputs: []string{"Y"}}}},
		{"where", []tin{x(huge, 0)}, []tconst{{"C", dtype.Bool, []int64{1}, []float64{1}}},
			[]graph.Node{{Op: "Where", Inputs: []string{"C", "X", "X"}, Outputs: []string{"Y"}}}},
		{"dropout mask", []tin{x(huge, 0)}, nil, []graph.Node{{Op: "Dropout", Inputs: []string{"X"}, Outputs: []string{"Y", "M"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := buildModel(t, c.ins, c.consts, c.nodes, []string{"Y"}, Options{MaxArenaBytes: 1 << 20})
			outs, err := runModel(t, m, inputsOf(c.ins))
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := dtype.NumElements(outs[0].Shape()); n != 0 || len(outs[0].Data) != 0 {
				t.Fatalf("output %v with %d bytes, want no elements", outs[0].Shape(), len(outs[0].Data))
			}
		})
	}
}

// Shapes no run could hold are refused with a specific code before any
// memory is taken.
func TestHugeShapesRefused(t *testing.T) {
	add := []graph.Node{{Op: "Add", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}}}
	sig := []int64{-1, -1, -1}
	cases := []struct {
		name  string
		a, b  []int64
		limit int64
		want  errs.Code
	}{
		{"broadcast past the limit", []int64{1 << 20, 1, 1}, []int64{1, 1 << 20, 1}, 0, errs.NoMemoryLimit},
		{"broadcast past any size", []int64{huge, 1, 0}, []int64{1, huge, 0}, 0, errs.ShapeTooLarge},
		{"small limit", []int64{64, 1, 1}, []int64{1, 64, 1}, 1024, errs.NoMemoryLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ins := []tin{{name: "A", dt: dtype.Float64, sig: sig, shape: c.a, values: make([]float64, max(prod(c.a), 0))},
				{name: "B", dt: dtype.Float64, sig: sig, shape: c.b, values: make([]float64, max(prod(c.b), 0))}}
			if c.name == "broadcast past any size" {
				ins[0].values, ins[1].values = nil, nil
			}
			m := buildModel(t, ins, nil, add, []string{"Y"}, Options{MaxArenaBytes: c.limit})
			_, err := runModel(t, m, inputsOf(ins))
			wantCode(t, err, c.want)
		})
	}
}

// A reduction's accumulators are scratch in the arena, so the limit covers
// them: [n, 1] summed over axis 1 needs n outputs plus n float64s.
func TestScratchCountsAgainstLimit(t *testing.T) {
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{-1, -1}, shape: []int64{1 << 14, 1}, values: make([]float64, 1<<14)}}
	nodes := []graph.Node{{Op: "ReduceSum", Inputs: []string{"X"}, Outputs: []string{"Y"},
		Attrs: []graph.Attr{{Name: "axes", Type: graph.AttrInts, Ints: []int64{1}}}}}
	// Output 64 KiB + scratch 128 KiB: 160 KiB is not enough, 256 KiB is.
	m := buildModel(t, ins, nil, nodes, []string{"Y"}, Options{MaxArenaBytes: 160 << 10})
	_, err := runModel(t, m, inputsOf(ins))
	wantCode(t, err, errs.NoMemoryLimit)
	m = buildModel(t, ins, nil, nodes, []string{"Y"}, Options{MaxArenaBytes: 256 << 10})
	if _, err := runModel(t, m, inputsOf(ins)); err != nil {
		t.Fatal(err)
	}
}

// Outputs the library allocates count against the limit too.
func TestAllocatedOutputsCountAgainstLimit(t *testing.T) {
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{-1}, shape: []int64{1 << 16}, values: make([]float64, 1<<16)}}
	nodes := []graph.Node{{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"Y"}}}
	m := buildModel(t, ins, nil, nodes, []string{"Y"}, Options{MaxArenaBytes: 300 << 10}) // arena 256 KiB
	s, _ := m.NewSession()
	defer s.Close()
	calls := 0
	alloc := func(i int, _ *Tensor, n int64) ([]byte, error) { calls++; return make([]byte, n), nil }
	outs := make([]Tensor, 1)
	err := s.RunAlloc(inputsOf(ins), outs, nil, RunOptions{}, alloc)
	wantCode(t, err, errs.NoMemoryLimit)
	if calls != 0 {
		t.Fatalf("alloc called %d times for a run over the limit", calls)
	}
	// With the caller's own buffer the same run fits.
	outs[0].Data = make([]byte, 1<<18)
	if err := s.RunAlloc(inputsOf(ins), outs, nil, RunOptions{}, alloc); err != nil {
		t.Fatal(err)
	}
}

// matmulModel multiplies two run-time float32 matrices.
func matmulModel(t testing.TB, opts Options) *Model {
	ins := []tin{{name: "A", dt: dtype.Float32, sig: []int64{-1, -1}}, {name: "B", dt: dtype.Float32, sig: []int64{-1, -1}}}
	return buildModel(t, ins, nil, []graph.Node{{Op: "MatMul", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}}}, []string{"Y"}, opts)
}

func square(n int64) Tensor {
	return NewTensor(dtype.Float32, []int64{n, n}, make([]byte, 4*n*n))
}

func TestCancelAndTimeout(t *testing.T) {
	for _, threads := range []int{1, 2} {
		m := matmulModel(t, Options{Threads: threads})
		s, _ := m.NewSession()
		// 2048³ multiply-adds: well over the 10 ms the cancel waits, even
		// with AVX-512 kernels on two threads.
		ins := []Tensor{square(2048), square(2048)}
		out := []Tensor{{Data: make([]byte, 4*2048*2048)}}

		err := s.RunWith(ins, out, nil, RunOptions{Timeout: time.Millisecond})
		wantCode(t, err, errs.CancelledDeadline)

		var flag atomic.Int32
		flag.Store(1)
		err = s.RunWith(ins, out, nil, RunOptions{Cancel: &flag})
		wantCode(t, err, errs.Cancelled)

		flag.Store(0)
		go func() { time.Sleep(10 * time.Millisecond); flag.Store(1) }()
		start := time.Now()
		err = s.RunWith(ins, out, nil, RunOptions{Cancel: &flag})
		wantCode(t, err, errs.Cancelled)
		t.Logf("threads %d: cancelled after %v", threads, time.Since(start))

		// The session is whole afterwards: a small run gives the right answer.
		a := NewTensor(dtype.Float32, []int64{1, 2}, encode(dtype.Float32, []float64{1, 2}))
		b := NewTensor(dtype.Float32, []int64{2, 1}, encode(dtype.Float32, []float64{3, 4}))
		small := []Tensor{{Data: make([]byte, 4)}}
		if err := s.RunWith([]Tensor{a, b}, small, nil, RunOptions{Timeout: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if got := decode(dtype.Float32, small[0].Data); got[0] != 11 {
			t.Fatalf("after a cancelled run: %v, want 11", got)
		}
		wantCode(t, s.RunWith([]Tensor{a, b}, small, nil, RunOptions{Timeout: -1}), errs.InvalidOptions)
		s.Close()
	}
}

func TestOverlappingBuffersRefused(t *testing.T) {
	ins := []tin{{name: "X", dt: dtype.Float32, sig: []int64{4}, shape: []int64{4}, values: []float64{1, -2, 3, -4}}}
	nodes := []graph.Node{{Op: "Identity", Inputs: []string{"X"}, Outputs: []string{"A"}}, {Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"B"}}}
	m := buildModel(t, ins, nil, nodes, []string{"A", "B"}, Options{})
	s, _ := m.NewSession()
	defer s.Close()
	in := inputsOf(ins)
	// Output A written into X's own memory would change what B is computed from.
	outs := []Tensor{{Data: in[0].Data}, {Data: make([]byte, 16)}}
	wantCode(t, s.Run(in, outs), errs.InvalidValue)
	shared := make([]byte, 24)
	outs = []Tensor{{Data: shared[:16]}, {Data: shared[8:]}}
	wantCode(t, s.Run(in, outs), errs.InvalidValue)
	outs = []Tensor{{Data: shared[:16:16]}, {Data: make([]byte, 16)}}
	if err := s.Run(in, outs); err != nil {
		t.Fatal(err)
	}
}

// guarded returns n readable bytes followed by an unmapped page: a caller
// buffer that claims more bytes than it has.
func guarded(t *testing.T, n int) []byte {
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	start := page - n
	// Claim a whole page more than is readable.
	return unsafe.Slice(&mem[start], n+page)
}

func TestCallerBufferFaultsBlameTheCaller(t *testing.T) {
	m := buildModel(t, []tin{{name: "X", dt: dtype.Float32, sig: []int64{-1}}}, nil,
		[]graph.Node{{Op: "Relu", Inputs: []string{"X"}, Outputs: []string{"Y"}}}, []string{"Y"}, Options{})
	s, _ := m.NewSession()
	defer s.Close()
	in := guarded(t, 64)
	n := int64(len(in) / 4)
	err := s.Run([]Tensor{NewTensor(dtype.Float32, []int64{n}, in)}, []Tensor{{Data: make([]byte, len(in))}})
	wantCode(t, err, errs.InvalidBuffer)
	if !containsAll(errs.Message(err), `input "X"`) {
		t.Fatalf("message does not name the input: %v", err)
	}
	out := guarded(t, 64)
	err = s.Run([]Tensor{NewTensor(dtype.Float32, []int64{n}, make([]byte, len(out)))}, []Tensor{{Data: out}})
	wantCode(t, err, errs.InvalidBuffer)
	if !containsAll(errs.Message(err), `output "Y"`) {
		t.Fatalf("message does not name the output: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestDefaultMemoryLimitRespectsMachine(t *testing.T) {
	d := DefaultMaxMemory()
	if d <= 0 || d > DefaultMaxArenaBytes {
		t.Fatalf("DefaultMaxMemory() = %d", d)
	}
	m := matmulModel(t, Options{})
	if m.MaxMemory() != d {
		t.Fatalf("model limit %d, default %d", m.MaxMemory(), d)
	}
}

// A compressed tensor is small in the file and large once decoded: the
// decoded bytes count against the memory limit before any is allocated.
// (A zstd stream of 8 MiB of zeros is a few hundred bytes.)
func TestDecodedTensorsCountAgainstLimit(t *testing.T) {
	b := format.NewBuilder()
	const n = 1 << 20
	for _, err := range []error{
		b.AddInput("X", dtype.Float64, []int64{-1, n}),
		b.AddTensor("Z", dtype.Float64, []int64{n}, make([]byte, 8*n)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.AddNode(graph.Node{Op: "Add", Inputs: []string{"X", "Z"}, Outputs: []string{"Y"}})
	if err := b.AddOutput("Y"); err != nil {
		t.Fatal(err)
	}
	data, _, err := b.BytesWith(format.WriteOptions{Compress: codec.Zstd})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 64<<10 {
		t.Fatalf("8 MiB of zeros compressed to %d bytes", len(data))
	}
	x := Tensor{DType: dtype.Float64, Rank: 2, Dims: [dtype.MaxRank]int64{1, n}, Data: make([]byte, 8*n)}
	for _, c := range []struct {
		limit int64
		want  errs.Code
	}{{6 << 20, errs.NoMemoryLimit}, {64 << 20, errs.OK}} {
		m, err := OpenBytes(data, Options{MaxArenaBytes: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		outs := make([]Tensor, 1)
		err = m.Run([]Tensor{x}, outs, nil, RunOptions{}, func(int, *Tensor, int64) ([]byte, error) { return make([]byte, 8*n), nil })
		wantCode(t, err, c.want)
		if err != nil && !strings.Contains(err.Error(), "decoding") {
			t.Errorf("refused for another reason: %v", err)
		}
		m.Close()
	}
}
