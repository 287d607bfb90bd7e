//go:build !amd64 || purego

package kernels

import "unsafe"

// treeWalkAsm is false: there is no assembly walk on this platform.
var treeWalkAsm = false

func treeWalk64(idx *int32, depth int, nodes, p unsafe.Pointer, n int, lanes *int32) {
	panic("kernels: treeWalk64 has no assembly on this platform")
}
