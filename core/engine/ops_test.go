package engine

import (
	"fmt"
	"math"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

func tolFor(dt dtype.DType) float64 {
	if dt == dtype.Float32 {
		return 2e-5
	}
	return 1e-12
}

// refGemm is a naive Y = alpha·op(A)·op(B) + beta·C with C broadcast.
func refGemm(a, b, c []float64, m, n, k int, ta, tb bool, alpha, beta float64, cShape []int64) []float64 {
	y := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av := a[i*k+p]
				if ta {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if tb {
					bv = b[j*k+p]
				}
				s += av * bv
			}
			y[i*n+j] = alpha * s
			if c != nil {
				y[i*n+j] += beta * c[bcastIndex([]int64{int64(m), int64(n)}, cShape, []int{i, j})]
			}
		}
	}
	return y
}

// bcastIndex maps an output index to the flat index of a broadcast operand.
func bcastIndex(out, in []int64, idx []int) int {
	flat, stride := 0, 1
	for d := len(in) - 1; d >= 0; d-- {
		od := d + len(out) - len(in)
		if in[d] != 1 {
			flat += idx[od] * stride
		}
		stride *= int(in[d])
	}
	return flat
}

func unflatten(i int, shape []int64) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % int(shape[d])
		i /= int(shape[d])
	}
	return idx
}

func TestGemm(t *testing.T) {
	const m, n, k = 5, 7, 3
	for _, dt := range floatTypes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, cShape := range [][]int64{nil, {}, {n}, {m, 1}, {1, n}, {m, n}} {
					name := fmt.Sprintf("%s/tA=%v/tB=%v/C=%v", dt, ta, tb, cShape)
					t.Run(name, func(t *testing.T) {
						aShape, bShape := []int64{m, k}, []int64{k, n}
						if ta {
							aShape = []int64{k, m}
						}
						if tb {
							bShape = []int64{n, k}
						}
						a, b := seq(m*k, 1), seq(k*n, 2)
						ins := []tin{{"A", dt, aShape, aShape, a}}
						consts := []tconst{{"B", dt, bShape, b}}
						node := graph.Node{Op: "Gemm", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}, Attrs: []graph.Attr{
							{Name: "transA", Type: graph.AttrInt, Int: b2i(ta)}, {Name: "transB", Type: graph.AttrInt, Int: b2i(tb)},
							{Name: "alpha", Type: graph.AttrFloat, Float: 0.5}, {Name: "beta", Type: graph.AttrFloat, Float: -2}}}
						var c []float64
						if cShape != nil {
							c = seq(prod(cShape), 3)
							consts = append(consts, tconst{"C", dt, cShape, c})
							node.Inputs = append(node.Inputs, "C")
						}
						y, err := single(t, ins, consts, node)
						if err != nil {
							t.Fatal(err)
						}
						near(t, "Y", decode(dt, y.Data), refGemm(a, b, c, m, n, k, ta, tb, 0.5, -2, cShape), tolFor(dt))
					})
				}
			}
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// refMatMul is numpy.matmul on shapes already promoted to rank >= 2.
func refMatMul(a, b []float64, as, bs, out []int64) []float64 {
	m, k, n := int(as[len(as)-2]), int(as[len(as)-1]), int(bs[len(bs)-1])
	batch := out[:len(out)-2]
	y := make([]float64, prod(out))
	for bi := 0; bi < prod(batch); bi++ {
		idx := unflatten(bi, batch)
		oa := bcastIndex(batch, as[:len(as)-2], idx) * m * k
		ob := bcastIndex(batch, bs[:len(bs)-2], idx) * k * n
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += a[oa+i*k+p] * b[ob+p*n+j]
				}
				y[bi*m*n+i*n+j] = s
			}
		}
	}
	return y
}

