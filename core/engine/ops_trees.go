package engine

// TreeEnsemble: node arrays validated and laid out once per Model
// (compileTrees), then walked per block of rows (kernels.Forest).

import (
	"math"
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "TreeEnsemble", Backend: CPUBackend, DTypes: floatTypes, Compile: compileTrees})
}

// MaxTreeDepth bounds a tree's depth: a walk costs one step per level.
const MaxTreeDepth = 1 << 12

type compiledTrees struct {
	f       *kernels.Forest
	maxFeat int // the largest feature a node reads, -1 when none
	k       int
	base    []float64
	mean    bool
	acc32   bool
	cast32  bool
	post    string
	scale   float64
	dec     string
	avgWalk int // mean leaf depth over trees, at least 1: the cost of one walk
}

func treeErr(format string, args ...any) error {
	return errs.New(errs.GraphTree, "TreeEnsemble "+format, args...)
}

func compileTrees(c *CompileCtx) (Compiled, error) {
	n := c.Node
	in := make([][]byte, graph.TreeInCatBits+1)
	for i := graph.TreeInFeature; i < len(n.In) && i <= graph.TreeInCatBits; i++ {
		if n.In[i] < 0 {
			continue
		}
		if in[i] = c.Const(i); in[i] == nil && c.In[i] != nil && numel(c.In[i].Shape) != 0 {
			return nil, errs.New(errs.UnsupportedFeature, "TreeEnsemble input %d (%q) must be a stored tensor", i, c.In[i].Name)
		}
	}
	feat, thr := i32s(in[graph.TreeInFeature]), f64s(in[graph.TreeInThreshold])
	left, right := i32s(in[graph.TreeInLeft]), i32s(in[graph.TreeInRight])
	flags := in[graph.TreeInFlags]
	roots, targets := i32s(in[graph.TreeInRoots]), i32s(in[graph.TreeInTargets])
	leaves := f64s(in[graph.TreeInLeaves])
	catOff, catBits := i32s(in[graph.TreeInCatOffsets]), in[graph.TreeInCatBits]
	m := len(feat)
	if len(thr) != m || len(left) != m || len(right) != m || len(flags) != m {
		return nil, treeErr("node arrays differ in length: feature %d, threshold %d, left %d, right %d, flags %d",
			m, len(thr), len(left), len(right), len(flags))
	}
	if m > math.MaxInt32-1 {
		return nil, treeErr("has %d nodes; at most %d are supported", m, math.MaxInt32-1)
	}
	if len(roots) != len(targets) {
		return nil, treeErr("has %d roots but %d targets", len(roots), len(targets))
	}
	k := int(n.Attr("n_targets").Int)
	ls := c.In[graph.TreeInLeaves].Shape
	nLeaves, w := int(ls[0]), int(ls[1])
	if w < 1 || w > k {
		return nil, treeErr("leaves are %d wide; want 1..n_targets (%d)", w, k)
	}
	if catOff != nil && len(catOff) != m+1 {
		return nil, treeErr("cat_offsets has %d entries for %d nodes; want %d", len(catOff), m, m+1)
	}
	f := &kernels.Forest{Leaves: leaves, W: w, K: k, Roots: roots, Targets: targets, Depth: make([]int32, len(roots))}
	ct := &compiledTrees{f: f, maxFeat: -1, k: k, mean: n.Attr("aggregate").String == "mean",
		acc32: n.Attr("accumulate").String == "float32", cast32: n.Attr("input_cast").String == "float32",
		post: n.Attr("post_transform").String, scale: n.Attr("post_scale").Float, dec: n.Attr("decision").String}
	ct.base = n.Attr("base_values").Floats
	if len(ct.base) == 0 {
		ct.base = make([]float64, k)
	}
	src := make([]srcNode, m)
	for i := 0; i < m; i++ {
		if err := ct.node(i, &src[i], feat, thr, left, right, flags, catOff, catBits, nLeaves); err != nil {
			return nil, err
		}
	}
	for t, tg := range targets {
		if tg < 0 || int(tg) > k-w {
			return nil, treeErr("tree %d adds to output column %d; with leaves %d wide and %d targets it must be in 0..%d", t, tg, w, k, k-w)
		}
	}
	if err := ct.checkTrees(src); err != nil {
		return nil, err
	}
	ct.layout(src, roots)
	if ct.acc32 && w > 1 {
		f.Leaves2 = make([]float32, len(leaves))
		for i, v := range leaves {
			f.Leaves2[i] = float32(v)
		}
	}
	return ct, nil
}

