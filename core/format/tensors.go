package format

import (
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/strs"
)

// TensorDesc is one entry of the TENSORS section. Offset is relative to the
// start of the WEIGHTS section.
type TensorDesc struct {
	Name      string
	DType     dtype.DType
	Encoding  Encoding
	Shape     []int64
	Offset    uint64
	StoredLen uint64
	RawLen    uint64
	CRC       uint32 // CRC-32C of the stored bytes
}

// minTensorEntry is the smallest encoded descriptor: name length, a 1-byte
// name, dtype/encoding/rank/reserved, offset, two lengths and a CRC.
const minTensorEntry = 2 + 1 + 4 + 8 + 8 + 8 + 4

func encodeTensors(ts []TensorDesc) []byte {
	var w writer
	w.u32(uint32(len(ts)))
	w.u32(0)
	for _, t := range ts {
		w.u16(uint16(len(t.Name)))
		w.b = append(w.b, t.Name...)
		w.u8(uint8(t.DType))
		w.u8(uint8(t.Encoding))
		w.u8(uint8(len(t.Shape)))
		w.u8(0)
		for _, d := range t.Shape {
			w.i64(d)
		}
		w.u64(t.Offset)
		w.u64(t.StoredLen)
		w.u64(t.RawLen)
		w.u32(t.CRC)
	}
	return w.b
}

