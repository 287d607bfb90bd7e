// Package format reads and writes .mle files (spec: docs/FORMAT.md). It is
// the only implementation of the format; it knows nothing of execution.
package format

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/mle-runtime/mle/core/codec"
)

// Magic opens every .mle file. Like PNG's signature, the high byte and the
// CR LF / ^Z / LF sequence detect 7-bit and text-mode transfer damage.
var Magic = [8]byte{0x89, 'M', 'L', 'E', '\r', '\n', 0x1a, '\n'}

// Format version written by this build. Readers reject a newer major and
// accept any minor of their major.
const (
	VersionMajor = 1
	VersionMinor = 2
)

// EndianMarker is stored little-endian at header offset 12.
const EndianMarker uint32 = 0x01020304

// Sizes and alignments.
const (
	HeaderSize       = 64
	SectionEntrySize = 32
	MaxSections      = 64
	TensorAlign      = 64 // every tensor's data starts on this boundary
	SectionAlign     = 8  // every other section

	MaxMetadataSize  = 1 << 20 // bytes of metadata JSON
	MaxMetadataDepth = 32
	MaxTensors       = 1 << 20
)

// SectionKind identifies a section. Ids are never reused.
type SectionKind uint32

// Section kinds of format v1.
const (
	SectionMetadata  SectionKind = 1
	SectionGraph     SectionKind = 2
	SectionTensors   SectionKind = 3
	SectionWeights   SectionKind = 4
	SectionSignature SectionKind = 5
)

// SectionIgnorable in a section's flags lets readers that do not know the
// section's kind skip it (like PNG's ancillary chunks).
const SectionIgnorable uint32 = 1

func (k SectionKind) String() string {
	switch k {
	case SectionMetadata:
		return "METADATA"
	case SectionGraph:
		return "GRAPH"
	case SectionTensors:
		return "TENSORS"
	case SectionWeights:
		return "WEIGHTS"
	case SectionSignature:
		return "SIGNATURE"
	case SectionEncryption:
		return "ENCRYPTION"
	case SectionSealed:
		return "SEALED"
	}
	return "UNKNOWN"
}

// align returns the alignment of a section of kind k. WEIGHTS needs only
// TensorAlign: the mapping itself starts on a page, so 64-byte file offsets
// give 64-byte aligned tensors that kernels use in place (see docs/DESIGN.md).
func (k SectionKind) align() uint64 {
	if k == SectionWeights {
		return TensorAlign
	}
	return SectionAlign
}

// Encoding is how a tensor's bytes are stored (package codec). Ids are
// never reused.
type Encoding = codec.ID

// Encodings (docs/FORMAT.md §6.1).
const (
	EncodingRaw    = codec.Raw
	EncodingZstd   = codec.Zstd
	EncodingLZ4    = codec.LZ4
	EncodingBrotli = codec.Brotli
	EncodingFP16   = codec.FP16
	EncodingInt8   = codec.Int8
	EncodingBF16   = codec.BF16
)

// Header is the fixed 64-byte file header.
type Header struct {
	Major, Minor  uint16
	RequiredFlags uint64 // a reader rejects any bit it does not know
	OptionalFlags uint64 // a reader ignores bits it does not know
	TableOffset   uint64
	SectionCount  uint32
	FileLength    uint64
	TableCRC      uint32 // CRC-32C of the section table
}

// Section is one entry of the section table.
type Section struct {
	Kind   SectionKind
	Flags  uint32
	Offset uint64
	Length uint64
	CRC    uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func (h *Header) encode() []byte {
	b := make([]byte, HeaderSize)
	copy(b, Magic[:])
	le := binary.LittleEndian
	le.PutUint16(b[8:], h.Major)
	le.PutUint16(b[10:], h.Minor)
	le.PutUint32(b[12:], EndianMarker)
	le.PutUint64(b[16:], h.RequiredFlags)
	le.PutUint64(b[24:], h.OptionalFlags)
	le.PutUint64(b[32:], h.TableOffset)
	le.PutUint32(b[40:], h.SectionCount)
	le.PutUint64(b[48:], h.FileLength)
	le.PutUint32(b[56:], h.TableCRC)
	le.PutUint32(b[60:], crc32c(b[:60]))
	return b
}

func (s *Section) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(s.Kind))
	le.PutUint32(b[4:], s.Flags)
	le.PutUint64(b[8:], s.Offset)
	le.PutUint64(b[16:], s.Length)
	le.PutUint32(b[24:], s.CRC)
	le.PutUint32(b[28:], 0)
}

// alignUp rounds n up to a multiple of a (a power of two). ok is false on
// overflow.
func alignUp(n, a uint64) (uint64, bool) {
	r := (n + a - 1) &^ (a - 1)
	return r, r >= n
}

func crc32cUpdate(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }
