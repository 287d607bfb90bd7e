package kernels

import (
	"golang.org/x/sys/cpu"
	"math"
	"math/rand"
	"testing"
)

// TestWinogradMatchesReference runs the F(2×2, 3×3) transforms with the
// GEMM for the 16 products over random channel counts, odd and even sizes
// (tile rows of 1 to 40 tiles: whole and partial vectors) and pads 0–2,
// against the float64 reference convolution.
func TestWinogradMatchesReference(t *testing.T) {
	if !WinogradAvailable() {
		// The engine then keeps such layers on the other paths (its
		// maybeWino checks this), which their own tests cover.
		if len(convMicros) > 0 && cpu.X86.HasBMI2 {
			t.Fatal("direct kernels without the Winograd transforms")
		}
		return
	}
	r := rand.New(rand.NewSource(7))
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
		th, tw := WinogradTiles(s.OH, s.OW)
		T := th * tw
		ld := n * T
		u := make([]float32, 16*c*m)
		WinogradFilter(u, w, m, c)
		vs, ms := WinogradStride(c*ld), WinogradStride(m*ld)
		v := make([]float32, 16*vs)
		eo := make([]float32, 2*(2*th+2)*WinogradRow(tw))
		for img := 0; img < n; img++ {
			for ci := 0; ci < c; ci++ {
				for i := range eo {
					eo[i] = float32(math.NaN()) // WinogradSplit writes every value read
				}
				WinogradSplit(eo, x[(img*c+ci)*hw:], s.H, s.W, s.PH, s.PW, th, tw)
				WinogradInput(v[img*T:], vs, ld, eo, ci, th, tw)
			}
		}
		mt := make([]float32, 16*ms)
		for k := 0; k < 16; k++ {
			SgemmEpilogue(nil, nil, false, false, m, ld, c, 1, u[k*m*c:(k+1)*m*c], c, v[k*vs:k*vs+c*ld], ld, 0, mt[k*ms:k*ms+m*ld], ld, nil)
		}
		p := s.OH * s.OW
		y := make([]float32, n*m*p+1)
		y[n*m*p] = 12345 // nothing written past the planes
		for img := 0; img < n; img++ {
			for mo := 0; mo < m; mo++ {
				WinogradOutput(y[(img*m+mo)*p:(img*m+mo+1)*p], mt[img*T:], ms, ld, b[mo], mo, s.OH, s.OW)
			}
		}
		if y[n*m*p] != 12345 {
			t.Fatalf("trial %d: wrote past the output", trial)
		}
		for i, v := range y[:n*m*p] {
			if math.Abs(float64(v)-want[i]) > 1e-4*(1+math.Abs(want[i])) {
				t.Fatalf("trial %d %+v c=%d m=%d: y[%d] = %v, want %v", trial, s, c, m, i, v, want[i])
			}
		}
	}
}
