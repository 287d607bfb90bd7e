package main

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// nets: small networks of the shape the PyTorch exporter writes — a CNN
// (Conv, BatchNormalization, pooling, depthwise Conv, HardSwish) and a
// one-block transformer encoder (embedding, positional table sliced to the
// run's sequence length, LayerNormalization, a QKV Gemm reshaped through a
// shape computed from Shape(ids), Attention with a key-padding mask).
func (s *suite) nets() error {
	for _, sp := range []*spec{cnnSmall(), transformerSmall()} {
		if err := s.add(sp); err != nil {
			return err
		}
	}
	return nil
}

// small returns seq(n, seed) scaled by k: weights of small magnitude.
func small(n int, seed, k float64) []float64 {
	v := seq(n, seed)
	for i := range v {
		v[i] = math.Round(v[i]*k*1e4) / 1e4
	}
	return v
}

// positive returns n values in [lo, lo+1.5]: variances and scales.
func positive(n int, seed, lo float64) []float64 {
	v := seq(n, seed)
	for i := range v {
		v[i] = math.Abs(v[i])/2 + lo
	}
	return v
}

// noise returns n deterministic, uncorrelated values in [-amp, amp] (an
// integer hash; seq's sinusoids average out under pooling).
func noise(n int, seed uint32, amp float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		h := uint32(i)*2654435761 ^ seed*2246822519
		h ^= h >> 15
		h *= 2246822507
		h ^= h >> 13
		out[i] = math.Round((float64(h%2001)/1000-1)*amp*1000) / 1000
	}
	return out
}

func f32(name string, shape []int64, vals []float64) constant {
	return constant{name, dtype.Float32, shape, vals}
}

func i64c(name string, v ...float64) constant {
	return constant{name, dtype.Int64, []int64{int64(len(v))}, v}
}

func cnnSmall() *spec {
	f := dtype.Float32
	image := func(batch, channels int64, seed uint32) value {
		shape := []int64{batch, channels, 8, 8}
		return value{f, shape, noise(numel(shape), seed, 2), nil}
	}
	return &spec{name: "cnn_small",
		desc: "Conv-BatchNorm-Relu-MaxPool, depthwise Conv-Clip(0,6), 1x1 Conv-HardSwish, GlobalAveragePool-Flatten-Gemm-Softmax " +
			"with ArgMax labels; batches of 1, 3 and 0 rows, and 4 channels where the model takes 3",
		inputs: []graph.ValueInfo{in("X", f, -1, 3, 8, 8)},
		consts: []constant{
			f32("conv1.W", []int64{8, 3, 3, 3}, noise(8*3*3*3, 11, 0.4)), f32("conv1.B", []int64{8}, small(8, 0.2, 0.1)),
			f32("bn.scale", []int64{8}, positive(8, 0.3, 0.5)), f32("bn.B", []int64{8}, small(8, 0.4, 0.1)),
			f32("bn.mean", []int64{8}, small(8, 0.5, 0.2)), f32("bn.var", []int64{8}, positive(8, 0.6, 0.5)),
			f32("dw.W", []int64{8, 1, 3, 3}, noise(8*9, 12, 0.5)), f32("dw.B", []int64{8}, small(8, 0.8, 0.1)),
			f32("clip.min", []int64{}, []float64{0}), f32("clip.max", []int64{}, []float64{6}),
			f32("pw.W", []int64{16, 8, 1, 1}, noise(16*8, 13, 0.5)),
			f32("fc.W", []int64{4, 16}, noise(4*16, 14, 1)), f32("fc.B", []int64{4}, small(4, 1.1, 0.1)),
		},
		nodes: []graph.Node{
			node("Conv", []string{"X", "conv1.W", "conv1.B"}, []string{"c1"}, ais("kernel_shape", 3, 3), ais("pads", 1, 1, 1, 1)),
			node("BatchNormalization", []string{"c1", "bn.scale", "bn.B", "bn.mean", "bn.var"}, []string{"bn"}, af("epsilon", 1e-5)),
			node("Relu", []string{"bn"}, []string{"r1"}),
			node("MaxPool", []string{"r1"}, []string{"p1"}, ais("kernel_shape", 2, 2), ais("strides", 2, 2)),
			node("Conv", []string{"p1", "dw.W", "dw.B"}, []string{"c2"}, ai("group", 8), ais("kernel_shape", 3, 3), ais("pads", 1, 1, 1, 1)),
			node("Clip", []string{"c2", "clip.min", "clip.max"}, []string{"r2"}),
			node("Conv", []string{"r2", "pw.W"}, []string{"c3"}, ais("kernel_shape", 1, 1)),
			node("HardSwish", []string{"c3"}, []string{"h3"}),
			node("GlobalAveragePool", []string{"h3"}, []string{"gap"}),
			node("Flatten", []string{"gap"}, []string{"flat"}, ai("axis", 1)),
			node("Gemm", []string{"flat", "fc.W", "fc.B"}, []string{"logits"}, ai("transB", 1)),
			node("Softmax", []string{"logits"}, []string{"probabilities"}, ai("axis", -1)),
			node("ArgMax", []string{"logits"}, []string{"label"}, ai("axis", 1), ai("keepdims", 0)),
		},
		outputs: []string{"probabilities", "label"},
		runs: [][]value{
			{image(1, 3, 1)},
			{image(3, 3, 2)},
			{{f, []int64{0, 3, 8, 8}, nil, nil}},
			{image(1, 4, 3)},
		},
		fail: []*Status{nil, nil, nil, status(errs.Shape)},
	}
}

