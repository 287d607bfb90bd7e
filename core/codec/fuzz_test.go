package codec

import (
	"bytes"
	"github.com/mle-runtime/mle/kernels"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// fuzzDTypes are the dtypes FuzzDecode picks from.
var fuzzDTypes = []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int64, dtype.Uint8, dtype.Bool, dtype.String, dtype.Int32}

// fuzzShape turns bytes into a shape of rank <= 3 with small dimensions.
func fuzzShape(b []byte) []int64 {
	shape := make([]int64, 0, 3)
	for _, d := range b[:min(len(b), 3)] {
		shape = append(shape, int64(d))
	}
	return shape
}

// fuzzSeeds returns valid encodings of every kind: (id, dtype index, shape
// bytes, raw length for strings, stored).
type fuzzSeed struct {
	id     uint8
	dt     uint8
	shape  []byte
	strLen uint16
	stored []byte
}

func fuzzSeeds(tb testing.TB) []fuzzSeed {
	rng := rand.New(rand.NewPCG(9, 10))
	var seeds []fuzzSeed
	add := func(dti int, shape []byte, s Spec) {
		dt := fuzzDTypes[dti]
		sh := fuzzShape(shape)
		raw := genRaw(dt, numel(sh), rng, s.Quantize != Int8)
		id, stored, _, err := encode(dt, sh, raw, s, true)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, fuzzSeed{uint8(id), uint8(dti), shape, uint16(len(raw)), stored})
	}
	for _, comp := range []ID{Raw, Zstd, LZ4, Brotli} {
		for _, q := range []ID{Raw, FP16, Int8, BF16} {
			add(0, []byte{3, 40}, Spec{Compress: comp, Quantize: q, Axis: 1, ChunkSize: MinChunkSize})
			add(1, []byte{9, 80}, Spec{Compress: comp, Quantize: q, ChunkSize: MinChunkSize}) // several chunks
			add(0, []byte{0, 5}, Spec{Compress: comp, Quantize: q, Axis: 1})
		}
		add(2, []byte{50}, Spec{Compress: comp, Shuffle: 1})
		add(3, []byte{200, 30}, Spec{Compress: comp, ChunkSize: MinChunkSize})
		add(5, []byte{20}, Spec{Compress: comp})
		add(6, []byte{7, 7, 7}, Spec{Compress: comp, Shuffle: -1})
	}
	return seeds
}

// FuzzDecode: any id, shape and stored bytes either fail with a coded error
// (the same from Check and Decode) or decode; Decode never panics, never
// writes past rawLen, gives the same bytes twice, and agrees with a plain
// per-element reference for the quantized encodings.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.id, s.dt, s.shape, s.strLen, s.stored)
	}
	f.Fuzz(func(t *testing.T, id, dti uint8, shapeBytes []byte, strLen uint16, stored []byte) {
		dt := fuzzDTypes[int(dti)%len(fuzzDTypes)]
		shape := fuzzShape(shapeBytes)
		rawLen := uint64(strLen)
		if !dt.IsString() {
			size, _ := dtype.ByteSize(dt, shape)
			rawLen = uint64(size)
		}
		if rawLen > 4<<20 {
			return // keeps each input fast; sizes are not what this explores
		}
		checkErr := Check(ID(id), dt, shape, rawLen, stored)
		buf := bytes.Repeat([]byte{0x5a}, int(rawLen)+32)
		dst := buf[:rawLen:rawLen]
		err := Decode(ID(id), dt, shape, rawLen, stored, dst)
		for _, b := range buf[rawLen:] {
			if b != 0x5a {
				t.Fatal("Decode wrote past dst")
			}
		}
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.OK || c == errs.InvalidValue {
				t.Fatalf("uncoded or internal error: %v", err)
			}
			if checkErr != nil && errs.CodeOf(checkErr) != errs.CodeOf(err) {
				t.Fatalf("Check says %v, Decode %v", checkErr, err)
			}
			return
		}
		if checkErr != nil {
			t.Fatalf("Decode succeeded after Check failed: %v", checkErr)
		}
		again := make([]byte, rawLen)
		if err := Decode(ID(id), dt, shape, rawLen, stored, again); err != nil || !bytes.Equal(again, dst) {
			t.Fatalf("second Decode differs (%v)", err)
		}
		if ID(id).Quantized() {
			if ref := referenceDequantize(ID(id), dt, shape, stored); !bytes.Equal(ref, dst) {
				t.Fatal("Decode differs from the per-element reference")
			}
		}
	})
}

// referenceDequantize decodes a valid quantized encoding one element at a
// time, straight from the spec.
func referenceDequantize(id ID, dt dtype.DType, shape []int64, stored []byte) []byte {
	n := numel(shape)
	f64 := dt == dtype.Float64
	out := make([]byte, n*dt.Size())
	put := func(i int, v32 float32, v64 float64) {
		if f64 {
			putF64(out[8*i:], v64)
		} else {
			putU32(out[4*i:], math.Float32bits(v32))
		}
	}
	switch id {
	case FP16, BF16:
		for i := 0; i < n; i++ {
			h := uint16(stored[2*i]) | uint16(stored[2*i+1])<<8
			v := kernels.F16ToF32(h)
			if id == BF16 {
				v = kernels.BF16ToF32(h)
			}
			put(i, v, float64(v))
		}
	case Int8:
		axis := int(getU32(stored))
		c := int(getU32(stored[4:]))
		stride := 1
		for _, d := range shape[axis+1:] {
			stride *= int(d)
		}
		for i := 0; i < n; i++ {
			s := getF32(stored[8+4*(i/stride%c):])
			q := int8(stored[8+4*c+i])
			put(i, float32(q)*s, float64(q)*float64(s))
		}
	}
	return out
}

// FuzzRoundTrip: arbitrary float32/float64 data round-trips losslessly
// through each compressor, with and without the shuffle, in chunks of 4 to
// 16 KiB; and through Encode's own choice.
func FuzzRoundTrip(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	f.Add(genRaw(dtype.Float32, 3000, rng, true), false, uint8(0), int8(0))
	f.Add(genRaw(dtype.Float64, 1500, rng, true), true, uint8(1), int8(1))
	f.Add(make([]byte, 20000), false, uint8(2), int8(-1))
	f.Add([]byte{}, true, uint8(0), int8(0))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, false, uint8(1), int8(1))
	f.Fuzz(func(t *testing.T, data []byte, f64 bool, sizeExp uint8, shuffle int8) {
		dt := dtype.Float32
		if f64 {
			dt = dtype.Float64
		}
		n := len(data) / dt.Size()
		raw := data[:n*dt.Size()]
		shape := []int64{int64(n)}
		size := MinChunkSize << (sizeExp % 3)
		for _, comp := range []ID{Zstd, LZ4, Brotli} {
			s := Spec{Compress: comp, Shuffle: int(shuffle % 2), ChunkSize: size, Level: 1}
			for _, keep := range []bool{true, false} {
				id, stored, _, err := encode(dt, shape, raw, s, keep)
				if err != nil {
					t.Fatalf("%s: %v", comp, err)
				}
				out := make([]byte, len(raw))
				if err := Decode(id, dt, shape, uint64(len(raw)), stored, out); err != nil {
					t.Fatalf("%s: %v", comp, err)
				}
				if !bytes.Equal(out, raw) {
					t.Fatalf("%s keep=%v: round trip differs", comp, keep)
				}
			}
		}
	})
}
