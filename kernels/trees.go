package kernels

import "math"

// Tree ensembles, evaluated in two phases per block of rows: find each
// (row, tree) leaf — in any order, several rows in flight — then add leaf
// values to each row in tree order, which is what makes sums exact (the
// same additions, in the same order, as the library that trained them).

// TreeNode is one node of a compiled ensemble: 24 bytes, children by
// absolute index. A leaf is its own child on both sides with threshold
// +Inf, so a walk may take extra steps past it (lockstep walking).
type TreeNode struct {
	Thr      float64  // numeric: go right when x > Thr
	Feat     int32    // the column to read
	Kids     [2]int32 // left, right
	NaNRight uint8    // plain numeric nodes: 1 when NaN goes right
	Special  uint8    // 0: plain numeric; else a SpecialNode kind
}

// Kinds of nodes that do not fit the plain numeric rule.
const (
	SpecialZero     = 1 // NaN and |x| <= 1e-35f take the default side
	SpecialNone     = 2 // NaN is read as 0.0
	SpecialCategory = 3 // set membership
	SpecialNever    = 4 // numeric x < -Inf: every number goes right
)

// SpecialNode holds what a non-plain node needs beyond TreeNode.
type SpecialNode struct {
	Thr         float64 // the stored threshold
	Strict      bool
	DefaultSide uint8 // where missing values go (0 left, 1 right)
	// Categorical nodes.
	InSetSide      uint8 // where categories in the set go
	InvalidMissing bool
	TruncFirst     bool
	Bits           []byte
}

// ZeroBand is LightGBM's kZeroThreshold, a float literal 1e-35f.
var ZeroBand = float64(float32(1e-35))

// Forest is a compiled ensemble, shared read-only by every run.
type Forest struct {
	Nodes   []TreeNode
	Special []SpecialNode // per node when any node is special, else nil
	Roots   []int32
	Depth   []int32 // per tree: the longest root-to-leaf path (edges)
	Targets []int32 // per tree: the first output column its leaf adds to
	LeafOf  []int32 // per node: its row in the leaf matrix (-1 internal)
	Leaves  []float64
	Leaves2 []float32 // Leaves rounded, for float32 accumulation
	W, K    int
}

// BlockRows is the number of rows walked together through one tree.
const BlockRows = 64

// lockstepMaxDepth bounds the trees walked in lockstep: deeper trees are
// walked row by row, stopping at each row's leaf.
const lockstepMaxDepth = 20

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// side returns 0 (left) or 1 (right) for node i on x.
func (f *Forest) side(i int32, n *TreeNode, x float64) uint8 {
	if n.Special == 0 {
		return b2u(x > n.Thr) | (b2u(x != x) & n.NaNRight)
	}
	s := &f.Special[i]
	switch n.Special {
	case SpecialZero:
		if x != x || (x >= -ZeroBand && x <= ZeroBand) {
			return s.DefaultSide
		}
	case SpecialNone:
		if x != x {
			x = 0
		}
	case SpecialNever:
		if x != x {
			return s.DefaultSide
		}
		return 1
	case SpecialCategory:
		return s.category(x)
	}
	if s.Strict {
		return b2u(!(x < s.Thr))
	}
	return b2u(!(x <= s.Thr))
}

func (s *SpecialNode) category(x float64) uint8 {
	if x != x {
		return s.DefaultSide
	}
	c := math.Trunc(x)
	negative := x < 0
	if s.TruncFirst {
		negative = c < 0
	}
	if negative || c >= float64(8*len(s.Bits)) {
		if s.InvalidMissing {
			return s.DefaultSide
		}
		return 1 - s.InSetSide
	}
	ci := int(c)
	if s.Bits[ci>>3]>>(ci&7)&1 != 0 {
		return s.InSetSide
	}
	return 1 - s.InSetSide
}

// walkLockstep finds the leaf node of rows [0, n) of xs (rows of stride
// values) in tree t, walking up to 8 rows together for Depth[t] steps.
func (f *Forest) walkLockstep(t int, xs []float64, stride, n int, leaf []int32) {
	root, depth, nodes := f.Roots[t], int(f.Depth[t]), f.Nodes
	for g := 0; g < n; g += 8 {
		m := min(8, n-g)
		var idx [8]int32
		for k := range m {
			idx[k] = root
		}
		for range depth {
			for k := 0; k < m; k++ {
				i := idx[k]
				nd := &nodes[i]
				x := xs[(g+k)*stride+int(nd.Feat)]
				idx[k] = nd.Kids[f.side(i, nd, x)]
			}
		}
		copy(leaf[g:g+m], idx[:m])
	}
}

// walkRows finds the leaf node of rows [0, n) in tree t one row at a time,
// stopping at each leaf.
func (f *Forest) walkRows(t int, xs []float64, stride, n int, leaf []int32) {
	root, nodes := f.Roots[t], f.Nodes
	for r := 0; r < n; r++ {
		i := root
		row := xs[r*stride : r*stride+stride]
		for {
			nd := &nodes[i]
			next := nd.Kids[f.side(i, nd, row[nd.Feat])]
			if next == i {
				break
			}
			i = next
		}
		leaf[r] = i
	}
}

// Walk finds the leaf node of rows [0, n) of xs (rows of stride values) in
// tree t. The caller has checked that every feature read is below stride.
func (f *Forest) Walk(t int, xs []float64, stride, n int, leaf []int32) {
	if f.Depth[t] == 0 {
		for r := 0; r < n; r++ {
			leaf[r] = f.Roots[t]
		}
		return
	}
	if f.Depth[t] <= lockstepMaxDepth {
		f.walkLockstep(t, xs, stride, n, leaf)
	} else {
		f.walkRows(t, xs, stride, n, leaf)
	}
}

// AddLeaves adds tree t's leaf values for rows [0, n) (leaf nodes in leaf)
// into out, rows of f.K values.
func (f *Forest) AddLeaves(t int, leaf []int32, n int, out []float64) {
	tgt, w, k := int(f.Targets[t]), f.W, f.K
	if w == 1 {
		for r := 0; r < n; r++ {
			out[r*k+tgt] += f.Leaves[f.LeafOf[leaf[r]]]
		}
		return
	}
	for r := 0; r < n; r++ {
		src := f.Leaves[int(f.LeafOf[leaf[r]])*w:][:w]
		dst := out[r*k+tgt:][:w]
		for j, v := range src {
			dst[j] += v
		}
	}
}

// AddLeaves32 is AddLeaves accumulating in float32.
func (f *Forest) AddLeaves32(t int, leaf []int32, n int, out []float32) {
	tgt, w, k := int(f.Targets[t]), f.W, f.K
	for r := 0; r < n; r++ {
		src := f.Leaves2[int(f.LeafOf[leaf[r]])*w:][:w]
		dst := out[r*k+tgt:][:w]
		for j, v := range src {
			dst[j] += v
		}
	}
}
