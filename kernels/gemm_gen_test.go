//go:build amd64

package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGemmAsmGenerated checks that gemm_amd64.s and gemm_stub_amd64.go are
// what the generator in asmgen/gemm writes now, so that a hand edit or a
// generator change without regenerating fails here. The generator is a
// module of its own (avo is no dependency of this one): the test runs it
// with the go command, which fetches avo like any module when it is not in
// the module cache yet.
func TestGemmAsmGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	env := append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	gen := filepath.Join("asmgen", "gemm")
	dir := t.TempDir()
	files := []string{"gemm_amd64.s", "gemm_stub_amd64.go"}
	cmd := exec.Command(goTool, "run", ".", "-out", filepath.Join(dir, files[0]), "-stubs", filepath.Join(dir, files[1]), "-pkg", "kernels")
	cmd.Dir, cmd.Env = gen, env
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
			t.Errorf("%s differs from what asmgen/gemm generates: regenerate it (see asmgen/doc.go)", f)
		}
	}
}

func afterFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return nil
}
