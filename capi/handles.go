package main

import "sync"

// handleKind tags a handle with the type of object it names, so a session
// handle passed as a model is refused rather than misused.
type handleKind uint8

const (
	kindModel handleKind = iota + 1
	kindSession
	kindBuilder
)

// A handle is what C sees as mle_model* etc.: kind (8 bits) | generation
// (24 bits) | slot index + 1 (32 bits). It is never dereferenced; freed,
// forged and stale handles fail the generation check.
type handle uint64

type slot struct {
	kind handleKind
	gen  uint32
	obj  any
}

// handleTable maps handles to Go objects. Go pointers never cross into C.
type handleTable struct {
	mu    sync.RWMutex
	slots []slot
	free  []uint32
}

var handles handleTable

const genMask = 1<<24 - 1

func (t *handleTable) put(k handleKind, obj any) handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	var idx uint32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		idx = uint32(len(t.slots))
		t.slots = append(t.slots, slot{gen: 1})
	}
	s := &t.slots[idx]
	s.kind, s.obj = k, obj
	return handle(uint64(k)<<56 | uint64(s.gen)<<32 | uint64(idx+1))
}

func (t *handleTable) find(k handleKind, h handle) (*slot, bool) {
	idx := uint64(h&0xffffffff) - 1
	if handleKind(h>>56) != k || idx >= uint64(len(t.slots)) {
		return nil, false
	}
	s := &t.slots[idx]
	if s.obj == nil || s.kind != k || s.gen != uint32(h>>32)&genMask {
		return nil, false
	}
	return s, true
}

// get returns the object a live handle names.
func (t *handleTable) get(k handleKind, h handle) (any, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.find(k, h)
	if !ok {
		return nil, false
	}
	return s.obj, true
}

// remove invalidates h and returns the object it named.
func (t *handleTable) remove(k handleKind, h handle) (any, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, found := t.find(k, h)
	if !found {
		return nil, false
	}
	obj := s.obj
	s.obj = nil
	s.gen = (s.gen + 1) & genMask
	if s.gen == 0 {
		s.gen = 1
	}
	t.free = append(t.free, uint32(h&0xffffffff)-1)
	return obj, true
}
