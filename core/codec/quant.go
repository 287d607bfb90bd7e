package codec

import (
	"github.com/mle-runtime/mle/kernels"
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// quantBlock is how many elements one goroutine converts at a time.
const quantBlock = 1 << 18

// int8HeaderLen is the int8 encoding's fixed prefix: u32 axis, u32 C.
const int8HeaderLen = 8

// quantizedLen returns the stored length of a quantized encoding of n
// elements; c is int8's channel count.
func quantizedLen(id ID, n, c uint64) uint64 {
	if id == Int8 {
		return int8HeaderLen + 4*c + n
	}
	return 2 * n
}

// quantize encodes the float32/float64 tensor raw as fp16, bf16 or int8 and
// returns the bytes and the largest absolute error of their decoded values.
func quantize(id ID, dt dtype.DType, shape []int64, raw []byte, axis int) ([]byte, float64, error) {
	f64 := dt == dtype.Float64
	n := len(raw) / dt.Size()
	switch id {
	case FP16:
		out := make([]byte, 2*n)
		var maxErr float64
		for i := 0; i < n; i++ {
			x := element(raw, i, f64)
			if math.Abs(x) > fp16Max && !math.IsInf(x, 0) {
				return nil, 0, errs.New(errs.InvalidValue, "fp16: element %d is %g, beyond fp16's largest value 65504", i, x)
			}
			h := f64ToF16(x)
			out[2*i], out[2*i+1] = byte(h), byte(h>>8)
			maxErr = max(maxErr, absDiff(float64(kernels.F16ToF32(h)), x))
		}
		return out, maxErr, nil
	case BF16:
		out := make([]byte, 2*n)
		var maxErr float64
		for i := 0; i < n; i++ {
			x := element(raw, i, f64)
			h := kernels.F32ToBF16(float32(x)) // float64 rounds to float32 first, as specified
			d := float64(kernels.BF16ToF32(h))
			if math.IsInf(d, 0) && !math.IsInf(x, 0) {
				// Refused rather than stored as Inf: the error would be unbounded.
				return nil, 0, errs.New(errs.InvalidValue, "bf16: element %d is %g, which rounds to infinity in bfloat16", i, x)
			}
			out[2*i], out[2*i+1] = byte(h), byte(h>>8)
			maxErr = max(maxErr, absDiff(d, x))
		}
		return out, maxErr, nil
	case Int8:
		return quantizeInt8(shape, raw, axis, n, f64)
	}
	return nil, 0, errs.New(errs.InvalidValue, "%s is not a quantized encoding", id.describe())
}

// channelGeometry returns the elements before and after axis's dimension:
// element (o, c, k) lies at (o*C + c)*inner + k.
func channelGeometry(shape []int64, axis int) (outer, c, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= int(d)
	}
	for _, d := range shape[axis+1:] {
		inner *= int(d)
	}
	return outer, int(shape[axis]), inner
}

func quantizeInt8(shape []int64, raw []byte, axis, n int, f64 bool) ([]byte, float64, error) {
	if len(shape) == 0 {
		return nil, 0, errs.New(errs.InvalidValue, "int8 needs a tensor of rank >= 1, got a scalar")
	}
	if axis < 0 || axis >= len(shape) {
		return nil, 0, errs.New(errs.InvalidValue, "int8 axis %d is outside rank %d", axis, len(shape))
	}
	outer, nc, inner := channelGeometry(shape, axis)
	maxAbs := make([]float64, nc)
	i := 0
	for o := 0; o < outer; o++ {
		for c := 0; c < nc; c++ {
			for k := 0; k < inner; k++ {
				x := element(raw, i, f64)
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, 0, errs.New(errs.InvalidValue, "int8: element %d is %g; int8 needs finite values", i, x)
				}
				maxAbs[c] = max(maxAbs[c], math.Abs(x))
				i++
			}
		}
	}
	out := make([]byte, quantizedLen(Int8, uint64(n), uint64(nc)))
	putU32(out, uint32(axis))
	putU32(out[4:], uint32(nc))
	scales := make([]float32, nc)
	for c, m := range maxAbs {
		s := float32(m / 127)
		if math.IsInf(float64(s), 0) {
			return nil, 0, errs.New(errs.InvalidValue, "int8: channel %d's largest magnitude %g needs a scale beyond float32", c, m)
		}
		scales[c] = s
		putU32(out[int8HeaderLen+4*c:], math.Float32bits(s))
	}
	q := out[int8HeaderLen+4*nc:]
	var maxErr float64
	i = 0
	for o := 0; o < outer; o++ {
		for c := 0; c < nc; c++ {
			s := scales[c]
			for k := 0; k < inner; k++ {
				x := element(raw, i, f64)
				var v int8
				if s != 0 { // a zero scale (all-zero or underflowing channel) stores 0
					v = int8(max(-127, min(127, math.RoundToEven(x/float64(s)))))
				}
				q[i] = byte(v)
				// The error is measured on the value Decode will produce.
				var d float64
				if f64 {
					d = float64(v) * float64(s)
				} else {
					d = float64(float32(v) * s)
				}
				maxErr = max(maxErr, math.Abs(d-x))
				i++
			}
		}
	}
	return out, maxErr, nil
}

