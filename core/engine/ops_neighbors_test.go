package engine

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

type knnCase struct {
	metric string
	p      float64
	expand int64
	k      int
	radius float64
	x32    bool
	thr    int
	auto   int64
}

func (c knnCase) attrs() []graph.Attr {
	return []graph.Attr{{Name: "k", Type: graph.AttrInt, Int: int64(c.k)}, strAttr("metric", c.metric),
		{Name: "p", Type: graph.AttrFloat, Float: c.p}, {Name: "expand", Type: graph.AttrInt, Int: c.expand},
		{Name: "radius", Type: graph.AttrFloat, Float: c.radius}, {Name: "auto", Type: graph.AttrInt, Int: c.auto}}
}

// runKNearest runs KNearest on x [n,f] against train [m,f].
func runKNearest(t *testing.T, c knnCase, x []float64, n int, train []float64, m, f int) ([]float64, []int64, error) {
	t.Helper()
	dt := dtype.Float64
	if c.x32 {
		dt = dtype.Float32
	}
	ins := []tin{{name: "X", dt: dt, sig: []int64{-1, int64(f)}, shape: []int64{int64(n), int64(f)}, values: x}}
	mod := buildModel(t, ins, []tconst{{"train", dtype.Float64, []int64{int64(m), int64(f)}, train}},
		[]graph.Node{{Op: "KNearest", Inputs: []string{"X", "train"}, Outputs: []string{"D", "I"}, Attrs: c.attrs()}},
		[]string{"D", "I"}, Options{Threads: c.thr})
	outs, err := runModel(t, mod, inputsOf(ins))
	if err != nil {
		return nil, nil, err
	}
	idx := decode(dtype.Int64, outs[1].Data)
	ii := make([]int64, len(idx))
	for i, v := range idx {
		ii[i] = int64(v)
	}
	return decode(dtype.Float64, outs[0].Data), ii, nil
}

// refDist is the plain definition of each metric.
func refDist(metric string, p float64, a, b []float64) float64 {
	s := 0.0
	switch metric {
	case "euclidean":
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return math.Sqrt(s)
	case "manhattan":
		for i := range a {
			s += math.Abs(a[i] - b[i])
		}
		return s
	case "chebyshev":
		for i := range a {
			s = math.Max(s, math.Abs(a[i]-b[i]))
		}
		return s
	case "minkowski":
		for i := range a {
			s += math.Pow(math.Abs(a[i]-b[i]), p)
		}
		return math.Pow(s, 1/p)
	}
	na, nb, dot := 0.0, 0.0, 0.0
	for i := range a {
		na += a[i] * a[i]
		nb += b[i] * b[i]
		dot += a[i] * b[i]
	}
	return 1 - dot/math.Sqrt(na*nb)
}

func normalizeRows(v []float64, f int) []float64 {
	out := slices.Clone(v)
	for r := 0; r < len(v)/f; r++ {
		row := out[r*f : (r+1)*f]
		s := 0.0
		for _, x := range row {
			s += x * x
		}
		for i := range row {
			row[i] /= math.Sqrt(s)
		}
	}
	return out
}

