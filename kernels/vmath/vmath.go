package vmath

import "os"

// fn names a kernel.
type fn uint8

const (
	fExp fn = iota
	fLog
	fTanh
	fErf
	fSigmoid
	fGeluErf
	fGeluTanh
	numFns
)

// The pure-Go kernels by fn: the definition of every result.
var (
	goF64 = [numFns]func(float64) float64{exp64, log64, tanh64, erf64, sigmoid64, geluErf64, geluTanh64}
	goF32 = [numFns]func(float32) float32{exp32, log32, tanh32, erf32, sigmoid32, geluErf32, geluTanh32}
)

// impl is a set of kernels: pure Go, or an instruction set's.
type impl int

const (
	implGo impl = iota
	implAVX2
	implAVX512
)

var implNames = [...]string{"go", "avx2", "avx512"}

// active is the implementation in use, chosen once at start-up.
var active = choose(os.Getenv("MLE_VMATH"), best())

// choose returns the implementation named by want ("go", "avx2",
// "avx512"), or the next slower one the CPU has, or best when want is empty
// or unknown.
func choose(want string, best impl) impl {
	for i, n := range implNames {
		if n == want {
			return min(impl(i), best)
		}
	}
	return best
}

// Impl reports the kernels in use: "avx512", "avx2" or "go". The fastest
// the CPU supports is chosen at start-up; the environment variable
// MLE_VMATH=go|avx2|avx512 asks for a slower one (for tests and benchmarks;
// one the CPU lacks falls back to the next that it has). All give the same
// bits.
func Impl() string { return implNames[active] }

// apply64 runs kernel f over src into dst with implementation im: whole
// blocks of 16 in assembly, the remainder (fewer than 16) in Go, which
// gives the same bits.
func apply64(im impl, f fn, dst, src []float64) {
	dst = dst[:len(src)]
	n := 0
	if im != implGo {
		n = asm64(im, f, dst, src)
	}
	g := goF64[f]
	for i := n; i < len(src); i++ {
		dst[i] = g(src[i])
	}
}

func apply32(im impl, f fn, dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if im != implGo {
		n = asm32(im, f, dst, src)
	}
	g := goF32[f]
	for i := n; i < len(src); i++ {
		dst[i] = g(src[i])
	}
}

// Exp64 sets dst[i] = e^src[i] for i < len(src). dst must be at least as
// long as src; it may be src itself, but must not overlap it otherwise.
func Exp64(dst, src []float64) { apply64(active, fExp, dst, src) }

// Exp32 is Exp64 for float32.
func Exp32(dst, src []float32) { apply32(active, fExp, dst, src) }

// Log64 sets dst[i] = ln src[i] (−Inf at ±0, NaN below 0). Slices as for
// Exp64.
func Log64(dst, src []float64) { apply64(active, fLog, dst, src) }

// Log32 is Log64 for float32.
func Log32(dst, src []float32) { apply32(active, fLog, dst, src) }

// Tanh64 sets dst[i] = tanh src[i]. Slices as for Exp64.
func Tanh64(dst, src []float64) { apply64(active, fTanh, dst, src) }

// Tanh32 is Tanh64 for float32, computed in float32 arithmetic (within
// 1.51 ulp).
func Tanh32(dst, src []float32) { apply32(active, fTanh, dst, src) }

// Erf64 sets dst[i] = erf src[i]. Slices as for Exp64.
func Erf64(dst, src []float64) { apply64(active, fErf, dst, src) }

// Erf32 is Erf64 for float32.
func Erf32(dst, src []float32) { apply32(active, fErf, dst, src) }

// Sigmoid64 sets dst[i] = 1/(1+e^−src[i]), rounded as that formula is
// (e^−x, 1 + e and the quotient each rounded once, like scipy's expit;
// below x = −708 it is e^x, underflowing gradually). Slices as for Exp64.
func Sigmoid64(dst, src []float64) { apply64(active, fSigmoid, dst, src) }

// Sigmoid32 is Sigmoid64 for float32, computed in float32 arithmetic as
// e/(1+e) or 1/(1+e) with e = e^−|x| (within 2.4 ulp).
func Sigmoid32(dst, src []float32) { apply32(active, fSigmoid, dst, src) }

