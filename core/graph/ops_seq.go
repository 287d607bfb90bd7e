package graph

import (
	"strings"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Sequence-model ops.
//
//	LSTM, GRU, RNN (ONNX opset 22): X, W, R, B?, sequence_lens?, initial_h?,
//	  initial_c? (LSTM), P? (LSTM) -> Y?, Y_h?, Y_c? (LSTM). sequence_lens and
//	  P must be absent; activations only the defaults (RNN: Tanh or Relu).
//	  The format has no list-of-strings attribute, so activations is one
//	  string, the names joined by commas ("Sigmoid,Tanh,Tanh").
//	Attention (ONNX opset 23, 4-D form): Q, K, V, attn_mask? -> Y.
//	EmbeddingBag (MLE; torch semantics): weight, indices, offsets?,
//	  per_sample_weights? -> [bags, dim].

// RNNGates returns the number of gates of op: LSTM 4, GRU 3, RNN 1.
func RNNGates(op string) int {
	switch op {
	case "LSTM":
		return 4
	case "GRU":
		return 3
	}
	return 1
}

func init() {
	rnnAttrs := func(extra ...AttrSpec) []AttrSpec {
		return append([]AttrSpec{
			{Name: "activation_alpha", Type: AttrFloats},
			{Name: "activation_beta", Type: AttrFloats},
			{Name: "activations", Type: AttrString},
			floatAttr("clip", 0),
			{Name: "direction", Type: AttrString, Default: Attr{String: "forward"}},
			intAttr("hidden_size", 0),
			intAttr("layout", 0),
		}, extra...)
	}
	register(&OpSchema{Name: "LSTM", MinInputs: 3, MaxInputs: 8, MinOutputs: 1, MaxOutputs: 3, Types: floatTypes,
		Attrs: rnnAttrs(intAttr("input_forget", 0)), infer: inferRNN})
	register(&OpSchema{Name: "GRU", MinInputs: 3, MaxInputs: 6, MinOutputs: 1, MaxOutputs: 2, Types: floatTypes,
		Attrs: rnnAttrs(intAttr("linear_before_reset", 0)), infer: inferRNN})
	register(&OpSchema{Name: "RNN", MinInputs: 3, MaxInputs: 6, MinOutputs: 1, MaxOutputs: 2, Types: floatTypes,
		Attrs: rnnAttrs(), infer: inferRNN})
	register(&OpSchema{Name: "Attention", MinInputs: 3, MaxInputs: 6, MinOutputs: 1, MaxOutputs: 4, Types: floatTypes,
		Attrs: []AttrSpec{intAttr("is_causal", 0), intAttr("kv_num_heads", 0), intAttr("q_num_heads", 0),
			intAttr("qk_matmul_output_mode", 0), floatAttr("scale", 0), floatAttr("softcap", 0), intAttr("softmax_precision", 0)},
		infer: inferAttention})
	register(&OpSchema{Name: "EmbeddingBag", MinInputs: 2, MaxInputs: 4, Types: floatTypes, Stored: []int{0},
		Attrs: []AttrSpec{{Name: "mode", Type: AttrString, Default: Attr{String: "mean"}},
			intAttr("include_last_offset", 0), intAttr("padding_idx", -1)},
		infer: inferEmbeddingBag})
}

// HasAttr reports whether the node sets attribute name itself (no default).
func (n *CNode) HasAttr(name string) bool {
	for _, a := range n.Attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// input returns input i, nil when absent (trailing absent inputs may be
// left out of the node).
func (x *inferCtx) input(i int) *ValueInfo {
	if i < len(x.in) {
		return x.in[i]
	}
	return nil
}

// RNNActivations returns the activations of an RNN-family node, one per
// gate function and direction (the ONNX defaults when not set), or an error
// naming those MLE does not support.
func RNNActivations(n *CNode, numDir int) ([]string, error) {
	per := map[string][]string{"LSTM": {"Sigmoid", "Tanh", "Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "RNN": {"Tanh"}}[n.Op]
	var acts []string
	if s := n.Attr("activations").String; s != "" {
		for _, a := range strings.Split(s, ",") {
			acts = append(acts, strings.TrimSpace(a))
		}
	} else {
		for range numDir {
			acts = append(acts, per...)
		}
	}
	if len(acts) != len(per)*numDir {
		return nil, errs.New(errs.GraphAttribute, "%s %q has %d activations %q; want %d (%d per direction)", n.Op, n.Name, len(acts), acts, len(per)*numDir, len(per))
	}
	for i, a := range acts {
		want := per[i%len(per)]
		if a == want || (n.Op == "RNN" && a == "Relu") {
			continue
		}
		return nil, errs.New(errs.UnsupportedFeature, "%s %q activation %q (position %d): MLE supports only %q here", n.Op, n.Name, a, i, want)
	}
	return acts, nil
}

func inferRNN(x *inferCtx) error {
	op, n := x.n.Op, x.n
	t, err := x.sameType(floatTypes)
	if len(x.in) > 4 && x.in[4] != nil {
		return x.errf(errs.UnsupportedFeature, "%s %q: sequence_lens %q is not supported; leave it absent (every sequence runs to the full length)", op, n.Name, x.in[4].Name)
	}
	if err != nil {
		return err
	}
	if op == "LSTM" && x.input(7) != nil {
		return x.errf(errs.UnsupportedFeature, "%s %q: peephole weights P %q are not supported", op, n.Name, x.in[7].Name)
	}
	for _, a := range []string{"activation_alpha", "activation_beta", "clip"} {
		if n.HasAttr(a) {
			return x.errf(errs.UnsupportedFeature, "%s %q: attribute %s is not supported", op, n.Name, a)
		}
	}
	if op == "LSTM" && n.Attr("input_forget").Int != 0 {
		return x.errf(errs.UnsupportedFeature, "%s %q: input_forget=%d is not supported (only 0)", op, n.Name, n.Attr("input_forget").Int)
	}
	if op == "GRU" {
		if l := n.Attr("linear_before_reset").Int; l != 0 && l != 1 {
			return x.errf(errs.GraphAttribute, "GRU %q: linear_before_reset is %d; want 0 or 1", n.Name, l)
		}
	}
	numDir := int64(1)
	switch d := n.Attr("direction").String; d {
	case "forward", "reverse":
	case "bidirectional":
		numDir = 2
	default:
		return x.errf(errs.GraphAttribute, "%s %q: direction is %q; want forward, reverse or bidirectional", op, n.Name, d)
	}
	if _, err := RNNActivations(n, int(numDir)); err != nil {
		return err
	}
	layout := n.Attr("layout").Int
	if layout != 0 && layout != 1 {
		return x.errf(errs.GraphAttribute, "%s %q: layout is %d; want 0 or 1", op, n.Name, layout)
	}
	g := int64(RNNGates(op))
	xs, ws, rs := x.in[0].Shape, x.in[1].Shape, x.in[2].Shape
	if len(xs) != 3 || len(ws) != 3 || len(rs) != 3 {
		return x.errf(errs.GraphShape, "%s %q: X, W and R must be 3-D; got X %v, W %v, R %v", op, n.Name, xs, ws, rs)
	}
	seq, batch := xs[0], xs[1]
	if layout == 1 {
		seq, batch = batch, seq
	}
	h := rs[2]
	if hs := n.Attr("hidden_size").Int; hs != 0 || n.HasAttr("hidden_size") {
		if hs <= 0 {
			return x.errf(errs.GraphAttribute, "%s %q: hidden_size is %d; want > 0", op, n.Name, hs)
		}
		if rs[2] != Dynamic && rs[2] != hs {
			return x.errf(errs.GraphShape, "%s %q: hidden_size is %d but R %q has shape %v (want [%d, %d, %d])", op, n.Name, hs, x.in[2].Name, rs, numDir, g*hs, hs)
		}
		h = hs
	}
	if h == Dynamic {
		return x.errf(errs.GraphShape, "%s %q: the hidden size is unknown: set hidden_size or give R %q a static shape", op, n.Name, x.in[2].Name)
	}
	if h <= 0 || h > 1<<24 {
		return x.errf(errs.GraphShape, "%s %q: hidden size %d from R %v is out of range", op, n.Name, h, rs)
	}
	check := func(what string, i int, got, want []int64) error {
		if len(got) != len(want) {
			return x.errf(errs.GraphShape, "%s %q: %s %q has shape %v; want %v", op, n.Name, what, x.in[i].Name, got, want)
		}
		for k := range want {
			if _, ok := mergeDim(got[k], want[k]); !ok {
				return x.errf(errs.GraphShape, "%s %q: %s %q has shape %v; want %v (hidden size %d, %d direction(s))", op, n.Name, what, x.in[i].Name, got, want, h, numDir)
			}
		}
		return nil
	}
	if err := check("W", 1, ws, []int64{numDir, g * h, xs[2]}); err != nil {
		return err
	}
	if err := check("R", 2, rs, []int64{numDir, g * h, h}); err != nil {
		return err
	}
	if b := x.input(3); b != nil {
		if err := check("B", 3, b.Shape, []int64{numDir, 2 * g * h}); err != nil {
			return err
		}
	}
	state := []int64{numDir, batch, h}
	if layout == 1 {
		state = []int64{batch, numDir, h}
	}
	if ih := x.input(5); ih != nil {
		if err := check("initial_h", 5, ih.Shape, state); err != nil {
			return err
		}
	}
	if op == "LSTM" {
		if ic := x.input(6); ic != nil {
			if err := check("initial_c", 6, ic.Shape, state); err != nil {
				return err
			}
		}
	}
	y := []int64{seq, numDir, batch, h}
	if layout == 1 {
		y = []int64{batch, seq, numDir, h}
	}
	x.out[0] = ValueInfo{DType: t, Shape: y}
	for i := 1; i < len(x.out); i++ {
		x.out[i] = ValueInfo{DType: t, Shape: state}
	}
	return nil
}

func inferAttention(x *inferCtx) error {
	n := x.n
	for i := 4; i < len(x.in); i++ {
		if x.in[i] != nil {
			return x.errf(errs.UnsupportedFeature, "Attention %q: input %d (%q; past_key, past_value) is not supported", n.Name, i, x.in[i].Name)
		}
	}
	for i := 1; i < len(n.Outputs); i++ {
		if n.Outputs[i] != "" {
			return x.errf(errs.UnsupportedFeature, "Attention %q: output %d (%q; present_key, present_value, qk_matmul_output) is not supported", n.Name, i, n.Outputs[i])
		}
	}
	for _, a := range []string{"softcap", "qk_matmul_output_mode"} {
		if v := n.Attr(a); v.Int != 0 || v.Float != 0 {
			return x.errf(errs.UnsupportedFeature, "Attention %q: %s must be 0", n.Name, a)
		}
	}
	if c := n.Attr("is_causal").Int; c != 0 && c != 1 {
		return x.errf(errs.GraphAttribute, "Attention %q: is_causal is %d; want 0 or 1", n.Name, c)
	}
	q, k, v := x.in[0], x.in[1], x.in[2]
	var t dtype.DType
	for i, in := range []*ValueInfo{q, k, v} {
		if !oneOf(in.DType, floatTypes) || (i > 0 && in.DType != t) {
			return x.errf(errs.GraphDType, "Attention %q: Q, K and V must have one float dtype; got %s, %s, %s", n.Name, q.DType, k.DType, v.DType)
		}
		t = in.DType
		if len(in.Shape) != 4 {
			return x.errf(errs.GraphShape, "Attention %q: only the 4-D form is supported; Q %v, K %v, V %v", n.Name, q.Shape, k.Shape, v.Shape)
		}
	}
	qs, ks, vs := q.Shape, k.Shape, v.Shape
	bad := func(why string) error {
		return x.errf(errs.GraphShape, "Attention %q: %s; Q %v, K %v, V %v", n.Name, why, qs, ks, vs)
	}
	b, ok1 := mergeDim(qs[0], ks[0])
	b, ok2 := mergeDim(b, vs[0])
	hkv, ok3 := mergeDim(ks[1], vs[1])
	_, ok4 := mergeDim(ks[2], vs[2])
	_, ok5 := mergeDim(qs[3], ks[3])
	if !ok1 || !ok2 {
		return bad("batch sizes differ")
	}
	if !ok3 || !ok4 {
		return bad("K and V differ in heads or length")
	}
	if !ok5 {
		return bad("Q and K head sizes differ")
	}
	hq := qs[1]
	if hq != Dynamic && hkv != Dynamic && (hkv == 0 || hq%hkv != 0) {
		return bad("the query heads are not a multiple of the key/value heads")
	}
	if h := n.Attr("q_num_heads").Int; h != 0 && hq != Dynamic && h != hq {
		return bad("q_num_heads does not match Q's heads")
	}
	if h := n.Attr("kv_num_heads").Int; h != 0 && hkv != Dynamic && h != hkv {
		return bad("kv_num_heads does not match K's heads")
	}
	out := []int64{b, hq, qs[2], vs[3]}
	if m := x.input(3); m != nil {
		if m.DType != dtype.Bool && m.DType != t {
			return x.errf(errs.GraphDType, "Attention %q: attn_mask %q is %s; want bool or %s", n.Name, m.Name, m.DType, t)
		}
		if len(m.Shape) < 2 || len(m.Shape) > 4 || !unidirectional(m.Shape, []int64{b, hq, qs[2], ks[2]}) {
			return x.errf(errs.GraphShape, "Attention %q: attn_mask %q has shape %v; it must have rank 2 to 4 and broadcast to [B, Hq, Sq, Sk] = %v", n.Name, m.Name, m.Shape, []int64{b, hq, qs[2], ks[2]})
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: out}
	for i := 1; i < len(x.out); i++ {
		x.out[i] = ValueInfo{DType: t, Shape: []int64{0}}
	}
	return nil
}

// EmbeddingBagModes lists the mode attribute's values.
var EmbeddingBagModes = []string{"sum", "mean", "max"}

func inferEmbeddingBag(x *inferCtx) error {
	n := x.n
	w, idx := x.in[0], x.in[1]
	off, psw := x.input(2), x.input(3)
	mode := n.Attr("mode").String
	if !inList(mode, EmbeddingBagModes) {
		return x.errf(errs.GraphAttribute, "EmbeddingBag %q: mode is %q; want one of %q", n.Name, mode, EmbeddingBagModes)
	}
	if !oneOf(w.DType, floatTypes) || len(w.Shape) != 2 {
		return x.errf(errs.GraphDType, "EmbeddingBag %q: weight %q must be a 2-D float tensor; it is %s %v", n.Name, w.Name, w.DType, w.Shape)
	}
	if idx.DType != dtype.Int64 || (len(idx.Shape) != 1 && len(idx.Shape) != 2) {
		return x.errf(errs.GraphDType, "EmbeddingBag %q: indices %q must be a 1-D or 2-D int64 tensor; it is %s %v", n.Name, idx.Name, idx.DType, idx.Shape)
	}
	last := n.Attr("include_last_offset").Int
	if last != 0 && last != 1 {
		return x.errf(errs.GraphAttribute, "EmbeddingBag %q: include_last_offset is %d; want 0 or 1", n.Name, last)
	}
	if p := n.Attr("padding_idx").Int; p < -1 || (w.Shape[0] != Dynamic && p >= w.Shape[0]) {
		return x.errf(errs.GraphAttribute, "EmbeddingBag %q: padding_idx is %d; want -1 (none) or a row of weight %v", n.Name, p, w.Shape)
	}
	var bags int64
	if len(idx.Shape) == 2 {
		if off != nil {
			return x.errf(errs.GraphShape, "EmbeddingBag %q: offsets %q must be absent when indices %q are 2-D %v", n.Name, off.Name, idx.Name, idx.Shape)
		}
		bags = idx.Shape[0]
	} else {
		if off == nil {
			return x.errf(errs.GraphShape, "EmbeddingBag %q: 1-D indices %q need offsets", n.Name, idx.Name)
		}
		if off.DType != dtype.Int64 || len(off.Shape) != 1 {
			return x.errf(errs.GraphDType, "EmbeddingBag %q: offsets %q must be a 1-D int64 tensor; it is %s %v", n.Name, off.Name, off.DType, off.Shape)
		}
		bags = off.Shape[0]
		if bags != Dynamic && last == 1 {
			if bags == 0 {
				return x.errf(errs.GraphShape, "EmbeddingBag %q: offsets %q are empty but include_last_offset needs the end offset", n.Name, off.Name)
			}
			bags--
		}
	}
	if psw != nil {
		if mode != "sum" {
			return x.errf(errs.GraphAttribute, "EmbeddingBag %q: per_sample_weights %q need mode \"sum\"; mode is %q", n.Name, psw.Name, mode)
		}
		if psw.DType != w.DType || !shapeCompatible(psw.Shape, idx.Shape) {
			return x.errf(errs.GraphShape, "EmbeddingBag %q: per_sample_weights %q are %s %v; want %s with the shape of indices %v", n.Name, psw.Name, psw.DType, psw.Shape, w.DType, idx.Shape)
		}
	}
	x.out[0] = ValueInfo{DType: w.DType, Shape: []int64{bags, w.Shape[1]}}
	return nil
}
