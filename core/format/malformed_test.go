package format

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// parts are the pieces of a file before assembly, so tests can break one.
type parts struct {
	meta    []byte
	g       graph.Graph
	tensors []TensorDesc
	data    [][]byte
}

const tinyMeta = `{"name":"tiny","inputs":[{"name":"X","dtype":"float32","shape":[-1,2]}],` +
	`"outputs":[{"name":"Y","dtype":"float32","shape":[-1,3]}]}`

func tinyParts() parts {
	p := parts{meta: []byte(tinyMeta)}
	p.g = graph.Graph{
		Inputs:  []graph.ValueInfo{{Name: "X", DType: dtype.Float32, Shape: []int64{-1, 2}}},
		Outputs: []graph.ValueInfo{{Name: "Y", DType: dtype.Float32, Shape: []int64{-1, 3}}},
		Nodes: []graph.Node{
			{Op: "Gemm", Name: "fc", Inputs: []string{"X", "W", "B"}, Outputs: []string{"H"}},
			{Op: "Relu", Inputs: []string{"H"}, Outputs: []string{"Y"}},
		},
	}
	p.addTensor("W", dtype.Float32, []int64{2, 3}, f32bytes(1, 2, 3, 4, 5, 6))
	p.addTensor("B", dtype.Float32, []int64{3}, f32bytes(0.5, -100, 0))
	return p
}

func (p *parts) addTensor(name string, dt dtype.DType, shape []int64, data []byte) {
	var off uint64
	if n := len(p.tensors); n > 0 {
		off, _ = alignUp(p.tensors[n-1].Offset+p.tensors[n-1].StoredLen, TensorAlign)
	}
	p.tensors = append(p.tensors, TensorDesc{Name: name, DType: dt, Shape: shape, Offset: off,
		StoredLen: uint64(len(data)), RawLen: uint64(len(data)), CRC: crc32c(data)})
	p.data = append(p.data, data)
}

