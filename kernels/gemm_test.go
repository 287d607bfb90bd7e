package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// gemmCase is one product to check.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	pad            int    // extra leading-dimension elements beyond the minimum
	tag            string // names the configuration in failures, if set
}

func (g gemmCase) String() string {
	s := fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,alpha=%g,beta=%g,pad=%d", g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.pad)
	if g.tag != "" {
		s = g.tag + ":" + s
	}
	return s
}

// gemmOperands holds the stored operands of a case, in float64, with slices
// of exactly the minimal length.
type gemmOperands struct {
	a, b, c       []float64
	lda, ldb, ldc int
}

// gemmGap marks stored elements outside the matrices (between the end of a
// row and the leading dimension). Reading one into A or B poisons the result;
// writing one in C is caught by the check.
var gemmGap = math.Inf(1)

func newGemmOperands(g gemmCase, rng *rand.Rand) gemmOperands {
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	fill := func(rows, cols, pad int, nanFill bool) ([]float64, int) {
		ld := cols + pad
		if ld == 0 {
			ld = 1
		}
		size := 0
		if rows > 0 && cols > 0 {
			size = (rows-1)*ld + cols
		}
		s := make([]float64, size)
		for i := range s {
			switch {
			case i%ld >= cols:
				s[i] = gemmGap
			case nanFill:
				s[i] = math.NaN()
			default:
				s[i] = rng.Float64()*2 - 1
			}
		}
		return s[:size:size], ld
	}
	var o gemmOperands
	o.a, o.lda = fill(ar, ac, g.pad, false)
	o.b, o.ldb = fill(br, bc, 2*g.pad, false)
	o.c, o.ldc = fill(g.m, g.n, g.pad+1, g.beta == 0)
	return o
}

// gemmRef computes the expected C in float64 and, per element, the scale
// |alpha|·Σ|a||b| + |beta·c| that bounds the rounding error.
func gemmRef(g gemmCase, o gemmOperands) (want, scale []float64) {
	at := func(i, p int) float64 {
		if g.transA {
			return o.a[p*o.lda+i]
		}
		return o.a[i*o.lda+p]
	}
	bt := func(p, j int) float64 {
		if g.transB {
			return o.b[j*o.ldb+p]
		}
		return o.b[p*o.ldb+j]
	}
	want = make([]float64, len(o.c))
	scale = make([]float64, len(o.c))
	copy(want, o.c)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s, sa float64
			for p := 0; p < g.k; p++ {
				v := at(i, p) * bt(p, j)
				s += v
				if v < 0 { // not math.Abs: its checkptr checks dominate -race runs
					v = -v
				}
				sa += v
			}
			idx := i*o.ldc + j
			cv := o.c[idx]
			if g.beta == 0 {
				cv = 0
			}
			want[idx] = g.alpha*s + g.beta*cv
			scale[idx] = math.Abs(g.alpha)*sa + math.Abs(g.beta*cv)
		}
	}
	return want, scale
}

func toF32(s []float64) []float32 {
	r := make([]float32, len(s))
	for i, v := range s {
		r[i] = float32(v)
	}
	return r[:len(r):len(r)]
}

// checkGemm compares got with the reference; tol is relative to scale.
func checkGemm[T gemmFloat](t *testing.T, g gemmCase, o gemmOperands, want, scale []float64, got []T, tol float64) {
	t.Helper()
	for idx := range got {
		gv := float64(got[idx])
		if idx%o.ldc >= g.n {
			if gv != gemmGap {
				t.Fatalf("%v: wrote C gap element %d: %v", g, idx, gv)
			}
			continue
		}
		if d := math.Abs(gv - want[idx]); !(d <= tol*scale[idx]+1e-300) {
			t.Fatalf("%v: C[%d,%d] = %v, want %v (diff %g, scale %g)", g, idx/o.ldc, idx%o.ldc, gv, want[idx], d, scale[idx])
		}
	}
}

func runGemmCase(t *testing.T, p *Pool, w *Worker, g gemmCase, rng *rand.Rand) {
	t.Helper()
	o := newGemmOperands(g, rng)
	want, scale := gemmRef(g, o)
	checkGemmCase(t, p, w, g, o, toF32(o.a), toF32(o.b), want, scale)
}

