package serve

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/mle-runtime/mle/core/engine"
)

// resultCache keeps inference results under a byte budget, keyed by the
// SHA-256 of the model file's digest, the requested outputs and the input
// tensors (dtype, shape, bytes). Models are deterministic, so a hit is the
// answer the run would give. It is off unless --result-cache-bytes is set.
type resultCache struct {
	mu      sync.Mutex
	budget  int64
	used    int64
	entries map[[32]byte]*list.Element
	lru     list.List // front: most recently used
}

type cached struct {
	key  [32]byte
	outs []engine.Tensor // private copies
	size int64
}

func newResultCache(budget int64) *resultCache {
	return &resultCache{budget: budget, entries: map[[32]byte]*list.Element{}}
}

// resultKey hashes what determines a result.
func resultKey(model [32]byte, inputs []engine.Tensor, which []int) [32]byte {
	h := sha256.New()
	h.Write(model[:])
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(which)))
	for _, w := range which {
		b = binary.AppendUvarint(b, uint64(w))
	}
	for _, t := range inputs {
		b = binary.AppendUvarint(b, uint64(t.DType))
		b = binary.AppendUvarint(b, uint64(t.Rank))
		for _, d := range t.Shape() {
			b = binary.AppendUvarint(b, uint64(d))
		}
		b = binary.AppendUvarint(b, uint64(len(t.Data)))
		h.Write(b)
		b = b[:0]
		h.Write(t.Data)
	}
	h.Write(b)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// get returns the cached outputs for key (shared: callers must not write
// them).
func (c *resultCache) get(key [32]byte) ([]engine.Tensor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cached).outs, true
}

// put stores a copy of outs; results over an eighth of the budget are not
// kept, so that one large answer cannot flush the cache.
func (c *resultCache) put(key [32]byte, outs []engine.Tensor) {
	size := int64(64)
	for _, o := range outs {
		size += int64(len(o.Data)) + 64
	}
	if size > c.budget/8 {
		return
	}
	cp := make([]engine.Tensor, len(outs))
	for i, o := range outs {
		cp[i] = o
		cp[i].Data = slices.Clone(o.Data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	c.entries[key] = c.lru.PushFront(&cached{key: key, outs: cp, size: size})
	c.used += size
	for c.used > c.budget {
		last := c.lru.Back()
		e := last.Value.(*cached)
		c.lru.Remove(last)
		delete(c.entries, e.key)
		c.used -= e.size
	}
}

func (c *resultCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// fileDigest is the SHA-256 of a model file: results cached under one
// version's file never answer for another.
func fileDigest(path string) ([32]byte, error) {
	var d [32]byte
	f, err := os.Open(path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return d, err
	}
	h.Sum(d[:0])
	return d, nil
}
