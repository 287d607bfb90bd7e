package engine

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// convCase is a 2-D convolution (1-D when len(x) == 3) with explicit
// geometry for the reference loop.
type convCase struct {
	x, w         []int64 // shapes
	group        int64
	strides, dil []int64
	pads         []int64 // begin..., end...
	bias         bool
	autoPad      string
	transposed   bool
	outPad       []int64
}

func convRand(n int, r *rand.Rand) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = r.Float64()*2 - 1
	}
	return out
}

// refConv is a direct convolution over the padded input in float64.
func refConv(xs, ws []int64, x, w, b []float64, group int, st, dl, pb []int64, outSp []int64) []float64 {
	n, c, m := int(xs[0]), int(xs[1]), int(ws[0])
	sp := xs[2:]
	H, W, KH, KW, SH, SW, DH, DW, PH, PW, OH, OW := 1, int(sp[len(sp)-1]), 1, int(ws[len(ws)-1]), 1, int(st[len(st)-1]), 1, int(dl[len(dl)-1]), 0, int(pb[len(pb)-1]), 1, int(outSp[len(outSp)-1])
	if len(sp) == 2 {
		H, KH, SH, DH, PH, OH = int(sp[0]), int(ws[2]), int(st[0]), int(dl[0]), int(pb[0]), int(outSp[0])
	}
	cg, mg := c/group, m/group
	y := make([]float64, n*m*OH*OW)
	for i := 0; i < n; i++ {
		for o := 0; o < m; o++ {
			g := o / mg
			for oh := 0; oh < OH; oh++ {
				for ow := 0; ow < OW; ow++ {
					s := 0.0
					if b != nil {
						s = b[o]
					}
					for ci := 0; ci < cg; ci++ {
						for kh := 0; kh < KH; kh++ {
							for kw := 0; kw < KW; kw++ {
								ih, iw := oh*SH-PH+kh*DH, ow*SW-PW+kw*DW
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								s += w[((o*cg+ci)*KH+kh)*KW+kw] * x[((i*c+g*cg+ci)*H+ih)*W+iw]
							}
						}
					}
					y[((i*m+o)*OH+oh)*OW+ow] = s
				}
			}
		}
	}
	return y
}

func cIntsA(name string, v []int64) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrInts, Ints: v}
}
func cIntA(name string, v int64) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrInt, Int: v}
}
func cStrA(name, v string) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrString, String: v}
}

