//go:build amd64

package vmath

import (
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/kernels/internal/asmcheck"
)

// TestVmathAsmGenerated checks that vmath_amd64.s and vmath_stub_amd64.go
// are what kernels/asmgen/vmath writes now (from consts.go and coeffs.go as
// they are), so that a hand edit, a changed constant or a generator change
// without regenerating fails here.
func TestVmathAsmGenerated(t *testing.T) {
	asmcheck.Generated(t, filepath.Join("..", "asmgen", "vmath"), "vmath", "vmath_amd64.s", "vmath_stub_amd64.go")
}