func TestMatMul(t *testing.T) {
	cases := []struct{ a, b, out []int64 }{
		{[]int64{3, 4}, []int64{4, 5}, []int64{3, 5}},
		{[]int64{2, 3, 4}, []int64{4, 5}, []int64{2, 3, 5}},
		{[]int64{2, 3, 4}, []int64{2, 4, 5}, []int64{2, 3, 5}},
		{[]int64{1, 3, 4}, []int64{2, 4, 5}, []int64{2, 3, 5}},
		{[]int64{2, 1, 3, 4}, []int64{3, 4, 2}, []int64{2, 3, 3, 2}},
		{[]int64{4}, []int64{4, 5}, []int64{5}},
		{[]int64{3, 4}, []int64{4}, []int64{3}},
		{[]int64{4}, []int64{4}, []int64{}},
		{[]int64{0, 4}, []int64{4, 5}, []int64{0, 5}},
	}
	for _, dt := range floatTypes {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%v×%v", dt, c.a, c.b), func(t *testing.T) {
				a, b := seq(prod(c.a), 1), seq(prod(c.b), 2)
				y, err := single(t, []tin{{"A", dt, c.a, c.a, a}, {"B", dt, c.b, c.b, b}}, nil,
					graph.Node{Op: "MatMul", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(y.Shape()) != fmt.Sprint(c.out) {
					t.Fatalf("shape %v, want %v", y.Shape(), c.out)
				}
				as, bs := c.a, c.b
				out := append([]int64(nil), c.out...)
				if len(as) == 1 {
					as = []int64{1, as[0]}
				}
				if len(bs) == 1 {
					bs = []int64{bs[0], 1}
				}
				full, _ := graph.Broadcast(as[:len(as)-2], bs[:len(bs)-2])
				out = append(full, as[len(as)-2], bs[len(bs)-1])
				near(t, "Y", decode(dt, y.Data), refMatMul(a, b, as, bs, out), tolFor(dt))
			})
		}
	}
}

func TestBinaryBroadcast(t *testing.T) {
	shapes := [][2][]int64{
		{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 3}, {2, 1}}, {{2, 3}, {}}, {{}, {2, 3}},
		{{4, 1, 3}, {2, 1}}, {{1, 5}, {4, 1}}, {{2, 1, 3, 1}, {1, 4, 1, 5}}, {{0, 3}, {3}},
	}
	ops := map[string]func(a, b float64) float64{
		"Add": func(a, b float64) float64 { return a + b }, "Sub": func(a, b float64) float64 { return a - b },
		"Mul": func(a, b float64) float64 { return a * b }, "Div": func(a, b float64) float64 { return a / b },
	}
	for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int32, dtype.Int64} {
		for op, f := range ops {
			for _, s := range shapes {
				t.Run(fmt.Sprintf("%s/%s/%v∘%v", dt, op, s[0], s[1]), func(t *testing.T) {
					a, b := seq(prod(s[0]), 1), seq(prod(s[1]), 2)
					if dt == dtype.Int32 || dt == dtype.Int64 {
						for i := range a {
							a[i] = math.Round(a[i] * 10)
						}
						for i := range b {
							b[i] = math.Round(b[i]*10) + 30 // non-zero divisors
						}
					}
					y, err := single(t, []tin{{"A", dt, s[0], s[0], a}, {"B", dt, s[1], s[1], b}}, nil,
						graph.Node{Op: op, Inputs: []string{"A", "B"}, Outputs: []string{"Y"}})
					if err != nil {
						t.Fatal(err)
					}
					out, _ := graph.Broadcast(s[0], s[1])
					want := make([]float64, prod(out))
					for i := range want {
						idx := unflatten(i, out)
						v := f(a[bcastIndex(out, s[0], idx)], b[bcastIndex(out, s[1], idx)])
						if dt == dtype.Int32 || dt == dtype.Int64 {
							v = math.Trunc(v)
						}
						if dt == dtype.Float32 {
							v = float64(float32(v))
						}
						want[i] = v
					}
					near(t, "Y", decode(dt, y.Data), want, tolFor(dt))
				})
			}
		}
	}
}

