package dtype

import "testing"

func TestByteSize(t *testing.T) {
	cases := []struct {
		d    DType
		dims []int64
		want int64
		ok   bool
	}{
		{Float32, []int64{2, 3}, 24, true},
		{Float64, nil, 8, true},
		{Bool, []int64{0, 1 << 40}, 0, true},
		{Int64, []int64{-1}, 0, false},
		{Float32, []int64{1 << 31, 1 << 31}, 0, false}, // 2^62 elements × 4 overflows the cap
		{Float32, []int64{1 << 32, 1 << 32, 1 << 32}, 0, false},
		{Invalid, []int64{1}, 0, false},
		{DType(200), []int64{1}, 0, false},
	}
	for _, c := range cases {
		got, ok := ByteSize(c.d, c.dims)
		if got != c.want || ok != c.ok {
			t.Errorf("ByteSize(%v, %v) = %d, %v; want %d, %v", c.d, c.dims, got, ok, c.want, c.ok)
		}
	}
}

func TestNamesRoundTrip(t *testing.T) {
	for _, d := range All() {
		if p, ok := Parse(d.String()); !ok || p != d {
			t.Errorf("Parse(%q) = %v, %v", d.String(), p, ok)
		}
	}
	if len(All()) != 10 {
		t.Errorf("%d dtypes, want 10", len(All()))
	}
	for s, want := range map[string]DType{"f32": Float32, "bf16": BFloat16, "i64": Int64, "bool": Bool, "str": String} {
		if d, ok := Parse(s); !ok || d != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, d, ok, want)
		}
	}
	for _, s := range []string{"float128", ""} {
		if _, ok := Parse(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
}
