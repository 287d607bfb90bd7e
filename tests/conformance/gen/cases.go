package main

import (
	"fmt"
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

var floats = []dtype.DType{dtype.Float32, dtype.Float64}

// build adds every case of the suite.
func (s *suite) build() error {
	for _, add := range []func() error{s.unary, s.binary, s.structural, s.casts, s.composite, s.nets, s.text, s.trees, s.runErrors, s.hostile, s.malformed, s.trust} {
		if err := add(); err != nil {
			return err
		}
	}
	return nil
}

// unary: elementwise float ops on a [-1, 5] input, batches of 3 and 0 rows.
func (s *suite) unary() error {
	ops := []struct {
		name string
		n    graph.Node
		pos  bool // inputs must be positive (Sqrt, Log)
	}{
		{"relu", node("Relu", nil, nil), false},
		{"leaky_relu", node("LeakyRelu", nil, nil, af("alpha", 0.2)), false},
		{"gelu", node("Gelu", nil, nil), false},
		{"gelu_tanh", node("Gelu", nil, nil, as("approximate", "tanh")), false},
		{"sigmoid", node("Sigmoid", nil, nil), false},
		{"tanh", node("Tanh", nil, nil), false},
		{"abs", node("Abs", nil, nil), false},
		{"neg", node("Neg", nil, nil), false},
		{"exp", node("Exp", nil, nil), false},
		{"sqrt", node("Sqrt", nil, nil), true},
		{"log", node("Log", nil, nil), true},
		{"softmax", node("Softmax", nil, nil, ai("axis", -1)), false},
		{"log_softmax", node("LogSoftmax", nil, nil, ai("axis", 1)), false},
		{"identity", node("Identity", nil, nil), false},
	}
	for _, dt := range floats {
		for _, op := range ops {
			n := op.n
			n.Inputs, n.Outputs = []string{"X"}, []string{"Y"}
			x := val(dt, []int64{3, 5}, 0.4)
			if op.pos {
				for i := range x.vals {
					x.vals[i] = math.Abs(x.vals[i]) + 0.5
				}
			}
			if err := s.add(&spec{name: fmt.Sprintf("op_%s_%s", op.name, dt), desc: n.Op + " on " + dt.String(),
				inputs: []graph.ValueInfo{in("X", dt, -1, 5)}, nodes: []graph.Node{n}, outputs: []string{"Y"},
				runs: [][]value{{x}, {{dt, []int64{0, 5}, nil, nil}}}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// binary: arithmetic with broadcasting for every numeric dtype, comparisons,
// IsNaN and Where.
func (s *suite) binary() error {
	for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int32, dtype.Int64} {
		for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
			b := seq(4, 1.7)
			for i := range b {
				b[i] = math.Round(b[i]*3) + 7 // non-zero divisors for the integer types
			}
			a := val(dt, []int64{3, 4}, 0.2)
			if dt == dtype.Int32 || dt == dtype.Int64 {
				for i := range a.vals {
					a.vals[i] = math.Round(a.vals[i] * 10)
				}
			}
			if err := s.add(&spec{name: fmt.Sprintf("op_%s_%s", lower(op), dt), desc: op + " of [N,4] and a stored [4], " + dt.String(),
				inputs: []graph.ValueInfo{in("A", dt, -1, 4)}, consts: []constant{{"B", dt, []int64{4}, b}},
				nodes: []graph.Node{node(op, []string{"A", "B"}, []string{"Y"})}, outputs: []string{"Y"},
				runs: [][]value{{a}}}); err != nil {
				return err
			}
		}
	}
	for _, dt := range []dtype.DType{dtype.Float32, dtype.Int64} {
		for _, op := range []string{"Equal", "Greater", "Less"} {
			a := value{dt, []int64{2, 3}, []float64{1, 2, 3, 3, 2, 1}, nil}
			if err := s.add(&spec{name: fmt.Sprintf("op_%s_%s", lower(op), dt), desc: op + " with broadcasting, " + dt.String(),
				inputs: []graph.ValueInfo{in("A", dt, 2, 3)}, consts: []constant{{"B", dt, []int64{3}, []float64{2, 2, 2}}},
				nodes: []graph.Node{node(op, []string{"A", "B"}, []string{"Y"})}, outputs: []string{"Y"},
				runs: [][]value{{a}}}); err != nil {
				return err
			}
		}
	}
	nan := math.NaN()
	return s.add(&spec{name: "op_isnan_where", desc: "the imputer pattern: Where(IsNaN(X), fill, X)",
		inputs: []graph.ValueInfo{in("X", dtype.Float64, -1, 3)}, consts: []constant{{"fill", dtype.Float64, []int64{3}, []float64{10, 20, 30}}},
		nodes:   []graph.Node{node("IsNaN", []string{"X"}, []string{"mask"}), node("Where", []string{"mask", "fill", "X"}, []string{"Y"})},
		outputs: []string{"mask", "Y"},
		runs:    [][]value{{{dtype.Float64, []int64{2, 3}, []float64{1, nan, 3, nan, nan, 6}, nil}}}})
}

func lower(s string) string {
	b := []byte(s)
	b[0] += 'a' - 'A'
	return string(b)
}

// structural: GEMM family, normalization, reductions and layout ops.
func (s *suite) structural() error {
	for _, dt := range floats {
		cases := []*spec{
			{name: "op_gemm_" + dt.String(), desc: "Gemm transB=1 with bias, alpha and beta",
				inputs: []graph.ValueInfo{in("X", dt, -1, 4)},
				consts: []constant{{"W", dt, []int64{3, 4}, seq(12, 0.3)}, {"C", dt, []int64{3}, seq(3, 0.9)}},
				nodes:  []graph.Node{node("Gemm", []string{"X", "W", "C"}, []string{"Y"}, ai("transB", 1), af("alpha", 0.5), af("beta", 2))},
				runs:   [][]value{{val(dt, []int64{5, 4}, 0.1)}, {val(dt, []int64{1, 4}, 0.2)}}},
			{name: "op_gemm_transa_" + dt.String(), desc: "Gemm transA=1 without bias",
				inputs: []graph.ValueInfo{in("X", dt, 4, 3)}, consts: []constant{{"W", dt, []int64{4, 2}, seq(8, 0.7)}},
				nodes: []graph.Node{node("Gemm", []string{"X", "W"}, []string{"Y"}, ai("transA", 1))},
				runs:  [][]value{{val(dt, []int64{4, 3}, 0.5)}}},
			{name: "op_matmul_" + dt.String(), desc: "MatMul with broadcast batch dimensions",
				inputs: []graph.ValueInfo{in("A", dt, 2, 1, 3, 4), in("B", dt, 3, 4, 2)},
				nodes:  []graph.Node{node("MatMul", []string{"A", "B"}, []string{"Y"})},
				runs:   [][]value{{val(dt, []int64{2, 1, 3, 4}, 0.1), val(dt, []int64{3, 4, 2}, 0.6)}}},
			{name: "op_layer_norm_" + dt.String(), desc: "LayerNormalization over the last axis with all three outputs",
				inputs: []graph.ValueInfo{in("X", dt, -1, 6)},
				consts: []constant{{"S", dt, []int64{6}, seq(6, 0.2)}, {"B", dt, []int64{6}, seq(6, 0.8)}},
				nodes:  []graph.Node{node("LayerNormalization", []string{"X", "S", "B"}, []string{"Y", "Mean", "InvStd"}, af("epsilon", 1e-3))},
				runs:   [][]value{{val(dt, []int64{3, 6}, 0.3)}}},
			{name: "op_clip_" + dt.String(), desc: "Clip to [-1, 1.5]",
				inputs: []graph.ValueInfo{in("X", dt, -1, 4)},
				consts: []constant{{"lo", dt, []int64{}, []float64{-1}}, {"hi", dt, []int64{}, []float64{1.5}}},
				nodes:  []graph.Node{node("Clip", []string{"X", "lo", "hi"}, []string{"Y"})},
				runs:   [][]value{{val(dt, []int64{3, 4}, 0.5)}}},
		}
		for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2"} {
			cases = append(cases, &spec{name: fmt.Sprintf("op_%s_%s", lower(op), dt), desc: op + " over axis 1, and over all axes",
				inputs: []graph.ValueInfo{in("X", dt, -1, 3, 2)},
				nodes: []graph.Node{node(op, []string{"X"}, []string{"Y"}, ais("axes", 1), ai("keepdims", 0)),
					node(op, []string{"X"}, []string{"Z"})},
				outputs: []string{"Y", "Z"}, runs: [][]value{{val(dt, []int64{2, 3, 2}, 0.7)}}})
		}
		for _, c := range cases {
			if c.outputs == nil {
				c.outputs = []string{"Y"}
			}
			if c.name == "op_layer_norm_"+dt.String() {
				c.outputs = []string{"Y", "Mean", "InvStd"}
			}
			if err := s.add(c); err != nil {
				return err
			}
		}
	}
	x := val(dtype.Float32, []int64{2, 3, 4}, 0.1)
	i64 := func(name string, v ...float64) constant {
		return constant{name, dtype.Int64, []int64{int64(len(v))}, v}
	}
	layout := []*spec{
		{name: "op_reshape", desc: "Reshape with 0 and -1", consts: []constant{i64("shape", 0, -1)},
			nodes: []graph.Node{node("Reshape", []string{"X", "shape"}, []string{"Y"})}},
		{name: "op_flatten", desc: "Flatten at axis 2", nodes: []graph.Node{node("Flatten", []string{"X"}, []string{"Y"}, ai("axis", 2))}},
		{name: "op_transpose", desc: "Transpose with perm [1, 2, 0]", nodes: []graph.Node{node("Transpose", []string{"X"}, []string{"Y"}, ais("perm", 1, 2, 0))}},
		{name: "op_concat", desc: "Concat with a stored tensor on axis 1", consts: []constant{{"C", dtype.Float32, []int64{2, 1, 4}, seq(8, 3)}},
			nodes: []graph.Node{node("Concat", []string{"X", "C"}, []string{"Y"}, ai("axis", 1))}},
		{name: "op_argmax", desc: "ArgMax over axis 2 without keepdims", nodes: []graph.Node{node("ArgMax", []string{"X"}, []string{"Y"}, ai("axis", 2), ai("keepdims", 0))}},
		{name: "op_gather", desc: "Gather on axis 1 with a negative index", consts: []constant{{"I", dtype.Int64, []int64{2}, []float64{2, -3}}},
			nodes: []graph.Node{node("Gather", []string{"X", "I"}, []string{"Y"}, ai("axis", 1))}},
		{name: "op_dropout", desc: "Dropout at inference: identity and an all-true mask", nodes: []graph.Node{node("Dropout", []string{"X"}, []string{"Y", "mask"})}},
	}
	for _, c := range layout {
		c.inputs = []graph.ValueInfo{in("X", dtype.Float32, 2, 3, 4)}
		c.outputs = []string{"Y"}
		if c.name == "op_dropout" {
			c.outputs = []string{"Y", "mask"}
		}
		c.runs = [][]value{{x}}
		if err := s.add(c); err != nil {
			return err
		}
	}
	return nil
}

// casts: every dtype, including float16 and bfloat16 inside the graph.
func (s *suite) casts() error {
	x := value{dtype.Float32, []int64{6}, []float64{-2.75, -1, 0, 0.3333, 1.5, 300}, nil}
	for _, to := range dtype.All() {
		if to.IsString() { // Cast to string is refused (no one text form for numbers)
			continue
		}
		nodes := []graph.Node{node("Cast", []string{"X"}, []string{"Y"}, ai("to", int64(to)))}
		out := "Y"
		if to == dtype.Float16 || to == dtype.BFloat16 {
			// .npy has no bfloat16: cast back to float32 to observe the rounding.
			nodes = append(nodes, node("Cast", []string{"Y"}, []string{"Z"}, ai("to", int64(dtype.Float32))))
			out = "Z"
		}
		if err := s.add(&spec{name: "op_cast_float32_to_" + to.String(), desc: "Cast float32 to " + to.String(),
			inputs: []graph.ValueInfo{in("X", dtype.Float32, 6)}, nodes: nodes, outputs: []string{out},
			runs: [][]value{{x}}}); err != nil {
			return err
		}
	}
	for _, from := range []dtype.DType{dtype.Int64, dtype.Int32, dtype.Int8, dtype.Uint8, dtype.Bool} {
		v := value{from, []int64{4}, []float64{0, 1, 5, 100}, nil}
		if from == dtype.Bool {
			v.vals = []float64{0, 1, 1, 0}
		}
		if err := s.add(&spec{name: "op_cast_" + from.String() + "_to_float64", desc: "Cast " + from.String() + " to float64",
			inputs: []graph.ValueInfo{in("X", from, 4)}, nodes: []graph.Node{node("Cast", []string{"X"}, []string{"Y"}, ai("to", int64(dtype.Float64)))},
			outputs: []string{"Y"}, runs: [][]value{{v}}}); err != nil {
			return err
		}
	}
	return nil
}

// composite: an MLP classifier with a dynamic batch, and a model with two
// inputs and three outputs.
func (s *suite) composite() error {
	mlp := &spec{name: "mlp_classifier", desc: "Gemm-Relu-Gemm-Softmax with ArgMax labels; batches of 1, 4 and 0 rows",
		inputs: []graph.ValueInfo{in("features", dtype.Float32, -1, 4)},
		consts: []constant{{"W1", dtype.Float32, []int64{4, 8}, seq(32, 0.1)}, {"b1", dtype.Float32, []int64{8}, seq(8, 0.2)},
			{"W2", dtype.Float32, []int64{8, 3}, seq(24, 0.3)}, {"b2", dtype.Float32, []int64{3}, seq(3, 0.4)}},
		nodes: []graph.Node{
			node("Gemm", []string{"features", "W1", "b1"}, []string{"h"}), node("Relu", []string{"h"}, []string{"a"}),
			node("Gemm", []string{"a", "W2", "b2"}, []string{"z"}), node("Softmax", []string{"z"}, []string{"probabilities"}),
			node("ArgMax", []string{"z"}, []string{"label"}, ai("axis", 1), ai("keepdims", 0)),
		},
		outputs: []string{"probabilities", "label"},
		runs: [][]value{{val(dtype.Float32, []int64{1, 4}, 0.5)}, {val(dtype.Float32, []int64{4, 4}, 0.6)},
			{{dtype.Float32, []int64{0, 4}, nil, nil}}}}
	multi := &spec{name: "multi_io", desc: "two inputs, three outputs (sum, difference, row-wise argmax of the product)",
		inputs: []graph.ValueInfo{in("A", dtype.Float64, -1, 3), in("B", dtype.Float64, -1, 3)},
		nodes: []graph.Node{node("Add", []string{"A", "B"}, []string{"sum"}), node("Sub", []string{"A", "B"}, []string{"difference"}),
			node("Mul", []string{"A", "B"}, []string{"p"}), node("ArgMax", []string{"p"}, []string{"argmax"}, ai("axis", 1), ai("keepdims", 0))},
		outputs: []string{"sum", "difference", "argmax"},
		runs:    [][]value{{val(dtype.Float64, []int64{2, 3}, 0.1), val(dtype.Float64, []int64{2, 3}, 0.9)}}}
	for _, sp := range []*spec{mlp, multi} {
		if err := s.add(sp); err != nil {
			return err
		}
	}
	return nil
}

// runErrors: valid models fed inputs that must fail with a specific status.
func (s *suite) runErrors() error {
	model := func(name, desc string, runs [][]value, want errs.Code) *spec {
		return &spec{name: name, desc: desc, inputs: []graph.ValueInfo{in("X", dtype.Float32, -1, 3)},
			consts: []constant{{"I", dtype.Int64, []int64{1}, []float64{0}}},
			nodes:  []graph.Node{node("Relu", []string{"X"}, []string{"Y"})}, outputs: []string{"Y"},
			runs: runs, fail: []*Status{status(want)}}
	}
	for _, sp := range []*spec{
		model("run_wrong_dtype", "a float64 input to a float32 model", [][]value{{val(dtype.Float64, []int64{2, 3}, 0)}}, errs.DType),
		model("run_wrong_shape", "4 features where the model takes 3", [][]value{{val(dtype.Float32, []int64{2, 4}, 0)}}, errs.Shape),
		model("run_wrong_rank", "a 1-D input to a 2-D model", [][]value{{val(dtype.Float32, []int64{3}, 0)}}, errs.Shape),
	} {
		if err := s.add(sp); err != nil {
			return err
		}
	}
	return s.add(&spec{name: "run_gather_out_of_range", desc: "a Gather index past the end fails the run",
		inputs: []graph.ValueInfo{in("I", dtype.Int64, -1)}, consts: []constant{{"T", dtype.Float32, []int64{3}, []float64{1, 2, 3}}},
		nodes: []graph.Node{node("Gather", []string{"T", "I"}, []string{"Y"})}, outputs: []string{"Y"},
		runs: [][]value{{{dtype.Int64, []int64{2}, []float64{1, 7}, nil}}}, fail: []*Status{status(errs.InvalidValue)}})
}

// hostile: valid models fed legal inputs that once aborted or hung a host.
// Zero-element tensors with huge other dimensions must finish at once;
// shapes whose results no machine could hold must fail before allocating.
// slow_matmul is the bindings' workload for cancellation and timeouts.
func (s *suite) hostile() error {
	const huge = 1 << 40
	empty := &spec{name: "hostile_empty_huge", desc: "softmax, transpose, concat and a cast over [2^40, 0] and [0, 2^40] inputs: empty results, no work",
		inputs: []graph.ValueInfo{in("X", dtype.Float32, -1, -1)},
		nodes: []graph.Node{
			node("Softmax", []string{"X"}, []string{"softmax"}),
			node("Transpose", []string{"X"}, []string{"transposed"}),
			node("Concat", []string{"X", "X"}, []string{"concat"}, ai("axis", 0)),
			node("Cast", []string{"X"}, []string{"cast"}, ai("to", int64(dtype.Float64))),
		},
		outputs: []string{"softmax", "transposed", "concat", "cast"},
		runs:    [][]value{{{dtype.Float32, []int64{huge, 0}, nil, nil}}, {{dtype.Float32, []int64{0, huge}, nil, nil}}}}
	reduce := &spec{name: "hostile_reduce_huge", desc: "a sum over the empty axis of a [2^40, 0] input would be 4 TiB: refused before allocating",
		inputs:  []graph.ValueInfo{in("X", dtype.Float32, -1, -1)},
		nodes:   []graph.Node{node("ReduceSum", []string{"X"}, []string{"Y"}, ais("axes", 1), ai("keepdims", 0))},
		outputs: []string{"Y"},
		runs:    [][]value{{{dtype.Float32, []int64{3, 0}, nil, nil}}, {{dtype.Float32, []int64{huge, 0}, nil, nil}}},
		fail:    []*Status{nil, status(errs.NoMemoryLimit)}}
	blowup := &spec{name: "hostile_broadcast_blowup", desc: "[2^18, 1] + [1, 2^18] float64 broadcasts to 512 GiB: refused before allocating",
		inputs:  []graph.ValueInfo{in("A", dtype.Float64, -1, -1), in("B", dtype.Float64, -1, -1)},
		nodes:   []graph.Node{node("Add", []string{"A", "B"}, []string{"Y"})},
		outputs: []string{"Y"},
		runs: [][]value{{val(dtype.Float64, []int64{2, 1}, 0.1), val(dtype.Float64, []int64{1, 3}, 0.2)},
			{val(dtype.Float64, []int64{1 << 18, 1}, 0.1), val(dtype.Float64, []int64{1, 1 << 18}, 0.2)}},
		fail: []*Status{nil, status(errs.NoMemoryLimit)}}
	slow := &spec{name: "slow_matmul", desc: "Y = A·B for any sizes: large inputs make a long run (cancellation and timeout tests)",
		inputs:  []graph.ValueInfo{in("A", dtype.Float32, -1, -1), in("B", dtype.Float32, -1, -1)},
		nodes:   []graph.Node{node("MatMul", []string{"A", "B"}, []string{"Y"})},
		outputs: []string{"Y"},
		runs:    [][]value{{val(dtype.Float32, []int64{2, 3}, 0.1), val(dtype.Float32, []int64{3, 2}, 0.2)}}}
	for _, sp := range []*spec{empty, reduce, blowup, slow} {
		if err := s.add(sp); err != nil {
			return err
		}
	}
	return nil
}
