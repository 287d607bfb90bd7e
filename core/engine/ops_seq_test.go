package engine

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// rnnCase is one recurrent layer to check against refRNN.
type rnnCase struct {
	op                 string
	dir                string
	layout             int
	lbr                int
	acts               string
	seq, batch, in, h  int
	bias, initH, initC bool
	constW             bool
	yOnly, noY         bool
}

func sigm(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// refRNN computes Y, Y_h, Y_c by the ONNX equations in float64.
func refRNN(c rnnCase, x, w, r, b, h0, c0 []float64) (y, yh, yc []float64) {
	nd := 1
	if c.dir == "bidirectional" {
		nd = 2
	}
	g := graph.RNNGates(c.op)
	H, gh := c.h, g*c.h
	y = make([]float64, c.seq*nd*c.batch*H)
	yh = make([]float64, nd*c.batch*H)
	yc = make([]float64, nd*c.batch*H)
	xat := func(t, bb, i int) float64 {
		if c.layout == 1 {
			return x[(bb*c.seq+t)*c.in+i]
		}
		return x[(t*c.batch+bb)*c.in+i]
	}
	st := func(d, bb int) int {
		if c.layout == 1 {
			return (bb*nd + d) * H
		}
		return (d*c.batch + bb) * H
	}
	for d := 0; d < nd; d++ {
		relu := c.op == "RNN" && strings.Split(c.acts+",", ",")[d] == "Relu"
		for bb := 0; bb < c.batch; bb++ {
			h := make([]float64, H)
			cs := make([]float64, H)
			if h0 != nil {
				copy(h, h0[st(d, bb):])
			}
			if c0 != nil {
				copy(cs, c0[st(d, bb):])
			}
			for s := 0; s < c.seq; s++ {
				t := s
				if d == 1 || c.dir == "reverse" {
					t = c.seq - 1 - s
				}
				xg := make([]float64, gh) // X·Wᵀ + Wb
				hg := make([]float64, gh) // h·Rᵀ + Rb
				for j := 0; j < gh; j++ {
					for i := 0; i < c.in; i++ {
						xg[j] += xat(t, bb, i) * w[(d*gh+j)*c.in+i]
					}
					for k := 0; k < H; k++ {
						hg[j] += h[k] * r[(d*gh+j)*H+k]
					}
					if b != nil {
						xg[j] += b[2*d*gh+j]
						hg[j] += b[(2*d+1)*gh+j]
					}
				}
				nh := make([]float64, H)
				switch c.op {
				case "LSTM":
					for k := 0; k < H; k++ {
						i, o := sigm(xg[k]+hg[k]), sigm(xg[H+k]+hg[H+k])
						f, cc := sigm(xg[2*H+k]+hg[2*H+k]), math.Tanh(xg[3*H+k]+hg[3*H+k])
						cs[k] = f*cs[k] + i*cc
						nh[k] = o * math.Tanh(cs[k])
					}
				case "GRU":
					rg := make([]float64, H)
					for k := 0; k < H; k++ {
						rg[k] = sigm(xg[H+k] + hg[H+k])
					}
					for k := 0; k < H; k++ {
						z := sigm(xg[k] + hg[k])
						var n float64
						if c.lbr == 1 {
							n = math.Tanh(xg[2*H+k] + rg[k]*hg[2*H+k])
						} else {
							v := xg[2*H+k]
							for m := 0; m < H; m++ {
								v += rg[m] * h[m] * r[(d*gh+2*H+k)*H+m]
							}
							if b != nil {
								v += b[(2*d+1)*gh+2*H+k]
							}
							n = math.Tanh(v)
						}
						nh[k] = (1-z)*n + z*h[k]
					}
				case "RNN":
					for k := 0; k < H; k++ {
						if relu {
							nh[k] = math.Max(0, xg[k]+hg[k])
						} else {
							nh[k] = math.Tanh(xg[k] + hg[k])
						}
					}
				}
				h = nh
				o := ((t*nd+d)*c.batch + bb) * H
				if c.layout == 1 {
					o = ((bb*c.seq+t)*nd + d) * H
				}
				copy(y[o:], h)
			}
			copy(yh[st(d, bb):], h)
			copy(yc[st(d, bb):], cs)
		}
	}
	return y, yh, yc
}

func runRNNCase(t *testing.T, c rnnCase, dt dtype.DType) {
	nd := 1
	if c.dir == "bidirectional" {
		nd = 2
	}
	g := graph.RNNGates(c.op)
	gh := g * c.h
	xshape := []int64{int64(c.seq), int64(c.batch), int64(c.in)}
	state := []int64{int64(nd), int64(c.batch), int64(c.h)}
	if c.layout == 1 {
		xshape = []int64{int64(c.batch), int64(c.seq), int64(c.in)}
		state = []int64{int64(c.batch), int64(nd), int64(c.h)}
	}
	scale := 1 / math.Sqrt(float64(c.h))
	mul := func(v []float64, s float64) []float64 {
		for i := range v {
			v[i] *= s
		}
		return v
	}
	xv := seq(prod(xshape), 0.3)
	wv := mul(seq(nd*gh*c.in, 1.1), scale)
	rv := mul(seq(nd*gh*c.h, 2.3), scale)
	bv := mul(seq(nd*2*gh, 0.9), 0.5)
	h0 := mul(seq(prod(state), 3.1), 0.5)
	c0 := mul(seq(prod(state), 4.7), 0.5)
	dyn := []int64{-1, -1, int64(c.in)}
	ins := []tin{{"X", dt, dyn, xshape, xv}}
	var consts []tconst
	wshape := []int64{int64(nd), int64(gh), int64(c.in)}
	rshape := []int64{int64(nd), int64(gh), int64(c.h)}
	if c.constW {
		consts = append(consts, tconst{"W", dt, wshape, wv}, tconst{"R", dt, rshape, rv})
	} else {
		ins = append(ins, tin{"W", dt, wshape, wshape, wv}, tin{"R", dt, rshape, rshape, rv})
	}
	inputs := []string{"X", "W", "R", "", "", "", ""}
	if c.bias {
		consts = append(consts, tconst{"B", dt, []int64{int64(nd), int64(2 * gh)}, bv})
		inputs[3] = "B"
	} else {
		bv = nil
	}
	sdyn := []int64{int64(nd), -1, int64(c.h)}
	if c.layout == 1 {
		sdyn = []int64{-1, int64(nd), int64(c.h)}
	}
	if c.initH {
		ins = append(ins, tin{"h0", dt, sdyn, state, h0})
		inputs[5] = "h0"
	} else {
		h0 = nil
	}
	if c.initC && c.op == "LSTM" {
		ins = append(ins, tin{"c0", dt, sdyn, state, c0})
		inputs[6] = "c0"
	} else {
		c0 = nil
	}
	if c.op != "LSTM" {
		inputs = inputs[:6]
	}
	outs := []string{"Y", "Yh", "Yc"}
	if c.op != "LSTM" {
		outs = outs[:2]
	}
	node := graph.Node{Op: c.op, Name: "rnn", Inputs: inputs, Outputs: append([]string(nil), outs...),
		Attrs: []graph.Attr{{Name: "hidden_size", Type: graph.AttrInt, Int: int64(c.h)},
			{Name: "direction", Type: graph.AttrString, String: c.dir},
			{Name: "layout", Type: graph.AttrInt, Int: int64(c.layout)}}}
	if c.op == "GRU" {
		node.Attrs = append(node.Attrs, graph.Attr{Name: "linear_before_reset", Type: graph.AttrInt, Int: int64(c.lbr)})
	}
	if c.acts != "" {
		node.Attrs = append(node.Attrs, graph.Attr{Name: "activations", Type: graph.AttrString, String: c.acts})
	}
	pub := outs
	if c.noY { // Y computed but not published (output 0 cannot be empty)
		pub = outs[1:]
	}
	if c.yOnly {
		node.Outputs = node.Outputs[:1]
		pub = outs[:1]
	}
	m := buildModel(t, ins, consts, []graph.Node{node}, pub, Options{})
	got, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	y, yh, yc := refRNN(c, xv, wv, rv, bv, h0, c0)
	tol := 1e-12
	if dt == dtype.Float32 {
		tol = 2e-5
	}
	want := map[string][]float64{"Y": y, "Yh": yh, "Yc": yc}
	for i, name := range pub {
		near(t, name, decode(dt, got[i].Data), want[name], tol)
	}
}

func TestRNNFamilyMatchesReference(t *testing.T) {
	var cases []rnnCase
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		for _, dir := range []string{"forward", "reverse", "bidirectional"} {
			for layout := 0; layout < 2; layout++ {
				for _, shape := range [][4]int{{4, 3, 5, 6}, {7, 13, 9, 20}} {
					c := rnnCase{op: op, dir: dir, layout: layout, seq: shape[0], batch: shape[1], in: shape[2], h: shape[3],
						bias: true, initH: true, initC: true, constW: shape[1] > 8}
					cases = append(cases, c)
					if op == "GRU" {
						c.lbr = 1
						cases = append(cases, c)
					}
					if op == "RNN" {
						c.acts = "Relu"
						if dir == "bidirectional" {
							c.acts = "Tanh,Relu"
						}
						cases = append(cases, c)
					}
				}
			}
		}
	}
	cases = append(cases,
		rnnCase{op: "LSTM", dir: "forward", seq: 3, batch: 2, in: 4, h: 5},
		rnnCase{op: "GRU", dir: "bidirectional", seq: 3, batch: 2, in: 4, h: 5, constW: true, lbr: 1},
		rnnCase{op: "GRU", dir: "bidirectional", seq: 3, batch: 2, in: 4, h: 5, constW: true},
		rnnCase{op: "LSTM", dir: "bidirectional", seq: 5, batch: 3, in: 4, h: 5, bias: true, yOnly: true},
		rnnCase{op: "LSTM", dir: "bidirectional", seq: 5, batch: 3, in: 4, h: 5, bias: true, initH: true, noY: true},
		rnnCase{op: "LSTM", dir: "forward", seq: 0, batch: 3, in: 4, h: 5, bias: true, initH: true, initC: true},
		rnnCase{op: "GRU", dir: "forward", seq: 4, batch: 0, in: 4, h: 5, bias: true},
	)
	for _, c := range cases {
		for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64} {
			name := fmt.Sprintf("%s/%s/l%d/lbr%d/%s/%dx%dx%dx%d/%s", c.op, c.dir, c.layout, c.lbr, c.acts, c.seq, c.batch, c.in, c.h, dt)
			t.Run(name, func(t *testing.T) { runRNNCase(t, c, dt) })
		}
	}
}

