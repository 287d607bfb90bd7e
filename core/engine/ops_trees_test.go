package engine

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// forest is a TreeEnsemble's stored arrays and attributes, for tests.
type forest struct {
	feature          []float64
	threshold        []float64
	left, right      []float64
	flags            []float64
	roots, targets   []float64
	leaves           []float64
	w                int
	catOff, catBits  []float64
	k                int
	attrs            []graph.Attr
	outputs          []string
	x32              bool
	width            int64
	threads          int
	skipBitsetInputs bool
}

func strAttr(name, v string) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrString, String: v}
}

func (f *forest) model(t testing.TB) *Model {
	t.Helper()
	m := len(f.feature)
	consts := []tconst{
		{"feature", dtype.Int32, []int64{int64(m)}, f.feature},
		{"threshold", dtype.Float64, []int64{int64(len(f.threshold))}, f.threshold},
		{"left", dtype.Int32, []int64{int64(len(f.left))}, f.left},
		{"right", dtype.Int32, []int64{int64(len(f.right))}, f.right},
		{"flags", dtype.Uint8, []int64{int64(len(f.flags))}, f.flags},
		{"roots", dtype.Int32, []int64{int64(len(f.roots))}, f.roots},
		{"targets", dtype.Int32, []int64{int64(len(f.targets))}, f.targets},
		{"leaves", dtype.Float64, []int64{int64(len(f.leaves) / f.w), int64(f.w)}, f.leaves},
	}
	ins := []string{"X", "feature", "threshold", "left", "right", "flags", "roots", "targets", "leaves"}
	if f.catOff != nil {
		consts = append(consts, tconst{"cat_offsets", dtype.Int32, []int64{int64(len(f.catOff))}, f.catOff},
			tconst{"cat_bits", dtype.Uint8, []int64{int64(len(f.catBits))}, f.catBits})
		ins = append(ins, "cat_offsets", "cat_bits")
	}
	outs := f.outputs
	if outs == nil {
		outs = []string{"Y"}
	}
	attrs := append([]graph.Attr{{Name: "n_targets", Type: graph.AttrInt, Int: int64(f.k)}}, f.attrs...)
	dt := dtype.Float64
	if f.x32 {
		dt = dtype.Float32
	}
	width := f.width
	if width == 0 {
		width = graph.Dynamic
	}
	var published []string
	for _, o := range outs {
		if o != "" {
			published = append(published, o)
		}
	}
	return buildModel(t, []tin{{name: "X", dt: dt, sig: []int64{-1, width}}}, consts,
		[]graph.Node{{Op: "TreeEnsemble", Inputs: ins, Outputs: outs, Attrs: attrs}}, published, Options{Threads: f.threads})
}

func (f *forest) run(t testing.TB, rows [][]float64) ([]Tensor, error) {
	t.Helper()
	m := f.model(t)
	dt := dtype.Float64
	if f.x32 {
		dt = dtype.Float32
	}
	var flat []float64
	for _, r := range rows {
		flat = append(flat, r...)
	}
	cols := 0
	if len(rows) > 0 {
		cols = len(rows[0])
	}
	return runModel(t, m, []Tensor{NewTensor(dt, []int64{int64(len(rows)), int64(cols)}, encode(dt, flat))})
}

// stump is one split on feature 0: leaf 10 on the left, 20 on the right.
func stump(thr float64, flags int, bits ...float64) *forest {
	f := &forest{feature: []float64{0, -1, -1}, threshold: []float64{thr, 0, 0}, left: []float64{1, 0, 1},
		right: []float64{2, -1, -1}, flags: []float64{float64(flags), 0, 0}, roots: []float64{0}, targets: []float64{0},
		leaves: []float64{10, 20}, w: 1, k: 1}
	if bits != nil {
		f.catOff = []float64{0, float64(len(bits)), float64(len(bits)), float64(len(bits))}
		f.catBits = bits
	}
	return f
}