// checkGemmCase runs Dgemm and Sgemm (with a32, b32: o's A and B in
// float32) on copies of o's C and checks them.
func checkGemmCase(t *testing.T, p *Pool, w *Worker, g gemmCase, o gemmOperands, a32, b32 []float32, want, scale []float64) {
	t.Helper()
	// f64: the reference sums in the same precision, in another order.
	c64 := append([]float64(nil), o.c...)
	c64 = c64[:len(c64):len(c64)]
	Dgemm(p, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, o.a, o.lda, o.b, o.ldb, g.beta, c64, o.ldc)
	checkGemm(t, g, o, want, scale, c64, 1e-12)
	// f32: rounding the operands (relative 6e-8 each) is well inside the
	// tolerance, so the same float64 reference serves.
	c32 := toF32(o.c)
	Sgemm(p, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), a32, o.lda, b32, o.ldb, float32(g.beta), c32, o.ldc)
	checkGemm(t, g, o, want, scale, c32, 1e-5*math.Sqrt(float64(max(g.k, 1))))
}

// gemmShapes crosses every block boundary of the active kernels as well as
// the degenerate and odd sizes.
func gemmShapes() [][3]int {
	shapes := [][3]int{
		{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {4, 5, 0}, {1, 1, 1}, {1, 1, 2}, {2, 1, 1},
		{3, 5, 7}, {2, 3, 4}, {1, 64, 64}, {64, 1, 64}, {7, 13, 1}, {17, 33, 65},
		{130, 70, 300}, {31, 29, 37},
	}
	for _, mr := range []int{sgemmKern.mr, dgemmKern.mr, sgemmKernelGo.mr} {
		shapes = append(shapes, [3]int{mr - 1, 5, 3}, [3]int{mr + 1, 5, 3})
	}
	for _, nr := range []int{sgemmKern.nr, dgemmKern.nr, sgemmKernelGo.nr} {
		shapes = append(shapes, [3]int{5, nr - 1, 3}, [3]int{5, nr + 1, 3})
	}
	for _, kc := range []int{sgemmKern.kc, dgemmKern.kc} {
		shapes = append(shapes, [3]int{5, 7, kc}, [3]int{5, 7, kc + 1}, [3]int{3, 4, 2*kc + 3})
	}
	for _, mc := range []int{sgemmKern.mc, dgemmKern.mc} {
		shapes = append(shapes, [3]int{mc, 6, 9}, [3]int{mc + 1, 6, 9}, [3]int{2*mc + 5, 3, 4})
	}
	for _, nc := range []int{sgemmKern.nc, dgemmKern.nc} {
		shapes = append(shapes, [3]int{4, nc + 1, 3}, [3]int{2, 2*nc + 7, 2})
	}
	return shapes
}

func testGemmAll(t *testing.T, p *Pool) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := new(Worker)
	alphas := []float64{1, 0.5, -2}
	betas := []float64{0, 1, 0.25}
	for _, s := range gemmShapes() {
		m, n, k := s[0], s[1], s[2]
		full := m*n*k <= 60000
		for tr := 0; tr < 4; tr++ {
			for ai, alpha := range alphas {
				for bi, beta := range betas {
					if !full && ai != bi {
						continue // big shapes: a diagonal of the alpha×beta grid
					}
					for _, pad := range []int{0, 3} {
						g := gemmCase{tr&1 != 0, tr&2 != 0, m, n, k, alpha, beta, pad, ""}
						runGemmCase(t, p, w, g, rng)
					}
				}
			}
		}
	}
	// alpha == 0 leaves C = beta·C and must not read A or B.
	for _, beta := range betas {
		g := gemmCase{false, false, 9, 8, 7, 0, beta, 1, ""}
		runGemmCase(t, p, w, g, rng)
	}
}

// withKernels runs f once for every micro-kernel family available on this
// machine (the pure-Go one always), and once more for each with tiny block
// sizes so that small shapes cross every MC/KC/NC boundary many times.
func withKernels(t *testing.T, f func(t *testing.T)) {
	s0, d0 := sgemmKern, dgemmKern
	defer func() { sgemmKern, dgemmKern = s0, d0 }()
	for _, v := range gemmVariants {
		ts, td := *v.s, *v.d
		ts.mc, ts.kc, ts.nc = 2*ts.mr, 5, 3*ts.nr
		td.mc, td.kc, td.nc = 3*td.mr, 4, 2*td.nr
		for _, kp := range []gemmVariant{v, {v.name, &ts, &td}} {
			sgemmKern, dgemmKern = kp.s, kp.d
			name := fmt.Sprintf("%s,%s/mc=%d,kc=%d,nc=%d", kp.s.name, kp.d.name, kp.s.mc, kp.s.kc, kp.s.nc)
			t.Run(name, f)
		}
	}
}