func (p parts) bytes(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	l := assemble(p.meta, EncodeGraph(&p.g), p.tensors, p.data)
	if _, err := l.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rehash recomputes the section-table and header CRCs after an edit.
func rehash(b []byte) []byte {
	le := binary.LittleEndian
	end := min(len(b), HeaderSize+int(le.Uint32(b[40:]))*SectionEntrySize)
	le.PutUint32(b[56:], crc32c(b[HeaderSize:end]))
	le.PutUint32(b[60:], crc32c(b[:60]))
	return b
}

func sectionField(b []byte, i, off int) []byte { return b[HeaderSize+i*SectionEntrySize+off:] }

func expectCode(t *testing.T, b []byte, opts OpenOptions, want errs.Code, msgPart string) {
	t.Helper()
	checkHeads(t, b) // Open validates from a copy of the first bytes: the same outcome
	_, err := Parse(b, opts)
	if got := errs.CodeOf(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
	if msgPart != "" && !strings.Contains(err.Error(), msgPart) {
		t.Fatalf("message %q does not mention %q", err, msgPart)
	}
}

func TestTinyPartsValid(t *testing.T) {
	if _, err := Parse(tinyParts().bytes(t), OpenOptions{Verify: true}); err != nil {
		t.Fatal(err)
	}
}

func TestTruncatedAtEveryByte(t *testing.T) {
	b := tinyParts().bytes(t)
	for k := 0; k < len(b); k++ {
		_, err := Parse(b[:k], OpenOptions{})
		if got := errs.CodeOf(err); got != errs.FormatTruncated {
			t.Fatalf("truncated to %d of %d bytes: got %v (%v), want FormatTruncated", k, len(b), got, err)
		}
	}
}

func TestMalformedHeader(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name string
		edit func(b []byte) []byte
		want errs.Code
		msg  string
	}{
		{"bad magic", func(b []byte) []byte { b[1] = 'X'; return b }, errs.FormatBadMagic, "magic"},
		{"short non-mle", func(b []byte) []byte { return []byte("PK\x03\x04") }, errs.FormatBadMagic, ""},
		{"newer major", func(b []byte) []byte { le.PutUint16(b[8:], 2); return rehash(b) }, errs.FormatVersion, "version 2."},
		{"major zero", func(b []byte) []byte { le.PutUint16(b[8:], 0); return rehash(b) }, errs.FormatVersion, ""},
		{"newer minor is fine", func(b []byte) []byte { le.PutUint16(b[10:], 7); return rehash(b) }, errs.OK, ""},
		{"big endian", func(b []byte) []byte { binary.BigEndian.PutUint32(b[12:], EndianMarker); return rehash(b) }, errs.FormatEndian, "big-endian"},
		{"bad endian marker", func(b []byte) []byte { le.PutUint32(b[12:], 7); return rehash(b) }, errs.FormatHeader, "endianness"},
		{"unknown required flag", func(b []byte) []byte { le.PutUint64(b[16:], 1<<5); return rehash(b) }, errs.FormatRequiredFlag, "0x20"},
		{"unknown optional flag is fine", func(b []byte) []byte { le.PutUint64(b[24:], 1<<9); return rehash(b) }, errs.OK, ""},
		{"header crc", func(b []byte) []byte { b[20] ^= 1; return b }, errs.ChecksumHeader, "header CRC"},
		{"table crc", func(b []byte) []byte { b[HeaderSize+20] ^= 1; return b }, errs.ChecksumHeader, "section table"},
		{"table offset", func(b []byte) []byte { le.PutUint64(b[32:], 128); return rehash(b) }, errs.FormatHeader, "table offset"},
		{"zero sections", func(b []byte) []byte { le.PutUint32(b[40:], 0); return rehash(b) }, errs.FormatHeader, "section count"},
		{"too many sections", func(b []byte) []byte { le.PutUint32(b[40:], MaxSections+1); return rehash(b) }, errs.FormatHeader, "section count"},
		{"reserved header field", func(b []byte) []byte { le.PutUint32(b[44:], 1); return rehash(b) }, errs.FormatHeader, "reserved"},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0, 0, 0) }, errs.FormatGap, "trailing"},
		{"bytes after last section", func(b []byte) []byte {
			b = append(b, make([]byte, 8)...)
			le.PutUint64(b[48:], uint64(len(b)))
			return rehash(b)
		}, errs.FormatGap, "after its last section"},
		{"section out of bounds", func(b []byte) []byte { le.PutUint64(sectionField(b, 3, 16), 1<<40); return rehash(b) }, errs.FormatSectionBounds, "WEIGHTS"},
		{"section offset out of bounds", func(b []byte) []byte { le.PutUint64(sectionField(b, 1, 8), 1<<62); return rehash(b) }, errs.FormatSectionBounds, "GRAPH"},
		{"overlapping sections", func(b []byte) []byte {
			le.PutUint64(sectionField(b, 1, 8), le.Uint64(sectionField(b, 0, 8)))
			return rehash(b)
		}, errs.FormatSectionOverlap, "overlaps"},
		{"gap between sections", func(b []byte) []byte {
			le.PutUint64(sectionField(b, 0, 16), le.Uint64(sectionField(b, 0, 16))-16)
			return rehash(b)
		}, errs.FormatGap, "gap"},
		{"non-zero padding", func(b []byte) []byte {
			b[le.Uint64(sectionField(b, 3, 8))-1] = 1 // just before WEIGHTS
			return b
		}, errs.FormatGap, "padding"},
		{"duplicate section", func(b []byte) []byte { le.PutUint32(sectionField(b, 1, 0), uint32(SectionMetadata)); return rehash(b) }, errs.FormatHeader, "twice"},
		{"missing section", func(b []byte) []byte {
			le.PutUint32(sectionField(b, 1, 0), 77)
			le.PutUint32(sectionField(b, 1, 4), SectionIgnorable)
			return rehash(b)
		}, errs.FormatHeader, "no GRAPH section"},
		{"unknown required section", func(b []byte) []byte { le.PutUint32(sectionField(b, 1, 0), 77); return rehash(b) }, errs.UnsupportedFeature, "unknown kind 77"},
		{"signature section not last", func(b []byte) []byte { le.PutUint32(sectionField(b, 1, 0), uint32(SectionSignature)); return rehash(b) }, errs.FormatHeader, "must be the last"},
		{"sealed section without the flag", func(b []byte) []byte { le.PutUint32(sectionField(b, 1, 0), uint32(SectionSealed)); return rehash(b) }, errs.FormatEncryption, "encrypted flag"},
		{"unknown section flag", func(b []byte) []byte { le.PutUint32(sectionField(b, 0, 4), 4); return rehash(b) }, errs.FormatHeader, "flags"},
		{"section crc", func(b []byte) []byte { b[le.Uint64(sectionField(b, 1, 8))+3] ^= 0x40; return b }, errs.ChecksumSection, "GRAPH section CRC"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.edit(tinyParts().bytes(t))
			expectCode(t, b, OpenOptions{}, c.want, c.msg)
		})
	}
}

