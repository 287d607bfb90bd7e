package codec

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// buildContainer builds stored bytes by hand: chunks are already compressed.
func buildContainer(inner ID, filter uint8, elem, size int, length uint64, chunks ...[]byte) []byte {
	out := appendContainerHeader(nil, inner, filter, elem, size, length, chunks)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

func compressWith(t *testing.T, id ID, src []byte) []byte {
	t.Helper()
	c, _ := Lookup(id)
	out, err := c.Compress(nil, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * i >> 3)
	}
	return b
}

type badCase struct {
	name   string
	id     ID
	dt     dtype.DType
	shape  []int64
	rawLen uint64
	stored []byte
	code   errs.Code
	// checkOK: the fault is inside a stream, so Check passes and only
	// Decode finds it.
	checkOK bool
	// msg is a piece of the message that must name what is wrong.
	msg string
}

func runBad(t *testing.T, cases []badCase) {
	t.Helper()
	for _, c := range cases {
		checkErr := Check(c.id, c.dt, c.shape, c.rawLen, c.stored)
		if c.checkOK {
			if checkErr != nil {
				t.Errorf("%s: Check: %v, want nil", c.name, checkErr)
			}
		} else if got := errs.CodeOf(checkErr); got != c.code {
			t.Errorf("%s: Check code %v (%v), want %v", c.name, got, checkErr, c.code)
		}
		// Guard bytes after dst must survive.
		buf := bytes.Repeat([]byte{0xa5}, int(c.rawLen)+64)
		err := Decode(c.id, c.dt, c.shape, c.rawLen, c.stored, buf[:c.rawLen:c.rawLen])
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: Decode code %v (%v), want %v", c.name, got, err, c.code)
		} else if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: message %q lacks %q", c.name, err.Error(), c.msg)
		}
		for _, b := range buf[c.rawLen:] {
			if b != 0xa5 {
				t.Fatalf("%s: Decode wrote past dst", c.name)
			}
		}
	}
}

func TestBadChunks(t *testing.T) {
	const S = MinChunkSize
	u8 := dtype.Uint8
	var cases []badCase
	for _, id := range []ID{Zstd, LZ4, Brotli} {
		name := id.String() + ": "
		full := compressWith(t, id, pattern(S))
		cases = append(cases,
			badCase{name: name + "chunk decodes to more", id: id, dt: u8, shape: []int64{S}, rawLen: S,
				stored: buildContainer(Raw, 0, 1, S, S, compressWith(t, id, pattern(S+100))),
				code:   errs.FormatCodecSize, checkOK: true, msg: "chunk 0 of 1"},
			badCase{name: name + "chunk decodes to much more", id: id, dt: u8, shape: []int64{S}, rawLen: S,
				stored: buildContainer(Raw, 0, 1, S, S, compressWith(t, id, make([]byte, 1<<20))),
				code:   errs.FormatCodecSize, checkOK: true, msg: "more than 4096"},
			badCase{name: name + "chunk decodes to fewer", id: id, dt: u8, shape: []int64{S}, rawLen: S,
				stored: buildContainer(Raw, 0, 1, S, S, compressWith(t, id, pattern(S-100))),
				code:   errs.FormatCodecSize, checkOK: true, msg: "3996"},
			badCase{name: name + "last chunk decodes to more", id: id, dt: u8, shape: []int64{S + 10}, rawLen: S + 10,
				stored: buildContainer(Raw, 0, 1, S, S+10, full, compressWith(t, id, pattern(11))),
				code:   errs.FormatCodecSize, checkOK: true, msg: "chunk 1 of 2"},
			badCase{name: name + "corrupt stream", id: id, dt: u8, shape: []int64{S}, rawLen: S,
				stored: buildContainer(Raw, 0, 1, S, S, corrupt(id, full)),
				code:   errs.FormatCodec, checkOK: true, msg: "chunk 0"},
			badCase{name: name + "truncated stream", id: id, dt: u8, shape: []int64{S}, rawLen: S,
				stored: buildContainer(Raw, 0, 1, S, S, full[:len(full)/2]),
				code:   errs.FormatCodec, checkOK: true},
			badCase{name: name + "empty chunk", id: id, dt: u8, shape: []int64{S}, rawLen: S,
				stored: buildContainer(Raw, 0, 1, S, S, nil),
				code:   errs.FormatCodec, checkOK: true, msg: "empty"},
			badCase{name: name + "shuffled chunk decodes to fewer", id: id, dt: dtype.Float32, shape: []int64{S / 4}, rawLen: S,
				stored: buildContainer(Raw, 1, 4, S, S, compressWith(t, id, pattern(S-4))),
				code:   errs.FormatCodecSize, checkOK: true},
			badCase{name: name + "fp16 chunk decodes to more", id: id, dt: dtype.Float32, shape: []int64{S / 2}, rawLen: 2 * S,
				stored: buildContainer(FP16, 0, 1, S, S, compressWith(t, id, pattern(S+2))),
				code:   errs.FormatCodecSize, checkOK: true},
		)
	}
	runBad(t, cases)
}

