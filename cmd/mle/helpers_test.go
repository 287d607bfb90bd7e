package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/npy"
)

const (
	inDim  = 64
	outDim = 32
)

// weights returns deterministic pseudo-random weights in [-1, 1), rounded
// to 1/64 so that they compress (few distinct values) yet quantize with
// an error.
func weights(seed uint64) []float32 {
	w := make([]float32, inDim*outDim)
	x := seed*2654435761 + 1
	for i := range w {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w[i] = float32(int(x%128)-64) / 64
	}
	return w
}

// bigModel writes Y = X·W + label = ArgMax(Y) with X [-1, 64] and W
// [64, 32], with metadata meta (created is fixed so that two builds are
// identical). edit may change the builder before it saves.
func bigModel(t *testing.T, path, meta string, w []float32, edit func(b *format.Builder)) string {
	t.Helper()
	return bigModelKeepdims(t, path, meta, w, 0, edit)
}

// bigModelKeepdims is bigModel with ArgMax's keepdims attribute given.
func bigModelKeepdims(t *testing.T, path, meta string, w []float32, keepdims int64, edit func(b *format.Builder)) string {
	t.Helper()
	b := format.NewBuilder()
	if err := b.SetMetadataJSON([]byte(meta)); err != nil {
		t.Fatal(err)
	}
	b.AddInput("X", dtype.Float32, []int64{-1, inDim})
	b.AddTensor("W", dtype.Float32, []int64{inDim, outDim}, f32s(w...))
	b.AddNode(graph.Node{Name: "mm", Op: "MatMul", Inputs: []string{"X", "W"}, Outputs: []string{"Y"}})
	b.AddNode(graph.Node{Name: "am", Op: "ArgMax", Inputs: []string{"Y"}, Outputs: []string{"label"},
		Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}, {Name: "keepdims", Type: graph.AttrInt, Int: keepdims}}})
	b.AddOutput("Y")
	b.AddOutput("label")
	if edit != nil {
		edit(b)
	}
	if _, err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

const baseMeta = `{"name":"big","version":"2.0.0","created":"2024-05-01T12:00:00Z","properties":{"team":"ml"}}`

// inputFile writes a [rows, 64] float32 input.
func inputFile(t *testing.T, dir string) string {
	t.Helper()
	x := make([]float32, 5*inDim)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	p := filepath.Join(dir, "x.npy")
	if err := npy.WriteFile(p, &npy.Array{DType: dtype.Float32, Shape: []int64{5, inDim}, Data: f32s(x...)}); err != nil {
		t.Fatal(err)
	}
	return p
}

// runY runs model with the input and returns output Y; extra are more flags.
func runY(t *testing.T, model, input string, extra ...string) []float32 {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"run", model, "--input", "X=" + input, "--output-dir", out}, extra...)
	code, stdout, stderr := mle(args...)
	if code != 0 {
		t.Fatalf("mle %v: exit %d: %s %s", args, code, stdout, stderr)
	}
	a, err := npy.ReadFile(filepath.Join(out, "Y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(a.Data)/4)
	for i := range y {
		y[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
	}
	return y
}

// dirList returns the names in dir, sorted.
func dirList(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyFile writes a 32-byte encryption key made of seed.
func keyFile(t *testing.T, dir, name string, seed byte) string {
	return writeFile(t, filepath.Join(dir, name), bytes.Repeat([]byte{seed}, 32))
}

// wantAll fails unless s contains every string of want.
func wantAll(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, x := range want {
		if !strings.Contains(s, x) {
			t.Errorf("%s lacks %q:\n%s", what, x, s)
		}
	}
}
