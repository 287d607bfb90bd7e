//go:build !purego

package vmath

import "golang.org/x/sys/cpu"

// best is the fastest implementation the CPU and OS support. The AVX-512
// kernels use AVX-512F, and AVX-512VL for the ymm halves (float32 loads,
// stores and divisions) when they land in registers 16-31.
func best() impl {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL:
		return implAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return implAVX2
	}
	return implGo
}

// block is what the assembly kernels take: a multiple of 16 elements
// (every kernel's loop iteration divides it; see the generator's block).
const block = 16

// The kernels are called directly (not through function values) so that
// their //go:noescape holds and callers' buffers can stay on the stack.

// asm64 runs kernel f on the leading whole vectors of src and returns how
// many elements it did.
func asm64(im impl, f fn, dst, src []float64) int {
	if im == implAVX512 {
		n := len(src) &^ (block - 1)
		if n == 0 {
			return 0
		}
		d, s := &dst[0], &src[0]
		switch f {
		case fExp:
			expF64AVX512(d, s, n)
		case fLog:
			logF64AVX512(d, s, n)
		case fTanh:
			tanhF64AVX512(d, s, n)
		case fErf:
			erfF64AVX512(d, s, n)
		case fSigmoid:
			sigmoidF64AVX512(d, s, n)
		case fGeluErf:
			geluErfF64AVX512(d, s, n)
		case fGeluTanh:
			geluTanhF64AVX512(d, s, n)
		}
		return n
	}
	n := len(src) &^ (block - 1)
	if n == 0 {
		return 0
	}
	d, s := &dst[0], &src[0]
	switch f {
	case fExp:
		expF64AVX2(d, s, n)
	case fLog:
		logF64AVX2(d, s, n)
	case fTanh:
		tanhF64AVX2(d, s, n)
	case fErf:
		erfF64AVX2(d, s, n)
	case fSigmoid:
		sigmoidF64AVX2(d, s, n)
	case fGeluErf:
		geluErfF64AVX2(d, s, n)
	case fGeluTanh:
		geluTanhF64AVX2(d, s, n)
	}
	return n
}

func asm32(im impl, f fn, dst, src []float32) int {
	if im == implAVX512 {
		n := len(src) &^ (block - 1)
		if n == 0 {
			return 0
		}
		d, s := &dst[0], &src[0]
		switch f {
		case fExp:
			expF32AVX512(d, s, n)
		case fLog:
			logF32AVX512(d, s, n)
		case fTanh:
			tanhF32AVX512(d, s, n)
		case fErf:
			erfF32AVX512(d, s, n)
		case fSigmoid:
			sigmoidF32AVX512(d, s, n)
		case fGeluErf:
			geluErfF32AVX512(d, s, n)
		case fGeluTanh:
			geluTanhF32AVX512(d, s, n)
		}
		return n
	}
	n := len(src) &^ (block - 1)
	if n == 0 {
		return 0
	}
	d, s := &dst[0], &src[0]
	switch f {
	case fExp:
		expF32AVX2(d, s, n)
	case fLog:
		logF32AVX2(d, s, n)
	case fTanh:
		tanhF32AVX2(d, s, n)
	case fErf:
		erfF32AVX2(d, s, n)
	case fSigmoid:
		sigmoidF32AVX2(d, s, n)
	case fGeluErf:
		geluErfF32AVX2(d, s, n)
	case fGeluTanh:
		geluTanhF32AVX2(d, s, n)
	}
	return n
}

// asmExpSub64 runs the exp-and-sum kernel on the leading whole blocks.
func asmExpSub64(im impl, dst, src []float64, c float64, acc *[8]float64) int {
	n := len(src) &^ (block - 1)
	if n == 0 {
		return 0
	}
	if im == implAVX512 {
		expSubF64AVX512(&dst[0], &src[0], n, c, acc)
	} else {
		expSubF64AVX2(&dst[0], &src[0], n, c, acc)
	}
	return n
}

