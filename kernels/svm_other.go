//go:build !amd64 || purego

package kernels

// svmLevel is svmGo: there is no assembly on this platform.
var svmLevel = svmGo

func svmDotsAsm(dst, x, packed *float64, f, nb int, sq bool) {
	panic("kernels: svmDotsAsm has no assembly on this platform")
}

func svmExpAsm(dst, src *float64, n int, scale float64) bool {
	panic("kernels: svmExpAsm has no assembly on this platform")
}

func svmPolyAsm(dst, src *float64, n int, gamma, coef0 float64, degree int) {
	panic("kernels: svmPolyAsm has no assembly on this platform")
}

// svmRuns reports whether this CPU runs the given level: Go only here.
func svmRuns(level int) bool { return level == svmGo }

func svmSums32AVX512(acc, k *float64, ld int, w *float64, n int) {
	panic("kernels: svmSums32AVX512 has no assembly on this platform")
}
