package graph

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Nearest-neighbour ops, as scikit-learn's neighbors module predicts
// (docs/FORMAT.md, "Neighbour ops"). Distances are float64; float32 rows
// are widened exactly.
//
//	KNearest(X [N,F] f32/f64, train [M,F] f64 [, tree_index, tree_nodes, tree_bounds]) -> dist [N,k] f64, index [N,k] int64
//	  The k nearest training rows of each row of X, nearest first.
//	  Attributes k, metric (NeighborMetrics), p (minkowski), expand (1:
//	  euclidean as ‖x‖² − 2x·y + ‖y‖², scikit-learn's brute force; 0: the
//	  sum of squared differences). The selection is scikit-learn's: a
//	  bounded max-heap fed the training rows in index order (a row equal
//	  to the heap's largest is not taken), then its introsort by distance.
//	  With auto=1 and N <= M <= 256 (scikit-learn's "auto" strategy then
//	  runs parallel_on_Y with one chunk) the kept rows are pushed again,
//	  in heap order, into a fresh heap before the sort, as its
//	  synchronization step does: equal distances then come out in that
//	  order. cosine wants the training rows already L2-normalized.
//	  With tree (NeighborTrees) the heap is fed in the order of
//	  scikit-learn's KDTree/BallTree depth-first query over the tree given
//	  by the three tree inputs (see TreeInputs), which decides the rows
//	  kept and the order of equal distances as that query does.
//	  With radius > 0 (output width k still): the rows within distance
//	  radius, in index order (tree: the tree's order), padded with index -1
//	  and distance +Inf; a row with more than k in range fails the run.
//	  The test is scikit-learn's: expand: max(0, (‖x‖² − 2x·y) + ‖y‖²) <=
//	  radius²; else the reduced distance <= the reduced radius; a tree
//	  prunes nodes whose lower bound exceeds radius and takes whole nodes
//	  whose upper bound does not.
//	NeighborsClassify(dist [N,K] f64, index [N,K] int64, labels [M] int64) -> proba [N,C] f64, class [N] int64
//	  Per row, class scores summed in neighbour order (weight 1, or 1/d
//	  with scikit-learn's zero-distance rule), divided by their sum; the
//	  class is scikit-learn's mode (lowest class on ties), or with
//	  argmax=1 the first maximum of proba. Index -1 is padding and is
//	  skipped. A row without neighbours fails the run when outlier is -1
//	  (scikit-learn raises); else its class is outlier (0..C, C meaning
//	  a label outside the classes) and its proba is one-hot at outlier
//	  (all zeros for C).
//	NeighborsRegress(dist [N,K] f64, index [N,K] int64, targets [M,T] f64) -> [N,T] f64
//	  The (weighted) mean of the valid neighbours' targets in numpy's
//	  summation order (np.mean; with distance weights Σ(y·w) and Σw
//	  numpy-pairwise per target); a row without neighbours gives NaN.
//	RadiusNeighborsClassify(X, train, labels [M] int64 [, tree inputs]) -> proba [N,C] f64, class [N] int64
//	RadiusNeighborsRegress(X, train, targets [M,T] f64 [, tree inputs]) -> [N,T] f64
//	  RadiusNeighborsClassifier.predict_proba/predict and
//	  RadiusNeighborsRegressor.predict, fused: each row's neighbours within
//	  radius (attributes radius, metric, p, expand, tree, as KNearest's
//	  radius mode finds and orders them, without a bound) are voted or
//	  averaged (attribute weights) without an [N,M] intermediate. Classify: class scores
//	  are np.bincount sums in neighbour order, divided by their
//	  numpy-pairwise sum; the class is the first maximum of proba, and a
//	  row whose proba is all zeros gets class zero_class (0..C, C meaning
//	  the label after the classes). A row without neighbours fails the run
//	  when outlier is -1, else its proba is one-hot at outlier (0..C-1) or
//	  all zeros (outlier = C). Regress: uniform: np.mean; distance:
//	  np.average; numpy-pairwise sums for one target, sequential ones per
//	  target for several (with sum_block > 0, a single target's uniform
//	  sum is numpy's buffered one for integer targets: pairwise within
//	  blocks of sum_block, the blocks in order); a row without neighbours
//	  gives NaN, or empty_value when empty_nan is 0.

// NeighborMetrics lists KNearest's metric attribute values.
var NeighborMetrics = []string{"euclidean", "manhattan", "chebyshev", "minkowski", "cosine"}

// NeighborWeights lists the weights attribute values.
var NeighborWeights = []string{"uniform", "distance"}

