package graph

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Interp(X, xp, fp, left?, right?) -> Y: numpy.interp, element by element.
//
//   - X: f32 or f64, any shape. Y has X's shape and dtype; every value is
//     computed in float64 (float32 X widened exactly) and rounded once.
//   - xp, fp: the tables, f32 or f64 (widened exactly), equal shapes: [M]
//     (one table for every element of X) or [F, M] (row f for the
//     elements X[..., f]; X's last dimension is F). M >= 1; each row of xp
//     is non-decreasing and holds no NaN.
//   - left, right: the values below xp[0] and above xp[M-1], f32 or f64,
//     one value or one per table row ([F]); absent means fp[0] and
//     fp[M-1] of the row. They may be NaN.
//
// xp, fp, left and right must be constants (the kernel validates and
// prepares them once). The per-element rule is numpy's (see
// core/engine/ops_interp.go).
func init() {
	register(&OpSchema{Name: "Interp", MinInputs: 3, MaxInputs: 5, Types: floatTypes, Stored: []int{1, 2, 3, 4}, infer: inferInterp})
}

func inferInterp(x *inferCtx) error {
	xin := x.in[0]
	if !oneOf(xin.DType, floatTypes) {
		return x.errf(errs.GraphDType, "Interp X %q is %s; it must be float32 or float64", xin.Name, xin.DType)
	}
	for i := 1; i < len(x.in); i++ {
		if in := x.in[i]; in != nil && !oneOf(in.DType, floatTypes) {
			return x.errf(errs.GraphDType, "Interp input %d (%q) is %s; it must be float32 or float64", i, in.Name, in.DType)
		}
	}
	xp, fp := x.in[1], x.in[2]
	if xp == nil || fp == nil {
		return x.errf(errs.GraphShape, "Interp needs xp and fp")
	}
	r := len(xp.Shape)
	if r < 1 || r > 2 || len(fp.Shape) != r {
		return x.errf(errs.GraphShape, "Interp xp %q %v and fp %q %v must both be [M] or both [F, M]", xp.Name, xp.Shape, fp.Name, fp.Shape)
	}
	for d := 0; d < r; d++ {
		if _, ok := mergeDim(xp.Shape[d], fp.Shape[d]); !ok {
			return x.errf(errs.GraphShape, "Interp xp %q %v and fp %q %v differ in shape", xp.Name, xp.Shape, fp.Name, fp.Shape)
		}
	}
	if m := xp.Shape[r-1]; m == 0 || fp.Shape[r-1] == 0 {
		return x.errf(errs.GraphShape, "Interp tables %q are empty; they need at least one point", xp.Name)
	}
	rows := int64(1)
	if r == 2 {
		if len(xin.Shape) == 0 {
			return x.errf(errs.GraphShape, "Interp X %q is a scalar but the tables have one row per column", xin.Name)
		}
		f, ok := mergeDim(xin.Shape[len(xin.Shape)-1], xp.Shape[0])
		if ok {
			f, ok = mergeDim(f, fp.Shape[0])
		}
		if !ok {
			return x.errf(errs.GraphShape, "Interp X %q %v: its last dimension must equal the tables' rows (xp %v)", xin.Name, xin.Shape, xp.Shape)
		}
		rows = f
	}
	for i := 3; i < len(x.in); i++ {
		b := x.in[i]
		if b == nil {
			continue
		}
		n, known := dtype.NumElements(b.Shape)
		if len(b.Shape) > 1 || (known && n != 1 && (rows == Dynamic || n != rows)) {
			return x.errf(errs.GraphShape, "Interp %s %q has shape %v; it must hold one value or one per table row", map[int]string{3: "left", 4: "right"}[i], b.Name, b.Shape)
		}
	}
	x.out[0] = ValueInfo{DType: xin.DType, Shape: xin.Shape}
	return nil
}
