package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestTranspose16 checks the 16×16 transpose at every source row count,
// column count and lane count it takes: dst[j·ldd+i] = src[i·lds+j] for
// i < r, 0 for r <= i < w, nothing written past w lanes or c rows.
func TestTranspose16(t *testing.T) {
	if !blockAsm {
		if NewDepthwiseBlocked(&ConvShape{H: 4, W: 4, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 2, OW: 2}, 16, 1, 1) != nil {
			t.Fatal("a blocked depthwise plan without its kernels")
		}
		return
	}
	r := rand.New(rand.NewSource(3))
	const lds, ldd = 21, 19
	src := randF32(r, 16*lds)
	dst := make([]float32, 16*ldd)
	for rows := 0; rows <= 16; rows++ {
		for c := 0; c <= 16; c++ {
			for w := 0; w <= 16; w++ {
				for i := range dst {
					dst[i] = -7
				}
				transpose16F32(&dst[0], ldd, &src[0], lds, rows, c, w)
				for j := 0; j < 16; j++ {
					for i := 0; i < ldd; i++ {
						want := float32(-7)
						switch {
						case j >= c || i >= w:
						case i < rows:
							want = src[i*lds+j]
						default:
							want = 0
						}
						if got := dst[j*ldd+i]; got != want {
							t.Fatalf("r=%d c=%d w=%d: dst[%d][%d] = %v, want %v", rows, c, w, j, i, got, want)
						}
					}
				}
			}
		}
	}
}

// TestDepthwiseBlockedMatchesDirect runs the blocked depthwise path over
// random geometries (strides, dilations, uneven pads, 1-D, partial channel
// blocks, rows wider than 16, several images, tasks in any order) and
// checks every output bit for bit against the direct kernels' depthwise
// tile (the same FMA chain) followed by the activation's own kernel, and
// within float32 rounding of a float64 reference: with a ReLU and a
// residual (the epilogue's pass), a ReLU alone and a HardSwish alone (the
// kernel's).
func TestDepthwiseBlockedMatchesDirect(t *testing.T) {
	if !blockAsm {
		return // TestTranspose16 asserts the planner refuses
	}
	r := rand.New(rand.NewSource(2))
	for trial := 0; trial < 300; trial++ {
		s := randConvShape(r)
		if trial%3 == 0 && s.H > 1 { // wider rows: 8-pixel blocks and several transposes per row
			s.W += 30 + r.Intn(60)
			s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
		}
		if s.OH < 1 || s.OW < 1 {
			continue
		}
		c := 1 + r.Intn(70)
		n := 1 + r.Intn(3)
		threads := 1 + r.Intn(4)
		d := NewDepthwiseBlocked(&s, c, n, threads)
		if d == nil {
			t.Fatalf("%+v: no plan", s)
		}
		hw, p := s.H*s.W, s.OH*s.OW
		x := randF32(r, n*c*hw)
		w := randF32(r, c*s.KH*s.KW)
		var b []float32
		if r.Intn(2) == 0 {
			b = randF32(r, c)
		}
		var res []float32
		ep := &Epilogue[float32]{Act: ActUnary, Op: OpRelu}
		switch trial % 3 {
		case 0: // ReLU and residual: the epilogue's pass
			res = randF32(r, n*c*p)
			ep.Residual, ep.LdR = res, p
		case 2: // HardSwish alone: in the kernel, as the ReLU alone
			ep = &Epilogue[float32]{Act: ActUnary2, Op2: OpHardSwish}
		}

		pw := make([]float32, d.PackedElems())
		d.PackWeights(pw, w)
		pb := make([]float32, d.BiasElems())
		d.PadBias(pb, b)
		y := make([]float32, n*c*p)
		scratch := make([]float32, d.TaskElems())
		for _, task := range r.Perm(d.Tasks()) {
			for i := range scratch {
				scratch[i] = float32(math.NaN()) // unwritten scratch must never reach an output
			}
			d.Run(y, x, pw, pb, task, ep, scratch)
		}

		// The direct path, then the activation's own kernel.
		want := directDepthwise(x, w, b, &s, c, n, nil)
		ep.finishRun(want, res)
		for i, v := range y {
			if math.Float32bits(v) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d %+v n=%d c=%d threads=%d: y[%d] = %v, direct path %v", trial, s, n, c, threads, i, v, want[i])
			}
		}
		for i := 0; i < n; i++ {
			ref := naiveConv(x[i*c*hw:], w, b, &s, c, c, 1)
			for j, v := range ref {
				want := math.Max(v, 0)
				if ep.Act == ActUnary2 {
					want = v * min(max(v+3, 0), 6) / 6
				}
				if res != nil {
					want += float64(res[i*c*p+j])
				}
				if got := float64(y[i*c*p+j]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("trial %d %+v: y[%d] = %v, want %v", trial, s, i*c*p+j, got, want)
				}
			}
		}
	}
}