func TestRNNRefusals(t *testing.T) {
	dt := dtype.Float32
	x := tin{"X", dt, []int64{-1, -1, 4}, []int64{2, 1, 4}, seq(8, 0)}
	w := tconst{"W", dt, []int64{1, 20, 4}, seq(80, 1)}
	r := tconst{"R", dt, []int64{1, 20, 5}, seq(100, 2)}
	build := func(inputs []string, attrs ...graph.Attr) error {
		b := newBuilder(t, []tin{x}, []tconst{w, r, {"P", dt, []int64{1, 15}, seq(15, 0)}, {"L", dtype.Int32, []int64{1}, []float64{2}}},
			[]graph.Node{{Op: "LSTM", Name: "l", Inputs: inputs, Outputs: []string{"Y"}, Attrs: attrs}}, []string{"Y"})
		_, err := openBuilt(t, b)
		return err
	}
	in3 := []string{"X", "W", "R"}
	wantCode(t, build(in3, graph.Attr{Name: "hidden_size", Type: graph.AttrInt, Int: 4}), errs.GraphShape)
	wantCode(t, build(in3, graph.Attr{Name: "direction", Type: graph.AttrString, String: "sideways"}), errs.GraphAttribute)
	wantCode(t, build(in3, graph.Attr{Name: "direction", Type: graph.AttrString, String: "bidirectional"}), errs.GraphShape)
	wantCode(t, build(in3, graph.Attr{Name: "clip", Type: graph.AttrFloat, Float: 3}), errs.UnsupportedFeature)
	wantCode(t, build(in3, graph.Attr{Name: "activations", Type: graph.AttrString, String: "Sigmoid,Relu,Tanh"}), errs.UnsupportedFeature)
	wantCode(t, build(in3, graph.Attr{Name: "activations", Type: graph.AttrString, String: "Sigmoid"}), errs.GraphAttribute)
	wantCode(t, build(in3, graph.Attr{Name: "input_forget", Type: graph.AttrInt, Int: 1}), errs.UnsupportedFeature)
	wantCode(t, build([]string{"X", "W", "R", "", "L"}), errs.UnsupportedFeature)
	wantCode(t, build([]string{"X", "W", "R", "", "", "", "", "P"}), errs.UnsupportedFeature)
	if err := build(in3); err != nil {
		t.Fatal(err)
	}
}