func TestTreeSplitRules(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	below1 := math.Nextafter(1, 0)
	const (
		L, R = 10.0, 20.0
	)
	cases := []struct {
		name string
		f    *forest
		x    []float64
		want []float64
	}{
		{"<= with NaN right", stump(1, 0), []float64{below1, 1, 1.5, nan, -inf, inf}, []float64{L, L, R, R, L, R}},
		{"<= with NaN left", stump(1, graph.TreeDefaultLeft), []float64{1, 1.5, nan}, []float64{L, R, L}},
		{"< strict", stump(1, graph.TreeStrict), []float64{below1, 1, nan}, []float64{L, R, R}},
		{"< -inf", stump(math.Inf(-1), graph.TreeStrict|graph.TreeDefaultLeft), []float64{-inf, 0, nan}, []float64{R, R, L}},
		{"<= +inf", stump(inf, 0), []float64{inf, 1e308, nan}, []float64{L, L, R}},
		{"zero band", stump(-1, graph.TreeMissingZero|graph.TreeDefaultLeft), []float64{1e-36, -1e-36, 0, 0.5, -2, nan},
			[]float64{L, L, L, R, L, L}},
		{"zero band edge", stump(-1, graph.TreeMissingZero), []float64{float64(float32(1e-35)), math.Nextafter(float64(float32(1e-35)), 1)},
			[]float64{R, R}},
		{"missing none", stump(-1, graph.TreeMissingNone|graph.TreeDefaultLeft), []float64{nan, -2}, []float64{R, L}},
		// Categories {1, 3} in bits 1 and 3 of byte 0.
		{"in set left", stump(0, graph.TreeCategorical, 0b1010), []float64{1, 2, 3.7, 0, -0.5, 8, 300, nan},
			[]float64{L, R, L, R, R, R, R, R}},
		{"in set left, NaN default left", stump(0, graph.TreeCategorical|graph.TreeDefaultLeft, 0b1010), []float64{nan}, []float64{L}},
		{"in set right", stump(0, graph.TreeCategorical|graph.TreeInSetRight, 0b1010), []float64{1, 2, -1, 1e9},
			[]float64{R, L, L, L}},
		{"trunc first", stump(0, graph.TreeCategorical|graph.TreeTruncFirst, 0b1), []float64{-0.5, -1, 0.9},
			[]float64{L, R, L}},
		{"x < 0 negative", stump(0, graph.TreeCategorical, 0b1), []float64{-0.5, 0}, []float64{R, L}},
		{"invalid as missing", stump(0, graph.TreeCategorical|graph.TreeInvalidMissing|graph.TreeDefaultLeft, 0b1010),
			[]float64{-1, 300, 2, 3, 2.5}, []float64{L, L, R, L, L}},
	}
	for _, c := range cases {
		for _, x32 := range []bool{false, true} {
			c.f.x32 = x32
			rows := make([][]float64, len(c.x))
			for i, v := range c.x {
				rows[i] = []float64{v}
			}
			outs, err := c.f.run(t, rows)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got := decode(outs[0].DType, outs[0].Data)
			for i := range got {
				if got[i] != c.want[i] && !(x32 && float64(float32(c.x[i])) != c.x[i]) {
					t.Errorf("%s (x32=%v): x=%v went to %v, want %v", c.name, x32, c.x[i], got[i], c.want[i])
				}
			}
		}
	}
}

// scikit-learn trees compare float32(x) with a float64 threshold.
func TestTreeInputCast(t *testing.T) {
	f := stump(0.1, 0)
	for _, c := range []struct {
		cast string
		want float64
	}{{"none", 10}, {"float32", 20}} { // float32(0.1) > 0.1
		f.attrs = []graph.Attr{strAttr("input_cast", c.cast)}
		outs, err := f.run(t, [][]float64{{0.1}})
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(dtype.Float64, outs[0].Data)[0]; got != c.want {
			t.Errorf("input_cast %s: %v, want %v", c.cast, got, c.want)
		}
	}
}

// two trees on features 0 and 1 over two targets.
func twoTrees() *forest {
	return &forest{
		feature:   []float64{0, -1, -1, 1, -1, -1},
		threshold: []float64{0, 0, 0, 0, 0, 0},
		left:      []float64{1, 0, 1, 4, 2, 3},
		right:     []float64{2, -1, -1, 5, -1, -1},
		flags:     make([]float64, 6),
		roots:     []float64{0, 3}, targets: []float64{0, 1},
		leaves: []float64{1, 2, 3, 4}, w: 1, k: 2,
	}
}

