package kernels

import (
	"math"
	"unsafe"

	"github.com/mle-runtime/mle/kernels/vmath"
)

// UnaryOp selects the function of Unary.
type UnaryOp uint8

// Unary ops.
const (
	OpRelu UnaryOp = iota
	OpLeakyRelu
	OpSigmoid
	OpTanh
	OpGeluErf
	OpGeluTanh
	OpAbs
	OpNeg
	OpSqrt
	OpExp
	OpLog
)

// Unary computes out[i] = f(x[i]). alpha is LeakyRelu's negative slope.
// Sigmoid, Tanh, Gelu (both), Exp and Log run through vmath's vectorized
// kernels (same bits on every machine; max error in vmath's doc: under one
// ulp, float32 computed in float64 and rounded once); the others are exact
// or computed in float64 and rounded once.
func Unary[T Float](op UnaryOp, out, x []T, alpha float64) {
	x = x[:len(out)]
	switch op {
	case OpSigmoid, OpTanh, OpGeluErf, OpGeluTanh, OpExp, OpLog:
		unaryVmath(op, out, x)
	case OpRelu:
		// Vectorized max(v, 0): keeps NaN (as numpy and torch do) and turns
		// -0 into +0. The scalar loop cost 0.7-1.3 ns/element, as much as
		// the GEMM before it on wide layers.
		if isFloat32[T]() {
			vmath.Relu32(asF32(out), asF32(x))
		} else {
			vmath.Relu64(asF64(out), asF64(x))
		}
	case OpLeakyRelu:
		a := T(alpha)
		for i, v := range x {
			if v < 0 {
				out[i] = v * a
			} else {
				out[i] = v
			}
		}
	case OpAbs:
		for i, v := range x {
			out[i] = T(math.Abs(float64(v)))
		}
	case OpNeg:
		for i, v := range x {
			out[i] = -v
		}
	case OpSqrt:
		for i, v := range x {
			out[i] = T(math.Sqrt(float64(v)))
		}
	}
}

// unaryVmath applies one of vmath's functions, picked by T's float type.
func unaryVmath[T Float](op UnaryOp, out, x []T) {
	if isFloat32[T]() {
		o, v := asF32(out), asF32(x)
		switch op {
		case OpSigmoid:
			vmath.Sigmoid32(o, v)
		case OpTanh:
			vmath.Tanh32(o, v)
		case OpGeluErf:
			vmath.GeluErf32(o, v)
		case OpGeluTanh:
			vmath.GeluTanh32(o, v)
		case OpExp:
			vmath.Exp32(o, v)
		case OpLog:
			vmath.Log32(o, v)
		}
		return
	}
	o, v := asF64(out), asF64(x)
	switch op {
	case OpSigmoid:
		vmath.Sigmoid64(o, v)
	case OpTanh:
		vmath.Tanh64(o, v)
	case OpGeluErf:
		vmath.GeluErf64(o, v)
	case OpGeluTanh:
		vmath.GeluTanh64(o, v)
	case OpExp:
		vmath.Exp64(o, v)
	case OpLog:
		vmath.Log64(o, v)
	}
}