// refAttention is softmax(scale·QKᵀ + mask)·V in float64; maskAt gives the
// additive mask for (b, h, i, j).
func refAttention(q, k, v []float64, B, hq, hkv, sq, sk, d, dv int, scale float64, causal bool, maskAt func(b, h, i, j int) float64) []float64 {
	y := make([]float64, B*hq*sq*dv)
	for b := 0; b < B; b++ {
		for h := 0; h < hq; h++ {
			kh := h / (hq / hkv)
			for i := 0; i < sq; i++ {
				s := make([]float64, sk)
				mx := math.Inf(-1)
				for j := 0; j < sk; j++ {
					for e := 0; e < d; e++ {
						s[j] += q[((b*hq+h)*sq+i)*d+e] * k[((b*hkv+kh)*sk+j)*d+e]
					}
					s[j] *= scale
					if maskAt != nil {
						s[j] += maskAt(b, h, i, j)
					}
					if causal && j > i {
						s[j] = math.Inf(-1)
					}
					mx = math.Max(mx, s[j])
				}
				var sum float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for e := 0; e < dv; e++ {
					var acc float64
					for j := range s {
						acc += s[j] / sum * v[((b*hkv+kh)*sk+j)*dv+e]
					}
					y[((b*hq+h)*sq+i)*dv+e] = acc
				}
			}
		}
	}
	return y
}

