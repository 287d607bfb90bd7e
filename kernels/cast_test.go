package kernels

import (
	"math"
	"testing"
)

func TestF16Conversions(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{0, 0x0000}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {6.1035156e-05, 0x0400},
		{5.9604645e-08, 0x0001}, {float32(math.Inf(1)), 0x7c00}, {0.333251953125, 0x3555},
	}
	for _, c := range cases {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
		if got := F16ToF32(c.h); got != c.f {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", c.h, got, c.f)
		}
	}
	// Every half value survives a round trip; NaN stays NaN.
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			if g := F32ToF16(f); F16ToF32(g) == F16ToF32(g) {
				t.Fatalf("NaN %#04x lost", h)
			}
			continue
		}
		if g := F32ToF16(f); g != uint16(h) {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, f, g)
		}
	}
	if F32ToF16(70000) != 0x7c00 || F32ToF16(1e-9) != 0 {
		t.Error("overflow/underflow")
	}
	if F32ToF16(1+1.0/2048) != 0x3c00 || F32ToF16(1+3.0/2048) != 0x3c02 { // ties to even
		t.Error("rounding is not to nearest even")
	}
}

func TestBF16Conversions(t *testing.T) {
	if F32ToBF16(1) != 0x3f80 || BF16ToF32(0x3f80) != 1 {
		t.Error("1.0")
	}
	if v := BF16ToF32(F32ToBF16(float32(math.NaN()))); v == v {
		t.Error("NaN lost")
	}
	if F32ToBF16(1+1.0/256) != 0x3f80 || F32ToBF16(1+3.0/256) != 0x3f82 {
		t.Error("rounding is not to nearest even")
	}
}

func TestStridedCoalesces(t *testing.T) {
	s := NewStrided([]int64{4, 5, 6}, []int64{4, 5, 6}, []int64{4, 5, 6})
	if len(s.Dims) != 1 || s.Dims[0] != 120 {
		t.Errorf("same shapes: %+v", s)
	}
	s = NewStrided([]int64{4, 5, 6}, []int64{4, 5, 6}, []int64{6})
	if rows, inner := s.Rows(); rows != 20 || inner != 6 || s.StrideB[len(s.Dims)-1] != 1 {
		t.Errorf("bias: %+v", s)
	}
	s = NewStrided([]int64{3, 1}, []int64{3, 1}, []int64{})
	if len(s.Dims) != 1 || s.StrideB[0] != 0 {
		t.Errorf("scalar: %+v", s)
	}
}

func TestFloat64sRoundTrip(t *testing.T) {
	vals := []float64{-3.9, -1, 0, 0.5, 2.7, 300}
	cases := []struct {
		to   Elem
		size int
		want []float64
	}{
		{ElemF64, 8, vals},
		{ElemF32, 4, []float64{float64(float32(-3.9)), -1, 0, 0.5, float64(float32(2.7)), 300}},
		{ElemI32, 4, []float64{-3, -1, 0, 0, 2, 300}},                      // truncates toward zero
		{ElemU8, 1, []float64{0, 0, 0, 0, 2, 255}},                         // saturates
		{ElemBool, 1, []float64{1, 1, 0, 1, 1, 1}},                         // x != 0
		{ElemF16, 2, []float64{-3.900390625, -1, 0, 0.5, 2.69921875, 300}}, // nearest even
	}
	for _, c := range cases {
		b := make([]byte, c.size*len(vals))
		FromFloat64s(b, c.to, vals)
		got := ToFloat64s(b, c.to, len(vals))
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("elem %d: %v → %v, want %v", c.to, vals[i], got[i], c.want[i])
			}
		}
	}
}
