package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

var le = binary.LittleEndian

func crc(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// layout offsets (docs/FORMAT.md §2–3).
const (
	headerSize = 64
	entrySize  = 32
)

// rehash recomputes the section-table and header CRCs after an edit, so a
// patched file fails for the reason the case names, not a checksum.
func rehash(b []byte) []byte {
	end := min(len(b), headerSize+int(le.Uint32(b[40:]))*entrySize)
	le.PutUint32(b[56:], crc(b[headerSize:end]))
	le.PutUint32(b[60:], crc(b[:60]))
	return b
}

func entry(b []byte, section, field int) []byte { return b[headerSize+section*entrySize+field:] }

// descriptors returns the byte offset of each tensor descriptor's dtype byte,
// dims and offset field, walking the TENSORS section as the spec lays it out.
type desc struct{ dtype, dims, offset int }

func descriptors(b []byte, f *format.File) []desc {
	pos := int(f.Sections[2].Offset) + 8
	var out []desc
	for _, t := range f.Tensors {
		pos += 2 + len(t.Name)
		d := desc{dtype: pos, dims: pos + 4}
		pos += 4 + 8*len(t.Shape)
		d.offset = pos
		pos += 28
		out = append(out, d)
	}
	return out
}

// patchTensors edits the TENSORS section and fixes its CRC.
func patchTensors(b []byte, f *format.File, edit func(ds []desc)) []byte {
	edit(descriptors(b, f))
	s := f.Sections[2]
	le.PutUint32(entry(b, 2, 24), crc(b[s.Offset:s.Offset+s.Length]))
	return rehash(b)
}

// malformed adds one file per class of malformed input, each with the
// status opening it must give.
func (s *suite) malformed() error {
	base := s.files["models/mlp_classifier.mle"]
	f, err := format.Parse(base, format.OpenOptions{})
	if err != nil {
		return err
	}
	clone := func() []byte { return bytes.Clone(base) }
	weights := f.Sections[3].Offset
	byteCases := []struct {
		name, desc string
		data       []byte
		want       errs.Code
		verify     bool
	}{
		{"bad_truncated", "the file cut in half", clone()[:len(base)/2], errs.FormatTruncated, false},
		{"bad_magic", "not an .mle file", func() []byte { b := clone(); b[1] = 'X'; return b }(), errs.FormatBadMagic, false},
		{"bad_newer_major", "format version 2.0", func() []byte { b := clone(); le.PutUint16(b[8:], 2); return rehash(b) }(), errs.FormatVersion, false},
		{"bad_required_flag", "an unknown required-feature bit", func() []byte { b := clone(); le.PutUint64(b[16:], 1<<3); return rehash(b) }(), errs.FormatRequiredFlag, false},
		{"bad_big_endian", "the endianness marker of a big-endian file", func() []byte {
			b := clone()
			binary.BigEndian.PutUint32(b[12:], format.EndianMarker)
			return rehash(b)
		}(), errs.FormatEndian, false},
		{"bad_header_crc", "a flipped header byte", func() []byte { b := clone(); b[20] ^= 1; return b }(), errs.ChecksumHeader, false},
		{"bad_section_bounds", "the WEIGHTS section runs past the end of the file", func() []byte {
			b := clone()
			le.PutUint64(entry(b, 3, 16), 1<<40)
			return rehash(b)
		}(), errs.FormatSectionBounds, false},
		{"bad_section_overlap", "GRAPH starts where METADATA does", func() []byte {
			b := clone()
			le.PutUint64(entry(b, 1, 8), le.Uint64(entry(b, 0, 8)))
			return rehash(b)
		}(), errs.FormatSectionOverlap, false},
		{"bad_trailing_bytes", "8 bytes after the declared end", append(clone(), make([]byte, 8)...), errs.FormatGap, false},
		{"bad_misaligned_tensor", "a tensor offset that is not a multiple of 64", func() []byte {
			b := clone()
			return patchTensors(b, f, func(ds []desc) { le.PutUint64(b[ds[1].offset:], le.Uint64(b[ds[1].offset:])+8) })
		}(), errs.FormatMisaligned, false},
		{"bad_shape_overflow", "dimensions whose product overflows", func() []byte {
			b := clone()
			return patchTensors(b, f, func(ds []desc) {
				le.PutUint64(b[ds[0].dims:], 1<<40)
				le.PutUint64(b[ds[0].dims+8:], 1<<40)
			})
		}(), errs.FormatShapeOverflow, false},
		{"bad_negative_dim", "a negative dimension", func() []byte {
			b := clone()
			return patchTensors(b, f, func(ds []desc) { le.PutUint64(b[ds[0].dims:], uint64(1<<64-4)) })
		}(), errs.FormatNegativeDim, false},
		{"bad_unknown_dtype", "dtype id 99", func() []byte {
			b := clone()
			return patchTensors(b, f, func(ds []desc) { b[ds[0].dtype] = 99 })
		}(), errs.FormatDType, false},
		{"bad_tensor_past_section", "tensor data beyond the WEIGHTS section", func() []byte {
			b := clone()
			return patchTensors(b, f, func(ds []desc) { le.PutUint64(b[ds[3].offset:], 1<<20) })
		}(), errs.FormatTensorBounds, false},
		{"bad_unsupported_encoding", "a tensor in an encoding no build knows (id 200)", func() []byte {
			b := clone()
			return patchTensors(b, f, func(ds []desc) { b[ds[0].dtype+1] = 200 })
		}(), errs.UnsupportedEncoding, false},
		{"bad_section_crc", "a flipped byte in the GRAPH section", func() []byte {
			b := clone()
			b[f.Sections[1].Offset+5] ^= 0x20
			return b
		}(), errs.ChecksumSection, false},
		{"bad_weights_crc", "a flipped weight byte, found when opening with verify", func() []byte {
			b := clone()
			b[weights+3] ^= 0x01
			return b
		}(), errs.ChecksumTensor, true},
	}
	for _, c := range byteCases {
		s.addMalformed(c.name, c.desc, c.data, c.verify, c.want)
	}

	// Graph and metadata classes: files assembled without validation.
	sig := `"inputs":[{"name":"X","dtype":"float32","shape":[-1,2]}],"outputs":[{"name":"Y","dtype":"float32","shape":[-1,2]}]`
	meta := []byte("{" + sig + "}")
	graphCases := []struct {
		name, desc string
		meta       []byte
		g          *graph.Graph
		want       errs.Code
	}{
		{"bad_missing_tensor", "a node reads a tensor nothing defines", meta, reluGraph(node("Add", []string{"X", "nope"}, []string{"Y"})), errs.GraphMissingTensor},
		{"bad_cycle", "two nodes feeding each other", meta, reluGraph(node("Relu", []string{"Y"}, []string{"H"}), node("Relu", []string{"H"}, []string{"Y"})), errs.GraphCycle},
		{"bad_unknown_op", "an op MLE does not know", meta, reluGraph(node("Frobnicate", []string{"X"}, []string{"Y"})), errs.GraphUnknownOp},
		{"bad_attribute_type", "LeakyRelu alpha given as an int", meta, reluGraph(node("LeakyRelu", []string{"X"}, []string{"Y"}, ai("alpha", 1))), errs.GraphAttribute},
		{"bad_duplicate_json_key", "metadata with \"name\" twice", []byte(`{"name":"a","name":"b",` + sig + "}"), reluGraph(node("Relu", []string{"X"}, []string{"Y"})), errs.MetadataDuplicate},
		{"bad_oversized_json", "metadata over 1 MiB", []byte(`{"description":"` + strings.Repeat("x", 1<<20) + `",` + sig + "}"), reluGraph(node("Relu", []string{"X"}, []string{"Y"})), errs.MetadataTooLarge},
	}
	for _, c := range graphCases {
		s.addMalformed(c.name, c.desc, format.AssembleUnchecked(c.meta, c.g, nil, nil), false, c.want)
	}
	return nil
}

func (s *suite) addMalformed(name, desc string, data []byte, verify bool, want errs.Code) {
	_, err := format.Parse(data, format.OpenOptions{Verify: verify})
	if got := errs.CodeOf(err); got != want {
		panic(fmt.Sprintf("%s: opening gives %v (%v), want %v", name, got, err, want))
	}
	model := "models/" + name + ".mle"
	s.files[model] = data
	s.cases = append(s.cases, Case{Name: name, Description: desc, Model: model, Verify: verify, OpenError: status(want)})
}

// reluGraph is Y = f(X) over [-1, 2] float32, for malformed files.
func reluGraph(nodes ...graph.Node) *graph.Graph {
	return &graph.Graph{
		Inputs:  []graph.ValueInfo{{Name: "X", DType: dtype.Float32, Shape: []int64{-1, 2}}},
		Outputs: []graph.ValueInfo{{Name: "Y", DType: dtype.Float32, Shape: []int64{-1, 2}}},
		Nodes:   nodes,
	}
}