func TestAttentionMatchesReference(t *testing.T) {
	type acase struct {
		b, hq, hkv, sq, sk, d, dv int
		causal                    bool
		mask                      string // "", "bool", "float"
		maskShape                 []int64
		scale                     float64
	}
	cases := []acase{
		{b: 2, hq: 3, hkv: 3, sq: 5, sk: 5, d: 4, dv: 4},
		{b: 2, hq: 4, hkv: 2, sq: 7, sk: 9, d: 8, dv: 6, scale: 0.3},
		{b: 1, hq: 2, hkv: 1, sq: 9, sk: 9, d: 8, dv: 8, causal: true},
		{b: 2, hq: 2, hkv: 2, sq: 9, sk: 6, d: 8, dv: 8, causal: true},
		{b: 2, hq: 2, hkv: 2, sq: 5, sk: 6, d: 8, dv: 3, mask: "bool", maskShape: []int64{5, 6}},
		{b: 2, hq: 2, hkv: 2, sq: 5, sk: 6, d: 8, dv: 3, mask: "float", maskShape: []int64{2, 1, 5, 6}},
		{b: 2, hq: 4, hkv: 2, sq: 5, sk: 6, d: 8, dv: 3, mask: "float", maskShape: []int64{4, 1, 6}, causal: true},
		{b: 2, hq: 8, hkv: 4, sq: 130, sk: 200, d: 32, dv: 16, mask: "bool", maskShape: []int64{2, 8, 130, 200}},
		{b: 1, hq: 2, hkv: 2, sq: 300, sk: 300, d: 16, dv: 16, causal: true},
	}
	for ci, c := range cases {
		for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64} {
			t.Run(fmt.Sprintf("%d/%s", ci, dt), func(t *testing.T) {
				qs := []int64{int64(c.b), int64(c.hq), int64(c.sq), int64(c.d)}
				ks := []int64{int64(c.b), int64(c.hkv), int64(c.sk), int64(c.d)}
				vs := []int64{int64(c.b), int64(c.hkv), int64(c.sk), int64(c.dv)}
				q, k, v := seq(prod(qs), 0.1), seq(prod(ks), 0.5), seq(prod(vs), 0.9)
				dyn := func(s []int64) []int64 { return []int64{-1, s[1], -1, s[3]} }
				ins := []tin{{"Q", dt, dyn(qs), qs, q}, {"K", dt, dyn(ks), ks, k}, {"V", dt, dyn(vs), vs, v}}
				inputs := []string{"Q", "K", "V"}
				var maskAt func(b, h, i, j int) float64
				if c.mask != "" {
					ms := c.maskShape
					mv := make([]float64, prod(ms))
					for i := range mv {
						if c.mask == "bool" {
							mv[i] = float64((i*7 + i/3) % 3 % 2) // about a third masked
							if i%11 == 0 {
								mv[i] = 1
							}
						} else {
							mv[i] = math.Sin(float64(i))
						}
					}
					mdt := dt
					if c.mask == "bool" {
						mdt = dtype.Bool
					}
					ins = append(ins, tin{"M", mdt, ms, ms, mv})
					inputs = append(inputs, "M")
					full := []int64{int64(c.b), int64(c.hq), int64(c.sq), int64(c.sk)}
					maskAt = func(b, h, i, j int) float64 {
						idx := []int{b, h, i, j}
						off, stride := 0, 1
						for a := len(ms) - 1; a >= 0; a-- {
							fa := a + 4 - len(ms)
							if ms[a] != 1 {
								off += idx[fa] * stride
							}
							stride *= int(ms[a])
							_ = full
						}
						if c.mask == "bool" {
							if mv[off] == 0 {
								return math.Inf(-1)
							}
							return 0
						}
						return mv[off]
					}
				}
				node := graph.Node{Op: "Attention", Name: "a", Inputs: inputs, Outputs: []string{"Y"}}
				scale := 1 / math.Sqrt(float64(c.d))
				if c.scale != 0 {
					scale = c.scale
					node.Attrs = append(node.Attrs, graph.Attr{Name: "scale", Type: graph.AttrFloat, Float: c.scale})
				}
				if c.causal {
					node.Attrs = append(node.Attrs, graph.Attr{Name: "is_causal", Type: graph.AttrInt, Int: 1})
				}
				got, err := single(t, ins, nil, node)
				if err != nil {
					t.Fatal(err)
				}
				want := refAttention(q, k, v, c.b, c.hq, c.hkv, c.sq, c.sk, c.d, c.dv, scale, c.causal, maskAt)
				tol := 1e-12
				if dt == dtype.Float32 {
					tol = 1e-5
				}
				near(t, "Y", decode(dt, got.Data), want, tol)
			})
		}
	}
}

