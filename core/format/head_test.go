package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// headLengths are the head lengths checkHeads tries for b: none, parts of
// the header, of the table and beyond, what Open would read, all of it.
func headLengths(b []byte) []int {
	ks := []int{0, 8, HeaderSize - 1, HeaderSize, HeaderSize + SectionEntrySize, len(b) / 2, len(b) - 1, len(b),
		headEnd(b[:min(len(b), headRead)], int64(len(b)))}
	var out []int
	for _, k := range ks {
		if k >= 0 && k <= len(b) {
			out = append(out, k)
		}
	}
	return out
}

// checkHeads: validating from a copy of the file's first bytes (as Open
// does) gives what validating the file itself gives, whatever the length
// of the copy.
func checkHeads(t *testing.T, b []byte) {
	t.Helper()
	checkHeadsAt(t, b, headLengths(b))
}

func checkHeadsAt(t *testing.T, b []byte, lengths []int) {
	t.Helper()
	data := append(AlignedBytes(len(b))[:0], b...)
	want, wantErr := parse(data, nil, OpenOptions{})
	for _, k := range lengths {
		head := append(AlignedBytes(k)[:0], b[:k]...)
		got, err := parse(data, head, OpenOptions{})
		if errs.CodeOf(err) != errs.CodeOf(wantErr) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("head of %d of %d bytes: %v, without: %v", k, len(b), err, wantErr)
		}
		if err != nil {
			continue
		}
		if !bytes.Equal(got.MetadataJSON, want.MetadataJSON) || len(got.Graph.Nodes) != len(want.Graph.Nodes) ||
			len(got.Tensors) != len(want.Tensors) {
			t.Fatalf("head of %d of %d bytes: a different file", k, len(b))
		}
		for i := range got.Tensors {
			// Tensor views point into the file's bytes, not into the head.
			if d := got.TensorData(i); len(d) > 0 && &d[0] != &want.TensorData(i)[0] {
				t.Fatalf("head of %d bytes: tensor %d is not a view of the file", k, i)
			}
		}
	}
}

func TestHeadCopyMatchesFile(t *testing.T) {
	checkHeads(t, tinyParts().bytes(t))
	for _, s := range seedFiles(t, "open/*.mle") {
		checkHeads(t, s)
	}
	big := bigParts(300, 1<<14).bytes(t)
	if headEnd(big[:headRead], int64(len(big))) <= headRead {
		t.Fatal("the big file's sections before WEIGHTS fit in the first read")
	}
	checkHeads(t, big)
	// Damage in the header, the table, each section: the same errors.
	for _, off := range []int{0, 9, 20, 41, 70, 100, 200, 500, 1000, 3000, 5000, len(big) - 1} {
		d := bytes.Clone(big)
		d[off] ^= 0x40
		checkHeads(t, d)
		checkHeads(t, rehash(d))
	}
}

// bigParts is a chain of n Relu nodes (a GRAPH section of some KiB) after
// a Gemm with a weight of wbytes.
func bigParts(n, wbytes int) parts {
	p := tinyParts()
	cols := int64(wbytes / 8)
	p.tensors, p.data = nil, nil
	p.addTensor("W", dtype.Float32, []int64{2, cols}, make([]byte, wbytes))
	p.addTensor("B", dtype.Float32, []int64{cols}, make([]byte, 4*cols))
	p.g.Nodes = p.g.Nodes[:1]
	prev := "H"
	for i := range n {
		out := fmt.Sprintf("relu_output_number_%d", i)
		if i == n-1 {
			out = "Y"
		}
		p.g.Nodes = append(p.g.Nodes, graph.Node{Op: "Relu", Inputs: []string{prev}, Outputs: []string{out}})
		prev = out
	}
	p.g.Outputs[0].Shape = []int64{-1, cols}
	p.meta = []byte(fmt.Sprintf(`{"name":"big","inputs":[{"name":"X","dtype":"float32","shape":[-1,2]}],`+
		`"outputs":[{"name":"Y","dtype":"float32","shape":[-1,%d]}]}`, cols))
	return p
}

// Open reads the sections before WEIGHTS with pread and maps the file; a
// file that fits in the first read is read, not mapped. Either way the
// tensors hold the file's bytes.
func TestOpenHead(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		b      []byte
		mapped bool
	}{
		{"tiny", tinyParts().bytes(t), false},
		{"big graph", bigParts(300, 1<<14).bytes(t), true},
		{"big weights", bigParts(2, 1<<20).bytes(t), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".mle")
			if err := os.WriteFile(path, c.b, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Mapped() != c.mapped || !bytes.Equal(f.Bytes(), c.b) {
				t.Fatalf("mapped %v, want %v; bytes equal: %v", f.Mapped(), c.mapped, bytes.Equal(f.Bytes(), c.b))
			}
			want, err := Parse(c.b, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range f.Tensors {
				if !bytes.Equal(f.TensorData(i), want.TensorData(i)) {
					t.Fatalf("tensor %d differs", i)
				}
			}
			if err := f.Verify(); err != nil {
				t.Fatal(err)
			}
			// A damaged section is found from the head as from the file.
			d := bytes.Clone(c.b)
			d[HeaderSize+int(binary.LittleEndian.Uint32(d[40:]))*SectionEntrySize+10] ^= 1
			if err := os.WriteFile(path, d, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(path, OpenOptions{})
			_, perr := Parse(d, OpenOptions{})
			if errs.CodeOf(err) != errs.CodeOf(perr) || errs.CodeOf(err) == errs.OK {
				t.Fatalf("damaged: Open says %v, Parse %v", err, perr)
			}
		})
	}
}