func TestConvMatchesReference(t *testing.T) {
	cases := []convCase{
		{x: []int64{2, 3, 9, 11}, w: []int64{5, 3, 3, 3}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, bias: true},
		{x: []int64{1, 4, 10, 9}, w: []int64{6, 2, 3, 2}, group: 2, strides: []int64{2, 1}, dil: []int64{2, 1}, pads: []int64{1, 0, 2, 1}, bias: true},
		{x: []int64{2, 8, 7, 7}, w: []int64{6, 8, 1, 1}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{0, 0, 0, 0}},
		{x: []int64{2, 6, 9, 8}, w: []int64{6, 1, 3, 3}, group: 6, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, bias: true},
		{x: []int64{1, 4, 9, 8}, w: []int64{8, 1, 3, 3}, group: 4, strides: []int64{2, 2}, dil: []int64{1, 1}, pads: []int64{1, 1, 1, 1}},
		{x: []int64{1, 4, 9, 8}, w: []int64{4, 1, 5, 3}, group: 4, strides: []int64{1, 1}, dil: []int64{2, 1}, pads: []int64{2, 0, 1, 3}},
		{x: []int64{2, 3, 17}, w: []int64{4, 3, 4}, group: 1, strides: []int64{2}, dil: []int64{1}, pads: []int64{1, 2}, bias: true},
		{x: []int64{1, 16, 40, 40}, w: []int64{24, 16, 3, 3}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, bias: true},
		{x: []int64{2, 64, 5, 5}, w: []int64{32, 64, 3, 3}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, bias: true},
		{x: []int64{1, 3, 8, 7}, w: []int64{4, 3, 3, 3}, group: 1, strides: []int64{2, 2}, dil: []int64{1, 1}, autoPad: "SAME_UPPER"},
		{x: []int64{1, 3, 8, 7}, w: []int64{4, 3, 3, 4}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, autoPad: "SAME_LOWER"},
		// Many channels (sums over 1152 taps), odd sizes, uneven pads, a batch.
		{x: []int64{1, 128, 12, 14}, w: []int64{128, 128, 3, 3}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, bias: true},
		{x: []int64{2, 130, 11, 13}, w: []int64{136, 130, 3, 3}, group: 1, strides: []int64{1, 1}, dil: []int64{1, 1}, pads: []int64{1, 0, 2, 1}},
	}
	r := rand.New(rand.NewSource(1))
	for ci, cc := range cases {
		nsp := len(cc.x) - 2
		x, w := convRand(prod(cc.x), r), convRand(prod(cc.w), r)
		var b []float64
		if cc.bias {
			b = convRand(int(cc.w[0]), r)
		}
		node := graph.Node{Op: "Conv", Name: "c", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
			Attrs: []graph.Attr{cIntA("group", cc.group), cIntsA("strides", cc.strides), cIntsA("dilations", cc.dil)}}
		if cc.autoPad != "" {
			node.Attrs = append(node.Attrs, cStrA("auto_pad", cc.autoPad))
		} else {
			node.Attrs = append(node.Attrs, cIntsA("pads", cc.pads))
		}
		consts := []tconst{{name: "w", shape: cc.w, values: w}}
		if cc.bias {
			node.Inputs = append(node.Inputs, "b")
			consts = append(consts, tconst{name: "b", shape: cc.w[:1], values: b})
		}
		// The reference's pads and output sizes.
		pb := cc.pads[:min(len(cc.pads), nsp)]
		outSp := make([]int64, nsp)
		if cc.autoPad != "" {
			pb = make([]int64, nsp)
			for i := 0; i < nsp; i++ {
				in, k, s := cc.x[2+i], cc.w[2+i], cc.strides[i]
				outSp[i] = (in + s - 1) / s
				tot := max(0, (outSp[i]-1)*s+k-in)
				pb[i] = tot / 2
				if cc.autoPad == "SAME_LOWER" {
					pb[i] = tot - tot/2
				}
			}
		} else {
			for i := 0; i < nsp; i++ {
				ext := (cc.w[2+i]-1)*cc.dil[i] + 1
				outSp[i] = (cc.x[2+i]+cc.pads[i]+cc.pads[i+nsp]-ext)/cc.strides[i] + 1
			}
		}
		want := refConv(cc.x, cc.w, x, w, b, int(cc.group), cc.strides, cc.dil, pb, outSp)
		for _, dt := range floatTypes {
			for _, threads := range []int{1, 2} {
				// Weights as an input too: the direct path then packs
				// them every run instead of once per Model.
				for _, wIn := range []bool{false, true} {
					for i := range consts {
						consts[i].dt = dt
					}
					ins := []tin{{name: "x", dt: dt, sig: []int64{-1, cc.x[1], -1, -1}[:len(cc.x)], shape: cc.x, values: x}}
					cs := consts
					if wIn {
						ins = append(ins, tin{name: "w", dt: dt, sig: cc.w, shape: cc.w, values: w})
						cs = consts[1:]
					}
					m := buildModel(t, ins, cs, []graph.Node{node}, []string{"y"}, Options{Threads: threads})
					outs, err := runModel(t, m, inputsOf(ins))
					if err != nil {
						t.Fatalf("case %d %s: %v", ci, dt, err)
					}
					tol := 1e-12
					if dt == dtype.Float32 {
						// Relative to the output's scale: the sums of the
						// large cases pass through values far above the
						// small outputs' size.
						tol = 1e-5 * max(1, maxAbs(want))
					}
					near(t, fmt.Sprintf("conv case %d %s threads %d weights input %v", ci, dt, threads, wIn), decode(dt, outs[0].Data), want, tol)
				}
			}
		}
	}
}

