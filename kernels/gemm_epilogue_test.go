package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// gemmEpCase is one fused product: the GEMM plus its epilogue.
type gemmEpCase struct {
	g        gemmCase
	bias     bool
	act      Activation
	op       UnaryOp
	residual bool
}

func (c gemmEpCase) String() string {
	return fmt.Sprintf("%v/bias=%v,act=%d,op=%d,res=%v", c.g, c.bias, c.act, c.op, c.residual)
}

// gemmEpActs are the activations checked: every Unary op the engine fuses
// after a GEMM, a clip, and none.
var gemmEpActs = []struct {
	act   Activation
	op    UnaryOp
	alpha float64
}{
	{ActNone, 0, 0}, {ActUnary, OpRelu, 0}, {ActUnary, OpLeakyRelu, 0.1}, {ActUnary, OpGeluErf, 0},
	{ActUnary, OpGeluTanh, 0}, {ActUnary, OpTanh, 0}, {ActUnary, OpSigmoid, 0}, {ActClip, 0, 0},
}

// gemmEpOperands are a case's operands in T, with NaN and Inf planted in
// A, B, the bias and the residual when poison is set.
type gemmEpOperands[T Float] struct {
	a, b, c, bias, res []T
	lda, ldb, ldc, ldr int
}

func newGemmEpOperands[T Float](c gemmEpCase, rng *rand.Rand, poison bool) gemmEpOperands[T] {
	g := c.g
	o := newGemmOperands(g, rng)
	conv := func(s []float64) []T {
		r := make([]T, len(s))
		for i, v := range s {
			r[i] = T(v)
		}
		return r[:len(r):len(r)]
	}
	e := gemmEpOperands[T]{a: conv(o.a), b: conv(o.b), c: conv(o.c), lda: o.lda, ldb: o.ldb, ldc: o.ldc}
	if c.bias {
		e.bias = make([]T, g.n)
		for j := range e.bias {
			e.bias[j] = T(rng.Float64()*4 - 2)
		}
	}
	if c.residual {
		e.ldr = g.n + g.pad
		e.res = make([]T, max((g.m-1)*e.ldr+g.n, 0))
		for i := range e.res {
			e.res[i] = T(rng.Float64()*2 - 1)
		}
	}
	if poison {
		plant := func(s []T, v T) {
			if len(s) > 0 {
				s[rng.IntN(len(s))] = v
			}
		}
		inf := T(math.Inf(1))
		plant(e.a, T(math.NaN()))
		plant(e.b, inf)
		plant(e.b, -inf)
		plant(e.bias, T(math.NaN()))
		plant(e.bias, inf)
		plant(e.res, -inf)
		plant(e.res, T(math.NaN()))
	}
	return e
}

func (o *gemmEpOperands[T]) epilogue(c gemmEpCase) *Epilogue[T] {
	ep := &Epilogue[T]{Bias: o.bias, Act: c.act, Op: c.op, Lo: -0.5, Hi: 0.75, Residual: o.res, LdR: o.ldr}
	for _, a := range gemmEpActs {
		if a.act == c.act && a.op == c.op {
			ep.Alpha = a.alpha
		}
	}
	return ep
}

// gemmUnfused computes the epilogue's documented unfused sequence with the
// plain GEMM entry points and the engine's elementwise kernels.
func gemmUnfused[T Float](p *Pool, w *Worker, c gemmEpCase, o *gemmEpOperands[T], ep *Epilogue[T]) []T {
	g := c.g
	out := append([]T(nil), o.c...)
	if ep.Bias != nil && g.n > 0 {
		for i := 0; i < g.m; i++ {
			copy(out[i*o.ldc:i*o.ldc+g.n], ep.Bias)
		}
	}
	switch any(out).(type) {
	case []float32:
		Sgemm(p, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), any(o.a).([]float32), o.lda, any(o.b).([]float32), o.ldb, float32(g.beta), any(out).([]float32), o.ldc)
	case []float64:
		Dgemm(p, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, any(o.a).([]float64), o.lda, any(o.b).([]float64), o.ldb, g.beta, any(out).([]float64), o.ldc)
	}
	if g.m == 0 || g.n == 0 {
		return out
	}
	// The engine applies one call to a dense tensor; rows otherwise.
	rows, width, ld := g.m, g.n, o.ldc
	if o.ldc == g.n {
		rows, width, ld = 1, g.m*g.n, 0
	}
	for i := 0; i < rows; i++ {
		run := out[i*ld : i*ld+width]
		switch ep.Act {
		case ActUnary:
			Unary(ep.Op, run, run, ep.Alpha)
		case ActClip:
			Clip(run, run, ep.Lo, ep.Hi)
		}
	}
	if ep.Residual != nil {
		for i := 0; i < g.m; i++ {
			s := NewStrided([]int64{int64(g.n)}, []int64{int64(g.n)}, []int64{int64(g.n)})
			row := out[i*o.ldc : i*o.ldc+g.n]
			Binary(OpAdd, &s, row, row, ep.Residual[i*ep.LdR:i*ep.LdR+g.n], 0, 1)
		}
	}
	return out
}