func TestTreeAggregation(t *testing.T) {
	rows := [][]float64{{-1, -1}, {1, 1}, {-1, 1}}
	f := twoTrees()
	f.attrs = []graph.Attr{{Name: "base_values", Type: graph.AttrFloats, Floats: []float64{0.5, -0.5}},
		strAttr("post_transform", "softmax"), strAttr("decision", "argmax_raw")}
	f.outputs = []string{"raw", "p", "d"}
	outs, err := f.run(t, rows)
	if err != nil {
		t.Fatal(err)
	}
	raw := decode(dtype.Float64, outs[0].Data)
	near(t, "raw", raw, []float64{1.5, 2.5, 2.5, 3.5, 1.5, 3.5}, 0)
	p := decode(dtype.Float64, outs[1].Data)
	e := math.Exp(-1)
	near(t, "softmax", p, []float64{e / (1 + e), 1 / (1 + e), e / (1 + e), 1 / (1 + e), math.Exp(-2) / (1 + math.Exp(-2)), 1 / (1 + math.Exp(-2))}, 1e-15)
	if d := outs[2].Data; d[0] != 1 || d[8] != 1 || d[16] != 1 {
		t.Fatalf("decision %v", decode(dtype.Int64, d))
	}

	// Mean over trees, float32 accumulation.
	f = twoTrees()
	f.targets = []float64{0, 0}
	f.k = 1
	f.attrs = []graph.Attr{strAttr("aggregate", "mean"), strAttr("accumulate", "float32"),
		strAttr("post_transform", "logistic"), {Name: "post_scale", Type: graph.AttrFloat, Float: 2}, strAttr("decision", "gt0")}
	f.outputs = []string{"raw", "p", "d"}
	outs, err = f.run(t, rows)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].DType != dtype.Float32 {
		t.Fatalf("raw is %v, want float32", outs[0].DType)
	}
	near(t, "mean", decode(dtype.Float32, outs[0].Data), []float64{2, 3, 2.5}, 0)
	near(t, "logistic", decode(dtype.Float32, outs[1].Data), []float64{1 / (1 + math.Exp(-4)), 1 / (1 + math.Exp(-6)), 1 / (1 + math.Exp(-5))}, 1e-7)

	// IsolationForest's score: -(2 ** -(depths / denominator)).
	f = twoTrees()
	f.targets, f.k = []float64{0, 0}, 1
	f.attrs = []graph.Attr{strAttr("post_transform", "isolation"), {Name: "post_scale", Type: graph.AttrFloat, Float: 8}}
	f.outputs = []string{"r", "s"}
	outs, err = f.run(t, rows[:1])
	if err != nil {
		t.Fatal(err)
	}
	near(t, "isolation", decode(dtype.Float64, outs[1].Data), []float64{-math.Pow(2, -4.0/8)}, 1e-15)
}