// decodeTensors parses and checks the TENSORS section against a WEIGHTS
// section of weightsLen bytes, and indexes the tensors by name. Descriptors
// must tile WEIGHTS in order: each tensor starts at the first 64-byte
// boundary after the previous one ends, and the last one ends where the
// section ends.
func decodeTensors(b []byte, weightsLen uint64) ([]TensorDesc, map[string]int, error) {
	c := &cursor{b: b, what: "TENSORS section", code: errs.FormatTruncated}
	n := c.u32()
	if c.err == nil && c.u32() != 0 {
		return nil, nil, errs.New(errs.FormatDescriptor, "TENSORS section: reserved field is not zero")
	}
	if c.err != nil {
		return nil, nil, c.err
	}
	if n > MaxTensors {
		return nil, nil, errs.New(errs.FormatDescriptor, "TENSORS section lists %d tensors; the limit is %d", n, MaxTensors)
	}
	if uint64(n)*minTensorEntry > uint64(len(b)-c.off) {
		return nil, nil, errs.New(errs.FormatTruncated, "TENSORS section lists %d tensors, which need at least %d bytes, but only %d remain", n, uint64(n)*minTensorEntry, len(b)-c.off)
	}
	ts := make([]TensorDesc, n)
	index := make(map[string]int, n)
	// One string conversion for the section (names are substrings of it) and
	// shared blocks for the shapes.
	all := string(b)
	var dims []int64
	var end uint64 // end of the previous tensor's data
	for i := range ts {
		t := &ts[i]
		at := c.off
		nameLen := int(c.u16())
		nameAt := c.off
		name := c.take(nameLen)
		t.DType = dtype.DType(c.u8())
		t.Encoding = Encoding(c.u8())
		rank := int(c.u8())
		reserved := c.u8()
		if c.err != nil {
			return nil, nil, c.err
		}
		t.Name = all[nameAt : nameAt+nameLen]
		if nameLen == 0 || !utf8.Valid(name) {
			return nil, nil, errs.New(errs.FormatDescriptor, "tensor %d (offset %d in TENSORS): name must be non-empty UTF-8", i, at)
		}
		if _, dup := index[t.Name]; dup {
			return nil, nil, errs.New(errs.FormatDescriptor, "tensor %d: name %q is used twice", i, t.Name)
		}
		index[t.Name] = i
		if reserved != 0 {
			return nil, nil, errs.New(errs.FormatDescriptor, "tensor %q: reserved byte is %d, not zero", t.Name, reserved)
		}
		if !t.DType.Valid() {
			return nil, nil, errs.New(errs.FormatDType, "tensor %q has unknown dtype id %d", t.Name, uint8(t.DType))
		}
		if rank > dtype.MaxRank {
			return nil, nil, errs.New(errs.UnsupportedFeature, "tensor %q has rank %d; MLE supports rank <= %d", t.Name, rank, dtype.MaxRank)
		}
		if dims == nil || rank > len(dims) {
			dims = make([]int64, max(rank, 4*(int(n)-i)))
		}
		t.Shape, dims = dims[:rank:rank], dims[rank:]
		for j := range t.Shape {
			t.Shape[j] = c.i64()
		}
		t.Offset, t.StoredLen, t.RawLen, t.CRC = c.u64(), c.u64(), c.u64(), c.u32()
		if c.err != nil {
			return nil, nil, c.err
		}
		for j, d := range t.Shape {
			if d < 0 {
				return nil, nil, errs.New(errs.FormatNegativeDim, "tensor %q: dimension %d is %d", t.Name, j, d)
			}
		}
		if t.DType.IsString() {
			// Packed (§7.1): at least the offsets; the text is checked at first use.
			n, _ := dtype.NumElements(t.Shape)
			head, ok := strs.HeaderSize(n)
			if !ok {
				return nil, nil, errs.New(errs.FormatShapeOverflow, "tensor %q: the offsets of %d strings overflow", t.Name, n)
			}
			if t.RawLen < uint64(head) {
				return nil, nil, errs.New(errs.FormatDescriptor, "tensor %q: raw length %d, but the offsets of %d strings need %d bytes", t.Name, t.RawLen, n, head)
			}
		} else {
			size, ok := dtype.ByteSize(t.DType, t.Shape)
			if !ok {
				return nil, nil, errs.New(errs.FormatShapeOverflow, "tensor %q: shape %v × %d bytes overflows", t.Name, t.Shape, t.DType.Size())
			}
			if t.RawLen != uint64(size) {
				return nil, nil, errs.New(errs.FormatDescriptor, "tensor %q: raw length %d, but %s%v needs %d bytes", t.Name, t.RawLen, t.DType, t.Shape, size)
			}
		}
		if err := checkEncoding(t); err != nil {
			return nil, nil, err
		}
		if t.Offset%TensorAlign != 0 {
			return nil, nil, errs.New(errs.FormatMisaligned, "tensor %q: offset %d is not a multiple of %d", t.Name, t.Offset, TensorAlign)
		}
		if t.Offset > weightsLen || t.StoredLen > weightsLen-t.Offset {
			return nil, nil, errs.New(errs.FormatTensorBounds, "tensor %q: bytes [%d, %d+%d) lie past the %d-byte WEIGHTS section", t.Name, t.Offset, t.Offset, t.StoredLen, weightsLen)
		}
		want, _ := alignUp(end, TensorAlign) // end <= weightsLen <= 2^63: no overflow
		if i == 0 {
			want = 0
		}
		switch {
		case t.Offset < want:
			return nil, nil, errs.New(errs.FormatSectionOverlap, "tensor %q at offset %d overlaps the previous tensor, which ends at %d", t.Name, t.Offset, end)
		case t.Offset > want:
			return nil, nil, errs.New(errs.FormatGap, "tensor %q at offset %d leaves a gap: it must start at %d", t.Name, t.Offset, want)
		}
		end = t.Offset + t.StoredLen
	}
	if c.off != len(b) {
		return nil, nil, errs.New(errs.FormatGap, "TENSORS section has %d bytes after the last descriptor", len(b)-c.off)
	}
	if end != weightsLen {
		return nil, nil, errs.New(errs.FormatGap, "WEIGHTS section is %d bytes but its tensors end at %d", weightsLen, end)
	}
	return ts, index, nil
}

// checkEncoding checks what a descriptor alone can say about its encoding;
// the stream itself is checked when the tensor is decoded.
func checkEncoding(t *TensorDesc) error {
	id := codec.ID(t.Encoding)
	switch {
	case id == codec.Raw:
		if t.StoredLen != t.RawLen {
			return errs.New(errs.FormatDescriptor, "tensor %q: raw encoding stores %d bytes but declares %d", t.Name, t.StoredLen, t.RawLen)
		}
	case !id.Known():
		return errs.New(errs.UnsupportedEncoding, "tensor %q: encoding id %d not supported by this build", t.Name, uint8(t.Encoding))
	case id.Quantized() && t.DType != dtype.Float32 && t.DType != dtype.Float64:
		return errs.New(errs.FormatDescriptor, "tensor %q: %s is %s; quantized encodings hold float32 or float64 tensors", t.Name, id, t.DType)
	case (id == codec.FP16 || id == codec.BF16) && t.StoredLen != t.RawLen/uint64(t.DType.Size())*2:
		return errs.New(errs.FormatDescriptor, "tensor %q: %s stores 2 bytes per element (%d), not %d", t.Name, id, t.RawLen/uint64(t.DType.Size())*2, t.StoredLen)
	}
	return nil
}
