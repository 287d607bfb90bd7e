package kernels

import (
	"math"
	"unsafe"
)

// Tree ensembles, evaluated in two phases per block of rows: find each
// (row, tree) leaf — in any order, several rows in flight — then add leaf
// values to each row in tree order, which is what makes sums exact (the
// same additions, in the same order, as the library that trained them).

// TreeNode is one node of a compiled ensemble: 16 bytes, so four share a
// cache line. Each tree is laid out breadth-first with the two children of
// a node adjacent, so a plain step is Kid + (x > Thr) with no branch.
//
// A leaf is its own left child and reads the walked row's last column,
// which is -Inf: a walk may take extra steps past it (lockstep walking)
// without moving. Its Thr holds its value (leaves one wide) or its row in
// Forest.Leaves, so adding it reads the node the walk just reached.
type TreeNode struct {
	Thr float64 // go right when x > Thr
	// The column of the walked row to read: below Forest.Plane for the row
	// as given (NaN goes left), Plane+j for column j with NaN read as +Inf
	// (NaN goes right). Negative: special node -1-Feat (Forest.Special).
	Feat int32
	Kid  int32 // left child; the right child is Kid+1
}

// Kinds of nodes that do not fit the plain numeric rule.
const (
	SpecialZero     = 1 // NaN and |x| <= 1e-35f take the default side
	SpecialNaN      = 2 // NaN takes the default side (where the +Inf plane cannot: threshold +Inf)
	SpecialCategory = 3 // set membership
	SpecialNever    = 4 // numeric x < -Inf: every number goes right (NaN: DefaultSide)
)

