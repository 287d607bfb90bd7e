package codec

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// genRaw returns raw bytes of n elements of dt (strings: a packed-looking
// blob of offsets and text). Floats are normal-ish with runs of repeats so
// that the compressors have something to find; special adds NaN, ±Inf, -0
// and subnormals.
func genRaw(dt dtype.DType, n int, rng *rand.Rand, special bool) []byte {
	if dt.IsString() {
		var b []byte
		text := []byte("alpha beta gamma delta epsilon ")
		off := 0
		for i := 0; i <= n; i++ {
			b = append(b, byte(off), byte(off>>8), byte(off>>16), byte(off>>24), 0, 0, 0, 0)
			off += i % 7
		}
		for i := 0; i < off; i++ {
			b = append(b, text[i%len(text)])
		}
		return b
	}
	size := dt.Size()
	raw := make([]byte, n*size)
	for i := 0; i < n; i++ {
		x := rng.NormFloat64() * 3
		if i%5 == 4 {
			x = float64(i % 3) // repeats
		}
		if special {
			switch i % 97 {
			case 11:
				x = math.NaN()
			case 23:
				x = math.Inf(1)
			case 37:
				x = math.Inf(-1)
			case 41:
				x = math.Copysign(0, -1)
			case 53:
				x = 1e-42 // subnormal in float32
			}
		}
		b := raw[i*size:]
		switch dt {
		case dtype.Float32:
			putU32(b, math.Float32bits(float32(x)))
		case dtype.Float64:
			putF64(b, x)
		case dtype.Int64:
			putU64(b, uint64(int64(x*1000)))
		case dtype.Int32:
			putU32(b, uint32(int32(x*1000)))
		case dtype.Uint8:
			b[0] = byte(int(x * 10))
		case dtype.Bool:
			b[0] = byte(i / 3 % 2)
		}
	}
	return raw
}

var testShapes = [][]int64{{3, 0}, {0, 3}, {}, {1}, {7, 143}, {13, 400}, {3, 2000}}

func numel(shape []int64) int {
	n, _ := dtype.NumElements(shape)
	return int(n)
}

// measureErr decodes raw's expected error: the largest |decoded - original|,
// NaN and equal infinities counting as 0, as Encode reports it.
func measureErr(t *testing.T, dt dtype.DType, raw, out []byte) float64 {
	t.Helper()
	f64 := dt == dtype.Float64
	var m float64
	for i := 0; i < len(raw)/dt.Size(); i++ {
		x, d := element(raw, i, f64), element(out, i, f64)
		if math.IsNaN(x) != math.IsNaN(d) || (math.IsInf(x, 0) && x != d) {
			t.Fatalf("element %d: %g decodes to %g", i, x, d)
		}
		m = max(m, absDiff(d, x))
	}
	return m
}

// checkBounds checks each quantized element against its encoding's bound.
func checkBounds(t *testing.T, q ID, dt dtype.DType, shape []int64, axis int, raw, out []byte) {
	t.Helper()
	f64 := dt == dtype.Float64
	n := len(raw) / dt.Size()
	var scale []float64
	inner := 1
	if q == Int8 {
		outer, nc, in := channelGeometry(shape, axis)
		inner = in
		scale = make([]float64, nc)
		for i := 0; i < outer*nc*in; i++ {
			c := i / in % nc
			scale[c] = max(scale[c], math.Abs(element(raw, i, f64)))
		}
		for c := range scale {
			scale[c] = float64(float32(scale[c] / 127))
		}
	}
	for i := 0; i < n; i++ {
		x, d := element(raw, i, f64), element(out, i, f64)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		var bound float64
		switch q {
		case FP16:
			bound = max(math.Abs(x)*math.Ldexp(1, -11), math.Ldexp(1, -25))
		case BF16:
			bound = max(math.Abs(x)*math.Ldexp(1, -8)*(1+1e-6), math.Ldexp(1, -133))
		case Int8:
			c := i / inner % len(scale)
			bound = scale[c]/2*(1+1e-5) + math.Abs(x)*1e-6
		}
		if math.Abs(d-x) > bound {
			t.Fatalf("%s element %d: %g decodes to %g, error %g > bound %g", q, i, x, d, math.Abs(d-x), bound)
		}
	}
}

