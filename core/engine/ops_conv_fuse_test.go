package engine

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// TestConvFusionMatchesUnfused runs Conv → BatchNormalization → activation
// → residual Add (or, ResNet's tail, → residual Add → Relu) fused (BN
// folded) and unfused: within 1e-5 relative of the output's max-abs (f32)
// and 1e-12 (f64), with fewer steps fused.
func TestConvFusionMatchesUnfused(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, tc := range []struct {
		w         []int64
		group     int64
		act       string
		reluAfter bool // act is "": Add, then Relu
	}{
		{w: []int64{8, 8, 3, 3}, group: 1, reluAfter: true}, // Winograd
		{w: []int64{8, 8, 5, 5}, group: 1, reluAfter: true}, // direct
		{w: []int64{8, 8, 1, 1}, group: 1, reluAfter: true},
		{w: []int64{8, 1, 3, 3}, group: 8, reluAfter: true}, // depthwise
		{w: []int64{8, 8, 3, 3}, group: 1, act: "Relu"},
		{w: []int64{8, 1, 3, 3}, group: 8, act: "Clip"},
		{w: []int64{8, 8, 1, 1}, group: 1, act: "Sigmoid"},
		{w: []int64{8, 4, 3, 3}, group: 2, act: "LeakyRelu"},
		{w: []int64{8, 8, 3, 3}, group: 1, act: "HardSwish"},
		{w: []int64{8, 1, 3, 3}, group: 8, act: "Swish"}, // depthwise
	} {
		xs := []int64{2, 8, 12, 13}
		x := convRand(prod(xs), r)
		vr := convRand(8, r)
		for i := range vr {
			vr[i] = math.Abs(vr[i]) + 0.1
		}
		nodes := []graph.Node{
			{Op: "Conv", Name: "c", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
				Attrs: []graph.Attr{cIntA("group", tc.group), cIntsA("pads", []int64{tc.w[2] / 2, tc.w[3] / 2, tc.w[2] / 2, tc.w[3] / 2})}},
			{Op: "BatchNormalization", Name: "bn", Inputs: []string{"c", "s", "bb", "m", "v"}, Outputs: []string{"n"}},
			{Op: tc.act, Name: "a", Inputs: []string{"n"}, Outputs: []string{"a"}},
			{Op: "Add", Name: "add", Inputs: []string{"x", "a"}, Outputs: []string{"y"}},
		}
		if tc.act == "Clip" {
			nodes[2].Inputs = []string{"n", "lo", "hi"}
		}
		if tc.reluAfter {
			nodes[2] = graph.Node{Op: "Add", Name: "add", Inputs: []string{"n", "x"}, Outputs: []string{"r"}}
			nodes[3] = graph.Node{Op: "Relu", Name: "relu", Inputs: []string{"r"}, Outputs: []string{"y"}}
		}
		for _, dt := range floatTypes {
			consts := []tconst{{name: "w", dt: dt, shape: tc.w, values: convRand(prod(tc.w), r)}, {name: "b", dt: dt, shape: tc.w[:1], values: convRand(8, r)},
				{name: "s", dt: dt, shape: []int64{8}, values: convRand(8, r)}, {name: "bb", dt: dt, shape: []int64{8}, values: convRand(8, r)},
				{name: "m", dt: dt, shape: []int64{8}, values: convRand(8, r)}, {name: "v", dt: dt, shape: []int64{8}, values: vr},
				{name: "lo", dt: dt, shape: []int64{}, values: []float64{0}}, {name: "hi", dt: dt, shape: []int64{}, values: []float64{6}}}
			ins := []tin{{name: "x", dt: dt, sig: []int64{-1, 8, -1, -1}, shape: xs, values: x}}
			tol := 1e-12
			if dt == dtype.Float32 {
				tol = 1e-5
			}
			matchUnfused(t, fmt.Sprintf("%s %v %s", tc.act, tc.w, dt), ins, consts, nodes, 1, tol)
		}
	}
}