// srcNode is a validated node in the order the file stores it.
type srcNode struct {
	thr      float64
	feat     int32 // -1: a leaf
	kids     [2]int32
	leaf     int32 // a leaf's row in the leaf matrix
	nanRight bool
	special  int32 // index into Forest.Special, or -1
}

// node validates node i into sn.
func (ct *compiledTrees) node(i int, sn *srcNode, feat []int32, thr []float64, left, right []int32, flags []byte, catOff []int32, catBits []byte, nLeaves int) error {
	f, fl := ct.f, flags[i]
	sn.special = -1
	hasCats := catOff != nil && catOff[i+1] != catOff[i]
	if catOff != nil && (catOff[i] < 0 || catOff[i+1] < catOff[i] || int(catOff[i+1]) > len(catBits)) {
		return treeErr("node %d: categories at cat_bits[%d:%d] are outside the %d bytes stored", i, catOff[i], catOff[i+1], len(catBits))
	}
	if feat[i] == -1 {
		if left[i] < 0 || int(left[i]) >= nLeaves || right[i] != -1 || fl != 0 || hasCats {
			return treeErr("leaf node %d: leaf row %d (of %d), right %d (want -1), flags %#x (want 0)", i, left[i], nLeaves, right[i], fl)
		}
		*sn = srcNode{thr: math.Inf(1), feat: -1, leaf: left[i], special: -1}
		return nil
	}
	if feat[i] < 0 {
		return treeErr("node %d reads feature %d", i, feat[i])
	}
	for _, kid := range []int32{left[i], right[i]} {
		if kid <= int32(i) || int(kid) >= len(feat) {
			return treeErr("node %d has child %d; children must come after their parent, below %d", i, kid, len(feat))
		}
	}
	ct.maxFeat = max(ct.maxFeat, int(feat[i]))
	*sn = srcNode{feat: feat[i], kids: [2]int32{left[i], right[i]}, special: -1}
	def := uint8(1)
	if fl&graph.TreeDefaultLeft != 0 {
		def = 0
	}
	sp := kernels.SpecialNode{Feat: feat[i], DefaultSide: def}
	if fl&graph.TreeCategorical != 0 {
		if fl&(graph.TreeMissingMask|graph.TreeStrict) != 0 {
			return treeErr("categorical node %d has numeric flags %#x", i, fl)
		}
		if catOff == nil {
			return treeErr("categorical node %d but no cat_offsets/cat_bits inputs", i)
		}
		sp.Kind, sp.InSetSide = kernels.SpecialCategory, b2u8(fl&graph.TreeInSetRight != 0)
		sp.InvalidMissing, sp.TruncFirst = fl&graph.TreeInvalidMissing != 0, fl&graph.TreeTruncFirst != 0
		sp.Bits = catBits[catOff[i]:catOff[i+1]]
	} else {
		if fl&(graph.TreeInSetRight|graph.TreeInvalidMissing|graph.TreeTruncFirst) != 0 || hasCats {
			return treeErr("numeric node %d has categorical flags %#x or categories", i, fl)
		}
		t := thr[i]
		if t != t {
			return treeErr("node %d has a NaN threshold", i)
		}
		strict := fl&graph.TreeStrict != 0
		sp.Thr, sp.Strict = t, strict
		// A plain node: x > thr goes right, NaN where nanRight says.
		sn.thr = t
		if strict { // x < t  ⇔  x <= the double below t
			sn.thr = math.Nextafter(t, math.Inf(-1))
		}
		switch fl & graph.TreeMissingMask {
		case graph.TreeMissingNaN:
			sn.nanRight = def == 1
			switch {
			case strict && math.IsInf(t, -1):
				sp.Kind = kernels.SpecialNever
			case sn.nanRight && sn.thr == math.Inf(1): // NaN read as +Inf would go left
				sp.Kind = kernels.SpecialNaN
			}
		case graph.TreeMissingZero:
			sp.Kind = kernels.SpecialZero
		case graph.TreeMissingNone:
			// NaN reads as 0.0: a plain node whose NaN goes where 0 goes.
			if strict && math.IsInf(t, -1) {
				sp.Kind, sp.DefaultSide = kernels.SpecialNever, 1
			}
			sn.nanRight = !(0 <= t)
			if strict {
				sn.nanRight = !(0 < t)
			}
		default:
			return treeErr("node %d has unknown missing kind in flags %#x", i, fl)
		}
	}
	if sp.Kind != 0 {
		sn.special = int32(len(f.Special))
		f.Special = append(f.Special, sp)
	}
	return nil
}

