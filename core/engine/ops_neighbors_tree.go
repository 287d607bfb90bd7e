package engine

// scikit-learn's KDTree and BallTree queries (neighbors/_binary_tree.pxi,
// _kd_tree.pyx, _ball_tree.pyx) replayed over the tree the model stores
// (graph.TreeInputs): the nodes are visited in the same order and pruned
// by the same bounds, so the rows a heap keeps at tied distances, and the
// order of a radius query's rows, are scikit-learn's.
//
//   - k nearest (query, depth-first): a node whose lower bound exceeds the
//     heap's largest is skipped; a leaf pushes its rows in idx_array
//     order; an inner node visits the child with the smaller lower bound
//     first (the left one on equal bounds). The heap starts at +Inf.
//   - radius (query_radius): a node whose lower bound exceeds r is
//     skipped; one whose upper bound is <= r gives all its rows; a leaf
//     gives those with reduced distance <= r's; else left, then right.
//   - kd bounds, per feature, lo − x and x − hi as d_lo, d_hi and
//     d = (d_lo + |d_lo|) + (d_hi + |d_hi|): lower bound Σ(d/2)^p (max of
//     d/2 for chebyshev), upper bound Σ max(|d_lo|, |d_hi|)^p, both to the
//     1/p for radius queries. ball bounds: with d the distance to the
//     centroid, max(0, d − radius) and d + radius; for k nearest the lower
//     bound in the reduced scale (squared, ^p).

import (
	"math"
	"slices"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// nbTree is a validated tree of stored tensors.
type nbTree struct {
	ball   bool
	idx    []int64
	nodes  []int64 // per node idx_start, idx_end, is_leaf
	bounds []float64
	b      int     // bounds per node
	cheb   bool    // kd: p is infinite
	p      float64 // kd: the metric's p
	sq     bool    // ball: euclidean's reduced distance is the square
}

func nbTreeErr(op, format string, args ...any) error {
	return errs.New(errs.GraphTree, op+" tree "+format, args...)
}

// nbCompiled is a search op with its tree, if any.
type nbCompiled struct {
	tree *nbTree
	bind func(*BindCtx, *nbTree) (Executor, error)
}

func (c *nbCompiled) Bind(b *BindCtx) (Executor, error) { return c.bind(b, c.tree) }

// compileSearch reads and checks the tree inputs of a search op once per
// model: they must be stored tensors.
func compileSearch(bind func(*BindCtx, *nbTree) (Executor, error)) func(*CompileCtx) (Compiled, error) {
	return func(c *CompileCtx) (Compiled, error) {
		kind := c.Node.Attr("tree").String
		if kind == "" {
			return &nbCompiled{bind: bind}, nil
		}
		op, first := c.Node.Op, graph.TreeInputs(c.Node.Op)
		var in [3][]byte
		for i := range in {
			if in[i] = c.Const(first + i); in[i] == nil {
				return nil, errs.New(errs.UnsupportedFeature, "%s input %d (%q) must be a stored tensor", op, first+i, c.In[first+i].Name)
			}
		}
		t := &nbTree{ball: kind == "ball_tree", idx: i64s(in[0]), nodes: i64s(in[1]), bounds: f64s(in[2]),
			b: int(c.In[first+2].Shape[1])}
		if err := t.check(op); err != nil {
			return nil, err
		}
		t.setMetric(slices.Index(graph.NeighborMetrics, c.Node.Attr("metric").String), c.Node.Attr("p").Float)
		return &nbCompiled{tree: t, bind: bind}, nil
	}
}

// check verifies that idx is a permutation and that every node reachable
// from the root holds a range that its children split in two.
func (t *nbTree) check(op string) error {
	m := len(t.idx)
	seen := make([]bool, m)
	for i, j := range t.idx {
		if j < 0 || j >= int64(m) || seen[j] {
			return nbTreeErr(op, "index %d is %d; want a permutation of 0..%d", i, j, m-1)
		}
		seen[j] = true
	}
	n := len(t.nodes) / 3
	if n == 0 || t.nodes[0] != 0 || t.nodes[1] != int64(m) {
		return nbTreeErr(op, "root must hold rows 0..%d", m)
	}
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		lo, hi, leaf := t.nodes[3*i], t.nodes[3*i+1], t.nodes[3*i+2]
		if lo < 0 || lo > hi || hi > int64(m) || (leaf != 0 && leaf != 1) {
			return nbTreeErr(op, "node %d holds rows %d..%d (leaf %d) of %d", i, lo, hi, leaf, m)
		}
		if leaf == 1 {
			continue
		}
		l := 2*i + 1
		if l+1 >= n {
			return nbTreeErr(op, "inner node %d has children %d, %d beyond the %d nodes", i, l, l+1, n)
		}
		if t.nodes[3*l] != lo || t.nodes[3*l+1] != t.nodes[3*(l+1)] || t.nodes[3*(l+1)+1] != hi {
			return nbTreeErr(op, "node %d's children do not split its rows %d..%d", i, lo, hi)
		}
		stack = append(stack, l, l+1)
	}
	return nil
}

// fits checks the tree against the training rows' shape.
func (t *nbTree) fits(m, f int) error {
	b := 2 * f
	if t.ball {
		b = f + 1
	}
	if len(t.idx) != m || t.b != b {
		return errs.New(errs.GraphShape, "neighbour tree of %d rows, %d bounds per node; the training rows are %d×%d", len(t.idx), t.b, m, f)
	}
	return nil
}

