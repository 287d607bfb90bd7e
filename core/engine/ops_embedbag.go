package engine

// EmbeddingBag (torch semantics): each bag's rows of weight reduced by sum
// (optionally weighted), mean or max; padding_idx rows are skipped and not
// counted; an empty bag gives zeros. Indices and offsets are checked as
// they are read: a bad one fails the run, naming it, before any read.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "EmbeddingBag", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindEmbeddingBag)})
}

const (
	bagSum = iota
	bagMean
	bagMax
)

type bagShape struct {
	num, dim  int
	n         int  // index count
	bags      int  // output rows
	fixed     int  // 2-D indices: indices per bag; 0 with offsets
	offsets   int  // offset count (1-D form)
	last      bool // include_last_offset
	mode      int
	padding   int64
	rc        rowChunks
	indexName string
	offName   string
}

type bagExec[T seqFloat] struct {
	bagShape
	x        *RunCtx
	w, psw   []T
	idx, off []int64
	y        []T
}

func bindEmbeddingBag(bc *BindCtx) (Executor, error) {
	ws, is := bc.In[0].Shape, bc.In[1].Shape
	s := bagShape{num: int(ws[0]), dim: int(ws[1]), n: numel(is), bags: int(bc.Out[0].Shape[0]),
		last: bc.Node.Attr("include_last_offset").Int != 0, padding: bc.Node.Attr("padding_idx").Int,
		indexName: bc.In[1].Name}
	s.mode = map[string]int{"sum": bagSum, "mean": bagMean, "max": bagMax}[bc.Node.Attr("mode").String]
	if len(is) == 2 {
		s.fixed = int(is[1])
	} else {
		s.offsets = int(bc.In[2].Shape[0])
		s.offName = bc.In[2].Name
	}
	per := max(1, s.n/max(s.bags, 1))
	s.rc = splitRows(s.bags, per*s.dim, bc.Threads)
	if bc.Out[0].DType == dtype.Float32 {
		return &bagExec[float32]{bagShape: s}, nil
	}
	return &bagExec[float64]{bagShape: s}, nil
}

func (e *bagExec[T]) Run(x *RunCtx, in, out []Buf) {
	e.x, e.w, e.idx, e.y = x, tsl[T](in[0].Host), i64s(in[1].Host), tsl[T](out[0].Host)
	e.off, e.psw = i64s(opt(in, 2)), tsl[T](opt(in, 3))
	if e.rc.count > 0 {
		x.Parallel(e.rc.count, e)
	}
	e.x, e.w, e.idx, e.y, e.off, e.psw = nil, nil, nil, nil, nil, nil
}

// bounds returns bag i's index range, or ok false after failing the run.
func (e *bagExec[T]) bounds(i int) (lo, hi int, ok bool) {
	if e.fixed > 0 || e.off == nil {
		return i * e.fixed, (i + 1) * e.fixed, true
	}
	a := e.off[i]
	b := int64(e.n)
	if i+1 < e.offsets {
		b = e.off[i+1]
	}
	switch {
	case i == 0 && a != 0:
		e.x.Fail(errs.New(errs.InvalidValue, "EmbeddingBag offsets %q: offsets[0] is %d; the first bag must start at 0", e.offName, a))
	case a < 0 || a > int64(e.n):
		e.x.Fail(errs.New(errs.InvalidValue, "EmbeddingBag offsets %q: offsets[%d] = %d is out of range for %d indices", e.offName, i, a, e.n))
	case b < a || b > int64(e.n):
		e.x.Fail(errs.New(errs.InvalidValue, "EmbeddingBag offsets %q: offsets[%d] = %d after offsets[%d] = %d (offsets must be non-decreasing and at most %d, the index count)", e.offName, i+1, b, i, a, e.n))
	default:
		return int(a), int(b), true
	}
	return 0, 0, false
}

func (e *bagExec[T]) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	d := e.dim
	for i := r0; i < r1; i++ {
		lo, hi, ok := e.bounds(i)
		if !ok {
			return
		}
		y := e.y[i*d : (i+1)*d]
		clear(y)
		count := 0
		for p := lo; p < hi; p++ {
			k := e.idx[p]
			if k < 0 || k >= int64(e.num) {
				e.x.Fail(errs.New(errs.InvalidValue, "EmbeddingBag indices %q: index %d (position %d) is out of range for %d rows of weight", e.indexName, k, p, e.num))
				return
			}
			if k == e.padding {
				continue
			}
			row := e.w[int(k)*d : int(k)*d+d]
			switch {
			case e.mode == bagMax && count == 0:
				copy(y, row)
			case e.mode == bagMax:
				for j, v := range row {
					if v > y[j] || v != v {
						y[j] = v
					}
				}
			case e.psw != nil:
				s := e.psw[p]
				for j, v := range row {
					y[j] += s * v
				}
			default:
				for j, v := range row {
					y[j] += v
				}
			}
			count++
		}
		if e.mode == bagMean && count > 0 {
			inv := T(count)
			for j := range y {
				y[j] /= inv
			}
		}
	}
}