func TestConvTransposeMatchesReference(t *testing.T) {
	// ConvTranspose is the adjoint of Conv: check <convT(x), y> = <x, conv(y)>
	// against the direct reference for random y.
	r := rand.New(rand.NewSource(2))
	type tc struct {
		x, w         []int64
		group        int64
		st, dl, pads []int64
		outPad       []int64
	}
	for ci, cc := range []tc{
		{x: []int64{1, 4, 5, 6}, w: []int64{4, 3, 3, 3}, group: 1, st: []int64{2, 2}, dl: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, outPad: []int64{1, 0}},
		{x: []int64{2, 4, 5, 5}, w: []int64{4, 2, 2, 3}, group: 2, st: []int64{1, 2}, dl: []int64{2, 1}, pads: []int64{0, 1, 1, 0}, outPad: []int64{0, 1}},
		{x: []int64{2, 3, 7}, w: []int64{3, 2, 4}, group: 1, st: []int64{3}, dl: []int64{1}, pads: []int64{1, 2}, outPad: []int64{2}},
	} {
		nsp := len(cc.x) - 2
		outSp := make([]int64, nsp)
		for i := 0; i < nsp; i++ {
			outSp[i] = cc.st[i]*(cc.x[2+i]-1) + cc.outPad[i] + (cc.w[2+i]-1)*cc.dl[i] + 1 - cc.pads[i] - cc.pads[i+nsp]
		}
		m := cc.w[1] * cc.group
		yShape := append([]int64{cc.x[0], m}, outSp...)
		x, w, b := convRand(prod(cc.x), r), convRand(prod(cc.w), r), convRand(int(m), r)
		node := graph.Node{Op: "ConvTranspose", Name: "ct", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"},
			Attrs: []graph.Attr{cIntA("group", cc.group), cIntsA("strides", cc.st), cIntsA("dilations", cc.dl), cIntsA("pads", cc.pads), cIntsA("output_padding", cc.outPad)}}
		// Conv weights for the adjoint: ConvTranspose's W [C, M/g, k] is,
		// per group, Conv's W [M→C] with the first two axes swapped.
		cgIn, mg := int(cc.x[1]/cc.group), int(cc.w[1])
		kk := prod(cc.w[2:])
		wc := make([]float64, len(w))
		for g := 0; g < int(cc.group); g++ {
			for c := 0; c < cgIn; c++ {
				for o := 0; o < mg; o++ {
					for k := 0; k < kk; k++ {
						// conv weight [C (out), Mg (in), k]: out channel g*cg+c, in channel o
						wc[((g*cgIn+c)*mg+o)*kk+k] = w[((g*cgIn+c)*mg+o)*kk+k]
					}
				}
			}
		}
		yr := convRand(prod(yShape), r)
		cw := append([]int64{cc.x[1], int64(mg)}, cc.w[2:]...)
		cx := refConv(yShape, cw, yr, wc, nil, int(cc.group), cc.st, cc.dl, cc.pads[:nsp], cc.x[2:])
		for _, dt := range floatTypes {
			ins := []tin{{name: "x", dt: dt, sig: cc.x, shape: cc.x, values: x}}
			consts := []tconst{{name: "w", dt: dt, shape: cc.w, values: w}, {name: "b", dt: dt, shape: []int64{m}, values: b}}
			mm := buildModel(t, ins, consts, []graph.Node{node}, []string{"y"}, Options{Threads: 2})
			outs, err := runModel(t, mm, inputsOf(ins))
			if err != nil {
				t.Fatalf("case %d: %v", ci, err)
			}
			if got := outs[0].Shape(); fmt.Sprint(got) != fmt.Sprint(yShape) {
				t.Fatalf("case %d: shape %v, want %v", ci, got, yShape)
			}
			y := decode(dt, outs[0].Data)
			// <y - bias, yr> == <x, conv(yr)>
			lhs, rhs, mag := 0.0, 0.0, 0.0
			per := prod(outSp)
			for i := range y {
				ch := (i / per) % int(m)
				lhs += (y[i] - b[ch]) * yr[i]
				mag += math.Abs(y[i] * yr[i])
			}
			for i := range x {
				rhs += x[i] * cx[i]
			}
			tol := 1e-12
			if dt == dtype.Float32 {
				tol = 1e-5
			}
			if math.Abs(lhs-rhs) > tol*mag {
				t.Fatalf("case %d %s: <convT x, y> = %v, <x, conv y> = %v", ci, dt, lhs, rhs)
			}
		}
	}
}

