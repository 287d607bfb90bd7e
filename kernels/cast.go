package kernels

import (
	"encoding/binary"
	"math"
)

// Elem is an element type id understood by Cast. The values match
// core/dtype (ONNX TensorProto ids); kernels cannot import core.
type Elem uint8

// Element types.
const (
	ElemF32  Elem = 1
	ElemU8   Elem = 2
	ElemI8   Elem = 3
	ElemI32  Elem = 6
	ElemI64  Elem = 7
	ElemBool Elem = 9
	ElemF16  Elem = 10
	ElemF64  Elem = 11
	ElemBF16 Elem = 16
)

func (e Elem) isFloat() bool {
	return e == ElemF32 || e == ElemF64 || e == ElemF16 || e == ElemBF16
}

// Cast converts n elements of type from in src to type to in dst.
// Rules: int→int wraps (two's complement, as numpy's astype); float→int
// truncates toward zero, saturates out-of-range values and maps NaN to 0;
// anything→bool is x != 0 (NaN is true); bool→number is 0 or 1; float→float
// rounds to nearest even.
func Cast(dst []byte, to Elem, src []byte, from Elem, n int) {
	le := binary.LittleEndian
	if !from.isFloat() && !to.isFloat() {
		for i := 0; i < n; i++ {
			var v int64
			switch from {
			case ElemU8:
				v = int64(src[i])
			case ElemI8:
				v = int64(int8(src[i]))
			case ElemBool:
				if src[i] != 0 {
					v = 1
				}
			case ElemI32:
				v = int64(int32(le.Uint32(src[4*i:])))
			case ElemI64:
				v = int64(le.Uint64(src[8*i:]))
			}
			storeInt(dst, to, i, v)
		}
		return
	}
	for i := 0; i < n; i++ {
		var v float64
		switch from {
		case ElemU8:
			v = float64(src[i])
		case ElemI8:
			v = float64(int8(src[i]))
		case ElemBool:
			if src[i] != 0 {
				v = 1
			}
		case ElemI32:
			v = float64(int32(le.Uint32(src[4*i:])))
		case ElemI64:
			v = float64(int64(le.Uint64(src[8*i:])))
		case ElemF32:
			v = float64(math.Float32frombits(le.Uint32(src[4*i:])))
		case ElemF64:
			v = math.Float64frombits(le.Uint64(src[8*i:]))
		case ElemF16:
			v = float64(F16ToF32(le.Uint16(src[2*i:])))
		case ElemBF16:
			v = float64(BF16ToF32(le.Uint16(src[2*i:])))
		}
		switch to {
		case ElemF32:
			le.PutUint32(dst[4*i:], math.Float32bits(float32(v)))
		case ElemF64:
			le.PutUint64(dst[8*i:], math.Float64bits(v))
		case ElemF16:
			le.PutUint16(dst[2*i:], F32ToF16(float32(v)))
		case ElemBF16:
			le.PutUint16(dst[2*i:], F32ToBF16(float32(v)))
		case ElemBool:
			if v != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		default: // an integer type from a float one (int→int took the loop above)
			storeInt(dst, to, i, saturate(v, to))
		}
	}
}

// ToFloat64s returns n elements of type from in src as float64 values.
func ToFloat64s(src []byte, from Elem, n int) []float64 {
	b := make([]byte, 8*n)
	Cast(b, ElemF64, src, from, n)
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// FromFloat64s stores vals in dst as elements of type to, by Cast's rules.
func FromFloat64s(dst []byte, to Elem, vals []float64) {
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	Cast(dst, to, b, ElemF64, len(vals))
}

// saturate truncates v toward zero and clamps it to to's range; NaN gives 0.
func saturate(v float64, to Elem) int64 {
	if v != v {
		return 0
	}
	lo, hi := math.MinInt64, math.MaxInt64
	switch to {
	case ElemU8:
		lo, hi = 0, math.MaxUint8
	case ElemI8:
		lo, hi = math.MinInt8, math.MaxInt8
	case ElemI32:
		lo, hi = math.MinInt32, math.MaxInt32
	}
	if v <= float64(lo) {
		return int64(lo)
	}
	if v >= float64(hi) { // float64(MaxInt64) rounds up to 2^63
		return int64(hi)
	}
	return int64(v)
}

func storeInt(dst []byte, to Elem, i int, v int64) {
	le := binary.LittleEndian
	switch to {
	case ElemU8, ElemI8:
		dst[i] = byte(v)
	case ElemBool:
		if v != 0 {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	case ElemI32:
		le.PutUint32(dst[4*i:], uint32(int32(v)))
	case ElemI64:
		le.PutUint64(dst[8*i:], uint64(v))
	}
}

// F16ToF32 converts an IEEE 754 binary16 value exactly.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: value = man × 2^-24, exactly representable in float32.
	f := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// F32ToF16 converts to binary16, rounding to nearest even; overflow gives
// ±Inf and NaN stays NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal or zero in half precision.
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, giving Inf: correct
	}
	return sign | uint16(r)
}

// BF16ToF32 converts bfloat16 exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts to bfloat16, rounding to nearest even; NaN stays NaN.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
