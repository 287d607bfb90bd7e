package kernels

import "testing"

// BenchmarkBinaryRowGo times the Go elementwise loops over 8192 values:
// float64 (every CPU) and float32 (CPUs without AVX-512, where firstNaNs
// follows the loops).
func BenchmarkBinaryRowGo(b *testing.B) {
	b.Run("float64", func(b *testing.B) { benchBinaryRow[float64](b) })
	b.Run("float32", func(b *testing.B) {
		if axpyAsm {
			b.Skip("float32 Add and Mul take the AVX-512 kernels here")
		}
		benchBinaryRow[float32](b)
	})
}

func benchBinaryRow[T Float](b *testing.B) {
	const n = 8192
	x, y, o := make([]T, n), make([]T, n), make([]T, n)
	for i := range x {
		x[i], y[i] = T(i)*0.5+1, T(n-i)*0.25
	}
	for _, c := range []struct {
		name string
		op   BinaryOp
		ib   int
	}{{"add", OpAdd, 1}, {"mul", OpMul, 1}, {"add-scalar", OpAdd, 0}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				binaryRow(c.op, o, x, y, 1, c.ib)
			}
		})
	}
}