// asF32 and asF64 view a []T (T a float type of that size) as its base
// type: Float admits named types (~float32), which vmath does not.
func asF32[T Number](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func asF64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// Softmax computes softmax (or log-softmax) over the middle axis of x viewed
// as [outer, axis, inner], for outer rows [o0, o1); out may be x.
// Contiguous rows (inner == 1) take three passes: the max, vmath's
// exp(x − max) with its float64 sum, then the scale (or x − max − ln sum).
// A NaN anywhere in a row makes the whole row NaN, as do +Inf (Inf − Inf)
// and a row of −Inf.
func Softmax[T Float](log bool, out, x []T, axis, inner, o0, o1 int) {
	if inner == 1 {
		for o := o0; o < o1; o++ {
			r := o * axis
			softmaxRow(log, out[r:r+axis], x[r:r+axis])
		}
		return
	}
	// Strided rows: element by element with vmath's scalar exp and log (the
	// float64 kernels), each exp computed twice rather than stored.
	for o := o0; o < o1; o++ {
		for in := 0; in < inner; in++ {
			base := o*axis*inner + in
			mx := math.Inf(-1)
			for k := 0; k < axis; k++ {
				if v := float64(x[base+k*inner]); v > mx || v != v {
					mx = v
				}
			}
			var sum float64
			for k := 0; k < axis; k++ {
				sum += vmath.Exp(float64(x[base+k*inner]) - mx)
			}
			if log {
				lse := mx + vmath.Log(sum)
				for k := 0; k < axis; k++ {
					out[base+k*inner] = T(float64(x[base+k*inner]) - lse)
				}
				continue
			}
			for k := 0; k < axis; k++ {
				out[base+k*inner] = T(vmath.Exp(float64(x[base+k*inner])-mx) / sum)
			}
		}
	}
}

// softmaxRow is Softmax of one contiguous row; out and x may be the same.
func softmaxRow[T Float](log bool, out, x []T) {
	if len(x) == 0 {
		return
	}
	mx := math.Inf(-1)
	for _, v := range x {
		if f := float64(v); f > mx || f != f {
			mx = f
		}
	}
	if log {
		// The exps are only summed: a scratch block on the stack keeps x
		// intact when out is x. The sum is the same whether or not it is.
		var buf [logSoftmaxBlock]T
		var sum float64
		for i := 0; i < len(x); i += logSoftmaxBlock {
			xs := x[i:min(i+logSoftmaxBlock, len(x))]
			sum += expSub(buf[:len(xs)], xs, mx)
		}
		lse := mx + vmath.Log(sum)
		for i, v := range x {
			out[i] = T(float64(v) - lse)
		}
		return
	}
	if !isFloat32[T]() {
		softmaxRowF64(asF64(out), asF64(x), mx)
		return
	}
	// out holds e^(x−max) rounded to float32 until the scale; times 1/sum
	// and rounded again, that is within an ulp of the exact quotient.
	inv := 1 / vmath.ExpSub32(asF32(out), asF32(x), float32(mx))
	for i, e := range out {
		out[i] = T(float64(e) * inv)
	}
}

const logSoftmaxBlock = 512

// expSub is vmath.ExpSub32/64 by T: out = e^(x−mx), returning the sum.
func expSub[T Float](out, x []T, mx float64) float64 {
	if isFloat32[T]() {
		return vmath.ExpSub32(asF32(out), asF32(x), float32(mx))
	}
	return vmath.ExpSub64(asF64(out), asF64(x), mx)
}

// softmaxRowF64 divides by the sum, as scikit-learn does, rather than
// multiplying by its reciprocal (one more rounding).
func softmaxRowF64(out, x []float64, mx float64) {
	sum := vmath.ExpSub64(out, x, mx)
	for i := range out {
		out[i] /= sum
	}
}

// SoftmaxF64 is Softmax (not log) for float64. (It predates Softmax
// computing each exp once for both types.)
func SoftmaxF64(out, x []float64, axis, inner, o0, o1 int) {
	Softmax(false, out, x, axis, inner, o0, o1)
}

// LayerNorm normalizes rows [r0, r1) of x viewed as [rows, d]:
// y = (x - mean) / sqrt(var + eps) · scale + bias (bias may be nil).
// mean and invStd, when non-nil, receive each row's statistics.
// Statistics accumulate in float64, in two passes over the row (sum, then
// squared deviations: a one-pass form, Σx² − nμ² or Welford's, loses
// digits to cancellation), each as vmath's 32 partial sums in a fixed
// order, so the bits do not depend on the machine. Products are rounded
// before they are added, so no build fuses them (GOAMD64=v3 and arm64 may).
// y may be x.
func LayerNorm[T Float](y, x, scale, bias, mean, invStd []T, d int, eps float64, r0, r1 int) {
	for r := r0; r < r1; r++ {
		row, out := x[r*d:r*d+d], y[r*d:r*d+d]
		var mu, inv float64
		if isFloat32[T]() {
			mu = vmath.Sum32(asF32(row)) / float64(d)
			inv = 1 / math.Sqrt(vmath.SumSqDev32(asF32(row), mu)/float64(d)+eps)
			vmath.Affine32(asF32(out), asF32(row), asF32(scale[:d]), asF32(bias), mu, inv)
		} else {
			mu = vmath.Sum64(asF64(row)) / float64(d)
			inv = 1 / math.Sqrt(vmath.SumSqDev64(asF64(row), mu)/float64(d)+eps)
			vmath.Affine64(asF64(out), asF64(row), asF64(scale[:d]), asF64(bias), mu, inv)
		}
		if mean != nil {
			mean[r] = T(mu)
		}
		if invStd != nil {
			invStd[r] = T(inv)
		}
	}
}

// ArgMax writes, for each (outer, inner) position of x viewed as
// [outer, axis, inner], the index of the largest element along the axis.
// NaN counts as the largest value (numpy's rule); ties take the first index,
// or the last when last is set.
func ArgMax[T Number](out []int64, x []T, axis, inner int, last bool, o0, o1 int) {
	for o := o0; o < o1; o++ {
		for in := 0; in < inner; in++ {
			base := o*axis*inner + in
			best, bi := x[base], 0
			if best == best { // not NaN
				for k := 1; k < axis; k++ {
					v := x[base+k*inner]
					if v != v {
						bi = k
						break
					}
					if v > best || (last && v == best) {
						best, bi = v, k
					}
				}
			}
			out[o*inner+in] = int64(bi)
		}
	}
}

// isFloat32 is by size, not by type assertion: Float admits named types.
func isFloat32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}
