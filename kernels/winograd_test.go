package kernels

import (
	"golang.org/x/sys/cpu"
	"math"
	"math/rand"
	"testing"
)

// winoVariant is one Winograd algorithm's transforms, for the tests.
type winoVariant struct {
	name       string
	products   int
	tiles      func(oh, ow int) (th, tw int)
	splitElems func(th, tw int) int
	filter     func(u, w []float32, m, c int)
	split      func(eo, x []float32, h, w, ph, pw, th, tw int)
	input      func(v []float32, vs, ld int, eo []float32, ci, th, tw int)
	output     func(y, mt []float32, ms, ld int, bias float32, mo, oh, ow int)
	tol        float64
}

var winoVariants = []winoVariant{
	{"F(2×2, 3×3)", 16, WinogradTiles, func(th, tw int) int { return 2 * (2*th + 2) * WinogradRow(tw) },
		WinogradFilter, WinogradSplit, WinogradInput, WinogradOutput, 1e-4},
	{"F(4×4, 3×3)", 36, Winograd4Tiles, Winograd4SplitElems,
		Winograd4Filter, Winograd4Split, Winograd4Input, Winograd4Output, 2e-4},
}

// TestWinogradMatchesReference runs each algorithm's transforms with the
// GEMM for its products over random channel counts, odd and even sizes
// (tile rows of 1 to 40 tiles: whole and partial vectors) and pads 0–2,
// against the float64 reference convolution.
func TestWinogradMatchesReference(t *testing.T) {
	for _, wv := range winoVariants {
		t.Run(wv.name, func(t *testing.T) { testWinograd(t, wv) })
	}
}

func testWinograd(t *testing.T, wv winoVariant) {
	if !WinogradAvailable() {
		// The engine then keeps such layers on the other paths (its
		// maybeWino checks this), which their own tests cover.
		if len(convMicros) > 0 && cpu.X86.HasBMI2 {
			t.Fatal("direct kernels without the Winograd transforms")
		}
		return
	}
	r := rand.New(rand.NewSource(7))
	maxErr := 0.0
	for trial := 0; trial < 80; trial++ {
		c, m := 1+r.Intn(20), 1+r.Intn(20)
		s := ConvShape{H: 1 + r.Intn(15), W: 1 + r.Intn(80), KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1}
		s.PH, s.PW = r.Intn(3), r.Intn(3)
		s.PHEnd, s.PWE = r.Intn(3), r.Intn(3)
		s.OH, s.OW = s.H+s.PH+s.PHEnd-2, s.W+s.PW+s.PWE-2
		if s.OH < 1 || s.OW < 1 {
			continue
		}
		// n images side by side in each transformed row, as the engine
		// runs a batch pass.
		n := 1 + r.Intn(3)
		hw := s.H * s.W
		x, w, b := randF32(r, n*c*hw), randF32(r, m*c*9), randF32(r, m)
		var want []float64
		for img := 0; img < n; img++ {
			want = append(want, naiveConv(x[img*c*hw:], w, b, &s, c, 1, m)...)
		}
		th, tw := wv.tiles(s.OH, s.OW)
		T := th * tw
		ld := n * T
		np := wv.products
		u := make([]float32, np*c*m)
		wv.filter(u, w, m, c)
		vs, ms := WinogradStride(c*ld), WinogradStride(m*ld)
		v := make([]float32, np*vs)
		eo := make([]float32, wv.splitElems(th, tw))
		for img := 0; img < n; img++ {
			for ci := 0; ci < c; ci++ {
				for i := range eo {
					eo[i] = float32(math.NaN()) // WinogradSplit writes every value read
				}
				wv.split(eo, x[(img*c+ci)*hw:], s.H, s.W, s.PH, s.PW, th, tw)
				wv.input(v[img*T:], vs, ld, eo, ci, th, tw)
			}
		}
		mt := make([]float32, np*ms)
		for k := 0; k < np; k++ {
			SgemmEpilogue(nil, nil, false, false, m, ld, c, 1, u[k*m*c:(k+1)*m*c], c, v[k*vs:k*vs+c*ld], ld, 0, mt[k*ms:k*ms+m*ld], ld, nil)
		}
		p := s.OH * s.OW
		y := make([]float32, n*m*p+1)
		y[n*m*p] = 12345 // nothing written past the planes
		for img := 0; img < n; img++ {
			for mo := 0; mo < m; mo++ {
				wv.output(y[(img*m+mo)*p:(img*m+mo+1)*p], mt[img*T:], ms, ld, b[mo], mo, s.OH, s.OW)
			}
		}
		if y[n*m*p] != 12345 {
			t.Fatalf("trial %d: wrote past the output", trial)
		}
		worst := 0.0
		for i, v := range y[:n*m*p] {
			worst = math.Max(worst, math.Abs(float64(v)-want[i])/(1+math.Abs(want[i])))
			if math.Abs(float64(v)-want[i]) > wv.tol*(1+math.Abs(want[i])) {
				t.Fatalf("trial %d %+v c=%d m=%d: y[%d] = %v, want %v", trial, s, c, m, i, v, want[i])
			}
		}
		maxErr = math.Max(maxErr, worst)
	}
	t.Logf("largest error: %.2g of 1 + |y|", maxErr)
}

// BenchmarkWinograd times one image's whole convolution (split, input
// transform, the products, output transform) on one thread, per algorithm,
// at resnet18's layer1–3 shapes.
func BenchmarkWinograd(b *testing.B) {
	if !WinogradAvailable() {
		b.Skip("no Winograd transforms on this CPU")
	}
	for _, l := range []struct {
		name string
		c, h int
	}{{"r18-l1", 64, 56}, {"r18-l2", 128, 28}, {"r18-l3", 256, 14}} {
		r := rand.New(rand.NewSource(8))
		c, m, h := l.c, l.c, l.h
		x, w, bias := randF32(r, c*h*h), randF32(r, m*c*9), randF32(r, m)
		y := make([]float32, m*h*h)
		for _, wv := range winoVariants {
			b.Run(l.name+"/"+wv.name, func(b *testing.B) {
				th, tw := wv.tiles(h, h)
				T, np := th*tw, wv.products
				u := make([]float32, np*c*m)
				wv.filter(u, w, m, c)
				pas := make([]*PackedA[float32], np)
				for k := range pas {
					pas[k] = NewPackedA32(m, c)
					pas[k].PackRows(u[k*m*c:(k+1)*m*c], c, 0, m)
				}
				vs, ms := WinogradStride(c*T), WinogradStride(m*T)
				v, mt := make([]float32, np*vs), make([]float32, np*ms)
				eo := make([]float32, wv.splitElems(th, tw))
				wk := new(Worker)
				for b.Loop() {
					for ci := 0; ci < c; ci++ {
						wv.split(eo, x[ci*h*h:], h, h, 1, 1, th, tw)
						wv.input(v, vs, T, eo, ci, th, tw)
					}
					for k := 0; k < np; k++ {
						SgemmPackedA(nil, wk, pas[k], false, T, 1, v[k*vs:k*vs+c*T], T, 0, mt[k*ms:k*ms+m*T], T, nil)
					}
					for mo := 0; mo < m; mo++ {
						wv.output(y[mo*h*h:(mo+1)*h*h], mt, ms, T, bias[mo], mo, h, h)
					}
				}
				b.ReportMetric(2*float64(m*c*9*h*h)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