// corrupt returns a chunk that is not a valid stream of id.
func corrupt(id ID, full []byte) []byte {
	b := bytes.Clone(full)
	switch id {
	case Zstd:
		b[0] ^= 0xff // the magic number
	case LZ4:
		// A sequence whose match offset reaches before the start.
		b = []byte{0x10, 'a', 0x09, 0x00, 0x00}
	case Brotli:
		// WBITS 0b1000001 is invalid in a brotli stream header.
		b = []byte{0x11, 0x00, 0xff, 0xff, 0xff}
	}
	return b
}

// TestZstdNoContentSize: a frame that does not declare its size (a streamed
// one) still cannot decode to more than the declared chunk size.
func TestZstdNoContentSize(t *testing.T) {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 4<<20))
	w.Close()
	var h zstd.Header
	if err := h.Decode(buf.Bytes()); err != nil || h.HasFCS {
		t.Fatalf("frame header %+v, %v: want no content size", h, err)
	}
	const S = MinChunkSize
	runBad(t, []badCase{{name: "zstd without content size", id: Zstd, dt: dtype.Uint8, shape: []int64{S}, rawLen: S,
		stored: buildContainer(Raw, 0, 1, S, S, buf.Bytes()), code: errs.FormatCodecSize, checkOK: true}})
}

