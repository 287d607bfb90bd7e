package engine

// Pad (constant, reflect, edge, wrap) and Resize (torch's nearest and
// (bi)linear interpolation over NCW / NCHW).

import (
	"math"
	"strconv"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "Pad", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindPad)})
	mustRegister(Kernel{Op: "Resize", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindResize)})
}

// Float64s serves constant float32/float64 values to inference (Resize's
// scales): see graph.FloatConsts.
func (c constSource) Float64s(id int) ([]float64, bool, error) {
	v := &c.m.g.Values[id]
	if (v.DType != dtype.Float32 && v.DType != dtype.Float64) || !c.m.isConst(id) {
		return nil, false, nil
	}
	b, _ := c.m.constData(id)
	if b == nil || len(b)/v.DType.Size() > 64 {
		return nil, false, nil
	}
	return decodeFloats(v.DType, b), true, nil
}

func decodeFloats(dt dtype.DType, b []byte) []float64 {
	if dt == dtype.Float32 {
		s := f32s(b)
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = float64(v)
		}
		return out
	}
	return append([]float64(nil), f64s(b)...)
}

type padMode uint8

const (
	padConstant padMode = iota
	padReflect
	padEdge
	padWrap
)

type padExec struct {
	dt         dtype.DType
	mode       padMode
	in, out    []int64
	begin      []int64
	rows, last int // output rows (all axes but the last) and row length
	rc         rowChunks
	x, y, cv   []byte
}

func bindPad(b *BindCtx) (Executor, error) {
	// The schema's inference already resolved and checked the pads at
	// plan time; only their begin offsets are needed, read at run time.
	e := &padExec{dt: b.In[0].DType, in: b.In[0].Shape, out: b.Out[0].Shape}
	switch b.Node.Attr("mode").String {
	case "reflect":
		e.mode = padReflect
	case "edge":
		e.mode = padEdge
	case "wrap":
		e.mode = padWrap
	}
	r := len(e.out)
	if r == 0 {
		e.rows, e.last = 1, 1
	} else {
		e.rows, e.last = numel(e.out[:r-1]), int(e.out[r-1])
	}
	e.begin = make([]int64, r)
	e.rc = splitRows(e.rows, e.last, b.Threads)
	return e, nil
}

func (e *padExec) Run(x *RunCtx, in, out []Buf) {
	pads := i64s(in[1].Host)
	var axes []int64
	if len(in) > 3 && in[3].Host != nil {
		axes = i64s(in[3].Host)
	}
	begin, _, err := graph.PadSpec(pads, axes, len(e.in))
	if err != nil {
		x.Fail(err)
		return
	}
	copy(e.begin, begin)
	e.x, e.y, e.cv = in[0].Host, out[0].Host, opt(in, 2)
	x.Parallel(e.rc.count, e)
	e.x, e.y, e.cv = nil, nil, nil
}

// padIndex maps output coordinate o of an axis to its input coordinate.
func padIndex(o, begin, n int64, mode padMode) (int64, bool) {
	i := o - begin
	if i >= 0 && i < n {
		return i, true
	}
	switch mode {
	case padReflect:
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*(n-1) - i
		}
		return i, i >= 0 && i < n
	case padEdge:
		return min(max(i, 0), n-1), n > 0
	case padWrap:
		if n == 0 {
			return 0, false
		}
		return ((i % n) + n) % n, true
	}
	return 0, false
}

func (e *padExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		padRows(e, r0, r1, f32s)
	} else {
		padRows(e, r0, r1, f64s)
	}
}

func padRows[T kernels.Float](e *padExec, r0, r1 int, view func([]byte) []T) {
	x, y := view(e.x), view(e.y)
	var cv T
	if e.cv != nil {
		cv = view(e.cv)[0]
	}
	r := len(e.out)
	var inLast int64 = 1
	if r > 0 {
		inLast = e.in[r-1]
	}
	for row := r0; row < r1; row++ {
		dst := y[row*e.last : (row+1)*e.last]
		// The input row: map each outer coordinate.
		off, ok := int64(0), true
		rem := row
		stride := inLast
		for d := r - 2; d >= 0; d-- {
			o := int64(rem % int(e.out[d]))
			rem /= int(e.out[d])
			i, in := padIndex(o, e.begin[d], e.in[d], e.mode)
			if !in {
				ok = false
				break
			}
			off += i * stride
			stride *= e.in[d]
		}
		if !ok {
			for k := range dst {
				dst[k] = cv
			}
			continue
		}
		if r == 0 {
			dst[0] = x[0]
			continue
		}
		src := x[off : off+inLast]
		b := e.begin[r-1]
		for k := range dst {
			if i, in := padIndex(int64(k), b, inLast, e.mode); in {
				dst[k] = src[i]
			} else {
				dst[k] = cv
			}
		}
	}
}

type resizeExec struct {
	dt           dtype.DType
	linear       bool
	ctm          string
	useScales    bool
	planes       int
	h, w, oh, ow int
	rh, rw       float64    // source step per output step (torch's scale)
	bits         [2]uint32  // the float32 scales last seen
	scale        [2]float64 // their float64 reading
	rc           rowChunks
	x, y         []byte
}