// BenchmarkConv measures the engine's Conv kernels alone, on one thread
// and two: resnet18's 3×3 64→64 at 56×56, 1×1s (mobilenet_v3_small's
// projections and squeeze-and-excite convolutions among them) and
// depthwise 3×3 and 5×5 at strides 1 and 2.
func BenchmarkConv(b *testing.B) {
	for _, bc := range []struct {
		name  string
		x, w  []int64
		group int64
		pads  int64
		st    int64
	}{
		{"3x3_64_56", []int64{1, 64, 56, 56}, []int64{64, 64, 3, 3}, 1, 1, 1},
		{"1x1_64_256_56", []int64{1, 64, 56, 56}, []int64{256, 64, 1, 1}, 1, 0, 1},
		{"3x3_512_7_b8", []int64{8, 512, 7, 7}, []int64{512, 512, 3, 3}, 1, 1, 1},
		{"dw3x3_96_56", []int64{1, 96, 56, 56}, []int64{96, 1, 3, 3}, 96, 1, 1},
		{"stem3x3s2_3_16_224", []int64{1, 3, 224, 224}, []int64{16, 3, 3, 3}, 1, 1, 2},
		{"dw3x3s2_72_56", []int64{1, 72, 56, 56}, []int64{72, 1, 3, 3}, 72, 1, 2},
		{"dw5x5s2_96_28", []int64{1, 96, 28, 28}, []int64{96, 1, 5, 5}, 96, 2, 2},
		{"dw3x3s2_16_112", []int64{1, 16, 112, 112}, []int64{16, 1, 3, 3}, 16, 1, 2},
		{"1x1_240_40_14", []int64{1, 240, 14, 14}, []int64{40, 240, 1, 1}, 1, 0, 1},
		{"1x1_576_96_7", []int64{1, 576, 7, 7}, []int64{96, 576, 1, 1}, 1, 0, 1},
		{"se_576_144_1", []int64{1, 576, 1, 1}, []int64{144, 576, 1, 1}, 1, 0, 1},
		{"se_144_576_1", []int64{1, 144, 1, 1}, []int64{576, 144, 1, 1}, 1, 0, 1},
	} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", bc.name, threads), func(b *testing.B) {
				r := rand.New(rand.NewSource(1))
				dt := dtype.Float32
				node := graph.Node{Op: "Conv", Name: "c", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"},
					Attrs: []graph.Attr{cIntA("group", bc.group), cIntsA("pads", []int64{bc.pads, bc.pads, bc.pads, bc.pads}), cIntsA("strides", []int64{bc.st, bc.st})}}
				consts := []tconst{{name: "w", dt: dt, shape: bc.w, values: convRand(prod(bc.w), r)}, {name: "b", dt: dt, shape: bc.w[:1], values: convRand(int(bc.w[0]), r)}}
				ins := []tin{{name: "x", dt: dt, sig: bc.x, shape: bc.x, values: convRand(prod(bc.x), r)}}
				m := buildModel(b, ins, consts, []graph.Node{node}, []string{"y"}, Options{Threads: threads})
				s, _ := m.NewSession()
				defer s.Close()
				outs := []Tensor{NewTensor(dt, nil, nil)}
				in := inputsOf(ins)
				if err := s.RunAlloc(in, outs, nil, RunOptions{}, heapAlloc); err != nil {
					b.Fatal(err)
				}
				oh := (bc.x[2]+2*bc.pads-bc.w[2])/bc.st + 1
				flops := 2 * float64(bc.x[0]*bc.w[0]*bc.w[1]*bc.w[2]*bc.w[3]*oh*oh)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := s.Run(in, outs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
	_ = kernels.ActNone
}

// TestScaledConvMatchesUnfused runs squeeze-and-excite's tail — x times
// per-channel scales (either operand order, one image's scales or every
// image's), a 1×1 Conv, BatchNormalization and a residual Add — fused
// (the Conv scales its packed weights instead) and unfused: within 1e-5
// relative of the output's max-abs, in one step where the Conv has fewer
// output channels than positions, else with the Mul a step of its own.
func TestScaledConvMatchesUnfused(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, tc := range []struct {
		x          []int64
		m          int64
		perImage   bool
		scaleFirst bool
		fuses      bool
	}{
		{x: []int64{1, 24, 14, 14}, m: 16, scaleFirst: true, fuses: true},
		{x: []int64{1, 24, 14, 14}, m: 16, fuses: true},
		{x: []int64{3, 40, 7, 9}, m: 24, perImage: true, fuses: true},
		{x: []int64{2, 40, 7, 9}, m: 24, fuses: true},  // one image's scales for both
		{x: []int64{1, 32, 2, 8}, m: 48, fuses: false}, // more output channels than positions: the Mul stays
	} {
		c := tc.x[1]
		sShape := []int64{1, c, 1, 1}
		if tc.perImage {
			sShape[0] = tc.x[0]
		}
		mul := graph.Node{Op: "Mul", Name: "se", Inputs: []string{"x", "s"}, Outputs: []string{"xs"}}
		if tc.scaleFirst {
			mul.Inputs = []string{"s", "x"}
		}
		nodes := []graph.Node{mul,
			{Op: "Conv", Name: "c", Inputs: []string{"xs", "w", "b"}, Outputs: []string{"c"}},
			{Op: "BatchNormalization", Name: "bn", Inputs: []string{"c", "g", "bb", "mu", "v"}, Outputs: []string{"n"}},
			{Op: "Add", Name: "add", Inputs: []string{"n", "res"}, Outputs: []string{"y"}},
		}
		vr := convRand(int(tc.m), r)
		for i := range vr {
			vr[i] = math.Abs(vr[i]) + 0.1
		}
		dt := dtype.Float32
		ws := []int64{tc.m, c, 1, 1}
		consts := []tconst{{name: "w", dt: dt, shape: ws, values: convRand(prod(ws), r)}, {name: "b", dt: dt, shape: ws[:1], values: convRand(int(tc.m), r)},
			{name: "g", dt: dt, shape: ws[:1], values: convRand(int(tc.m), r)}, {name: "bb", dt: dt, shape: ws[:1], values: convRand(int(tc.m), r)},
			{name: "mu", dt: dt, shape: ws[:1], values: convRand(int(tc.m), r)}, {name: "v", dt: dt, shape: ws[:1], values: vr}}
		ys := []int64{tc.x[0], tc.m, tc.x[2], tc.x[3]}
		ins := []tin{{name: "x", dt: dt, sig: tc.x, shape: tc.x, values: convRand(prod(tc.x), r)},
			{name: "s", dt: dt, sig: sShape, shape: sShape, values: convRand(prod(sShape), r)},
			{name: "res", dt: dt, sig: ys, shape: ys, values: convRand(prod(ys), r)}}
		steps := 1
		if !tc.fuses {
			steps = 2 // the Mul, then Conv+BatchNormalization+Add
		}
		if !kernels.DirectConvAvailable() {
			steps = -1 // the GEMM path (no AVX-512) fuses none of it: only the values are compared
		}
		matchUnfused(t, fmt.Sprintf("%v→%d", tc.x, tc.m), ins, consts, nodes, steps, 1e-5)
	}
}

// matchUnfused runs the graph's output "y" fused and unfused on 1 and 2
// threads: fused plans have steps steps (-1: not checked), and every output
// is within tol of the first unfused run's relative to its max-abs.
func matchUnfused(t *testing.T, name string, ins []tin, consts []tconst, nodes []graph.Node, steps int, tol float64) {
	t.Helper()
	var ref []float64
	for _, fuse := range []bool{false, true} {
		for _, threads := range []int{1, 2} {
			m := buildModel(t, ins, consts, nodes, []string{"y"}, Options{Threads: threads, NoFusion: !fuse})
			s, _ := m.NewSession()
			got := make([]Tensor, 1)
			if err := s.RunAlloc(inputsOf(ins), got, nil, RunOptions{}, heapAlloc); err != nil {
				t.Fatal(err)
			}
			if fuse && steps >= 0 {
				for _, p := range s.plans {
					if len(p.steps) != steps {
						t.Fatalf("%s: fused plan has %d steps, want %d", name, len(p.steps), steps)
					}
				}
			}
			s.Close()
			m.Close()
			y := decode(ins[0].dt, got[0].Data)
			if ref == nil {
				ref = y
				continue
			}
			maxAbs := 0.0
			for _, v := range ref {
				maxAbs = math.Max(maxAbs, math.Abs(v))
			}
			for i := range y {
				if math.Abs(y[i]-ref[i]) > tol*maxAbs {
					t.Fatalf("%s fuse %v threads %d: [%d] = %v, unfused %v", name, fuse, threads, i, y[i], ref[i])
				}
			}
		}
	}
}

// TestSteadyStateAllocsConv runs a small mobilenet-like graph — row-wise
// depthwise layers at strides 1 and 2 (strips, bands, row parts), a
// blocked 7×7 one, 1×1 convolutions and a squeeze-and-excite scale fused
// into its projection — and requires no allocation per run once planned:
// a task's epilogue passed through an interface escaped to the heap, 142
// allocations a mobilenet run and a GC cycle every ~200 runs.
func TestSteadyStateAllocsConv(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	dw := func(name, in, out string, k, st int64) graph.Node {
		return graph.Node{Op: "Conv", Name: name, Inputs: []string{in, "w" + name}, Outputs: []string{out},
			Attrs: []graph.Attr{cIntA("group", 16), cIntsA("pads", []int64{k / 2, k / 2, k / 2, k / 2}), cIntsA("strides", []int64{st, st})}}
	}
	nodes := []graph.Node{
		dw("a", "x", "a", 3, 1), dw("b", "a", "b", 3, 2), dw("c", "b", "c", 5, 2), dw("d", "c", "d", 5, 2),
		{Op: "Conv", Name: "p", Inputs: []string{"d", "wp"}, Outputs: []string{"p"}},
		{Op: "GlobalAveragePool", Name: "g", Inputs: []string{"b"}, Outputs: []string{"g"}},
		{Op: "HardSigmoid", Name: "h", Inputs: []string{"g"}, Outputs: []string{"h"}},
		{Op: "Mul", Name: "se", Inputs: []string{"h", "b"}, Outputs: []string{"e"}},
		{Op: "Conv", Name: "q", Inputs: []string{"e", "wq"}, Outputs: []string{"q"}},
	}
	dt := dtype.Float32
	var consts []tconst
	for _, c := range []struct {
		name string
		k    int64
	}{{"a", 3}, {"b", 3}, {"c", 5}, {"d", 5}} {
		consts = append(consts, tconst{name: "w" + c.name, dt: dt, shape: []int64{16, 1, c.k, c.k}, values: convRand(int(16*c.k*c.k), r)})
	}
	consts = append(consts, tconst{name: "wp", dt: dt, shape: []int64{32, 16, 1, 1}, values: convRand(32*16, r)},
		tconst{name: "wq", dt: dt, shape: []int64{8, 16, 1, 1}, values: convRand(8*16, r)})
	xs := []int64{1, 16, 56, 56}
	ins := []tin{{name: "x", dt: dt, sig: xs, shape: xs, values: convRand(prod(xs), r)}}
	for _, threads := range []int{1, 2} {
		m := buildModel(t, ins, consts, nodes, []string{"p", "q"}, Options{Threads: threads})
		s, _ := m.NewSession()
		in := inputsOf(ins)
		outs := []Tensor{{Data: make([]byte, 32*7*7*4)}, {Data: make([]byte, 8*28*28*4)}}
		run := func() {
			if err := s.Run(in, outs); err != nil {
				t.Fatal(err)
			}
		}
		run()
		for _, p := range s.plans {
			fused := !kernels.DirectConvAvailable() // the scale fuses into the direct kernels only
			for _, st := range p.steps {
				fused = fused || st.node.Name == "q" && st.fused
			}
			if !fused {
				t.Fatalf("threads %d: the scale did not fuse into its 1×1 Conv", threads)
			}
		}
		if a := testing.AllocsPerRun(20, run); a != 0 {
			t.Errorf("threads %d: %v allocs per run, want 0", threads, a)
		}
		s.Close()
		m.Close()
	}
}