func TestBadTable(t *testing.T) {
	const S = MinChunkSize
	u8, f32 := dtype.Uint8, dtype.Float32
	two := [][]byte{compressWith(t, LZ4, pattern(S)), compressWith(t, LZ4, pattern(10))}
	good := buildContainer(Raw, 0, 1, S, S+10, two...)
	set := func(b []byte, at int, v uint64, width int) []byte {
		b = bytes.Clone(b)
		for i := 0; i < width; i++ {
			b[at+i] = byte(v >> (8 * i))
		}
		return b
	}
	table := chunkHeaderLen
	shape := []int64{S + 10}
	raw := uint64(S + 10)
	cases := []badCase{
		{name: "short header", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: good[:20], code: errs.FormatChunkTable, msg: "24-byte"},
		{name: "unknown inner", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 0, 9, 1), code: errs.FormatCodec, msg: "inner encoding 9"},
		{name: "inner zstd", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 0, 1, 1), code: errs.FormatCodec},
		{name: "unknown filter", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 1, 2, 1), code: errs.FormatCodec, msg: "filter 2"},
		{name: "element size 3", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(set(good, 1, 1, 1), 2, 3, 1), code: errs.FormatChunkTable},
		{name: "element size without filter", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 2, 2, 1), code: errs.FormatChunkTable},
		{name: "element size not dividing L", id: LZ4, dt: u8, shape: []int64{S + 10}, rawLen: raw, stored: set(set(good, 1, 1, 1), 2, 4, 1), code: errs.FormatChunkTable, msg: "multiple"},
		{name: "reserved byte", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 3, 1, 1), code: errs.FormatChunkTable},
		{name: "reserved word", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 20, 1, 4), code: errs.FormatChunkTable},
		{name: "chunk size not power of two", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 4, 5000, 4), code: errs.FormatChunkTable},
		{name: "chunk size too small", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 4, 2048, 4), code: errs.FormatChunkTable},
		{name: "chunk size too big", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 4, 32<<20, 4), code: errs.FormatChunkTable},
		{name: "n inconsistent with L/S", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 16, 3, 4), code: errs.FormatChunkTable, msg: "needs 2"},
		{name: "n huge", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 16, math.MaxUint32, 4), code: errs.FormatChunkTable},
		{name: "L huge", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, 8, 1<<60, 8), code: errs.FormatChunkTable},
		{name: "table past the stored bytes", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: good[:table+16], code: errs.FormatChunkTable, msg: "table of 2 chunks"},
		{name: "offset[0] not 0", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, table, 1, 8), code: errs.FormatChunkTable},
		{name: "offset points outside", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: set(good, table+8, 1<<40, 8), code: errs.FormatChunkTable, msg: "points past"},
		{name: "offset[1] beyond the end", id: LZ4, dt: u8, shape: shape, rawLen: raw,
			stored: set(good, table+8, uint64(len(two[0])+len(two[1])+1), 8), code: errs.FormatChunkTable},
		{name: "offsets decreasing within", id: LZ4, dt: u8, shape: []int64{2*S + 10}, rawLen: 2*S + 10,
			stored: set(buildContainer(Raw, 0, 1, S, 2*S+10, two[0], two[0], two[1]), table+16, 1, 8), code: errs.FormatChunkTable, msg: "below offset[1]"},
		{name: "offset[n] short of the end", id: LZ4, dt: u8, shape: shape, rawLen: raw, stored: append(bytes.Clone(good), 0), code: errs.FormatChunkTable, msg: "offset[2]"},
		{name: "inner raw length", id: LZ4, dt: u8, shape: []int64{S + 11}, rawLen: S + 11, stored: good, code: errs.FormatCodecSize, msg: "inner length"},
		{name: "inner fp16 length", id: LZ4, dt: f32, shape: []int64{S}, rawLen: 4 * S,
			stored: buildContainer(FP16, 0, 1, S, S+10, two...), code: errs.FormatCodecSize},
		{name: "inner int8 length", id: LZ4, dt: f32, shape: []int64{S}, rawLen: 4 * S,
			stored: buildContainer(Int8, 0, 1, S, S+10, two...), code: errs.FormatCodecSize},
		{name: "inner int8 shorter than header", id: LZ4, dt: f32, shape: []int64{0}, rawLen: 0,
			stored: buildContainer(Int8, 0, 1, S, 4, compressWith(t, LZ4, pattern(4))), code: errs.FormatCodecSize},
		{name: "inner fp16 of int64", id: LZ4, dt: dtype.Int64, shape: []int64{S}, rawLen: 8 * S,
			stored: buildContainer(FP16, 0, 1, S, 2*S, two...), code: errs.FormatCodec},
		{name: "inner int8 of a string", id: LZ4, dt: dtype.String, shape: []int64{1}, rawLen: 16,
			stored: buildContainer(Int8, 0, 1, S, 13, compressWith(t, LZ4, pattern(13))), code: errs.FormatCodec},
		{name: "unknown encoding", id: 7, dt: u8, shape: shape, rawLen: raw, stored: good, code: errs.UnsupportedEncoding, msg: "encoding 7"},
		{name: "unknown encoding 255", id: 255, dt: u8, shape: shape, rawLen: raw, stored: good, code: errs.UnsupportedEncoding},
	}
	runBad(t, cases)
}