// NeighborTrees lists the tree attribute values: none (brute force),
// scikit-learn's KDTree and BallTree.
var NeighborTrees = []string{"", "kd_tree", "ball_tree"}

// TreeInputs is the index of the first tree input of a neighbour search
// op after its X and train (KNearest: 2, the radius ops: 3). They are:
//
//	tree_index [M] int64: idx_array, a permutation of the training rows
//	tree_nodes [n,3] int64: per node idx_start, idx_end, is_leaf (node i's
//	  children are 2i+1 and 2i+2)
//	tree_bounds [n,B] f64: kd_tree: the lower then the upper bounds
//	  (B = 2F); ball_tree: the centroid then the radius (B = F+1)
func TreeInputs(op string) int {
	if op == "KNearest" {
		return 2
	}
	return 3
}

// MaxNeighborClasses bounds n_classes of NeighborsClassify.
const MaxNeighborClasses = 1 << 20

func searchAttrs(k bool) []AttrSpec {
	a := []AttrSpec{
		{Name: "metric", Type: AttrString, Required: true},
		floatAttr("p", 2), intAttr("expand", 0), {Name: "tree", Type: AttrString},
	}
	if k {
		return append(a, AttrSpec{Name: "k", Type: AttrInt, Required: true}, floatAttr("radius", 0), intAttr("auto", 0))
	}
	return append(a, AttrSpec{Name: "radius", Type: AttrFloat, Required: true}, AttrSpec{Name: "weights", Type: AttrString, Required: true})
}

func init() {
	register(&OpSchema{Name: "KNearest", MinInputs: 2, MaxInputs: 5, MinOutputs: 2, MaxOutputs: 2, Types: floatTypes, Stored: []int{2, 3, 4},
		Attrs: searchAttrs(true), infer: inferKNearest})
	register(&OpSchema{Name: "NeighborsClassify", MinInputs: 3, MaxInputs: 3, MinOutputs: 1, MaxOutputs: 2, Types: nbFloat64,
		Attrs: []AttrSpec{
			{Name: "n_classes", Type: AttrInt, Required: true},
			{Name: "weights", Type: AttrString, Required: true},
			intAttr("outlier", -1), intAttr("argmax", 0),
		},
		infer: inferNeighborsClassify})
	register(&OpSchema{Name: "NeighborsRegress", MinInputs: 3, MaxInputs: 3, Types: nbFloat64,
		Attrs: []AttrSpec{{Name: "weights", Type: AttrString, Required: true}},
		infer: inferNeighborsRegress})
	register(&OpSchema{Name: "RadiusNeighborsClassify", MinInputs: 3, MaxInputs: 6, MinOutputs: 1, MaxOutputs: 2, Types: floatTypes, Stored: []int{3, 4, 5},
		Attrs: append(searchAttrs(false), AttrSpec{Name: "n_classes", Type: AttrInt, Required: true},
			intAttr("outlier", -1), intAttr("zero_class", 0)),
		infer: inferRadiusClassify})
	register(&OpSchema{Name: "RadiusNeighborsRegress", MinInputs: 3, MaxInputs: 6, Types: floatTypes, Stored: []int{3, 4, 5},
		Attrs: append(searchAttrs(false), intAttr("empty_nan", 1), floatAttr("empty_value", 0), intAttr("sum_block", 0)),
		infer: inferRadiusRegress})
}

var nbFloat64 = []dtype.DType{dtype.Float64}

// nbIn checks that input i has the given rank and dtype and returns its
// shape.
func (x *inferCtx) nbIn(i, rank int, dt dtype.DType, what string) ([]int64, error) {
	in := x.in[i]
	if in.DType != dt || len(in.Shape) != rank {
		return nil, x.errf(errs.GraphDType, "%s %s %q must be a %d-D %s tensor; it is %s %v", x.n.Op, what, in.Name, rank, dt, in.DType, in.Shape)
	}
	return in.Shape, nil
}

// nbDim unifies a dimension with the size it must have.
func (x *inferCtx) nbDim(got, want int64, what string) (int64, error) {
	d, ok := mergeDim(got, want)
	if !ok {
		return 0, x.errf(errs.GraphShape, "%s: %s is %d; want %d", x.n.Op, what, got, want)
	}
	return d, nil
}

