//go:build amd64

package kernels

import (
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/kernels/internal/asmcheck"
)

// TestGemmAsmGenerated checks that gemm_amd64.s and gemm_stub_amd64.go are
// what the generator in asmgen/gemm writes now, so that a hand edit or a
// generator change without regenerating fails here.
func TestGemmAsmGenerated(t *testing.T) {
	asmcheck.Generated(t, filepath.Join("asmgen", "gemm"), "kernels", "gemm_amd64.s", "gemm_stub_amd64.go")
}

// TestConvAsmGenerated is TestGemmAsmGenerated for the direct-convolution
// kernels of asmgen/conv.
func TestConvAsmGenerated(t *testing.T) {
	asmcheck.Generated(t, filepath.Join("asmgen", "conv"), "kernels", "conv_amd64.s", "conv_stub_amd64.go")
}
