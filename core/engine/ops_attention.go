package engine

// Attention (ONNX opset 23, 4-D form): Y = softmax(scale·Q·Kᵀ + mask)·V per
// (batch, query head), the key/value head shared by Hq/Hkv query heads.
// Fused per block of queries: the block's scores live in the worker's
// scratch (sized to stay in cache) between the two GEMMs, so the
// [Sq, Sk] matrix never reaches memory; rows are normalized after the
// product with V. Parallel over (batch, head, block).

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/kernels"
	"github.com/mle-runtime/mle/kernels/vmath"
)

func init() {
	mustRegister(Kernel{Op: "Attention", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindAttention)})
}

// attnBlockElems bounds a query block's score matrix (elements): 64 KiB of
// float32 stays in L2 next to the K and V panels.
const attnBlockElems = 16384

// attnShape is a bound Attention's sizes.
type attnShape struct {
	b, hq, hkv, sq, sk, d, dv int
	scale                     float64
	causal                    bool
	maskKind                  uint8 // 0 none, 1 bool, 2 float
	ms                        [4]int
	qb, blocks                int // queries per block, blocks per head
	rc                        rowChunks
}

type attnExec[T seqFloat] struct {
	attnShape
	q, k, v, y, fmask []T
	bmask             []byte
}

func bindAttention(bc *BindCtx) (Executor, error) {
	qs, ks, vs := bc.In[0].Shape, bc.In[1].Shape, bc.In[2].Shape
	s := attnShape{b: int(qs[0]), hq: int(qs[1]), sq: int(qs[2]), d: int(qs[3]),
		hkv: int(ks[1]), sk: int(ks[2]), dv: int(vs[3]), causal: bc.Node.Attr("is_causal").Int != 0}
	s.scale = 1 / math.Sqrt(float64(s.d))
	if bc.Node.HasAttr("scale") {
		s.scale = bc.Node.Attr("scale").Float
	}
	if len(bc.In) > 3 && bc.In[3] != nil {
		m := bc.In[3]
		s.maskKind = 2
		if m.DType == dtype.Bool {
			s.maskKind = 1
		}
		// Strides of the mask broadcast to [B, Hq, Sq, Sk]: 0 on broadcast dims.
		stride := 1
		for i := len(m.Shape) - 1; i >= 0; i-- {
			if m.Shape[i] != 1 {
				s.ms[4-len(m.Shape)+i] = stride
			}
			stride *= int(m.Shape[i])
		}
	}
	s.qb = max(1, min(s.sq, attnBlockElems/max(s.sk, 1)))
	if s.qb >= 32 {
		s.qb &^= 15
	}
	heads := s.b * s.hq
	for s.qb > 16 && heads*ceilDiv(s.sq, s.qb) < 4*bc.Threads {
		s.qb = (s.qb/2 + 15) &^ 15
	}
	s.blocks = ceilDiv(s.sq, s.qb)
	s.rc = splitWork(heads*s.blocks, s.qb*max(s.sk, 1), 1+(s.d+s.dv)/4, bc.Threads)
	if bc.Out[0].DType == dtype.Float32 {
		return &attnExec[float32]{attnShape: s}, nil
	}
	return &attnExec[float64]{attnShape: s}, nil
}

func ceilDiv(n, d int) int { return (n + d - 1) / d }

func (e *attnExec[T]) Run(x *RunCtx, in, out []Buf) {
	e.q, e.k, e.v, e.y = tsl[T](in[0].Host), tsl[T](in[1].Host), tsl[T](in[2].Host), tsl[T](out[0].Host)
	switch e.maskKind {
	case 1:
		e.bmask = in[3].Host
	case 2:
		e.fmask = tsl[T](in[3].Host)
	}
	if e.rc.count > 0 {
		x.Parallel(e.rc.count, e)
	}
	e.q, e.k, e.v, e.y, e.fmask, e.bmask = nil, nil, nil, nil, nil, nil
}

// scratchT returns w's scratch of n elements of T.
func scratchT[T seqFloat](w *kernels.Worker, n int) []T {
	if _, ok := any(T(0)).(float32); ok {
		return any(w.Float32s(n)).([]T)
	}
	return any(w.Float64s(n)).([]T)
}