func TestIntegerDivisionByZero(t *testing.T) {
	y, err := single(t, []tin{{"A", dtype.Int64, []int64{3}, []int64{3}, []float64{7, -7, math.MinInt64}},
		{"B", dtype.Int64, []int64{3}, []int64{3}, []float64{0, 2, -1}}}, nil,
		graph.Node{Op: "Div", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Y", decode(dtype.Int64, y.Data), []float64{0, -3, math.MinInt64}, 0)
}

func TestUnary(t *testing.T) {
	x := append(seq(40, 0.3), 0, -0.5, 30, -30, math.NaN())
	gelu := func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }
	geluT := func(v float64) float64 {
		return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	}
	cases := []struct {
		op    string
		attrs []graph.Attr
		f     func(float64) float64
	}{
		{"Relu", nil, func(v float64) float64 {
			if v > 0 || math.IsNaN(v) {
				return v
			}
			return 0
		}},
		{"LeakyRelu", []graph.Attr{{Name: "alpha", Type: graph.AttrFloat, Float: 0.2}}, func(v float64) float64 {
			if v < 0 {
				return 0.2 * v
			}
			return v
		}},
		{"LeakyRelu", nil, func(v float64) float64 {
			if v < 0 {
				return 0.01 * v
			}
			return v
		}},
		{"Sigmoid", nil, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"Tanh", nil, math.Tanh},
		{"Gelu", nil, gelu},
		{"Gelu", []graph.Attr{{Name: "approximate", Type: graph.AttrString, String: "tanh"}}, geluT},
	}
	for _, dt := range floatTypes {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s/%v", dt, c.op, c.attrs), func(t *testing.T) {
				shape := []int64{5, 9}
				y, err := single(t, []tin{{"X", dt, shape, shape, x}}, nil,
					graph.Node{Op: c.op, Inputs: []string{"X"}, Outputs: []string{"Y"}, Attrs: c.attrs})
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float64, len(x))
				for i, v := range x {
					if dt == dtype.Float32 {
						v = float64(float32(v))
					}
					want[i] = c.f(v)
				}
				near(t, "Y", decode(dt, y.Data), want, tolFor(dt))
			})
		}
	}
}

func TestSoftmax(t *testing.T) {
	shape := []int64{2, 3, 4}
	x := seq(24, 0.1)
	x[5] = 700 // large values must not overflow
	for _, dt := range floatTypes {
		for _, op := range []string{"Softmax", "LogSoftmax"} {
			for _, axis := range []int64{-1, 0, 1, 2} {
				t.Run(fmt.Sprintf("%s/%s/axis=%d", dt, op, axis), func(t *testing.T) {
					in := append([]float64(nil), x...)
					if dt == dtype.Float32 {
						in[5] = 70
					}
					y, err := single(t, []tin{{"X", dt, shape, shape, in}}, nil, graph.Node{Op: op, Inputs: []string{"X"},
						Outputs: []string{"Y"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: axis}}})
					if err != nil {
						t.Fatal(err)
					}
					ax, _ := graph.NormAxis(axis, 3)
					want := make([]float64, 24)
					for i := range want {
						idx := unflatten(i, shape)
						mx := math.Inf(-1)
						for k := 0; k < int(shape[ax]); k++ {
							idx2 := append([]int(nil), idx...)
							idx2[ax] = k
							mx = math.Max(mx, in[flat(idx2, shape)])
						}
						var s float64
						for k := 0; k < int(shape[ax]); k++ {
							idx2 := append([]int(nil), idx...)
							idx2[ax] = k
							s += math.Exp(in[flat(idx2, shape)] - mx)
						}
						if op == "Softmax" {
							want[i] = math.Exp(in[i]-mx) / s
						} else {
							want[i] = in[i] - mx - math.Log(s)
						}
					}
					near(t, "Y", decode(dt, y.Data), want, tolFor(dt))
				})
			}
		}
	}
}

func flat(idx []int, shape []int64) int {
	f := 0
	for d := range idx {
		f = f*int(shape[d]) + idx[d]
	}
	return f
}

