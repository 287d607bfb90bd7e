package kernels

import (
	"math"

	"github.com/mle-runtime/mle/kernels/vmath"
)

// Unary2Op selects the function of Unary2: the float ops added after
// Unary's (a separate enum, so that UnaryOp's values stay as they are).
type Unary2Op uint8

// Unary2 ops.
const (
	OpReciprocal Unary2Op = iota
	OpErf
	OpFloor
	OpCeil
	OpRound
	OpSign
	OpSin
	OpCos
	OpSoftplus
	OpSoftsign
	OpMish
	OpHardSwish
	OpHardSigmoid
	OpSwish
	OpElu
	OpSelu
	OpCelu
	OpThresholdedRelu
)

// UnaryParams are the attributes of a Unary2 op (ONNX names): HardSigmoid
// alpha, beta; Swish, Elu, Celu, ThresholdedRelu alpha; Selu alpha, gamma
// (in Beta).
type UnaryParams struct{ Alpha, Beta float64 }

// unary2Block is the stack buffer of ops computed in two passes.
const unary2Block = 256

// Unary2 computes out[i] = f(x[i]); out may be x. Functions are computed
// in float64 and rounded once (Reciprocal in T: one correctly rounded
// division); Erf and Swish's sigmoid run through vmath's vector kernels.
// Torch's formulas where they are ONNX's: HardSwish is
// x·min(max(x+3, 0), 6)/6, Sign(NaN) is 0 and ThresholdedRelu keeps NaN.
func Unary2[T Float](op Unary2Op, out, x []T, p UnaryParams) {
	x = x[:len(out)]
	switch op {
	case OpReciprocal:
		for i, v := range x {
			out[i] = 1 / v
		}
	case OpErf:
		if isFloat32[T]() {
			vmath.Erf32(asF32(out), asF32(x))
		} else {
			vmath.Erf64(asF64(out), asF64(x))
		}
	case OpSwish:
		swish(out, x, T(p.Alpha))
	case OpMish:
		mish(out, x)
	case OpHardSwish:
		if !isFloat32[T]() || !hardSwish32(asF32(out), asF32(x)) {
			mapF64(op, out, x, p)
		}
	default:
		mapF64(op, out, x, p)
	}
}

// swish is x·sigmoid(αx), block by block: the sigmoid goes to a stack
// buffer first, since out may be x.
func swish[T Float](out, x []T, alpha T) {
	var buf [unary2Block]T
	for lo := 0; lo < len(x); lo += unary2Block {
		xs := x[lo:min(lo+unary2Block, len(x))]
		s := buf[:len(xs)]
		if alpha == 1 {
			copy(s, xs)
		} else {
			for i, v := range xs {
				s[i] = alpha * v
			}
		}
		if isFloat32[T]() {
			vmath.Sigmoid32(asF32(s), asF32(s))
		} else {
			vmath.Sigmoid64(asF64(s), asF64(s))
		}
		o := out[lo : lo+len(xs)]
		for i, v := range xs {
			o[i] = T(float64(v) * float64(s[i]))
		}
	}
}

// mish is x·tanh(ln(1+e^x)) = x·n/(n+2) with n = e^x(e^x+2): one
// vectorized exp per element instead of exp, log1p and tanh. Past x = 20
// the ratio is 1 to float64 precision (and e^2x would overflow).
func mish[T Float](out, x []T) {
	var buf [unary2Block]float64
	for lo := 0; lo < len(x); lo += unary2Block {
		xs := x[lo:min(lo+unary2Block, len(x))]
		e := buf[:len(xs)]
		for i, v := range xs {
			e[i] = min(float64(v), 20) // NaN stays NaN
		}
		vmath.Exp64(e, e)
		o := out[lo : lo+len(xs)]
		for i, v := range xs {
			f := float64(v)
			if f >= 20 {
				o[i] = v
				continue
			}
			n := e[i] * (e[i] + 2)
			o[i] = T(f * (n / (n + 2)))
		}
	}
}

// mapF64 applies a scalar float64 function element by element; the switch
// is outside the loops.
func mapF64[T Float](op Unary2Op, out, x []T, p UnaryParams) {
	a, b := p.Alpha, p.Beta
	switch op {
	case OpFloor:
		for i, v := range x {
			out[i] = T(math.Floor(float64(v)))
		}
	case OpCeil:
		for i, v := range x {
			out[i] = T(math.Ceil(float64(v)))
		}
	case OpRound:
		for i, v := range x {
			out[i] = T(math.RoundToEven(float64(v)))
		}
	case OpSign:
		for i, v := range x {
			switch {
			case v > 0:
				out[i] = 1
			case v < 0:
				out[i] = -1
			default:
				out[i] = 0 // ±0 and NaN, as torch
			}
		}
	case OpSin:
		for i, v := range x {
			out[i] = T(math.Sin(float64(v)))
		}
	case OpCos:
		for i, v := range x {
			out[i] = T(math.Cos(float64(v)))
		}
	case OpSoftplus:
		for i, v := range x {
			out[i] = T(softplus(float64(v)))
		}
	case OpSoftsign:
		for i, v := range x {
			f := float64(v)
			out[i] = T(f / (1 + math.Abs(f)))
		}
	case OpHardSwish:
		// In T, as torch computes x·min(max(x+3, 0), 6)/6. min and max (NaN
		// stays NaN) compile without branches: 3.5× the compares' speed on
		// activations, whose signs branch prediction cannot guess.
		for i, v := range x {
			out[i] = v * min(max(v+3, 0), 6) / 6
		}
	case OpHardSigmoid: // in float64: a·x + b cancels near x = −b/a
		for i, v := range x {
			out[i] = T(min(max(a*float64(v)+b, 0), 1))
		}
	case OpElu:
		for i, v := range x {
			if f := float64(v); f <= 0 {
				out[i] = T(a * math.Expm1(f))
			} else {
				out[i] = v
			}
		}
	case OpSelu: // gamma in b
		for i, v := range x {
			if f := float64(v); f <= 0 {
				out[i] = T(b * (a * math.Expm1(f)))
			} else {
				out[i] = T(b * f)
			}
		}
	case OpCelu:
		for i, v := range x {
			f := float64(v)
			if f <= 0 {
				out[i] = T(a * math.Expm1(f/a))
			} else {
				out[i] = v
			}
		}
	case OpThresholdedRelu: // NaN stays NaN, as torch's threshold and Relu
		for i, v := range x {
			if float64(v) <= a {
				out[i] = 0
			} else {
				out[i] = v
			}
		}
	}
}

// softplus is ln(1+e^x) without overflow: x + ln(1+e^−x) for x > 0.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// Unary2Cost is an op's cost per element relative to an add (for
// splitting work over threads).
func Unary2Cost(op Unary2Op) int {
	switch op {
	case OpReciprocal, OpFloor, OpCeil, OpRound, OpSign, OpHardSwish, OpHardSigmoid, OpThresholdedRelu, OpSoftsign:
		return 2
	}
	return 16
}
