package kernels

import (
	"math"
	"slices"
)

// walkMaxRank bounds a Walk's rank: Tile reads its input as twice its rank.
const walkMaxRank = 2 * maxRank

// Walk is a strided read of a source laid out in a destination's shape:
// destination element idx (row-major over Dims) is source element
// Base + Σ idx[k]·Strides[k]. Strides may be 0 (broadcast) or negative
// (Slice with negative steps). Slice, Expand and Tile are each one Walk.
type Walk struct {
	Dims    []int
	Strides []int
	Base    int
}

// Set fills w for a destination of shape dims (strides in source elements),
// reusing w's memory: size-1 axes are dropped and axes that can be walked as
// one are merged, so the inner loop is as long as possible.
func (w *Walk) Set(dims []int64, strides []int, base int) {
	w.Dims, w.Strides, w.Base = w.Dims[:0], w.Strides[:0], base
	for i, d := range dims {
		if d == 1 {
			continue
		}
		if k := len(w.Dims) - 1; k >= 0 && w.Strides[k] == strides[i]*int(d) {
			w.Dims[k] *= int(d)
			w.Strides[k] = strides[i]
			continue
		}
		w.Dims = append(w.Dims, int(d))
		w.Strides = append(w.Strides, strides[i])
	}
	if len(w.Dims) == 0 {
		w.Dims, w.Strides = append(w.Dims, 1), append(w.Strides, 0)
	}
}

// Rows returns the walk's row count (all axes but the last) and row length.
func (w *Walk) Rows() (rows, inner int) {
	rows = 1
	for _, d := range w.Dims[:len(w.Dims)-1] {
		rows *= d
	}
	return rows, w.Dims[len(w.Dims)-1]
}

// WalkCopy copies rows [r0, r1) of the walk w from src to dst (es-byte
// elements; dst is contiguous in the walk's shape).
func WalkCopy(w *Walk, dst, src []byte, es, r0, r1 int) {
	switch es {
	case 1:
		walkCopy(w, dst, src, r0, r1)
	case 2:
		walkCopy(w, view[uint16](dst), view[uint16](src), r0, r1)
	case 4:
		walkCopy(w, view[uint32](dst), view[uint32](src), r0, r1)
	case 8:
		walkCopy(w, view[uint64](dst), view[uint64](src), r0, r1)
	case 16:
		walkCopy(w, view[[2]uint64](dst), view[[2]uint64](src), r0, r1)
	default:
		panic("kernels: WalkCopy element size")
	}
}

