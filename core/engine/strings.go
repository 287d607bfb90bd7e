package engine

// Strings inside a run. A string tensor crosses every boundary packed
// (package strs): stored in the file, passed in, handed out. Inside a run
// each element is a 16-byte reference to its bytes in one of the run's
// string sources — the model's packed string constants, then the run's
// packed string inputs — so the planner sizes string tensors like any
// other, and the ops that only move elements (Gather, Concat, Transpose,
// Reshape, Where, ...) work on them unchanged. A reference holds a source
// index, not an address: arena memory, which the GC does not scan, never
// holds a pointer.
//
// Reference layout: uint32 source, uint32 length, uint64 offset of the
// element's first byte in the source's packed bytes.

import (
	"encoding/binary"
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
)

const refSize = 16

func putRef(b []byte, src int, off, n int64) {
	binary.LittleEndian.PutUint32(b, uint32(src))
	binary.LittleEndian.PutUint32(b[4:], uint32(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
}

// deref returns the bytes a reference names.
func deref(src [][]byte, ref []byte) []byte {
	s := binary.LittleEndian.Uint32(ref)
	n := binary.LittleEndian.Uint32(ref[4:])
	off := binary.LittleEndian.Uint64(ref[8:])
	return src[s][off : off+uint64(n)]
}

// refsOf writes a reference to each element of a checked packed tensor of
// n elements, source src, into refs (16n bytes).
func refsOf(refs, packed []byte, src int, n int64) {
	head := 8 * (n + 1)
	for i := int64(0); i < n; i++ {
		lo := binary.LittleEndian.Uint64(packed[8*i:])
		hi := binary.LittleEndian.Uint64(packed[8*(i+1):])
		putRef(refs[refSize*i:], src, head+int64(lo), int64(hi-lo))
	}
}

// modelStrings is a Model's string constants as run sources. Their text is
// checked and referenced on the first plan, not at open, which stays flat
// in the model's size.
type modelStrings struct {
	once     sync.Once
	err      error
	src      [][]byte // by source: the constants' packed bytes, then a slot per string input
	nconst   int      // the constants' sources: src[:nconst]
	inputSrc []int    // by graph input index: the source of a string input, else -1
}

// strings prepares the model's string constants on first use.
func (m *Model) strings() error {
	ms := &m.strs
	ms.once.Do(func() {
		g := m.g
		for id, v := range g.Values {
			if v.Kind != graph.KindConstant || !v.DType.IsString() {
				continue
			}
			ti, _ := m.file.TensorIndex(v.Name)
			if err := m.file.CheckStrings(ti); err != nil {
				ms.err = err
				return
			}
			packed := m.stored[id]
			n, _ := dtype.NumElements(v.Shape)
			refs := make([]byte, refSize*n)
			refsOf(refs, packed, len(ms.src), n)
			ms.src = append(ms.src, packed)
			m.consts[id] = Buf{Host: refs, Len: int64(len(refs))}
		}
		ms.nconst = len(ms.src)
		ms.inputSrc = make([]int, len(g.Inputs))
		for i, id := range g.Inputs {
			ms.inputSrc[i] = -1
			if g.Values[id].DType.IsString() {
				ms.inputSrc[i] = len(ms.src)
				ms.src = append(ms.src, nil)
			}
		}
	})
	return ms.err
}

// hasStrings reports whether node ni reads or writes a string tensor.
func hasStrings(g *graph.Checked, ni int) bool {
	n := &g.Nodes[ni]
	for _, ids := range [][]int{n.In, n.Out} {
		for _, id := range ids {
			if id >= 0 && g.Values[id].DType.IsString() {
				return true
			}
		}
	}
	return false
}

// stringInput checks a caller's packed string input and writes its
// references into the input's staging memory.
func (s *Session) stringInput(i int, t *Tensor) (Buf, error) {
	n, _ := dtype.NumElements(t.Shape())
	if err := strs.Check(t.Data, n, errs.InvalidString); err != nil {
		return Buf{}, err
	}
	st := &s.staging[i]
	need := refSize * n
	if st.Len < need {
		s.m.backend.Free(st)
		if budget := s.maxMemory - s.held(); need > budget {
			return Buf{}, errs.New(errs.NoMemoryLimit, "its %d strings need %d bytes of references; %d remain under the session's memory limit", n, need, budget)
		}
		b, err := s.m.backend.Alloc(need)
		if err != nil {
			return Buf{}, err
		}
		*st = b
	}
	src := s.m.strs.inputSrc[i]
	s.strSrc[src] = t.Data
	refsOf(st.Host, t.Data, src, n)
	return Buf{Host: st.Host[:need:need], Len: need}, nil
}

// stringOutput packs output o's references into its caller's buffer,
// having alloc provide one when it has none. It sets t.NBytes.
func (s *Session) stringOutput(t *Tensor, i int, refs Buf, alloc AllocFunc) error {
	n := refs.Len / refSize
	size, _ := strs.HeaderSize(n)
	for k := int64(0); k < n; k++ {
		size += int64(binary.LittleEndian.Uint32(refs.Host[refSize*k+4:]))
	}
	t.NBytes = size
	if t.Data == nil && alloc != nil {
		if held := s.held(); size > s.maxMemory-held {
			return errs.New(errs.NoMemoryLimit, "output %d needs %d bytes and the session holds %d; the memory limit is %d", i, size, held, s.maxMemory)
		}
		b, err := alloc(i, t, size)
		if err != nil {
			return err
		}
		t.Data = b
	}
	if int64(len(t.Data)) < size {
		return errs.New(errs.BufferTooSmall, "needs %d bytes (packed strings); the buffer holds %d", size, len(t.Data))
	}
	strs.PackInto(t.Data[:size], int(n), func(k int) []byte { return deref(s.strSrc, refs.Host[refSize*k:]) })
	t.Data = t.Data[:size]
	return nil
}

// Str returns the bytes of the string element whose reference is ref.
// Kernels that read text call it; the bytes must not be written.
func (x *RunCtx) Str(ref []byte) []byte { return deref(x.strs, ref) }