func TestGemm(t *testing.T) {
	withKernels(t, func(t *testing.T) { testGemmAll(t, nil) })
}

func TestGemmParallel(t *testing.T) {
	gemmForceSplit = true // split even tiny products so splitting is tested
	defer func() { gemmForceSplit = false }()
	for _, size := range []int{3} { // uneven: 3 goroutines, even chunk counts
		p := NewPool(size)
		t.Run(fmt.Sprint("pool", size), func(t *testing.T) {
			withKernels(t, func(t *testing.T) { testGemmAll(t, p) })
		})
		p.Close()
	}
}

// TestGemmParallelBitExact checks that splitting over a pool does not change
// a single bit of the result, on shapes big enough to split for real.
func TestGemmParallelBitExact(t *testing.T) {
	shapes := [][3]int{{200, 150, 130}, {2, 3001, 400}, {1500, 1, 900}, {1000, 4, 600}, {97, 301, 259},
		{1, 4099, 700}, {3, 2001, 700}, {5003, 3, 300}}
	if testing.Short() {
		shapes = shapes[:2]
	}
	p := NewPool(4)
	defer p.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	w := new(Worker)
	for _, s := range shapes {
		for tr := 0; tr < 4; tr++ {
			g := gemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], 0.5, 0.25, 1, ""}
			o := newGemmOperands(g, rng)
			a32, b32 := toF32(o.a), toF32(o.b)
			cs, cp := toF32(o.c), toF32(o.c)
			Sgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, a32, o.lda, b32, o.ldb, 0.25, cs, o.ldc)
			Sgemm(p, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, a32, o.lda, b32, o.ldb, 0.25, cp, o.ldc)
			for i := range cs {
				if math.Float32bits(cs[i]) != math.Float32bits(cp[i]) {
					t.Fatalf("%v: f32 parallel C[%d] = %v, serial %v", g, i, cp[i], cs[i])
				}
			}
			ds, dp := append([]float64(nil), o.c...), append([]float64(nil), o.c...)
			Dgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, o.a, o.lda, o.b, o.ldb, 0.25, ds, o.ldc)
			Dgemm(p, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, o.a, o.lda, o.b, o.ldb, 0.25, dp, o.ldc)
			for i := range ds {
				if math.Float64bits(ds[i]) != math.Float64bits(dp[i]) {
					t.Fatalf("%v: f64 parallel C[%d] = %v, serial %v", g, i, dp[i], ds[i])
				}
			}
		}
	}
}

// gemmDirectCases crosses few-row shapes around the direct-path limits
// with the SIMD block widths and k around the vector widths, plus the same
// shapes transposed (few columns), for every transpose flag. alpha, beta
// and the leading-dimension padding cycle over the cases.
func gemmDirectCases() []gemmCase {
	ms := []int{1, 2, 3, 4, 5}
	ns := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 32, 33, 64, 65, 255, 256, 257}
	ks := []int{1, 7, 8, 9, 63, 64, 65, 784}
	ab := [][2]float64{{1, 0}, {0.5, 1}, {-2, 0.25}, {1, 1}, {0.75, 0}, {1, -1}}
	var cases []gemmCase
	i := 0
	for _, m := range ms {
		for _, n := range ns {
			for _, k := range ks {
				for tr := 0; tr < 4; tr++ {
					for _, tall := range []bool{false, true} {
						mm, nn := m, n
						if tall {
							if n <= 5 {
								continue // already among the few-row shapes
							}
							mm, nn = n, m
						}
						v := ab[i%len(ab)]
						cases = append(cases, gemmCase{tr&1 != 0, tr&2 != 0, mm, nn, k, v[0], v[1], (i / len(ab)) % 2 * 3, ""})
						i++
					}
				}
			}
		}
	}
	// Tiles (384 columns) and pool chunks (192) that end a few columns past
	// a boundary take their last block or group from the columns on their
	// left.
	for _, n := range []int{197, 389} {
		for m := 1; m <= 4; m++ {
			for tr := 0; tr < 4; tr++ {
				cases = append(cases, gemmCase{tr&1 != 0, tr&2 != 0, m, n, 65, 0.5, 0.25, 1, ""})
				cases = append(cases, gemmCase{tr&1 != 0, tr&2 != 0, n, m, 9, 1, 0, 0, ""})
			}
		}
	}
	return cases
}