func TestAttentionFullyMaskedRowIsZero(t *testing.T) {
	dt := dtype.Float32
	s := []int64{1, 1, 2, 2}
	ins := []tin{{"Q", dt, s, s, seq(4, 0)}, {"K", dt, s, s, seq(4, 1)}, {"V", dt, s, s, seq(4, 2)},
		{"M", dtype.Bool, []int64{2, 2}, []int64{2, 2}, []float64{0, 0, 1, 1}}}
	got, err := single(t, ins, nil, graph.Node{Op: "Attention", Name: "a", Inputs: []string{"Q", "K", "V", "M"}, Outputs: []string{"Y"}})
	if err != nil {
		t.Fatal(err)
	}
	y := decode(dt, got.Data)
	if y[0] != 0 || y[1] != 0 || y[2] == 0 || math.IsNaN(y[2]) {
		t.Fatalf("Y = %v; want row 0 zeros (torch's safe softmax), row 1 not", y)
	}
}

func TestAttentionRefusals(t *testing.T) {
	dt := dtype.Float32
	try := func(qs, ks, vs []int64, outs []string, extra []string, attrs ...graph.Attr) error {
		ins := []tin{{"Q", dt, qs, qs, nil}, {"K", dt, ks, ks, nil}, {"V", dt, vs, vs, nil}}
		b := newBuilder(t, ins, []tconst{{"P", dt, []int64{1, 1, 1, 1}, []float64{0}}, {"M", dt, []int64{3, 3, 3, 3, 3}, make([]float64, 243)}},
			[]graph.Node{{Op: "Attention", Name: "a", Inputs: append([]string{"Q", "K", "V"}, extra...), Outputs: outs, Attrs: attrs}}, outs[:1])
		_, err := openBuilt(t, b)
		return err
	}
	s4 := []int64{1, 4, 3, 8}
	y := []string{"Y"}
	wantCode(t, try(s4, []int64{1, 3, 3, 8}, []int64{1, 3, 3, 8}, y, nil), errs.GraphShape)
	wantCode(t, try(s4, []int64{1, 4, 3, 7}, s4, y, nil), errs.GraphShape)
	wantCode(t, try([]int64{4, 3, 8}, []int64{4, 3, 8}, []int64{4, 3, 8}, y, nil), errs.GraphShape)
	wantCode(t, try(s4, s4, s4, y, []string{"", "P"}), errs.UnsupportedFeature)
	wantCode(t, try(s4, s4, s4, []string{"Y", "pk"}, nil), errs.UnsupportedFeature)
	wantCode(t, try(s4, s4, s4, y, []string{"M"}), errs.GraphShape)
	wantCode(t, try(s4, s4, s4, y, nil, graph.Attr{Name: "softcap", Type: graph.AttrFloat, Float: 1}), errs.UnsupportedFeature)
	if err := try(s4, []int64{1, 2, 5, 8}, []int64{1, 2, 5, 3}, y, nil); err != nil {
		t.Fatal(err)
	}
}