func refPool(xs []int64, x []float64, k, st, pb, pe []int64, out []int64, avg, includePad bool) []float64 {
	nc := int(xs[0] * xs[1])
	sp := xs[2:]
	H, W, KH, KW, SH, SW, PH, PW, OH, OW := 1, int(sp[len(sp)-1]), 1, int(k[len(k)-1]), 1, int(st[len(st)-1]), 0, int(pb[len(pb)-1]), 1, int(out[len(out)-1])
	PHE, PWE := 0, int(pe[len(pe)-1])
	if len(sp) == 2 {
		H, KH, SH, PH, OH, PHE = int(sp[0]), int(k[0]), int(st[0]), int(pb[0]), int(out[0]), int(pe[0])
	}
	y := make([]float64, nc*OH*OW)
	for p := 0; p < nc; p++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				acc, cnt, padCnt := math.Inf(-1), 0, 0
				if avg {
					acc = 0
				}
				for i := 0; i < KH; i++ {
					for j := 0; j < KW; j++ {
						ih, iw := oh*SH-PH+i, ow*SW-PW+j
						if ih < H+PHE && iw < W+PWE {
							padCnt++
						}
						if ih < 0 || iw < 0 || ih >= H || iw >= W {
							continue
						}
						v := x[(p*H+ih)*W+iw]
						if avg {
							acc += v
						} else {
							acc = math.Max(acc, v)
						}
						cnt++
					}
				}
				if avg {
					if includePad {
						cnt = padCnt
					}
					acc /= float64(cnt)
				}
				y[(p*OH+oh)*OW+ow] = acc
			}
		}
	}
	return y
}

func TestPoolsMatchReference(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	type tc struct {
		op         string
		x, k, st   []int64
		pads       []int64
		ceil       int64
		includePad int64
		out        []int64
	}
	for ci, cc := range []tc{
		{op: "MaxPool", x: []int64{2, 3, 9, 10}, k: []int64{3, 3}, st: []int64{2, 2}, pads: []int64{1, 1, 1, 1}, out: []int64{5, 5}},
		{op: "MaxPool", x: []int64{1, 2, 8, 8}, k: []int64{3, 3}, st: []int64{2, 2}, pads: []int64{0, 0, 0, 0}, ceil: 1, out: []int64{4, 4}},
		{op: "AveragePool", x: []int64{1, 2, 8, 7}, k: []int64{3, 2}, st: []int64{2, 2}, pads: []int64{1, 1, 1, 0}, ceil: 1, includePad: 1, out: []int64{5, 4}},
		{op: "AveragePool", x: []int64{1, 2, 8, 7}, k: []int64{3, 3}, st: []int64{2, 2}, pads: []int64{1, 1, 1, 1}, ceil: 1, out: []int64{5, 4}},
		{op: "AveragePool", x: []int64{2, 3, 11}, k: []int64{4}, st: []int64{3}, pads: []int64{2, 1}, includePad: 1, out: []int64{4}},
	} {
		nsp := len(cc.x) - 2
		x := convRand(prod(cc.x), r)
		want := refPool(cc.x, x, cc.k, cc.st, cc.pads[:nsp], cc.pads[nsp:], cc.out, cc.op == "AveragePool", cc.includePad != 0)
		node := graph.Node{Op: cc.op, Name: "p", Inputs: []string{"x"}, Outputs: []string{"y"},
			Attrs: []graph.Attr{cIntsA("kernel_shape", cc.k), cIntsA("strides", cc.st), cIntsA("pads", cc.pads), cIntA("ceil_mode", cc.ceil)}}
		if cc.op == "AveragePool" {
			node.Attrs = append(node.Attrs, cIntA("count_include_pad", cc.includePad))
		}
		for _, dt := range floatTypes {
			got, err := single(t, []tin{{name: "x", dt: dt, sig: cc.x, shape: cc.x, values: x}}, nil, node)
			if err != nil {
				t.Fatalf("case %d: %v", ci, err)
			}
			if fmt.Sprint(got.Shape()[2:]) != fmt.Sprint(cc.out) {
				t.Fatalf("case %d: shape %v, want spatial %v", ci, got.Shape(), cc.out)
			}
			near(t, fmt.Sprintf("pool case %d %s", ci, dt), decode(dt, got.Data), want, 1e-6)
		}
	}
}

