package codec

import (
	"github.com/mle-runtime/mle/kernels"
	"math"
	"testing"
)

func TestF16KnownBits(t *testing.T) {
	cases := []struct {
		x    float64
		bits uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{-65504, 0xfbff},
		{math.Ldexp(1, -24), 0x0001}, // smallest subnormal
		{math.Ldexp(1, -14), 0x0400}, // smallest normal
		{math.Ldexp(1023, -24), 0x03ff},
		{0, 0x0000},
		{math.Copysign(0, -1), 0x8000},
		{math.Inf(1), 0x7c00},
		{math.Inf(-1), 0xfc00},
		{0.1, 0x2e66},
		{1.0 / 3, 0x3555},
		// Ties to even: 1 + 2^-11 lies halfway between 1 and 1+2^-10.
		{1 + math.Ldexp(1, -11), 0x3c00},
		{1 + 3*math.Ldexp(1, -11), 0x3c02},
		{1 + math.Ldexp(1, -11) + math.Ldexp(1, -30), 0x3c01}, // just above the tie
		// Subnormal ties: 2^-25 (half the smallest) rounds to 0, 3×2^-25 to 2×2^-24.
		{math.Ldexp(1, -25), 0x0000},
		{3 * math.Ldexp(1, -25), 0x0002},
		{math.Ldexp(1, -25) * (1 + 1e-9), 0x0001},
		{math.Ldexp(1, -40), 0x0000},
		// 65519.99 rounds to 65504; 65520 is the tie that rounds up to Inf.
		{65519, 0x7bff},
		{65520, 0x7c00},
		{math.Ldexp(1, -1074), 0x0000}, // float64 subnormal
		// Rounding up across the subnormal/normal boundary.
		{math.Ldexp(1, -14) - math.Ldexp(1, -26), 0x0400},
	}
	for _, c := range cases {
		if got := f64ToF16(c.x); got != c.bits {
			t.Errorf("f64ToF16(%g) = %#04x, want %#04x", c.x, got, c.bits)
		}
	}
	if got := f64ToF16(math.NaN()); got&0x7c00 != 0x7c00 || got&0x3ff == 0 || got&0x200 == 0 {
		t.Errorf("NaN encodes as %#04x, not a quiet NaN", got)
	}
	if got := f64ToF16(-math.NaN()); got&0x8000 == 0 {
		t.Errorf("-NaN loses its sign: %#04x", got)
	}
}

// TestF16Exhaustive: every binary16 decodes to the value it denotes and
// encodes back to itself (NaNs: to a quiet NaN).
func TestF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := kernels.F16ToF32(uint16(h))
		exp, man := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 31 && man != 0:
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%#04x decodes to %g, want NaN", h, f)
			}
			if back := f64ToF16(float64(f)); back != uint16(h)|0x200 {
				t.Fatalf("NaN %#04x round-trips to %#04x", h, back)
			}
			continue
		case exp == 31:
			want = math.Inf(1)
		case exp == 0:
			want = math.Ldexp(float64(man), -24)
		default:
			want = math.Ldexp(float64(man|0x400), exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Fatalf("%#04x decodes to %g, want %g", h, f, want)
		}
		if back := f64ToF16(float64(f)); back != uint16(h) {
			t.Fatalf("%#04x round-trips to %#04x", h, back)
		}
		if back := f64ToF16(float64(float32(f))); back != uint16(h) {
			t.Fatalf("%#04x round-trips through float32 to %#04x", h, back)
		}
	}
}

// TestF16RoundingMatchesReference compares one-step rounding with a
// reference that picks the nearer neighbour, ties to the even pattern.
func TestF16RoundingMatchesReference(t *testing.T) {
	for h := 0; h < 0x7bff; h++ {
		lo, hi := float64(kernels.F16ToF32(uint16(h))), float64(kernels.F16ToF32(uint16(h+1)))
		for _, frac := range []float64{0.25, 0.5, 0.75} {
			x := lo + (hi-lo)*frac
			want := uint16(h)
			if frac > 0.5 || (frac == 0.5 && h&1 == 1) {
				want = uint16(h + 1)
			}
			if got := f64ToF16(x); got != want {
				t.Fatalf("f64ToF16(%g) (%.2f between %#04x and %#04x) = %#04x, want %#04x", x, frac, h, h+1, got, want)
			}
			if got := f64ToF16(-x); got != want|0x8000 {
				t.Fatalf("f64ToF16(%g) = %#04x, want %#04x", -x, got, want|0x8000)
			}
		}
	}
}