// refBag is torch's EmbeddingBag in float64.
func refBag(w []float64, dim int, idx []int64, bounds [][2]int, mode string, pad int64, psw []float64) []float64 {
	out := make([]float64, len(bounds)*dim)
	for bi, bd := range bounds {
		y := out[bi*dim : (bi+1)*dim]
		n := 0
		for p := bd[0]; p < bd[1]; p++ {
			k := idx[p]
			if k == pad {
				continue
			}
			for j := 0; j < dim; j++ {
				v := w[int(k)*dim+j]
				switch {
				case mode == "max" && (n == 0 || v > y[j]):
					y[j] = v
				case mode == "max":
				case psw != nil:
					y[j] += psw[p] * v
				default:
					y[j] += v
				}
			}
			n++
		}
		if mode == "mean" && n > 0 {
			for j := range y {
				y[j] /= float64(n)
			}
		}
	}
	return out
}

func bagNode(mode string, last, pad int64, inputs ...string) graph.Node {
	return graph.Node{Op: "EmbeddingBag", Name: "eb", Inputs: inputs, Outputs: []string{"Y"}, Attrs: []graph.Attr{
		{Name: "mode", Type: graph.AttrString, String: mode},
		{Name: "include_last_offset", Type: graph.AttrInt, Int: last},
		{Name: "padding_idx", Type: graph.AttrInt, Int: pad}}}
}