// SpecialNode is a node that does not fit the plain numeric rule.
type SpecialNode struct {
	Kind        uint8
	Feat        int32   // the column to read (below Plane)
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

// Forest is a compiled ensemble, shared read-only by every run. Rows are
// walked as Stride() values: the row as given (Plane columns), then, when
// NaNPlane, the same columns with NaN read as +Inf, then -Inf (what leaves
// read).
type Forest struct {
	Nodes    []TreeNode
	Special  []SpecialNode
	Roots    []int32
	Depth    []int32   // per tree: the longest root-to-leaf path (edges)
	Targets  []int32   // per tree: the first output column its leaf adds to
	Leaves   []float64 // the leaf matrix, rows of W values (W > 1)
	Leaves2  []float32 // Leaves rounded, for float32 accumulation
	W, K     int
	Cols     []int32 // the input column of each column of a plane (the columns nodes read, ascending)
	Plane    int     // columns of a plane: len(Cols), at least 1 (a column of 0s when none is read)
	NaNPlane bool    // some node sends NaN right: rows carry a second plane
}

// Stride is the number of values of a walked row.
func (f *Forest) Stride() int {
	if f.NaNPlane {
		return 2*f.Plane + 1
	}
	return f.Plane + 1
}

// LeafColumn is the walked row's column leaves read (-Inf).
func (f *Forest) LeafColumn() int32 { return int32(f.Stride() - 1) }

// asmWalks is the number of walks the assembly walk takes together.
const asmWalks = 64

// blockLanes and rowLanes are the lanes of treeWalk64: 64 rows of a
// block, or one row.
var blockLanes, rowLanes = func() (b [asmWalks]int32, r [asmWalks]int32) {
	for k := range b {
		b[k] = int32(k)
	}
	return
}()

// MaxBlockRows is the most rows walked together through one tree.
const MaxBlockRows = 256

// blockBytes bounds a block of walked rows: forests that read many columns
// walk fewer rows at a time (8 at least).
const blockBytes = 1 << 20

// BlockRows is the number of rows walked together through one tree.
func (f *Forest) BlockRows() int {
	return min(MaxBlockRows, max(8, blockBytes/(8*f.Stride())))
}

// lockstepMaxDepth bounds the trees walked in lockstep: deeper trees are
// walked one walk at a time, stopping at each leaf.
const lockstepMaxDepth = 20

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// side returns 0 (left) or 1 (right) for special node s on x, the value
// of column s.Feat.
func (s *SpecialNode) side(x float64) int32 {
	switch s.Kind {
	case SpecialZero:
		if x != x || (x >= -ZeroBand && x <= ZeroBand) {
			return int32(s.DefaultSide)
		}
	case SpecialNaN:
		if x != x {
			return int32(s.DefaultSide)
		}
	case SpecialNever:
		if x != x {
			return int32(s.DefaultSide)
		}
		return 1
	case SpecialCategory:
		return int32(s.category(x))
	}
	if s.Strict {
		return b2i(!(x < s.Thr))
	}
	return b2i(!(x <= s.Thr))
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

// Walked rows come in two layouts, written by PrepareRows: a block of
// rows column by column (value j of row r at j*n+r), so that the rows
// walked in lockstep read at fixed offsets from one base; and single rows
// (value j at j), which walk many trees in lockstep (rowTrees, asmWalks).
//
// The walks index nodes and values without bounds checks: Compile checked
// that every Kid+1 is a node of the same tree and every Feat is below
// Stride(), and WalkBlock and WalkRow check the value slices they get.

func nodeAt(nodes unsafe.Pointer, i int32) *TreeNode {
	return (*TreeNode)(unsafe.Add(nodes, uintptr(i)*unsafe.Sizeof(TreeNode{})))
}

func valueAt(p unsafe.Pointer, off uintptr) float64 {
	return *(*float64)(unsafe.Add(p, off*8))
}

// step is one step of a walk from node i; x(j) reads column j.
func (f *Forest) step(nodes unsafe.Pointer, i int32, x func(j int32) float64) int32 {
	nd := nodeAt(nodes, i)
	if nd.Feat < 0 {
		s := &f.Special[-1-nd.Feat]
		return nd.Kid + s.side(x(s.Feat))
	}
	return nd.Kid + b2i(x(nd.Feat) > nd.Thr)
}

// WalkBlock finds the leaf node of rows [0, n) of cols (a column-major
// block of n rows) in trees [t0, t1), into leaf[(t-t0)*n+r].
func (f *Forest) WalkBlock(t0, t1 int, cols []float64, n int, leaf []int32) {
	if n == 0 || t0 == t1 {
		return
	}
	if len(cols) < n*f.Stride() || len(leaf) < (t1-t0)*n {
		panic("kernels: WalkBlock: a block smaller than the forest reads")
	}
	nodes := unsafe.Pointer(unsafe.SliceData(f.Nodes))
	base := unsafe.Pointer(unsafe.SliceData(cols))
	un := uintptr(n)
	asm := treeWalkAsm && f.Special == nil && len(f.Nodes) < 1<<30
	for t := t0; t < t1; t++ {
		l := leaf[(t-t0)*n : (t-t0+1)*n]
		root, depth := f.Roots[t], int(f.Depth[t])
		g := 0
		if depth <= lockstepMaxDepth {
			if asm {
				for ; g+asmWalks <= n; g += asmWalks {
					w := (*[asmWalks]int32)(l[g:])
					for k := range w {
						w[k] = root
					}
					treeWalk64(&w[0], depth, nodes, unsafe.Add(base, g*8), n, &blockLanes[0])
				}
			}
			for ; g+8 <= n; g += 8 {
				p := unsafe.Add(base, g*8)
				var out *[8]int32 = (*[8]int32)(l[g : g+8])
				if f.Special == nil {
					walk8Plain(out, root, depth, nodes, p, un)
				} else {
					f.walk8Special(out, root, depth, nodes, p, un)
				}
			}
		}
		for ; g < n; g++ {
			p := unsafe.Add(base, g*8)
			l[g] = f.walkOne(t, nodes, func(j int32) float64 { return valueAt(p, uintptr(j)*un) })
		}
	}
}

// walk8Plain walks 8 rows (row k's column j at p[j*n+k]) from root for
// up to depth steps through a forest of plain nodes only; the rows' loads
// overlap instead of waiting on each other. It stops early when no row
// moved in a step. The rows live in registers: no call, no array.
func walk8Plain(out *[8]int32, root int32, depth int, nodes, p unsafe.Pointer, n uintptr) {
	i0, i1, i2, i3, i4, i5, i6, i7 := root, root, root, root, root, root, root, root
	for range depth {
		var moved int32
		nd := nodeAt(nodes, i0)
		j := b2i(valueAt(p, uintptr(nd.Feat)*n) > nd.Thr) + nd.Kid
		moved |= j ^ i0
		i0 = j
		nd = nodeAt(nodes, i1)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+1) > nd.Thr) + nd.Kid
		moved |= j ^ i1
		i1 = j
		nd = nodeAt(nodes, i2)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+2) > nd.Thr) + nd.Kid
		moved |= j ^ i2
		i2 = j
		nd = nodeAt(nodes, i3)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+3) > nd.Thr) + nd.Kid
		moved |= j ^ i3
		i3 = j
		nd = nodeAt(nodes, i4)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+4) > nd.Thr) + nd.Kid
		moved |= j ^ i4
		i4 = j
		nd = nodeAt(nodes, i5)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+5) > nd.Thr) + nd.Kid
		moved |= j ^ i5
		i5 = j
		nd = nodeAt(nodes, i6)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+6) > nd.Thr) + nd.Kid
		moved |= j ^ i6
		i6 = j
		nd = nodeAt(nodes, i7)
		j = b2i(valueAt(p, uintptr(nd.Feat)*n+7) > nd.Thr) + nd.Kid
		moved |= j ^ i7
		i7 = j
		if moved == 0 {
			break
		}
	}
	*out = [8]int32{i0, i1, i2, i3, i4, i5, i6, i7}
}

