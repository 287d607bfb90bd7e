package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// testTree is a fitted tree as an exporter stores it.
type testTree struct {
	kind   string
	idx    []float64 // [M]
	nodes  []float64 // [n,3]
	bounds []float64 // [n,b]
	b      int
}

// A hand-made tree over the 1-D rows 0 1 2 1 | 1 5 6 7: the left leaf
// holds rows 4 3 0 2 (values 2 1 0 1) in that order, the right one rows
// 1 5 6 7. Brute force meets the tied rows in index order, this tree in
// its leaves' order.
var tieTrain = []float64{0, 1, 1, 1, 2, 5, 6, 7}

func tieTree(kind string) *testTree {
	t := &testTree{kind: kind, idx: []float64{4, 3, 0, 2, 1, 5, 6, 7}, nodes: []float64{0, 8, 0, 0, 4, 1, 4, 8, 1}}
	if kind == "kd_tree" {
		t.b, t.bounds = 2, []float64{0, 7, 0, 2, 1, 7} // lower, upper per node
	} else {
		t.b, t.bounds = 2, []float64{23. / 8, 33. / 8, 1, 1, 4.75, 3.75} // centroid, radius per node
	}
	return t
}

// runSearch runs op on x [n,f] with train [m,f], an optional table
// (labels or targets) and an optional tree.
func runSearch(t *testing.T, op string, attrs []graph.Attr, x []float64, n, f int, train []float64, table *tconst, tree *testTree, outs []string, thr int) ([]Tensor, error) {
	t.Helper()
	m := len(train) / f
	ins := []tin{{name: "X", dt: dtype.Float64, sig: []int64{-1, int64(f)}, shape: []int64{int64(n), int64(f)}, values: x}}
	consts := []tconst{{"train", dtype.Float64, []int64{int64(m), int64(f)}, train}}
	inputs := []string{"X", "train"}
	if table != nil {
		consts = append(consts, *table)
		inputs = append(inputs, table.name)
	}
	if tree != nil {
		consts = append(consts, tconst{"tidx", dtype.Int64, []int64{int64(len(tree.idx))}, tree.idx},
			tconst{"tnodes", dtype.Int64, []int64{int64(len(tree.nodes) / 3), 3}, tree.nodes},
			tconst{"tbounds", dtype.Float64, []int64{int64(len(tree.bounds) / tree.b), int64(tree.b)}, tree.bounds})
		inputs = append(inputs, "tidx", "tnodes", "tbounds")
		attrs = append(attrs, strAttr("tree", tree.kind))
	}
	mod := buildModel(t, ins, consts, []graph.Node{{Op: op, Inputs: inputs, Outputs: outs, Attrs: attrs}}, outs, Options{Threads: thr})
	return runModel(t, mod, inputsOf(ins))
}

