package format

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// Seeds live in tests/fuzz (committed); regenerate them with
// go test ./core/format -run TestWriteFuzzSeeds -write-seeds
var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus in tests/fuzz")

const seedDir = "../../tests/fuzz"

func seedFiles(t testing.TB, pattern string) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(seedDir, pattern))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fuzz seeds %s in %s (%v)", pattern, seedDir, err)
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

// TestFuzzSeeds keeps the committed seed corpus equal to what the current
// writer produces; -write-seeds rewrites it.
func TestFuzzSeeds(t *testing.T) {
	files := map[string][]byte{}
	tiny := tinyParts()
	files["open/tiny.mle"] = tiny.bytes(t)
	files["graph/tiny.bin"] = EncodeGraph(&tiny.g)
	b, err := tinyModel(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	files["open/tiny-builder.mle"] = b
	for name, data := range files {
		path := filepath.Join(seedDir, name)
		if *writeSeeds {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(old, data) {
			t.Errorf("fuzz seed %s is stale (%v): run go test ./core/format -run TestFuzzSeeds -write-seeds", path, err)
		}
	}
}

// FuzzOpen: any bytes either open as a valid model whose every tensor lies
// inside the file, or fail with a coded error. Never a panic. Validating
// from a copy of the first bytes, as Open does, gives the same outcome.
func FuzzOpen(f *testing.F) {
	for _, s := range seedFiles(f, "open/*.mle") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Open validates from a copy of the bytes before WEIGHTS: as from the file.
		checkHeadsAt(t, b, []int{headEnd(b[:min(len(b), headRead)], int64(len(b))), len(b) / 3})
		file, err := Parse(b, OpenOptions{})
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.OK {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		for i := range file.Tensors {
			_ = file.TensorData(i) // must be in bounds
		}
		_ = file.Verify()
	})
}

// FuzzDecodeGraph: any bytes decode to a graph or fail with a coded error;
// a decoded graph re-encodes to the same bytes and can be checked safely.
func FuzzDecodeGraph(f *testing.F) {
	for _, s := range seedFiles(f, "graph/*.bin") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGraph(b)
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.OK {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		if _, err := graph.Check(g, noConsts{}); err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.OK {
				t.Fatalf("uncoded check error: %v", err)
			}
		}
		g2, err := DecodeGraph(EncodeGraph(g))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if len(g2.Nodes) != len(g.Nodes) || len(g2.Inputs) != len(g.Inputs) {
			t.Fatal("round trip changed the graph")
		}
	})
}

type noConsts struct{}

func (noConsts) Lookup(string) (graph.ValueInfo, bool) { return graph.ValueInfo{}, false }
func (noConsts) Int64s(name string) ([]int64, error) {
	return nil, errs.New(errs.GraphMissingTensor, "no %q", name)
}
