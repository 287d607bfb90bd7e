package main

import (
	"crypto/rand"
	"encoding/binary"
	"sync"

	"github.com/mle-runtime/mle/core/errs"
)

// handleKind tags a handle with the type of object it names, so a session
// handle passed as a model is refused rather than misused.
type handleKind uint8

const (
	kindModel handleKind = iota + 1
	kindSession
	kindBuilder
)

// A handle is what C sees as mle_model* etc.: kind (8 bits) | tag (32 bits)
// | slot index + 1 (24 bits). It is never dereferenced. The tag is random
// and drawn anew whenever a slot is reused, so freed, stale, forged and
// guessed handles fail the lookup (one guess in 2^32 could pass).
type handle uint64

const (
	slotBits = 24
	maxSlots = 1<<slotBits - 1
)

type slot struct {
	kind handleKind
	tag  uint32
	obj  any
}

// handleTable maps handles to Go objects. Go pointers never cross into C.
type handleTable struct {
	mu    sync.RWMutex
	slots []slot
	free  []uint32
	rnd   [256]byte // random tags, refilled from crypto/rand
	used  int
}

var handles = handleTable{used: 256}

// newTag returns a random non-zero tag. t.mu is held.
func (t *handleTable) newTag() uint32 {
	for {
		if t.used+4 > len(t.rnd) {
			_, _ = rand.Read(t.rnd[:]) // never fails on Linux (Go ≥ 1.24 aborts instead)
			t.used = 0
		}
		v := binary.LittleEndian.Uint32(t.rnd[t.used:])
		t.used += 4
		if v != 0 {
			return v
		}
	}
}

func (t *handleTable) put(k handleKind, obj any) (handle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var idx uint32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		if len(t.slots) >= maxSlots {
			return 0, errs.New(errs.NoMemoryLimit, "%d handles are open; free some", maxSlots)
		}
		idx = uint32(len(t.slots))
		t.slots = append(t.slots, slot{})
	}
	s := &t.slots[idx]
	s.kind, s.obj, s.tag = k, obj, t.newTag()
	return handle(uint64(k)<<56 | uint64(s.tag)<<slotBits | uint64(idx+1)), nil
}

func (t *handleTable) find(k handleKind, h handle) (*slot, bool) {
	idx := uint64(h&maxSlots) - 1
	if handleKind(h>>56) != k || idx >= uint64(len(t.slots)) {
		return nil, false
	}
	s := &t.slots[idx]
	if s.obj == nil || s.kind != k || s.tag != uint32(h>>slotBits) {
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
	s.obj, s.tag = nil, 0
	t.free = append(t.free, uint32(h&maxSlots)-1)
	return obj, true
}
