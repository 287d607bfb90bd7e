//go:build !amd64 || purego

package kernels

var axpyAsm = false

// Axpy32 adds a·x to y (len(x) >= len(y)).
func Axpy32(y, x []float32, a float32) { axpyGo(y, x, a) }

func setAxpyAsm(bool) {}

// Max32 returns the largest element of x, −Inf when x is empty or all NaN:
// NaN elements never win.
func Max32(x []float32) float32 { return maxGo(x) }

func hardSwish32(out, x []float32) bool { return false }

func stride2Gather32(dst, src []float32) bool { return false }

func maxTaps32(out []float32, ldo int, x []float32, ldx int, offs []int, rows, n int) bool {
	return false
}

func stride2GatherRows32(dst []float32, ldd int, src []float32, lds, rows, n int) bool { return false }

func rowsScalar32(op BinaryOp, o, x, s []float32, sFirst bool, inner, r0, r1 int) bool {
	return false
}

func binaryRow32(op BinaryOp, o, a, b []float32, ia, ib int) bool { return false }