func TestLayerNorm(t *testing.T) {
	shape := []int64{3, 2, 4}
	x := seq(24, 0.5)
	for _, dt := range floatTypes {
		for _, axis := range []int64{-1, 1} {
			for _, withBias := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/axis=%d/bias=%v", dt, axis, withBias), func(t *testing.T) {
					ax, _ := graph.NormAxis(axis, 3)
					normShape := shape[ax:]
					d := prod(normShape)
					scale, bias := seq(d, 3), seq(d, 4)
					consts := []tconst{{"S", dt, normShape, scale}}
					node := graph.Node{Op: "LayerNormalization", Inputs: []string{"X", "S"}, Outputs: []string{"Y", "Mean", "Inv"},
						Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: axis}, {Name: "epsilon", Type: graph.AttrFloat, Float: 1e-3}}}
					if withBias {
						consts = append(consts, tconst{"B", dt, normShape, bias})
						node.Inputs = append(node.Inputs, "B")
					}
					ins := []tin{{"X", dt, shape, shape, x}}
					m := buildModel(t, ins, consts, []graph.Node{node}, []string{"Y", "Mean", "Inv"}, Options{})
					outs, err := runModel(t, m, inputsOf(ins))
					if err != nil {
						t.Fatal(err)
					}
					rows := 24 / d
					wantY, wantM, wantI := make([]float64, 24), make([]float64, rows), make([]float64, rows)
					for r := 0; r < rows; r++ {
						row := x[r*d : r*d+d]
						if dt == dtype.Float32 {
							row = decode(dt, encode(dt, row))
						}
						var mu, v float64
						for _, e := range row {
							mu += e
						}
						mu /= float64(d)
						for _, e := range row {
							v += (e - mu) * (e - mu)
						}
						inv := 1 / math.Sqrt(v/float64(d)+1e-3)
						wantM[r], wantI[r] = mu, inv
						for i, e := range row {
							wantY[r*d+i] = (e - mu) * inv * scale[i]
							if withBias {
								wantY[r*d+i] += bias[i]
							}
						}
					}
					near(t, "Y", decode(dt, outs[0].Data), wantY, tolFor(dt)*10)
					near(t, "Mean", decode(dt, outs[1].Data), wantM, tolFor(dt))
					near(t, "Inv", decode(dt, outs[2].Data), wantI, tolFor(dt)*10)
					if got := fmt.Sprint(outs[1].Shape()); got != fmt.Sprint(append(append([]int64(nil), shape[:ax]...), ones(3-ax)...)) {
						t.Fatalf("Mean shape %s", got)
					}
				})
			}
		}
	}
}

