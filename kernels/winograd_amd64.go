//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func winoIn16AVX512(v *float32, vs int, e, o *float32, ld, n int)

//go:noescape
func winoOut16AVX512(y *float32, ow, rows, w int, m *float32, ms int, bias float32, n int)

// WinogradAvailable reports whether this build has the Winograd transforms
// (AVX-512 with BMI2).
func WinogradAvailable() bool { return cpu.X86.HasAVX512F && cpu.X86.HasBMI2 }
