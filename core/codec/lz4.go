package codec

import (
	"slices"
	"sync"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/pierrec/lz4/v4"
)

// lz4: each chunk is one LZ4 block (the block format, no frame). A block
// does not record its decoded size: the chunk table's size is the bound.

var (
	lz4Fast = sync.Pool{New: func() any { return new(lz4.Compressor) }}
	lz4HC   = sync.Pool{New: func() any { return new(lz4.CompressorHC) }}
)

func lz4Compress(dst, src []byte, level int) ([]byte, error) {
	if level < 0 || level > 9 {
		return nil, errs.New(errs.InvalidValue, "lz4 level %d is outside 1..9 (0: the fast compressor)", level)
	}
	start := len(dst)
	bound := lz4.CompressBlockBound(len(src))
	dst = slices.Grow(dst, bound)[:start+bound]
	var n int
	var err error
	if level == 0 {
		c := lz4Fast.Get().(*lz4.Compressor)
		n, err = c.CompressBlock(src, dst[start:])
		lz4Fast.Put(c)
	} else {
		c := lz4HC.Get().(*lz4.CompressorHC)
		c.Level = lz4.Level1 << (level - 1) // Level1..Level9 are successive powers of two
		n, err = c.CompressBlock(src, dst[start:])
		lz4HC.Put(c)
	}
	if err != nil || (n == 0 && len(src) > 0) {
		// With a bound-sized dst compression always succeeds.
		return nil, errs.Wrap(errs.Internal, err, "lz4 compressed %d bytes to %d", len(src), n)
	}
	return dst[:start+n], nil
}

func lz4Decompress(dst, src []byte) error {
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		// The decoder fails alike on corrupt blocks and on blocks that need
		// more room than dst: tell them apart by walking the block.
		if size, ok := lz4BlockSize(src, len(dst)); ok && size > len(dst) {
			return errs.New(errs.FormatCodecSize, "lz4 block decodes to more than %d bytes", len(dst))
		}
		return errs.Wrap(errs.FormatCodec, err, "corrupt lz4 block")
	}
	if n != len(dst) {
		return errs.New(errs.FormatCodecSize, "lz4 block decodes to %d bytes, want %d", n, len(dst))
	}
	return nil
}

// lz4BlockSize returns the size an LZ4 block decodes to, reading only its
// sequence headers, and whether the block is well-formed up to that point.
// It stops as soon as the size passes limit (returning it, ok).
func lz4BlockSize(src []byte, limit int) (size int, ok bool) {
	pos := 0
	// extend adds LZ4's 255-continued length bytes to l.
	extend := func(l int) (int, bool) {
		for {
			if pos >= len(src) {
				return 0, false
			}
			b := src[pos]
			pos++
			l += int(b)
			if b != 255 {
				return l, true
			}
		}
	}
	for {
		if pos >= len(src) {
			return 0, false
		}
		token := src[pos]
		pos++
		lit := int(token >> 4)
		if lit == 15 {
			if lit, ok = extend(lit); !ok {
				return 0, false
			}
		}
		if lit > len(src)-pos {
			return 0, false
		}
		pos += lit
		size += lit
		if size > limit {
			return size, true
		}
		if pos == len(src) {
			return size, true // the last sequence has literals only
		}
		if pos+2 > len(src) {
			return 0, false
		}
		off := int(src[pos]) | int(src[pos+1])<<8
		pos += 2
		if off == 0 || off > size {
			return 0, false
		}
		ml := int(token & 15)
		if ml == 15 {
			if ml, ok = extend(ml); !ok {
				return 0, false
			}
		}
		size += ml + 4
		if size > limit {
			return size, true
		}
	}
}

func init() {
	RegisterCodec(Codec{ID: LZ4, Name: "lz4", Compress: lz4Compress, Decompress: lz4Decompress})
}
