package codec

import (
	"errors"
	"math/bits"

	"github.com/mle-runtime/mle/core/errs"
)

// The chunked container of the compressed encodings (docs/FORMAT.md §6.1):
//
//	u8 inner, u8 filter, u8 element size, u8 reserved,
//	u32 chunk size S, u64 inner length L, u32 chunk count n, u32 reserved,
//	(n+1) × u64 offsets, then the n compressed chunks.
const (
	chunkHeaderLen = 24

	filterNone    = 0
	filterShuffle = 1
)

// container is a parsed, structurally valid chunk table.
type container struct {
	inner   ID
	filter  uint8
	elem    int    // shuffle element size
	size    uint64 // chunk size S
	length  uint64 // inner length L
	n       int    // chunk count
	offsets []byte // (n+1) × u64
	data    []byte // the compressed chunks
}

// chunk returns chunk i's compressed bytes and its decompressed size.
func (c *container) chunk(i int) (src []byte, want int) {
	lo, hi := getU64(c.offsets[8*i:]), getU64(c.offsets[8*i+8:])
	return c.data[lo:hi], int(min(c.size, c.length-uint64(i)*c.size))
}

// parseContainer checks everything about a compressed encoding that needs no
// decompression: header fields, chunk size, chunk count and the offsets.
func parseContainer(stored []byte) (*container, error) {
	if len(stored) < chunkHeaderLen {
		return nil, errs.New(errs.FormatChunkTable, "stored length %d is shorter than the %d-byte chunk header", len(stored), chunkHeaderLen)
	}
	c := &container{
		inner:  ID(stored[0]),
		filter: stored[1],
		elem:   int(stored[2]),
		size:   uint64(getU32(stored[4:])),
		length: getU64(stored[8:]),
	}
	count := uint64(getU32(stored[16:]))
	switch c.inner {
	case Raw, FP16, Int8, BF16:
	default:
		return nil, errs.New(errs.FormatCodec, "inner encoding %d is not raw, fp16, int8 or bf16", stored[0])
	}
	if c.filter != filterNone && c.filter != filterShuffle {
		return nil, errs.New(errs.FormatCodec, "unknown filter %d (0 none, 1 byte-shuffle)", c.filter)
	}
	if stored[3] != 0 || getU32(stored[20:]) != 0 {
		return nil, errs.New(errs.FormatChunkTable, "reserved header fields are not zero")
	}
	switch {
	case c.elem != 1 && c.elem != 2 && c.elem != 4 && c.elem != 8:
		return nil, errs.New(errs.FormatChunkTable, "shuffle element size %d is not 1, 2, 4 or 8", c.elem)
	case c.filter == filterNone && c.elem != 1:
		return nil, errs.New(errs.FormatChunkTable, "element size %d without the shuffle filter (must be 1)", c.elem)
	case c.size < MinChunkSize || c.size > MaxChunkSize || c.size&(c.size-1) != 0:
		return nil, errs.New(errs.FormatChunkTable, "chunk size %d is not a power of two from 4096 to 16777216", c.size)
	case c.length%uint64(c.elem) != 0:
		return nil, errs.New(errs.FormatChunkTable, "inner length %d is not a multiple of the element size %d", c.length, c.elem)
	}
	// S is a power of two >= 4096, so it is a multiple of every valid e.
	if want := c.length/c.size + min(1, c.length%c.size); count != want {
		return nil, errs.New(errs.FormatChunkTable, "chunk count %d, but inner length %d in chunks of %d needs %d", count, c.length, c.size, want)
	}
	c.n = int(count)
	tableEnd, carry := bits.Add64(chunkHeaderLen, 8*(count+1), 0)
	if carry != 0 || tableEnd > uint64(len(stored)) {
		return nil, errs.New(errs.FormatChunkTable, "a table of %d chunks needs %d bytes; the stored length is %d", count, chunkHeaderLen+8*(count+1), len(stored))
	}
	c.offsets = stored[chunkHeaderLen:tableEnd]
	c.data = stored[tableEnd:]
	rest := uint64(len(c.data))
	prev := uint64(0)
	for i := 0; i <= c.n; i++ {
		off := getU64(c.offsets[8*i:])
		switch {
		case i == 0 && off != 0:
			return nil, errs.New(errs.FormatChunkTable, "offset[0] is %d, not 0", off)
		case off > rest:
			return nil, errs.New(errs.FormatChunkTable, "offset[%d] = %d points past the %d bytes of chunks", i, off, rest)
		case off < prev:
			return nil, errs.New(errs.FormatChunkTable, "offset[%d] = %d is below offset[%d] = %d", i, off, i-1, prev)
		}
		prev = off
	}
	if prev != rest {
		return nil, errs.New(errs.FormatChunkTable, "offset[%d] = %d, but %d bytes of chunks follow the table", c.n, prev, rest)
	}
	return c, nil
}

