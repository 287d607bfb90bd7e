//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// blockAsm reports whether the channel-blocked depthwise kernels, their
// transpose and the direct path's block copy run here (their masks are
// built with BMI2).
var blockAsm = cpu.X86.HasAVX512F && cpu.X86.HasBMI2