// walk8Special is walk8Plain for forests with special nodes.
func (f *Forest) walk8Special(out *[8]int32, root int32, depth int, nodes, p unsafe.Pointer, n uintptr) {
	idx := [8]int32{root, root, root, root, root, root, root, root}
	for range depth {
		var moved int32
		for k := range idx {
			nd := nodeAt(nodes, idx[k])
			var j int32
			if nd.Feat >= 0 {
				j = nd.Kid + b2i(valueAt(p, uintptr(nd.Feat)*n+uintptr(k)) > nd.Thr)
			} else {
				s := &f.Special[-1-nd.Feat]
				j = nd.Kid + s.side(valueAt(p, uintptr(s.Feat)*n+uintptr(k)))
			}
			moved |= j ^ idx[k]
			idx[k] = j
		}
		if moved == 0 {
			break
		}
	}
	*out = idx
}

// walkOne finds the leaf node of one row in tree t (x reads its columns),
// stopping at the leaf.
func (f *Forest) walkOne(t int, nodes unsafe.Pointer, x func(j int32) float64) int32 {
	i := f.Roots[t]
	for range f.Depth[t] {
		next := f.step(nodes, i, x)
		if next == i {
			break
		}
		i = next
	}
	return i
}

// rowTrees is the number of trees one row walks in lockstep: a single
// row is bound by the latency of its node loads, so the more walks in
// flight the better, up to what the core keeps in flight.
const rowTrees = 16