// TestRoundTrip runs every compression × inner encoding × shuffle on each
// dtype and shape, with chunks of 4 KiB so that larger shapes span several.
// The container is kept even when it does not shrink the data, so that it
// is always exercised; Encode's own choice is round-tripped too.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dts := []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int64, dtype.Int32, dtype.Uint8, dtype.Bool, dtype.String}
	for _, dt := range dts {
		for _, shape := range testShapes {
			n := numel(shape)
			inners := []ID{Raw}
			if dt.IsFloat() {
				inners = []ID{Raw, FP16, BF16, Int8}
			}
			for _, inner := range inners {
				axes := []int{0}
				if inner == Int8 {
					if len(shape) == 0 {
						continue // int8 needs rank >= 1
					}
					axes = []int{0, len(shape) - 1}
				}
				raw := genRaw(dt, n, rng, inner != Int8)
				for _, axis := range axes {
					for _, comp := range []ID{Raw, Zstd, LZ4, Brotli} {
						for _, shuf := range []int{-1, 0, 1} {
							if shuf == 1 && dt.IsString() {
								continue
							}
							// Level 1: the fastest settings keep this quick under -race;
							// TestLevels covers the others.
							s := Spec{Compress: comp, Quantize: inner, Shuffle: shuf, ChunkSize: MinChunkSize, Axis: axis, Level: 1}
							name := fmt.Sprintf("%s/%v/%s/%s/axis%d/shuffle%d", dt, shape, inner, comp, axis, shuf)
							roundTrip(t, name, dt, shape, raw, s)
						}
					}
				}
			}
		}
	}
}

func roundTrip(t *testing.T, name string, dt dtype.DType, shape []int64, raw []byte, s Spec) {
	t.Helper()
	for _, keep := range []bool{true, false} {
		id, stored, maxErr, err := encode(dt, shape, raw, s, keep)
		if err != nil {
			t.Fatalf("%s keep=%v: encode: %v", name, keep, err)
		}
		want := s.Compress
		if want == Raw {
			want = s.Quantize
		}
		if keep && id != want {
			t.Fatalf("%s: id %s, want %s", name, id, want)
		}
		if !keep && id != want && id != s.Quantize {
			t.Fatalf("%s: Encode returned %s for %+v", name, id, s)
		}
		if !keep && id.Compressed() && len(stored) >= len(raw) && s.Quantize == Raw {
			t.Fatalf("%s: Encode kept %s of %d bytes for %d raw bytes", name, id, len(stored), len(raw))
		}
		rawLen := uint64(len(raw))
		if err := Check(id, dt, shape, rawLen, stored); err != nil {
			t.Fatalf("%s keep=%v: Check: %v", name, keep, err)
		}
		out := make([]byte, len(raw))
		if err := Decode(id, dt, shape, rawLen, stored, out); err != nil {
			t.Fatalf("%s keep=%v: Decode: %v", name, keep, err)
		}
		if s.Quantize == Raw {
			if !bytes.Equal(out, raw) {
				t.Fatalf("%s keep=%v: lossless round trip differs", name, keep)
			}
			if maxErr != 0 {
				t.Fatalf("%s: maxAbsErr %g for a lossless encoding", name, maxErr)
			}
			continue
		}
		if got := measureErr(t, dt, raw, out); got != maxErr {
			t.Fatalf("%s: reported maxAbsErr %g, measured %g", name, maxErr, got)
		}
		checkBounds(t, s.Quantize, dt, shape, s.Axis, raw, out)
	}
}

// TestMultiChunkSizes crosses chunk boundaries at every element size with a
// tail chunk that is not a multiple of anything in particular.
func TestMultiChunkSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{MinChunkSize, 8 << 10, 64 << 10} {
		for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64, dtype.Uint8} {
			n := (3*size + 1000) / dt.Size()
			raw := genRaw(dt, n, rng, true)
			for _, comp := range []ID{Zstd, LZ4, Brotli} {
				for _, q := range []ID{Raw, FP16, BF16} {
					if q != Raw && !dt.IsFloat() {
						continue
					}
					raw := raw
					if q != Raw {
						raw = genRaw(dt, n, rng, false)
					}
					s := Spec{Compress: comp, Quantize: q, ChunkSize: size, Level: 1}
					roundTrip(t, fmt.Sprintf("S%d/%s/%s/%s", size, dt, comp, q), dt, []int64{int64(n)}, raw, s)
				}
			}
		}
	}
}

// TestLevels round-trips every level of every codec on a small tensor.
func TestLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	raw := genRaw(dtype.Float32, 1500, rng, false)
	for comp, top := range levelMax {
		for level := 0; level <= top; level++ {
			s := Spec{Compress: comp, Level: level, ChunkSize: MinChunkSize}
			roundTrip(t, fmt.Sprintf("%s/level%d", comp, level), dtype.Float32, []int64{1500}, raw, s)
		}
	}
}

