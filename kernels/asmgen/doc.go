// Package asmgen holds the programs that generate MLE's assembly kernels
// with avo (github.com/mmcloughlin/avo): each subdirectory is a main package
// that writes one kernels/*_amd64.s file and its Go declarations. It is a
// module of its own so that libmle does not depend on avo.
//
// Regenerate everything with `make asm` from the repository root.
//
// gemm writes the GEMM micro-kernels and packing routines,
// kernels/gemm_amd64.s and kernels/gemm_stub_amd64.go; by hand:
//
//	cd kernels/asmgen/gemm && go run . -out ../../gemm_amd64.s -stubs ../../gemm_stub_amd64.go -pkg kernels
//
// conv writes the direct-convolution micro-kernels and the Winograd
// F(4×4, 3×3) transforms, kernels/conv_amd64.s and
// kernels/conv_stub_amd64.go, the same way from asmgen/conv.
//
// TestGemmAsmGenerated and TestConvAsmGenerated (package kernels) fail when
// the committed files differ from what the generators write; the go command
// fetches avo for them like any module.
package asmgen