func TestAdaptiveAndGlobalPools(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	xs := []int64{2, 3, 7, 10}
	x := convRand(prod(xs), r)
	for _, op := range []string{"AdaptiveAveragePool", "AdaptiveMaxPool", "GlobalAveragePool", "GlobalMaxPool"} {
		os := []int64{3, 4}
		node := graph.Node{Op: op, Name: "p", Inputs: []string{"x"}, Outputs: []string{"y"}}
		if op[0] == 'A' {
			node.Attrs = []graph.Attr{cIntsA("output_size", os)}
		} else {
			os = []int64{1, 1}
		}
		avg := op == "AdaptiveAveragePool" || op == "GlobalAveragePool"
		var want []float64
		for p := 0; p < 6; p++ {
			for a := 0; a < int(os[0]); a++ {
				for b := 0; b < int(os[1]); b++ {
					h0, h1 := kernels.AdaptiveBounds(a, 7, int(os[0]))
					w0, w1 := kernels.AdaptiveBounds(b, 10, int(os[1]))
					acc := math.Inf(-1)
					if avg {
						acc = 0
					}
					for i := h0; i < h1; i++ {
						for j := w0; j < w1; j++ {
							if avg {
								acc += x[p*70+i*10+j]
							} else {
								acc = math.Max(acc, x[p*70+i*10+j])
							}
						}
					}
					if avg {
						acc /= float64((h1 - h0) * (w1 - w0))
					}
					want = append(want, acc)
				}
			}
		}
		for _, dt := range floatTypes {
			got, err := single(t, []tin{{name: "x", dt: dt, sig: []int64{-1, 3, -1, -1}, shape: xs, values: x}}, nil, node)
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			near(t, op, decode(dt, got.Data), want, 1e-6)
		}
	}
	if lo, hi := kernels.AdaptiveBounds(1, 7, 3); lo != 2 || hi != 5 {
		t.Fatalf("AdaptiveBounds(1, 7, 3) = %d, %d; want 2, 5", lo, hi)
	}
}

func TestNormsMatchReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	xs := []int64{2, 4, 3, 5}
	x := convRand(prod(xs), r)
	sc, bi, mean := convRand(4, r), convRand(4, r), convRand(4, r)
	vr := []float64{0.5, 1.5, 2, 0.1}
	inner := 15
	for _, dt := range floatTypes {
		tol := 1e-12
		if dt == dtype.Float32 {
			tol = 1e-5
		}
		cs := []tconst{{name: "s", dt: dt, shape: []int64{4}, values: sc}, {name: "b", dt: dt, shape: []int64{4}, values: bi},
			{name: "m", dt: dt, shape: []int64{4}, values: mean}, {name: "v", dt: dt, shape: []int64{4}, values: vr}}
		ins := []tin{{name: "x", dt: dt, sig: []int64{-1, 4, -1, -1}, shape: xs, values: x}}
		got, err := single(t, ins, cs, graph.Node{Op: "BatchNormalization", Name: "bn", Inputs: []string{"x", "s", "b", "m", "v"}, Outputs: []string{"y"}})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(x))
		for i := range x {
			c := (i / inner) % 4
			want[i] = (x[i]-mean[c])/math.Sqrt(vr[c]+1e-5)*sc[c] + bi[c]
		}
		near(t, "BatchNormalization", decode(dt, got.Data), want, tol)
		for _, op := range []string{"InstanceNormalization", "GroupNormalization"} {
			groups := 4
			node := graph.Node{Op: op, Name: "n", Inputs: []string{"x", "s", "b"}, Outputs: []string{"y"}}
			if op == "GroupNormalization" {
				groups = 2
				node.Attrs = []graph.Attr{cIntA("num_groups", 2)}
			}
			got, err := single(t, ins, cs[:2], node)
			if err != nil {
				t.Fatal(err)
			}
			size := len(x) / 2 / groups
			for i0 := 0; i0 < len(x); i0 += size {
				mu, v := 0.0, 0.0
				for _, e := range x[i0 : i0+size] {
					mu += e
				}
				mu /= float64(size)
				for _, e := range x[i0 : i0+size] {
					v += (e - mu) * (e - mu)
				}
				v /= float64(size)
				for i := i0; i < i0+size; i++ {
					c := (i / inner) % 4
					want[i] = (x[i]-mu)/math.Sqrt(v+1e-5)*sc[c] + bi[c]
				}
			}
			near(t, op, decode(dt, got.Data), want, tol)
		}
	}
}

