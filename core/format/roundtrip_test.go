package format

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// tinyModel is Y = Relu(X·W + b) with X [-1, 2].
func tinyModel(t testing.TB) *Builder {
	t.Helper()
	b := NewBuilder()
	if err := b.SetMetadataJSON([]byte(`{"name":"tiny","version":"1.0.0","created":"2026-01-02T03:04:05Z","producer":{"name":"test","version":"1"},"properties":{"k":"v"}}`)); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddInput("X", dtype.Float32, []int64{-1, 2}))
	must(b.AddTensor("W", dtype.Float32, []int64{2, 3}, f32bytes(1, 2, 3, 4, 5, 6)))
	must(b.AddTensor("B", dtype.Float32, []int64{3}, f32bytes(0.5, -100, 0)))
	b.AddNode(graph.Node{Op: "Gemm", Name: "fc", Inputs: []string{"X", "W", "B"}, Outputs: []string{"H"}})
	b.AddNode(graph.Node{Op: "Relu", Inputs: []string{"H"}, Outputs: []string{"Y"}})
	must(b.AddOutput("Y"))
	return b
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.mle")
	n, err := tinyModel(t).Save(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []OpenOptions{{}, {Verify: true}, {ReadAll: true}} {
		f, err := Open(path, opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if f.Size() != n {
			t.Errorf("size %d, Save said %d", f.Size(), n)
		}
		if f.Metadata.Name != "tiny" || f.Metadata.Properties["k"] != "v" || f.Metadata.Writer != WriterName {
			t.Errorf("metadata %+v", f.Metadata)
		}
		want := []graph.ValueInfo{{Name: "Y", DType: dtype.Float32, Shape: []int64{-1, 3}}}
		if d := cmp.Diff(want, f.Metadata.Outputs); d != "" {
			t.Errorf("outputs: %s", d)
		}
		i, _ := f.TensorIndex("W")
		if d := cmp.Diff(f32bytes(1, 2, 3, 4, 5, 6), f.TensorData(i)); d != "" {
			t.Errorf("W: %s", d)
		}
		if len(f.Checked.Nodes) != 2 {
			t.Errorf("nodes %d", len(f.Checked.Nodes))
		}
		if err := f.Verify(); err != nil {
			t.Error(err)
		}
		f.Close()
	}
}

// FORMAT.md quotes the CRC-32C check value; keep the spec honest.
func TestCRCCheckValue(t *testing.T) {
	if got := crc32c([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("crc32c check value %#x", got)
	}
}

// Names the format cannot hold are refused when given, not at save time.
func TestBuilderRefusesBadNames(t *testing.T) {
	b := NewBuilder()
	for _, err := range []error{
		b.AddInput("", dtype.Float32, nil), b.AddOutput(""), b.AddOutput("a\x00b"),
		b.AddTensor("\xff", dtype.Float32, nil, make([]byte, 4)),
	} {
		if errs.CodeOf(err) != errs.InvalidValue {
			t.Errorf("got %v, want MLE_ERR_INVALID_VALUE", err)
		}
	}
}

// BenchmarkSave times saving a tiny model, with and without the fsyncs,
// and the layout alone (validation and serialization, no file).
func BenchmarkSave(b *testing.B) {
	path := filepath.Join(b.TempDir(), "tiny.mle")
	bl := tinyModel(b)
	b.Run("durable", func(b *testing.B) {
		for b.Loop() {
			if _, err := bl.Save(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nosync", func(b *testing.B) {
		for b.Loop() {
			if _, err := bl.SaveWith(path, SaveOptions{NoSync: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bytes", func(b *testing.B) {
		for b.Loop() {
			if _, err := bl.Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// SaveWith NoSync writes the same bytes as Save, and leaves no temporary
// file.
func TestSaveNoSync(t *testing.T) {
	dir := t.TempDir()
	b := tinyModel(t)
	want, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.mle")
	n, err := b.SaveWith(path, SaveOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || n != int64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("unsynced save: %d bytes, err %v; want the %d bytes of Bytes()", n, err, len(want))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d entries in the directory, want 1", len(entries))
	}
}

// TestBuilderRefusesUnknownMetadataKeys: a key the format does not define
// would not survive the write, so the builder refuses it by name (readers
// still ignore unknown keys: a later minor may add some).
func TestBuilderRefusesUnknownMetadataKeys(t *testing.T) {
	for _, js := range []string{`{"name":"m","parents":["a","b"]}`, `{"producer":{"name":"x","url":"y"}}`} {
		err := NewBuilder().SetMetadataJSON([]byte(js))
		if errs.CodeOf(err) != errs.MetadataField {
			t.Errorf("%s: got %v, want MLE_ERR_METADATA_FIELD", js, err)
		}
	}
	if _, err := ParseMetadata([]byte(`{"inputs":[],"outputs":[],"parents":["a"]}`)); err != nil {
		t.Errorf("a reader must ignore unknown keys: %v", err)
	}
}