// GeluErf64 sets dst[i] = x/2·(1+erf(x/√2)), x = src[i] (exact GELU).
// For x < 0 the sum 1+erf cancels: the error is about 2^−54·|x| absolute
// rather than relative. GeluErf(−Inf) is NaN, as the formula gives. Slices
// as for Exp64.
func GeluErf64(dst, src []float64) { apply64(active, fGeluErf, dst, src) }

// GeluErf32 is GeluErf64 for float32, computed in float32 arithmetic
// (each operation rounded; within 1.93 ulp for x >= 0, see the
// package doc for x < 0): twice the lanes of the float64 kernels.
func GeluErf32(dst, src []float32) { apply32(active, fGeluErf, dst, src) }

// GeluTanh64 sets dst[i] = x/2·(1+tanh(√(2/π)·(x+0.044715·x³))), x =
// src[i] (tanh-approximated GELU), evaluated as x·sigmoid(2·√(2/π)·(…)),
// which is the same function without cancellation for x < 0. −Inf gives
// NaN, as the formula does. Slices as for Exp64.
func GeluTanh64(dst, src []float64) { apply64(active, fGeluTanh, dst, src) }

// GeluTanh32 is GeluTanh64 for float32.
func GeluTanh32(dst, src []float32) { apply32(active, fGeluTanh, dst, src) }

// ExpSub64 sets dst[i] = e^(src[i]−c) and returns Σ dst[i], summed as 8
// partial sums (element i into sum i%8) added in order 0..7: the same bits
// on every machine. It is softmax's exp-and-sum pass. Slices as for Exp64.
func ExpSub64(dst, src []float64, c float64) float64 {
	return expSub64(active, dst, src, c)
}

// ExpSub32 sets dst[i] = e^(src[i]−c) rounded to float32, with the
// difference taken in float64 (exactly), and returns the float64 sum of the
// values before rounding, in ExpSub64's order.
func ExpSub32(dst, src []float32, c float32) float64 {
	return expSub32(active, dst, src, c)
}

func expSub64(im impl, dst, src []float64, c float64) float64 {
	dst = dst[:len(src)]
	var acc [8]float64
	n := 0
	if im != implGo {
		n = asmExpSub64(im, dst, src, c, &acc)
	}
	for i := n; i < len(src); i++ {
		e := exp64(src[i] - c)
		dst[i] = e
		acc[i&7] += e
	}
	return sum8(&acc)
}

func expSub32(im impl, dst, src []float32, c float32) float64 {
	dst = dst[:len(src)]
	var acc [8]float64
	n := 0
	c64 := float64(c)
	if im != implGo {
		n = asmExpSub32(im, dst, src, c64, &acc)
	}
	for i := n; i < len(src); i++ {
		e := expF32(float64(src[i]) - c64)
		dst[i] = float32(e)
		acc[i&7] += e
	}
	return sum8(&acc)
}

func sum8(acc *[8]float64) float64 {
	s := acc[0]
	for _, v := range acc[1:] {
		s += v
	}
	return s
}

// Relu64 sets dst[i] = max(src[i], 0) as Go's max defines it: a NaN stays
// NaN, −0 becomes +0; exact. Slices as for Exp64.
func Relu64(dst, src []float64) { relu64(active, dst, src) }

// Relu32 is Relu64 for float32.
func Relu32(dst, src []float32) { relu32(active, dst, src) }

func relu64(im impl, dst, src []float64) {
	dst = dst[:len(src)]
	n := 0
	if im != implGo {
		n = asmRelu64(im, dst, src)
	}
	for i := n; i < len(src); i++ {
		dst[i] = max(src[i], 0)
	}
}

func relu32(im impl, dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if im != implGo {
		n = asmRelu32(im, dst, src)
	}
	for i := n; i < len(src); i++ {
		dst[i] = max(src[i], 0)
	}
}

// Exp is e^x: the float64 kernel for one value, the same bits as Exp64.
func Exp(x float64) float64 { return exp64(x) }

// Log is ln x, the same bits as Log64.
func Log(x float64) float64 { return log64(x) }

// Tanh is tanh x, the same bits as Tanh64.
func Tanh(x float64) float64 { return tanh64(x) }

// Erf is erf x, the same bits as Erf64.
func Erf(x float64) float64 { return erf64(x) }

// Sigmoid is 1/(1+e^−x), the same bits as Sigmoid64.
func Sigmoid(x float64) float64 { return sigmoid64(x) }
