//go:build linux || darwin

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guardedRegion is mapped memory between two inaccessible pages. Assembly
// has no bounds checks, so the only way to catch one of its reads past
// either end of an operand is to place the operand against a guard page
// and let the read fault.
type guardedRegion struct {
	data []byte // the accessible pages
}

func newGuardedRegion(t *testing.T, size int) *guardedRegion {
	t.Helper()
	pg := unix.Getpagesize()
	n := (size + pg - 1) / pg * pg
	mem, err := unix.Mmap(-1, 0, n+2*pg, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	if err := unix.Mprotect(mem[:pg], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mprotect(mem[pg+n:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	return &guardedRegion{data: mem[pg : pg+n]}
}

// place copies src into r flush against the trailing guard page (atEnd) or
// the leading one, and returns the copy with len == cap == len(src).
func place[T gemmFloat](r *guardedRegion, src []T, atEnd bool) []T {
	if len(src) == 0 {
		return src
	}
	size := len(src) * int(unsafe.Sizeof(src[0]))
	off := 0
	if atEnd {
		off = len(r.data) - size
	}
	dst := unsafe.Slice((*T)(unsafe.Pointer(&r.data[off])), len(src))
	copy(dst, src)
	return dst
}

// TestGemmGuardPages runs the direct-path cases with A and B against guard
// pages on either side and checks that the results match bit for bit those
// computed from ordinary slices: an out-of-bounds read in the active
// kernels (the assembly ones where present) crashes the test.
func TestGemmGuardPages(t *testing.T) {
	cases := gemmDirectCases()
	biggest := 0
	for _, g := range cases {
		biggest = max(biggest, (g.m+1)*(g.k+g.pad), (g.k+1)*(g.n+2*g.pad), (g.n+1)*(g.k+2*g.pad))
	}
	ra, rb := newGuardedRegion(t, 8*biggest), newGuardedRegion(t, 8*biggest)
	rng := rand.New(rand.NewPCG(11, 12))
	w := new(Worker)
	for _, g := range cases {
		o := newGemmOperands(g, rng)
		a32, b32 := toF32(o.a), toF32(o.b)
		want64 := append([]float64(nil), o.c...)
		Dgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, o.a, o.lda, o.b, o.ldb, g.beta, want64, o.ldc)
		want32 := toF32(o.c)
		Sgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), a32, o.lda, b32, o.ldb, float32(g.beta), want32, o.ldc)
		for _, atEnd := range []bool{false, true} {
			c64 := append([]float64(nil), o.c...)
			Dgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, place(ra, o.a, atEnd), o.lda, place(rb, o.b, atEnd), o.ldb, g.beta, c64, o.ldc)
			for i := range c64 {
				if math.Float64bits(c64[i]) != math.Float64bits(want64[i]) {
					t.Fatalf("%v atEnd=%v: f64 C[%d] = %v, want %v", g, atEnd, i, c64[i], want64[i])
				}
			}
			c32 := toF32(o.c)
			Sgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), place(ra, a32, atEnd), o.lda, place(rb, b32, atEnd), o.ldb, float32(g.beta), c32, o.ldc)
			for i := range c32 {
				if math.Float32bits(c32[i]) != math.Float32bits(want32[i]) {
					t.Fatalf("%v atEnd=%v: f32 C[%d] = %v, want %v", g, atEnd, i, c32[i], want32[i])
				}
			}
		}
	}
}

// TestGemmGuardPagesBlocked is TestGemmGuardPages for the packed path of
// every kernel family: the SIMD packing (transposes and row copies) reads
// whole vectors, so an operand ending mid-vector must not be read past.
func TestGemmGuardPagesBlocked(t *testing.T) {
	shapes := [][3]int{{13, 37, 11}, {25, 33, 9}, {30, 17, 8}, {7, 70, 40}, {50, 9, 31}}
	ra, rb := newGuardedRegion(t, 8*4096), newGuardedRegion(t, 8*4096)
	withKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		w := new(Worker)
		for _, s := range shapes {
			for tr := 0; tr < 4; tr++ {
				for _, pad := range []int{0, 1} {
					g := gemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], 1, 0.5, pad, ""}
					o := newGemmOperands(g, rng)
					a32, b32 := toF32(o.a), toF32(o.b)
					want64 := append([]float64(nil), o.c...)
					Dgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, o.a, o.lda, o.b, o.ldb, g.beta, want64, o.ldc)
					want32 := toF32(o.c)
					Sgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), a32, o.lda, b32, o.ldb, float32(g.beta), want32, o.ldc)
					for _, atEnd := range []bool{false, true} {
						c64 := append([]float64(nil), o.c...)
						Dgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, place(ra, o.a, atEnd), o.lda, place(rb, o.b, atEnd), o.ldb, g.beta, c64, o.ldc)
						for i := range c64 {
							if math.Float64bits(c64[i]) != math.Float64bits(want64[i]) {
								t.Fatalf("%v atEnd=%v: f64 C[%d] = %v, want %v", g, atEnd, i, c64[i], want64[i])
							}
						}
						c32 := toF32(o.c)
						Sgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), place(ra, a32, atEnd), o.lda, place(rb, b32, atEnd), o.ldb, float32(g.beta), c32, o.ldc)
						for i := range c32 {
							if math.Float32bits(c32[i]) != math.Float32bits(want32[i]) {
								t.Fatalf("%v atEnd=%v: f32 C[%d] = %v, want %v", g, atEnd, i, c32[i], want32[i])
							}
						}
					}
				}
			}
		}
	})
}
