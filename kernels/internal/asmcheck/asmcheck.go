// Package asmcheck lets a package's tests check that its committed
// assembly is what its generator under kernels/asmgen writes now.
package asmcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Generated runs the generator in genDir (a directory of the kernels/asmgen
// module) with -out, -stubs and -pkg into a temporary directory and fails t
// if asm or stubs (paths relative to the test's directory) differ from its
// output, past their first line (which names the paths of the run that
// wrote them). The generator's module is its own (avo is no dependency of
// this one): the go command fetches avo like any module when it is not in
// the module cache yet.
func Generated(t *testing.T, genDir, pkg, asm, stubs string) {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	dir := t.TempDir()
	outAsm, outStubs := filepath.Join(dir, filepath.Base(asm)), filepath.Join(dir, filepath.Base(stubs))
	cmd := exec.Command(goTool, "run", ".", "-out", outAsm, "-stubs", outStubs, "-pkg", pkg)
	cmd.Dir = genDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator %s: %v: %s", genDir, err, out)
	}
	for committed, generated := range map[string]string{asm: outAsm, stubs: outStubs} {
		want, err := os.ReadFile(generated)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(committed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(afterFirstLine(got), afterFirstLine(want)) {
			t.Errorf("%s differs from what %s generates: run `make asm`", committed, genDir)
		}
	}
}

func afterFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return nil
}