// inferSearch checks what every neighbour search shares: the metric
// attributes, X, the training rows and the tree inputs. It returns X's
// shape and M.
func inferSearch(x *inferCtx) (xs []int64, m int64, err error) {
	metric := x.attr("metric").String
	if !inList(metric, NeighborMetrics) {
		return nil, 0, x.errf(errs.GraphAttribute, "%s metric is %q; want one of %q", x.n.Op, metric, NeighborMetrics)
	}
	if p := x.attr("p").Float; metric == "minkowski" && !(p > 0 && !math.IsInf(p, 0)) {
		return nil, 0, x.errf(errs.GraphAttribute, "%s minkowski p is %v; want a finite p > 0", x.n.Op, p)
	}
	if e := x.attr("expand").Int; e != 0 && (e != 1 || metric != "euclidean") {
		return nil, 0, x.errf(errs.GraphAttribute, "%s expand is %d; want 0, or 1 with metric euclidean", x.n.Op, e)
	}
	if r := x.attr("radius").Float; !(r >= 0) || math.IsInf(r, 0) {
		return nil, 0, x.errf(errs.GraphAttribute, "%s radius is %v; want a finite radius >= 0", x.n.Op, r)
	}
	xin := x.in[0]
	if !oneOf(xin.DType, floatTypes) || len(xin.Shape) != 2 {
		return nil, 0, x.errf(errs.GraphDType, "%s X %q must be a 2-D float32 or float64 tensor; it is %s %v", x.n.Op, xin.Name, xin.DType, xin.Shape)
	}
	train, err := x.nbIn(1, 2, dtype.Float64, "training rows")
	if err != nil {
		return nil, 0, err
	}
	f, err := x.nbDim(xin.Shape[1], train[1], "X's width (the training rows' width)")
	if err != nil {
		return nil, 0, err
	}
	m = train[0]
	tree, first := x.attr("tree").String, TreeInputs(x.n.Op)
	if !inList(tree, NeighborTrees) {
		return nil, 0, x.errf(errs.GraphAttribute, "%s tree is %q; want one of %q", x.n.Op, tree, NeighborTrees)
	}
	if tree == "" {
		if len(x.in) > first {
			return nil, 0, x.errf(errs.GraphShape, "%s has %d inputs; tree inputs need the tree attribute", x.n.Op, len(x.in))
		}
		return xin.Shape, m, nil
	}
	if len(x.in) != first+3 {
		return nil, 0, x.errf(errs.GraphShape, "%s with tree %q has %d inputs; want %d", x.n.Op, tree, len(x.in), first+3)
	}
	if metric == "cosine" || x.attr("expand").Int != 0 {
		return nil, 0, x.errf(errs.GraphAttribute, "%s with tree %q takes no cosine metric and no expand", x.n.Op, tree)
	}
	idx, err := x.nbIn(first, 1, dtype.Int64, "tree_index")
	if err != nil {
		return nil, 0, err
	}
	if m, err = x.nbDim(idx[0], m, "tree_index's length (the training rows)"); err != nil {
		return nil, 0, err
	}
	nodes, err := x.nbIn(first+1, 2, dtype.Int64, "tree_nodes")
	if err != nil {
		return nil, 0, err
	}
	if _, err := x.nbDim(nodes[1], 3, "tree_nodes' width"); err != nil {
		return nil, 0, err
	}
	bounds, err := x.nbIn(first+2, 2, dtype.Float64, "tree_bounds")
	if err != nil {
		return nil, 0, err
	}
	if _, err := x.nbDim(bounds[0], nodes[0], "tree_bounds' rows (the nodes)"); err != nil {
		return nil, 0, err
	}
	if f != Dynamic {
		b := 2 * f
		if tree == "ball_tree" {
			b = f + 1
		}
		if _, err := x.nbDim(bounds[1], b, "tree_bounds' width"); err != nil {
			return nil, 0, err
		}
	}
	return xin.Shape, m, nil
}

func inferKNearest(x *inferCtx) error {
	xs, m, err := inferSearch(x)
	if err != nil {
		return err
	}
	if a := x.attr("auto").Int; a != 0 && (a != 1 || x.attr("tree").String != "") {
		return x.errf(errs.GraphAttribute, "KNearest auto is %d; want 0, or 1 without a tree", a)
	}
	k := x.attr("k").Int
	if k < 1 || k > 1<<31 || (m != Dynamic && k > m) {
		return x.errf(errs.GraphAttribute, "KNearest k is %d; want 1..%d (the training rows)", k, m)
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{xs[0], k}}
	x.out[1] = ValueInfo{DType: dtype.Int64, Shape: []int64{xs[0], k}}
	return nil
}

