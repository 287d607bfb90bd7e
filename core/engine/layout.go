package engine

import (
	"cmp"
	"slices"
)

// greedyMaxBuffers is the buffer count up to which the layout uses
// greedy-by-size placement (best packing, quadratic time in the worst case);
// larger plans use a best-fit sweep in O(n log n).
const greedyMaxBuffers = 2048

// lifetime is one buffer to place: size bytes live from step start to step
// end, inclusive.
type lifetime struct {
	id         int // value id, or -1 - step index for a step's scratch
	size       int64
	start, end int
	off        int64
}

// layout assigns arena offsets to every computed, non-alias value and every
// step's scratch. A value lives from the step that writes it to the last
// step that reads it (or one of its aliases); graph outputs live to the end.
func (p *plan) layout(outputs []int) {
	var bufs []lifetime
	index := make(map[int]int) // value id → position in bufs
	for si, st := range p.steps {
		for _, id := range st.res {
			if id < 0 || p.alias[id] >= 0 {
				continue
			}
			index[id] = len(bufs)
			bufs = append(bufs, lifetime{id: id, size: alignUp(p.bytes[id]), start: si, end: si})
		}
		if st.scratch > 0 {
			bufs = append(bufs, lifetime{id: -1 - si, size: alignUp(st.scratch), start: si, end: si})
		}
	}
	extend := func(id, at int) {
		if i, ok := index[rootOf(p.alias, id)]; ok && at > bufs[i].end {
			bufs[i].end = at
		}
	}
	for si, st := range p.steps {
		for _, id := range st.args {
			if id >= 0 {
				extend(id, si)
			}
		}
	}
	for _, id := range outputs {
		extend(id, len(p.steps))
	}
	for _, b := range bufs {
		p.naive += b.size
	}
	// In place: an elementwise step whose input dies at that step writes
	// its output over it. The output then lives in the input's buffer.
	shared := map[int]int{} // output value id → the value whose buffer it uses
	for si, st := range p.steps {
		ip, ok := st.exec.(inPlacer)
		if !ok {
			continue
		}
		a := ip.inPlaceArg()
		if a < 0 || st.args[a] < 0 || st.res[0] < 0 {
			continue
		}
		in, out := rootOf(p.alias, st.args[a]), st.res[0]
		bi, okIn := index[in]
		bo, okOut := index[out]
		if !okIn || !okOut || bufs[bi].end != si || bufs[bi].size != bufs[bo].size || bufs[bi].size == 0 {
			continue
		}
		bufs[bi].end = bufs[bo].end
		bufs[bo].size = 0 // placed nowhere: it is the input's buffer
		index[out] = bi
		shared[out] = in
	}
	if len(bufs) <= greedyMaxBuffers {
		p.arena = placeGreedy(bufs)
	} else {
		p.arena = placeSweep(bufs, len(p.steps)+1)
	}
	for _, b := range bufs {
		switch {
		case b.id < 0:
			p.steps[-1-b.id].scratchOff = b.off
		case b.size > 0 || p.bytes[b.id] == 0:
			p.offset[b.id] = b.off
		}
	}
	// In step order, so that a chain of in-place steps resolves to its first buffer.
	for si := range p.steps {
		for _, id := range p.steps[si].res {
			if src, ok := shared[id]; ok {
				p.offset[id] = p.offset[src]
			}
		}
	}
}

// inPlacer is an elementwise executor that may write its output over one
// of its inputs: element i is read before it is written, and nothing else
// reads that input's elements at other positions.
type inPlacer interface {
	// inPlaceArg returns the argument whose buffer the output may share
	// (same size), or -1.
	inPlaceArg() int
}

func alignUp(n int64) int64 { return (n + arenaAlign - 1) &^ (arenaAlign - 1) }

// placeGreedy places buffers largest first at the lowest offset that does
// not collide with an already placed buffer whose lifetime overlaps
// (TFLite's greedy-by-size) and returns the peak.
func placeGreedy(bufs []lifetime) int64 {
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(bufs[j].size, bufs[i].size) })
	// placed is sorted by offset, so one pass finds the lowest gap among the
	// buffers whose lifetimes overlap b's.
	type span struct {
		off, size  int64
		start, end int
	}
	placed := make([]span, 0, len(bufs))
	var peak int64
	for _, i := range order {
		b := &bufs[i]
		if b.size == 0 {
			continue
		}
		var off int64
		for _, q := range placed {
			if q.start > b.end || b.start > q.end {
				continue
			}
			if off+b.size <= q.off {
				break
			}
			off = max(off, q.off+q.size)
		}
		b.off = off
		at, _ := slices.BinarySearchFunc(placed, off, func(q span, o int64) int { return cmp.Compare(q.off, o) })
		placed = slices.Insert(placed, at, span{off, b.size, b.start, b.end})
		peak = max(peak, off+b.size)
	}
	return peak
}