// setMetric derives the bound constants from the metric (at compile time:
// the tree is shared by every session).
func (t *nbTree) setMetric(metric int, p float64) {
	switch metric {
	case nbEuclidean:
		t.p, t.sq = 2, true
	case nbManhattan:
		t.p = 1
	case nbChebyshev:
		t.p, t.cheb = math.Inf(1), true
	default:
		t.p = p
	}
}

// nbPow is C's pow for the exponents the bounds use.
func nbPow(v, p float64) float64 {
	switch p {
	case 1:
		return v
	case 2:
		return v * v
	}
	return math.Pow(v, p)
}

// ballDist is the distance from x to node i's centroid and its radius.
func (t *nbTree) ballDist(s *nbSearch, i int, x []float64) (float64, float64) {
	c := t.bounds[i*t.b : (i+1)*t.b]
	return s.toDist(s.rdist(x, c[:s.f]), 0), c[s.f]
}

// fmax0 is C's fmax(0, v).
func fmax0(v float64) float64 {
	if v > 0 {
		return v
	}
	return 0
}

// minRdist is the lower bound of node i in the reduced scale.
func (t *nbTree) minRdist(s *nbSearch, i int, x []float64) float64 {
	if t.ball {
		d, rad := t.ballDist(s, i, x)
		v := fmax0(d - rad)
		switch {
		case t.sq:
			return v * v
		case s.metric == nbMinkowski:
			return math.Pow(v, s.p)
		}
		return v
	}
	lo, hi := t.bounds[i*t.b:i*t.b+s.f], t.bounds[i*t.b+s.f:(i+1)*t.b]
	r := 0.0
	for j, v := range x {
		dlo, dhi := lo[j]-v, v-hi[j]
		d := (dlo + math.Abs(dlo)) + (dhi + math.Abs(dhi))
		if t.cheb {
			r = math.Max(r, 0.5*d)
		} else {
			r += nbPow(0.5*d, t.p)
		}
	}
	return r
}

// minMaxDist is node i's lower and upper bound in the distance scale.
func (t *nbTree) minMaxDist(s *nbSearch, i int, x []float64) (float64, float64) {
	if t.ball {
		d, rad := t.ballDist(s, i, x)
		return fmax0(d - rad), d + rad
	}
	lo, hi := t.bounds[i*t.b:i*t.b+s.f], t.bounds[i*t.b+s.f:(i+1)*t.b]
	lb, ub := 0.0, 0.0
	for j, v := range x {
		dlo, dhi := lo[j]-v, v-hi[j]
		d := (dlo + math.Abs(dlo)) + (dhi + math.Abs(dhi))
		if t.cheb {
			lb = math.Max(lb, 0.5*d)
			ub = math.Max(ub, math.Abs(dlo))
			ub = math.Max(ub, math.Abs(dhi))
		} else {
			lb += nbPow(0.5*d, t.p)
			ub += nbPow(math.Max(math.Abs(dlo), math.Abs(dhi)), t.p)
		}
	}
	if !t.cheb {
		lb, ub = math.Pow(lb, 1/t.p), math.Pow(ub, 1/t.p)
	}
	return lb, ub
}

// treeKNN is _query_single_depthfirst from node i with lower bound lb.
func (s *nbSearch) treeKNN(x []float64, i int, lb float64, dv []float64, dx []int64) {
	t := s.tree
	if lb > dv[0] {
		return
	}
	if t.nodes[3*i+2] == 1 {
		for _, j := range t.idx[t.nodes[3*i]:t.nodes[3*i+1]] {
			nbHeapPush(dv, dx, s.rdist(x, s.train[int(j)*s.f:(int(j)+1)*s.f]), j)
		}
		return
	}
	i1, i2 := 2*i+1, 2*i+2
	lb1, lb2 := t.minRdist(s, i1, x), t.minRdist(s, i2, x)
	if lb1 <= lb2 {
		s.treeKNN(x, i1, lb1, dv, dx)
		s.treeKNN(x, i2, lb2, dv, dx)
	} else {
		s.treeKNN(x, i2, lb2, dv, dx)
		s.treeKNN(x, i1, lb1, dv, dx)
	}
}

// treeRadius is _query_radius_single from node i: it appends to (dv, dx)
// after the n rows there and returns the new count, or -1 when they do
// not fit.
func (s *nbSearch) treeRadius(x []float64, i int, dv []float64, dx []int64, n int) int {
	t := s.tree
	lb, ub := t.minMaxDist(s, i, x)
	lo, hi := t.nodes[3*i], t.nodes[3*i+1]
	switch {
	case lb > s.radius:
	case ub <= s.radius:
		for _, j := range t.idx[lo:hi] {
			if n == len(dv) {
				return -1
			}
			dv[n], dx[n] = s.toDist(s.rdist(x, s.train[int(j)*s.f:(int(j)+1)*s.f]), 0), j
			n++
		}
	case t.nodes[3*i+2] == 1:
		for _, j := range t.idx[lo:hi] {
			rd := s.rdist(x, s.train[int(j)*s.f:(int(j)+1)*s.f])
			if !(rd <= s.rRadius) {
				continue
			}
			if n == len(dv) {
				return -1
			}
			dv[n], dx[n] = s.toDist(rd, 0), j
			n++
		}
	default:
		if n = s.treeRadius(x, 2*i+1, dv, dx, n); n >= 0 {
			n = s.treeRadius(x, 2*i+2, dv, dx, n)
		}
	}
	return n
}
