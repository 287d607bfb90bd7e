package codec

import (
	"bytes"
	"errors"
	"io"
	"math/bits"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/mle-runtime/mle/core/errs"
)

// brotli: each chunk is one brotli stream (andybalholm/brotli, a pure-Go
// port of Google's brotli). The decoder is streamed into dst, so it writes
// nothing past it; its ring buffer is bounded by the stream's window
// (at most 16 MiB: the large-window extension is not accepted).

// brotliDefaultQuality is the quality of level 0: 6 compresses float data
// within a few percent of 9-11 at many times their speed.
const brotliDefaultQuality = 6

var brotliReaders = sync.Pool{New: func() any { return brotli.NewReader(nil) }}

// appender is an io.Writer that appends to a slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func brotliCompress(dst, src []byte, level int) ([]byte, error) {
	if level < 0 || level > 11 {
		return nil, errs.New(errs.InvalidValue, "brotli level %d is outside 1..11 (0: default %d)", level, brotliDefaultQuality)
	}
	if level == 0 {
		level = brotliDefaultQuality
	}
	// The smallest window (2^lgwin - 16 bytes) that spans the whole chunk:
	// a larger one gains nothing and costs the decoder memory.
	lgwin := min(24, max(10, bits.Len(uint(len(src)+15))))
	a := &appender{b: dst}
	w := brotli.NewWriterOptions(a, brotli.WriterOptions{Quality: level, LGWin: lgwin})
	if _, err := w.Write(src); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "brotli")
	}
	if err := w.Close(); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "brotli")
	}
	return a.b, nil
}

func brotliDecompress(dst, src []byte) error {
	r := brotliReaders.Get().(*brotli.Reader)
	defer brotliReaders.Put(r)
	if err := r.Reset(bytes.NewReader(src)); err != nil {
		return errs.Wrap(errs.Internal, err, "brotli reset")
	}
	n, idle := 0, 0
	for n < len(dst) {
		m, err := r.Read(dst[n:])
		n += m
		switch {
		case err == io.EOF:
			return errs.New(errs.FormatCodecSize, "brotli stream decodes to %d bytes, want %d", n, len(dst))
		case err != nil:
			return brotliCorrupt(err)
		case m == 0:
			if idle++; idle > 100 { // a reader that makes no progress: never spin
				return errs.New(errs.FormatCodec, "corrupt brotli stream: no progress after %d bytes", n)
			}
		default:
			idle = 0
		}
	}
	// dst is full: the stream must end here, with no input left over.
	var one [1]byte
	for range 100 {
		m, err := r.Read(one[:])
		switch {
		case m > 0:
			return errs.New(errs.FormatCodecSize, "brotli stream decodes to more than %d bytes", len(dst))
		case err == io.EOF:
			return nil
		case err != nil:
			return brotliCorrupt(err)
		}
	}
	return errs.New(errs.FormatCodec, "corrupt brotli stream: no end after %d bytes", len(dst))
}

func brotliCorrupt(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.Wrap(errs.FormatCodec, err, "truncated brotli stream")
	}
	return errs.Wrap(errs.FormatCodec, err, "corrupt brotli stream")
}

func init() {
	RegisterCodec(Codec{ID: Brotli, Name: "brotli", Compress: brotliCompress, Decompress: brotliDecompress})
}
