package codec

import (
	"fmt"
	"github.com/mle-runtime/mle/kernels"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
)

const benchBytes = 32 << 20

// benchShape is a weight matrix: int8 has one scale per row (axis 0).
var benchShape = []int64{2048, benchBytes / 4 / 2048}

// benchData returns 32 MiB of float32 weights: "normal" is N(0, 0.05);
// "bf16exact" the same values rounded to bfloat16 (low 16 bits zero), as a
// model trained in bf16 and saved as float32 has.
var benchData = sync.OnceValue(func() map[string][]byte {
	rng := rand.New(rand.NewPCG(42, 42))
	normal := make([]byte, benchBytes)
	exact := make([]byte, benchBytes)
	for i := 0; i < benchBytes/4; i++ {
		x := float32(rng.NormFloat64() * 0.05)
		putU32(normal[4*i:], math.Float32bits(x))
		putU32(exact[4*i:], math.Float32bits(kernels.BF16ToF32(kernels.F32ToBF16(x))))
	}
	return map[string][]byte{"normal": normal, "bf16exact": exact}
})

type benchCase struct {
	name string
	data string
	spec Spec
}

func benchCases() []benchCase {
	var out []benchCase
	for _, data := range []string{"normal", "bf16exact"} {
		for _, comp := range []ID{Zstd, LZ4, Brotli} {
			for _, shuf := range []int{-1, 1} {
				name := "noshuffle"
				if shuf == 1 {
					name = "shuffle"
				}
				out = append(out, benchCase{fmt.Sprintf("%s/%s/%s", data, comp, name), data, Spec{Compress: comp, Shuffle: shuf}})
			}
		}
		for _, q := range []ID{FP16, BF16, Int8} {
			out = append(out, benchCase{fmt.Sprintf("%s/%s", data, q), data, Spec{Quantize: q}})
			out = append(out, benchCase{fmt.Sprintf("%s/%s+zstd", data, q), data, Spec{Quantize: q, Compress: Zstd}})
		}
	}
	return out
}

// BenchmarkDecode reports MB/s of raw (decoded) bytes and the compression
// ratio raw/stored. The container is kept even where Encode would drop it.
func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			raw := benchData()[c.data]
			id, stored, _, err := encode(dtype.Float32, benchShape, raw, c.spec, true)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, len(raw))
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for range b.N {
				if err := Decode(id, dtype.Float32, benchShape, uint64(len(raw)), stored, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw))/float64(len(stored)), "ratio")
		})
	}
}

// BenchmarkEncode reports MB/s of raw bytes in.
func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			raw := benchData()[c.data]
			b.SetBytes(int64(len(raw)))
			var stored []byte
			for range b.N {
				var err error
				if _, stored, _, err = encode(dtype.Float32, benchShape, raw, c.spec, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw))/float64(len(stored)), "ratio")
		})
	}
}

// BenchmarkShuffle measures the filter alone on 1 MiB (a default chunk).
func BenchmarkShuffle(b *testing.B) {
	src := benchData()["normal"][:1<<20]
	dst := make([]byte, len(src))
	for _, e := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("shuffle/e%d", e), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for range b.N {
				shuffle(dst, src, e)
			}
		})
		b.Run(fmt.Sprintf("unshuffle/e%d", e), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for range b.N {
				unshuffle(dst, src, e)
			}
		})
	}
}