func walkCopy[T any](w *Walk, dst, src []T, r0, r1 int) {
	r := len(w.Dims)
	var idxA [walkMaxRank]int
	idx := idxA[:r]
	_, inner := w.Rows()
	is := w.Strides[r-1]
	off := w.Base
	for k, q := r-2, r0; k >= 0; k-- {
		idx[k] = q % w.Dims[k]
		q /= w.Dims[k]
		off += idx[k] * w.Strides[k]
	}
	for row := r0; row < r1; row++ {
		o := dst[row*inner : row*inner+inner]
		switch is {
		case 1:
			copy(o, src[off:off+inner])
		case 0:
			v := src[off]
			for i := range o {
				o[i] = v
			}
		default:
			for i := range o {
				o[i] = src[off+i*is]
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			off += w.Strides[k]
			if idx[k] < w.Dims[k] {
				break
			}
			off -= w.Strides[k] * w.Dims[k]
			idx[k] = 0
		}
	}
}

// BinaryFunc computes out = f(a, b) under the broadcast walk s (built with
// NewStrided) for its rows [r0, r1): the elementwise ops without a fast
// path of their own (comparisons, logic, Pow, Mod, PRelu, Min/Max).
func BinaryFunc[A, B, U any](s *Strided, out []U, a []A, b []B, r0, r1 int, f func(A, B) U) {
	_, inner := s.Rows()
	ia, ib := s.StrideA[len(s.Dims)-1], s.StrideB[len(s.Dims)-1]
	for r := r0; r < r1; r++ {
		oa, ob := s.offsets(r)
		o := out[r*inner : r*inner+inner]
		if ia == 1 && ib == 1 {
			as, bs := a[oa:oa+inner], b[ob:ob+inner]
			for i := range o {
				o[i] = f(as[i], bs[i])
			}
			continue
		}
		for i := range o {
			o[i] = f(a[oa+i*ia], b[ob+i*ib])
		}
	}
}

// runningSum writes one line's running sums, accumulated in A.
func runningSum[A int64 | float64, T Number](out, x []T, base, step, n int, exclusive bool) {
	var acc A
	for k, at := 0, base; k < n; k, at = k+1, at+step {
		v := A(x[at])
		if exclusive {
			out[at] = T(acc)
			acc += v
		} else {
			acc += v
			out[at] = T(acc)
		}
	}
}

// CumSum writes the running sums of x along the middle axis of
// [outer, n, inner] for positions [p0, p1) of the outer×inner lines.
// Floats accumulate in float64 (as torch does on the CPU) and are rounded
// per output; integers in int64, wrapping as the type does.
func CumSum[T Number](out, x []T, n, inner int, exclusive, reverse bool, p0, p1 int) {
	for p := p0; p < p1; p++ {
		o, in := p/inner, p%inner
		base, step := o*n*inner+in, inner
		if reverse {
			base, step = base+(n-1)*inner, -inner
		}
		if isInteger[T]() {
			runningSum[int64](out, x, base, step, n, exclusive)
		} else {
			runningSum[float64](out, x, base, step, n, exclusive)
		}
	}
}

// TopK writes the k largest (or smallest) elements of each line of x
// along the middle axis of [outer, n, inner], in order, and their indices,
// for lines [p0, p1); idx may be nil. NaN is larger than every number (torch's order);
// equal values come lower index first (ONNX). order is scratch of n ints.
func TopK[T Number](vals []T, idx []int64, x []T, n, inner, k int, largest bool, order []int, p0, p1 int) {
	order = order[:n]
	for p := p0; p < p1; p++ {
		o, in := p/inner, p%inner
		base := o*n*inner + in
		for i := range order {
			order[i] = i
		}
		at := func(i int) T { return x[base+i*inner] }
		slices.SortFunc(order, func(i, j int) int {
			a, b := at(i), at(j)
			an, bn := a != a, b != b
			var c int
			switch {
			case an && bn, a == b:
				c = 0
			case an || (!bn && a > b):
				c = 1 // a is the larger
			default:
				c = -1
			}
			if largest {
				c = -c
			}
			if c == 0 {
				return i - j
			}
			return c
		})
		ob := o*k*inner + in
		for r, i := range order[:k] {
			vals[ob+r*inner] = at(i)
			if idx != nil {
				idx[ob+r*inner] = int64(i)
			}
		}
	}
}

// RangeFill writes start + i·delta for i in [lo, hi): integers exactly
// (wrapping), floats computed in float64 and rounded once.
func RangeFill[T Number](out []T, start, delta T, lo, hi int) {
	if isInteger[T]() {
		s, d := int64(start), int64(delta)
		for i := lo; i < hi; i++ {
			out[i] = T(s + int64(i)*d)
		}
		return
	}
	s, d := float64(start), float64(delta)
	for i := lo; i < hi; i++ {
		out[i] = T(s + float64(i)*d)
	}
}

// Trilu keeps the upper (j − i ≥ k) or lower (j − i ≤ k) triangle of each
// [rows, cols] matrix of src, es-byte elements, zeroing the rest, for
// matrix rows [r0, r1) counted over all matrices. dst may be src.
func Trilu(dst, src []byte, es, rows, cols int, k int64, upper bool, r0, r1 int) {
	rowBytes := cols * es
	for r := r0; r < r1; r++ {
		i := int64(r % rows)
		// Keep columns [c0, c1) of this row.
		var c0, c1 int64
		if upper {
			c0, c1 = max(0, min(int64(cols), satAdd(i, k))), int64(cols)
		} else {
			c0, c1 = 0, max(0, min(int64(cols), satAdd(satAdd(i, k), 1)))
		}
		d, s := dst[r*rowBytes:(r+1)*rowBytes], src[r*rowBytes:(r+1)*rowBytes]
		clear(d[:c0*int64(es)])
		copy(d[c0*int64(es):c1*int64(es)], s[c0*int64(es):c1*int64(es)])
		clear(d[c1*int64(es):])
	}
}

// satAdd adds, saturating at the int64 bounds (k is any int64).
func satAdd(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}