// placeSweep walks the steps in order, like a memory allocator: buffers
// that start at a step take the best-fitting free gap (or the top of the
// arena), then buffers that end there are freed and merged with free
// neighbours. O(n log n) in the number of buffers; returns the peak.
func placeSweep(bufs []lifetime, steps int) int64 {
	byStart := make([][]int, steps)
	byEnd := make([][]int, steps)
	for i, b := range bufs {
		if b.size == 0 {
			continue
		}
		byStart[b.start] = append(byStart[b.start], i)
		byEnd[b.end] = append(byEnd[b.end], i)
	}
	var a sweepAlloc
	a.init()
	for s := 0; s < steps; s++ {
		// Larger first packs better within one step.
		slices.SortFunc(byStart[s], func(i, j int) int { return cmp.Compare(bufs[j].size, bufs[i].size) })
		for _, i := range byStart[s] {
			bufs[i].off = a.alloc(bufs[i].size)
		}
		for _, i := range byEnd[s] {
			a.free(bufs[i].off, bufs[i].size)
		}
	}
	return a.peak
}

// sweepAlloc is a best-fit allocator over offsets: free gaps below the top
// are kept in a treap ordered by (size, offset) and indexed by both ends so
// frees merge with their neighbours.
type sweepAlloc struct {
	top, peak int64
	gaps      gapTreap
	gapAt     map[int64]int64 // gap offset → size
	gapEnd    map[int64]int64 // gap end → offset
}

func (a *sweepAlloc) init() {
	a.gapAt, a.gapEnd = map[int64]int64{}, map[int64]int64{}
	a.gaps.seed = 0x9e3779b97f4a7c15
}

func (a *sweepAlloc) alloc(size int64) int64 {
	if off, gsize, ok := a.gaps.ceiling(size); ok {
		a.removeGap(off, gsize)
		if gsize > size {
			a.addGap(off+size, gsize-size)
		}
		return off
	}
	// No gap fits: grow at the top, starting in a gap that touches it.
	off := a.top
	if goff, ok := a.gapEnd[a.top]; ok {
		a.removeGap(goff, a.top-goff)
		off = goff
	}
	a.top = off + size
	a.peak = max(a.peak, a.top)
	return off
}

func (a *sweepAlloc) free(off, size int64) {
	if goff, ok := a.gapEnd[off]; ok { // merge with the gap below
		a.removeGap(goff, off-goff)
		off, size = goff, size+off-goff
	}
	if gsize, ok := a.gapAt[off+size]; ok { // and the gap above
		a.removeGap(off+size, gsize)
		size += gsize
	}
	if off+size == a.top {
		a.top = off
		return
	}
	a.addGap(off, size)
}

func (a *sweepAlloc) addGap(off, size int64) {
	a.gapAt[off], a.gapEnd[off+size] = size, off
	a.gaps.insert(off, size)
}

func (a *sweepAlloc) removeGap(off, size int64) {
	delete(a.gapAt, off)
	delete(a.gapEnd, off+size)
	a.gaps.remove(off, size)
}

// gapTreap is a treap of gaps ordered by (size, offset).
type gapTreap struct {
	root *gapNode
	seed uint64
}

type gapNode struct {
	off, size int64
	prio      uint64
	l, r      *gapNode
}

func gapLess(s1, o1, s2, o2 int64) bool { return s1 < s2 || (s1 == s2 && o1 < o2) }

func (t *gapTreap) rand() uint64 {
	t.seed ^= t.seed << 13
	t.seed ^= t.seed >> 7
	t.seed ^= t.seed << 17
	return t.seed
}

// split cuts n into the nodes before (size, off) and the rest.
func split(n *gapNode, size, off int64) (l, r *gapNode) {
	if n == nil {
		return nil, nil
	}
	if gapLess(n.size, n.off, size, off) {
		n.r, r = split(n.r, size, off)
		return n, r
	}
	l, n.l = split(n.l, size, off)
	return l, n
}

func merge(l, r *gapNode) *gapNode {
	switch {
	case l == nil:
		return r
	case r == nil:
		return l
	case l.prio > r.prio:
		l.r = merge(l.r, r)
		return l
	}
	r.l = merge(l, r.l)
	return r
}

func (t *gapTreap) insert(off, size int64) {
	l, r := split(t.root, size, off)
	t.root = merge(merge(l, &gapNode{off: off, size: size, prio: t.rand()}), r)
}

func (t *gapTreap) remove(off, size int64) {
	l, r := split(t.root, size, off)
	_, r = split(r, size, off+1) // the node (size, off) itself
	t.root = merge(l, r)
}

// ceiling returns the smallest gap of at least size bytes (lowest offset
// among equals).
func (t *gapTreap) ceiling(size int64) (off, gsize int64, ok bool) {
	for n := t.root; n != nil; {
		if n.size >= size {
			off, gsize, ok = n.off, n.size, true
			n = n.l
		} else {
			n = n.r
		}
	}
	return off, gsize, ok
}