// TestGemmDirect checks the direct path of every kernel family (the SIMD
// one where present) against the float64 reference, serially and split
// over a pool at every column granule.
func TestGemmDirect(t *testing.T) {
	cases := gemmDirectCases()
	p := NewPool(3)
	defer p.Close()
	s0, d0 := sgemmKern, dgemmKern
	defer func() { sgemmKern, dgemmKern = s0, d0 }()
	kerns, kernd := gemmKernels32(), gemmKernels64()
	defer func() { gemmForceSplit = false }()
	rng := rand.New(rand.NewPCG(9, 10))
	w := new(Worker)
	for _, g := range cases {
		o := newGemmOperands(g, rng)
		want, scale := gemmRef(g, o)
		a32, b32 := toF32(o.a), toF32(o.b)
		for ki := range kerns {
			sgemmKern, dgemmKern = kerns[ki], kernd[ki]
			for _, pool := range []*Pool{nil, p} {
				gemmForceSplit = pool != nil
				g.tag = fmt.Sprintf("%s/pool=%v", kerns[ki].name, pool != nil)
				checkGemmCase(t, pool, w, g, o, a32, b32, want, scale)
			}
		}
	}
}

func TestGemmNoAllocs(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	// Direct-path shapes too: few rows, few columns (computed transposed)
	// and one big enough to split over the pool; 300³ splits into row
	// chunks that share one packing of B.
	for _, s := range [][3]int{{1, 64, 64}, {64, 64, 64}, {200, 200, 200}, {300, 300, 300}, {3, 256, 100}, {1000, 4, 50}, {1, 4096, 1024}} {
		m, n, k := s[0], s[1], s[2]
		a32, b32, c32 := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		a64, b64, c64 := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
		pb32, pb64 := PackB32(true, k, n, b32, k), PackB64(false, k, n, b64, n)
		ep32 := &Epilogue[float32]{Bias: make([]float32, n), Act: ActUnary, Op: OpRelu, Residual: make([]float32, m*n), LdR: n}
		ep64 := &Epilogue[float64]{Bias: make([]float64, n), Act: ActClip, Lo: -1, Hi: 1}
		for _, pool := range []*Pool{nil, p} {
			w := new(Worker)
			f := func() {
				Sgemm(pool, w, false, true, m, n, k, 1, a32, k, b32, k, 0, c32, n)
				Sgemm(pool, w, false, false, m, n, k, 1, a32, k, b32, n, 0, c32, n)
				Dgemm(pool, w, true, false, m, n, k, 1, a64, m, b64, n, 1, c64, n)
				Dgemm(pool, w, false, true, m, n, k, 1, a64, k, b64, k, 0.5, c64, n)
				SgemmEpilogue(pool, w, false, false, m, n, k, 1, a32, k, b32, n, 1, c32, n, ep32)
				SgemmPacked(pool, w, false, m, 1, a32, k, pb32, 1, c32, n, ep32)
				DgemmPacked(pool, w, true, m, 1, a64, m, pb64, 0.5, c64, n, ep64)
			}
			f() // grow scratch in every Worker first
			f()
			if got := testing.AllocsPerRun(20, f); got != 0 {
				t.Errorf("%dx%dx%d pool=%v: %v allocs per run, want 0", m, n, k, pool != nil, got)
			}
		}
	}
}

// TestGemmScratchIsolation checks that C may live in the Worker's general
// scratch: GEMM packs into memory of its own.
func TestGemmScratchIsolation(t *testing.T) {
	w := new(Worker)
	c := w.Float32s(4 * 5)
	a := []float32{1, 2, 3, 4, 5, 6, 7, 8}       // 4×2
	b := []float32{1, 0, 0, 1, 1, 0, 1, 1, 0, 1} // 2×5
	Sgemm(nil, w, false, false, 4, 5, 2, 1, a, 2, b, 5, 0, c, 5)
	want := []float32{1, 2, 2, 1, 3, 3, 4, 4, 3, 7, 5, 6, 6, 5, 11, 7, 8, 8, 7, 15}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("C = %v, want %v", c, want)
		}
	}
	// A nil Worker is tolerated.
	Sgemm(nil, nil, false, false, 4, 5, 2, 1, a, 2, b, 5, 0, c, 5)
	if c[19] != 15 {
		t.Fatalf("nil Worker: C = %v", c)
	}
}

