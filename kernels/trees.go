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
	SpecialCategory = 3 // set membership
	SpecialNever    = 4 // numeric x < -Inf: every number goes right (NaN: DefaultSide)
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
const BlockRows = 256

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
	if negative || c >= float64(8*len(s.Bits)) || (s.InvalidMissing && c != x) {
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

// next is one step of a walk: node i's child for row. The lockstep loops
// repeat its body (too large for Go to inline) with side's plain case
// inlined: a call per step would cost more than the step.
func (f *Forest) next(i int32, row []float64) int32 {
	nd := &f.Nodes[i]
	return nd.Kids[f.side(i, nd, row[nd.Feat])&1]
}

// walkLockstep finds the leaf node of rows [0, n) of xs (rows of stride
// values) in tree t, walking up to 8 rows together for Depth[t] steps:
// their loads overlap instead of waiting on each other.
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
				nd := &nodes[idx[k]]
				x := xs[(g+k)*stride+int(nd.Feat)]
				s := b2u(x > nd.Thr) | (b2u(x != x) & nd.NaNRight)
				if nd.Special != 0 {
					s = f.side(idx[k], nd, x)
				}
				idx[k] = nd.Kids[s&1]
			}
		}
		copy(leaf[g:g+m], idx[:m])
	}
}

// walkRow finds the leaf node of row in tree t, stopping at the leaf.
func (f *Forest) walkRow(t int, row []float64) int32 {
	i := f.Roots[t]
	for {
		next := f.next(i, row)
		if next == i {
			return i
		}
		i = next
	}
}

// WalkTrees finds the leaf node of rows [0, n) of xs (rows of stride
// values) in trees [t0, t1), into leaf[(t-t0)*n+r]. Many rows walk each
// tree in lockstep; a few rows walk 8 trees at a time in lockstep. The
// caller has checked that every feature read is below stride.
func (f *Forest) WalkTrees(t0, t1 int, xs []float64, stride, n int, leaf []int32) {
	if n >= 8 {
		for t := t0; t < t1; t++ {
			l := leaf[(t-t0)*n : (t-t0+1)*n]
			switch d := f.Depth[t]; {
			case d == 0:
				for r := range l {
					l[r] = f.Roots[t]
				}
			case d <= lockstepMaxDepth:
				f.walkLockstep(t, xs, stride, n, l)
			default:
				for r := range l {
					l[r] = f.walkRow(t, xs[r*stride:])
				}
			}
		}
		return
	}
	for r := 0; r < n; r++ {
		row := xs[r*stride : (r+1)*stride]
		for t := t0; t < t1; t += 8 {
			m := min(8, t1-t)
			var idx [8]int32
			depth := int32(0)
			for k := 0; k < m; k++ {
				idx[k] = f.Roots[t+k]
				depth = max(depth, f.Depth[t+k])
			}
			if depth <= lockstepMaxDepth {
				for range depth {
					for k := 0; k < m; k++ {
						nd := &f.Nodes[idx[k]]
						x := row[nd.Feat]
						s := b2u(x > nd.Thr) | (b2u(x != x) & nd.NaNRight)
						if nd.Special != 0 {
							s = f.side(idx[k], nd, x)
						}
						idx[k] = nd.Kids[s&1]
					}
				}
			} else {
				for k := 0; k < m; k++ {
					idx[k] = f.walkRow(t+k, row)
				}
			}
			for k := 0; k < m; k++ {
				leaf[(t+k-t0)*n+r] = idx[k]
			}
		}
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