func TestTreeMalformed(t *testing.T) {
	cases := []struct {
		name string
		edit func(f *forest)
		code errs.Code
	}{
		{"child before parent", func(f *forest) { f.left[3] = 0 }, errs.GraphTree},
		{"child is itself", func(f *forest) { f.right[0] = 0 }, errs.GraphTree},
		{"child out of range", func(f *forest) { f.right[3] = 6 }, errs.GraphTree},
		{"shared node", func(f *forest) { f.right[3] = 2 }, errs.GraphTree},
		{"root out of range", func(f *forest) { f.roots[1] = 9 }, errs.GraphTree},
		{"root shared", func(f *forest) { f.roots[1] = 0 }, errs.GraphTree},
		{"leaf row out of range", func(f *forest) { f.left[5] = 4 }, errs.GraphTree},
		{"negative leaf row", func(f *forest) { f.left[5] = -1 }, errs.GraphTree},
		{"leaf with right child", func(f *forest) { f.right[5] = 4 }, errs.GraphTree},
		{"negative feature", func(f *forest) { f.feature[0] = -2 }, errs.GraphTree},
		{"feature past X", func(f *forest) { f.feature[0] = 7 }, errs.Shape},
		{"NaN threshold", func(f *forest) { f.threshold[0] = math.NaN() }, errs.GraphTree},
		{"unknown missing kind", func(f *forest) { f.flags[0] = 6 }, errs.GraphTree},
		{"categorical flags on numeric", func(f *forest) { f.flags[0] = graph.TreeInSetRight }, errs.GraphTree},
		{"categorical without bitsets", func(f *forest) { f.flags[0] = graph.TreeCategorical }, errs.GraphTree},
		{"leaf with flags", func(f *forest) { f.flags[1] = 1 }, errs.GraphTree},
		{"target out of range", func(f *forest) { f.targets[1] = 2 }, errs.GraphTree},
		{"target negative", func(f *forest) { f.targets[0] = -1 }, errs.GraphTree},
		{"array lengths differ", func(f *forest) { f.threshold = f.threshold[:5] }, errs.GraphTree},
		{"bitset past the arena", func(f *forest) {
			f.flags[0] = graph.TreeCategorical
			f.catOff, f.catBits = []float64{0, 5, 5, 5, 5, 5, 5}, []float64{1, 2}
		}, errs.GraphTree},
		{"bitset offsets backwards", func(f *forest) {
			f.flags[0] = graph.TreeCategorical
			f.catOff, f.catBits = []float64{1, 0, 0, 0, 0, 0, 0}, []float64{1, 2}
		}, errs.GraphTree},
		{"cat offsets too short", func(f *forest) {
			f.catOff, f.catBits = []float64{0, 0}, []float64{1}
		}, errs.GraphTree},
	}
	for _, c := range cases {
		f := twoTrees()
		c.edit(f)
		_, err := f.run(t, [][]float64{{0, 0}})
		if errs.CodeOf(err) != c.code {
			t.Errorf("%s: got %v, want %v", c.name, err, c.code)
		}
	}
}

// A chain deeper than MaxTreeDepth is refused; one at the limit runs.
func TestTreeDepthLimit(t *testing.T) {
	for _, depth := range []int{MaxTreeDepth, MaxTreeDepth + 1} {
		f := chain(depth)
		_, err := f.run(t, [][]float64{{1}})
		want := errs.OK
		if depth > MaxTreeDepth {
			want = errs.GraphTree
		}
		if errs.CodeOf(err) != want {
			t.Fatalf("depth %d: %v, want %v", depth, err, want)
		}
	}
}

// chain is a tree whose every left child is a leaf: depth internal nodes.
func chain(depth int) *forest {
	f := &forest{w: 1, k: 1, roots: []float64{0}, targets: []float64{0}}
	for i := 0; i < depth; i++ {
		// node 2i: split, 2i+1: leaf i, 2i+2: next split (or the last leaf)
		f.feature = append(f.feature, 0, -1)
		f.threshold = append(f.threshold, -float64(i), 0)
		f.left = append(f.left, float64(2*i+1), float64(i))
		f.right = append(f.right, float64(2*i+2), -1)
		f.flags = append(f.flags, 0, 0)
		f.leaves = append(f.leaves, float64(i))
	}
	f.feature = append(f.feature, -1)
	f.threshold = append(f.threshold, 0)
	f.left = append(f.left, float64(depth))
	f.right = append(f.right, -1)
	f.flags = append(f.flags, 0)
	f.leaves = append(f.leaves, float64(depth))
	return f
}

// Row-by-row walks (deep trees), lockstep walks and the tree-parallel
// schedule (few rows, many trees) agree with the reference interpreter.
func TestTreeSchedulesAgree(t *testing.T) {
	rows := make([][]float64, 300)
	for i := range rows {
		rows[i] = []float64{-float64(i%40) + 0.5, math.Sin(float64(i))}
	}
	for _, depth := range []int{3, 30} {
		f := chain(depth)
		// 120 copies of the chain, summed.
		one := *f
		for c := 1; c < 120; c++ {
			off := float64(len(f.feature))
			loff := float64(len(f.leaves))
			for i := range one.feature {
				f.feature = append(f.feature, one.feature[i])
				f.threshold = append(f.threshold, one.threshold[i]-float64(c)/7)
				f.flags = append(f.flags, 0)
				if one.feature[i] < 0 {
					f.left = append(f.left, one.left[i]+loff)
					f.right = append(f.right, -1)
				} else {
					f.left = append(f.left, one.left[i]+off)
					f.right = append(f.right, one.right[i]+off)
				}
			}
			for _, v := range one.leaves {
				f.leaves = append(f.leaves, v*float64(c+1))
			}
			f.roots = append(f.roots, off)
			f.targets = append(f.targets, 0)
		}
		for _, n := range []int{1, 3, 70, 300} {
			for _, threads := range []int{1, 2} {
				f.threads = threads
				outs, err := f.run(t, rows[:n])
				if err != nil {
					t.Fatal(err)
				}
				want := reference(f, rows[:n])
				near(t, "trees", decode(dtype.Float64, outs[0].Data), want, 0)
			}
		}
	}
}

