package kernels

import "math"

// ReduceOp selects the reduction of Reduce.
type ReduceOp uint8

// Reductions.
const (
	OpReduceSum ReduceOp = iota
	OpReduceMean
	OpReduceMax
	OpReduceMin
	OpReduceL1
	OpReduceL2
)

// Reduce reduces x (shape) over the axes marked in reduced into out, whose
// elements follow x's order with the reduced axes removed. Sums accumulate in
// float64; max/min propagate NaN. acc is scratch of len(out) float64s.
func Reduce[T Float](op ReduceOp, out, x []T, shape []int64, reduced []bool, acc []float64) {
	ReduceStart(op, acc)
	ReduceRange(op, x, shape, reduced, acc, 0, len(x))
	ReduceFinish(op, out, shape, reduced, acc)
}

// ReduceStart sets the accumulators to op's identity.
func ReduceStart(op ReduceOp, acc []float64) {
	init := 0.0
	switch op {
	case OpReduceMax:
		init = math.Inf(-1)
	case OpReduceMin:
		init = math.Inf(1)
	}
	for i := range acc {
		acc[i] = init
	}
}

// ReduceRange accumulates elements [x0, x1) of x. Ranges may come in any
// order but one at a time (they share acc).
func ReduceRange[T Float](op ReduceOp, x []T, shape []int64, reduced []bool, acc []float64, x0, x1 int) {
	r := len(shape)
	// Output strides along x's axes: 0 on reduced axes.
	var ostrideA, idxA [maxRank]int
	ostride, idx := ostrideA[:r], idxA[:r]
	s := 1
	for d := r - 1; d >= 0; d-- {
		if !reduced[d] {
			ostride[d] = s
			s *= int(shape[d])
		}
	}
	// Start the odometer at x0.
	o := 0
	for d, q := r-1, x0; d >= 0; d-- {
		idx[d] = q % int(shape[d])
		q /= int(shape[d])
		o += idx[d] * ostride[d]
	}
	for _, xv := range x[x0:x1] {
		v := float64(xv)
		switch op {
		case OpReduceSum, OpReduceMean:
			acc[o] += v
		case OpReduceL1:
			acc[o] += math.Abs(v)
		case OpReduceL2:
			acc[o] += v * v
		case OpReduceMax:
			if v > acc[o] || v != v {
				acc[o] = v
			}
		case OpReduceMin:
			if v < acc[o] || v != v {
				acc[o] = v
			}
		}
		// Advance the odometer over x and the matching output offset.
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			o += ostride[d]
			if idx[d] < int(shape[d]) {
				break
			}
			o -= ostride[d] * int(shape[d])
			idx[d] = 0
		}
	}
}

// ReduceFinish writes the accumulators to out (means divided, L2 rooted).
func ReduceFinish[T Float](op ReduceOp, out []T, shape []int64, reduced []bool, acc []float64) {
	count := 1.0
	for d := range shape {
		if reduced[d] {
			count *= float64(shape[d])
		}
	}
	for i, a := range acc {
		switch op {
		case OpReduceMean:
			a /= count
		case OpReduceL2:
			a = math.Sqrt(a)
		}
		out[i] = T(a)
	}
}
