package engine

// Interp (schema in core/graph/ops_interp.go): numpy.interp, reproduced
// rule by rule so that float64 results are bit-identical to numpy's for
// non-decreasing xp. For x in row r of the tables (M points xp, fp):
//
//   - M == 1: x < xp[0] gives left, x > xp[0] right, anything else
//     (x == xp[0], and NaN) fp[0].
//   - otherwise NaN gives NaN; x > xp[M-1] gives right, x < xp[0] left;
//     else j is the last index with xp[j] <= x. j == M-1 or xp[j] == x
//     gives fp[j]. Otherwise, with slope = (fp[j+1]-fp[j]) /
//     (xp[j+1]-xp[j]), y = slope*(x-xp[j]) + fp[j]; if that is NaN,
//     y = slope*(x-xp[j+1]) + fp[j+1]; if that is NaN too and fp[j] ==
//     fp[j+1], y = fp[j]. Every product and sum is rounded on its own (no
//     fused multiply-add).
//
// left and right default to fp[0] and fp[M-1]. The tables must be
// constants; they are validated and the slopes computed once per Model.

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "Interp", Backend: CPUBackend, DTypes: floatTypes, Compile: compileInterp})
}

// interpTables holds the tables in float64: row r's points are
// xp[r*m:(r+1)*m], its slopes slope[r*m : r*m+m-1].
type interpTables struct {
	rows, m       int
	xp, fp, slope []float64
	left, right   []float64 // one per row
}

// constFloats widens constant input i (f32 or f64) to float64: nil for an
// absent input, ok false for one that is not a constant.
func constFloats(c *CompileCtx, i int) ([]float64, bool) {
	if i >= len(c.In) || c.In[i] == nil {
		return nil, true
	}
	b := c.Const(i)
	if b == nil && numel(c.In[i].Shape) != 0 {
		return nil, false
	}
	n := numel(c.In[i].Shape)
	out := make([]float64, n)
	if c.In[i].DType == dtype.Float32 {
		for k, v := range f32s(b)[:n] {
			out[k] = float64(v)
		}
	} else {
		copy(out, f64s(b)[:n])
	}
	return out, true
}

func compileInterp(c *CompileCtx) (Compiled, error) {
	var in [5][]float64
	for i := 1; i < 5; i++ {
		v, ok := constFloats(c, i)
		if !ok {
			return nil, errs.New(errs.UnsupportedFeature, "Interp input %d (%q) must be a constant", i, c.In[i].Name)
		}
		in[i] = v
	}
	shape := c.In[1].Shape
	t := &interpTables{rows: 1, m: int(shape[len(shape)-1]), xp: in[1], fp: in[2]}
	if len(shape) == 2 {
		t.rows = int(shape[0])
	}
	m := t.m
	t.slope = make([]float64, len(t.xp))
	for r := 0; r < t.rows; r++ {
		xp, fp := t.xp[r*m:(r+1)*m], t.fp[r*m:(r+1)*m]
		for j := 0; j < m; j++ {
			if math.IsNaN(xp[j]) || (j > 0 && xp[j] < xp[j-1]) {
				return nil, errs.New(errs.GraphAttribute, "Interp xp %q row %d is not non-decreasing at point %d (%v)", c.In[1].Name, r, j, xp[j])
			}
			if j+1 < m {
				t.slope[r*m+j] = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])
			}
		}
	}
	var err error
	if t.left, err = interpBound(c, in[3], t, 0, "left"); err != nil {
		return nil, err
	}
	if t.right, err = interpBound(c, in[4], t, m-1, "right"); err != nil {
		return nil, err
	}
	return BindFunc(func(b *BindCtx) (Executor, error) {
		n := numel(b.In[0].Shape)
		if len(shape) == 2 && n > 0 && int(b.In[0].Shape[len(b.In[0].Shape)-1]) != t.rows {
			return nil, errs.New(errs.Shape, "Interp X's last dimension is %d; the tables have %d rows", b.In[0].Shape[len(b.In[0].Shape)-1], t.rows)
		}
		cost := 1 + bitsLen(m)
		return &interpExec{t: t, f32: b.In[0].DType == dtype.Float32, rc: elemChunks(n, cost, b.Threads)}, nil
	}), nil
}

// interpBound is left or right per row: the given values (one, or one per
// row) or fp[at] of each row.
func interpBound(c *CompileCtx, v []float64, t *interpTables, at int, what string) ([]float64, error) {
	out := make([]float64, t.rows)
	switch {
	case v == nil:
		for r := range out {
			out[r] = t.fp[r*t.m+at]
		}
	case len(v) == 1:
		for r := range out {
			out[r] = v[0]
		}
	case len(v) == t.rows:
		copy(out, v)
	default:
		return nil, errs.New(errs.GraphShape, "Interp %s has %d values; want 1 or %d", what, len(v), t.rows)
	}
	return out, nil
}

func bitsLen(m int) int {
	n := 0
	for m > 0 {
		n++
		m >>= 1
	}
	return n
}

// at is numpy's interp of x in row r.
func (t *interpTables) at(r int, x float64) float64 {
	m := t.m
	xp, fp := t.xp[r*m:(r+1)*m], t.fp[r*m:(r+1)*m]
	if m == 1 {
		switch {
		case x < xp[0]:
			return t.left[r]
		case x > xp[0]:
			return t.right[r]
		}
		return fp[0]
	}
	switch {
	case x != x:
		return x
	case x > xp[m-1]:
		return t.right[r]
	case x < xp[0]:
		return t.left[r]
	}
	lo, hi := 0, m // the first index with xp[i] > x lies in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x >= xp[mid] {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	j := lo - 1
	if j == m-1 || xp[j] == x {
		return fp[j]
	}
	s := t.slope[r*m+j]
	y := float64(s*(x-xp[j])) + fp[j] // float64(): no fused multiply-add
	if y != y {
		y = float64(s*(x-xp[j+1])) + fp[j+1]
		if y != y && fp[j] == fp[j+1] {
			y = fp[j]
		}
	}
	return y
}

type interpExec struct {
	t    *interpTables
	f32  bool
	rc   rowChunks
	x, y []byte
}

func (e *interpExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.y = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.x, e.y = nil, nil
}

func (e *interpExec) RunChunk(c int, _ *kernels.Worker) {
	i0, i1 := e.rc.bounds(c)
	t, rows := e.t, e.t.rows
	r := 0
	if rows > 1 {
		r = i0 % rows
	}
	if e.f32 {
		xs, ys := f32s(e.x), f32s(e.y)
		for i := i0; i < i1; i++ {
			ys[i] = float32(t.at(r, float64(xs[i])))
			if r++; r == rows {
				r = 0
			}
		}
		return
	}
	xs, ys := f64s(e.x), f64s(e.y)
	for i := i0; i < i1; i++ {
		ys[i] = t.at(r, xs[i])
		if r++; r == rows {
			r = 0
		}
	}
}