// The transformer's sizes: vocabulary, positions, model width, heads,
// head size and classes.
const (
	tfVocab, tfPos, tfDim, tfHeads, tfHead, tfClasses = 20, 8, 16, 2, 8, 3
)

func transformerSmall() *spec {
	ids := func(batch, seqLen int64, seed int) value {
		v := make([]float64, batch*seqLen)
		for i := range v {
			v[i] = float64((i*7 + seed*3 + 1) % tfVocab)
		}
		return value{dtype.Int64, []int64{batch, seqLen}, v, nil}
	}
	// mask marks the last pad[b] positions of row b as padding (true).
	mask := func(batch, seqLen int64, pad ...int64) value {
		v := make([]float64, batch*seqLen)
		for b := int64(0); b < batch; b++ {
			for t := seqLen - pad[b]; t < seqLen; t++ {
				v[b*seqLen+t] = 1
			}
		}
		return value{dtype.Bool, []int64{batch, seqLen}, v, nil}
	}
	bad := ids(1, 4, 5)
	bad.vals[2] = tfVocab // one past the embedding's last row
	d := int64(tfDim)
	return &spec{name: "transformer_small",
		desc: "a one-block transformer encoder classifier: embedding + positional table sliced to Shape(ids)[1], LayerNormalization, " +
			"a QKV Gemm reshaped to [batch, seq, 3, heads, 8] through a computed shape, Split, Attention with a key-padding mask, " +
			"output projection, residual, mean over the sequence, Gemm to 3 classes; a sequence of 9 (past the table) fails with a " +
			"shape error, a token id 20 with an out-of-range Gather",
		inputs: []graph.ValueInfo{in("ids", dtype.Int64, -1, -1), in("mask", dtype.Bool, -1, -1)},
		consts: []constant{
			f32("embed", []int64{tfVocab, d}, noise(tfVocab*tfDim, 24, 1)),
			f32("pos", []int64{1, tfPos, d}, small(tfPos*tfDim, 0.2, 0.1)),
			f32("ln.scale", []int64{d}, positive(tfDim, 0.3, 0.75)), f32("ln.B", []int64{d}, small(tfDim, 0.4, 0.05)),
			f32("qkv.W", []int64{3 * d, d}, noise(3*tfDim*tfDim, 21, 0.35)), f32("qkv.B", []int64{3 * d}, small(3*tfDim, 0.6, 0.05)),
			f32("out.W", []int64{d, d}, noise(tfDim*tfDim, 22, 0.3)), f32("out.B", []int64{d}, small(tfDim, 0.8, 0.05)),
			f32("cls.W", []int64{tfClasses, d}, noise(tfClasses*tfDim, 23, 0.4)), f32("cls.B", []int64{tfClasses}, small(tfClasses, 1.0, 0.1)),
			i64c("zero", 0), i64c("one", 1), i64c("two", 2), i64c("flat.shape", -1, tfDim),
			i64c("qkv.tail", 3, tfHeads, tfHead), i64c("hidden.tail", tfDim), i64c("mask.axes", 1, 2),
		},
		nodes: []graph.Node{
			// Embedding plus positions [0, seq).
			node("Gather", []string{"embed", "ids"}, []string{"tok"}, ai("axis", 0)),
			node("Shape", []string{"ids"}, []string{"seq_len"}, ai("start", 1), ai("end", 2)),
			node("Slice", []string{"pos", "zero", "seq_len", "one"}, []string{"pos_used"}),
			node("Add", []string{"tok", "pos_used"}, []string{"x0"}),
			node("LayerNormalization", []string{"x0", "ln.scale", "ln.B"}, []string{"ln"}, ai("axis", -1), af("epsilon", 1e-5)),
			// QKV over a flat [batch*seq, 16] view, back to [batch, seq, 3, heads, 8].
			node("Reshape", []string{"ln", "flat.shape"}, []string{"ln_flat"}),
			node("Gemm", []string{"ln_flat", "qkv.W", "qkv.B"}, []string{"qkv_flat"}, ai("transB", 1)),
			node("Shape", []string{"ids"}, []string{"bs"}),
			node("Concat", []string{"bs", "qkv.tail"}, []string{"qkv.shape"}, ai("axis", 0)),
			node("Reshape", []string{"qkv_flat", "qkv.shape"}, []string{"qkv"}),
			node("Split", []string{"qkv"}, []string{"q5", "k5", "v5"}, ai("axis", 2), ai("num_outputs", 3)),
			node("Squeeze", []string{"q5", "two"}, []string{"q4"}),
			node("Squeeze", []string{"k5", "two"}, []string{"k4"}),
			node("Squeeze", []string{"v5", "two"}, []string{"v4"}),
			node("Transpose", []string{"q4"}, []string{"q"}, ais("perm", 0, 2, 1, 3)),
			node("Transpose", []string{"k4"}, []string{"k"}, ais("perm", 0, 2, 1, 3)),
			node("Transpose", []string{"v4"}, []string{"v"}, ais("perm", 0, 2, 1, 3)),
			// Key padding: true in mask means padding; Attention's bool mask means attend.
			node("Not", []string{"mask"}, []string{"keep"}),
			node("Unsqueeze", []string{"keep", "mask.axes"}, []string{"attn_mask"}),
			node("Attention", []string{"q", "k", "v", "attn_mask"}, []string{"attn"}),
			node("Transpose", []string{"attn"}, []string{"attn_t"}, ais("perm", 0, 2, 1, 3)),
			node("Reshape", []string{"attn_t", "flat.shape"}, []string{"attn_flat"}),
			node("Gemm", []string{"attn_flat", "out.W", "out.B"}, []string{"proj_flat"}, ai("transB", 1)),
			node("Concat", []string{"bs", "hidden.tail"}, []string{"hidden.shape"}, ai("axis", 0)),
			node("Reshape", []string{"proj_flat", "hidden.shape"}, []string{"proj"}),
			node("Add", []string{"x0", "proj"}, []string{"x1"}),
			node("ReduceMean", []string{"x1"}, []string{"pooled"}, ais("axes", 1), ai("keepdims", 0)),
			node("Gemm", []string{"pooled", "cls.W", "cls.B"}, []string{"logits"}, ai("transB", 1)),
		},
		outputs: []string{"logits"},
		runs: [][]value{
			{ids(2, 5, 0), mask(2, 5, 0, 2)},
			{ids(1, 8, 1), mask(1, 8, 3)},
			{ids(3, 1, 2), mask(3, 1, 0, 0, 0)},
			{ids(1, 9, 3), mask(1, 9, 0)},
			{bad, mask(1, 4, 0)},
		},
		fail: []*Status{nil, nil, nil, status(errs.Shape), status(errs.InvalidValue)},
	}
}
