package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// naiveConv is a float64 reference convolution of one image: y[m][oh][ow].
func naiveConv(x, w, b []float32, s *ConvShape, c, groups, mg int) []float64 {
	cg := c / groups
	y := make([]float64, groups*mg*s.OH*s.OW)
	for g := 0; g < groups; g++ {
		for m := 0; m < mg; m++ {
			mo := g*mg + m
			for oh := 0; oh < s.OH; oh++ {
				for ow := 0; ow < s.OW; ow++ {
					acc := 0.0
					if b != nil {
						acc = float64(b[mo])
					}
					for ci := 0; ci < cg; ci++ {
						for i := 0; i < s.KH; i++ {
							ih := oh*s.SH - s.PH + i*s.DH
							if ih < 0 || ih >= s.H {
								continue
							}
							for j := 0; j < s.KW; j++ {
								iw := ow*s.SW - s.PW + j*s.DW
								if iw < 0 || iw >= s.W {
									continue
								}
								acc += float64(x[((g*cg+ci)*s.H+ih)*s.W+iw]) * float64(w[((mo*cg+ci)*s.KH+i)*s.KW+j])
							}
						}
					}
					y[(mo*s.OH+oh)*s.OW+ow] = acc
				}
			}
		}
	}
	return y
}

// noDirectKernels reports whether this build lacks the direct kernels,
// asserting that the planner then refuses: the engine takes im2col + GEMM,
// which its own tests cover.
func noDirectKernels(t *testing.T) bool {
	if len(convMicros) > 0 {
		return false
	}
	s := ConvShape{H: 4, W: 4, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 1, PW: 1, PHEnd: 1, PWE: 1, OH: 4, OW: 4}
	if NewDirectConv(&s, 2, 1, 2) != nil {
		t.Fatal("a direct plan without direct kernels")
	}
	return true
}

// withMicroSets runs f with the direct kernels as this build picks them,
// then with the position-broadcast kernels preferred wherever they apply
// (the others weigh 100× more), so both are checked on every geometry.
func withMicroSets(t *testing.T, f func(t *testing.T)) {
	all := convMicros
	defer func() { convMicros = all }()
	t.Run("picked", f)
	var pos []convMicro
	for _, m := range all {
		if m.posFn == nil {
			m.cost *= 100
		}
		pos = append(pos, m)
	}
	convMicros = pos
	t.Run("position-broadcast", f)
}