// TestTreeWideInput runs 70 trees reading 560 different columns of a
// 600-column X: walked rows hold only the columns read, and blocks shrink
// (kernels.Forest.BlockRows) so that one stays within its byte bound.
func TestTreeWideInput(t *testing.T) {
	const trees, depth, width = 70, 8, 600
	f := &forest{w: 1, k: 1, width: width}
	for tr := range trees {
		base := float64(len(f.feature))
		f.roots = append(f.roots, base)
		f.targets = append(f.targets, 0)
		for d := range depth { // internal node, then its left leaf
			at := float64(len(f.feature))
			next := at + 2 // the next internal node, or (last level) a second leaf
			f.feature = append(f.feature, float64(width-1-(tr*depth+d)))
			f.threshold = append(f.threshold, float64(d%3)-1)
			f.left, f.right = append(f.left, at+1), append(f.right, next)
			f.flags = append(f.flags, float64((tr+d)%2)*graph.TreeDefaultLeft)
			f.feature = append(f.feature, -1)
			f.threshold = append(f.threshold, 0)
			f.left, f.right = append(f.left, float64(len(f.leaves))), append(f.right, -1)
			f.flags = append(f.flags, 0)
			f.leaves = append(f.leaves, float64(tr*100+d))
			if d == depth-1 {
				f.feature = append(f.feature, -1)
				f.threshold = append(f.threshold, 0)
				f.left, f.right = append(f.left, float64(len(f.leaves))), append(f.right, -1)
				f.flags = append(f.flags, 0)
				f.leaves = append(f.leaves, float64(tr*100+99))
			}
		}
	}
	rows := make([][]float64, 300)
	for i := range rows {
		rows[i] = make([]float64, width)
		for j := range rows[i] {
			rows[i][j] = math.Sin(float64(i*width+j)) * 2
			if (i+j)%23 == 0 {
				rows[i][j] = math.NaN()
			}
		}
	}
	for _, n := range []int{1, 9, 300} {
		for _, threads := range []int{1, 2} {
			f.threads = threads
			outs, err := f.run(t, rows[:n])
			if err != nil {
				t.Fatal(err)
			}
			near(t, "wide trees", decode(dtype.Float64, outs[0].Data), reference(f, rows[:n]), 0)
		}
	}
}

// reference evaluates a forest straight from the op's specification.
func reference(f *forest, rows [][]float64) []float64 {
	out := make([]float64, 0, len(rows)*f.k)
	for _, x := range rows {
		acc := make([]float64, f.k)
		for t, r := range f.roots {
			i := int(r)
			for f.feature[i] >= 0 {
				i = int(refChild(f, i, x[int(f.feature[i])]))
			}
			row := int(f.left[i])
			for j := 0; j < f.w; j++ {
				acc[int(f.targets[t])+j] += f.leaves[row*f.w+j]
			}
		}
		out = append(out, acc...)
	}
	return out
}

func refChild(f *forest, i int, x float64) float64 {
	fl := int(f.flags[i])
	def := f.right[i]
	if fl&graph.TreeDefaultLeft != 0 {
		def = f.left[i]
	}
	goLeft := func(l bool) float64 {
		if l {
			return f.left[i]
		}
		return f.right[i]
	}
	if fl&graph.TreeCategorical != 0 {
		inSet := func(l bool) bool { return l != (fl&graph.TreeInSetRight != 0) }
		if math.IsNaN(x) {
			return def
		}
		c := math.Trunc(x)
		neg := x < 0
		if fl&graph.TreeTruncFirst != 0 {
			neg = c < 0
		}
		bits := f.catBits[int(f.catOff[i]):int(f.catOff[i+1])]
		if neg || c >= float64(8*len(bits)) || (fl&graph.TreeInvalidMissing != 0 && c != x) {
			if fl&graph.TreeInvalidMissing != 0 {
				return def
			}
			return goLeft(inSet(false))
		}
		ci := int(c)
		return goLeft(inSet(int(bits[ci/8])>>(ci%8)&1 == 1))
	}
	switch fl & graph.TreeMissingMask {
	case graph.TreeMissingNaN:
		if math.IsNaN(x) {
			return def
		}
	case graph.TreeMissingZero:
		if math.IsNaN(x) || math.Abs(x) <= float64(float32(1e-35)) {
			return def
		}
	case graph.TreeMissingNone:
		if math.IsNaN(x) {
			x = 0
		}
	}
	if fl&graph.TreeStrict != 0 {
		return goLeft(x < f.threshold[i])
	}
	return goLeft(x <= f.threshold[i])
}