// sameBits reports whether x and y have the same bits. checkSameBits lets
// a NaN from an activation match any NaN: vmath's vector and scalar code
// give a NaN input different signs (IEEE leaves a NaN's sign and payload
// to the implementation), and where a run of C starts decides which code
// an element gets.
func sameBits[T Float](x, y T) bool {
	switch v := any(x).(type) {
	case float32:
		return math.Float32bits(v) == math.Float32bits(any(y).(float32))
	default:
		return math.Float64bits(any(x).(float64)) == math.Float64bits(any(y).(float64))
	}
}

func checkSameBits[T Float](t *testing.T, what string, c gemmEpCase, ldc int, got, want []T) {
	t.Helper()
	for i := range want {
		if !sameBits(got[i], want[i]) && !(c.act == ActUnary && got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s %v: C[%d,%d] = %v, want %v", what, c, i/ldc, i%ldc, got[i], want[i])
		}
	}
}

// runEpCase checks the fused entry points against the unfused sequence,
// serially and on p, with B unpacked and packed.
func runEpCase[T Float](t *testing.T, p *Pool, w *Worker, c gemmEpCase, rng *rand.Rand, poison bool) {
	t.Helper()
	o := newGemmEpOperands[T](c, rng, poison)
	ep := o.epilogue(c)
	want := gemmUnfused(nil, w, c, &o, ep)
	g := c.g
	for _, pool := range []*Pool{nil, p} {
		got := append([]T(nil), o.c...)
		gotP := append([]T(nil), o.c...)
		switch any(got).(type) {
		case []float32:
			a, b := any(o.a).([]float32), any(o.b).([]float32)
			e := any(ep).(*Epilogue[float32])
			SgemmEpilogue(pool, w, g.transA, g.transB, g.m, g.n, g.k, float32(g.alpha), a, o.lda, b, o.ldb, float32(g.beta), any(got).([]float32), o.ldc, e)
			pb := PackB32(g.transB, g.k, g.n, b, o.ldb)
			SgemmPacked(pool, w, g.transA, g.m, float32(g.alpha), a, o.lda, pb, float32(g.beta), any(gotP).([]float32), o.ldc, e)
		case []float64:
			a, b := any(o.a).([]float64), any(o.b).([]float64)
			e := any(ep).(*Epilogue[float64])
			DgemmEpilogue(pool, w, g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, o.lda, b, o.ldb, g.beta, any(got).([]float64), o.ldc, e)
			pb := PackB64(g.transB, g.k, g.n, b, o.ldb)
			DgemmPacked(pool, w, g.transA, g.m, g.alpha, a, o.lda, pb, g.beta, any(gotP).([]float64), o.ldc, e)
		}
		checkSameBits(t, fmt.Sprintf("fused pool=%v", pool != nil), c, o.ldc, got, want)
		checkSameBits(t, fmt.Sprintf("packed pool=%v", pool != nil), c, o.ldc, gotP, want)
	}
}

// gemmEpShapes covers every path: blocked (with edge tiles), the direct
// few-row path, the transposed few-column path, zero rows or columns, one
// column, k == 0, and sizes off the tile grid.
func gemmEpShapes() [][3]int {
	return [][3]int{
		{0, 5, 3}, {5, 0, 3}, {4, 5, 0}, {6, 7, 5}, {1, 1, 1}, {1, 7, 9}, {3, 40, 17}, {4, 70, 33},
		{9, 1, 8}, {40, 3, 17}, {70, 4, 9}, {5, 5, 5}, {13, 37, 11}, {31, 29, 37}, {50, 70, 30},
		{sgemmKern.mr*2 + 1, sgemmKern.nr*2 + 3, 19}, {dgemmKern.mr + 3, dgemmKern.nr + 5, 23},
	}
}

