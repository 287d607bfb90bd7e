//go:build !amd64 || purego

package kernels

// WinogradAvailable reports whether this build has the Winograd transforms:
// not here (they are AVX-512 code).
func WinogradAvailable() bool { return false }

func winoIn16AVX512(v *float32, vs int, e, o *float32, ld, n int) {
	panic("kernels: no Winograd transforms in this build")
}

func winoOut16AVX512(y *float32, ow, rows, w int, m *float32, ms int, bias float32, n int) {
	panic("kernels: no Winograd transforms in this build")
}

func wino4In16AVX512(v *float32, vs int, p *float32, pl, ld, n int) {
	panic("kernels: no Winograd transforms in this build")
}

func wino4Out16AVX512(y *float32, ow, rows, w int, m *float32, ms int, bias float32, n int) {
	panic("kernels: no Winograd transforms in this build")
}

func deint4AVX512(dst *float32, pl int, src *float32, blocks int) {
	panic("kernels: no Winograd transforms in this build")
}
