//go:build amd64 && !purego

package kernels

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// The dispatch picks the widest kernels the CPU has: a machine with
// AVX-512F that ran the Go or AVX2 code would pass every other test.
func TestSVMDispatch(t *testing.T) {
	want, name := svmGo, "Go"
	switch {
	case cpu.X86.HasAVX512F:
		want, name = svmAVX512, "AVX-512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		want, name = svmAVX2, "AVX2"
	}
	if svmLevel != want || svmBest() != want {
		t.Fatalf("SVM kernels at level %d (best %d); this CPU runs %s (level %d)", svmLevel, svmBest(), name, want)
	}
	if want != svmGo && SVMPackedLen(17, 3) != 32*3 {
		t.Fatalf("SVMPackedLen(17, 3) = %d with assembly, want %d", SVMPackedLen(17, 3), 32*3)
	}
}
