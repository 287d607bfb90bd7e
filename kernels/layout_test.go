package kernels

import (
	"bytes"
	"math/rand"
	"testing"
)

// SimplifyTranspose keeps every element where Transpose puts it, over
// random shapes (with size-1 axes) and permutations.
func TestSimplifyTranspose(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 2000; trial++ {
		r := 1 + rng.Intn(6)
		shape := make([]int64, r)
		n := 1
		for i := range shape {
			shape[i] = int64([]int{1, 1, 2, 3, 4}[rng.Intn(5)])
			n *= int(shape[i])
		}
		perm := rng.Perm(r)
		src := make([]byte, 4*n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		want := make([]byte, len(src))
		Transpose(want, src, 4, shape, perm)
		s2, p2 := SimplifyTranspose(shape, perm)
		got := make([]byte, len(src))
		TransposeRows(got, src, 4, s2, p2, 0, TransposeRowCount(s2, p2))
		if !bytes.Equal(got, want) {
			t.Fatalf("shape %v perm %v -> %v %v: elements moved differently", shape, perm, s2, p2)
		}
	}
	if s, p := SimplifyTranspose([]int64{1, 5, 2, 1, 7}, []int{3, 1, 2, 0, 4}); len(s) != 1 || s[0] != 70 || len(p) != 1 {
		t.Fatalf("moving size-1 axes: got %v %v, want one axis of 70", s, p)
	}
}
