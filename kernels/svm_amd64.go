//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// svmLevel is the SVM kernels' implementation: AVX-512F where the CPU has
// it, else AVX2 with FMA3, else Go. Tests lower it to compare the paths.
var svmLevel = svmBest()

func svmBest() int {
	switch {
	case cpu.X86.HasAVX512F:
		return svmAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return svmAVX2
	}
	return svmGo
}

// svmDotsAsm runs SVMDots over nb packed blocks (f > 0, nb > 0).
func svmDotsAsm(dst, x, packed *float64, f, nb int, sq bool) {
	switch {
	case svmLevel == svmAVX512 && sq:
		svmDistsAVX512(dst, x, packed, f, nb)
	case svmLevel == svmAVX512:
		svmDotsAVX512(dst, x, packed, f, nb)
	case sq:
		svmDistsAVX2(dst, x, packed, f, nb)
	default:
		svmDotsAVX2(dst, x, packed, f, nb)
	}
}

// svmExpAsm runs SVMExpScaled over n values (a multiple of 8), reporting
// whether any argument was outside SVMExp's table range (those results are
// left for the caller to replace).
func svmExpAsm(dst, src *float64, n int, scale float64) bool {
	if svmLevel == svmAVX512 {
		return svmExpAVX512(dst, src, n, scale)
	}
	return svmExpAVX2(dst, src, n, scale)
}

// svmPolyAsm runs SVMPoly over n values (a multiple of 8, degree >= 0).
func svmPolyAsm(dst, src *float64, n int, gamma, coef0 float64, degree int) {
	if svmLevel == svmAVX512 {
		svmPolyAVX512(dst, src, n, gamma, coef0, degree)
		return
	}
	svmPolyAVX2(dst, src, n, gamma, coef0, degree)
}

// The kernels (svm_amd64.s). A block is svmBlock vectors, feature-major.

//go:noescape
func svmDotsAVX512(dst, x, packed *float64, f, nb int)

//go:noescape
func svmDistsAVX512(dst, x, packed *float64, f, nb int)

//go:noescape
func svmDotsAVX2(dst, x, packed *float64, f, nb int)

//go:noescape
func svmDistsAVX2(dst, x, packed *float64, f, nb int)

//go:noescape
func svmExpAVX512(dst, src *float64, n int, scale float64) bool

//go:noescape
func svmExpAVX2(dst, src *float64, n int, scale float64) bool

//go:noescape
func svmSums32AVX512(acc, k *float64, ld int, w *float64, n int)

//go:noescape
func svmPolyAVX512(dst, src *float64, n int, gamma, coef0 float64, degree int)

//go:noescape
func svmPolyAVX2(dst, src *float64, n int, gamma, coef0 float64, degree int)

// svmRuns reports whether this CPU runs the given level.
func svmRuns(level int) bool {
	switch level {
	case svmAVX512:
		return cpu.X86.HasAVX512F
	case svmAVX2:
		return cpu.X86.HasAVX2 && cpu.X86.HasFMA
	}
	return level == svmGo
}