// TestCompressionDropped: incompressible bytes come back as the inner encoding.
func TestCompressionDropped(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	raw := make([]byte, 20000)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	for _, comp := range []ID{Zstd, LZ4, Brotli} {
		id, stored, _, err := Encode(dtype.Uint8, []int64{20000}, raw, Spec{Compress: comp})
		if err != nil || id != Raw || !bytes.Equal(stored, raw) {
			t.Errorf("%s on random bytes: id %s, %d bytes, %v; want raw", comp, id, len(stored), err)
		}
	}
	// Zeros compress: the id is the compressor's.
	zeros := make([]byte, 1<<20)
	for _, comp := range []ID{Zstd, LZ4, Brotli} {
		id, stored, _, err := Encode(dtype.Float32, []int64{1 << 18}, zeros, Spec{Compress: comp})
		if err != nil || id != comp || len(stored) > 10000 {
			t.Errorf("%s on zeros: id %s, %d bytes, %v", comp, id, len(stored), err)
		}
	}
}

func TestShuffleRoundTrip(t *testing.T) {
	for _, e := range []int{1, 2, 3, 4, 8} {
		for _, m := range []int{0, 1, 3, 4, 7, 8, 9, 1000, 8195, 24581} {
			src := make([]byte, m*e)
			for i := range src {
				src[i] = byte(i*7 + i/13)
			}
			sh := make([]byte, len(src))
			shuffle(sh, src, e)
			for i := 0; i < m; i++ {
				for j := 0; j < e; j++ {
					if sh[j*m+i] != src[i*e+j] {
						t.Fatalf("e=%d m=%d: shuffle byte (%d,%d) wrong", e, m, i, j)
					}
				}
			}
			back := make([]byte, len(src))
			unshuffle(back, sh, e)
			if !bytes.Equal(back, src) {
				t.Fatalf("e=%d m=%d: unshuffle does not invert shuffle", e, m)
			}
		}
	}
}

func TestIDs(t *testing.T) {
	for id := ID(0); id < 10; id++ {
		name := id.String()
		if !id.Known() {
			if name != "unknown" {
				t.Errorf("%d: %q", id, name)
			}
			continue
		}
		if back, ok := ParseID(name); !ok || back != id {
			t.Errorf("ParseID(%q) = %d, %v", name, back, ok)
		}
		if id.Compressed() == id.Quantized() && id != Raw {
			t.Errorf("%s: compressed %v, quantized %v", id, id.Compressed(), id.Quantized())
		}
	}
	if id, ok := ParseID("none"); !ok || id != Raw {
		t.Error("none is not Raw")
	}
	if _, ok := ParseID("gzip"); ok {
		t.Error("gzip parsed")
	}
	for _, id := range []ID{Zstd, LZ4, Brotli} {
		if c, ok := Lookup(id); !ok || c.ID != id || c.Name != id.String() {
			t.Errorf("Lookup(%s) = %+v, %v", id, c, ok)
		}
	}
	if _, ok := Lookup(FP16); ok {
		t.Error("Lookup(fp16) found a codec")
	}
}

func TestRegisterCodecPanics(t *testing.T) {
	c, _ := Lookup(Zstd)
	for name, bad := range map[string]Codec{
		"duplicate": *c,
		"raw":       {ID: Raw, Name: "x", Compress: c.Compress, Decompress: c.Decompress},
		"quantized": {ID: Int8, Name: "x", Compress: c.Compress, Decompress: c.Decompress},
		"nil func":  {ID: 200, Name: "x", Compress: c.Compress},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterCodec did not panic", name)
				}
			}()
			RegisterCodec(bad)
		}()
	}
}