func TestPadModes(t *testing.T) {
	xs := []int64{1, 2, 3, 4}
	x := seq(prod(xs), 0.3)
	pads := []float64{0, 0, 2, 1, 0, 0, 1, 3}
	for _, mode := range []string{"constant", "reflect", "edge", "wrap"} {
		for _, dt := range floatTypes {
			node := graph.Node{Op: "Pad", Name: "p", Inputs: []string{"x", "pads", "cv"}, Outputs: []string{"y"}, Attrs: []graph.Attr{cStrA("mode", mode)}}
			cs := []tconst{{name: "pads", dt: dtype.Int64, shape: []int64{8}, values: pads}, {name: "cv", dt: dt, shape: []int64{}, values: []float64{7}}}
			got, err := single(t, []tin{{name: "x", dt: dt, sig: xs, shape: xs, values: x}}, cs, node)
			if err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			var want []float64
			idx := func(o, b, n int) (int, bool) {
				i := o - b
				if i >= 0 && i < n {
					return i, true
				}
				switch mode {
				case "reflect":
					if i < 0 {
						i = -i
					}
					if i >= n {
						i = 2*(n-1) - i
					}
				case "edge":
					i = min(max(i, 0), n-1)
				case "wrap":
					i = (i%n + n) % n
				default:
					return 0, false
				}
				return i, true
			}
			for c := 0; c < 2; c++ {
				for h := 0; h < 6; h++ {
					for w := 0; w < 8; w++ {
						ih, ok1 := idx(h, 2, 3)
						iw, ok2 := idx(w, 1, 4)
						if ok1 && ok2 {
							want = append(want, x[c*12+ih*4+iw])
						} else {
							want = append(want, 7)
						}
					}
				}
			}
			near(t, "Pad "+mode, decode(dt, got.Data), want, 1e-7)
		}
	}
}

func TestConvShapeErrors(t *testing.T) {
	for _, tc := range []struct {
		x, w  []int64
		attrs []graph.Attr
		code  errs.Code
	}{
		{x: []int64{1, 3, 5, 5}, w: []int64{4, 2, 3, 3}, code: errs.GraphShape},
		{x: []int64{1, 4, 5, 5}, w: []int64{4, 2, 3, 3}, attrs: []graph.Attr{cIntA("group", 3)}, code: errs.GraphShape},
		{x: []int64{1, 3, 5, 5}, w: []int64{4, 3, 3, 3}, attrs: []graph.Attr{cIntsA("pads", []int64{1, 1})}, code: errs.GraphAttribute},
		{x: []int64{1, 3, 5, 5}, w: []int64{4, 3, 3, 3}, attrs: []graph.Attr{cIntsA("strides", []int64{0, 1})}, code: errs.GraphAttribute},
		{x: []int64{1, 3, 5, 5}, w: []int64{4, 3, 3, 3}, attrs: []graph.Attr{cIntsA("kernel_shape", []int64{2, 3})}, code: errs.GraphShape},
		{x: []int64{1, 3, 2, 5}, w: []int64{4, 3, 3, 3}, code: errs.GraphShape},
		{x: []int64{1, 3, 5, 5, 5}, w: []int64{4, 3, 3, 3, 3}, code: errs.UnsupportedFeature},
		{x: []int64{1, 3, 5, 5}, w: []int64{4, 3, 3, 3}, attrs: []graph.Attr{cStrA("auto_pad", "BOGUS")}, code: errs.GraphAttribute},
	} {
		b := []tin{{name: "x", dt: dtype.Float32, sig: tc.x, shape: tc.x, values: make([]float64, prod(tc.x))}}
		_, err := tryBuild(t, b, []tconst{{name: "w", dt: dtype.Float32, shape: tc.w, values: make([]float64, prod(tc.w))}},
			graph.Node{Op: "Conv", Name: "c", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: tc.attrs})
		wantCode(t, err, tc.code)
	}
}

