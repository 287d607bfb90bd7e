package codec

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// checked is what check learns about a tensor's stored bytes.
type checked struct {
	n     uint64     // elements
	c     *container // compressed encodings
	codec *Codec     // compressed encodings
}

// Check validates the stored bytes' structure without decompressing or
// converting anything (O(chunks), plus O(channels) for int8): the lengths
// every encoding implies, a compressed tensor's header and chunk table,
// int8's axis and scales. A file calls it when it opens; Decode repeats it.
func Check(id ID, dt dtype.DType, shape []int64, rawLen uint64, stored []byte) error {
	_, err := check(id, dt, shape, rawLen, stored)
	return err
}

func check(id ID, dt dtype.DType, shape []int64, rawLen uint64, stored []byte) (*checked, error) {
	if !id.Known() {
		return nil, errs.New(errs.UnsupportedEncoding, "unknown encoding %d", uint8(id))
	}
	if !dt.Valid() {
		return nil, errs.New(errs.FormatDType, "unknown dtype %d", uint8(dt))
	}
	n, ok := dtype.NumElements(shape)
	if !ok {
		for _, d := range shape {
			if d < 0 {
				return nil, errs.New(errs.FormatNegativeDim, "shape %v has a negative dimension", shape)
			}
		}
		return nil, errs.New(errs.FormatShapeOverflow, "shape %v has too many elements", shape)
	}
	if !dt.IsString() {
		want, ok := dtype.ByteSize(dt, shape)
		if !ok {
			return nil, errs.New(errs.FormatShapeOverflow, "a %s tensor of shape %v has too many bytes", dt, shape)
		}
		if uint64(want) != rawLen {
			return nil, errs.New(errs.FormatCodecSize, "raw length %d, want %d for a %s tensor of shape %v", rawLen, want, dt, shape)
		}
	}
	k := &checked{n: uint64(n)}
	switch {
	case id == Raw:
		if uint64(len(stored)) != rawLen {
			return nil, errs.New(errs.FormatCodecSize, "raw: stored length %d, want the raw length %d", len(stored), rawLen)
		}
		return k, nil
	case id.Quantized():
		if err := innerAllowed(id, dt); err != nil {
			return nil, err
		}
		if err := checkQuantized(id, shape, k.n, stored); err != nil {
			return nil, err
		}
		return k, nil
	}
	codec, ok := Lookup(id)
	if !ok {
		return nil, errs.New(errs.UnsupportedEncoding, "%s compression is not in this build", id)
	}
	c, err := parseContainer(stored)
	if err != nil {
		return nil, errs.Prefix(err, "%s", id)
	}
	if err := innerAllowed(c.inner, dt); err != nil {
		return nil, errs.Prefix(err, "%s", id)
	}
	L := c.length
	switch c.inner {
	case Raw:
		if L != rawLen {
			return nil, errs.New(errs.FormatCodecSize, "%s: inner length %d, want the raw length %d", id, L, rawLen)
		}
	case FP16, BF16:
		if L != 2*k.n {
			return nil, errs.New(errs.FormatCodecSize, "%s: inner %s length %d, want %d (2 bytes × %d elements)", id, c.inner, L, 2*k.n, k.n)
		}
	case Int8:
		// L = 8 + 4C + n where C is the axis's dimension: the axis is inside
		// the compressed bytes, but C must be one of the dimensions.
		if len(shape) == 0 {
			return nil, errs.New(errs.FormatCodec, "%s: inner int8 needs rank >= 1, the tensor is a scalar", id)
		}
		fits := false
		if L >= int8HeaderLen+k.n && (L-int8HeaderLen-k.n)%4 == 0 {
			c4 := (L - int8HeaderLen - k.n) / 4
			for _, d := range shape {
				fits = fits || uint64(d) == c4
			}
		}
		if !fits {
			return nil, errs.New(errs.FormatCodecSize, "%s: inner int8 length %d is not 8 + 4 × a dimension of %v + %d elements", id, L, shape, k.n)
		}
	}
	k.c, k.codec = c, codec
	return k, nil
}

