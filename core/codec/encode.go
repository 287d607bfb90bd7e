package codec

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// levelMax is the highest level of each built-in codec (their Compress
// functions check too; Encode checks first so an empty tensor, which calls
// no Compress, still refuses a bad level).
var levelMax = map[ID]int{Zstd: 22, LZ4: 9, Brotli: 11}

// Encode returns the encoding id and stored bytes for a tensor of logical
// dtype dt and shape whose raw bytes are raw (strings: packed). It also
// returns the largest absolute difference between the decoded and the
// original values (0 when not quantized; NaN and infinities, which are kept,
// count as no difference).
//
// s.Quantize quantizes first (float32/float64 only); s.Compress then stores
// the result in compressed chunks. Compression that would not make the
// stored bytes smaller than the inner bytes is dropped: the inner encoding
// (raw or the quantized one) is returned instead, so the id may differ from
// s.Compress. With neither, stored is raw itself (not a copy).
//
// A value an encoding cannot hold is an errs.InvalidValue error, so that the
// caller can store the tensor raw instead: fp16 and a finite magnitude above
// 65504, bf16 and a finite value that rounds to infinity, int8 and NaN or
// infinity. A bad Spec is errs.InvalidValue too; a compressor missing from
// this build is errs.UnsupportedEncoding.
//
// Chunks are compressed in parallel on at most GOMAXPROCS goroutines.
func Encode(dt dtype.DType, shape []int64, raw []byte, s Spec) (id ID, stored []byte, maxAbsErr float64, err error) {
	return encode(dt, shape, raw, s, false)
}

// encode is Encode; keep keeps the compressed form even when it is not
// smaller (for tests and benchmarks of the container).
func encode(dt dtype.DType, shape []int64, raw []byte, s Spec, keep bool) (id ID, stored []byte, maxAbsErr float64, err error) {
	if !dt.Valid() {
		return 0, nil, 0, errs.New(errs.InvalidValue, "unknown dtype %d", uint8(dt))
	}
	if _, ok := dtype.NumElements(shape); !ok {
		return 0, nil, 0, errs.New(errs.InvalidValue, "shape %v has a negative dimension or too many elements", shape)
	}
	if !dt.IsString() {
		want, ok := dtype.ByteSize(dt, shape)
		if !ok || int64(len(raw)) != want {
			return 0, nil, 0, errs.New(errs.InvalidValue, "%d raw bytes for a %s tensor of shape %v, want %d", len(raw), dt, shape, want)
		}
	}
	if s.Compress != Raw && !s.Compress.Compressed() {
		return 0, nil, 0, errs.New(errs.InvalidValue, "%s is not a compression (raw, zstd, lz4 or brotli)", s.Compress.describe())
	}
	if s.Quantize != Raw && !s.Quantize.Quantized() {
		return 0, nil, 0, errs.New(errs.InvalidValue, "%s is not a quantization (raw, fp16, bf16 or int8)", s.Quantize.describe())
	}
	if s.Quantize != Raw && !dt.IsFloat() {
		return 0, nil, 0, errs.New(errs.InvalidValue, "%s quantizes float32 or float64 tensors, not %s", s.Quantize, dt)
	}
	if s.Shuffle < -1 || s.Shuffle > 1 {
		return 0, nil, 0, errs.New(errs.InvalidValue, "shuffle %d is not -1 (off), 0 (auto) or 1 (on)", s.Shuffle)
	}
	if s.Shuffle == 1 && dt.IsString() {
		return 0, nil, 0, errs.New(errs.InvalidValue, "a string tensor has no fixed element size to shuffle")
	}
	size := s.ChunkSize
	if size == 0 {
		size = DefaultChunkSize
	}
	if size < MinChunkSize || size > MaxChunkSize || size&(size-1) != 0 {
		return 0, nil, 0, errs.New(errs.InvalidValue, "chunk size %d is not a power of two from 4096 to 16777216", s.ChunkSize)
	}
	if m, ok := levelMax[s.Compress]; ok && (s.Level < 0 || s.Level > m) {
		return 0, nil, 0, errs.New(errs.InvalidValue, "%s level %d is outside 1..%d (0: default)", s.Compress, s.Level, m)
	}

	inner, innerID := raw, Raw
	if s.Quantize != Raw {
		if inner, maxAbsErr, err = quantize(s.Quantize, dt, shape, raw, s.Axis); err != nil {
			return 0, nil, 0, err
		}
		innerID = s.Quantize
	}
	if s.Compress == Raw {
		return innerID, inner, maxAbsErr, nil
	}
	codec, ok := Lookup(s.Compress)
	if !ok {
		return 0, nil, 0, errs.New(errs.UnsupportedEncoding, "%s compression is not in this build", s.Compress)
	}
	elem := innerElemSize(innerID, dt)
	filter := uint8(filterNone)
	if elem > 1 && (s.Shuffle == 1 || (s.Shuffle == 0 && !dt.IsString())) {
		filter = filterShuffle
	}
	packed, err := compressChunks(codec, s.Level, inner, innerID, filter, elem, size)
	if err != nil {
		return 0, nil, 0, err
	}
	if len(packed) >= len(inner) && !keep {
		return innerID, inner, maxAbsErr, nil
	}
	return s.Compress, packed, maxAbsErr, nil
}

// innerElemSize is the element size the shuffle filter uses for an inner
// encoding: the dtype's for raw (1 for strings: bytes), 2 for fp16/bf16 and
// 1 for int8.
func innerElemSize(inner ID, dt dtype.DType) int {
	switch inner {
	case FP16, BF16:
		return 2
	case Int8:
		return 1
	}
	if dt.IsString() {
		return 1
	}
	return dt.Size()
}
