package engine

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
)

// labelModel: scores x [n,3] -> ArgMax -> Gather of string classes -> label;
// and a string input s [n] whose first two elements, and then a stored
// word, come back as "picked" (Gather, Concat over strings).
func labelModel(t testing.TB, path string) *Model {
	t.Helper()
	b := format.NewBuilder()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddInput("x", dtype.Float64, []int64{-1, 3}))
	must(b.AddInput("s", dtype.String, []int64{-1}))
	must(b.AddTensor("classes", dtype.String, []int64{3}, strs.PackStrings([]string{"ant", "zebra", "東京"})))
	must(b.AddTensor("first2", dtype.Int64, []int64{2}, encode(dtype.Int64, []float64{1, 0})))
	must(b.AddTensor("word", dtype.String, []int64{1}, strs.PackStrings([]string{"café"})))
	b.AddNode(graph.Node{Op: "ArgMax", Inputs: []string{"x"}, Outputs: []string{"idx"},
		Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}, {Name: "keepdims", Type: graph.AttrInt, Int: 0}}})
	b.AddNode(graph.Node{Op: "Gather", Inputs: []string{"classes", "idx"}, Outputs: []string{"label"}})
	b.AddNode(graph.Node{Op: "Gather", Inputs: []string{"s", "first2"}, Outputs: []string{"two"}})
	b.AddNode(graph.Node{Op: "Concat", Inputs: []string{"two", "word"}, Outputs: []string{"picked"},
		Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 0}}})
	must(b.AddOutput("label"))
	must(b.AddOutput("picked"))
	return saveOpen(t, b, path, Options{})
}

func strInput(vals ...string) Tensor {
	return NewTensor(dtype.String, []int64{int64(len(vals))}, strs.PackStrings(vals))
}

func unpacked(t testing.TB, o Tensor) []string {
	t.Helper()
	if o.DType != dtype.String {
		t.Fatalf("output is %s, want string", o.DType)
	}
	n, _ := dtype.NumElements(o.Shape())
	if err := strs.Check(o.Data, n, errs.Internal); err != nil {
		t.Fatalf("the output is not a packed string tensor: %v", err)
	}
	if o.NBytes != int64(len(o.Data)) {
		t.Fatalf("NBytes %d, data %d bytes", o.NBytes, len(o.Data))
	}
	return strs.Unpack(o.Data, n)
}

func TestStringLabels(t *testing.T) {
	m := labelModel(t, filepath.Join(t.TempDir(), "m.mle"))
	x := NewTensor(dtype.Float64, []int64{4, 3}, encode(dtype.Float64, []float64{0, 1, 0, 5, 2, 1, 0, 0, 9, 1, 7, 3}))
	outs, err := runModel(t, m, []Tensor{x, strInput("q", "", "r")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(unpacked(t, outs[0]), ","); got != "zebra,ant,東京,zebra" {
		t.Errorf("labels %s", got)
	}
	if got := strings.Join(unpacked(t, outs[1]), ","); got != ",q,café" {
		t.Errorf("picked %q", got)
	}

	// A caller's buffer: too small gives the size needed, then the run fits.
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ins := []Tensor{x, strInput("a", "bb")}
	small := []Tensor{{Data: make([]byte, 10)}}
	err = s.RunSelected(ins, small, []int{1})
	wantCode(t, err, errs.BufferTooSmall)
	need := int64(8*4 + len("bba") + len("café"))
	if small[0].NBytes != need {
		t.Fatalf("NBytes %d after a too-small buffer, want %d", small[0].NBytes, need)
	}
	fit := []Tensor{{Data: make([]byte, need+5)}}
	if err := s.RunSelected(ins, fit, []int{1}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(unpacked(t, fit[0]), ","); got != "bb,a,café" {
		t.Errorf("picked %q", got)
	}
}

func TestStringInputErrors(t *testing.T) {
	m := labelModel(t, filepath.Join(t.TempDir(), "m.mle"))
	x := NewTensor(dtype.Float64, []int64{1, 3}, make([]byte, 24))
	bad := strs.PackStrings([]string{"ok", "x\xffy"})
	cases := map[string]Tensor{
		"invalid utf-8":  NewTensor(dtype.String, []int64{2}, bad),
		"short offsets":  NewTensor(dtype.String, []int64{2}, bad[:10]),
		"over-long":      strInput("a", strings.Repeat("x", strs.MaxBytes+1)),
		"text past last": NewTensor(dtype.String, []int64{2}, append(strs.PackStrings([]string{"a", "b"}), 'c')),
	}
	for name, s := range cases {
		_, err := runModel(t, m, []Tensor{x, s})
		if errs.CodeOf(err) != errs.InvalidString || !strings.Contains(err.Error(), `input "s"`) {
			t.Errorf("%s: %v, want MLE_ERR_INVALID_STRING naming input \"s\"", name, err)
		}
	}
	_, err := runModel(t, m, []Tensor{NewTensor(dtype.Float64, []int64{1, 3}, make([]byte, 24)),
		NewTensor(dtype.Float64, []int64{1}, make([]byte, 8))})
	wantCode(t, err, errs.DType)
}

// A stored string constant with invalid UTF-8 opens (open is O(1)) and is
// refused, naming the tensor, at its first run; verify refuses it at open.
func TestStoredStringDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.mle")
	labelModel(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("zebra"))
	b[i] = 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x := NewTensor(dtype.Float64, []int64{1, 3}, make([]byte, 24))
	_, err = runModel(t, m, []Tensor{x, strInput("a", "b")})
	if errs.CodeOf(err) != errs.FormatString || !strings.Contains(err.Error(), `"classes"`) {
		t.Fatalf("got %v, want MLE_ERR_FORMAT_STRING naming \"classes\"", err)
	}
	f, err := format.Open(path, format.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Verify(); errs.CodeOf(err) == errs.OK {
		t.Fatal("verify passed a damaged file")
	}
}

// Sessions run string inputs at once; each sees only its own.
func TestStringsConcurrent(t *testing.T) {
	m := labelModel(t, filepath.Join(t.TempDir(), "m.mle"))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				a, bb := fmt.Sprintf("g%d-%d", g, i), strings.Repeat("é", i%7)
				x := NewTensor(dtype.Float64, []int64{1, 3}, encode(dtype.Float64, []float64{0, 0, float64(i % 2)}))
				outs, err := runModel(t, m, []Tensor{x, strInput(a, bb, "z")})
				if err != nil {
					t.Error(err)
					return
				}
				want := []string{"ant", "東京"}[i%2]
				if got := unpacked(t, outs[0]); got[0] != want {
					t.Errorf("label %q, want %q", got[0], want)
				}
				if got := unpacked(t, outs[1]); got[0] != bb || got[1] != a {
					t.Errorf("picked %q, want [%q %q ...]", got, bb, a)
				}
			}
		}()
	}
	wg.Wait()
}