func ints(v []float64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func knnAttrs(metric string, k int, radius float64) []graph.Attr {
	return []graph.Attr{{Name: "k", Type: graph.AttrInt, Int: int64(k)}, strAttr("metric", metric),
		{Name: "radius", Type: graph.AttrFloat, Float: radius}}
}

// Ties at the k-th distance are kept and ordered as the tree's query meets
// them: here the first leaf's rows 3 and 2 (both at distance 0), where
// brute force keeps rows 2 and 1.
func TestKNearestTreeTies(t *testing.T) {
	for _, tree := range []*testTree{nil, tieTree("kd_tree"), tieTree("ball_tree")} {
		outs, err := runSearch(t, "KNearest", knnAttrs("euclidean", 2, 0), []float64{1, 6.2}, 2, 1, tieTrain, nil, tree, []string{"D", "I"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{2, 3, 6, 7} // row 6.2: rows 6 then 7, the right leaf visited first
		if tree == nil {
			want = []int64{2, 1, 6, 7}
		}
		if got := ints(decode(dtype.Int64, outs[1].Data)); !slices.Equal(got, want) {
			t.Fatalf("tree %v: indices %v, want %v", tree, got, want)
		}
		near(t, "distances", decode(dtype.Float64, outs[0].Data), []float64{0, 0, 0.2, 0.8}, 1e-15)
	}
}

// fitBounds sets the bounds of a 1-D tree over train (in one dimension
// every metric is |x − y|).
func (tr *testTree) fitBounds(train []float64) *testTree {
	for i := 0; i < len(tr.nodes)/3; i++ {
		rows := tr.idx[int(tr.nodes[3*i]):int(tr.nodes[3*i+1])]
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for _, j := range rows {
			v := train[int(j)]
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		if tr.kind == "kd_tree" {
			tr.bounds[2*i], tr.bounds[2*i+1] = lo, hi
		} else {
			c := sum / float64(len(rows))
			tr.bounds[2*i], tr.bounds[2*i+1] = c, max(c-lo, hi-c)
		}
	}
	return tr
}

// A tree query finds the same rows as brute force when no distances tie.
func TestKNearestTreeMatchesBrute(t *testing.T) {
	train := []float64{0.1, 3.3, 0.9, 6.1, 1.7, 5.2, 2.05, 7.4}
	x := seq(12, 0.4)
	for i := range x {
		x[i] *= 3
	}
	for _, metric := range []string{"euclidean", "manhattan", "chebyshev", "minkowski"} {
		attrs := append(knnAttrs(metric, 3, 0), graph.Attr{Name: "p", Type: graph.AttrFloat, Float: 3})
		brute, err := runSearch(t, "KNearest", attrs, x, 12, 1, train, nil, nil, []string{"D", "I"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"kd_tree", "ball_tree"} {
			tree := tieTree(kind).fitBounds(train)
			got, err := runSearch(t, "KNearest", slices.Clone(attrs), x, 12, 1, train, nil, tree, []string{"D", "I"}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[1].Data, brute[1].Data) || !slices.Equal(got[0].Data, brute[0].Data) {
				t.Fatalf("%s %s: %v %v, brute %v %v", metric, kind, decode(dtype.Int64, got[1].Data), decode(dtype.Float64, got[0].Data),
					decode(dtype.Int64, brute[1].Data), decode(dtype.Float64, brute[0].Data))
			}
		}
	}
}

// A radius query lists rows in the tree's order; a node wholly within the
// radius gives all its rows.
func TestKNearestTreeRadius(t *testing.T) {
	for _, c := range []struct {
		tree *testTree
		want []int64
	}{{nil, []int64{0, 1, 2, 3, 4, -1, -1, -1}}, {tieTree("kd_tree"), []int64{4, 3, 0, 2, 1, -1, -1, -1}},
		{tieTree("ball_tree"), []int64{4, 3, 0, 2, 1, -1, -1, -1}}} {
		outs, err := runSearch(t, "KNearest", knnAttrs("euclidean", 8, 1), []float64{1}, 1, 1, tieTrain, nil, c.tree, []string{"D", "I"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := ints(decode(dtype.Int64, outs[1].Data)); !slices.Equal(got, c.want) {
			t.Fatalf("tree %v: %v, want %v", c.tree, got, c.want)
		}
		_, err = runSearch(t, "KNearest", knnAttrs("euclidean", 4, 1), []float64{1}, 1, 1, tieTrain, nil, c.tree, []string{"D", "I"}, 0)
		wantCode(t, err, errs.InvalidValue)
	}
}

func TestNeighborTreeChecks(t *testing.T) {
	for name, mutate := range map[string]func(*testTree){
		"not a permutation":   func(tr *testTree) { tr.idx[1] = 4 },
		"index out of range":  func(tr *testTree) { tr.idx[1] = 8 },
		"root not all rows":   func(tr *testTree) { tr.nodes[1] = 7 },
		"children off splits": func(tr *testTree) { tr.nodes[4] = 3 },
		"leaf flag":           func(tr *testTree) { tr.nodes[5] = 2 },
		"children missing":    func(tr *testTree) { tr.nodes[5] = 0 },
	} {
		tree := tieTree("kd_tree")
		mutate(tree)
		_, err := runSearch(t, "KNearest", knnAttrs("euclidean", 2, 0), []float64{1}, 1, 1, tieTrain, nil, tree, []string{"D", "I"}, 0)
		if errs.CodeOf(err) != errs.GraphTree {
			t.Fatalf("%s: got %v, want %v", name, err, errs.GraphTree)
		}
	}
}

func radiusAttrs(metric, weights string, radius float64, extra ...graph.Attr) []graph.Attr {
	return append([]graph.Attr{strAttr("metric", metric), strAttr("weights", weights),
		{Name: "radius", Type: graph.AttrFloat, Float: radius}}, extra...)
}

func intA(name string, v int64) graph.Attr {
	return graph.Attr{Name: name, Type: graph.AttrInt, Int: v}
}

func TestRadiusNeighborsClassify(t *testing.T) {
	train := []float64{0, 1, 2, 3, 10}
	labels := &tconst{"L", dtype.Int64, []int64{5}, []float64{0, 1, 1, 0, 2}}
	x := []float64{1.5, 0.5, 20}
	run := func(weights string, outlier, zero int64) ([]float64, []float64, error) {
		outs, err := runSearch(t, "RadiusNeighborsClassify", radiusAttrs("euclidean", weights, 1, intA("n_classes", 3),
			intA("outlier", outlier), intA("zero_class", zero)), x, 3, 1, train, labels, nil, []string{"P", "C"}, 0)
		if err != nil {
			return nil, nil, err
		}
		return decode(dtype.Float64, outs[0].Data), decode(dtype.Int64, outs[1].Data), nil
	}
	_, _, err := run("uniform", -1, 0)
	wantCode(t, err, errs.InvalidValue)
	// no rows; no training rows (every row an outlier)
	outs, err := runSearch(t, "RadiusNeighborsClassify", radiusAttrs("euclidean", "uniform", 1, intA("n_classes", 3)),
		nil, 0, 1, train, labels, nil, []string{"P", "C"}, 0)
	if err != nil || len(outs[0].Data) != 0 {
		t.Fatal(outs, err)
	}
	outs, err = runSearch(t, "RadiusNeighborsClassify", radiusAttrs("euclidean", "uniform", 1, intA("n_classes", 3), intA("outlier", 1)),
		[]float64{0}, 1, 1, []float64{}, &tconst{"L", dtype.Int64, []int64{0}, nil}, nil, []string{"P", "C"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "no training rows", decode(dtype.Float64, outs[0].Data), []float64{0, 1, 0}, 0)
	// row 0: rows 1, 2 (class 1); row 1: rows 0, 1 at 0.5 each (a tie: the
	// first class); row 2: none.
	for _, c := range []struct {
		w             string
		outlier, zero int64
		proba, class  []float64
	}{
		{"uniform", 0, 0, []float64{0, 1, 0, .5, .5, 0, 1, 0, 0}, []float64{1, 0, 0}},
		{"distance", 2, 0, []float64{0, 1, 0, .5, .5, 0, 0, 0, 1}, []float64{1, 0, 2}},
		{"uniform", 3, 3, []float64{0, 1, 0, .5, .5, 0, 0, 0, 0}, []float64{1, 0, 3}},
		{"uniform", 3, 1, []float64{0, 1, 0, .5, .5, 0, 0, 0, 0}, []float64{1, 0, 1}},
	} {
		p, cl, err := run(c.w, c.outlier, c.zero)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "proba", p, c.proba, 0)
		near(t, "class", cl, c.class, 0)
	}
}

// The fused op equals the radius search followed by the vote, on rows with
// many neighbours, in parallel.
func TestRadiusNeighborsClassifyMatchesComposition(t *testing.T) {
	const n, m, f = 40, 90, 3
	x, train := seq(n*f, 0.3), seq(m*f, 1.9)
	lab := make([]float64, m)
	for i := range lab {
		lab[i] = float64(i % 4)
	}
	for _, c := range []struct {
		metric, weights string
		expand          int64
	}{{"euclidean", "uniform", 1}, {"euclidean", "distance", 0}, {"manhattan", "distance", 0}, {"chebyshev", "uniform", 0}} {
		ex := intA("expand", c.expand)
		outs, err := runSearch(t, "RadiusNeighborsClassify", radiusAttrs(c.metric, c.weights, 2, intA("n_classes", 4), intA("outlier", 4), ex),
			x, n, f, train, &tconst{"L", dtype.Int64, []int64{m}, lab}, nil, []string{"P", "C"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := runSearch(t, "KNearest", append(knnAttrs(c.metric, m, 2), ex), x, n, f, train, nil, nil, []string{"D", "I"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := vote(t, "NeighborsClassify", []graph.Attr{intA("n_classes", 4), strAttr("weights", c.weights), intA("outlier", 4), intA("argmax", 1)},
			decode(dtype.Float64, nb[0].Data), ints(decode(dtype.Int64, nb[1].Data)), n, m, lab, []int64{m}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(outs[0].Data, ref[0].Data) || !slices.Equal(outs[1].Data, ref[1].Data) {
			t.Fatalf("%+v: fused %v, composed %v", c, decode(dtype.Int64, outs[1].Data), decode(dtype.Int64, ref[1].Data))
		}
	}
}

func TestRadiusNeighborsRegress(t *testing.T) {
	train := []float64{0, 1, 2, 3, 10}
	y := &tconst{"T", dtype.Float64, []int64{5, 2}, []float64{1, 10, 2, 20, 3, 30, 4, 40, 5, 50}}
	x := []float64{1.5, 0, 20}
	for _, c := range []struct {
		w     string
		extra []graph.Attr
		want  []float64
	}{
		{"uniform", nil, []float64{2.5, 25, 1.5, 15, math.NaN(), math.NaN()}},
		{"distance", []graph.Attr{intA("empty_nan", 0), {Name: "empty_value", Type: graph.AttrFloat, Float: -7}},
			[]float64{2.5, 25, 1, 10, -7, -7}}, // row 1 is on row 0: weight 1 for it, 0 for row 1
	} {
		outs, err := runSearch(t, "RadiusNeighborsRegress", radiusAttrs("euclidean", c.w, 1, c.extra...), x, 3, 1, train, y, nil, []string{"Y"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		near(t, c.w, decode(dtype.Float64, outs[0].Data), c.want, 1e-15)
	}
	// One target, uniform: numpy's pairwise sum, or with sum_block its
	// buffered sum (here blocks of 3: (1e16+1+1) + (−1e16+1) = 0, where
	// one pairwise sum of five gives 1).
	y1 := &tconst{"T", dtype.Float64, []int64{5, 1}, []float64{1e16, 1, 1, -1e16, 1}}
	for block, want := range map[int64]float64{0: 1. / 5, 3: 0} {
		outs, err := runSearch(t, "RadiusNeighborsRegress", radiusAttrs("euclidean", "uniform", 100, intA("sum_block", block)),
			[]float64{0}, 1, 1, train, y1, nil, []string{"Y"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "block", decode(dtype.Float64, outs[0].Data), []float64{want}, 0)
	}
	// with a tree, the neighbours come in the tree's order
	yt := &tconst{"T", dtype.Float64, []int64{8, 1}, seq(8, 0.1)}
	outs, err := runSearch(t, "RadiusNeighborsRegress", radiusAttrs("euclidean", "uniform", 1), []float64{1}, 1, 1, tieTrain, yt, tieTree("kd_tree"), []string{"Y"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	v := yt.values
	near(t, "tree order", decode(dtype.Float64, outs[0].Data), []float64{((((v[4] + v[3]) + v[0]) + v[2]) + v[1]) / 5}, 0)
}

func TestRadiusChunkBudget(t *testing.T) {
	rc := splitWork(10000, 1<<20, 2, 16)
	if rc.count < 2 {
		t.Fatalf("expected several chunks, got %d", rc.count)
	}
	for _, per := range []int{1 << 10, nbRadiusBudget / 3, nbRadiusBudget, 4 * nbRadiusBudget} {
		c := nbCapChunks(rc, per)
		if c.count < 1 || (c.count > 1 && c.count*per > nbRadiusBudget) {
			t.Fatalf("%d bytes per chunk: %d chunks", per, c.count)
		}
		if lo, hi := c.bounds(c.count - 1); hi != 10000 || lo >= hi {
			t.Fatalf("chunks do not cover the rows: last %d..%d", lo, hi)
		}
	}
}

// Sessions share the compiled tree: concurrent runs agree (and -race finds
// no writes to it).
func TestNeighborTreeConcurrentRuns(t *testing.T) {
	tree := tieTree("ball_tree")
	ins := []tin{{name: "X", dt: dtype.Float64, sig: []int64{-1, 1}, shape: []int64{3, 1}, values: []float64{1, 6.2, 3}}}
	consts := []tconst{{"train", dtype.Float64, []int64{8, 1}, tieTrain},
		{"L", dtype.Int64, []int64{8}, []float64{0, 1, 1, 0, 2, 2, 1, 0}},
		{"tidx", dtype.Int64, []int64{8}, tree.idx}, {"tnodes", dtype.Int64, []int64{3, 3}, tree.nodes},
		{"tbounds", dtype.Float64, []int64{3, 2}, tree.bounds}}
	node := graph.Node{Op: "RadiusNeighborsClassify", Inputs: []string{"X", "train", "L", "tidx", "tnodes", "tbounds"},
		Outputs: []string{"P", "C"}, Attrs: radiusAttrs("euclidean", "distance", 1.5, intA("n_classes", 3), intA("outlier", 3),
			strAttr("tree", "ball_tree"))}
	mod := buildModel(t, ins, consts, []graph.Node{node}, []string{"P", "C"}, Options{})
	want, err := runModel(t, mod, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			for range 20 {
				outs := make([]Tensor, 2)
				if err := mod.Run(inputsOf(ins), outs, nil, RunOptions{}, heapAlloc); err != nil {
					errc <- err
					return
				}
				if !slices.Equal(outs[0].Data, want[0].Data) || !slices.Equal(outs[1].Data, want[1].Data) {
					errc <- errs.New(errs.InvalidValue, "a concurrent run differs")
					return
				}
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