// layout writes the reachable nodes breadth-first per tree, the two
// children of a node adjacent (see kernels.TreeNode).
func (ct *compiledTrees) layout(src []srcNode, roots []int32) {
	f := ct.f
	// Walked rows hold only the columns nodes read (Forest.Cols): their
	// size follows the model, whatever the width of X.
	for _, sn := range src {
		if sn.feat >= 0 {
			f.Cols = append(f.Cols, sn.feat)
		}
		f.NaNPlane = f.NaNPlane || (sn.feat >= 0 && sn.special < 0 && sn.nanRight)
	}
	slices.Sort(f.Cols)
	f.Cols = slices.Compact(f.Cols)
	f.Plane = max(1, len(f.Cols))
	dense := func(feat int32) int32 {
		j, _ := slices.BinarySearch(f.Cols, feat)
		return int32(j)
	}
	for i := range f.Special {
		f.Special[i].Feat = dense(f.Special[i].Feat)
	}
	f.Nodes = make([]kernels.TreeNode, 0, len(src))
	f.Roots = make([]int32, len(f.Roots)) // the stored roots stay as they are (mapped read-only)
	var queue []int32                     // source indices, in their new order
	for t, r := range roots {
		base := int32(len(f.Nodes))
		f.Roots[t] = base
		queue = append(queue[:0], r)
		for q := 0; q < len(queue); q++ {
			sn := &src[queue[q]]
			at := base + int32(q)
			if sn.feat < 0 {
				v := float64(sn.leaf)
				if f.W == 1 {
					v = f.Leaves[sn.leaf]
				}
				f.Nodes = append(f.Nodes, kernels.TreeNode{Thr: v, Feat: f.LeafColumn(), Kid: at})
				continue
			}
			nd := kernels.TreeNode{Thr: sn.thr, Feat: dense(sn.feat), Kid: base + int32(len(queue))}
			switch {
			case sn.special >= 0:
				nd.Feat = -1 - sn.special
			case sn.nanRight:
				nd.Feat += int32(f.Plane)
			}
			f.Nodes = append(f.Nodes, nd)
			queue = append(queue, sn.kids[0], sn.kids[1])
		}
	}
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// checkTrees walks every tree from its root: each node may belong to one
// tree and be reached once (children point forward, so there are no
// cycles), and depth is bounded.
func (ct *compiledTrees) checkTrees(src []srcNode) error {
	f := ct.f
	owner := make([]int32, len(src))
	for i := range owner {
		owner[i] = -1
	}
	type item struct{ node, depth int32 }
	var stack []item
	total, reached := 0, 0 // depth summed over the leaves reached, and their count
	for t, r := range f.Roots {
		if r < 0 || int(r) >= len(src) {
			return treeErr("tree %d has root %d; there are %d nodes", t, r, len(src))
		}
		depth := int32(0)
		stack = append(stack[:0], item{r, 0})
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if owner[it.node] >= 0 {
				return treeErr("node %d is reached twice (trees %d and %d): trees must not share nodes", it.node, owner[it.node], t)
			}
			owner[it.node] = int32(t)
			if it.depth > MaxTreeDepth {
				return treeErr("tree %d is deeper than %d levels", t, MaxTreeDepth)
			}
			sn := &src[it.node]
			if sn.feat == -1 {
				depth = max(depth, it.depth)
				total += int(it.depth)
				reached++
				continue
			}
			stack = append(stack, item{sn.kids[1], it.depth + 1}, item{sn.kids[0], it.depth + 1})
		}
		f.Depth[t] = depth
	}
	ct.avgWalk = max(1, total/max(1, reached))
	return nil
}

