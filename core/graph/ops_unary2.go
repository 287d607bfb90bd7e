package graph

// More float elementwise ops (ONNX semantics and attribute defaults): the
// activations of convolutional networks (HardSwish, Swish, Mish, ...),
// rounding, trigonometry, Pow and PRelu.

import (
	"github.com/mle-runtime/mle/core/errs"
)

// Unary2Ops lists the float unary ops of this file, for the engine.
var Unary2Ops = []string{"Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
	"Softplus", "Softsign", "Mish", "HardSwish", "HardSigmoid", "Swish", "Elu", "Selu", "Celu", "ThresholdedRelu"}

func init() {
	attrs := map[string][]AttrSpec{
		"HardSigmoid":     {floatAttr("alpha", 0.2), floatAttr("beta", 0.5)},
		"Swish":           {floatAttr("alpha", 1)},
		"Elu":             {floatAttr("alpha", 1)},
		"Celu":            {floatAttr("alpha", 1)},
		"ThresholdedRelu": {floatAttr("alpha", 1)},
		// ONNX's defaults are these constants rounded to float32.
		"Selu": {floatAttr("alpha", 1.67326319217681884765625), floatAttr("gamma", 1.05070102214813232421875)},
	}
	for _, op := range Unary2Ops {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes, Attrs: attrs[op], infer: inferUnary2})
	}
	register(&OpSchema{Name: "Pow", MinInputs: 2, MaxInputs: 2, Types: floatTypes, infer: inferPow})
	register(&OpSchema{Name: "PRelu", MinInputs: 2, MaxInputs: 2, Types: floatTypes, infer: inferPRelu})
}

func inferUnary2(x *inferCtx) error {
	if x.n.Op == "Celu" && x.attr("alpha").Float == 0 {
		return x.errf(errs.GraphAttribute, "Celu alpha is 0; it divides")
	}
	return inferUnaryFloat(x)
}

func inferPow(x *inferCtx) error {
	a, b := x.in[0], x.in[1]
	if !oneOf(a.DType, floatTypes) {
		return x.errf(errs.GraphDType, "Pow base %q is %s; Pow takes %v", a.Name, a.DType, floatTypes)
	}
	if !oneOf(b.DType, numericTypes) {
		return x.errf(errs.GraphDType, "Pow exponent %q is %s; it must be one of %v", b.Name, b.DType, numericTypes)
	}
	s, ok := Broadcast(a.Shape, b.Shape)
	if !ok {
		return x.errf(errs.GraphShape, "Pow shapes %v and %v do not broadcast", a.Shape, b.Shape)
	}
	x.out[0] = ValueInfo{DType: a.DType, Shape: s}
	return nil
}

func inferPRelu(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	if !unidirectional(x.in[1].Shape, x.in[0].Shape) {
		return x.errf(errs.GraphShape, "PRelu slope %q has shape %v, which does not broadcast to X's %v", x.in[1].Name, x.in[1].Shape, x.in[0].Shape)
	}
	x.out[0] = ValueInfo{DType: t, Shape: x.in[0].Shape}
	return nil
}