func (e *attnExec[T]) RunChunk(c int, w *kernels.Worker) {
	t0, t1 := e.rc.bounds(c)
	group := e.hq / max(e.hkv, 1)
	negInf := T(math.Inf(-1))
	for task := t0; task < t1; task++ {
		bh, blk := task/e.blocks, task%e.blocks
		b, h := bh/e.hq, bh%e.hq
		kvh := b*e.hkv + h/group
		q0 := blk * e.qb
		q1 := min(q0+e.qb, e.sq)
		m, nk := q1-q0, e.sk
		if e.causal {
			nk = min(nk, q1) // later keys are masked for every query of the block
		}
		q := e.q[(bh*e.sq+q0)*e.d:]
		y := e.y[(bh*e.sq+q0)*e.dv:]
		if nk == 0 {
			// No key at all: softmax over nothing; torch's sum is empty too.
			clear(y[:m*e.dv])
			continue
		}
		buf := scratchT[T](w, m*nk+m)
		s, inv := buf[:m*nk], buf[m*nk:]
		gemmNT(w, m, nk, e.d, T(e.scale), q, e.d, e.k[kvh*e.sk*e.d:], e.d, true, s, nk)
		for i := 0; i < m; i++ {
			row, qi := s[i*nk:(i+1)*nk], q0+i
			if e.causal {
				for j := qi + 1; j < nk; j++ {
					row[j] = negInf
				}
			}
			if e.maskKind != 0 && e.applyMask(row, b, h, qi) {
				// Every key masked: torch's safe softmax gives zeros, not NaN.
				clear(row)
				inv[i] = 0
				continue
			}
			// exp(s − max), normalized after the product with V: Dv
			// values per row to scale rather than Sk.
			inv[i] = T(1 / expSubT(row, rowMax(row)))
		}
		gemmNT(w, m, e.dv, nk, 1, s, nk, e.v[kvh*e.sk*e.dv:], e.dv, false, y, e.dv)
		for i := 0; i < m; i++ {
			yr, f := y[i*e.dv:(i+1)*e.dv], inv[i]
			for j := range yr {
				yr[j] *= f
			}
		}
	}
}

// rowMax returns the largest element of row, ignoring NaN (a NaN still
// makes the row's sum, and so its output, NaN). Plain compares: the max
// builtin's NaN and signed-zero handling cost three times as much.
func rowMax[T seqFloat](row []T) T {
	if r, ok := any(row).([]float32); ok {
		// 16 lanes: the scores' max was a tenth of a long sequence's run.
		// −Inf (all masked, or all NaN) takes the loop below, which tells
		// the two apart as before.
		if m := kernels.Max32(r); !math.IsInf(float64(m), -1) {
			return T(m)
		}
	}
	m0, m1, m2, m3 := row[0], row[0], row[0], row[0]
	j := 0
	for ; j+4 <= len(row); j += 4 {
		r := row[j : j+4 : j+4]
		if r[0] > m0 {
			m0 = r[0]
		}
		if r[1] > m1 {
			m1 = r[1]
		}
		if r[2] > m2 {
			m2 = r[2]
		}
		if r[3] > m3 {
			m3 = r[3]
		}
	}
	for ; j < len(row); j++ {
		if row[j] > m0 {
			m0 = row[j]
		}
	}
	if m1 > m0 {
		m0 = m1
	}
	if m3 > m2 {
		m2 = m3
	}
	if m2 > m0 {
		m0 = m2
	}
	return m0
}

// expSubT sets row = e^(row − mx) and returns the sum (vmath's kernels).
func expSubT[T seqFloat](row []T, mx T) float64 {
	switch r := any(row).(type) {
	case []float32:
		return vmath.ExpSub32(r, r, float32(mx))
	case []float64:
		return vmath.ExpSub64(r, r, float64(mx))
	}
	return 0
}

// gemmNT is C = alpha·A·op(B) on the calling goroutine (the chunks are the
// parallelism).
func gemmNT[T seqFloat](w *kernels.Worker, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, transB bool, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		kernels.Sgemm(nil, w, false, transB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, 0, any(c).([]float32), ldc)
	case []float64:
		kernels.Dgemm(nil, w, false, transB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, 0, any(c).([]float64), ldc)
	}
}

// applyMask adds the mask's row for query qi of (b, h) to row and reports
// whether it masked every key.
func (e *attnExec[T]) applyMask(row []T, b, h, qi int) bool {
	negInf := T(math.Inf(-1))
	base, sj := b*e.ms[0]+h*e.ms[1]+qi*e.ms[2], e.ms[3]
	all := true
	if e.maskKind == 1 {
		for j := range row {
			if e.bmask[base+j*sj] == 0 {
				row[j] = negInf
			} else if row[j] != negInf {
				all = false
			}
		}
		return all
	}
	for j := range row {
		row[j] += e.fmask[base+j*sj]
		if row[j] != negInf {
			all = false
		}
	}
	return all
}
