package hostile

import (
	"fmt"
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// Attribute shorthands.
func aInt(name string, v int64) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrInt, Int: v}
}
func aInts(name string, v ...int64) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrInts, Ints: v}
}
func aStr(name, v string) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrString, String: v}
}

// f32c is a float32 constant of the given shape.
func f32c(name string, shape []int64, vals ...float32) Const {
	k := f32s(name, vals...)
	k.Shape = shape
	return k
}

// i64c is an int64 constant of the given shape (nil: a scalar).
func i64c(name string, shape []int64, vals ...int64) Const {
	k := int64s(name, vals...)
	k.Shape = shape
	if shape == nil {
		k.Shape = []int64{}
	}
	return k
}

func x0(t dtype.DType, rank int) []Input { return []Input{{Name: "X0", DType: t, Sig: dyn(rank)}} }

// spatial reports whether rank is NCW or NCHW.
func spatial(rank int) bool { return rank == 3 || rank == 4 }

// perRank repeats v once per spatial dim of rank.
func perRank(rank int, v ...int64) []int64 {
	var out []int64
	for range rank - 2 {
		out = append(out, v...)
	}
	return out
}

// twoChan are the per-channel parameters of a two-channel normalization.
func twoChan(names ...string) []Const {
	var out []Const
	for i, n := range names {
		out = append(out, f32c(n, []int64{2}, float32(i)+0.5, -1))
	}
	return out
}