// TestDirectConvPosMatchesTiled checks the position-broadcast kernels bit
// for bit against the tiled ones (the same FMA chain per output) over
// random geometries, groups, several images and chunked taps, with the
// tasks split the way the engine splits them.
func TestDirectConvPosMatchesTiled(t *testing.T) {
	if noDirectKernels(t) {
		return
	}
	all := convMicros
	defer func() { convMicros = all }()
	defer func(v int) { convChunkBytes = v }(convChunkBytes)
	// pos prefers one of the position-broadcast kernels; the tiled ones
	// stay for the layers it cannot take (a pointwise row not a multiple
	// of its tile, depthwise).
	var tiled, pos []convMicro
	for _, m := range all {
		if m.posFn == nil {
			tiled = append(tiled, m)
			m.cost *= 100
		}
		pos = append(pos, m)
	}
	r := rand.New(rand.NewSource(8))
	ran := 0
	for trial := 0; trial < 300; trial++ {
		s := randConvShape(r)
		if trial%4 == 1 { // pointwise, rows a multiple of the tile
			s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.PHEnd, s.PWE = 1, 1, 1, 1, 0, 0, 0, 0
			s.W = 7 * (1 + r.Intn(4))
			s.OH, s.OW = s.H, s.W
		}
		if s.OH < 1 || s.OW < 1 {
			continue
		}
		convChunkBytes = 16 << 10
		if trial%3 == 0 {
			convChunkBytes = 256 // passes over chunks of the taps
		}
		groups := 1 + r.Intn(2)
		c, mg := groups*(1+r.Intn(20)), 1+r.Intn(70)
		n := 1 + r.Intn(3)
		x := randF32(r, n*c*s.H*s.W)
		w := randF32(r, groups*mg*(c/groups)*s.KH*s.KW)
		b := randF32(r, groups*mg)
		res := randF32(r, n*groups*mg*s.OH*s.OW)
		var ys [2][]float32
		for i, set := range [][]convMicro{tiled, pos} {
			convMicros = set
			d := NewDirectConv(&s, c, groups, mg)
			if d == nil {
				t.Fatalf("%+v: no plan", s)
			}
			if i == 1 && d.micro.posFn == nil && !(d.Pointwise() && s.OW%7 != 0) && !(c == groups && groups > 1) {
				t.Fatalf("%+v: not a position-broadcast plan", s)
			}
			planes, pw, pb := directOperands(d, x, w, b, n, c)
			mb, qb := d.Blocks()
			qb *= n
			ys[i] = make([]float32, len(res))
			ep := &Epilogue[float32]{Act: ActUnary, Op: OpRelu, Residual: res, LdR: s.OH * s.OW}
			bs, qs := r.Intn(mb+1), r.Intn(qb+1)
			for g := 0; g < groups; g++ {
				tile := make([]float32, d.TaskElems(mb, qb))
				d.Run(ys[i], planes, pw, pb, n, g, g+1, 0, bs, 0, qb, ep, tile)
				d.Run(ys[i], planes, pw, pb, n, g, g+1, bs, mb, 0, qs, ep, tile)
				d.Run(ys[i], planes, pw, pb, n, g, g+1, bs, mb, qs, qb, ep, tile)
			}
		}
		ran++
		for i := range ys[0] {
			if math.Float32bits(ys[0][i]) != math.Float32bits(ys[1][i]) {
				t.Fatalf("trial %d %+v n=%d c=%d groups=%d mg=%d: y[%d] = %v, tiled %v", trial, s, n, c, groups, mg, i, ys[1][i], ys[0][i])
			}
		}
	}
	if ran < 200 {
		t.Fatalf("only %d geometries ran", ran)
	}
}

// directOperands builds what Run reads for n images x of c channels: the
// planes (x itself when pointwise), the packed weights w and padded bias b.
func directOperands(d *DirectConv, x, w, b []float32, n, c int) (planes, pw, pb []float32) {
	planes = make([]float32, d.PlaneElems(n))
	d.BuildPlanes(planes, x, n, 0, n*c)
	if d.Pointwise() {
		planes = x[:len(x):len(x)]
	}
	pw = make([]float32, d.PackedElems())
	d.PackWeights(pw, w)
	pb = make([]float32, d.BiasElems())
	d.PadBias(pb, b)
	return planes, pw, pb
}

func randConvShape(r *rand.Rand) ConvShape {
	s := ConvShape{H: 1 + r.Intn(20), W: 1 + r.Intn(40), KH: 1 + r.Intn(5), KW: 1 + r.Intn(5),
		SH: 1 + r.Intn(3), SW: 1 + r.Intn(3), DH: 1 + r.Intn(2), DW: 1 + r.Intn(2)}
	if r.Intn(4) == 0 { // 1-D
		s.H, s.KH, s.SH, s.DH = 1, 1, 1, 1
	}
	s.PH, s.PHEnd = r.Intn(s.KH), r.Intn(s.KH)
	s.PW, s.PWE = r.Intn(s.KW), r.Intn(s.KW)
	s.OH = (s.H+s.PH+s.PHEnd-(s.KH-1)*s.DH-1)/s.SH + 1
	s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
	return s
}

// TestDirectConvMatchesReference runs the direct kernels over random
// geometries (strides, dilations, uneven pads, groups, 1-D) and checks
// every output against a float64 reference, with a fused activation and
// residual, split into blocks the way the engine's threads split it.
func TestDirectConvMatchesReference(t *testing.T) {
	if noDirectKernels(t) {
		return
	}
	withMicroSets(t, testDirectConvMatchesReference)
}

func testDirectConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for trial := 0; trial < 300; trial++ {
		s := randConvShape(r)
		if trial%10 == 7 && s.H > 1 { // planes large enough to clear only their border
			s.H, s.W = s.H+45, s.W+45
			s.OH = (s.H+s.PH+s.PHEnd-(s.KH-1)*s.DH-1)/s.SH + 1
			s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
		}
		if trial%4 == 1 { // pointwise: the input is its own planes
			s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.PHEnd, s.PWE = 1, 1, 1, 1, 0, 0, 0, 0
			s.OH, s.OW = s.H, s.W
		}
		if s.OH < 1 || s.OW < 1 {
			continue
		}
		groups := 1 + r.Intn(3)
		c := groups * (1 + r.Intn(9))
		mg := 1 + r.Intn(30)
		if trial%3 == 0 { // depthwise, with a channel multiplier at times
			groups = 2 + r.Intn(8)
			c, mg = groups, 1+r.Intn(3)
		}
		d := NewDirectConv(&s, c, groups, mg)
		if d == nil {
			t.Fatalf("%+v: no plan", s)
		}
		n := 1 + r.Intn(3) // images
		x := randF32(r, n*c*s.H*s.W)
		w := randF32(r, groups*mg*(c/groups)*s.KH*s.KW)
		var b []float32
		if r.Intn(2) == 0 {
			b = randF32(r, groups*mg)
		}
		var want []float64
		for i := 0; i < n; i++ {
			want = append(want, naiveConv(x[i*c*s.H*s.W:], w, b, &s, c, groups, mg)...)
		}
		planes := make([]float32, d.PlaneElems(n))
		for i := range planes {
			planes[i] = float32(math.NaN()) // unwritten scratch must never reach an output
		}
		split := r.Intn(n*c + 1)
		d.BuildPlanes(planes, x, n, 0, split)
		d.BuildPlanes(planes, x, n, split, n*c)
		if d.Pointwise() {
			planes = x[:len(x):len(x)]
		}
		pw := make([]float32, d.PackedElems())
		d.PackWeights(pw, w)
		pb := make([]float32, d.BiasElems())
		d.PadBias(pb, b)
		p := s.OH * s.OW
		y := make([]float32, n*groups*mg*p)
		res := randF32(r, len(y))
		ep := &Epilogue[float32]{Act: ActUnary, Op: OpRelu, Residual: res, LdR: p}
		mb, qb := d.Blocks()
		qb *= n // position blocks across the images
		tile := make([]float32, d.TaskElems(mb, qb))
		if trial%2 == 0 {
			// Groups split in two ranges, each whole: one epilogue run per
			// image over their channels.
			gs := r.Intn(groups + 1)
			d.Run(y, planes, pw, pb, n, 0, gs, 0, mb, 0, qb, ep, tile)
			d.Run(y, planes, pw, pb, n, gs, groups, 0, mb, 0, qb, ep, tile)
		} else {
			for g := 0; g < groups; g++ {
				bs, qs := r.Intn(mb+1), r.Intn(qb+1)
				d.Run(y, planes, pw, pb, n, g, g+1, 0, bs, 0, qb, ep, tile)
				d.Run(y, planes, pw, pb, n, g, g+1, bs, mb, 0, qs, ep, tile)
				d.Run(y, planes, pw, pb, n, g, g+1, bs, mb, qs, qb, ep, tile)
			}
		}
		for i, v := range y {
			ref := math.Max(want[i], 0) + float64(res[i])
			if math.Abs(float64(v)-ref) > 1e-4*(1+math.Abs(ref)) {
				t.Fatalf("trial %d %+v n=%d c=%d groups=%d mg=%d tile %dx%d: y[%d] = %v, want %v", trial, s, n, c, groups, mg,
					d.micro.mr, d.micro.nr, i, v, ref)
			}
		}
	}
}

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// convBenchShapes are resnet18's and mobilenet_v3_small's convolutions at
// 224×224: name, C, M, H(=W), K, stride, pad.
var convBenchShapes = []struct {
	name              string
	c, m, h, k, st, p int
}{
	{"r18-conv1", 3, 64, 224, 7, 2, 3},
	{"mb-conv1", 3, 16, 224, 3, 2, 1},
	{"r18-l1", 64, 64, 56, 3, 1, 1},
	{"r18-l2s2", 64, 128, 56, 3, 2, 1},
	{"r18-l2", 128, 128, 28, 3, 1, 1},
	{"r18-l3", 256, 256, 14, 3, 1, 1},
	{"r18-l4", 512, 512, 7, 3, 1, 1},
	{"r18-ds2", 64, 128, 56, 1, 2, 0},
	{"mb-pw16x72", 16, 72, 56, 1, 1, 0},
	{"mb-pw96x576", 96, 576, 7, 1, 1, 0},
	{"mb-pw48x144", 48, 144, 14, 1, 1, 0},
	{"mb-pw240x40", 240, 40, 14, 1, 1, 0},
	{"mb-pw576x96", 576, 96, 7, 1, 1, 0},
}

