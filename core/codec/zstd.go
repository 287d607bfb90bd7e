package codec

import (
	"errors"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/mle-runtime/mle/core/errs"
)

// zstd: each chunk is one zstd frame (klauspost/compress). Frames are written
// without the optional checksum: the file already has a CRC of the stored
// bytes, and the checksum would cost decode time. A reader accepts a frame
// with a checksum (and checks it) too.

var (
	zstdDecOnce sync.Once
	zstdDec     *zstd.Decoder
	zstdDecErr  error

	zstdEncMu sync.Mutex
	zstdEnc   = map[zstd.EncoderLevel]*zstd.Encoder{}
)

// zstdDecoder is shared by every Decode: DecodeAll is safe for concurrent use
// and keeps GOMAXPROCS block decoders ready. WithDecodeAllCapLimit makes
// DecodeAll refuse to produce more than cap(dst) bytes, and the memory limit
// of 16 MiB (the largest chunk) also bounds the window a frame may ask for.
func zstdDecoder() (*zstd.Decoder, error) {
	zstdDecOnce.Do(func() {
		zstdDec, zstdDecErr = zstd.NewReader(nil,
			// One block decoder per CPU: GOMAXPROCS may grow after this
			// runs, and forEach uses it as it is at each call.
			zstd.WithDecoderConcurrency(maxProcs()),
			zstd.WithDecoderMaxMemory(MaxChunkSize),
			zstd.WithDecodeAllCapLimit(true))
	})
	return zstdDec, zstdDecErr
}

// zstdEncoder returns the shared encoder of level l (EncodeAll is safe for
// concurrent use; each call runs on one goroutine).
func zstdEncoder(l zstd.EncoderLevel) (*zstd.Encoder, error) {
	zstdEncMu.Lock()
	defer zstdEncMu.Unlock()
	if e, ok := zstdEnc[l]; ok {
		return e, nil
	}
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(l),
		zstd.WithEncoderConcurrency(maxProcs()),
		zstd.WithEncoderCRC(false),
		// Weights rarely repeat, but their high bytes are skewed: without
		// this the fast levels store such blocks raw when they find no match.
		zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		return nil, err
	}
	zstdEnc[l] = e
	return e, nil
}

// maxProcs bounds the goroutines forEach may run at once, now or later.
func maxProcs() int { return max(runtime.NumCPU(), runtime.GOMAXPROCS(0)) }

func zstdCompress(dst, src []byte, level int) ([]byte, error) {
	if level < 0 || level > 22 {
		return nil, errs.New(errs.InvalidValue, "zstd level %d is outside 1..22 (0: default)", level)
	}
	l := zstd.SpeedDefault
	if level != 0 {
		l = zstd.EncoderLevelFromZstd(level)
	}
	enc, err := zstdEncoder(l)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "zstd encoder")
	}
	return enc.EncodeAll(src, dst), nil
}

// zstdDecompress decodes into dst's own memory: with the cap limit DecodeAll
// stops with ErrDecoderSizeExceeded once a block would take the output past
// cap(dst) (or past a declared content size larger than it), so neither a
// frame's content size nor its blocks can make it write or grow beyond one
// block (128 KiB) past the declared size.
func zstdDecompress(dst, src []byte) error {
	dec, err := zstdDecoder()
	if err != nil {
		return errs.Wrap(errs.Internal, err, "zstd decoder")
	}
	out, err := dec.DecodeAll(src, dst[:0:len(dst)])
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return errs.New(errs.FormatCodecSize, "zstd frame decodes to more than %d bytes", len(dst))
		}
		return errs.Wrap(errs.FormatCodec, err, "corrupt zstd frame")
	}
	if len(out) != len(dst) {
		return errs.New(errs.FormatCodecSize, "zstd frame decodes to %d bytes, want %d", len(out), len(dst))
	}
	if len(out) > 0 && &out[0] != &dst[0] {
		copy(dst, out) // not expected with the cap limit; kept correct regardless
	}
	return nil
}

func init() {
	RegisterCodec(Codec{ID: Zstd, Name: "zstd", Compress: zstdCompress, Decompress: zstdDecompress})
}