// TestGemmEpilogue checks fused epilogues bit for bit against the unfused
// sequence for every kernel family, path, transpose, beta, activation, with
// and without bias and residual, serially and split over a pool.
func TestGemmEpilogue(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	gemmForceSplit = true
	defer func() { gemmForceSplit = false }()
	withKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		w := new(Worker)
		i := 0
		for _, s := range gemmEpShapes() {
			for tr := 0; tr < 4; tr++ {
				for _, beta := range []float64{0, 1, 0.25} {
					// Two activations per product, in turn: each takes
					// every path many times over the shapes.
					for n := 0; n < 2; n++ {
						i++
						ai := i % len(gemmEpActs)
						act := gemmEpActs[ai]
						alpha := []float64{1, 0.5, -2}[i%3]
						if s[0] == 6 && s[1] == 7 {
							alpha = 0 // the k == 0 path, reached through alpha
						}
						g := gemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], alpha, beta, (i / 3) % 2 * 3, ""}
						c := gemmEpCase{g: g, bias: (i/2)%2 == 0, act: act.act, op: act.op, residual: (i+ai)%3 != 0}
						poison := i%5 == 0
						runEpCase[float32](t, p, w, c, rng, poison)
						runEpCase[float64](t, p, w, c, rng, poison)
					}
				}
			}
		}
	})
}

// TestGemmEpilogueLarge checks real (not forced) splits and several KC
// blocks with the active kernels' own block sizes.
func TestGemmEpilogueLarge(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(23, 24))
	w := new(Worker)
	shapes := [][3]int{{301, 257, 300}, {1000, 3, 300}, {3, 3000, 700}}
	if testing.Short() {
		shapes = shapes[:1]
	}
	for _, s := range shapes {
		for tr := 0; tr < 4; tr++ {
			g := gemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], 0.5, 1, 1, ""}
			c := gemmEpCase{g: g, bias: true, act: ActUnary, op: OpGeluTanh, residual: true}
			runEpCase[float32](t, p, w, c, rng, tr == 3)
			runEpCase[float64](t, p, w, c, rng, false)
		}
	}
}

// TestGemmPackedBitExact checks that SgemmPacked and DgemmPacked give the
// bits of Sgemm and Dgemm on the unpacked B, and SgemmPackedA (A not
// transposed) on the unpacked A, for every kernel family and any pool, including products
// split into many row chunks.
func TestGemmPackedBitExact(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	// Big enough to split for real, and to cross the real KC once.
	// {200, 40, 30} splits into row chunks.
	shapes := [][3]int{{70, 65, 50}, {61, 101, 31}, {2, 300, 40}, {300, 2, 40}, {37, 41, 300}, {5, 6, 7}, {200, 40, 30}}
	withKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		w := new(Worker)
		for _, s := range shapes {
			for tr := 0; tr < 4; tr++ {
				g := gemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], 0.5, 0.25, 1, ""}
				o := newGemmOperands(g, rng)
				a32, b32 := toF32(o.a), toF32(o.b)
				pb32 := PackB32(g.transB, g.k, g.n, b32, o.ldb)
				pb64 := PackB64(g.transB, g.k, g.n, o.b, o.ldb)
				var pa32 *PackedA[float32]
				if !g.transA {
					pa32 = packA32(a32, o.lda, g.m, g.k)
				}
				want32 := toF32(o.c)
				Sgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, a32, o.lda, b32, o.ldb, 0.25, want32, o.ldc)
				want64 := append([]float64(nil), o.c...)
				Dgemm(nil, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, o.a, o.lda, o.b, o.ldb, 0.25, want64, o.ldc)
				for _, force := range []bool{false, true} {
					gemmForceSplit = force
					for _, pool := range []*Pool{nil, p} {
						c32 := toF32(o.c)
						SgemmPacked(pool, w, g.transA, g.m, 0.5, a32, o.lda, pb32, 0.25, c32, o.ldc, nil)
						checkSameBits(t, fmt.Sprintf("f32 packed pool=%v force=%v", pool != nil, force), gemmEpCase{g: g}, o.ldc, c32, want32)
						if pa32 != nil {
							a := toF32(o.c)
							SgemmPackedA(pool, w, pa32, g.transB, g.n, 0.5, b32, o.ldb, 0.25, a, o.ldc, nil)
							checkSameBits(t, fmt.Sprintf("f32 packed A pool=%v force=%v", pool != nil, force), gemmEpCase{g: g}, o.ldc, a, want32)
						}
						c64 := append([]float64(nil), o.c...)
						DgemmPacked(pool, w, g.transA, g.m, 0.5, o.a, o.lda, pb64, 0.25, c64, o.ldc, nil)
						checkSameBits(t, fmt.Sprintf("f64 packed pool=%v force=%v", pool != nil, force), gemmEpCase{g: g}, o.ldc, c64, want64)
						// The unpacked product split over the pool (B packed
						// once, shared by the row chunks) gives the same bits.
						u32 := toF32(o.c)
						Sgemm(pool, w, g.transA, g.transB, g.m, g.n, g.k, 0.5, a32, o.lda, b32, o.ldb, 0.25, u32, o.ldc)
						checkSameBits(t, fmt.Sprintf("f32 unpacked pool=%v force=%v", pool != nil, force), gemmEpCase{g: g}, o.ldc, u32, want32)
					}
				}
				gemmForceSplit = false
			}
		}
	})
}