// tryBuild saves, opens and runs a one-node model, returning the first error.
func tryBuild(t *testing.T, ins []tin, consts []tconst, node graph.Node) (Tensor, error) {
	t.Helper()
	b := format.NewBuilder()
	for _, in := range ins {
		if err := b.AddInput(in.name, in.dt, in.sig); err != nil {
			return Tensor{}, err
		}
	}
	for _, c := range consts {
		if err := b.AddTensor(c.name, c.dt, c.shape, encode(c.dt, c.values)); err != nil {
			return Tensor{}, err
		}
	}
	b.AddNode(node)
	if err := b.AddOutput(node.Outputs[0]); err != nil {
		return Tensor{}, err
	}
	path := filepath.Join(t.TempDir(), "m.mle")
	if _, err := b.Save(path); err != nil {
		return Tensor{}, err
	}
	m, err := Open(path, Options{})
	if err != nil {
		return Tensor{}, err
	}
	defer m.Close()
	outs, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		return Tensor{}, err
	}
	return outs[0], nil
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// TestWinogradPasses runs a 3×3 layer that Winograd takes over a batch of
// three in passes of two images (the pass budget lowered for the test), by
// each algorithm: the plan must pick it with two images a pass, and every
// image's output must match the reference, fused ReLU and residual
// included.
func TestWinogradPasses(t *testing.T) {
	if !kernels.WinogradAvailable() {
		return // the direct or im2col paths run it; TestConvMatchesReference covers them
	}
	for _, f4 := range []bool{true, false} {
		t.Run(fmt.Sprintf("f4=%v", f4), func(t *testing.T) { testWinogradPasses(t, f4) })
	}
}

func testWinogradPasses(t *testing.T, f4 bool) {
	xs, ws := []int64{3, 20, 18, 18}, []int64{24, 20, 3, 3}
	perImage := 16 * 4 * (20 + 24) * 81 // transformed inputs and products of one image, bytes
	if f4 {
		perImage = 36 * 4 * (20 + 24) * 25
	}
	defer func(b int, f bool) { winoPassBytes, winoF4 = b, f }(winoPassBytes, winoF4)
	winoPassBytes, winoF4 = 2*perImage, f4
	r := rand.New(rand.NewSource(5))
	x, w, b := convRand(prod(xs), r), convRand(prod(ws), r), convRand(24, r)
	res := convRand(3*24*18*18, r)
	want := refConv(xs, ws, x, w, b, 1, []int64{1, 1}, []int64{1, 1}, []int64{1, 1}, []int64{18, 18})
	for i := range want {
		want[i] = math.Max(want[i], 0) + res[i]
	}
	nodes := []graph.Node{
		{Op: "Conv", Name: "c", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
			Attrs: []graph.Attr{cIntsA("pads", []int64{1, 1, 1, 1})}},
		{Op: "Relu", Name: "r", Inputs: []string{"c"}, Outputs: []string{"a"}},
		{Op: "Add", Name: "s", Inputs: []string{"a", "res"}, Outputs: []string{"y"}},
	}
	consts := []tconst{{name: "w", dt: dtype.Float32, shape: ws, values: w}, {name: "b", dt: dtype.Float32, shape: ws[:1], values: b}}
	ins := []tin{{name: "x", dt: dtype.Float32, sig: []int64{-1, 20, 18, 18}, shape: xs, values: x},
		{name: "res", dt: dtype.Float32, sig: []int64{-1, 24, 18, 18}, shape: []int64{3, 24, 18, 18}, values: res}}
	for _, threads := range []int{1, 2} {
		m := buildModel(t, ins, consts, nodes, []string{"y"}, Options{Threads: threads})
		s, err := m.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		got := make([]Tensor, 1)
		if err := s.RunAlloc(inputsOf(ins), got, nil, RunOptions{}, heapAlloc); err != nil {
			t.Fatal(err)
		}
		wino := 0
		for _, p := range s.plans {
			for _, st := range p.steps {
				if e, ok := st.exec.(*convExec); ok && e.wino != nil {
					if e.wino.perPass != 2 || e.wino.f4 != f4 {
						t.Fatalf("threads %d: %d images a pass, F(4×4, 3×3) %v; want 2, %v", threads, e.wino.perPass, e.wino.f4, f4)
					}
					wino++
				}
			}
		}
		if wino != 1 {
			t.Fatalf("threads %d: %d Winograd steps, want 1", threads, wino)
		}
		s.Close()
		near(t, fmt.Sprintf("winograd passes, threads %d", threads), decode(dtype.Float32, got[0].Data), want, 1e-5*max(1, maxAbs(want)))
	}
}
