package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomForest builds trees of plain nodes laid out as Compile lays them
// out (breadth-first, children adjacent, leaves reading the -Inf column),
// of depth up to maxDepth, reading plane columns (with a NaN plane).
func randomForest(rng *rand.Rand, trees, maxDepth, plane int) *Forest {
	f := &Forest{W: 1, K: 1, Plane: plane, NaNPlane: true}
	for j := range plane {
		f.Cols = append(f.Cols, int32(j))
	}
	for range trees {
		base := int32(len(f.Nodes))
		f.Roots = append(f.Roots, base)
		f.Targets = append(f.Targets, 0)
		type item struct{ depth int }
		queue := []item{{0}}
		depth := 0
		for q := 0; q < len(queue); q++ {
			d := queue[q].depth
			at := base + int32(q)
			if d == maxDepth || (d > 0 && rng.IntN(4) == 0) {
				f.Nodes = append(f.Nodes, TreeNode{Thr: rng.NormFloat64(), Feat: f.LeafColumn(), Kid: at})
				depth = max(depth, d)
				continue
			}
			feat := int32(rng.IntN(2 * plane))
			f.Nodes = append(f.Nodes, TreeNode{Thr: rng.NormFloat64(), Feat: feat, Kid: base + int32(len(queue))})
			queue = append(queue, item{d + 1}, item{d + 1})
		}
		f.Depth = append(f.Depth, int32(depth))
	}
	return f
}

// refLeaf walks tree t one node at a time (x reads column j) to its leaf:
// the plain rule, written out without layouts or lockstep.
func refLeaf(f *Forest, t int, x func(j int32) float64) int32 {
	i := f.Roots[t]
	for {
		nd := f.Nodes[i]
		next := nd.Kid
		if x(nd.Feat) > nd.Thr {
			next++
		}
		if next == i {
			return i
		}
		i = next
	}
}

// walks runs check with the Go walk, then with the assembly walk where
// this CPU has it, restoring the choice afterwards.
func walks(t *testing.T, check func(name string)) {
	asm := treeWalkAsm
	defer func() { treeWalkAsm = asm }()
	treeWalkAsm = false
	check("Go")
	if asm {
		treeWalkAsm = true
		check("asm")
	}
}

// TestWalkBlock checks the block walks against refLeaf on blocks whose
// sizes cover the 8-row and 64-row groups and the tails after them.
func TestWalkBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ trees, depth, plane, rows int }{{5, 6, 3, 32}, {7, 12, 5, 77}, {3, 20, 2, 256}, {9, 1, 1, 64}, {4, 0, 1, 40}} {
		f := randomForest(rng, c.trees, c.depth, c.plane)
		src := make([]float64, c.rows*c.plane)
		for i := range src {
			switch rng.IntN(10) {
			case 0:
				src[i] = math.NaN()
			case 1:
				src[i] = math.Inf(1 - 2*rng.IntN(2))
			default:
				src[i] = rng.NormFloat64()
			}
		}
		cols := make([]float64, c.rows*f.Stride())
		PrepareRows(f, cols, src, c.plane, c.rows, false, true)
		walks(t, func(name string) {
			got := make([]int32, c.trees*c.rows)
			f.WalkBlock(0, c.trees, cols, c.rows, got)
			for i, n := range got {
				tr, r := i/c.rows, i%c.rows
				if want := refLeaf(f, tr, func(j int32) float64 { return cols[int(j)*c.rows+r] }); n != want {
					t.Fatalf("%s walk %+v: tree %d row %d reached node %d, want %d", name, c, tr, r, n, want)
				}
			}
		})
	}
}

// TestWalkRow checks the walks of one row through many trees against
// refLeaf.
func TestWalkRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ trees, depth, plane int }{{64, 6, 3}, {150, 14, 5}, {70, 1, 1}, {200, 0, 2}} {
		f := randomForest(rng, c.trees, c.depth, c.plane)
		for range 20 {
			src := make([]float64, c.plane)
			for i := range src {
				src[i] = rng.NormFloat64()
				if rng.IntN(8) == 0 {
					src[i] = math.NaN()
				}
			}
			row := make([]float64, f.Stride())
			PrepareRows(f, row, src, c.plane, 1, false, false)
			walks(t, func(name string) {
				got := make([]int32, c.trees)
				f.WalkRow(0, c.trees, row, got, 1)
				for tr, n := range got {
					if want := refLeaf(f, tr, func(j int32) float64 { return row[j] }); n != want {
						t.Fatalf("%s walk %+v: tree %d reached node %d, want %d", name, c, tr, n, want)
					}
				}
			})
		}
	}
}
