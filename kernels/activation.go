package kernels

import "math"

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
// float32 values are computed in float64 and rounded once.
func Unary[T Float](op UnaryOp, out, x []T, alpha float64) {
	x = x[:len(out)]
	switch op {
	case OpRelu:
		for i, v := range x {
			if v > 0 || v != v { // NaN propagates, as in numpy and torch
				out[i] = v
			} else {
				out[i] = 0
			}
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
	case OpSigmoid:
		for i, v := range x {
			out[i] = T(1 / (1 + math.Exp(-float64(v))))
		}
	case OpTanh:
		for i, v := range x {
			out[i] = T(math.Tanh(float64(v)))
		}
	case OpGeluErf:
		erf := math.Erf
		if isFloat32[T]() {
			erf = erfFloat32 // float32 results do not need math.Erf's 1e-16
		}
		for i, v := range x {
			f := float64(v)
			out[i] = T(0.5 * f * (1 + erf(f/math.Sqrt2)))
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
	case OpExp:
		for i, v := range x {
			out[i] = T(math.Exp(float64(v)))
		}
	case OpLog:
		for i, v := range x {
			out[i] = T(math.Log(float64(v)))
		}
	case OpGeluTanh:
		const c = 0.7978845608028654 // sqrt(2/pi)
		for i, v := range x {
			f := float64(v)
			out[i] = T(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
		}
	}
}

// Softmax computes softmax (or log-softmax) over the middle axis of x viewed
// as [outer, axis, inner], for outer rows [o0, o1).
func Softmax[T Float](log bool, out, x []T, axis, inner, o0, o1 int) {
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
			if log {
				for k := 0; k < axis; k++ {
					sum += math.Exp(float64(x[base+k*inner]) - mx)
				}
				lse := mx + math.Log(sum)
				for k := 0; k < axis; k++ {
					out[base+k*inner] = T(float64(x[base+k*inner]) - lse)
				}
				continue
			}
			for k := 0; k < axis; k++ {
				sum += math.Exp(float64(x[base+k*inner]) - mx)
			}
			for k := 0; k < axis; k++ {
				out[base+k*inner] = T(math.Exp(float64(x[base+k*inner])-mx) / sum)
			}
		}
	}
}

// SoftmaxF64 is Softmax (not log) for float64, computing each exp once: the
// float64 output holds it until the division (float32 cannot, without
// rounding twice).
func SoftmaxF64(out, x []float64, axis, inner, o0, o1 int) {
	for o := o0; o < o1; o++ {
		for in := 0; in < inner; in++ {
			base := o*axis*inner + in
			mx := math.Inf(-1)
			for k := 0; k < axis; k++ {
				if v := x[base+k*inner]; v > mx || v != v {
					mx = v
				}
			}
			var sum float64
			for k := 0; k < axis; k++ {
				e := math.Exp(x[base+k*inner] - mx)
				out[base+k*inner] = e
				sum += e
			}
			for k := 0; k < axis; k++ {
				out[base+k*inner] /= sum
			}
		}
	}
}

// LayerNorm normalizes rows [r0, r1) of x viewed as [rows, d]:
// y = (x - mean) / sqrt(var + eps) · scale + bias (bias may be nil).
// mean and invStd, when non-nil, receive each row's statistics.
// Statistics accumulate in float64.
func LayerNorm[T Float](y, x, scale, bias, mean, invStd []T, d int, eps float64, r0, r1 int) {
	for r := r0; r < r1; r++ {
		row := x[r*d : r*d+d]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(d)
		var ss float64
		for _, v := range row {
			dv := float64(v) - mu
			ss += dv * dv
		}
		inv := 1 / math.Sqrt(ss/float64(d)+eps)
		out := y[r*d : r*d+d]
		for i, v := range row {
			n := (float64(v) - mu) * inv * float64(scale[i])
			if bias != nil {
				n += float64(bias[i])
			}
			out[i] = T(n)
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

func isFloat32[T Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// erfFloat32 is erf to within 1.5e-7 absolute (Abramowitz & Stegun 7.1.26),
// below float32's resolution near 1 and twice as fast as math.Erf.
func erfFloat32(x float64) float64 {
	sign := 1.0
	if x < 0 {
		sign, x = -1, -x
	}
	t := 1 / (1 + 0.3275911*x)
	poly := ((((1.061405429*t-1.453152027)*t+1.421413741)*t-0.284496736)*t + 0.254829592) * t
	return sign * (1 - poly*math.Exp(-x*x))
}
