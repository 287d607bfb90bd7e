package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/npy"
)

// matmulModel writes Y = A·B for run-time float32 matrices of any size.
func matmulModel(t *testing.T) string {
	t.Helper()
	b := format.NewBuilder()
	b.AddInput("A", dtype.Float32, []int64{-1, -1})
	b.AddInput("B", dtype.Float32, []int64{-1, -1})
	b.AddNode(graph.Node{Op: "MatMul", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}})
	b.AddOutput("Y")
	p := filepath.Join(t.TempDir(), "mm.mle")
	if _, err := b.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func squareNpy(t *testing.T, n int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sq.npy")
	if err := npy.WriteFile(p, &npy.Array{DType: dtype.Float32, Shape: []int64{n, n}, Data: make([]byte, 4*n*n)}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunTimeoutAndMemoryLimit(t *testing.T) {
	p := matmulModel(t)
	x := squareNpy(t, 1024)
	code, _, errOut := mle("run", p, "--input", "A="+x, "--input", "B="+x, "--timeout", "1ms")
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_CANCELLED_DEADLINE") {
		t.Fatalf("--timeout 1ms: exit %d, %s", code, errOut)
	}
	code, _, errOut = mle("run", p, "--input", "A="+x, "--input", "B="+x, "--max-memory", "1M")
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_NO_MEMORY_LIMIT") {
		t.Fatalf("--max-memory 1M: exit %d, %s", code, errOut)
	}
	small := squareNpy(t, 2)
	if code, _, errOut = mle("run", p, "--input", "A="+small, "--input", "B="+small, "--timeout", "1m", "--max-memory", "1M"); code != 0 {
		t.Fatalf("a small run within its limits: exit %d, %s", code, errOut)
	}
	for _, bad := range [][]string{{"--timeout", "-1s"}, {"--max-memory", "lots"}, {"--max-memory", "-5"}} {
		if code, _, _ = mle(append([]string{"run", p, "--input", "A=" + small, "--input", "B=" + small}, bad...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", bad, code)
		}
	}
}

// A batch no machine could hold is refused, never an abort of the CLI.
func TestBenchHugeBatchRefused(t *testing.T) {
	p := matmulModel(t)
	code, _, errOut := mle("bench", p, "--batch", "1048576", "--runs", "1", "--opens", "1") // 4 TiB inputs
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_NO_MEMORY_LIMIT") {
		t.Fatalf("exit %d, %s", code, errOut)
	}
	code, _, errOut = mle("bench", p, "--batch", "1099511627776", "--runs", "1", "--opens", "1") // 2^80 elements
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_SHAPE_TOO_LARGE") {
		t.Fatalf("exit %d, %s", code, errOut)
	}
	code, _, errOut = mle("inspect", p, "--batch", "1048576")
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_NO_MEMORY_LIMIT") {
		t.Fatalf("inspect: exit %d, %s", code, errOut)
	}
}

// A FIFO is refused at once (opening one for reading would wait for a writer).
func TestNotARegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.mle")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", t.TempDir()} {
		for _, cmd := range []string{"inspect", "validate", "run"} {
			code, _, errOut := mle(cmd, p)
			if code != 1 || !strings.Contains(errOut, "MLE_ERR_IO_NOT_FILE") {
				t.Errorf("%s %s: exit %d, %s", cmd, p, code, errOut)
			}
		}
	}
}