// rankedArgs builds, for ops whose data rank is free within limits, one
// node at the given data rank (ok=false: not at that rank); the data inputs
// are dynamic graph inputs, the other arguments small stored tensors.
var rankedArgs = map[string]func(rank int) (Case, bool){
	"MaxPool": func(rank int) (Case, bool) {
		return oneNode("MaxPool", x0(dtype.Float32, rank), nil, []string{"X0"}, nil,
			aInts("kernel_shape", perRank(rank, 3)...), aInts("strides", perRank(rank, 2)...),
			aInts("pads", perRank(rank, 1, 1)...), aInts("dilations", perRank(rank, 2)...), aInt("ceil_mode", 1)), spatial(rank)
	},
	"AveragePool": func(rank int) (Case, bool) {
		return oneNode("AveragePool", x0(dtype.Float32, rank), nil, []string{"X0"}, nil,
			aInts("kernel_shape", perRank(rank, 3)...), aInts("strides", perRank(rank, 2)...),
			aInts("pads", perRank(rank, 1, 1)...), aInt("ceil_mode", 1), aInt("count_include_pad", 1)), spatial(rank)
	},
	"AdaptiveAveragePool": func(rank int) (Case, bool) {
		return oneNode("AdaptiveAveragePool", x0(dtype.Float32, rank), nil, []string{"X0"}, nil,
			aInts("output_size", perRank(rank, 3)...)), spatial(rank)
	},
	"AdaptiveMaxPool": func(rank int) (Case, bool) {
		return oneNode("AdaptiveMaxPool", x0(dtype.Float64, rank), nil, []string{"X0"}, nil,
			aInts("output_size", perRank(rank, 2)...)), spatial(rank)
	},
	"BatchNormalization": func(rank int) (Case, bool) {
		return oneNode("BatchNormalization", x0(dtype.Float32, rank), twoChan("scale", "B", "mean", "var"),
			[]string{"X0", "scale", "B", "mean", "var"}, nil), rank >= 2
	},
	"GroupNormalization": func(rank int) (Case, bool) {
		return oneNode("GroupNormalization", x0(dtype.Float32, rank), twoChan("scale", "B"),
			[]string{"X0", "scale", "B"}, nil, aInt("num_groups", 2)), rank >= 2
	},
	"InstanceNormalization": func(rank int) (Case, bool) {
		return oneNode("InstanceNormalization", x0(dtype.Float32, rank), twoChan("scale", "B"),
			[]string{"X0", "scale", "B"}, nil), rank >= 3
	},
	"Resize": func(rank int) (Case, bool) {
		sc := []float32{1, 1, 2, 0.5}[:rank]
		return oneNode("Resize", x0(dtype.Float32, rank), []Const{f32c("scales", []int64{int64(rank)}, sc...)},
			[]string{"X0", "", "scales"}, nil, aStr("mode", "linear")), spatial(rank)
	},
	"LSTM": func(rank int) (Case, bool) { return rnnNode("LSTM", rank) },
	"GRU":  func(rank int) (Case, bool) { return rnnNode("GRU", rank) },
	"RNN":  func(rank int) (Case, bool) { return rnnNode("RNN", rank) },
	"EmbeddingBag": func(rank int) (Case, bool) {
		w := f32c("weight", []int64{4, 2}, 1, 2, 3, 4, 5, 6, 7, 8)
		if rank == 1 { // 1-D indices and offsets
			return oneNode("EmbeddingBag", []Input{{Name: "X0", DType: dtype.Int64, Sig: dyn(1)}, {Name: "X1", DType: dtype.Int64, Sig: dyn(1)}},
				[]Const{w}, []string{"weight", "X0", "X1"}, nil, aStr("mode", "mean")), true
		}
		return oneNode("EmbeddingBag", x0(dtype.Int64, 2), []Const{w}, []string{"weight", "X0"}, nil, aStr("mode", "max")), rank == 2
	},
	"Slice": func(rank int) (Case, bool) {
		if rank%2 == 1 { // backwards from the end, a step of -3
			return oneNode("Slice", x0(dtype.Float32, rank),
				[]Const{int64s("starts", -1), int64s("ends", math.MinInt64), int64s("axes", 0), int64s("steps", -3)},
				[]string{"X0", "starts", "ends", "axes", "steps"}, nil), true
		}
		return oneNode("Slice", x0(dtype.Float32, rank),
			[]Const{int64s("starts", 1), int64s("ends", math.MaxInt64), int64s("axes", -1), int64s("steps", 2)},
			[]string{"X0", "starts", "ends", "axes", "steps"}, nil), true
	},
	"Squeeze": func(rank int) (Case, bool) {
		return oneNode("Squeeze", x0(dtype.Float32, rank), []Const{int64s("axes", -1)}, []string{"X0", "axes"}, nil), rank >= 2
	},
	"Unsqueeze": func(rank int) (Case, bool) {
		return oneNode("Unsqueeze", x0(dtype.Float32, rank), []Const{int64s("axes", 0, -1)}, []string{"X0", "axes"}, nil), rank <= 3
	},
	"Expand": func(rank int) (Case, bool) {
		shape := []int64{2}
		for range rank {
			shape = append(shape, 1)
		}
		return oneNode("Expand", x0(dtype.Float32, rank), []Const{int64s("shape", shape...)}, []string{"X0", "shape"}, nil), rank <= 3
	},
	"Tile": func(rank int) (Case, bool) {
		reps := []int64{1 << 30, 1 << 30, 2, 3}[:rank] // times a huge dim: past int64
		return oneNode("Tile", x0(dtype.Float32, rank), []Const{int64s("repeats", reps...)}, []string{"X0", "repeats"}, nil), true
	},
	"TopK": func(rank int) (Case, bool) {
		return oneNode("TopK", x0(dtype.Float32, rank), []Const{int64s("K", 1)}, []string{"X0", "K"}, []string{"Y", "I"}), true
	},
	"Range": func(rank int) (Case, bool) { // zeroed scalars: a zero delta
		in := []Input{{"X0", dtype.Float32, []int64{}, []int64{}}, {"X1", dtype.Float32, []int64{}, []int64{}}, {"X2", dtype.Float32, []int64{}, []int64{}}}
		return oneNode("Range", in, nil, []string{"X0", "X1", "X2"}, nil), rank == 1
	},
	"ConstantOfShape": func(rank int) (Case, bool) { // a zeroed shape: [0 0 0]
		return oneNode("ConstantOfShape", []Input{{"X0", dtype.Int64, []int64{3}, []int64{3}}}, nil, []string{"X0"}, nil), rank == 1
	},
}

