// Package codec turns a tensor's raw bytes into its stored bytes and back:
// the encodings of docs/FORMAT.md (raw, zstd, lz4, brotli, fp16, int8, bf16).
//
// A compressed tensor is split into independent chunks that compress and
// decompress in parallel; a quantized tensor stores fewer bits per element.
// Compression wraps an inner encoding (raw or quantized). The "Encodings"
// part of docs/FORMAT.md's TENSORS section is the normative description of
// the stored bytes.
//
// Decoding trusts nothing in the stored bytes: every length is checked
// against the tensor's declared raw length before anything is allocated, and
// no decompressor writes past the size its chunk declares (see zstd.go and
// brotli.go for the small fixed buffers the libraries keep).
package codec

import (
	"fmt"
	"sync"
)

// ID is an encoding id (a tensor descriptor's u8 encoding). Ids are never reused.
type ID uint8

// The encodings.
const (
	Raw    ID = 0 // the elements themselves, C order, little-endian
	Zstd   ID = 1 // chunked zstd frames around an inner encoding
	LZ4    ID = 2 // chunked LZ4 blocks around an inner encoding
	Brotli ID = 3 // chunked brotli streams around an inner encoding
	FP16   ID = 4 // IEEE binary16 per element (float32/float64 tensors)
	Int8   ID = 5 // int8 with one float32 scale per output channel
	BF16   ID = 6 // bfloat16 per element (float32/float64 tensors)
)

// fixedNames names the encodings that are not compression codecs; a
// codec's name is the one it registered with.
var fixedNames = map[ID]string{Raw: "raw", FP16: "fp16", Int8: "int8", BF16: "bf16"}

// String returns the encoding's name, or "unknown".
func (id ID) String() string {
	if n, ok := fixedNames[id]; ok {
		return n
	}
	if c, ok := Lookup(id); ok {
		return c.Name
	}
	return "unknown"
}

// ParseID returns the encoding named s (the names of String, and "none" for Raw).
func ParseID(s string) (ID, bool) {
	if s == "none" {
		return Raw, true
	}
	for id, n := range fixedNames {
		if n == s {
			return id, true
		}
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	for id, c := range registry {
		if c.Name == s {
			return id, true
		}
	}
	return 0, false
}

// Compressed reports whether id is a chunked compressed encoding: one with
// a registered codec.
func (id ID) Compressed() bool {
	_, ok := Lookup(id)
	return ok
}

// Quantized reports whether id is a quantized encoding.
func (id ID) Quantized() bool { return id == FP16 || id == Int8 || id == BF16 }

// Known reports whether this build reads id.
func (id ID) Known() bool { return id == Raw || id.Quantized() || id.Compressed() }

// describe names an id in messages: its name, or its number when unknown.
func (id ID) describe() string {
	if id.Known() {
		return id.String()
	}
	return fmt.Sprintf("encoding %d", uint8(id))
}

// Codec is a general-purpose compressor of one chunk. The built-in codecs
// (zstd, lz4, brotli) register themselves; RegisterCodec is the hook for
// another implementation of an id, much like archive/zip's RegisterDecompressor.
type Codec struct {
	ID   ID
	Name string
	// Compress appends the compressed form of src to dst. level 0 is the
	// codec's default; an out-of-range level is an errs.InvalidValue error.
	Compress func(dst, src []byte, level int) ([]byte, error)
	// Decompress fills dst (its exact declared size) from src; it must fail,
	// without writing past dst, when src decodes to more or fewer bytes
	// (errs.FormatCodecSize) or is corrupt (errs.FormatCodec). It is called
	// from several goroutines at once.
	Decompress func(dst, src []byte) error
}

var (
	registryMu sync.RWMutex
	registry   = map[ID]*Codec{}
)

// RegisterCodec makes c the codec of c.ID. It is meant for init functions:
// it panics when the id already has a codec, is raw or quantized, or c lacks
// a name or a function. Registering is all a new compression takes (with its
// id in docs/FORMAT.md §6.1): Compressed, Known, String and ParseID follow.
func RegisterCodec(c Codec) {
	if c.ID == Raw || c.ID.Quantized() {
		panic(fmt.Sprintf("codec: RegisterCodec: %s is not a compression id", c.ID.describe()))
	}
	if c.Compress == nil || c.Decompress == nil || c.Name == "" {
		panic(fmt.Sprintf("codec: RegisterCodec: %s lacks a name, Compress or Decompress", c.ID.describe()))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if prev, dup := registry[c.ID]; dup {
		panic(fmt.Sprintf("codec: RegisterCodec: id %d (%s) registered twice", uint8(c.ID), prev.Name))
	}
	registry[c.ID] = &c
}

// Lookup returns the codec registered for id.
func Lookup(id ID) (*Codec, bool) {
	registryMu.RLock()
	c, ok := registry[id]
	registryMu.RUnlock()
	return c, ok
}

// Spec says how to store one tensor.
type Spec struct {
	// Compress is Raw (no compression), Zstd, LZ4 or Brotli.
	Compress ID
	// Level is the compression level; 0 is the codec's default. zstd: 1..22
	// as in the zstd CLI, mapped to the nearest of klauspost's four speeds
	// (default: SpeedDefault, about zstd -3). lz4: 0 the fast compressor,
	// 1..9 the high-compression one at that depth. brotli: quality 1..11
	// (default 6, a middle ground: 9 and up are many times slower to write).
	Level int
	// Shuffle: 0 auto (byte-shuffle when the inner element size is > 1 and
	// the tensor is numeric), 1 on, -1 off.
	Shuffle int
	// ChunkSize is the uncompressed bytes per chunk: a power of two from
	// 4 KiB to 16 MiB; 0 means 1 MiB.
	ChunkSize int
	// Quantize is Raw (none), FP16, BF16 or Int8 (float32/float64 only).
	Quantize ID
	// Axis is Int8's output-channel axis (one scale per index along it).
	Axis int
}

// Limits of the chunked container.
const (
	// DefaultChunkSize is the chunk size of a Spec that sets none.
	DefaultChunkSize = 1 << 20
	// MinChunkSize and MaxChunkSize bound a chunk size (both powers of two).
	MinChunkSize = 4 << 10
	MaxChunkSize = 16 << 20
)