func (ct *compiledTrees) Bind(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	rows, width := int(s[0]), int(s[1])
	if ct.maxFeat >= width {
		return nil, errs.New(errs.Shape, "TreeEnsemble reads feature %d but X has %d columns", ct.maxFeat, width)
	}
	f := ct.f
	e := &treeExec{ct: ct, rows: rows, width: width, x32: b.In[0].DType == dtype.Float32, stride: f.Stride()}
	trees := len(ct.f.Roots)
	e.block = f.BlockRows()
	blocks := (rows + e.block - 1) / e.block
	perBlock := satMul(satMul(e.block, max(trees, 1)), ct.avgWalk)
	if rows > 0 && blocks < b.Threads && b.Threads > 1 && trees >= 2*b.Threads &&
		satMul(satMul(rows, trees), ct.avgWalk) >= parallelMin/8 {
		// Few rows, many trees: walk trees in parallel into a leaf
		// matrix, then add in tree order.
		e.byTree = true
		e.tc = splitWork(trees, rows*ct.avgWalk, 8, b.Threads)
		n := int64(rows) * int64(trees) * 4
		n += int64(rows) * int64(e.stride) * 8
		b.Scratch(n)
		return e, nil
	}
	e.rc = splitWork(blocks, perBlock, 8, b.Threads)
	return e, nil
}

type treeExec struct {
	ct          *compiledTrees
	rows, width int
	x32         bool
	stride      int // values per walked row
	block       int // rows walked together (kernels.Forest.BlockRows)
	byTree      bool
	rc, tc      rowChunks
	// per run
	x, raw, post, dec []byte
	xs                []float64
	leaf              []int32
}

func (e *treeExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.raw, e.post, e.dec = in[0].Host, out[0].Host, opt(out, 1), opt(out, 2)
	if e.rows == 0 {
		return
	}
	if e.byTree {
		sc := x.Scratch.Host
		e.xs = f64s(sc)[:e.rows*e.stride]
		e.walked(e.xs, 0, e.rows)
		sc = sc[len(e.xs)*8:]
		e.leaf = i32s(sc[:e.rows*len(e.ct.f.Roots)*4])
		x.Parallel(e.tc.count, treeChunks{e})
		e.finish(0, e.rows, e.leaf)
	} else {
		x.Parallel(e.rc.count, e)
	}
	e.x, e.raw, e.post, e.dec, e.xs, e.leaf = nil, nil, nil, nil, nil, nil
}

// walked writes rows [r0, r1) of X as walked values (kernels.PrepareRows),
// rounded through float32 when the model says so, into dst: a column-major
// block for 8 rows or more, else rows.
func (e *treeExec) walked(dst []float64, r0, r1 int) {
	cols := r1-r0 >= 8
	if e.x32 {
		kernels.PrepareRows(e.ct.f, dst, f32s(e.x)[r0*e.width:], e.width, r1-r0, false, cols)
	} else {
		kernels.PrepareRows(e.ct.f, dst, f64s(e.x)[r0*e.width:], e.width, r1-r0, e.ct.cast32, cols)
	}
}

// walk finds the leaves of the n rows of xs (as walked() writes them) in
// trees [t0, t1) into leaf (tree-major, ld rows per tree).
func (e *treeExec) walk(t0, t1 int, xs []float64, n int, leaf []int32, ld int) {
	f := e.ct.f
	if n >= 8 {
		f.WalkBlock(t0, t1, xs, n, leaf)
		return
	}
	for r := 0; r < n; r++ {
		f.WalkRow(t0, t1, xs[r*e.stride:][:e.stride], leaf[r:], ld)
	}
}

// RunChunk walks a chunk of row blocks through every tree.
func (e *treeExec) RunChunk(c int, w *kernels.Worker) {
	b0, b1 := e.rc.bounds(c)
	f := e.ct.f
	var leaf [treeLeafBuf]int32
	for b := b0; b < b1; b++ {
		r0 := b * e.block
		r1 := min(r0+e.block, e.rows)
		n := r1 - r0
		xs := w.Float64s(n * e.stride)
		e.walked(xs, r0, r1)
		e.initRaw(r0, r1)
		// Trees in groups whose leaves fit the buffer, added in order.
		step := max(1, len(leaf)/n)
		for t0 := 0; t0 < len(f.Roots); t0 += step {
			t1 := min(t0+step, len(f.Roots))
			e.walk(t0, t1, xs, n, leaf[:(t1-t0)*n], n)
			e.add(t0, t1, leaf[:(t1-t0)*n], n, r0)
		}
		e.post2(r0, r1)
	}
}

// treeLeafBuf is the leaf buffer of one chunk, in (tree, row) pairs.
const treeLeafBuf = 2 * kernels.MaxBlockRows