// int8Header validates int8's axis and channel count against the shape.
func int8Header(shape []int64, stored []byte) (axis, nc int, err error) {
	if len(stored) < int8HeaderLen {
		return 0, 0, errs.New(errs.FormatCodecSize, "int8: %d bytes, shorter than the 8-byte header", len(stored))
	}
	ax, c := getU32(stored), getU32(stored[4:])
	if uint64(ax) >= uint64(len(shape)) {
		return 0, 0, errs.New(errs.FormatCodec, "int8: axis %d is outside rank %d", ax, len(shape))
	}
	if int64(c) != shape[ax] {
		return 0, 0, errs.New(errs.FormatCodec, "int8: %d scales for axis %d, whose dimension is %d", c, ax, shape[ax])
	}
	return int(ax), int(c), nil
}

// int8Scales validates int8's header and returns its scales (C float32s,
// finite and >= 0). stored may be longer than the header and scales (the
// values follow); the caller checks the total length.
func int8Scales(shape []int64, stored []byte) (axis int, scales []float32, err error) {
	axis, nc, err := int8Header(shape, stored)
	if err != nil {
		return 0, nil, err
	}
	if uint64(len(stored)) < int8HeaderLen+4*uint64(nc) {
		return 0, nil, errs.New(errs.FormatCodecSize, "int8: %d bytes, shorter than the header and %d scales", len(stored), nc)
	}
	scales = make([]float32, nc)
	for c := range scales {
		s := getF32(stored[int8HeaderLen+4*c:])
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return 0, nil, errs.New(errs.FormatCodec, "int8: scale %d is %g; scales must be finite and >= 0", c, s)
		}
		scales[c] = s
	}
	return axis, scales, nil
}

// checkQuantized validates a quantized encoding's stored bytes without
// converting the values (O(channels)).
func checkQuantized(id ID, shape []int64, n uint64, stored []byte) error {
	if id != Int8 {
		if want := quantizedLen(id, n, 0); uint64(len(stored)) != want {
			return errs.New(errs.FormatCodecSize, "%s: stored length %d, want %d (2 bytes × %d elements)", id, len(stored), want, n)
		}
		return nil
	}
	if len(shape) == 0 {
		return errs.New(errs.FormatCodec, "int8: a scalar has no channel axis")
	}
	_, scales, err := int8Scales(shape, stored)
	if err != nil {
		return err
	}
	if want := quantizedLen(Int8, n, uint64(len(scales))); uint64(len(stored)) != want {
		return errs.New(errs.FormatCodecSize, "int8: stored length %d, want %d (8 + 4 × %d scales + %d elements)", len(stored), want, len(scales), n)
	}
	return nil
}

// dequantize decodes a checked quantized encoding into dst (the raw float32
// or float64 elements), in parallel blocks.
func dequantize(id ID, dt dtype.DType, shape []int64, n int, stored, dst []byte) error {
	f64 := dt == dtype.Float64
	size := dt.Size()
	blocks := (n + quantBlock - 1) / quantBlock
	switch id {
	case FP16, BF16:
		return forEach(blocks, func(b int, _ *[]byte) error {
			lo, hi := b*quantBlock, min(n, (b+1)*quantBlock)
			if id == FP16 {
				decodeF16(dst[lo*size:hi*size], stored[2*lo:2*hi], f64)
			} else {
				decodeBF16(dst[lo*size:hi*size], stored[2*lo:2*hi], f64)
			}
			return nil
		})
	}
	axis, scales, err := int8Scales(shape, stored)
	if err != nil {
		return err
	}
	_, _, inner := channelGeometry(shape, axis)
	q := stored[int8HeaderLen+4*len(scales):]
	return forEach(blocks, func(b int, _ *[]byte) error {
		lo, hi := b*quantBlock, min(n, (b+1)*quantBlock)
		return decodeInt8Range(dst, q, scales, inner, lo, hi, f64)
	})
}

// decodeInt8Range decodes elements [lo, hi) of an int8 tensor, a run of
// elements sharing a channel at a time.
func decodeInt8Range(dst, q []byte, scales []float32, inner, lo, hi int, f64 bool) error {
	nc := len(scales)
	if inner == 1 && !f64 {
		// The channel axis is the last: the scale changes every element.
		c := lo % nc
		for i := lo; i < hi; i++ {
			v := int8(q[i])
			if v == -128 {
				return errs.New(errs.FormatCodec, "int8: element %d is -128; values lie in [-127, 127]", i)
			}
			putU32(dst[4*i:], math.Float32bits(float32(v)*scales[c]))
			if c++; c == nc {
				c = 0
			}
		}
		return nil
	}
	for i := lo; i < hi; {
		row := i / inner
		s := scales[row%nc]
		end := min(hi, (row+1)*inner)
		if f64 {
			s64 := float64(s)
			for ; i < end; i++ {
				v := int8(q[i])
				if v == -128 {
					return errs.New(errs.FormatCodec, "int8: element %d is -128; values lie in [-127, 127]", i)
				}
				putF64(dst[8*i:], float64(v)*s64)
			}
			continue
		}
		d := dst[4*i : 4*end]
		qs := q[i:end]
		for j, b := range qs {
			v := int8(b)
			if v == -128 {
				return errs.New(errs.FormatCodec, "int8: element %d is -128; values lie in [-127, 127]", i+j)
			}
			putU32(d[4*j:], math.Float32bits(float32(v)*s))
		}
		i = end
	}
	return nil
}