// rnnNode is a one-layer bidirectional LSTM, GRU or RNN over inputs of 3
// features (hidden size 2) with bias and initial state.
func rnnNode(op string, rank int) (Case, bool) {
	g := int64(graph.RNNGates(op))
	const h, in = 2, 3
	w := make([]float32, 2*g*h*in)
	r := make([]float32, 2*g*h*h)
	b := make([]float32, 2*2*g*h)
	for i := range w {
		w[i] = float32(i%5) / 4
	}
	for i := range r {
		r[i] = -float32(i%3) / 2
	}
	consts := []Const{f32c("W", []int64{2, g * h, in}, w...), f32c("R", []int64{2, g * h, h}, r...), f32c("B", []int64{2, 2 * g * h}, b...)}
	ins := []string{"X0", "W", "R", "B"}
	outs := []string{"Y", "Y_h"}
	if op == "LSTM" {
		outs = append(outs, "Y_c")
	}
	c := oneNode(op, x0(dtype.Float32, 3), consts, ins, outs, aInt("hidden_size", h), aStr("direction", "bidirectional"))
	return c, rank == 3
}

// newOps: the convolutional, sequence and tensor ops at their edges —
// empty batches or spatial dims next to sizes that match, run-time values
// that a shape depends on, out-of-range indices and offsets, and shape
// arithmetic past int64.
func newOps() []Case {
	var out []Case
	add := func(name string, c Case, allowed ...errs.Code) {
		c.Name = "ops/" + name
		if len(allowed) > 0 {
			c.Allowed = allowed
		}
		out = append(out, c)
	}
	f32in := func(name string, shape ...int64) Input { return Input{name, dtype.Float32, dyn(len(shape)), shape} }
	i64in := func(name string, shape ...int64) Input { return Input{name, dtype.Int64, dyn(len(shape)), shape} }
	ok := append([]errs.Code{errs.OK}, Refusals...)

	// Convolutions over an empty spatial axis padded to a non-empty one,
	// and a ConvTranspose of an empty input.
	w := f32c("W", []int64{2, 2, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	bias := f32c("bias", []int64{2}, 1, -1)
	for _, shape := range [][]int64{{1, 2, 0}, {0, 2, Huge}, {2, 2, 1}} {
		add(fmt.Sprint("Conv/pad/", shape), oneNode("Conv", []Input{f32in("X", shape...)}, []Const{w, bias}, []string{"X", "W", "bias"}, nil,
			aInts("pads", 2, 2)), ok...)
		add(fmt.Sprint("Conv/same/", shape), oneNode("Conv", []Input{f32in("X", shape...)}, []Const{w}, []string{"X", "W"}, nil,
			aStr("auto_pad", "SAME_UPPER"), aInts("strides", 3)), ok...)
		add(fmt.Sprint("ConvTranspose/", shape), oneNode("ConvTranspose", []Input{f32in("X", shape...)}, []Const{w, bias}, []string{"X", "W", "bias"}, nil,
			aInts("strides", 2), aInts("output_padding", 1)), ok...)
		add(fmt.Sprint("ConvTranspose/group/", shape), oneNode("ConvTranspose", []Input{f32in("X", shape...)}, []Const{f32c("W1", []int64{2, 1, 3}, 1, 2, 3, 4, 5, 6)},
			[]string{"X", "W1"}, nil, aInt("group", 2), aInts("pads", 2, 2)), ok...)
	}
	// Pools of empty planes into non-empty outputs (nothing to pool).
	for _, op := range []string{"AdaptiveAveragePool", "AdaptiveMaxPool", "GlobalAveragePool", "GlobalMaxPool"} {
		for _, shape := range [][]int64{{1, 2, 0}, {1, 1, 0, 3}, {2, 1, 3, 0}} {
			var attrs []graph.Attr
			if op[0] == 'A' {
				attrs = []graph.Attr{aInts("output_size", perRank(len(shape), 2)...)}
			}
			add(fmt.Sprint(op, "/", shape), oneNode(op, []Input{f32in("X", shape...)}, nil, []string{"X"}, nil, attrs...), ok...)
		}
	}
	// Regressions: an adaptive pool walked a huge zero-width plane row by
	// row (a run without end); Resize indexed an empty plane.
	for _, op := range []string{"AdaptiveAveragePool", "AdaptiveMaxPool"} {
		add("regress/"+op+"/huge-empty-plane", oneNode(op, []Input{f32in("X", 1, 1, Huge, 0)}, nil, []string{"X"}, nil,
			aInts("output_size", 2, 2)), errs.Shape)
	}
	for _, mode := range []string{"linear", "nearest"} {
		add("regress/Resize/empty-plane/"+mode, oneNode("Resize", []Input{f32in("X", 1, 1, 2, 0)}, []Const{int64s("sizes", 1, 1, 3, 3)},
			[]string{"X", "", "", "sizes"}, nil, aStr("mode", mode), aStr("coordinate_transformation_mode", "asymmetric"),
			aStr("nearest_mode", "floor")), errs.Shape)
	}
	// Normalizations of empty spatial dims (a mean over nothing).
	for _, shape := range [][]int64{{1, 2, 0}, {3, 2, 0, Huge}} {
		add(fmt.Sprint("InstanceNormalization/", shape), oneNode("InstanceNormalization", []Input{f32in("X", shape...)}, twoChan("s", "b"),
			[]string{"X", "s", "b"}, nil), ok...)
		add(fmt.Sprint("GroupNormalization/", shape), oneNode("GroupNormalization", []Input{f32in("X", shape...)}, twoChan("s", "b"),
			[]string{"X", "s", "b"}, nil, aInt("num_groups", 1)), ok...)
	}
	// Pad modes that read the input, over an empty one.
	for _, mode := range []string{"constant", "reflect", "edge", "wrap"} {
		for _, shape := range [][]int64{{0}, {2, 0}, {0, 3}} {
			pads := make([]int64, 2*len(shape))
			for i := range pads {
				pads[i] = 1
			}
			add(fmt.Sprint("Pad/", mode, "/", shape), oneNode("Pad", []Input{f32in("X", shape...)}, []Const{int64s("pads", pads...)},
				[]string{"X", "pads"}, nil, aStr("mode", mode)), ok...)
		}
		add(fmt.Sprint("Pad/", mode, "/huge"), oneNode("Pad", []Input{f32in("X", 2)}, []Const{int64s("pads", 1<<40, 1<<40)},
			[]string{"X", "pads"}, nil, aStr("mode", mode)), ok...)
		add(fmt.Sprint("Pad/", mode, "/run-time-pads"), oneNode("Pad", []Input{f32in("X", 3), i64in("P", 2)}, nil,
			[]string{"X", "P"}, nil, aStr("mode", mode)), ok...)
	}
	// Resize: sizes and scales given at run time (zeroed), and huge sizes.
	add("Resize/run-time-scales", oneNode("Resize", []Input{f32in("X", 1, 1, 2, 2), f32in("S", 4)}, nil, []string{"X", "", "S"}, nil, aStr("mode", "linear")), ok...)
	add("Resize/run-time-sizes", oneNode("Resize", []Input{f32in("X", 1, 1, 2, 2), i64in("S", 4)}, nil, []string{"X", "", "", "S"}, nil, aStr("mode", "linear")), ok...)
	add("Resize/huge-sizes", oneNode("Resize", []Input{f32in("X", 1, 1, 2, 2)}, []Const{int64s("sizes", 1, 1, 1<<20, 1<<20)},
		[]string{"X", "", "", "sizes"}, nil, aStr("mode", "linear")), ok...)
	add("Resize/empty-to-some", oneNode("Resize", []Input{f32in("X", 1, 1, 0, 2)}, []Const{int64s("sizes", 1, 1, 3, 3)},
		[]string{"X", "", "", "sizes"}, nil, aStr("mode", "linear")), ok...)
	add("Resize/nearest-empty-to-some", oneNode("Resize", []Input{f32in("X", 1, 1, 2, 0)}, []Const{int64s("sizes", 1, 1, 3, 3)},
		[]string{"X", "", "", "sizes"}, nil, aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")), ok...)
	// Recurrent ops over a huge sequence of empty batches.
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		c, _ := rnnNode(op, 3)
		for _, shape := range [][]int64{{Huge, 0, 3}, {1 << 20, 0, 3}, {0, 5, 3}} {
			k := c
			k.Inputs = []Input{f32in("X0", shape...)}
			add(fmt.Sprint(op, "/", shape), k, ok...)
		}
	}
	// Attention with empty keys (a softmax over nothing) and empty queries.
	for _, sh := range [][3][]int64{{{1, 2, 3, 4}, {1, 1, 0, 4}, {1, 1, 0, 5}}, {{1, 2, 0, 4}, {1, 2, 3, 4}, {1, 2, 3, 5}},
		{{0, 2, Huge, 4}, {0, 2, Huge, 4}, {0, 2, Huge, 4}}} {
		add(fmt.Sprint("Attention/", sh), oneNode("Attention", []Input{f32in("Q", sh[0]...), f32in("K", sh[1]...), f32in("V", sh[2]...)}, nil,
			[]string{"Q", "K", "V"}, nil), ok...)
		add(fmt.Sprint("Attention/causal/", sh), oneNode("Attention", []Input{f32in("Q", sh[0]...), f32in("K", sh[1]...), f32in("V", sh[2]...)}, nil,
			[]string{"Q", "K", "V"}, nil, aInt("is_causal", 1)), ok...)
	}
	// EmbeddingBag: indices and offsets out of range.
	emb := f32c("weight", []int64{4, 2}, 1, 2, 3, 4, 5, 6, 7, 8)
	for _, io := range [][2][]int64{{{-1}, {0}}, {{4}, {0}}, {{math.MinInt64}, {0}}, {{0, 1}, {1, 0}}, {{0, 1}, {0, 5}},
		{{0, 1}, {-1}}, {{0, 1}, {2, 2}}, {{0}, {math.MaxInt64}}} {
		for _, mode := range []string{"sum", "mean", "max"} {
			add(fmt.Sprint("EmbeddingBag/", mode, "/", io), oneNode("EmbeddingBag", nil, []Const{emb, int64s("idx", io[0]...), int64s("off", io[1]...)},
				[]string{"weight", "idx", "off"}, nil, aStr("mode", mode)), errs.OK, errs.InvalidValue)
		}
		add(fmt.Sprint("EmbeddingBag/last/", io), oneNode("EmbeddingBag", nil, []Const{emb, int64s("idx", io[0]...), int64s("off", io[1]...)},
			[]string{"weight", "idx", "off"}, nil, aInt("include_last_offset", 1)), errs.OK, errs.InvalidValue)
	}
	// Shape values: shapes computed from other shapes at run time.
	shapeOf := graph.Node{Op: "Shape", Inputs: []string{"X"}, Outputs: []string{"s"}}
	for _, shape := range [][]int64{{Huge, 0}, {0, Huge}, {3, 1}} {
		first := graph.Node{Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"n"}}
		add(fmt.Sprint("Range/limit=dim/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Consts: []Const{int64s("zero", 0), int64s("one", 1)},
			Nodes:  []graph.Node{shapeOf, first, {Op: "Range", Inputs: []string{"zero", "n", "one"}, Outputs: []string{"Y"}}}, Outputs: []string{"Y"}}, ok...)
		add(fmt.Sprint("ConstantOfShape/shape-of/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Nodes:   []graph.Node{shapeOf, {Op: "ConstantOfShape", Inputs: []string{"s"}, Outputs: []string{"Y"}}},
			Outputs: []string{"Y"}}, ok...)
		add(fmt.Sprint("ConstantOfShape/negated/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Consts: []Const{int64s("zeros", 0, 0)},
			Nodes: []graph.Node{shapeOf, {Op: "Sub", Inputs: []string{"zeros", "s"}, Outputs: []string{"m"}},
				{Op: "ConstantOfShape", Inputs: []string{"m"}, Outputs: []string{"Y"}}},
			Outputs: []string{"Y"}}, ok...)
		for _, op := range []string{"Mul", "Add"} { // shape arithmetic past int64
			add(fmt.Sprint("Expand/", op, "/", shape), Case{Inputs: []Input{f32in("X", shape...)},
				Consts: []Const{int64s("big", math.MaxInt64/2, 1<<62)},
				Nodes: []graph.Node{shapeOf, {Op: op, Inputs: []string{"s", "big"}, Outputs: []string{"m"}},
					{Op: "Expand", Inputs: []string{"X", "m"}, Outputs: []string{"Y"}}},
				Outputs: []string{"Y"}}, ok...)
			add(fmt.Sprint("Tile/", op, "/", shape), Case{Inputs: []Input{f32in("X", shape...)},
				Consts: []Const{int64s("big", math.MaxInt64/2, 1<<62)},
				Nodes: []graph.Node{shapeOf, {Op: op, Inputs: []string{"s", "big"}, Outputs: []string{"m"}},
					{Op: "Tile", Inputs: []string{"X", "m"}, Outputs: []string{"Y"}}},
				Outputs: []string{"Y"}}, ok...)
		}
		add(fmt.Sprint("Reshape/shape-of/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Nodes:   []graph.Node{shapeOf, {Op: "Reshape", Inputs: []string{"X", "s"}, Outputs: []string{"Y"}}},
			Outputs: []string{"Y"}}, ok...)
		add(fmt.Sprint("TopK/K=dim/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Consts: []Const{int64s("zero", 0)},
			Nodes: []graph.Node{shapeOf, {Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"k"}},
				{Op: "TopK", Inputs: []string{"X", "k"}, Outputs: []string{"Y", "I"}, Attrs: []graph.Attr{aInt("axis", 1)}}},
			Outputs: []string{"Y"}}, ok...)
		add(fmt.Sprint("Slice/ends=dims/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Consts:  []Const{int64s("st", math.MinInt64, -1)},
			Nodes:   []graph.Node{shapeOf, {Op: "Slice", Inputs: []string{"X", "st", "s"}, Outputs: []string{"Y"}}},
			Outputs: []string{"Y"}}, ok...)
		add(fmt.Sprint("Split/run-time/", shape), Case{Inputs: []Input{f32in("X", shape...)},
			Nodes:   []graph.Node{shapeOf, {Op: "Split", Inputs: []string{"X", "s"}, Outputs: []string{"Y", "Z"}, Attrs: []graph.Attr{aInt("axis", 1)}}},
			Outputs: []string{"Y"}}, ok...)
	}
	// Run-time scalars: Range over zeros, a CumSum axis past the rank.
	add("Range/int64-zeros", oneNode("Range", []Input{{"A", dtype.Int64, []int64{}, []int64{}}, {"B", dtype.Int64, []int64{}, []int64{}},
		{"C", dtype.Int64, []int64{}, []int64{}}}, nil, []string{"A", "B", "C"}, nil), ok...)
	add("Range/float-huge", oneNode("Range", nil, []Const{f32c("a", []int64{}, 0), f32c("b", []int64{}, 1e30), f32c("c", []int64{}, 1)},
		[]string{"a", "b", "c"}, nil), ok...)
	add("Range/int-extremes", oneNode("Range", nil, []Const{i64c("a", nil, math.MinInt64), i64c("b", nil, math.MaxInt64), i64c("c", nil, 1)},
		[]string{"a", "b", "c"}, nil)) // refused by the checker
	add("CumSum/axis=size", Case{Inputs: []Input{f32in("X", 3)},
		Nodes: []graph.Node{{Op: "Size", Inputs: []string{"X"}, Outputs: []string{"a"}},
			{Op: "CumSum", Inputs: []string{"X", "a"}, Outputs: []string{"Y"}}}, Outputs: []string{"Y"}}, ok...)
	for _, k := range []int64{math.MinInt64, math.MaxInt64, -1 << 40, 1 << 40} {
		add(fmt.Sprint("Trilu/k=", k), oneNode("Trilu", []Input{f32in("X", 2, 3)}, []Const{i64c("k", nil, k)}, []string{"X", "k"}, nil), ok...)
		add(fmt.Sprint("Slice/extreme/", k), oneNode("Slice", []Input{f32in("X", 5, 3)},
			[]Const{int64s("st", k, -k-1), int64s("en", -k-1, k), int64s("ax", 0, 1), int64s("sp", k|1, -k|1)},
			[]string{"X", "st", "en", "ax", "sp"}, nil), ok...)
	}
	add("TopK/huge-K", oneNode("TopK", []Input{f32in("X", 0, 3)}, []Const{int64s("K", 1<<40)}, []string{"X", "K"}, []string{"Y", "I"},
		aInt("axis", 0)), ok...)
	add("Mod/int-by-zero", oneNode("Mod", []Input{i64in("A", 3), i64in("B", 3)}, nil, []string{"A", "B"}, nil), ok...)
	return out
}