// TestPackedBKeepsItsKernel checks that a PackedB runs with the kernel that
// packed it even after the active kernel changes: every family this CPU
// has, and each with other depth blocks (a packing in 7-deep blocks read
// as 256-deep ones would be garbage), so there are always several.
func TestPackedBKeepsItsKernel(t *testing.T) {
	s0 := sgemmKern
	defer func() { sgemmKern = s0 }()
	type named struct {
		name string
		k    *gemmKernel[float32]
	}
	var kerns []named
	for _, v := range gemmVariants {
		shallow := *v.s
		shallow.kc = 7
		kerns = append(kerns, named{v.name, v.s}, named{v.name + " kc=7", &shallow})
	}
	rng := rand.New(rand.NewPCG(27, 28))
	g := gemmCase{false, true, 50, 70, 300, 1, 0, 0, ""}
	o := newGemmOperands(g, rng)
	a, b := toF32(o.a), toF32(o.b)
	for _, v := range kerns {
		sgemmKern = v.k
		want := toF32(o.c)
		Sgemm(nil, nil, false, true, g.m, g.n, g.k, 1, a, o.lda, b, o.ldb, 0, want, o.ldc)
		pb := PackB32(true, g.k, g.n, b, o.ldb)
		for _, other := range kerns {
			sgemmKern = other.k
			got := toF32(o.c)
			SgemmPacked(nil, nil, false, g.m, 1, a, o.lda, pb, 0, got, o.ldc, nil)
			checkSameBits(t, v.name+" packed, run with "+other.name+" active", gemmEpCase{g: g}, o.ldc, got, want)
		}
	}
}

// packA32 packs the m×k A (row stride lda) two row blocks at a time, as
// Winograd fills its packings.
func packA32(a []float32, lda, m, k int) *PackedA[float32] {
	pa := NewPackedA32(m, k)
	for i0 := 0; i0 < m; i0 += 2 * pa.RowBlock() {
		pa.PackRows(a[i0*lda:], lda, i0, min(2*pa.RowBlock(), m-i0))
	}
	return pa
}

// TestPackedAOtherKernels checks that SgemmPackedA runs with the active
// kernel and gives its bits whatever kernel packed A: a packing with
// other slivers or depth blocks is read unpacked, then packed as usual.
func TestPackedAOtherKernels(t *testing.T) {
	s0 := sgemmKern
	defer func() { sgemmKern = s0 }()
	var kerns []*gemmKernel[float32]
	for _, v := range gemmVariants {
		shallow := *v.s
		shallow.kc = 7
		kerns = append(kerns, v.s, &shallow)
	}
	rng := rand.New(rand.NewPCG(29, 30))
	g := gemmCase{false, false, 50, 70, 300, 1, 0, 0, ""}
	o := newGemmOperands(g, rng)
	a, b := toF32(o.a), toF32(o.b)
	for i, v := range kerns {
		sgemmKern = v
		pa := packA32(a, o.lda, g.m, g.k)
		for j, other := range kerns {
			sgemmKern = other
			want := toF32(o.c)
			Sgemm(nil, nil, false, false, g.m, g.n, g.k, 1, a, o.lda, b, o.ldb, 0, want, o.ldc)
			got := toF32(o.c)
			SgemmPackedA(nil, nil, pa, false, g.n, 1, b, o.ldb, 0, got, o.ldc, nil)
			checkSameBits(t, fmt.Sprintf("packed with kernel %d, run with %d", i, j), gemmEpCase{g: g}, o.ldc, got, want)
		}
	}
}