func TestKNearestMatchesReference(t *testing.T) {
	const n, m, f = 9, 60, 5
	x, train := seq(n*f, 0.3), seq(m*f, 1.9)
	for i := range train {
		train[i] *= 1 + 0.01*float64(i%7) // no exact ties
	}
	for _, c := range []knnCase{
		{metric: "euclidean", k: 1}, {metric: "euclidean", k: 7, expand: 1}, {metric: "euclidean", k: 40, thr: 2},
		{metric: "manhattan", k: 5}, {metric: "chebyshev", k: 3, x32: true}, {metric: "minkowski", p: 3, k: 17},
		{metric: "minkowski", p: 0.5, k: 4}, {metric: "cosine", k: 6}, {metric: "euclidean", k: 60, x32: true, thr: 2},
	} {
		xin := x
		if c.x32 {
			xin = make([]float64, len(x))
			for i, v := range x {
				xin[i] = float64(float32(v))
			}
		}
		tr := train
		if c.metric == "cosine" {
			tr = normalizeRows(train, f)
		}
		d, idx, err := runKNearest(t, c, xin, n, tr, m, f)
		if err != nil {
			t.Fatal(c, err)
		}
		for r := 0; r < n; r++ {
			order := make([]int, m)
			ref := make([]float64, m)
			for j := range order {
				order[j] = j
				ref[j] = refDist(c.metric, c.p, xin[r*f:(r+1)*f], train[j*f:(j+1)*f])
			}
			sort.SliceStable(order, func(a, b int) bool { return ref[order[a]] < ref[order[b]] })
			for i := 0; i < c.k; i++ {
				if int(idx[r*c.k+i]) != order[i] {
					t.Fatalf("%+v row %d: indices %v, want %v", c, r, idx[r*c.k:(r+1)*c.k], order[:c.k])
				}
				if g, w := d[r*c.k+i], ref[order[i]]; math.Abs(g-w) > 1e-12*math.Max(1, w) {
					t.Fatalf("%+v row %d: distance %d = %v, want %v", c, r, i, g, w)
				}
			}
		}
	}
}