// radiusIn checks a fused radius op: the search, its weights and its
// per-training-row table. It returns N and the table's shape.
func (x *inferCtx) radiusIn(tableRank int, tableType dtype.DType, what string) (int64, []int64, error) {
	if w := x.attr("weights").String; !inList(w, NeighborWeights) {
		return 0, nil, x.errf(errs.GraphAttribute, "%s weights is %q; want one of %q", x.n.Op, w, NeighborWeights)
	}
	xs, m, err := inferSearch(x)
	if err != nil {
		return 0, nil, err
	}
	table, err := x.nbIn(2, tableRank, tableType, what)
	if err != nil {
		return 0, nil, err
	}
	if _, err := x.nbDim(table[0], m, what+"' rows (the training rows)"); err != nil {
		return 0, nil, err
	}
	return xs[0], table, nil
}

func inferRadiusClassify(x *inferCtx) error {
	n, _, err := x.radiusIn(1, dtype.Int64, "labels")
	if err != nil {
		return err
	}
	c := x.attr("n_classes").Int
	if c < 1 || c > MaxNeighborClasses {
		return x.errf(errs.GraphAttribute, "RadiusNeighborsClassify has %d classes; want 1..%d", c, MaxNeighborClasses)
	}
	if o := x.attr("outlier").Int; o < -1 || o > c {
		return x.errf(errs.GraphAttribute, "RadiusNeighborsClassify outlier is %d; want -1..%d", o, c)
	}
	if z := x.attr("zero_class").Int; z < 0 || z > c {
		return x.errf(errs.GraphAttribute, "RadiusNeighborsClassify zero_class is %d; want 0..%d", z, c)
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{n, c}}
	if len(x.out) > 1 {
		x.out[1] = ValueInfo{DType: dtype.Int64, Shape: []int64{n}}
	}
	return nil
}

func inferRadiusRegress(x *inferCtx) error {
	n, t, err := x.radiusIn(2, dtype.Float64, "targets")
	if err != nil {
		return err
	}
	if e := x.attr("empty_nan").Int; e != 0 && e != 1 {
		return x.errf(errs.GraphAttribute, "RadiusNeighborsRegress empty_nan is %d; want 0 or 1", e)
	}
	if b := x.attr("sum_block").Int; b < 0 || b > 1<<40 {
		return x.errf(errs.GraphAttribute, "RadiusNeighborsRegress sum_block is %d; want 0..2^40", b)
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{n, t[1]}}
	return nil
}

// neighborsIn checks the (dist, index) pair and the per-training-row
// table of a vote op; it returns N, K and the table's shape.
func (x *inferCtx) neighborsIn(tableRank int, tableType dtype.DType, what string) (n, k int64, table []int64, err error) {
	if w := x.attr("weights").String; !inList(w, NeighborWeights) {
		return 0, 0, nil, x.errf(errs.GraphAttribute, "%s weights is %q; want one of %q", x.n.Op, w, NeighborWeights)
	}
	d, err := x.nbIn(0, 2, dtype.Float64, "distances")
	if err != nil {
		return 0, 0, nil, err
	}
	idx, err := x.nbIn(1, 2, dtype.Int64, "neighbour indices")
	if err != nil {
		return 0, 0, nil, err
	}
	if table, err = x.nbIn(2, tableRank, tableType, what); err != nil {
		return 0, 0, nil, err
	}
	if n, err = x.nbDim(idx[0], d[0], "the indices' rows (the distances' rows)"); err != nil {
		return 0, 0, nil, err
	}
	if k, err = x.nbDim(idx[1], d[1], "the indices' width (the distances' width)"); err != nil {
		return 0, 0, nil, err
	}
	return n, k, table, nil
}

func inferNeighborsClassify(x *inferCtx) error {
	n, _, _, err := x.neighborsIn(1, dtype.Int64, "labels")
	if err != nil {
		return err
	}
	c := x.attr("n_classes").Int
	if c < 1 || c > MaxNeighborClasses {
		return x.errf(errs.GraphAttribute, "NeighborsClassify has %d classes; want 1..%d", c, MaxNeighborClasses)
	}
	if o := x.attr("outlier").Int; o < -1 || o > c {
		return x.errf(errs.GraphAttribute, "NeighborsClassify outlier is %d; want -1..%d", o, c)
	}
	if a := x.attr("argmax").Int; a != 0 && a != 1 {
		return x.errf(errs.GraphAttribute, "NeighborsClassify argmax is %d; want 0 or 1", a)
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{n, c}}
	if len(x.out) > 1 {
		x.out[1] = ValueInfo{DType: dtype.Int64, Shape: []int64{n}}
	}
	return nil
}

func inferNeighborsRegress(x *inferCtx) error {
	n, _, t, err := x.neighborsIn(2, dtype.Float64, "targets")
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{n, t[1]}}
	return nil
}
