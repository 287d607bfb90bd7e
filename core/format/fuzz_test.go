package format

import (
	"bytes"
	"crypto/ed25519"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
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
	// Encoded and signed seeds, so the fuzzer starts inside those parsers.
	for _, v := range []struct {
		name string
		o    WriteOptions
	}{
		{"open/zstd.mle", WriteOptions{Compress: codec.Zstd, ChunkSize: 4096}},
		{"open/int8-lz4.mle", WriteOptions{Quantize: codec.Int8, Compress: codec.LZ4, ChunkSize: 4096}},
		{"open/fp16-brotli.mle", WriteOptions{Quantize: codec.FP16, Compress: codec.Brotli, ChunkSize: 4096}},
		{"open/signed.mle", WriteOptions{SignKeys: []ed25519.PrivateKey{fuzzSignKey}}},
	} {
		b, _, err := seedModel(t).BytesWith(v.o)
		if err != nil {
			t.Fatal(err)
		}
		files[v.name] = b
	}
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
	// An encrypted seed (its salt is random, so it is made here, not stored).
	plain, err := seedModel(f).Bytes()
	if err != nil {
		f.Fatal(err)
	}
	enc, err := Encrypt(plain, fuzzKey, 4096)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Fuzz(func(t *testing.T, b []byte) {
		// Open validates from a copy of the bytes before WEIGHTS: as from the file.
		checkHeadsAt(t, b, []int{headEnd(b[:min(len(b), headRead)], int64(len(b))), len(b) / 3})
		file, err := Parse(b, OpenOptions{Key: fuzzKey, TrustedKeys: []ed25519.PublicKey{fuzzSignKey.Public().(ed25519.PublicKey)},
			PolicyContext: &PolicyContext{Now: time.Unix(1.8e9, 0), Host: "fuzz", User: "fuzz", Runtime: LibraryVersion}})
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.OK {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		defer file.Close()
		// A descriptor may declare a tensor of gigabytes that a small
		// stream (brotli, lz4) really fills: correct, but too slow to fuzz.
		var total uint64
		for i := range file.Tensors {
			_ = file.TensorData(i) // must be in bounds
			if file.Tensors[i].RawLen > 1<<22 {
				total = 1 << 62
				continue
			}
			total += file.Tensors[i].RawLen
			data, err := file.Load(i)
			if c := errs.CodeOf(err); c == errs.Internal || (err != nil && c == errs.OK) {
				t.Fatalf("tensor %d: uncoded error: %v", i, err)
			}
			if err == nil && uint64(len(data)) != file.Tensors[i].RawLen {
				t.Fatalf("tensor %d decodes to %d bytes, not %d", i, len(data), file.Tensors[i].RawLen)
			}
		}
		if total <= 1<<22 {
			if err := file.Verify(); errs.CodeOf(err) == errs.Internal {
				t.Fatal(err)
			}
		}
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

// Keys of the fuzz seeds: fixed, so the committed seeds stay the same.
var (
	fuzzKey     = bytes.Repeat([]byte{0x5a}, EncryptionKeySize)
	fuzzSignKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))
)

// seedModel is a small Gemm model whose weights compress.
func seedModel(t testing.TB) *Builder {
	t.Helper()
	b := NewBuilder()
	w := make([]float32, 16*64)
	for i := range w {
		w[i] = float32(i%17) / 64
	}
	for _, err := range []error{
		b.SetMetadataJSON([]byte(`{"name":"seed","created":"2026-01-02T03:04:05Z","policy":{"min_runtime":"0.1.0"},"lineage":{"author":"fuzz"}}`)),
		b.AddInput("X", dtype.Float32, []int64{-1, 16}),
		b.AddTensor("W", dtype.Float32, []int64{16, 64}, f32bytes(w...)),
		b.AddTensor("B", dtype.Float32, []int64{64}, f32bytes(w[:64]...)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.AddNode(graph.Node{Op: "Gemm", Inputs: []string{"X", "W", "B"}, Outputs: []string{"Y"}})
	if err := b.AddOutput("Y"); err != nil {
		t.Fatal(err)
	}
	return b
}