func benchShape(c, h, k, st, p int) ConvShape {
	s := ConvShape{H: h, W: h, KH: k, KW: k, SH: st, SW: st, DH: 1, DW: 1, PH: p, PW: p, PHEnd: p, PWE: p}
	s.OH = (h+2*p-k)/st + 1
	s.OW = s.OH
	return s
}

// BenchmarkConvDirect compares, on one thread, the direct kernels with
// im2col + GEMM (the engine's other path) per layer.
func BenchmarkConvDirect(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, sh := range convBenchShapes {
		s := benchShape(sh.c, sh.h, sh.k, sh.st, sh.p)
		x := randF32(r, sh.c*sh.h*sh.h)
		w := randF32(r, sh.m*sh.c*sh.k*sh.k)
		bias := randF32(r, sh.m)
		p := s.OH * s.OW
		y := make([]float32, sh.m*p)
		flops := 2 * float64(sh.m) * float64(p) * float64(sh.c*sh.k*sh.k)
		if d := NewDirectConv(&s, sh.c, 1, sh.m); d != nil {
			b.Run(sh.name+"/direct", func(b *testing.B) {
				planes := make([]float32, d.PlaneElems(1))
				pw := make([]float32, d.PackedElems())
				d.PackWeights(pw, w)
				pb := make([]float32, d.BiasElems())
				d.PadBias(pb, bias)
				mb, qb := d.Blocks()
				tile := make([]float32, d.TaskElems(mb, qb))
				for i := 0; i < b.N; i++ {
					in := planes
					if d.Pointwise() {
						in = x
					} else {
						d.BuildPlanes(planes, x, 1, 0, sh.c)
					}
					d.Run(y, in, pw, pb, 1, 0, 1, 0, mb, 0, qb, nil, tile)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		b.Run(sh.name+"/im2col", func(b *testing.B) {
			kk := sh.c * sh.k * sh.k
			col := make([]float32, kk*p)
			wk := new(Worker)
			for i := 0; i < b.N; i++ {
				Im2col(col, p, x, sh.c, &s, 0, p)
				for m := 0; m < sh.m; m++ {
					Fill(y[m*p:(m+1)*p], bias[m])
				}
				SgemmEpilogue(nil, wk, false, false, sh.m, p, kk, 1, w, kk, col, p, 1, y, p, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestStride2Gather checks the stride-2 gather of BuildPlanes and MaxPool
// for every length up to 70, reading no further than it may.
func TestStride2Gather(t *testing.T) {
	for n := 1; n <= 70; n++ {
		src := make([]float32, 2*n-1)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, n+1)
		dst[n] = -1
		gatherStride(dst[:n], src, 2) // the AVX-512 gather where there is one, else the loop
		for c := 0; c < n; c++ {
			if dst[c] != float32(2*c) {
				t.Fatalf("n=%d: dst[%d] = %v, want %d", n, c, dst[c], 2*c)
			}
		}
		if dst[n] != -1 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

// naiveMaxPool is torch's max pooling loop: a value replaces the running
// max when larger or NaN.
func naiveMaxPool[T Float](x []T, s *ConvShape) []T {
	out := make([]T, s.OH*s.OW)
	for oh := 0; oh < s.OH; oh++ {
		for ow := 0; ow < s.OW; ow++ {
			m := T(math.Inf(-1))
			for i := 0; i < s.KH; i++ {
				for j := 0; j < s.KW; j++ {
					ih, iw := oh*s.SH-s.PH+i*s.DH, ow*s.SW-s.PW+j*s.DW
					if ih >= 0 && ih < s.H && iw >= 0 && iw < s.W {
						if v := x[ih*s.W+iw]; v > m || v != v {
							m = v
						}
					}
				}
			}
			out[oh*s.OW+ow] = m
		}
	}
	return out
}

// TestMaxPoolPlaneMatchesTorchOrder checks MaxPoolPlane (float32 and
// float64) against the naive loop over random windows, strides, dilations,
// pads (ceil mode's extra windows included), planes of several row blocks
// and inputs with NaN and ±Inf.
func TestMaxPoolPlaneMatchesTorchOrder(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	ran := 0
	for trial := 0; trial < 400; trial++ {
		s := ConvShape{H: 1 + r.Intn(12), W: 1 + r.Intn(40), KH: 1 + r.Intn(4), KW: 1 + r.Intn(4),
			SH: 1 + r.Intn(3), SW: 1 + r.Intn(3), DH: 1 + r.Intn(2), DW: 1 + r.Intn(2)}
		if trial%5 == 0 { // more output rows than a block
			s.H += 70 + r.Intn(40)
		}
		s.PH, s.PW = r.Intn(s.KH), r.Intn(s.KW)
		s.PHEnd, s.PWE = r.Intn(s.KH), r.Intn(s.KW)
		s.OH = (s.H+s.PH+s.PHEnd-(s.KH-1)*s.DH-1)/s.SH + 1
		s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
		if s.OH < 1 || s.OW < 1 || (s.OH-1)*s.SH-s.PH >= s.H || (s.OW-1)*s.SW-s.PW >= s.W {
			continue // a window past the input: the schema refuses it
		}
		ran++
		x := randF32(r, s.H*s.W)
		for i := range x {
			switch r.Intn(40) {
			case 0:
				x[i] = float32(math.NaN())
			case 1:
				x[i] = float32(math.Inf(-1))
			case 2:
				x[i] = float32(math.Inf(1))
			}
		}
		got := make([]float32, s.OH*s.OW)
		MaxPoolPlane(got, x, &s, make([]float32, MaxPoolScratch(&s)))
		x64 := make([]float64, len(x))
		for i, v := range x {
			x64[i] = float64(v)
		}
		got64 := make([]float64, len(got))
		MaxPoolPlane(got64, x64, &s, make([]float64, MaxPoolScratch(&s)))
		for i, w := range naiveMaxPool(x, &s) {
			if (got[i] != w && !(w != w && got[i] != got[i])) || float32(got64[i]) != got[i] && !(w != w && got64[i] != got64[i]) {
				t.Fatalf("trial %d %+v: out[%d] = %v (f64 %v), want %v", trial, s, i, got[i], got64[i], w)
			}
		}
	}
	if ran < 200 {
		t.Fatalf("only %d of 400 geometries were valid", ran)
	}
}

// TestStride2GatherRows checks the row-wise stride-2 gather for row
// counts, widths and strides around the vector length, reading and writing
// only inside the rows.
func TestStride2GatherRows(t *testing.T) {
	for _, n := range []int{1, 2, 15, 16, 17, 31, 32, 33, 50} {
		for _, rows := range []int{1, 3} {
			lds, ldd := 2*n+5, n+3
			src := make([]float32, (rows-1)*lds+2*n-1)
			for i := range src {
				src[i] = float32(i)
			}
			dst := make([]float32, (rows-1)*ldd+n)
			for i := range dst {
				dst[i] = -1
			}
			gatherStride2Rows(dst, ldd, src, lds, rows, n)
			for i, v := range dst {
				r, c := i/ldd, i%ldd
				want := float32(-1)
				if c < n {
					want = src[r*lds+2*c]
				}
				if v != want {
					t.Fatalf("n=%d rows=%d: dst[%d] = %v, want %v", n, rows, i, v, want)
				}
			}
		}
	}
}

// TestDirectConvEdgeGeometries runs geometries the random test rarely
// draws: strides and dilations past the kernel, a kernel wider than the
// input, one output position, a 1×1 strided conv and a stride above 64
// (refused: the GEMM path takes it).
func TestDirectConvEdgeGeometries(t *testing.T) {
	if noDirectKernels(t) {
		return
	}
	r := rand.New(rand.NewSource(11))
	for _, s := range []ConvShape{
		{H: 9, W: 31, KH: 2, KW: 3, SH: 5, SW: 7, DH: 3, DW: 4, PH: 1, PW: 2, PHEnd: 1, PWE: 2},
		{H: 3, W: 4, KH: 5, KW: 7, SH: 1, SW: 1, DH: 1, DW: 1, PH: 2, PW: 3, PHEnd: 2, PWE: 3},
		{H: 1, W: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
		{H: 17, W: 23, KH: 1, KW: 1, SH: 2, SW: 3, DH: 1, DW: 1},
		{H: 40, W: 200, KH: 3, KW: 3, SH: 1, SW: 65, DH: 1, DW: 1, PH: 1, PW: 1, PHEnd: 1, PWE: 1},
	} {
		s.OH = (s.H+s.PH+s.PHEnd-(s.KH-1)*s.DH-1)/s.SH + 1
		s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
		c, mg := 5, 13
		d := NewDirectConv(&s, c, 1, mg)
		if s.SW > 64 {
			if d != nil {
				t.Fatalf("%+v: planned a stride above 64", s)
			}
			continue
		}
		x, w, b := randF32(r, c*s.H*s.W), randF32(r, mg*c*s.KH*s.KW), randF32(r, mg)
		want := naiveConv(x, w, b, &s, c, 1, mg)
		planes := x
		if !d.Pointwise() {
			planes = make([]float32, d.PlaneElems(1))
			d.BuildPlanes(planes, x, 1, 0, c)
		}
		pw := make([]float32, d.PackedElems())
		d.PackWeights(pw, w)
		pb := make([]float32, d.BiasElems())
		d.PadBias(pb, b)
		mb, qb := d.Blocks()
		y := make([]float32, mg*s.OH*s.OW)
		d.Run(y, planes, pw, pb, 1, 0, 1, 0, mb, 0, qb, nil, make([]float32, d.TaskElems(mb, qb)))
		for i, v := range y {
			if math.Abs(float64(v)-want[i]) > 1e-4*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: y[%d] = %v, want %v", s, i, v, want[i])
			}
		}
	}
}

// TestDirectConvActInKernel checks the ReLU and HardSwish the kernels
// apply as they store (an epilogue of the activation alone) bit for bit
// against the product followed by the activation's own kernel, NaNs
// included, in one pass and in passes over chunks of the taps.
func TestDirectConvActInKernel(t *testing.T) {
	if noDirectKernels(t) {
		return
	}
	withMicroSets(t, testDirectConvActInKernel)
}

func testDirectConvActInKernel(t *testing.T) {
	defer func(v int) { convChunkBytes = v }(convChunkBytes)
	r := rand.New(rand.NewSource(5))
	for trial := 0; trial < 200; trial++ {
		s := randConvShape(r)
		if trial%4 == 1 {
			s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.PHEnd, s.PWE = 1, 1, 1, 1, 0, 0, 0, 0
			s.OH, s.OW = s.H, s.W
		}
		if s.OH < 1 || s.OW < 1 {
			continue
		}
		convChunkBytes = 16 << 10
		if trial%3 == 0 {
			convChunkBytes = 64 // a pass per tap or two
		}
		groups, c, mg := 1, 1+r.Intn(12), 1+r.Intn(30)
		if trial%5 == 0 { // depthwise: the one-channel kernels
			groups = 2 + r.Intn(8)
			c, mg = groups, 1
		}
		d := NewDirectConv(&s, c, groups, mg)
		n := 1 + r.Intn(2)
		x := randF32(r, n*c*s.H*s.W)
		for i := range x {
			if r.Intn(50) == 0 {
				x[i] = float32(math.NaN())
			}
		}
		w := randF32(r, groups*mg*(c/groups)*s.KH*s.KW)
		planes, pw, pb := directOperands(d, x, w, randF32(r, groups*mg), n, c)
		mb, qb := d.Blocks()
		qb *= n
		tile := make([]float32, d.TaskElems(mb, qb))
		want := make([]float32, n*groups*mg*s.OH*s.OW)
		d.Run(want, planes, pw, pb, n, 0, groups, 0, mb, 0, qb, nil, tile)
		ep := &Epilogue[float32]{Act: ActUnary, Op: OpRelu}
		if trial%2 == 1 {
			ep = &Epilogue[float32]{Act: ActUnary2, Op2: OpHardSwish}
		}
		ep.finishRun(want, nil)
		got := make([]float32, len(want))
		d.Run(got, planes, pw, pb, n, 0, groups, 0, mb, 0, qb, ep, tile)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d %+v act %d c=%d groups=%d mg=%d tile %dx%d: y[%d] = %v, want %v", trial, s, ep.kernelAct(),
					c, groups, mg, d.micro.mr, d.micro.nr, i, got[i], want[i])
			}
		}
	}
}

// TestBuildPlanesPartsMatchWhole builds random geometries' planes in 1 to
// 5 parts of their rows, the parts in any order over planes holding
// garbage, and requires BuildPlanes' planes exactly: every row written
// once, the padding and the read slack zeroed.
func TestBuildPlanesPartsMatchWhole(t *testing.T) {
	if noDirectKernels(t) {
		return
	}
	r := rand.New(rand.NewSource(4))
	for trial := 0; trial < 200; trial++ {
		s := randConvShape(r)
		if trial%4 == 0 && s.H > 1 { // planes large enough to clear only their border
			s.H, s.W = s.H+45, s.W+45
			s.OH = (s.H+s.PH+s.PHEnd-(s.KH-1)*s.DH-1)/s.SH + 1
			s.OW = (s.W+s.PW+s.PWE-(s.KW-1)*s.DW-1)/s.SW + 1
		}
		if s.OH < 1 || s.OW < 1 {
			continue
		}
		c, n := 1+r.Intn(4), 1+r.Intn(2)
		d := NewDirectConv(&s, c, 1, 8)
		if d == nil || d.Pointwise() {
			continue
		}
		x := randF32(r, n*c*s.H*s.W)
		want := make([]float32, d.PlaneElems(n))
		for i := range want {
			want[i] = float32(math.NaN())
		}
		d.BuildPlanes(want, x, n, 0, n*c)
		parts := 1 + r.Intn(5)
		got := randF32(r, len(want))
		for _, k := range r.Perm(n * c * parts) {
			cg, part := k/parts, k%parts
			d.BuildPlanesPart(got, x, n, cg, cg+1, part, parts)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d %+v c=%d n=%d parts=%d: planes[%d] = %v, want %v", trial, s, c, n, parts, i, got[i], want[i])
			}
		}
	}
}