// directDepthwise runs the direct kernels' depthwise path over all of x.
func directDepthwise(x, w, b []float32, s *ConvShape, c, n int, ep *Epilogue[float32]) []float32 {
	d := NewDirectConv(s, c, c, 1)
	planes := make([]float32, d.PlaneElems(n))
	d.BuildPlanes(planes, x, n, 0, n*c)
	if d.Pointwise() {
		planes = x
	}
	pw := make([]float32, d.PackedElems())
	d.PackWeights(pw, w)
	pb := make([]float32, d.BiasElems())
	d.PadBias(pb, b)
	y := make([]float32, n*c*s.OH*s.OW)
	mb, qb := d.Blocks()
	d.Run(y, planes, pw, pb, n, 0, c, 0, mb, 0, n*qb, ep, make([]float32, d.TaskElems(mb, n*qb)))
	return y
}

// mobilenetDW are mobilenet_v3_small's depthwise convolutions at 224×224:
// channels, input size, kernel, stride.
var mobilenetDW = []struct{ c, h, k, st int }{
	{16, 112, 3, 2}, {72, 56, 3, 2}, {88, 28, 3, 1}, {96, 28, 5, 2},
	{240, 14, 5, 1}, {120, 14, 5, 1}, {144, 14, 5, 1}, {288, 14, 5, 2}, {576, 7, 5, 1},
}

// BenchmarkDepthwise compares the blocked and direct depthwise paths on
// mobilenet_v3_small's layers, one thread (planes built inside the timing).
func BenchmarkDepthwise(b *testing.B) {
	if !blockAsm {
		b.Skip("no blocked depthwise kernels on this CPU")
	}
	for _, l := range mobilenetDW {
		s := benchShape(l.c, l.h, l.k, l.st, l.k/2)
		r := rand.New(rand.NewSource(1))
		x, w, bias := randF32(r, l.c*l.h*l.h), randF32(r, l.c*l.k*l.k), randF32(r, l.c)
		y := make([]float32, l.c*s.OH*s.OW)
		name := fmt.Sprintf("c%d-%dx%d-k%ds%d", l.c, l.h, l.h, l.k, l.st)
		b.Run(name+"/blocked", func(b *testing.B) {
			d := NewDepthwiseBlocked(&s, l.c, 1, 1)
			pw, pb := make([]float32, d.PackedElems()), make([]float32, d.BiasElems())
			d.PackWeights(pw, w)
			d.PadBias(pb, bias)
			sc := make([]float32, d.TaskElems())
			for b.Loop() {
				for t := 0; t < d.Tasks(); t++ {
					d.Run(y, x, pw, pb, t, nil, sc)
				}
			}
		})
		if d := NewDepthwiseRows(&s, l.c, 1, 1); d != nil {
			b.Run(name+"/rows", func(b *testing.B) {
				pb := make([]float32, d.BiasElems())
				d.PadBias(pb, bias)
				sc := make([]float32, d.TaskElems())
				for b.Loop() {
					for t := 0; t < d.Tasks(); t++ {
						d.Run(y, x, w, pb, t, nil, sc)
					}
				}
			})
		}
		b.Run(name+"/direct", func(b *testing.B) {
			d := NewDirectConv(&s, l.c, l.c, 1)
			planes := make([]float32, d.PlaneElems(1))
			pw, pb := make([]float32, d.PackedElems()), make([]float32, d.BiasElems())
			d.PackWeights(pw, w)
			d.PadBias(pb, bias)
			mb, qb := d.Blocks()
			sc := make([]float32, d.TaskElems(mb, qb))
			for b.Loop() {
				d.BuildPlanes(planes, x, 1, 0, l.c)
				d.Run(y, planes, pw, pb, 1, 0, l.c, 0, mb, 0, qb, nil, sc)
			}
		})
	}
}

// TestAvgRowsMatchesSum32 checks the global-average loop bit for bit
// against AdaptivePoolPlane's (vmath.Sum32 per plane) at every row length
// up to 140, with NaNs, infinities and signed zeros among the values.
func TestAvgRowsMatchesSum32(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for n := 1; n <= 140; n++ {
		rows := 1 + r.Intn(5)
		x := randF32(r, rows*n)
		for i := range x {
			switch r.Intn(40) {
			case 0:
				x[i] = float32(math.NaN())
			case 1:
				x[i] = float32(math.Inf(1 - 2*r.Intn(2)))
			case 2:
				x[i] = float32(math.Copysign(0, -1))
			}
		}
		if n%7 == 0 { // all −0: the mean is +0 either way
			for i := range x {
				x[i] = float32(math.Copysign(0, -1))
			}
		}
		got := make([]float32, rows)
		AvgRows(got, x, n)
		for i := range got {
			want := make([]float32, 1)
			AdaptivePoolPlane(want, x[i*n:(i+1)*n], 1, n, 1, 1, false)
			if math.Float32bits(got[i]) != math.Float32bits(want[0]) {
				t.Fatalf("n=%d row %d: %v (%x), want %v (%x)", n, i, got[i], math.Float32bits(got[i]), want[0], math.Float32bits(want[0]))
			}
		}
	}
}

