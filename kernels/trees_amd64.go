//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// treeWalk64 (trees_amd64.s) takes 64 walks from the nodes in idx for up
// to depth steps through trees of plain nodes only, stopping when no walk
// moved, and writes the nodes reached back to idx. Walk k reads column j
// at p[j*n+lanes[k]]: 64 rows of a column-major block (n rows, lanes
// 0..63), or one row through 64 trees (n = 1, lanes 0). Node indices
// times 2 must fit in int32 (the gathers' index lanes): forests of 2^30
// nodes or more use the Go walk.
//
//go:noescape
func treeWalk64(idx *int32, depth int, nodes, p unsafe.Pointer, n int, lanes *int32)

// treeWalkAsm reports whether treeWalk64 runs on this CPU (AVX-512 F+VL);
// tests turn it off to compare with the Go walk.
var treeWalkAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