func bindResize(b *BindCtx) (Executor, error) {
	if err := graph.ResizeMode(b.Node); err != nil {
		return nil, err
	}
	xs, ys := b.In[0].Shape, b.Out[0].Shape
	e := &resizeExec{dt: b.In[0].DType, linear: b.Node.Attr("mode").String == "linear",
		ctm: b.Node.Attr("coordinate_transformation_mode").String, planes: int(xs[0] * xs[1]),
		h: 1, oh: 1, w: int(xs[len(xs)-1]), ow: int(ys[len(ys)-1])}
	if len(xs) == 4 {
		e.h, e.oh = int(xs[2]), int(ys[2])
	}
	e.useScales = len(b.In) > 2 && b.In[2] != nil && numel(b.In[2].Shape) > 0
	e.rc = splitWork(e.planes, e.oh*e.ow, 4, b.Threads)
	return e, nil
}

// resizeStep is torch's area_pixel_compute_scale: the source step per
// output step.
func resizeStep(in, out int, scale float64, alignCorners bool) float64 {
	if alignCorners {
		if out > 1 {
			return float64(in-1) / float64(out-1)
		}
		return 0
	}
	if scale > 0 {
		return 1 / scale
	}
	return float64(in) / float64(out)
}

func (e *resizeExec) Run(x *RunCtx, in, out []Buf) {
	var sh, sw float64
	if e.useScales {
		sc := f32s(in[2].Host)
		sw = e.scaleOf(1, sc[len(sc)-1])
		if len(sc) == 4 {
			sh = e.scaleOf(0, sc[2])
		}
	}
	ac := e.ctm == "align_corners"
	e.rh, e.rw = resizeStep(e.h, e.oh, sh, ac), resizeStep(e.w, e.ow, sw, ac)
	e.x, e.y = in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.x, e.y = nil, nil
}

// scaleOf reads float32 scale v as the float64 the user most likely gave
// torch: its shortest decimal form (float32(0.6) reads as 0.6, not
// 0.60000002). torch computes with the double scale_factor, and 1/scale
// differing in the 8th digit would move float64 results by 1e-7.
func (e *resizeExec) scaleOf(i int, v float32) float64 {
	if b := math.Float32bits(v); b != e.bits[i] || e.scale[i] == 0 {
		e.bits[i] = b
		e.scale[i], _ = strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	}
	return e.scale[i]
}

func (e *resizeExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		resizePlanes(e, r0, r1, f32s)
	} else {
		resizePlanes(e, r0, r1, f64s)
	}
}

// nearestIndex is torch's nearest_idx: floor(dst·scale) in float32, as
// torch computes it for every dtype, clamped to the input.
func nearestIndex(dst, in, out int, step float64) int {
	switch {
	case out == in:
		return dst
	case out == 2*in:
		return dst >> 1
	}
	i := int(math.Floor(float64(float32(dst) * float32(step))))
	return min(i, in-1)
}

// linearIndex is torch's linear source index for output dst: the two
// input neighbours and the weight of the second, in T's arithmetic.
func linearIndex[T kernels.Float](dst, in, out int, step T, ctm string) (i0, i1 int, l T) {
	var src T
	switch ctm {
	case "align_corners":
		src = step * T(dst)
	case "asymmetric":
		src = step * T(dst)
	case "pytorch_half_pixel":
		if out > 1 {
			src = step*(T(dst)+0.5) - 0.5
		}
	default: // half_pixel
		src = step*(T(dst)+0.5) - 0.5
	}
	if src < 0 {
		src = 0
	}
	i0 = int(src)
	l = min(max(src-T(i0), 0), 1)
	if i0 >= in-1 {
		i0 = in - 1
		if src > T(i0) {
			l = 0
		}
	}
	i1 = i0
	if i0 < in-1 {
		i1 = i0 + 1
	}
	return i0, i1, l
}

func resizePlanes[T kernels.Float](e *resizeExec, r0, r1 int, view func([]byte) []T) {
	x, y := view(e.x), view(e.y)
	hw, ohw := e.h*e.w, e.oh*e.ow
	for r := r0; r < r1; r++ {
		src, dst := x[r*hw:(r+1)*hw], y[r*ohw:(r+1)*ohw]
		for a := 0; a < e.oh; a++ {
			orow := dst[a*e.ow : (a+1)*e.ow]
			if !e.linear {
				ih := nearestIndex(a, e.h, e.oh, e.rh)
				irow := src[ih*e.w : (ih+1)*e.w]
				for b := range orow {
					orow[b] = irow[nearestIndex(b, e.w, e.ow, e.rw)]
				}
				continue
			}
			h0, h1, lh := linearIndex(a, e.h, e.oh, T(e.rh), e.ctm)
			if e.oh == 1 && e.h == 1 {
				h0, h1, lh = 0, 0, 0
			}
			ra, rb := src[h0*e.w:(h0+1)*e.w], src[h1*e.w:(h1+1)*e.w]
			for b := range orow {
				w0, w1, lw := linearIndex(b, e.w, e.ow, T(e.rw), e.ctm)
				orow[b] = (1-lh)*((1-lw)*ra[w0]+lw*ra[w1]) + lh*((1-lw)*rb[w0]+lw*rb[w1])
			}
		}
	}
}