// add adds the leaves of trees [t0, t1) (tree-major, n rows from row r0),
// tree by tree.
func (e *treeExec) add(t0, t1 int, leaf []int32, n, r0 int) {
	if e.ct.acc32 {
		kernels.AddLeaves(e.ct.f, t0, t1, leaf, n, f32s(e.raw)[r0*e.ct.k:], e.ct.f.Leaves2)
	} else {
		kernels.AddLeaves(e.ct.f, t0, t1, leaf, n, f64s(e.raw)[r0*e.ct.k:], e.ct.f.Leaves)
	}
}

type treeChunks struct{ e *treeExec }

// RunChunk walks every row through a chunk of trees into the leaf matrix.
func (tc treeChunks) RunChunk(c int, _ *kernels.Worker) {
	e := tc.e
	t0, t1 := e.tc.bounds(c)
	e.walk(t0, t1, e.xs, e.rows, e.leaf[t0*e.rows:t1*e.rows], e.rows)
}

// finish adds the leaf matrix (tree-major) in tree order.
func (e *treeExec) finish(r0, r1 int, leaf []int32) {
	e.initRaw(r0, r1)
	e.add(0, len(e.ct.f.Roots), leaf, r1-r0, r0)
	e.post2(r0, r1)
}

func (e *treeExec) initRaw(r0, r1 int) {
	k := e.ct.k
	if e.ct.acc32 {
		raw := f32s(e.raw)
		for r := r0; r < r1; r++ {
			for j, v := range e.ct.base {
				raw[r*k+j] = float32(v)
			}
		}
		return
	}
	raw := f64s(e.raw)
	for r := r0; r < r1; r++ {
		copy(raw[r*k:(r+1)*k], e.ct.base)
	}
}

// post2 applies the aggregation, the post-transform and the decision to
// rows [r0, r1).
func (e *treeExec) post2(r0, r1 int) {
	if e.ct.acc32 {
		finishRows(e.ct, f32s(e.raw), f32s(e.post), i64s(e.dec), r0, r1)
	} else {
		finishRows(e.ct, f64s(e.raw), f64s(e.post), i64s(e.dec), r0, r1)
	}
}

func finishRows[T float32 | float64](ct *compiledTrees, raw, post []T, dec []int64, r0, r1 int) {
	k := ct.k
	nt := T(len(ct.f.Roots))
	for r := r0; r < r1; r++ {
		row := raw[r*k : (r+1)*k]
		if ct.mean && nt > 0 {
			for j := range row {
				row[j] /= nt
			}
		}
		scores := row
		if post != nil && ct.post != "none" {
			p := post[r*k : (r+1)*k]
			transform(ct.post, ct.scale, row, p)
			scores = p
		}
		if dec == nil {
			continue
		}
		switch ct.dec {
		case "argmax":
			dec[r] = argmax(scores)
		case "argmax_raw":
			dec[r] = argmax(row)
		case "ge0":
			dec[r] = int64(b2u8(row[0] >= 0))
		case "gt0":
			dec[r] = int64(b2u8(row[0] > 0))
		}
	}
}

// transform computes the post-transform of one row in float64 (rounded
// once into float32 outputs).
func transform[T float32 | float64](kind string, scale float64, raw, out []T) {
	switch kind {
	case "logistic":
		for j, v := range raw {
			out[j] = T(1 / (1 + math.Exp(-(scale * float64(v)))))
		}
	case "exp":
		for j, v := range raw {
			out[j] = T(math.Exp(float64(v)))
		}
	case "isolation":
		// scikit-learn: -(2 ** -(depths / denominator)), or -(2 ** -1)
		// for a zero denominator (one training sample).
		for j, v := range raw {
			q := 1.0
			if scale != 0 {
				q = float64(v) / scale
			}
			out[j] = T(-math.Pow(2, -q))
		}
	case "softmax":
		mx := float64(raw[0])
		for _, v := range raw[1:] {
			mx = max(mx, float64(v))
		}
		sum := 0.0
		for j, v := range raw {
			p := math.Exp(float64(v) - mx)
			out[j] = T(p)
			sum += p
		}
		for j := range out {
			out[j] = T(float64(out[j]) / sum)
		}
	}
}

// argmax returns the index of the first largest value, or of the first NaN
// (as numpy does).
func argmax[T float32 | float64](v []T) int64 {
	best := 0
	for j := 1; j < len(v); j++ {
		if v[best] != v[best] {
			break
		}
		if v[j] > v[best] || v[j] != v[j] {
			best = j
		}
	}
	return int64(best)
}