// patchTensors rewrites the TENSORS section of a valid file in place (the
// edit must keep its encoded size), fixing the CRCs so that only the
// descriptor itself is wrong.
func patchTensors(t *testing.T, edit func(ts []TensorDesc)) []byte {
	t.Helper()
	p := tinyParts()
	b := p.bytes(t)
	ts := make([]TensorDesc, len(p.tensors))
	for i, d := range p.tensors {
		ts[i] = d
		ts[i].Shape = append([]int64(nil), d.Shape...)
	}
	edit(ts)
	body := encodeTensors(ts)
	le := binary.LittleEndian
	off, n := le.Uint64(sectionField(b, 2, 8)), le.Uint64(sectionField(b, 2, 16))
	if uint64(len(body)) != n {
		t.Fatalf("edit changed the TENSORS section size")
	}
	copy(b[off:], body)
	le.PutUint32(sectionField(b, 2, 24), crc32c(body))
	return rehash(b)
}

func TestMalformedTensors(t *testing.T) {
	cases := []struct {
		name string
		edit func(ts []TensorDesc)
		want errs.Code
		msg  string
	}{
		{"misaligned", func(ts []TensorDesc) { ts[1].Offset = 32 }, errs.FormatMisaligned, "multiple of 64"},
		{"overlap", func(ts []TensorDesc) { ts[1].Offset = 0 }, errs.FormatSectionOverlap, "overlaps"},
		{"gap", func(ts []TensorDesc) {
			ts[0].Shape[0], ts[0].RawLen, ts[0].StoredLen = 0, 0, 0 // B must now start at 0
		}, errs.FormatGap, "gap"},
		{"past section", func(ts []TensorDesc) { ts[1].Offset = 1 << 20 }, errs.FormatTensorBounds, "past"},
		{"length past section", func(ts []TensorDesc) { ts[1].Offset = 1 << 62 }, errs.FormatTensorBounds, "past"},
		{"shape overflow", func(ts []TensorDesc) { ts[0].Shape = []int64{1 << 40, 1 << 40} }, errs.FormatShapeOverflow, "overflows"},
		{"negative dim", func(ts []TensorDesc) { ts[0].Shape = []int64{2, -3} }, errs.FormatNegativeDim, "-3"},
		{"unknown dtype", func(ts []TensorDesc) { ts[0].DType = 99 }, errs.FormatDType, "99"},
		{"raw length", func(ts []TensorDesc) { ts[0].RawLen = 20 }, errs.FormatDescriptor, "raw length"},
		{"stored length", func(ts []TensorDesc) { ts[0].StoredLen = 20 }, errs.FormatDescriptor, "stores"},
		{"duplicate name", func(ts []TensorDesc) { ts[1].Name = "W" }, errs.FormatDescriptor, "twice"},
		{"fp16 of the wrong length", func(ts []TensorDesc) { ts[0].Encoding = EncodingFP16 }, errs.FormatDescriptor, "2 bytes per element"},
		{"unknown encoding", func(ts []TensorDesc) { ts[0].Encoding = 200 }, errs.UnsupportedEncoding, "200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectCode(t, patchTensors(t, c.edit), OpenOptions{}, c.want, c.msg)
		})
	}
	t.Run("rank", func(t *testing.T) {
		p := tinyParts()
		p.tensors[0].Shape = make([]int64, 9)
		expectCode(t, p.bytes(t), OpenOptions{}, errs.UnsupportedFeature, "rank 9")
	})
	t.Run("count past section", func(t *testing.T) {
		b := patchTensors(t, func([]TensorDesc) {})
		le := binary.LittleEndian
		off := le.Uint64(sectionField(b, 2, 8))
		le.PutUint32(b[off:], 1000)
		body := b[off : off+le.Uint64(sectionField(b, 2, 16))]
		le.PutUint32(sectionField(b, 2, 24), crc32c(body))
		expectCode(t, rehash(b), OpenOptions{}, errs.FormatTruncated, "1000 tensors")
	})
}