func catModel(t testing.TB, dt dtype.DType, keys []byte, nkeys int64, attrs ...graph.Attr) *Model {
	t.Helper()
	b := format.NewBuilder()
	if err := b.AddInput("city", dt, []int64{-1}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddTensor("cats", dt, []int64{nkeys}, keys); err != nil {
		t.Fatal(err)
	}
	b.AddNode(graph.Node{Op: "CategoryIndex", Name: "city", Inputs: []string{"city", "cats"}, Outputs: []string{"idx"}, Attrs: attrs})
	if err := b.AddOutput("idx"); err != nil {
		t.Fatal(err)
	}
	return saveOpen(t, b, filepath.Join(t.TempDir(), "m.mle"), Options{})
}

func TestCategoryIndex(t *testing.T) {
	m := catModel(t, dtype.String, strs.PackStrings([]string{"Paris", "東京", ""}), 3)
	outs, err := runModel(t, m, []Tensor{strInput("東京", "paris", "", "Paris")})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "text", decode(dtype.Int64, outs[0].Data), []float64{1, -1, 2, 0}, 0)

	refuse := catModel(t, dtype.String, strs.PackStrings([]string{"a"}), 1,
		graph.Attr{Name: "refuse_unknown", Type: graph.AttrInt, Int: 1})
	_, err = runModel(t, refuse, []Tensor{strInput("a", "Zürich")})
	if errs.CodeOf(err) != errs.InvalidCategory || !strings.Contains(err.Error(), `"Zürich"`) || !strings.Contains(err.Error(), `"city"`) {
		t.Fatalf("got %v, want MLE_ERR_INVALID_CATEGORY naming the value and the column", err)
	}

	nan := math.NaN()
	fm := catModel(t, dtype.Float64, encode(dtype.Float64, []float64{0, 2.5, nan}), 3,
		graph.Attr{Name: "unknown_index", Type: graph.AttrInt, Int: 7})
	outs, err = runModel(t, fm, []Tensor{NewTensor(dtype.Float64, []int64{5}, encode(dtype.Float64, []float64{math.Copysign(0, -1), nan, 2.5, 3, math.Inf(1)}))})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "float", decode(dtype.Int64, outs[0].Data), []float64{0, 2, 1, 7, 7}, 0)

	im := catModel(t, dtype.Int64, encode(dtype.Int64, []float64{10, -3}), 2)
	outs, err = runModel(t, im, []Tensor{NewTensor(dtype.Int64, []int64{3}, encode(dtype.Int64, []float64{-3, 10, 4}))})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "int", decode(dtype.Int64, outs[0].Data), []float64{1, 0, -1}, 0)

	dup := catModel(t, dtype.String, strs.PackStrings([]string{"a", "b", "a"}), 3)
	_, err = runModel(t, dup, []Tensor{strInput("a")})
	if err == nil || !strings.Contains(err.Error(), "entry 2 repeats") {
		t.Fatalf("duplicate categories: %v", err)
	}
}