func TestEmbeddingBagMatchesReference(t *testing.T) {
	const num, dim = 10, 5
	wv := seq(num*dim, 0.2)
	idx := []int64{1, 2, 4, 5, 4, 3, 2, 9, 0, 7, 7}
	offs := []int64{0, 3, 3, 7}
	for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64} {
		for _, mode := range []string{"sum", "mean", "max"} {
			for _, pad := range []int64{-1, 4} {
				for last := int64(0); last < 2; last++ {
					t.Run(fmt.Sprintf("%s/%s/pad%d/last%d", dt, mode, pad, last), func(t *testing.T) {
						var bounds [][2]int
						nb := len(offs)
						if last == 1 {
							nb--
						}
						for i := 0; i < nb; i++ {
							hi := len(idx)
							if i+1 < len(offs) {
								hi = int(offs[i+1])
							}
							bounds = append(bounds, [2]int{int(offs[i]), hi})
						}
						ins := []tin{{"I", dtype.Int64, []int64{-1}, []int64{int64(len(idx))}, i64f(idx)},
							{"O", dtype.Int64, []int64{-1}, []int64{int64(len(offs))}, i64f(offs)}}
						inputs := []string{"W", "I", "O"}
						var psw []float64
						if mode == "sum" {
							psw = seq(len(idx), 3)
							ins = append(ins, tin{"P", dt, []int64{-1}, []int64{int64(len(idx))}, psw})
							inputs = append(inputs, "P")
						}
						got, err := single(t, ins, []tconst{{"W", dt, []int64{num, dim}, wv}}, bagNode(mode, last, pad, inputs...))
						if err != nil {
							t.Fatal(err)
						}
						near(t, "Y", decode(dt, got.Data), refBag(wv, dim, idx, bounds, mode, pad, psw), 1e-6)
					})
				}
			}
			t.Run(fmt.Sprintf("%s/%s/2d", dt, mode), func(t *testing.T) {
				idx2 := idx[:9]
				ins := []tin{{"I", dtype.Int64, []int64{-1, 3}, []int64{3, 3}, i64f(idx2)}}
				got, err := single(t, ins, []tconst{{"W", dt, []int64{num, dim}, wv}}, bagNode(mode, 0, 2, "W", "I"))
				if err != nil {
					t.Fatal(err)
				}
				near(t, "Y", decode(dt, got.Data), refBag(wv, dim, idx2, [][2]int{{0, 3}, {3, 6}, {6, 9}}, mode, 2, nil), 1e-6)
			})
		}
	}
}

func i64f(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestEmbeddingBagBadIndicesFail(t *testing.T) {
	dt := dtype.Float32
	w := []tconst{{"W", dt, []int64{4, 2}, seq(8, 0)}}
	run := func(idx, offs []int64) error {
		ins := []tin{{"I", dtype.Int64, []int64{-1}, []int64{int64(len(idx))}, i64f(idx)},
			{"O", dtype.Int64, []int64{-1}, []int64{int64(len(offs))}, i64f(offs)}}
		_, err := single(t, ins, w, bagNode("sum", 0, -1, "W", "I", "O"))
		return err
	}
	for _, c := range []struct {
		idx, offs []int64
		msg       string
	}{
		{[]int64{0, 4}, []int64{0}, "index 4"},
		{[]int64{0, -1}, []int64{0, 1}, "index -1"},
		{[]int64{0, 1}, []int64{0, 3}, "offsets[1] = 3"},
		{[]int64{0, 1, 2}, []int64{0, 2, 1}, "offsets[2] = 1"},
		{[]int64{0, 1}, []int64{1}, "offsets[0] is 1"},
	} {
		err := run(c.idx, c.offs)
		wantCode(t, err, errs.InvalidValue)
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: error %q does not name %q", c.idx, err, c.msg)
		}
	}
	if err := run([]int64{0, 3}, []int64{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
}

// openBuilt saves and opens b, returning the first error.
func openBuilt(t *testing.T, b *format.Builder) (*Model, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.mle")
	if _, err := b.Save(path); err != nil {
		return nil, err
	}
	m, err := Open(path, Options{})
	if err == nil {
		t.Cleanup(func() { m.Close() })
	}
	return m, err
}