// appendContainerHeader appends the header and the table of a container whose
// chunks are chunks.
func appendContainerHeader(dst []byte, inner ID, filter uint8, elem, size int, length uint64, chunks [][]byte) []byte {
	var h [chunkHeaderLen]byte
	h[0], h[1], h[2] = byte(inner), filter, byte(elem)
	putU32(h[4:], uint32(size))
	putU64(h[8:], length)
	putU32(h[16:], uint32(len(chunks)))
	dst = append(dst, h[:]...)
	var off [8]byte
	total := uint64(0)
	dst = append(dst, off[:]...) // offset[0] = 0
	for _, c := range chunks {
		total += uint64(len(c))
		putU64(off[:], total)
		dst = append(dst, off[:]...)
	}
	return dst
}

// compressChunks stores inner (the inner encoding's bytes) in the chunked
// container, compressing the chunks in parallel. It always returns the
// container, even when it is not smaller than inner.
func compressChunks(codec *Codec, level int, inner []byte, innerID ID, filter uint8, elem, size int) ([]byte, error) {
	if filter == filterNone {
		elem = 1
	}
	n := (len(inner) + size - 1) / size
	chunks := make([][]byte, n)
	err := forEach(n, func(i int, scratch *[]byte) error {
		src := inner[i*size : min(len(inner), (i+1)*size)]
		if filter == filterShuffle {
			buf := grow(scratch, len(src))
			shuffle(buf, src, elem)
			src = buf
		}
		out, err := codec.Compress(nil, src, level)
		if err != nil {
			return errs.Prefix(err, "%s: chunk %d", codec.Name, i)
		}
		chunks[i] = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := chunkHeaderLen + 8*(n+1)
	for _, c := range chunks {
		total += len(c)
	}
	out := appendContainerHeader(make([]byte, 0, total), innerID, filter, elem, size, uint64(len(inner)), chunks)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// decompressChunks decompresses every chunk of c in parallel and hands each
// chunk's inner bytes to sink(i, b), where b covers inner bytes [i·S, i·S+len(b)).
// direct, when not nil, returns where chunk i's inner bytes belong: the chunk
// decompresses there (no filter) or is unshuffled there, saving a copy.
func decompressChunks(codec *Codec, c *container, direct func(i, want int) []byte, sink func(i int, b []byte) error) error {
	return forEach(c.n, func(i int, scratch *[]byte) error {
		src, want := c.chunk(i)
		var out []byte
		if direct != nil && c.filter == filterNone {
			out = direct(i, want)
		} else {
			need := want
			if c.filter == filterShuffle && direct == nil {
				need *= 2 // the second half holds the unshuffled bytes
			}
			out = grow(scratch, need)[:want:want]
		}
		if len(src) == 0 {
			return errs.New(errs.FormatCodec, "chunk %d of %d is empty", i, c.n)
		}
		if err := codec.Decompress(out, src); err != nil {
			if e := (*errs.Error)(nil); !errors.As(err, &e) {
				err = errs.Wrap(errs.FormatCodec, err, "%s", codec.Name) // a registered codec's plain error
			}
			return errs.Prefix(err, "chunk %d of %d (%d bytes)", i, c.n, want)
		}
		if c.filter == filterShuffle {
			var plain []byte
			if direct != nil {
				plain = direct(i, want)
			} else {
				plain = (*scratch)[want : 2*want]
			}
			unshuffle(plain, out, c.elem)
			out = plain
		}
		if sink == nil {
			return nil
		}
		return sink(i, out)
	})
}
