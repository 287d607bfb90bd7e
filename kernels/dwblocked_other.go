//go:build !amd64 || purego

package kernels

// blockAsm: the channel-blocked depthwise kernels and the block copy are
// AVX-512 code, absent from this build (NewDepthwiseBlocked returns nil).
const blockAsm = false

func sconvDW16(n, taps int, offs *int32, w, x, bias, out *float32, pix *int32, act int) {
	panic("kernels: no blocked depthwise kernels in this build")
}

func transpose16F32(dst *float32, ldd int, src *float32, lds int, r, c, w int) {
	panic("kernels: no blocked depthwise kernels in this build")
}

func copyBlock32AVX512(dst *float32, ldd int, src *float32, lds int, rows, n int) {
	panic("kernels: no block copy in this build")
}

func avgRows32AVX512(out, x *float32, rows, n int, div float64) {
	panic("kernels: no AVX-512 pooling in this build")
}

// The row-wise depthwise kernels, all the same refusal.
var (
	sconvDWRows3x1, sconvDWRows3x2, sconvDWRows5x1, sconvDWRows5x2         = noDWRows, noDWRows, noDWRows, noDWRows
	sconvDWPhases3x1, sconvDWPhases3x2, sconvDWPhases5x1, sconvDWPhases5x2 = noDWPhases, noDWPhases, noDWPhases, noDWPhases
)

func noDWRows(x, y, w, bias *float32, c, h, wd, oh, ow, ph, pw int, masks *uint16, act int) {
	panic("kernels: no row-wise depthwise kernels in this build")
}

func noDWPhases(x, y, w, bias *float32, rl, oh, ow int, masks *uint16, act int) {
	panic("kernels: no row-wise depthwise kernels in this build")
}

func deint2Rows32AVX512(even, odd *float32, ldd int, src *float32, lds, rows, n int) {
	panic("kernels: no row-wise depthwise kernels in this build")
}
