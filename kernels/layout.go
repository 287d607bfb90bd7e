package kernels

import (
	"sort"
	"unsafe"
)

// maxRank bounds the rank of tensors the layout kernels handle (MLE's limit).
const maxRank = 8

// Transpose permutes the axes of src (shape inShape, elemSize-byte
// elements) into dst: dst axis i is src axis perm[i].
func Transpose(dst, src []byte, elemSize int, inShape []int64, perm []int) {
	TransposeRows(dst, src, elemSize, inShape, perm, 0, TransposeRowCount(inShape, perm))
}

// TransposeRowCount returns how many rows (all destination axes but the
// last) a transpose walks; TransposeRows computes a range of them.
func TransposeRowCount(inShape []int64, perm []int) int {
	rows := 1
	for _, p := range perm[:max(len(perm)-1, 0)] {
		rows *= int(inShape[p])
	}
	return rows
}

// SimplifyTranspose returns an input shape and permutation that move the
// same elements to the same places with fewer axes: axes of size 1 are
// dropped, and axes that stay next to each other, in order, are merged
// (moving a size-1 axis becomes a plain copy; [B,S,H,D] to [B,H,S,D] keeps
// D rows whole). Rows for TransposeRowCount and TransposeRows are then
// counted over the result.
func SimplifyTranspose(inShape []int64, perm []int) ([]int64, []int) {
	// Source axes renumbered without the size-1 ones, then listed in
	// destination order.
	compact := make([]int, len(inShape))
	var sizes []int64
	for a, d := range inShape {
		compact[a] = len(sizes)
		if d != 1 {
			sizes = append(sizes, d)
		}
	}
	keep := make([]int, 0, len(perm))
	for _, p := range perm {
		if inShape[p] != 1 {
			keep = append(keep, compact[p])
		}
	}
	if len(keep) == 0 {
		return []int64{1}, []int{0}
	}
	inShape = sizes
	// Runs of source axes p, p+1, ... adjacent in the destination merge.
	var runs [][2]int // [first source axis, last source axis]
	for _, p := range keep {
		if n := len(runs); n > 0 && runs[n-1][1]+1 == p {
			runs[n-1][1] = p
			continue
		}
		runs = append(runs, [2]int{p, p})
	}
	// Source order of the runs gives the new input shape; their destination
	// order the new permutation.
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return runs[order[a]][0] < runs[order[b]][0] })
	shape := make([]int64, len(runs))
	pos := make([]int, len(runs)) // run -> its new source axis
	for newAxis, ri := range order {
		size := int64(1)
		for a := runs[ri][0]; a <= runs[ri][1]; a++ {
			size *= inShape[a]
		}
		shape[newAxis], pos[ri] = size, newAxis
	}
	np := make([]int, len(runs))
	for i := range runs {
		np[i] = pos[i]
	}
	return shape, np
}

// TransposeRows is Transpose for destination rows [r0, r1).
func TransposeRows(dst, src []byte, elemSize int, inShape []int64, perm []int, r0, r1 int) {
	r := len(perm)
	if r == 0 {
		copy(dst, src[:elemSize])
		return
	}
	// Source strides (in elements) walked in destination order.
	if r > maxRank {
		panic("kernels: Transpose rank")
	}
	var inStrideA, dimsA, stridesA [maxRank]int
	inStride, dims, strides := inStrideA[:r], dimsA[:r], stridesA[:r]
	s := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= int(inShape[i])
	}
	for i, p := range perm {
		dims[i] = int(inShape[p])
		strides[i] = inStride[p]
		if dims[i] == 0 {
			return
		}
	}
	switch elemSize {
	case 1:
		transposeT(dst, src, dims, strides, r0, r1)
	case 2:
		transposeT(view[uint16](dst), view[uint16](src), dims, strides, r0, r1)
	case 4:
		transposeT(view[uint32](dst), view[uint32](src), dims, strides, r0, r1)
	case 8:
		transposeT(view[uint64](dst), view[uint64](src), dims, strides, r0, r1)
	default:
		panic("kernels: Transpose element size")
	}
}

// view reinterprets b as a slice of T. b must be aligned for T.
func view[T any](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func transposeT[T any](dst, src []T, dims, strides []int, r0, r1 int) {
	r := len(dims)
	var idxA [maxRank]int
	idx := idxA[:r]
	inner, innerStride := dims[r-1], strides[r-1]
	// Start the odometer over all but the innermost axis at row r0.
	off := 0
	for k, q := r-2, r0; k >= 0; k-- {
		idx[k] = q % dims[k]
		q /= dims[k]
		off += idx[k] * strides[k]
	}
	for o := r0 * inner; o < r1*inner; o += inner {
		row := dst[o : o+inner]
		if innerStride == 1 {
			copy(row, src[off:off+inner])
		} else {
			for i := range row {
				row[i] = src[off+i*innerStride]
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			off += strides[k]
			if idx[k] < dims[k] {
				break
			}
			off -= strides[k] * dims[k]
			idx[k] = 0
		}
	}
}

// ConcatCopy copies one input's block into the output of a Concat, for
// outer rows [o0, o1): the input is [outer, inBlock] bytes, the output
// [outer, outBlock] bytes, and this input lands at byte offset at within
// each output block.
func ConcatCopy(dst, src []byte, inBlock, outBlock, at, o0, o1 int) {
	if inBlock == 0 {
		return
	}
	for o := o0; o < o1; o++ {
		copy(dst[o*outBlock+at:o*outBlock+at+inBlock], src[o*inBlock:o*inBlock+inBlock])
	}
}