func ones(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func TestLayoutOps(t *testing.T) {
	x := seq(24, 0)
	shape := []int64{2, 3, 4}
	i64 := func(name string, v ...float64) tconst { return tconst{name, dtype.Int64, []int64{int64(len(v))}, v} }
	cases := []struct {
		name   string
		node   graph.Node
		consts []tconst
		shape  []int64
		want   func() []float64
	}{
		{"Reshape", graph.Node{Op: "Reshape", Inputs: []string{"X", "S"}}, []tconst{i64("S", 0, -1)}, []int64{2, 12}, func() []float64 { return x }},
		{"Flatten0", graph.Node{Op: "Flatten", Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 0}}}, nil, []int64{1, 24}, func() []float64 { return x }},
		{"Flatten", graph.Node{Op: "Flatten"}, nil, []int64{2, 12}, func() []float64 { return x }},
		{"Flatten-1", graph.Node{Op: "Flatten", Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: -1}}}, nil, []int64{6, 4}, func() []float64 { return x }},
		{"Identity", graph.Node{Op: "Identity"}, nil, shape, func() []float64 { return x }},
		{"Dropout", graph.Node{Op: "Dropout"}, nil, shape, func() []float64 { return x }},
		{"Transpose", graph.Node{Op: "Transpose", Attrs: []graph.Attr{{Name: "perm", Type: graph.AttrInts, Ints: []int64{1, 2, 0}}}}, nil, []int64{3, 4, 2},
			func() []float64 { return transposeRef(x, shape, []int{1, 2, 0}) }},
		{"TransposeDefault", graph.Node{Op: "Transpose"}, nil, []int64{4, 3, 2},
			func() []float64 { return transposeRef(x, shape, []int{2, 1, 0}) }},
		{"Concat", graph.Node{Op: "Concat", Inputs: []string{"X", "C"}, Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}}},
			[]tconst{{"C", dtype.Float32, []int64{2, 1, 4}, seq(8, 9)}}, []int64{2, 4, 4},
			func() []float64 {
				c := seq(8, 9)
				var out []float64
				for o := 0; o < 2; o++ {
					out = append(out, x[o*12:o*12+12]...)
					out = append(out, c[o*4:o*4+4]...)
				}
				return out
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := c.node
			if n.Inputs == nil {
				n.Inputs = []string{"X"}
			}
			n.Outputs = []string{"Y"}
			y, err := single(t, []tin{{"X", dtype.Float32, []int64{-1, 3, 4}, shape, x}}, c.consts, n)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(y.Shape()) != fmt.Sprint(c.shape) {
				t.Fatalf("shape %v, want %v", y.Shape(), c.shape)
			}
			near(t, "Y", decode(dtype.Float32, y.Data), decode(dtype.Float32, encode(dtype.Float32, c.want())), 0)
		})
	}
}

func transposeRef(x []float64, shape []int64, perm []int) []float64 {
	out := make([]int64, len(perm))
	for i, p := range perm {
		out[i] = shape[p]
	}
	y := make([]float64, len(x))
	for i := range y {
		oi := unflatten(i, out)
		ii := make([]int, len(perm))
		for d, p := range perm {
			ii[p] = oi[d]
		}
		y[i] = x[flat(ii, shape)]
	}
	return y
}

func TestDropoutMask(t *testing.T) {
	ins := []tin{{"X", dtype.Float64, []int64{2, 2}, []int64{2, 2}, []float64{1, 2, 3, 4}}}
	m := buildModel(t, ins, nil, []graph.Node{{Op: "Dropout", Inputs: []string{"X"}, Outputs: []string{"Y", "M"}}}, []string{"Y", "M"}, Options{})
	outs, err := runModel(t, m, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Y", decode(dtype.Float64, outs[0].Data), []float64{1, 2, 3, 4}, 0)
	near(t, "M", decode(dtype.Bool, outs[1].Data), []float64{1, 1, 1, 1}, 0)
}

func TestArgMax(t *testing.T) {
	x := []float64{1, 5, 5, 2, 9, -1, 0, math.NaN(), 3, 3, 3, 3}
	shape := []int64{3, 4}
	cases := []struct {
		axis, keep, last int64
		shape            []int64
		want             []float64
	}{
		{1, 1, 0, []int64{3, 1}, []float64{1, 3, 0}},
		{1, 0, 0, []int64{3}, []float64{1, 3, 0}},
		{1, 0, 1, []int64{3}, []float64{2, 3, 3}},
		{0, 0, 0, []int64{4}, []float64{1, 0, 0, 1}},
		{-1, 0, 0, []int64{3}, []float64{1, 3, 0}},
	}
	for _, dt := range []dtype.DType{dtype.Float32, dtype.Float64} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%+v", dt, c), func(t *testing.T) {
				y, err := single(t, []tin{{"X", dt, shape, shape, x}}, nil, graph.Node{Op: "ArgMax", Inputs: []string{"X"}, Outputs: []string{"Y"},
					Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: c.axis}, {Name: "keepdims", Type: graph.AttrInt, Int: c.keep},
						{Name: "select_last_index", Type: graph.AttrInt, Int: c.last}}})
				if err != nil {
					t.Fatal(err)
				}
				if y.DType != dtype.Int64 || fmt.Sprint(y.Shape()) != fmt.Sprint(c.shape) {
					t.Fatalf("got %s%v", y.DType, y.Shape())
				}
				near(t, "Y", decode(dtype.Int64, y.Data), c.want, 0)
			})
		}
	}
}

