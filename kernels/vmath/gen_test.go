//go:build amd64

package vmath

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestVmathAsmGenerated checks that vmath_amd64.s and vmath_stub_amd64.go
// are what kernels/asmgen/vmath writes now (from consts.go and coeffs.go as
// they are), so that a hand edit, a changed constant or a generator change
// without regenerating fails here. The go command fetches avo for the
// generator's own module when it is not in the module cache yet.
func TestVmathAsmGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	dir := t.TempDir()
	files := []string{"vmath_amd64.s", "vmath_stub_amd64.go"}
	cmd := exec.Command(goTool, "run", ".", "-out", filepath.Join(dir, files[0]), "-stubs", filepath.Join(dir, files[1]), "-pkg", "vmath")
	cmd.Dir = filepath.Join("..", "asmgen", "vmath")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v: %s", err, out)
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The first line names the output paths of the run that wrote it.
		if !bytes.Equal(afterFirstLine(got), afterFirstLine(want)) {
			t.Errorf("%s differs from what kernels/asmgen/vmath generates: run `make asm`", f)
		}
	}
}

func afterFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return nil
}