// FuzzTreeEnsemble decodes bytes into node arrays (any flags, children,
// features, bitsets) and runs them: the engine must refuse the array with
// MLE_ERR_GRAPH_TREE or MLE_ERR_SHAPE, or give the reference
// interpreter's answer — never crash, hang or read out of bounds.
func FuzzTreeEnsemble(f *testing.F) {
	paths, _ := filepath.Glob("../../tests/fuzz/trees/*.bin")
	if len(paths) == 0 {
		f.Fatal("no seeds in tests/fuzz/trees")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	few := [][]float64{{0, 0.5, -1}, {math.NaN(), 3, 1e-36}, {-0.5, 255, 1e300}, {2, -3, math.Inf(1)}}
	// 8 rows or more walk as a block, 8 in lockstep, the rest one by one.
	vals := []float64{0, 0.5, -1, math.NaN(), 3, 1e-36, -0.5, 255, math.Inf(-1)}
	var many [][]float64
	for r := range 21 {
		many = append(many, []float64{vals[r%9], vals[(r/3)%9], vals[(r*5+1)%9]})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := decodeForest(data)
		for _, rows := range [][][]float64{few, many} {
			outs, err := fr.run(t, rows)
			switch errs.CodeOf(err) {
			case errs.GraphTree, errs.Shape:
				return
			case errs.OK:
			default:
				t.Fatalf("%v", err)
			}
			near(t, "fuzzed trees", decode(dtype.Float64, outs[0].Data), reference(fr, rows), 0)
		}
	})
}

// decodeForest: 1-24 nodes whose fields come from the bytes (children as
// small signed offsets from the node, so most are near-valid), 1-3 roots,
// an optional bitset arena.
func decodeForest(data []byte) *forest {
	r := &byteReader{data}
	n := 1 + r.next()%24
	fr := &forest{w: 1, k: 2}
	for i := 0; i < n; i++ {
		leaf := r.next()%3 == 0
		if leaf {
			fr.feature = append(fr.feature, -1)
			fr.left = append(fr.left, float64(r.next()%5)-1)
			fr.right = append(fr.right, -1)
			fr.flags = append(fr.flags, 0)
		} else {
			fr.feature = append(fr.feature, float64(r.next()%4)-float64(r.next()%2))
			fr.left = append(fr.left, float64(i+int(int8(r.next()))%6))
			fr.right = append(fr.right, float64(i+int(int8(r.next()))%6))
			fr.flags = append(fr.flags, float64(r.next()))
		}
		thresholds := []float64{0, 0.5, -1, 3, math.Inf(1), math.Inf(-1), 1e-36, math.NaN(), 255}
		fr.threshold = append(fr.threshold, thresholds[r.next()%len(thresholds)])
	}
	for i := 0; i < 4; i++ {
		fr.leaves = append(fr.leaves, float64(i+1))
	}
	for i := 1 + r.next()%3; i > 0; i-- {
		fr.roots = append(fr.roots, float64(r.next()%(n+1)))
		fr.targets = append(fr.targets, float64(r.next()%3))
	}
	if r.next()%2 == 0 {
		fr.catOff = []float64{0}
		for i := 0; i < n; i++ {
			fr.catOff = append(fr.catOff, fr.catOff[i]+float64(int(r.next()%4)-1))
		}
		for i := 0; i < 6; i++ {
			fr.catBits = append(fr.catBits, float64(r.next()))
		}
	}
	return fr
}

type byteReader struct{ b []byte }

func (r *byteReader) next() int {
	if len(r.b) == 0 {
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}