func TestEncodeErrors(t *testing.T) {
	f32 := func(xs ...float32) []byte {
		b := make([]byte, 4*len(xs))
		for i, x := range xs {
			putU32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	ok := f32(1, 2, 3, 4)
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		dt    dtype.DType
		shape []int64
		raw   []byte
		s     Spec
		code  errs.Code
	}{
		{"fp16 overflow", dtype.Float32, []int64{2}, f32(1, 65505), Spec{Quantize: FP16}, errs.InvalidValue},
		{"fp16 -overflow", dtype.Float32, []int64{2}, f32(1, -70000), Spec{Quantize: FP16}, errs.InvalidValue},
		{"bf16 to inf", dtype.Float32, []int64{1}, f32(math.MaxFloat32), Spec{Quantize: BF16}, errs.InvalidValue},
		{"int8 nan", dtype.Float32, []int64{2}, f32(1, nan), Spec{Quantize: Int8}, errs.InvalidValue},
		{"int8 inf", dtype.Float32, []int64{2}, f32(1, float32(math.Inf(1))), Spec{Quantize: Int8}, errs.InvalidValue},
		{"int8 scalar", dtype.Float32, []int64{}, f32(1), Spec{Quantize: Int8}, errs.InvalidValue},
		{"int8 axis", dtype.Float32, []int64{2, 2}, ok, Spec{Quantize: Int8, Axis: 2}, errs.InvalidValue},
		{"int8 axis<0", dtype.Float32, []int64{2, 2}, ok, Spec{Quantize: Int8, Axis: -1}, errs.InvalidValue},
		{"quantize int64", dtype.Int64, []int64{2}, make([]byte, 16), Spec{Quantize: FP16}, errs.InvalidValue},
		{"quantize string", dtype.String, []int64{1}, make([]byte, 16), Spec{Quantize: BF16}, errs.InvalidValue},
		{"shuffle string", dtype.String, []int64{1}, make([]byte, 16), Spec{Compress: Zstd, Shuffle: 1}, errs.InvalidValue},
		{"shuffle 2", dtype.Float32, []int64{4}, ok, Spec{Compress: Zstd, Shuffle: 2}, errs.InvalidValue},
		{"chunk size", dtype.Float32, []int64{4}, ok, Spec{Compress: Zstd, ChunkSize: 5000}, errs.InvalidValue},
		{"chunk small", dtype.Float32, []int64{4}, ok, Spec{Compress: Zstd, ChunkSize: 2048}, errs.InvalidValue},
		{"chunk big", dtype.Float32, []int64{4}, ok, Spec{Compress: Zstd, ChunkSize: 32 << 20}, errs.InvalidValue},
		{"level", dtype.Float32, []int64{4}, ok, Spec{Compress: LZ4, Level: 10}, errs.InvalidValue},
		{"level empty", dtype.Float32, []int64{0}, nil, Spec{Compress: Brotli, Level: 12}, errs.InvalidValue},
		{"compress fp16", dtype.Float32, []int64{4}, ok, Spec{Compress: FP16}, errs.InvalidValue},
		{"quantize zstd", dtype.Float32, []int64{4}, ok, Spec{Quantize: Zstd}, errs.InvalidValue},
		{"unknown id", dtype.Float32, []int64{4}, ok, Spec{Compress: 9}, errs.InvalidValue},
		{"raw length", dtype.Float32, []int64{5}, ok, Spec{}, errs.InvalidValue},
		{"bad dtype", dtype.DType(99), []int64{4}, ok, Spec{}, errs.InvalidValue},
		{"negative dim", dtype.Float32, []int64{-4}, ok, Spec{}, errs.InvalidValue},
	}
	for _, c := range cases {
		_, _, _, err := Encode(c.dt, c.shape, c.raw, c.s)
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: code %v (%v), want %v", c.name, got, err, c.code)
		}
	}
	// float64 values beyond float32's range cannot take an int8 scale or bf16.
	big := make([]byte, 8)
	putF64(big, 1e300)
	for _, q := range []ID{Int8, BF16, FP16} {
		if _, _, _, err := Encode(dtype.Float64, []int64{1}, big, Spec{Quantize: q}); errs.CodeOf(err) != errs.InvalidValue {
			t.Errorf("float64 1e300 as %s: %v", q, err)
		}
	}
}

// TestInt8Exact: a channel's largest magnitude decodes exactly to ±127 ×
// scale, zero channels get scale 0, and float64 decodes in float64.
func TestInt8Exact(t *testing.T) {
	raw := make([]byte, 4*6)
	for i, x := range []float32{0, 0, 0, 127, -63.5, 50.5} { // shape [2,3], axis 0
		putU32(raw[4*i:], math.Float32bits(x))
	}
	id, stored, maxErr, err := Encode(dtype.Float32, []int64{2, 3}, raw, Spec{Quantize: Int8})
	if err != nil || id != Int8 {
		t.Fatal(id, err)
	}
	if getU32(stored) != 0 || getU32(stored[4:]) != 2 || getF32(stored[8:]) != 0 || getF32(stored[12:]) != 1 {
		t.Fatalf("header % x", stored[:16])
	}
	if q := stored[16:]; !bytes.Equal(q, []byte{0, 0, 0, 127, byte(0x100 - 64), 50}) {
		// Ties round to even: -63.5 to -64, 50.5 to 50.
		t.Fatalf("values %v", q)
	}
	if maxErr != 0.5 {
		t.Fatalf("maxAbsErr %g", maxErr)
	}
}
