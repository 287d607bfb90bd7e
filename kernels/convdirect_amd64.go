//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

func init() {
	if !cpu.X86.HasAVX512F {
		return
	}
	convMicros = []convMicro{
		{mr: 12, nr: 32, fn: sconvDirect12x32, cost: 1},
		{mr: 8, nr: 48, fn: sconvDirect8x48, cost: 1},
		{mr: 6, nr: 64, fn: sconvDirect6x64, cost: 1},
		{mr: 4, nr: 96, fn: sconvDirect4x96, cost: 1},
		{mr: 12, nr: 16, fn: sconvDirect12x16, cost: 1.15},
		{mr: 32, nr: 7, posFn: sconvPos32x7, cost: 1},
		// Depthwise: one channel, 8, 4 or 2 FMA chains (fewer than 8
		// leave the FMA ports idle for part of their latency).
		{mr: 1, nr: 128, fn: sconvDirect1x128, cost: 1},
		{mr: 1, nr: 64, fn: sconvDirect1x64, cost: 1.4},
		{mr: 1, nr: 32, fn: sconvDirect1x32, cost: 2.5},
	}
}
