//go:build amd64 && !purego

package kernels

import (
	"math"

	"golang.org/x/sys/cpu"
)

// axpyAsm reports whether Axpy32 uses the AVX-512 loop; tests lower it to
// compare with the Go one.
var axpyAsm = cpu.X86.HasAVX512F

//go:noescape
func axpy32AVX512(y, x *float32, n int, a float32)

// Axpy32 adds a·x to y (len(x) >= len(y)).
func Axpy32(y, x []float32, a float32) {
	if len(y) == 0 {
		return
	}
	_ = x[len(y)-1]
	if axpyAsm {
		axpy32AVX512(&y[0], &x[0], len(y), a)
		return
	}
	axpyGo(y, x, a)
}

func setAxpyAsm(on bool) { axpyAsm = on && cpu.X86.HasAVX512F }

//go:noescape
func max32AVX512(x *float32, n int) float32

// Max32 returns the largest element of x, −Inf when x is empty or all NaN:
// NaN elements never win.
func Max32(x []float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	if axpyAsm {
		return max32AVX512(&x[0], len(x))
	}
	return maxGo(x)
}

//go:noescape
func hardSwish32AVX512(out, x *float32, n int)

// hardSwish32 is HardSwish over float32 with the AVX-512 loop; false when
// it is not available.
func hardSwish32(out, x []float32) bool {
	if !axpyAsm || len(out) == 0 {
		return axpyAsm
	}
	_ = x[len(out)-1]
	hardSwish32AVX512(&out[0], &x[0], len(out))
	return true
}

//go:noescape
func stride2Gather32AVX512(dst, src *float32, n int)

// stride2Gather32 sets dst[c] = src[2c] for c < len(dst) (src holds at
// least 2·len(dst)−1 elements) with the AVX-512 loop; false when it is not
// available.
func stride2Gather32(dst, src []float32) bool {
	if !axpyAsm || !cpu.X86.HasBMI2 {
		return false
	}
	if len(dst) == 0 {
		return true
	}
	_ = src[2*len(dst)-2]
	stride2Gather32AVX512(&dst[0], &src[0], len(dst))
	return true
}

//go:noescape
func maxTaps32AVX512(out *float32, ldo int, x *float32, ldx int, offs *int32, taps, rows, n int)

// maxTaps32 is maxTaps with the AVX-512 loop, for up to 32 taps; false
// when it is not available or there are more taps.
func maxTaps32(out []float32, ldo int, x []float32, ldx int, offs []int, rows, n int) bool {
	if !axpyAsm || len(offs) > 32 || len(offs) == 0 {
		return false
	}
	if rows == 0 || n == 0 {
		return true
	}
	var o [32]int32
	far := 0
	for t, v := range offs {
		o[t] = int32(v)
		far = max(far, v)
	}
	_ = out[(rows-1)*ldo+n-1]
	_ = x[(rows-1)*ldx+far+n-1]
	maxTaps32AVX512(&out[0], ldo, &x[0], ldx, &o[0], len(offs), rows, n)
	return true
}

//go:noescape
func stride2GatherRows32AVX512(dst *float32, ldd int, src *float32, lds, rows, n int)

// stride2GatherRows32 sets dst[r·ldd+c] = src[r·lds+2c] for r < rows and
// c < n with the AVX-512 loop; false when it is not available.
func stride2GatherRows32(dst []float32, ldd int, src []float32, lds, rows, n int) bool {
	if !axpyAsm || !cpu.X86.HasBMI2 {
		return false
	}
	if rows == 0 || n == 0 {
		return true
	}
	_ = dst[(rows-1)*ldd+n-1]
	_ = src[(rows-1)*lds+2*n-2]
	stride2GatherRows32AVX512(&dst[0], ldd, &src[0], lds, rows, n)
	return true
}

//go:noescape
func addF32AVX512(o, a, b *float32, n int)

//go:noescape
func mulF32AVX512(o, a, b *float32, n int)

//go:noescape
func addScalarF32AVX512(o, a *float32, n int, y float32)

//go:noescape
func mulScalarF32AVX512(o, a *float32, n int, y float32)

//go:noescape
func mulRowsXSF32AVX512(o, a, s *float32, rows, inner int)

//go:noescape
func mulRowsSXF32AVX512(o, a, s *float32, rows, inner int)

//go:noescape
func addRowsXSF32AVX512(o, a, s *float32, rows, inner int)

//go:noescape
func addRowsSXF32AVX512(o, a, s *float32, rows, inner int)

// rowsScalar32 is Binary's float32 Add and Mul of a contiguous operand and
// one element of the other per row (squeeze-and-excite's scale·x): rows
// [r0, r1) of inner elements in one call, with binaryRow32's arithmetic
// and NaNs. sFirst says the per-row operand is a. False when it does not
// apply.
func rowsScalar32(op BinaryOp, o, x, s []float32, sFirst bool, inner, r0, r1 int) bool {
	if !axpyAsm || (op != OpAdd && op != OpMul) || r1 <= r0 || inner == 0 {
		return false
	}
	o, x, s = o[r0*inner:r1*inner], x[r0*inner:r1*inner], s[r0:r1]
	switch {
	case op == OpMul && sFirst:
		mulRowsSXF32AVX512(&o[0], &x[0], &s[0], r1-r0, inner)
	case op == OpMul:
		mulRowsXSF32AVX512(&o[0], &x[0], &s[0], r1-r0, inner)
	case sFirst:
		addRowsSXF32AVX512(&o[0], &x[0], &s[0], r1-r0, inner)
	default:
		addRowsXSF32AVX512(&o[0], &x[0], &s[0], r1-r0, inner)
	}
	return true
}

// binaryRow32 is binaryRow's float32 Add and Mul of contiguous a and b (or
// a scalar a or b: ia or ib 0) with the AVX-512 loops, at every length:
// which NaN a NaN op NaN gives is then always the first operand's (x86's
// rule), where Go's scalar code leaves the operand order to the compiler
// (a build with -race swapped them). False when it does not apply.
func binaryRow32(op BinaryOp, o, a, b []float32, ia, ib int) bool {
	n := len(o)
	if !axpyAsm || (op != OpAdd && op != OpMul) || n == 0 {
		return false
	}
	if ia == 0 && ib == 1 {
		// A scalar first operand (torchvision's squeeze-and-excite scales
		// as scale · x): a NaN there is every result, quieted; otherwise
		// the operand order changes no bit, and the loops take x first.
		if y := a[0]; y != y {
			Fill(o, math.Float32frombits(math.Float32bits(y)|1<<22))
			return true
		}
		a, b, ia, ib = b, a, 1, 0
	}
	if ia != 1 || (ib != 0 && ib != 1) {
		return false
	}
	_ = a[n-1]
	if ib == 0 {
		if op == OpAdd {
			addScalarF32AVX512(&o[0], &a[0], n, b[0])
		} else {
			mulScalarF32AVX512(&o[0], &a[0], n, b[0])
		}
		return true
	}
	_ = b[n-1]
	if op == OpAdd {
		addF32AVX512(&o[0], &a[0], &b[0], n)
	} else {
		mulF32AVX512(&o[0], &a[0], &b[0], n)
	}
	return true
}