// WalkRow finds the leaf node of one row (Stride() values) in trees
// [t0, t1), into leaf[(t-t0)*ld], walking rowTrees trees in lockstep.
func (f *Forest) WalkRow(t0, t1 int, row []float64, leaf []int32, ld int) {
	if t0 == t1 {
		return
	}
	if len(row) < f.Stride() || len(leaf) <= (t1-t0-1)*ld {
		panic("kernels: WalkRow: a row narrower than the forest reads")
	}
	nodes := unsafe.Pointer(unsafe.SliceData(f.Nodes))
	p := unsafe.Pointer(unsafe.SliceData(row))
	x := func(j int32) float64 { return valueAt(p, uintptr(j)) }
	t := t0
	if treeWalkAsm && f.Special == nil && len(f.Nodes) < 1<<30 {
		for ; t+asmWalks <= t1; t += asmWalks {
			depth := int32(0)
			for _, d := range f.Depth[t : t+asmWalks] {
				depth = max(depth, d)
			}
			if depth > lockstepMaxDepth {
				break
			}
			var idx [asmWalks]int32
			copy(idx[:], f.Roots[t:])
			treeWalk64(&idx[0], int(depth), nodes, p, 1, &rowLanes[0])
			for k, i := range idx {
				leaf[(t+k-t0)*ld] = i
			}
		}
	}
	for t < t1 {
		m := min(rowTrees, t1-t)
		var buf [rowTrees]int32
		idx := buf[:m]
		copy(idx, f.Roots[t:t+m])
		depth := int32(0)
		for _, d := range f.Depth[t : t+m] {
			depth = max(depth, d)
		}
		switch {
		case depth > lockstepMaxDepth:
			for k := range idx {
				idx[k] = f.walkOne(t+k, nodes, x)
			}
		case f.Special == nil:
			treesPlain(idx, int(depth), nodes, p)
		default:
			for range depth {
				var moved int32
				for k, i := range idx {
					j := f.step(nodes, i, x)
					moved |= j ^ i
					idx[k] = j
				}
				if moved == 0 {
					break
				}
			}
		}
		for k, i := range idx {
			leaf[(t+k-t0)*ld] = i
		}
		t += m
	}
}

// treesPlain walks one row (column j at p[j]) through trees from the
// nodes in idx, for up to depth steps.
func treesPlain(idx []int32, depth int, nodes, p unsafe.Pointer) {
	for range depth {
		var moved int32
		for k, i := range idx {
			nd := nodeAt(nodes, i)
			j := b2i(valueAt(p, uintptr(nd.Feat)) > nd.Thr) + nd.Kid
			moved |= j ^ i
			idx[k] = j
		}
		if moved == 0 {
			break
		}
	}
}

// AddLeaves adds the leaf values of trees [t0, t1) for rows [0, n) (leaf
// nodes in leaf, tree-major) into out (rows of f.K values), tree by tree:
// the additions of each row happen in tree order. leaves is f.Leaves, or
// f.Leaves2 for float32 sums.
func AddLeaves[T float32 | float64](f *Forest, t0, t1 int, leaf []int32, n int, out, leaves []T) {
	w, k := f.W, f.K
	nodes := f.Nodes
	for t := t0; t < t1; t++ {
		l := leaf[(t-t0)*n:][:n]
		tgt := int(f.Targets[t])
		switch w {
		case 1:
			for r, i := range l {
				out[r*k+tgt] += T(nodes[i].Thr)
			}
		case 2:
			for r, i := range l {
				src := leaves[int(nodes[i].Thr)*2:][:2]
				dst := out[r*k+tgt:][:2]
				dst[0] += src[0]
				dst[1] += src[1]
			}
		default:
			for r, i := range l {
				src := leaves[int(nodes[i].Thr)*w:][:w]
				dst := out[r*k+tgt:][:w]
				for j, v := range src {
					dst[j] += v
				}
			}
		}
	}
}

// PrepareRows writes rows of src (rows of width values; float32 or
// float64, rounded through float32 when round32) as walked values into dst
// (len rows*f.Stride()): a column-major block (cols) or rows. Plane column
// j is input column Cols[j] (0 when the forest reads none).
func PrepareRows[T float32 | float64](f *Forest, dst []float64, src []T, width, rows int, round32, cols bool) {
	p, s := f.Plane, f.Stride()
	ld, step := rows, 1 // dst index of (r, j): j*ld + r*step
	if !cols {
		ld, step = 1, s
	}
	dst = dst[:rows*s]
	for r := 0; r < rows; r++ {
		in := src[r*width:][:width]
		for j := range p {
			x := 0.0
			if j < len(f.Cols) {
				x = float64(in[f.Cols[j]])
			}
			if round32 {
				x = float64(float32(x))
			}
			dst[j*ld+r*step] = x
			if f.NaNPlane {
				if x != x {
					x = math.Inf(1)
				}
				dst[(p+j)*ld+r*step] = x
			}
		}
		dst[(s-1)*ld+r*step] = math.Inf(-1)
	}
}