func TestBF16KnownBits(t *testing.T) {
	cases := []struct {
		x    float32
		bits uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{float32(math.Inf(1)), 0x7f80},
		{float32(math.Inf(-1)), 0xff80},
		{3.140625, 0x4049},
		{math.MaxFloat32, 0x7f80},                           // rounds up to Inf
		{math.Float32frombits(0x7f7f7fff), 0x7f7f},          // just below the tie: stays finite
		{math.Float32frombits(0x3f808000), 0x3f80},          // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82},          // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81},          // above the tie
		{math.Float32frombits(0x00000001), 0x0000},          // float32 subnormal rounds to 0
		{math.Float32frombits(0x00010000), 0x0001},          // bf16 subnormal
		{math.Float32frombits(0x007fffff), 0x0080},          // carries into the smallest normal
		{math.Float32frombits(0xff7fffff), 0xff80},          // -max rounds to -Inf
		{math.Float32frombits(0x3f7fffff), 0x3f80},          // 0.99999994 rounds to 1
		{math.Float32frombits(0x40490fdb), 0x4049},          // pi
		{math.Float32frombits(0xc0490fdb), 0xc049},          // -pi
		{math.Float32frombits(0x7f800001 | 0x0000), 0x7fc0}, // signalling NaN becomes quiet
		{math.Float32frombits(0x7fc00000), 0x7fc0},          // quiet NaN
		{math.Float32frombits(0xffc00000), 0xffc0},          // negative NaN keeps its sign
		{math.Float32frombits(0x7f80ffff), 0x7fc0},          // NaN with only low payload bits stays NaN
		{math.Float32frombits(0x7fff0000), 0x7fff},          // NaN payload kept
		{math.Float32frombits(0x7f81ffff), 0x7fc1},          // no rounding of a NaN into Inf
		{math.Float32frombits(0x4f800000), 0x4f80},          // 2^32
		{math.Float32frombits(0x3c010000), 0x3c01},          // exact
		{math.Float32frombits(0x3c017fff), 0x3c01},          // below tie
		{math.Float32frombits(0x3c018000), 0x3c02},          // tie, odd -> even
		{math.Float32frombits(0x3c028000), 0x3c02},          // tie, even stays
		{math.Float32frombits(0x00008000), 0x0000},          // subnormal tie to even (0)
		{math.Float32frombits(0x00018000), 0x0002},          // subnormal tie to even (2)
	}
	for _, c := range cases {
		if got := kernels.F32ToBF16(c.x); got != c.bits {
			t.Errorf("kernels.F32ToBF16(%#08x) = %#04x, want %#04x", math.Float32bits(c.x), got, c.bits)
		}
	}
	for h := 0; h < 1<<16; h++ {
		f := kernels.BF16ToF32(uint16(h))
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("kernels.BF16ToF32(%#04x) bits %#08x", h, math.Float32bits(f))
		}
		want := uint16(h)
		if math.IsNaN(float64(f)) {
			want |= 0x40
		}
		if back := kernels.F32ToBF16(f); back != want {
			t.Fatalf("%#04x round-trips to %#04x", h, back)
		}
	}
}

func TestHalfSlices(t *testing.T) {
	// The slice loops agree with the scalar conversions for both dtypes.
	src := make([]byte, 2*(1<<16))
	for h := 0; h < 1<<16; h++ {
		src[2*h], src[2*h+1] = byte(h), byte(h>>8)
	}
	d32 := make([]byte, 4<<16)
	d64 := make([]byte, 8<<16)
	for _, bf := range []bool{false, true} {
		conv := kernels.F16ToF32
		if bf {
			decodeBF16(d32, src, false)
			decodeBF16(d64, src, true)
			conv = kernels.BF16ToF32
		} else {
			decodeF16(d32, src, false)
			decodeF16(d64, src, true)
		}
		for h := 0; h < 1<<16; h++ {
			want := conv(uint16(h))
			if got := getF32(d32[4*h:]); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("bf16=%v: %#04x -> %#08x, want %#08x", bf, h, math.Float32bits(got), math.Float32bits(want))
			}
			got64 := getF64(d64[8*h:])
			if math.Float64bits(got64) != math.Float64bits(float64(want)) {
				t.Fatalf("bf16=%v: %#04x -> float64 %g, want %g", bf, h, got64, want)
			}
		}
	}
}