// innerAllowed refuses quantized encodings of non-float tensors.
func innerAllowed(inner ID, dt dtype.DType) error {
	if inner.Quantized() && !dt.IsFloat() {
		return errs.New(errs.FormatCodec, "%s encodes float32 or float64 tensors, not %s", inner, dt)
	}
	return nil
}

// Decode writes the tensor's raw bytes into dst (len(dst) == rawLen) after
// the checks of Check. Chunks decompress in parallel on at most GOMAXPROCS
// goroutines; a panic in any of them becomes an errs.Internal error. Nothing
// is written outside dst, and no decompressor produces more than its chunk's
// declared size; on error dst holds partial data.
func Decode(id ID, dt dtype.DType, shape []int64, rawLen uint64, stored []byte, dst []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.Internal, "codec: panic decoding %s: %v", id.describe(), r)
		}
	}()
	if uint64(len(dst)) != rawLen {
		return errs.New(errs.InvalidValue, "destination of %d bytes for a raw length of %d", len(dst), rawLen)
	}
	k, err := check(id, dt, shape, rawLen, stored)
	if err != nil {
		return err
	}
	n := int(k.n)
	switch {
	case id == Raw:
		copy(dst, stored)
		return nil
	case id.Quantized():
		return dequantize(id, dt, shape, n, stored, dst) // messages name the encoding
	}
	c := k.c
	S := int(c.size)
	inPlace := func(buf []byte) func(i, want int) []byte {
		// Capped at the chunk's end: no decoder can reach the next chunk.
		return func(i, want int) []byte { return buf[i*S : i*S+want : i*S+want] }
	}
	switch c.inner {
	case Raw:
		err = decompressChunks(k.codec, c, inPlace(dst), nil)
	case FP16, BF16:
		// Convert each chunk as it arrives: no buffer of the whole tensor.
		size, f64 := dt.Size(), dt == dtype.Float64
		err = decompressChunks(k.codec, c, nil, func(i int, b []byte) error {
			first := i * S / 2
			out := dst[first*size : (first+len(b)/2)*size]
			if c.inner == FP16 {
				decodeF16(out, b, f64)
			} else {
				decodeBF16(out, b, f64)
			}
			return nil
		})
	case Int8:
		if n == 0 {
			// Nothing to write, but the header and scales are still checked,
			// chunk by chunk: their length (4 × the axis's dimension) need
			// not be bounded by the raw length.
			err = decompressChunks(k.codec, c, nil, func(i int, b []byte) error {
				return checkInt8Chunk(shape, c.length, i*S, b)
			})
			break
		}
		// With elements, C <= n, so the inner bytes are at most 8 + 5n.
		buf := make([]byte, c.length)
		if err = decompressChunks(k.codec, c, inPlace(buf), nil); err != nil {
			break
		}
		if err = checkQuantized(Int8, shape, k.n, buf); err == nil {
			err = dequantize(Int8, dt, shape, n, buf, dst)
		}
		err = errs.Prefix(err, "inner")
	}
	return errs.Prefix(err, "%s", id)
}

// checkInt8Chunk checks the inner bytes [at, at+len(b)) of a zero-element
// int8 tensor, whose L is 8 + 4C: the header (in chunk 0, as S >= 8) and
// every scale in b (scales are 4-aligned, as are chunk boundaries).
func checkInt8Chunk(shape []int64, length uint64, at int, b []byte) error {
	start := 0
	if at == 0 {
		_, c, err := int8Header(shape, b)
		if err != nil {
			return errs.Prefix(err, "inner")
		}
		nc := uint64(c)
		if length != int8HeaderLen+4*nc {
			return errs.New(errs.FormatCodecSize, "inner int8: length %d, want %d (8 + 4 × %d scales)", length, int8HeaderLen+4*nc, nc)
		}
		start = int8HeaderLen
	}
	for j := start; j+4 <= len(b); j += 4 {
		s := getF32(b[j:])
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return errs.New(errs.FormatCodec, "inner int8: scale %d is %g; scales must be finite and >= 0", (at+j-int8HeaderLen)/4, s)
		}
	}
	return nil
}