func TestBadQuantized(t *testing.T) {
	f32 := dtype.Float32
	// A valid int8 tensor of shape [2, 3], axis 1: 3 scales.
	int8Bytes := func(axis, c uint32, scales []float32, q ...int8) []byte {
		b := make([]byte, 8+4*len(scales))
		putU32(b, axis)
		putU32(b[4:], c)
		for i, s := range scales {
			putU32(b[8+4*i:], math.Float32bits(s))
		}
		for _, v := range q {
			b = append(b, byte(v))
		}
		return b
	}
	shape := []int64{2, 3}
	good := int8Bytes(1, 3, []float32{1, 0.5, 0}, 1, 2, 3, -127, 127, 0)
	nan := float32(math.NaN())
	const S = MinChunkSize
	cases := []badCase{
		{name: "int8 -128", id: Int8, dt: f32, shape: shape, rawLen: 24,
			stored: int8Bytes(1, 3, []float32{1, 0.5, 0}, 1, 2, 3, -128, 127, 0), code: errs.FormatCodec, checkOK: true, msg: "element 3 is -128"},
		{name: "int8 bad axis", id: Int8, dt: f32, shape: shape, rawLen: 24,
			stored: int8Bytes(2, 3, []float32{1, 0.5, 0}, 1, 2, 3, 4, 5, 6), code: errs.FormatCodec, msg: "axis 2"},
		{name: "int8 C mismatch", id: Int8, dt: f32, shape: shape, rawLen: 24,
			stored: int8Bytes(0, 3, []float32{1, 0.5, 0}, 1, 2, 3, 4, 5, 6), code: errs.FormatCodec, msg: "dimension is 2"},
		{name: "int8 NaN scale", id: Int8, dt: f32, shape: shape, rawLen: 24,
			stored: int8Bytes(1, 3, []float32{1, nan, 0}, 1, 2, 3, 4, 5, 6), code: errs.FormatCodec, msg: "scale 1"},
		{name: "int8 Inf scale", id: Int8, dt: f32, shape: shape, rawLen: 24,
			stored: int8Bytes(1, 3, []float32{float32(math.Inf(1)), 1, 0}, 1, 2, 3, 4, 5, 6), code: errs.FormatCodec},
		{name: "int8 negative scale", id: Int8, dt: f32, shape: shape, rawLen: 24,
			stored: int8Bytes(1, 3, []float32{1, 1, -1}, 1, 2, 3, 4, 5, 6), code: errs.FormatCodec},
		{name: "int8 too long", id: Int8, dt: f32, shape: shape, rawLen: 24, stored: append(bytes.Clone(good), 0), code: errs.FormatCodecSize},
		{name: "int8 too short", id: Int8, dt: f32, shape: shape, rawLen: 24, stored: good[:len(good)-1], code: errs.FormatCodecSize},
		{name: "int8 no header", id: Int8, dt: f32, shape: shape, rawLen: 24, stored: good[:5], code: errs.FormatCodecSize},
		{name: "int8 scalar", id: Int8, dt: f32, shape: []int64{}, rawLen: 4, stored: good, code: errs.FormatCodec},
		{name: "int8 of int32", id: Int8, dt: dtype.Int32, shape: shape, rawLen: 24, stored: good, code: errs.FormatCodec},
		{name: "fp16 too long", id: FP16, dt: f32, shape: shape, rawLen: 24, stored: make([]byte, 13), code: errs.FormatCodecSize, msg: "stored length 13, want 12"},
		{name: "bf16 too short", id: BF16, dt: dtype.Float64, shape: shape, rawLen: 48, stored: make([]byte, 11), code: errs.FormatCodecSize},
		{name: "fp16 of uint8", id: FP16, dt: dtype.Uint8, shape: shape, rawLen: 6, stored: make([]byte, 12), code: errs.FormatCodec},
		{name: "raw too long", id: Raw, dt: f32, shape: shape, rawLen: 24, stored: make([]byte, 25), code: errs.FormatCodecSize},
		{name: "raw length vs shape", id: Raw, dt: f32, shape: shape, rawLen: 20, stored: make([]byte, 20), code: errs.FormatCodecSize},
		{name: "bad dtype", id: Raw, dt: 99, shape: shape, rawLen: 24, stored: make([]byte, 24), code: errs.FormatDType},
		{name: "negative dim", id: Raw, dt: f32, shape: []int64{-1}, rawLen: 0, stored: nil, code: errs.FormatNegativeDim},
		// The same faults inside compressed chunks.
		{name: "lz4 int8 -128", id: LZ4, dt: f32, shape: shape, rawLen: 24,
			stored: buildContainer(Int8, 0, 1, S, 26, compressWith(t, LZ4, int8Bytes(1, 3, []float32{1, 0.5, 0}, 1, 2, 3, -128, 127, 0))),
			code:   errs.FormatCodec, checkOK: true, msg: "-128"},
		{name: "zstd int8 bad axis", id: Zstd, dt: f32, shape: shape, rawLen: 24,
			stored: buildContainer(Int8, 0, 1, S, 26, compressWith(t, Zstd, int8Bytes(0, 3, []float32{1, 0.5, 0}, 1, 2, 3, 4, 5, 6))),
			code:   errs.FormatCodec, checkOK: true, msg: "axis 0"},
		{name: "brotli int8 NaN scale", id: Brotli, dt: f32, shape: shape, rawLen: 24,
			stored: buildContainer(Int8, 0, 1, S, 26, compressWith(t, Brotli, int8Bytes(1, 3, []float32{nan, 0.5, 0}, 1, 2, 3, 4, 5, 6))),
			code:   errs.FormatCodec, checkOK: true, msg: "scale 0"},
	}
	// A zero-element int8 tensor whose scales span chunks: a bad scale in the
	// second chunk is found, and nothing of L's size is allocated for it.
	scales := make([]float32, 2000)
	for i := range scales {
		scales[i] = 1
	}
	scales[1500] = -2
	zero := int8Bytes(1, 2000, scales)
	cases = append(cases, badCase{name: "zero-element int8, bad scale in chunk 1", id: Zstd, dt: f32, shape: []int64{0, 2000}, rawLen: 0,
		stored: buildContainer(Int8, 0, 1, S, uint64(len(zero)), compressWith(t, Zstd, zero[:S]), compressWith(t, Zstd, zero[S:])),
		code:   errs.FormatCodec, checkOK: true, msg: "scale 1500"})
	runBad(t, cases)

	if err := Decode(Int8, f32, shape, 24, good, make([]byte, 24)); err != nil {
		t.Fatal(err)
	}
	if err := Decode(Int8, f32, shape, 24, good, make([]byte, 23)); errs.CodeOf(err) != errs.InvalidValue {
		t.Fatalf("short dst: %v", err)
	}
}

