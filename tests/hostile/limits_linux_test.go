package hostile

import (
	"bufio"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// vmSize returns the process's current virtual memory size in bytes.
func vmSize(t testing.TB) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}

// setAddressSpace caps RLIMIT_AS at what the process has mapped now plus
// extra bytes (the race detector maps terabytes up front, so a fixed cap
// would not do).
func setAddressSpace(t testing.TB, extra uint64) {
	lim := vmSize(t) + extra
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Cur != unix.RLIM_INFINITY && cur.Cur < lim {
		return
	}
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: lim, Max: cur.Max}); err != nil {
		t.Fatal(err)
	}
}

var limitOnce sync.Once

func limitAddressSpace(t testing.TB) { limitOnce.Do(func() { setAddressSpace(t, 4<<30) }) }

// seeds reads the committed corpus in tests/fuzz/hostile.
func seeds(t testing.TB) [][]byte {
	paths, err := filepath.Glob("../fuzz/hostile/*.bin")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no seeds in tests/fuzz/hostile (%v)", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite tests/fuzz/hostile with byte strings that decode to valid models")

// TestWriteSeeds (with -write-seeds) searches random byte strings for ones
// that decode to valid models, one per op where it can, and commits them as
// the corpus.
func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		return
	}
	rng := rand.New(rand.NewPCG(7, 11))
	byOp := map[string][]byte{}
	for i := 0; i < 200000 && len(byOp) < len(graph.Ops()); i++ {
		b := make([]byte, 16+rng.IntN(48))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		c := Decode(b)
		if _, err := c.Build(); err != nil {
			continue
		}
		if op := c.Nodes[len(c.Nodes)-1].Op; byOp[op] == nil {
			byOp[op] = b
		}
	}
	dir := "../fuzz/hostile"
	old, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	for _, p := range old {
		os.Remove(p)
	}
	for op, b := range byOp {
		if err := os.WriteFile(filepath.Join(dir, op+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d seeds for %d ops", len(byOp), len(graph.Ops()))
}

// The seeds decode to models the checker accepts and that run cleanly.
func TestSeedsRun(t *testing.T) {
	valid := 0
	for _, s := range seeds(t) {
		c := Decode(s)
		model, err := c.Build()
		if err != nil {
			continue
		}
		valid++
		if err := c.Run(model, 1); err != nil {
			t.Fatal(err)
		}
	}
	if valid == 0 {
		t.Fatal("no seed decodes to a valid model")
	}
}

// FuzzHostile mutates graphs and their input shapes and runs what the
// checker accepts under the hostile limits (and, once per worker, a cap on
// the process's address space, so a stray Go-heap allocation sized by a
// tensor would abort the worker and be reported).
func FuzzHostile(f *testing.F) {
	for _, seed := range seeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		limitAddressSpace(t)
		c := Decode(data)
		model, err := c.Build()
		if err != nil {
			return // not a valid model
		}
		if err := c.Run(model, 2); err != nil {
			t.Fatal(err)
		}
	})
}

// Under a real address-space limit (RLIMIT_AS, as prlimit --as sets it) a
// run that needs more memory than the process may map is an error, and the
// process goes on: the arena comes from mmap, which fails cleanly, not from
// the Go heap, whose failure aborts. Runs in a child process: the limit
// must not leak into other tests.
func TestUnderAddressSpaceLimit(t *testing.T) {
	if os.Getenv("MLE_HOSTILE_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnderAddressSpaceLimit$", "-test.v")
		cmd.Env = append(os.Environ(), "MLE_HOSTILE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child under RLIMIT_AS: %v\n%s", err, out)
		}
		return
	}
	setAddressSpace(t, 1<<30)
	c := Case{Name: "outer", Inputs: []Input{{"A", dtype.Float32, []int64{-1, 1}, []int64{1 << 15, 1}}, {"B", dtype.Float32, []int64{1, -1}, []int64{1, 1 << 15}}},
		Nodes: []graph.Node{{Op: "Add", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}}}, Outputs: []string{"Y"}}
	model, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	ins, _ := c.Tensors()
	alloc := func(_ int, _ *engine.Tensor, n int64) ([]byte, error) { return make([]byte, n), nil }
	run := func(limit int64) error {
		m, err := engine.OpenBytes(model, engine.Options{MaxArenaBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		return m.Run(ins, make([]engine.Tensor, 1), nil, engine.RunOptions{}, alloc)
	}
	// A 4 GiB arena with the limit lifted: the system refuses the mapping.
	if err := run(1 << 40); errs.CodeOf(err) != errs.NoMemorySystem {
		t.Fatalf("4 GiB arena under RLIMIT_AS: %v, want MLE_ERR_NO_MEMORY_SYSTEM", err)
	}
	// A session whose arena could not grow runs its earlier shapes again
	// (their plan is cached; the arena it had was released).
	m, err := engine.OpenBytes(model, engine.Options{MaxArenaBytes: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewSession()
	tiny := []engine.Tensor{engine.NewTensor(dtype.Float32, []int64{2, 1}, make([]byte, 8)), engine.NewTensor(dtype.Float32, []int64{1, 2}, make([]byte, 8))}
	for i, want := range []errs.Code{errs.OK, errs.NoMemorySystem, errs.OK} {
		x := tiny
		if i == 1 {
			x = ins
		}
		if err := s.RunAlloc(x, make([]engine.Tensor, 1), nil, engine.RunOptions{}, alloc); errs.CodeOf(err) != want {
			t.Fatalf("run %d on one session: %v, want %v", i, err, want)
		}
	}
	s.Close()
	m.Close()
	// With the default limit, refused before trying (or by the system when
	// the address space was already large, as under the race detector).
	if code := errs.CodeOf(run(0)); code != errs.NoMemoryLimit && code != errs.NoMemorySystem {
		t.Fatalf("default limit under RLIMIT_AS: %v", code)
	}
	// The process is fine: a small run works.
	small := c
	small.Inputs = []Input{{"A", dtype.Float32, []int64{-1, 1}, []int64{2, 1}}, {"B", dtype.Float32, []int64{1, -1}, []int64{1, 2}}}
	if err := small.Run(model, 1); err != nil {
		t.Fatal(err)
	}
}
