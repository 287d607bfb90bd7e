package codec

import (
	"math"
	"sync"

	"github.com/mle-runtime/mle/kernels"
)

// fp16Max is the largest finite binary16 value.
const fp16Max = 65504

// f64ToF16 rounds x to the nearest binary16, ties to even, in one step (a
// float32 value converts exactly to float64 first, so it rounds once too).
// Magnitudes that round past 65504 become Inf; NaN stays a quiet NaN with
// its sign and top payload bits.
func f64ToF16(x float64) uint16 {
	b := math.Float64bits(x)
	sign := uint16(b>>48) & 0x8000
	exp := int(b>>52) & 0x7ff
	man := b & (1<<52 - 1)
	if exp == 0x7ff {
		if man == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(man>>42)
	}
	e := exp - 1023 + 15 // binary16's biased exponent
	if e >= 31 {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal (or zero): units of 2^-24. The full significand m is
		// the value × 2^(1075-exp); shift it down to units of 2^-24.
		m := man
		if exp != 0 {
			m |= 1 << 52
		}
		shift := uint(1051 - exp)
		if shift >= 54 {
			return sign // below half of 2^-24: rounds to zero
		}
		q := m >> shift
		rem := m & (1<<shift - 1)
		half := uint64(1) << (shift - 1)
		if rem > half || (rem == half && q&1 == 1) {
			q++ // may carry into the smallest normal, whose bits are 0x0400
		}
		return sign | uint16(q)
	}
	q := uint16(e)<<10 | uint16(man>>42)
	rem := man & (1<<42 - 1)
	if rem > 1<<41 || (rem == 1<<41 && q&1 == 1) {
		q++ // a carry into the exponent is right, up to Inf (0x7c00)
	}
	return sign | q
}

// f16Table maps every binary16 to its float32 bits: one load per element
// beats the branches of the conversion by almost 2x. Built on first use
// (256 KiB).
var (
	f16Once  sync.Once
	f16Table []uint32
)

func f16Bits() []uint32 {
	f16Once.Do(func() {
		t := make([]uint32, 1<<16)
		for h := range t {
			t[h] = math.Float32bits(kernels.F16ToF32(uint16(h)))
		}
		f16Table = t
	})
	return f16Table
}

// The decode loops below are the hot path of fp16/bf16 tensors: they read
// two bytes per element and write the logical dtype (dst must not overlap
// src).

func decodeF16(dst, src []byte, f64 bool) {
	t := f16Bits()
	n := len(src) / 2
	if f64 {
		dst = dst[:8*n]
		for i := 0; i < n; i++ {
			putF64(dst[8*i:], float64(math.Float32frombits(t[uint16(src[2*i])|uint16(src[2*i+1])<<8])))
		}
		return
	}
	dst = dst[:4*n]
	for i := 0; i < n; i++ {
		putU32(dst[4*i:], t[uint16(src[2*i])|uint16(src[2*i+1])<<8])
	}
}

func decodeBF16(dst, src []byte, f64 bool) {
	n := len(src) / 2
	if f64 {
		dst = dst[:8*n]
		for i := 0; i < n; i++ {
			h := uint32(src[2*i])<<16 | uint32(src[2*i+1])<<24
			putF64(dst[8*i:], float64(math.Float32frombits(h)))
		}
		return
	}
	dst = dst[:4*n]
	for i := 0; i < n; i++ {
		// The bfloat16 is the float32's high half: the low half is zero.
		d := dst[4*i : 4*i+4]
		d[0], d[1], d[2], d[3] = 0, 0, src[2*i], src[2*i+1]
	}
}