// benchGemm runs f on a Pool of runtime.NumCPU() goroutines, or of
// $MLE_BENCH_THREADS (1 measures one goroutine).
func benchGemm(b *testing.B, f func(p *Pool, w *Worker, m, n, k int)) {
	threads := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("MLE_BENCH_THREADS")); err == nil && v > 0 {
		threads = v
	}
	p := NewPool(threads)
	defer p.Close()
	for _, s := range [][3]int{{1, 64, 64}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048}} {
		m, n, k := s[0], s[1], s[2]
		name := fmt.Sprintf("%dx%dx%d", m, n, k)
		if m == n && n == k {
			name = fmt.Sprint(m)
		}
		b.Run(name, func(b *testing.B) {
			w := new(Worker)
			f(p, w, m, n, k) // warm the scratch
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f(p, w, m, n, k)
			}
			flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkSgemm(b *testing.B) {
	var a, bb, c []float32
	benchGemm(b, func(p *Pool, w *Worker, m, n, k int) {
		if len(a) != m*k || len(bb) != k*n {
			a, bb, c = make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			for i := range a {
				a[i] = float32(i%7) * 0.25
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.5
			}
		}
		Sgemm(p, w, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	})
}

// BenchmarkSgemmPacked is BenchmarkSgemm with B packed once, outside the
// loop, as for a layer's weights.
func BenchmarkSgemmPacked(b *testing.B) {
	var a, bb, c []float32
	var pb *PackedB[float32]
	benchGemm(b, func(p *Pool, w *Worker, m, n, k int) {
		if len(a) != m*k || len(bb) != k*n {
			a, bb, c = make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			for i := range a {
				a[i] = float32(i%7) * 0.25
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.5
			}
			pb = PackB32(false, k, n, bb, n)
		}
		SgemmPacked(p, w, false, m, 1, a, k, pb, 0, c, n, nil)
	})
}

func BenchmarkDgemm(b *testing.B) {
	var a, bb, c []float64
	benchGemm(b, func(p *Pool, w *Worker, m, n, k int) {
		if len(a) != m*k || len(bb) != k*n {
			a, bb, c = make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
			for i := range a {
				a[i] = float64(i%7) * 0.25
			}
			for i := range bb {
				bb[i] = float64(i%5) * 0.5
			}
		}
		Dgemm(p, w, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	})
}

// TestGemmMicroKernels runs every micro-kernel on the same packed operands
// as the plain-loop reference of the same shape: the SIMD kernels must agree
// with it, and beta == 0 must ignore NaN in C.
func TestGemmMicroKernels(t *testing.T) {
	testMicro(t, gemmKernels32(), 1e-5)
	testMicro(t, gemmKernels64(), 1e-13)
}

func gemmKernels32() []*gemmKernel[float32] {
	var ks []*gemmKernel[float32]
	for _, v := range gemmVariants {
		ks = append(ks, v.s)
	}
	return ks
}

func gemmKernels64() []*gemmKernel[float64] {
	var ks []*gemmKernel[float64]
	for _, v := range gemmVariants {
		ks = append(ks, v.d)
	}
	return ks
}

func testMicro[T gemmFloat](t *testing.T, kerns []*gemmKernel[T], tol float64) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kern := range kerns {
		mr, nr := kern.mr, kern.nr
		for _, kc := range []int{1, 2, 3, 7, 64, 257} {
			for _, beta := range []T{0, 1, -0.5} {
				// The source of the beta term: C itself, or a bias row
				// read with row stride 0.
				for _, bias := range []bool{false, true} {
					a, b := make([]T, kc*mr), make([]T, kc*nr)
					for i := range a {
						a[i] = T(rng.Float64()*2 - 1)
					}
					for i := range b {
						b[i] = T(rng.Float64()*2 - 1)
					}
					ldc := nr + 3
					size := (mr-1)*ldc + nr
					c, want := make([]T, size), make([]T, size)
					for i := range c {
						c[i] = T(rng.Float64())
						if beta == 0 && i%ldc < nr {
							c[i] = T(math.NaN())
						}
						want[i] = c[i]
					}
					s, ws, lds := c[:size:size], want, ldc
					if bias {
						row := make([]T, nr)
						for j := range row {
							row[j] = T(rng.Float64())
						}
						s, ws, lds = row, row, 0
					}
					alpha := T(0.75)
					kern.fn(kc, a, b, alpha, beta, c[:size:size], ldc, s, lds)
					gemmMicroRef(mr, nr, kc, a, b, alpha, beta, want, ldc, ws, lds)
					for i := range c {
						if i%ldc >= nr {
							if c[i] != want[i] {
								t.Fatalf("%s kc=%d: wrote outside the tile at %d", kern.name, kc, i)
							}
							continue
						}
						d := math.Abs(float64(c[i] - want[i]))
						if !(d <= tol*math.Sqrt(float64(kc))*(1+math.Abs(float64(want[i])))) {
							t.Fatalf("%s kc=%d beta=%v bias=%v: c[%d] = %v, want %v", kern.name, kc, beta, bias, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkGemmBlocks sweeps cache block sizes of the active kernels on one
// goroutine, to choose mc, kc and nc for a machine: nc·kc is the B block
// meant for L2, mr·kc the A sliver for L1 (see gemmTask.block). On a noisy
// VM run it with -count and compare medians.
func BenchmarkGemmBlocks(b *testing.B) {
	n := 1024
	if v, err := strconv.Atoi(os.Getenv("MLE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	s0, d0 := sgemmKern, dgemmKern
	defer func() { sgemmKern, dgemmKern = s0, d0 }()
	a32, b32, c32 := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	a64, b64, c64 := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	w := new(Worker)
	for _, mc := range []int{384, 768, 1536} {
		for _, kc := range []int{128, 256, 384, 512} {
			for _, nc := range []int{128, 256, 512, 1024} {
				ks, kd := *s0, *d0
				ks.mc, ks.kc, ks.nc = roundUp(mc, ks.mr), kc, roundUp(nc, ks.nr)
				kd.mc, kd.kc, kd.nc = roundUp(mc, kd.mr), kc, roundUp(nc, kd.nr)
				sgemmKern, dgemmKern = &ks, &kd
				name := fmt.Sprintf("mc=%d,kc=%d,nc=%d", mc, kc, nc)
				b.Run("f32/"+name, func(b *testing.B) {
					for b.Loop() {
						Sgemm(nil, w, false, false, n, n, n, 1, a32, n, b32, n, 0, c32, n)
					}
					b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
				b.Run("f64/"+name, func(b *testing.B) {
					for b.Loop() {
						Dgemm(nil, w, false, false, n, n, n, 1, a64, n, b64, n, 0, c64, n)
					}
					b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkGemv measures the few-row and few-column products that take the
// direct (unpacked) path: 1-row inference through dense and torch Linear
// (transB) layers, a 4-row batch, and a tall-thin logistic-regression head.
// The pool has runtime.NumCPU() goroutines, or $MLE_BENCH_THREADS.
func BenchmarkGemv(b *testing.B) {
	threads := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("MLE_BENCH_THREADS")); err == nil && v > 0 {
		threads = v
	}
	p := NewPool(threads)
	defer p.Close()
	cases := []struct {
		f64            bool
		m, n, k        int
		transA, transB bool
	}{
		{false, 1, 256, 784, false, false},
		{false, 1, 256, 784, false, true},
		{false, 1, 4096, 1024, false, true},
		{false, 4, 256, 256, false, false},
		{false, 4, 256, 256, false, true},
		{true, 10000, 4, 50, false, true},
	}
	for _, cs := range cases {
		m, n, k := cs.m, cs.n, cs.k
		typ := "f32"
		if cs.f64 {
			typ = "f64"
		}
		name := fmt.Sprintf("%s/%dx%dx%d", typ, m, k, n)
		if cs.transB {
			name += "/transB"
		}
		lda, ldb := k, n
		if cs.transB {
			ldb = k
		}
		rng := rand.New(rand.NewPCG(7, 8))
		a, bb := make([]float64, m*k), make([]float64, k*n)
		for i := range a {
			a[i] = rng.Float64()*2 - 1
		}
		for i := range bb {
			bb[i] = rng.Float64()*2 - 1
		}
		c := make([]float64, m*n)
		a32, b32, c32 := toF32(a), toF32(bb), toF32(c)
		b.Run(name, func(b *testing.B) {
			w := new(Worker)
			f := func() {
				if cs.f64 {
					Dgemm(p, w, cs.transA, cs.transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
				} else {
					Sgemm(p, w, cs.transA, cs.transB, m, n, k, 1, a32, lda, b32, ldb, 0, c32, n)
				}
			}
			f() // warm the scratch
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f()
			}
			flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestGemmSelect checks MLE_GEMM_KERNEL's choice among the families this
// CPU has (listed from the plainest to the best).
func TestGemmSelect(t *testing.T) {
	names := map[string]bool{}
	for _, v := range gemmVariants {
		names[v.name] = true
	}
	best := gemmVariants[len(gemmVariants)-1].name
	cases := map[string]string{"": best, "go": "go", "bogus": best}
	switch {
	case names["avx512"]:
		cases["avx2"], cases["avx512"] = "avx2", "avx512"
	case names["avx2"]:
		cases["avx2"], cases["avx512"] = "avx2", "avx2"
	default:
		cases["avx2"], cases["avx512"] = "go", "go"
	}
	for want, got := range cases {
		if v := gemmSelect(want); v.name != got {
			t.Errorf("gemmSelect(%q) = %s, want %s", want, v.name, got)
		}
	}
	// The kernels in use are the ones the environment asked for.
	if v := gemmSelect(gemmKernelChoice()); sgemmKern != v.s || dgemmKern != v.d {
		t.Errorf("kernels in use %s/%s, want %s", sgemmKern.name, dgemmKern.name, v.name)
	}
}

// The short kernels for a product's last rows give every element the bits
// the edge path gave it before they existed (alpha = 1.5, beta 0 and 1,
// and a bias row), for every remainder of rows and on partial column tiles.
func TestGemmShortKernelsSameBits(t *testing.T) {
	s0, d0 := sgemmKern, dgemmKern
	defer func() { sgemmKern, dgemmKern = s0, d0 }()
	rng := rand.New(rand.NewPCG(11, 12))
	tested := 0
	for _, v := range gemmVariants {
		if len(v.s.short) == 0 || len(v.d.short) == 0 {
			continue
		}
		tested++
		noS, noD := *v.s, *v.d
		noS.short, noD.short = nil, nil
		for r := 0; r < v.s.mr; r++ {
			m, k := 2*v.s.mr+r, 37
			for _, n := range []int{v.s.nr, v.s.nr + 5} {
				a, b := make([]float32, m*k), make([]float32, k*n)
				ad, bd := make([]float64, m*k), make([]float64, k*n)
				for i := range a {
					ad[i] = rng.NormFloat64()
					a[i] = float32(ad[i])
				}
				for i := range b {
					bd[i] = rng.NormFloat64()
					b[i] = float32(bd[i])
				}
				bias := make([]float32, n)
				biasd := make([]float64, n)
				for j := range bias {
					biasd[j] = rng.NormFloat64()
					bias[j] = float32(biasd[j])
				}
				for _, beta := range []float32{0, 1} {
					var want, got [2][]float32
					var wantd, gotd [2][]float64
					for i, kp := range []*gemmKernel[float32]{&noS, v.s} {
						sgemmKern = kp
						c := make([]float32, m*n)
						for j := range c {
							c[j] = float32(j%7) - 3
						}
						SgemmEpilogue(nil, nil, false, false, m, n, k, 1.5, a, k, b, n, beta, c, n, &Epilogue[float32]{Bias: bias})
						want[i] = c
						c2 := make([]float32, m*n)
						for j := range c2 {
							c2[j] = float32(j%5) - 2
						}
						Sgemm(nil, nil, false, false, m, n, k, 1.5, a, k, b, n, beta, c2, n)
						got[i] = c2
					}
					for i, kp := range []*gemmKernel[float64]{&noD, v.d} {
						dgemmKern = kp
						c := make([]float64, m*n)
						for j := range c {
							c[j] = float64(j%7) - 3
						}
						DgemmEpilogue(nil, nil, false, false, m, n, k, 1.5, ad, k, bd, n, float64(beta), c, n, &Epilogue[float64]{Bias: biasd})
						wantd[i] = c
						c2 := make([]float64, m*n)
						for j := range c2 {
							c2[j] = float64(j%5) - 2
						}
						Dgemm(nil, nil, false, false, m, n, k, 1.5, ad, k, bd, n, float64(beta), c2, n)
						gotd[i] = c2
					}
					for j := range want[0] {
						if math.Float32bits(want[0][j]) != math.Float32bits(want[1][j]) || math.Float32bits(got[0][j]) != math.Float32bits(got[1][j]) {
							t.Fatalf("%s f32 m=%d n=%d beta=%v: element %d differs with the short kernels", v.name, m, n, beta, j)
						}
						if math.Float64bits(wantd[0][j]) != math.Float64bits(wantd[1][j]) || math.Float64bits(gotd[0][j]) != math.Float64bits(gotd[1][j]) {
							t.Fatalf("%s f64 m=%d n=%d beta=%v: element %d differs with the short kernels", v.name, m, n, beta, j)
						}
					}
				}
			}
		}
	}
	if tested == 0 {
		t.Log("no kernel family with short kernels on this machine")
	}
}

// A narrow product runs on the one-vector kernel and gets the bits the
// full-width kernel gives it, packed B or not, for every width up to the
// narrow kernel's and row counts around the tile.
func TestGemmNarrowKernelSameBits(t *testing.T) {
	s0, d0 := sgemmKern, dgemmKern
	defer func() { sgemmKern, dgemmKern = s0, d0 }()
	rng := rand.New(rand.NewPCG(13, 14))
	for _, v := range gemmVariants {
		if v.s.narrow == nil || v.d.narrow == nil {
			continue
		}
		wideS, wideD := *v.s, *v.d
		wideS.narrow, wideD.narrow = nil, nil
		for _, m := range []int{5, 12, 29} {
			for n := 5; n <= v.s.narrow.nr; n++ {
				k := 21
				ad, bd := make([]float64, m*k), make([]float64, k*n)
				for i := range ad {
					ad[i] = rng.NormFloat64()
				}
				for i := range bd {
					bd[i] = rng.NormFloat64()
				}
				a, b := to32(ad), to32(bd)
				var outS [2][]float32
				var outD [2][]float64
				for i, kp := range []*gemmKernel[float32]{&wideS, v.s} {
					sgemmKern = kp
					c := make([]float32, 2*m*n)
					Sgemm(nil, nil, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
					SgemmPacked(nil, nil, false, m, 1, a, k, PackB32(false, k, n, b, n), 0, c[m*n:], n, nil)
					outS[i] = c
				}
				for i, kp := range []*gemmKernel[float64]{&wideD, v.d} {
					dgemmKern = kp
					c := make([]float64, 2*m*n)
					Dgemm(nil, nil, false, false, m, n, k, 1, ad, k, bd, n, 0, c, n)
					DgemmPacked(nil, nil, false, m, 1, ad, k, PackB64(false, k, n, bd, n), 0, c[m*n:], n, nil)
					outD[i] = c
				}
				for j := range outS[0] {
					if math.Float32bits(outS[0][j]) != math.Float32bits(outS[1][j]) {
						t.Fatalf("%s f32 m=%d n=%d: element %d differs on the narrow kernel", v.name, m, n, j)
					}
					if math.Float64bits(outD[0][j]) != math.Float64bits(outD[1][j]) {
						t.Fatalf("%s f64 m=%d n=%d: element %d differs on the narrow kernel", v.name, m, n, j)
					}
				}
			}
		}
	}
}

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// TestGemmDirectTransBSplitBits checks that direct products of a
// transposed B (gemvT), which split into narrow column chunks, give the
// serial product's bits: every column is one dot product whatever chunk
// and block it falls in.
func TestGemmDirectTransBSplitBits(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	defer func() { gemmForceSplit = false }()
	rng := rand.New(rand.NewPCG(11, 12))
	w := new(Worker)
	for _, s := range [][3]int{{1, 33, 70}, {1, 144, 576}, {2, 577, 144}, {4, 1000, 129}, {1, 40, 3}} {
		m, n, k := s[0], s[1], s[2]
		a, b := make([]float32, m*k), make([]float32, n*k)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		serial, split := make([]float32, m*n), make([]float32, m*n)
		gemmForceSplit = false
		Sgemm(nil, w, false, true, m, n, k, 1, a, k, b, k, 0, serial, n)
		gemmForceSplit = true
		Sgemm(p, w, false, true, m, n, k, 1, a, k, b, k, 0, split, n)
		for i := range serial {
			if math.Float32bits(serial[i]) != math.Float32bits(split[i]) {
				t.Fatalf("%d×%d×%d: element %d split %v, serial %v", m, n, k, i, split[i], serial[i])
			}
		}
	}
}