func asmExpSub32(im impl, dst, src []float32, c float64, acc *[8]float64) int {
	n := len(src) &^ (block - 1)
	if n == 0 {
		return 0
	}
	if im == implAVX512 {
		expSubF32AVX512(&dst[0], &src[0], n, c, acc)
	} else {
		expSubF32AVX2(&dst[0], &src[0], n, c, acc)
	}
	return n
}

// asmRelu64 runs the ReLU kernel on the leading whole blocks.
func asmRelu64(im impl, dst, src []float64) int {
	n := len(src) &^ (block - 1)
	if n == 0 {
		return 0
	}
	if im == implAVX512 {
		reluF64AVX512(&dst[0], &src[0], n)
	} else {
		reluF64AVX2(&dst[0], &src[0], n)
	}
	return n
}

func asmRelu32(im impl, dst, src []float32) int {
	n := len(src) &^ (block - 1)
	if n == 0 {
		return 0
	}
	if im == implAVX512 {
		reluF32AVX512(&dst[0], &src[0], n)
	} else {
		reluF32AVX2(&dst[0], &src[0], n)
	}
	return n
}

// The normalization kernels: whole blocks of sumLanes (sums) or block
// (affine) elements in assembly; they return how many they did.

func asmSum64(im impl, x []float64, acc *[sumLanes]float64) int {
	n := len(x) &^ (sumLanes - 1)
	switch {
	case n == 0:
	case im == implAVX512:
		sumF64AVX512(&x[0], n, acc)
	default:
		sumF64AVX2(&x[0], n, acc)
	}
	return n
}

func asmSum32(im impl, x []float32, acc *[sumLanes]float64) int {
	n := len(x) &^ (sumLanes - 1)
	switch {
	case n == 0:
	case im == implAVX512:
		sumF32AVX512(&x[0], n, acc)
	default:
		sumF32AVX2(&x[0], n, acc)
	}
	return n
}

func asmSumSqDev64(im impl, x []float64, c float64, acc *[sumLanes]float64) int {
	n := len(x) &^ (sumLanes - 1)
	switch {
	case n == 0:
	case im == implAVX512:
		sumSqDevF64AVX512(&x[0], n, c, acc)
	default:
		sumSqDevF64AVX2(&x[0], n, c, acc)
	}
	return n
}

func asmSumSqDev32(im impl, x []float32, c float64, acc *[sumLanes]float64) int {
	n := len(x) &^ (sumLanes - 1)
	switch {
	case n == 0:
	case im == implAVX512:
		sumSqDevF32AVX512(&x[0], n, c, acc)
	default:
		sumSqDevF32AVX2(&x[0], n, c, acc)
	}
	return n
}

func asmAffine64(im impl, y, x, scale, bias []float64, mu, inv float64) int {
	n := len(x) &^ (block - 1)
	switch {
	case n == 0:
	case bias == nil && im == implAVX512:
		affineF64AVX512(&y[0], &x[0], &scale[0], n, mu, inv)
	case bias == nil:
		affineF64AVX2(&y[0], &x[0], &scale[0], n, mu, inv)
	case im == implAVX512:
		affineBiasF64AVX512(&y[0], &x[0], &scale[0], &bias[0], n, mu, inv)
	default:
		affineBiasF64AVX2(&y[0], &x[0], &scale[0], &bias[0], n, mu, inv)
	}
	return n
}

func asmAffine32(im impl, y, x, scale, bias []float32, mu, inv float64) int {
	n := len(x) &^ (block - 1)
	switch {
	case n == 0:
	case bias == nil && im == implAVX512:
		affineF32AVX512(&y[0], &x[0], &scale[0], n, mu, inv)
	case bias == nil:
		affineF32AVX2(&y[0], &x[0], &scale[0], n, mu, inv)
	case im == implAVX512:
		affineBiasF32AVX512(&y[0], &x[0], &scale[0], &bias[0], n, mu, inv)
	default:
		affineBiasF32AVX2(&y[0], &x[0], &scale[0], &bias[0], n, mu, inv)
	}
	return n
}