func TestCast(t *testing.T) {
	cases := []struct {
		from, to dtype.DType
		in, want []float64
	}{
		{dtype.Float64, dtype.Int32, []float64{1.9, -1.9, 3e10, -3e10, math.NaN()}, []float64{1, -1, math.MaxInt32, math.MinInt32, 0}},
		{dtype.Float32, dtype.Uint8, []float64{-5, 300, 7.5}, []float64{0, 255, 7}},
		{dtype.Int64, dtype.Int32, []float64{1 << 33, -1}, []float64{0, -1}},
		{dtype.Int64, dtype.Float64, []float64{-3, 1 << 40}, []float64{-3, 1 << 40}},
		{dtype.Float64, dtype.Float32, []float64{0.1, -2.5}, []float64{float64(float32(0.1)), -2.5}},
		{dtype.Float64, dtype.Bool, []float64{0, 2, math.NaN()}, []float64{0, 1, 1}},
		{dtype.Bool, dtype.Float32, []float64{0, 1}, []float64{0, 1}},
		{dtype.Int8, dtype.Int64, []float64{-128, 127}, []float64{-128, 127}},
		{dtype.Float32, dtype.Float32, []float64{1.5}, []float64{1.5}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s→%s", c.from, c.to), func(t *testing.T) {
			shape := []int64{int64(len(c.in))}
			y, err := single(t, []tin{{"X", c.from, shape, shape, c.in}}, nil, graph.Node{Op: "Cast", Inputs: []string{"X"}, Outputs: []string{"Y"},
				Attrs: []graph.Attr{{Name: "to", Type: graph.AttrInt, Int: int64(c.to)}}})
			if err != nil {
				t.Fatal(err)
			}
			near(t, "Y", decode(c.to, y.Data), c.want, 0)
		})
	}
	// float16 and bfloat16 round trip through Cast chains.
	for _, half := range []dtype.DType{dtype.Float16, dtype.BFloat16} {
		t.Run("via "+half.String(), func(t *testing.T) {
			in := []float64{1, -2.5, 0.333251953125, 65504, 1e-7}
			shape := []int64{int64(len(in))}
			ins := []tin{{"X", dtype.Float32, shape, shape, in}}
			m := buildModel(t, ins, nil, []graph.Node{
				{Op: "Cast", Inputs: []string{"X"}, Outputs: []string{"H"}, Attrs: []graph.Attr{{Name: "to", Type: graph.AttrInt, Int: int64(half)}}},
				{Op: "Cast", Inputs: []string{"H"}, Outputs: []string{"Y"}, Attrs: []graph.Attr{{Name: "to", Type: graph.AttrInt, Int: int64(dtype.Float32)}}},
			}, []string{"Y"}, Options{})
			outs, err := runModel(t, m, inputsOf(ins))
			if err != nil {
				t.Fatal(err)
			}
			tol := 1e-3
			if half == dtype.BFloat16 {
				tol = 1e-2
			}
			got := decode(dtype.Float32, outs[0].Data)
			near(t, "Y", got[:4], in[:4], tol)
		})
	}
}

func TestShapeErrorsAtRunTime(t *testing.T) {
	ins := []tin{{"A", dtype.Float32, []int64{-1, 3}, []int64{2, 3}, seq(6, 0)}, {"B", dtype.Float32, []int64{-1, 3}, []int64{4, 3}, seq(12, 0)}}
	m := buildModel(t, ins, nil, []graph.Node{{Op: "Add", Inputs: []string{"A", "B"}, Outputs: []string{"Y"}}}, []string{"Y"}, Options{})
	_, err := runModel(t, m, inputsOf(ins))
	wantCode(t, err, errs.Shape)
}