func TestMalformedGraph(t *testing.T) {
	cases := []struct {
		name string
		edit func(g *graph.Graph)
		want errs.Code
		msg  string
	}{
		{"missing tensor", func(g *graph.Graph) { g.Nodes[0].Inputs[1] = "nope" }, errs.GraphMissingTensor, `"nope"`},
		{"cycle", func(g *graph.Graph) {
			g.Nodes[0].Inputs[0] = "Y" // fc reads Relu's output, Relu reads fc's
		}, errs.GraphCycle, "cycle"},
		{"unknown op", func(g *graph.Graph) { g.Nodes[1].Op = "Frobnicate" }, errs.GraphUnknownOp, "Frobnicate"},
		{"attribute type", func(g *graph.Graph) {
			g.Nodes[0].Attrs = []graph.Attr{{Name: "transA", Type: graph.AttrFloat, Float: 1}}
		}, errs.GraphAttribute, "transA"},
		{"unknown attribute", func(g *graph.Graph) {
			g.Nodes[0].Attrs = []graph.Attr{{Name: "bogus", Type: graph.AttrInt}}
		}, errs.GraphAttribute, "bogus"},
		{"duplicate definition", func(g *graph.Graph) { g.Nodes[1].Outputs[0] = "H" }, errs.GraphDuplicate, `"H"`},
		{"shape mismatch", func(g *graph.Graph) { g.Inputs[0].Shape = []int64{-1, 5} }, errs.GraphShape, "inner dimensions"},
		{"arity", func(g *graph.Graph) { g.Nodes[1].Inputs = []string{"H", "H"} }, errs.GraphShape, "inputs"},
		{"output declared wrong", func(g *graph.Graph) { g.Outputs[0].DType = dtype.Float64 }, errs.GraphDType, "declared"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := tinyParts()
			c.edit(&p.g)
			expectCode(t, p.bytes(t), OpenOptions{}, c.want, c.msg)
		})
	}
}

func TestMalformedMetadata(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	cases := []struct {
		name string
		meta string
		want errs.Code
		msg  string
	}{
		{"duplicate key", `{"name":"a","name":"b"` + tinyMeta[len(`{"name":"tiny"`):], errs.MetadataDuplicate, `"name"`},
		{"nested duplicate", strings.Replace(tinyMeta, `"name":"X"`, `"name":"X","name":"X"`, 1), errs.MetadataDuplicate, ""},
		{"too large", `{"description":"` + strings.Repeat("x", MaxMetadataSize) + `"}`, errs.MetadataTooLarge, "limit"},
		{"too deep", `{"properties":` + deep + `}`, errs.MetadataDepth, "deeper"},
		{"syntax", `{"name":}`, errs.MetadataSyntax, ""},
		{"trailing data", tinyMeta + `{}`, errs.MetadataSyntax, "after"},
		{"invalid utf8", `{"name":"` + "\xff\xfe" + `"}`, errs.MetadataUTF8, "UTF-8"},
		{"not an object", `[1,2]`, errs.MetadataField, "object"},
		{"wrong field type", strings.Replace(tinyMeta, `"name":"tiny"`, `"name":5`, 1), errs.MetadataField, `"name"`},
		{"case-variant key is not the key", strings.Replace(tinyMeta, `"inputs"`, `"Inputs"`, 1), errs.MetadataMissingKey, `"inputs"`},
		{"bad semver", strings.Replace(tinyMeta, `"name":"tiny"`, `"version":"1.0"`, 1), errs.MetadataField, "semantic"},
		{"signature mismatch", strings.Replace(tinyMeta, `[-1,3]`, `[-1,4]`, 1), errs.MetadataSignature, "graph says"},
		{"non-string property", strings.Replace(tinyMeta, `"name":"tiny"`, `"properties":{"a":1}`, 1), errs.MetadataField, "property"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := tinyParts()
			p.meta = []byte(c.meta)
			expectCode(t, p.bytes(t), OpenOptions{}, c.want, c.msg)
		})
	}
}

func TestVerifyCatchesWeightDamage(t *testing.T) {
	b := tinyParts().bytes(t)
	f, err := Parse(b, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := f.Sections[3].Offset
	b[w+4] ^= 0x10 // inside tensor W
	// Structural open does not read weights: O(1) in their size.
	if _, err := Parse(b, OpenOptions{}); err != nil {
		t.Fatalf("open without verify: %v", err)
	}
	expectCode(t, b, OpenOptions{Verify: true}, errs.ChecksumTensor, `"W"`)
	b[w+4] ^= 0x10
	b[w+40] = 1 // padding between W and B
	expectCode(t, b, OpenOptions{Verify: true}, errs.FormatGap, "padding")
}

func TestEmptyAndZeroSized(t *testing.T) {
	p := tinyParts()
	p.addTensor("empty", dtype.Float32, []int64{0, 5}, nil)
	p.addTensor("after", dtype.Int64, []int64{1}, make([]byte, 8))
	if _, err := Parse(p.bytes(t), OpenOptions{Verify: true}); err != nil {
		t.Fatal(err)
	}
}