// TestGemmStop checks that a fired Stop ends a product early on every path
// (including a split one that packs B in chunks of its own) and that the
// call returns.
func TestGemmStop(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	const n = 700
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for _, pool := range []*Pool{nil, p} {
		for _, m := range []int{n, 3} {
			// Fired before the product, and while it runs.
			for _, delay := range []time.Duration{0, time.Millisecond} {
				var flag atomic.Int32
				w := &Worker{Stop: new(Stop)}
				w.Stop.Reset(&flag, 0)
				if delay == 0 {
					flag.Store(1)
				} else {
					time.AfterFunc(delay, func() { flag.Store(1) })
				}
				done := make(chan struct{})
				go func() {
					Sgemm(pool, w, false, false, m, n, n, 1, a, n, b, n, 0, c, n)
					pb := PackB32(false, n, n, b, n)
					SgemmPacked(pool, w, false, m, 1, a, n, pb, 0, c, n, &Epilogue[float32]{Act: ActUnary, Op: OpRelu})
					close(done)
				}()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Fatalf("m=%d pool=%v delay=%v: a stopped product did not return", m, pool != nil, delay)
				}
			}
		}
	}
}

// TestGemmEpilogueChecks checks that short epilogue operands panic before
// any work.
func TestGemmEpilogueChecks(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 12), make([]float32, 9)
	for _, ep := range []*Epilogue[float32]{
		{Bias: make([]float32, 2)},
		{Residual: make([]float32, 8), LdR: 3},
		{Residual: make([]float32, 9), LdR: 2},
		{Act: 7},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v: no panic", ep)
				}
			}()
			SgemmEpilogue(nil, nil, false, false, 3, 3, 4, 1, a, 4, b, 3, 0, c, 3, ep)
		}()
	}
}

// BenchmarkGemmEpilogue compares a dense layer's GEMM + bias + activation
// fused (with B packed once, and unpacked) against the unfused sequence
// (bias copied into C, GEMM, Unary over C), at batch sizes where C leaves
// the caches and where it does not. The pool has runtime.NumCPU()
// goroutines, or $MLE_BENCH_THREADS.
func BenchmarkGemmEpilogue(b *testing.B) {
	threads := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("MLE_BENCH_THREADS")); err == nil && v > 0 {
		threads = v
	}
	p := NewPool(threads)
	defer p.Close()
	for _, s := range [][3]int{{64, 1024, 1024}, {4096, 512, 512}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, w, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
		bias := make([]float32, n)
		for i := range a {
			a[i] = float32(rng.Float64()*2 - 1)
		}
		for i := range w {
			w[i] = float32(rng.Float64()*2 - 1)
		}
		pb := PackB32(true, k, n, w, k)
		for _, op := range []UnaryOp{OpRelu, OpGeluErf} {
			ep := &Epilogue[float32]{Bias: bias, Act: ActUnary, Op: op}
			runs := map[string]func(wk *Worker){
				"unfused": func(wk *Worker) {
					for i := 0; i < m; i++ {
						copy(c[i*n:i*n+n], bias)
					}
					Sgemm(p, wk, false, true, m, n, k, 1, a, k, w, k, 1, c, n)
					Unary(op, c, c, 0)
				},
				"fused": func(wk *Worker) {
					SgemmEpilogue(p, wk, false, true, m, n, k, 1, a, k, w, k, 1, c, n, ep)
				},
				"fused-packed": func(wk *Worker) {
					SgemmPacked(p, wk, false, m, 1, a, k, pb, 1, c, n, ep)
				},
			}
			for _, name := range []string{"unfused", "fused", "fused-packed"} {
				f := runs[name]
				b.Run(fmt.Sprintf("%dx%dx%d/op=%d/%s", m, n, k, op, name), func(b *testing.B) {
					wk := new(Worker)
					f(wk)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						f(wk)
					}
					b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