// TestDepthwiseRowsMatchesBlocked runs the row-wise kernels over random
// stride-1 and stride-2 3×3 and 5×5 layers (rows of one strip of 1 to 32
// outputs and of several; stride 2 in one band of rows and in several,
// its tasks whole channels or parts of their rows; pads 0 to k−1 on each
// side, with bias or without, the activations in the kernel or the
// residual in the epilogue) and requires the blocked path's bits for
// every output, tasks in any order.
func TestDepthwiseRowsMatchesBlocked(t *testing.T) {
	if !blockAsm {
		return
	}
	r := rand.New(rand.NewSource(9))
	var ran [2][2]int // by stride, and one strip or several
	bands, parted := 0, 0
	for trial := 0; trial < 400; trial++ {
		k, st := 3+2*r.Intn(2), 1+r.Intn(2)
		s := ConvShape{KH: k, KW: k, SH: st, SW: st, DH: 1, DW: 1, PH: r.Intn(k), PHEnd: r.Intn(k), PW: r.Intn(k), PWE: r.Intn(k)}
		s.H, s.W = 1+r.Intn(20), 1+r.Intn(34*st)
		switch trial % 10 {
		case 0: // rows of several strips
			s.W = 1 + r.Intn(120)
		case 5: // several bands of rows (stride 2)
			s.H = 1 + r.Intn(120)
		}
		s.OH, s.OW = (s.H+s.PH+s.PHEnd-k)/st+1, (s.W+s.PW+s.PWE-k)/st+1
		if s.H+s.PH+s.PHEnd < k || s.W+s.PW+s.PWE < k {
			continue
		}
		c, n, threads := 1+r.Intn(40), 1+r.Intn(3), 1+r.Intn(4)
		d, blk := NewDepthwiseRows(&s, c, n, threads), NewDepthwiseBlocked(&s, c, n, threads)
		if d == nil || blk == nil {
			t.Fatalf("%+v: no plan", s)
		}
		hw, p := s.H*s.W, s.OH*s.OW
		x, w := randF32(r, n*c*hw), randF32(r, c*k*k)
		var b []float32
		if r.Intn(2) == 0 {
			b = randF32(r, c)
		}
		var ep *Epilogue[float32]
		switch trial % 4 {
		case 0:
			ep = &Epilogue[float32]{}
		case 1:
			ep = &Epilogue[float32]{Act: ActUnary, Op: OpRelu}
		case 2:
			ep = &Epilogue[float32]{Act: ActUnary2, Op2: OpHardSwish}
		case 3: // ReLU and residual: the epilogue's pass
			ep = &Epilogue[float32]{Act: ActUnary, Op: OpRelu, Residual: randF32(r, n*c*p), LdR: p}
		}
		run := func(plan interface {
			Tasks() int
			TaskElems() int
			PackedElems() int
			PackWeights(dst, w []float32)
			BiasElems() int
			PadBias(dst, b []float32)
			Run(y, x, w, bias []float32, t int, ep *Epilogue[float32], scratch []float32)
		}) []float32 {
			pw, pb := make([]float32, plan.PackedElems()), make([]float32, plan.BiasElems())
			plan.PackWeights(pw, w)
			plan.PadBias(pb, b)
			y := make([]float32, n*c*p)
			for i := range y {
				y[i] = float32(math.NaN())
			}
			scratch := make([]float32, plan.TaskElems())
			for _, task := range r.Perm(plan.Tasks()) {
				plan.Run(y, x, pw, pb, task, ep, scratch)
			}
			return y
		}
		got, want := run(d), run(blk)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d %+v n=%d c=%d threads=%d: y[%d] = %v, blocked %v", trial, s, n, c, threads, i, got[i], want[i])
			}
		}
		ran[st-1][min(1, len(d.strips)-1)]++
		if st == 2 && d.band < s.OH {
			bands++
		}
		if d.parts > 1 && ep.Residual != nil {
			parted++
		}
	}
	if bands < 5 || parted < 3 {
		t.Fatalf("%d stride-2 layers of several bands and %d split in parts of rows, with a residual, ran; want more", bands, parted)
	}
	for st, r := range ran {
		if r[0] < 20 || r[1] < 5 {
			t.Fatalf("stride %d: %d layers of one strip and %d of several ran; want more", st+1, r[0], r[1])
		}
	}
}