// The heap keeps what scikit-learn's heap keeps among equal distances, and
// its sort leaves them in scikit-learn's order.
func TestKNearestTies(t *testing.T) {
	// scikit-learn 1.9's ArgKmin on these rows: parallel_on_X, then "auto"
	// (parallel_on_Y) for one query.
	train := []float64{0, 1, 1, 1, 2}
	for _, c := range []struct {
		k    int
		auto int64
		want []int64
	}{{1, 0, []int64{1}}, {2, 0, []int64{2, 1}}, {3, 0, []int64{3, 2, 1}}, {4, 0, []int64{3, 2, 1, 0}},
		{1, 1, []int64{1}}, {2, 1, []int64{1, 2}}, {3, 1, []int64{1, 3, 2}}, {4, 1, []int64{1, 2, 3, 0}}} {
		_, idx, err := runKNearest(t, knnCase{metric: "euclidean", k: c.k, auto: c.auto}, []float64{1}, 1, train, 5, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(idx, c.want) {
			t.Fatalf("k=%d auto=%d: %v, want %v", c.k, c.auto, idx, c.want)
		}
	}
	// Many equal distances exercise the introsort beyond 15 elements; the
	// result is sorted and holds the k smallest.
	big := make([]float64, 100)
	for i := range big {
		big[i] = float64(i % 4)
	}
	d, idx, err := runKNearest(t, knnCase{metric: "manhattan", k: 40}, []float64{0}, 1, big, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(d) || d[24] != 0 || d[25] != 1 || d[39] != 1 {
		t.Fatalf("distances %v", d)
	}
	seen := map[int64]bool{}
	for _, j := range idx {
		if seen[j] || big[j] != d[slices.Index(idx, j)] {
			t.Fatalf("indices %v", idx)
		}
		seen[j] = true
	}
}

func TestKNearestRadius(t *testing.T) {
	train := []float64{0, 3, 1, 5, 1.5}
	d, idx, err := runKNearest(t, knnCase{metric: "euclidean", k: 5, radius: 1.5}, []float64{0.5, 10}, 2, train, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idx, []int64{0, 2, 4, -1, -1, -1, -1, -1, -1, -1}) || d[1] != 0.5 || !math.IsInf(d[3], 1) {
		t.Fatalf("radius: %v %v", d, idx)
	}
	_, _, err = runKNearest(t, knnCase{metric: "euclidean", k: 2, radius: 1.5}, []float64{0.5}, 1, train, 5, 1)
	wantCode(t, err, errs.InvalidValue)
}

func vote(t *testing.T, op string, attrs []graph.Attr, d []float64, idx []int64, n, k int, table []float64, tshape []int64, outs int) ([]Tensor, error) {
	t.Helper()
	iv := make([]float64, len(idx))
	for i, v := range idx {
		iv[i] = float64(v)
	}
	ins := []tin{{name: "D", dt: dtype.Float64, sig: []int64{-1, int64(k)}, shape: []int64{int64(n), int64(k)}, values: d},
		{name: "I", dt: dtype.Int64, sig: []int64{-1, int64(k)}, shape: []int64{int64(n), int64(k)}, values: iv}}
	tdt := dtype.Float64
	if op == "NeighborsClassify" {
		tdt = dtype.Int64
	}
	names := []string{"P", "C"}[:outs]
	mod := buildModel(t, ins, []tconst{{"T", tdt, tshape, table}},
		[]graph.Node{{Op: op, Inputs: []string{"D", "I", "T"}, Outputs: names, Attrs: attrs}}, names, Options{})
	return runModel(t, mod, inputsOf(ins))
}

func TestNeighborsClassify(t *testing.T) {
	labels := []float64{0, 1, 2, 1, 0}
	attrs := func(w string, outlier int64) []graph.Attr {
		return []graph.Attr{{Name: "n_classes", Type: graph.AttrInt, Int: 3}, strAttr("weights", w),
			{Name: "outlier", Type: graph.AttrInt, Int: outlier}}
	}
	d := []float64{0.5, 1, 2, 0, 1, 3, 1, 1, 1}
	idx := []int64{1, 0, 3, 4, 2, 1, 0, 1, 2}
	outs, err := vote(t, "NeighborsClassify", attrs("uniform", -1), d, idx, 3, 3, labels, []int64{5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "uniform proba", decode(dtype.Float64, outs[0].Data), []float64{1. / 3, 2. / 3, 0, 1. / 3, 1. / 3, 1. / 3, 1. / 3, 1. / 3, 1. / 3}, 1e-15)
	near(t, "uniform class", decode(dtype.Int64, outs[1].Data), []float64{1, 0, 0}, 0)
	outs, err = vote(t, "NeighborsClassify", attrs("distance", -1), d, idx, 3, 3, labels, []int64{5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// row 0: 1/0.5 + 1/2 for class 1, 1 for class 0; row 1 has a zero distance.
	near(t, "distance proba", decode(dtype.Float64, outs[0].Data), []float64{1 / 3.5, 2.5 / 3.5, 0, 1, 0, 0, 1. / 3, 1. / 3, 1. / 3}, 1e-15)
	near(t, "distance class", decode(dtype.Int64, outs[1].Data), []float64{1, 0, 0}, 0)
	// padding and outliers
	pad := []int64{-1, -1, 2, -1}
	outs, err = vote(t, "NeighborsClassify", attrs("uniform", 3), []float64{math.Inf(1), math.Inf(1), 1, math.Inf(1)}, pad, 2, 2, labels, []int64{5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "outlier proba", decode(dtype.Float64, outs[0].Data), []float64{0, 0, 0, 0, 0, 1}, 0)
	near(t, "outlier class", decode(dtype.Int64, outs[1].Data), []float64{3, 2}, 0)
	_, err = vote(t, "NeighborsClassify", attrs("uniform", -1), []float64{1, 1}, []int64{-1, -1}, 1, 2, labels, []int64{5}, 1)
	wantCode(t, err, errs.InvalidValue)
	_, err = vote(t, "NeighborsClassify", attrs("uniform", -1), []float64{1, 1}, []int64{0, 5}, 1, 2, labels, []int64{5}, 1)
	wantCode(t, err, errs.InvalidValue)
	_, err = vote(t, "NeighborsClassify", attrs("uniform", -1), []float64{1, 1}, []int64{0, 1}, 1, 2, []float64{0, 7, 1, 1, 1}, []int64{5}, 1)
	wantCode(t, err, errs.InvalidValue)
}

func TestNeighborsRegress(t *testing.T) {
	y := []float64{1, 10, 2, 20, 3, 30}
	d := []float64{1, 2, 0, 1}
	idx := []int64{0, 2, 1, 2}
	for _, c := range []struct {
		w    string
		want []float64
	}{{"uniform", []float64{2, 20, 2.5, 25}}, {"distance", []float64{(1 + 3*0.5) / 1.5, (10 + 30*0.5) / 1.5, 2, 20}}} {
		outs, err := vote(t, "NeighborsRegress", []graph.Attr{strAttr("weights", c.w)}, d, idx, 2, 2, y, []int64{3, 2}, 1)
		if err != nil {
			t.Fatal(err)
		}
		near(t, c.w, decode(dtype.Float64, outs[0].Data), c.want, 1e-15)
	}
	_, err := vote(t, "NeighborsRegress", []graph.Attr{strAttr("weights", "uniform")}, d, []int64{0, 3, 1, 2}, 2, 2, y, []int64{3, 2}, 1)
	wantCode(t, err, errs.InvalidValue)
}

func TestNeighborsBadGraphs(t *testing.T) {
	train := seq(10, 1)
	if _, err := buildModelErr(t, knnCase{metric: "euclidean", k: 2}, 2, train); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		c    knnCase
		f    int
		code errs.Code
	}{
		{knnCase{metric: "euclidean", k: 6}, 2, errs.GraphAttribute}, // k > M
		{knnCase{metric: "euclidean", k: 0}, 2, errs.GraphAttribute},
		{knnCase{metric: "hamming", k: 1}, 2, errs.GraphAttribute},
		{knnCase{metric: "minkowski", p: -1, k: 1}, 2, errs.GraphAttribute},
		{knnCase{metric: "manhattan", expand: 1, k: 1}, 2, errs.GraphAttribute},
		{knnCase{metric: "euclidean", radius: -1, k: 1}, 2, errs.GraphAttribute},
	} {
		if _, err := buildModelErr(t, c.c, c.f, train); errs.CodeOf(err) != c.code {
			t.Fatalf("%+v: got %v, want %v", c.c, err, c.code)
		}
	}
	// X's width differs from the training rows'
	m := mustKNN(t, knnCase{metric: "euclidean", k: 1}, train)
	_, err := runModel(t, m, []Tensor{NewTensor(dtype.Float64, []int64{2, 3}, encode(dtype.Float64, seq(6, 0)))})
	if err == nil {
		t.Fatal("a 3-wide X ran against 2-wide training rows")
	}
	// no rows at all
	outs, err := runModel(t, m, []Tensor{NewTensor(dtype.Float64, []int64{0, 2}, nil)})
	if err != nil || len(outs[0].Data) != 0 {
		t.Fatal(err)
	}
}

func knnNodes(c knnCase, w int64) ([]tin, []tconst, []graph.Node) {
	return []tin{{name: "X", dt: dtype.Float64, sig: []int64{-1, -1}}},
		[]tconst{{"train", dtype.Float64, []int64{5, w}, seq(int(5*w), 1)}},
		[]graph.Node{{Op: "KNearest", Inputs: []string{"X", "train"}, Outputs: []string{"D", "I"}, Attrs: c.attrs()}}
}

func buildModelErr(t *testing.T, c knnCase, f int, train []float64) (*Model, error) {
	t.Helper()
	ins, consts, nodes := knnNodes(c, int64(f))
	b := format.NewBuilder()
	for _, in := range ins {
		if err := b.AddInput(in.name, in.dt, in.sig); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range consts {
		if err := b.AddTensor(k.name, k.dt, k.shape, encode(k.dt, k.values)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		b.AddNode(n)
	}
	for _, o := range []string{"D", "I"} {
		if err := b.AddOutput(o); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "m.mle")
	if _, err := b.Save(path); err != nil {
		return nil, err
	}
	m, err := Open(path, Options{})
	if err == nil {
		m.Close()
	}
	return m, err
}

func mustKNN(t *testing.T, c knnCase, train []float64) *Model {
	ins, consts, nodes := knnNodes(c, 2)
	return buildModel(t, ins, consts, nodes, []string{"D", "I"}, Options{})
}

// runKNearestIn is runKNearest with the training rows a run-time input.
func runKNearestIn(t testing.TB, c knnCase, x []float64, n int, train []float64, m, f int) ([]float64, []int64) {
	t.Helper()
	dt := dtype.Float64
	if c.x32 {
		dt = dtype.Float32
	}
	ins := []tin{{name: "X", dt: dt, sig: []int64{-1, int64(f)}, shape: []int64{int64(n), int64(f)}, values: x},
		{name: "T", dt: dtype.Float64, sig: []int64{-1, int64(f)}, shape: []int64{int64(m), int64(f)}, values: train}}
	mod := buildModel(t, ins, nil,
		[]graph.Node{{Op: "KNearest", Inputs: []string{"X", "T"}, Outputs: []string{"D", "I"}, Attrs: c.attrs()}},
		[]string{"D", "I"}, Options{Threads: c.thr})
	outs, err := runModel(t, mod, inputsOf(ins))
	if err != nil {
		t.Fatal(err)
	}
	idx := decode(dtype.Int64, outs[1].Data)
	ii := make([]int64, len(idx))
	for i, v := range idx {
		ii[i] = int64(v)
	}
	return decode(dtype.Float64, outs[0].Data), ii
}

// The GEMM path (batches, in blocks smaller than the data here) keeps the
// loop's rows at equal distances and their order, with training rows
// stored or given at run time; its distances differ by rounding only.
func TestKNearestGemm(t *testing.T) {
	defer func(q, b, r int) { knnQB, knnMB, knnGemmMinRows = q, b, r }(knnQB, knnMB, knnGemmMinRows)
	knnQB, knnMB = 12, 16
	const n, m, f = 50, 70, 3
	// Small integers: exact dot products, so many exact ties (duplicate
	// training rows and equal distances).
	xi, ti := make([]float64, n*f), make([]float64, m*f)
	for i := range xi {
		xi[i] = float64((i*7)%5 - 2)
	}
	for i := range ti {
		ti[i] = float64((i*3/f)%4 - 1)
	}
	// Fractions, with duplicate rows in other blocks and columns of the
	// GEMM's tiles: equal distances still, whatever the summation order.
	xs, ts := seq(n*f, 0.4), seq(m*f, 2.3)
	copy(ts[37*f:], ts[:33*f])
	for _, c := range []knnCase{
		{metric: "euclidean", expand: 1, k: 5}, {metric: "euclidean", expand: 1, k: 1, thr: 3},
		{metric: "euclidean", expand: 1, k: 23, x32: true, thr: 2}, {metric: "euclidean", expand: 1, k: 9, auto: 1, thr: 2},
		{metric: "euclidean", expand: 1, k: 70},
	} {
		for _, data := range [][2][]float64{{xi, ti}, {xs, ts}} {
			x, train := data[0], data[1]
			if c.x32 {
				x = slices.Clone(x)
				for i, v := range x {
					x[i] = float64(float32(v))
				}
			}
			knnGemmMinRows = 1 << 30
			wd, wi, err := runKNearest(t, c, x, n, train, m, f)
			if err != nil {
				t.Fatal(err)
			}
			knnGemmMinRows = 2
			gd, gi, err := runKNearest(t, c, x, n, train, m, f)
			if err != nil {
				t.Fatal(err)
			}
			id, ii := runKNearestIn(t, c, x, n, train, m, f)
			if !slices.Equal(gd, id) || !slices.Equal(gi, ii) {
				t.Fatalf("%+v: stored and run-time training rows differ", c)
			}
			if !slices.Equal(gi, wi) {
				t.Fatalf("%+v: indices %v, want %v", c, gi, wi)
			}
			for i, w := range wd {
				if math.Abs(gd[i]-w) > 1e-12*math.Max(1, w) {
					t.Fatalf("%+v: distance %d = %v, want %v", c, i, gd[i], w)
				}
			}
		}
	}
}

func BenchmarkKNearest(b *testing.B) {
	const m, f, k = 5000, 20, 5
	train := seq(m*f, 1.1)
	for _, n := range []int{1, 16, 10000} {
		x := seq(n*f, 0.2)
		ins := []tin{{name: "X", dt: dtype.Float64, sig: []int64{-1, f}, shape: []int64{int64(n), f}, values: x}}
		mod := buildModel(b, ins, []tconst{{"train", dtype.Float64, []int64{m, f}, train}},
			[]graph.Node{{Op: "KNearest", Inputs: []string{"X", "train"}, Outputs: []string{"D", "I"},
				Attrs: knnCase{metric: "euclidean", expand: 1, k: k}.attrs()}},
			[]string{"D", "I"}, Options{Threads: 2})
		in := inputsOf(ins)
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := runModel(b, mod, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