// TestZeroElementInt8 round-trips [3, 0] and [0, 2000] tensors through every
// compressor: the scales survive and nothing is written.
func TestZeroElementInt8(t *testing.T) {
	for _, shape := range [][]int64{{3, 0}, {0, 2000}, {0}} {
		for _, comp := range []ID{Raw, Zstd, LZ4, Brotli} {
			id, stored, _, err := encode(dtype.Float32, shape, nil, Spec{Compress: comp, Quantize: Int8, Axis: len(shape) - 1, ChunkSize: MinChunkSize}, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(id, dtype.Float32, shape, 0, stored); err != nil {
				t.Fatalf("%v %s: Check: %v", shape, comp, err)
			}
			if err := Decode(id, dtype.Float32, shape, 0, stored, nil); err != nil {
				t.Fatalf("%v %s: Decode: %v", shape, comp, err)
			}
		}
	}
}

// TestCodecFailures: a codec's plain error becomes FormatCodec and a panic in
// any decoding goroutine becomes an Internal error, not a crash.
func TestCodecFailures(t *testing.T) {
	const S = MinChunkSize
	chunks := [][]byte{{1}, {2}, {3}, {4}}
	c, err := parseContainer(buildContainer(Raw, 0, 1, S, 4*S, chunks...))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 4*S)
	direct := func(i, want int) []byte { return dst[i*S : i*S+want] }
	plain := &Codec{Name: "plain", Decompress: func(dst, src []byte) error {
		if src[0] == 3 {
			return errorString("boom")
		}
		return nil
	}}
	if err := decompressChunks(plain, c, direct, nil); errs.CodeOf(err) != errs.FormatCodec || !strings.Contains(err.Error(), "chunk 2 of 4") {
		t.Errorf("plain error: %v", err)
	}
	panicky := &Codec{Name: "panicky", Decompress: func(dst, src []byte) error {
		if src[0] >= 2 {
			panic("decoder bug")
		}
		return nil
	}}
	if err := decompressChunks(panicky, c, direct, nil); errs.CodeOf(err) != errs.Internal || !strings.Contains(err.Error(), "decoder bug") {
		t.Errorf("panic: %v", err)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
