package graph

// Tensor-manipulation ops (ONNX opset 21 semantics): Shape, Size, Slice,
// Split, Squeeze, Unsqueeze, Expand, Tile, Range, ConstantOfShape, Trilu,
// CumSum, TopK, the logical ops, Min/Max, Mod and the ordered comparisons.
//
// Shape-taking inputs (Slice's starts, Expand's shape, ...) are read with
// consts.Int64s. When one is not constant at check time (computed from
// other shapes; the planner evaluates those), the dims it decides are
// Dynamic; the output rank must still be known, so the input's own length
// must be.

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

var (
	boolTypes  = []dtype.DType{dtype.Bool}
	int64Types = []dtype.DType{dtype.Int64}
)

func init() {
	register(&OpSchema{Name: "Shape", MinInputs: 1, MaxInputs: 1, Types: anyType,
		Attrs: []AttrSpec{intAttr("start", 0), intAttr("end", math.MaxInt64)}, infer: inferShape})
	register(&OpSchema{Name: "Size", MinInputs: 1, MaxInputs: 1, Types: anyType, infer: inferSize})
	register(&OpSchema{Name: "Slice", MinInputs: 3, MaxInputs: 5, Types: anyType, infer: inferSlice})
	register(&OpSchema{Name: "Split", MinInputs: 1, MaxInputs: 2, MinOutputs: 1, MaxOutputs: 1 << 16, Types: anyType,
		Attrs: []AttrSpec{intAttr("axis", 0), intAttr("num_outputs", 0)}, infer: inferSplit})
	register(&OpSchema{Name: "Squeeze", MinInputs: 1, MaxInputs: 2, Types: anyType, infer: inferSqueeze})
	register(&OpSchema{Name: "Unsqueeze", MinInputs: 2, MaxInputs: 2, Types: anyType, infer: inferUnsqueeze})
	register(&OpSchema{Name: "Expand", MinInputs: 2, MaxInputs: 2, Types: anyType, infer: inferExpand})
	register(&OpSchema{Name: "Tile", MinInputs: 2, MaxInputs: 2, Types: anyType, infer: inferTile})
	register(&OpSchema{Name: "Range", MinInputs: 3, MaxInputs: 3, Types: numericTypes, infer: inferRange})
	// ONNX's value is a one-element tensor attribute; MLE attributes have no
	// tensors, so the value is a float and its dtype an int (ONNX ids).
	register(&OpSchema{Name: "ConstantOfShape", MinInputs: 1, MaxInputs: 1, Types: int64Types,
		Attrs: []AttrSpec{floatAttr("value", 0), intAttr("dtype", int64(dtype.Float32))}, infer: inferConstantOfShape})
	register(&OpSchema{Name: "Trilu", MinInputs: 1, MaxInputs: 2, Types: fixedTypes,
		Attrs: []AttrSpec{intAttr("upper", 1)}, infer: inferTrilu})
	register(&OpSchema{Name: "CumSum", MinInputs: 2, MaxInputs: 2, Types: numericTypes,
		Attrs: []AttrSpec{intAttr("exclusive", 0), intAttr("reverse", 0)}, infer: inferCumSum})
	register(&OpSchema{Name: "TopK", MinInputs: 2, MaxInputs: 2, MinOutputs: 2, MaxOutputs: 2, Types: numericTypes,
		Attrs: []AttrSpec{intAttr("axis", -1), intAttr("largest", 1), intAttr("sorted", 1)}, infer: inferTopK})
	register(&OpSchema{Name: "Not", MinInputs: 1, MaxInputs: 1, Types: boolTypes, infer: inferNot})
	for _, op := range []string{"And", "Or", "Xor"} {
		register(&OpSchema{Name: op, MinInputs: 2, MaxInputs: 2, Types: boolTypes, infer: inferLogical})
	}
	for _, op := range []string{"Min", "Max"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1 << 10, Types: numericTypes, infer: inferVariadic})
	}
	register(&OpSchema{Name: "Mod", MinInputs: 2, MaxInputs: 2, Types: numericTypes,
		Attrs: []AttrSpec{intAttr("fmod", 0)}, infer: inferMod})
	for _, op := range []string{"GreaterOrEqual", "LessOrEqual"} {
		register(&OpSchema{Name: op, MinInputs: 2, MaxInputs: 2, Types: numericTypes, infer: inferCompare})
	}
}

// int64Arg reads input i, a shape-taking int64 tensor of rank 1 (or a
// scalar when scalar is set): its length, and its values when constant.
func (x *inferCtx) int64Arg(i int, what string, scalar bool) (vals []int64, n int, known bool, err error) {
	in := x.in[i]
	if in.DType != dtype.Int64 {
		return nil, 0, false, x.errf(errs.GraphDType, "%s %s %q is %s; it must be int64", x.n.Op, what, in.Name, in.DType)
	}
	switch {
	case scalar && len(in.Shape) == 0:
		n = 1
	case len(in.Shape) == 1 && in.Shape[0] == Dynamic:
		return nil, 0, false, x.errf(errs.UnsupportedFeature, "%s %s %q has a length known only at run time; the output's rank would not be known", x.n.Op, what, in.Name)
	case len(in.Shape) == 1 && (!scalar || in.Shape[0] == 1):
		n = int(in.Shape[0])
	default:
		want := "a 1-D tensor"
		if scalar {
			want = "a scalar or a 1-element tensor"
		}
		return nil, 0, false, x.errf(errs.GraphShape, "%s %s %q has shape %v; it must be %s", x.n.Op, what, in.Name, in.Shape, want)
	}
	vals, known, err = x.consts.Int64s(x.n.In[i])
	if err != nil || !known {
		return nil, n, false, err
	}
	if len(vals) != n {
		return nil, 0, false, x.errf(errs.GraphShape, "%s %s %q holds %d values; its shape %v says %d", x.n.Op, what, in.Name, len(vals), in.Shape, n)
	}
	return vals, n, true, nil
}

// present reports whether optional input i is given.
func (x *inferCtx) present(i int) bool { return i < len(x.in) && x.in[i] != nil }

func dynamicShape(r int) []int64 {
	s := make([]int64, r)
	for i := range s {
		s[i] = Dynamic
	}
	return s
}

// ShapeRange returns the dims [start, end) that Shape outputs for rank r,
// negative bounds counting from the end and both clamped to [0, r].
func ShapeRange(start, end int64, r int) (int, int) {
	clamp := func(v int64) int {
		if v < 0 {
			v += int64(r)
		}
		return int(min(max(v, 0), int64(r)))
	}
	s, e := clamp(start), clamp(end)
	return s, max(s, e)
}

func inferShape(x *inferCtx) error {
	s, e := ShapeRange(x.attr("start").Int, x.attr("end").Int, len(x.in[0].Shape))
	x.out[0] = ValueInfo{DType: dtype.Int64, Shape: []int64{int64(e - s)}}
	return nil
}

func inferSize(x *inferCtx) error {
	x.out[0] = ValueInfo{DType: dtype.Int64, Shape: []int64{}}
	return nil
}

// SliceAxis is one axis of a Slice after ONNX's clamping: the first index
// read, the step and the number of elements.
type SliceAxis struct{ Start, Step, Len int64 }

// SliceDim applies ONNX Slice's rules to one axis of size dim: negative
// start/end count from the end, then both are clamped ([0, dim] for a
// positive step, [0, dim-1] and [-1, dim-1] for a negative one).
func SliceDim(start, end, step, dim int64) SliceAxis {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	var n int64
	if step > 0 {
		start, end = min(max(start, 0), dim), min(max(end, 0), dim)
		if end > start {
			n = (end-start-1)/step + 1
		}
	} else {
		start, end = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
		if start > end {
			n = int64(uint64(start-end-1)/-uint64(step)) + 1 // |MinInt64| fits in uint64
		}
	}
	return SliceAxis{Start: start, Step: step, Len: n}
}

// SliceAxes validates Slice's starts, ends, axes and steps (axes, steps
// may be nil: all axes in order, steps of 1) for rank r and returns the
// axis each entry slices.
func SliceAxes(starts, ends, axes, steps []int64, r int) ([]int, error) {
	n := len(starts)
	if len(ends) != n || (axes != nil && len(axes) != n) || (steps != nil && len(steps) != n) {
		return nil, errs.New(errs.GraphShape, "Slice starts, ends, axes and steps have %d, %d, %d and %d entries; they must agree", n, len(ends), len(axes), len(steps))
	}
	out := make([]int, n)
	var seen uint64
	for k := range n {
		a := int64(k)
		if axes != nil {
			a = axes[k]
		}
		d, ok := NormAxis(a, r)
		if !ok || seen&(1<<d) != 0 {
			return nil, errs.New(errs.GraphAttribute, "Slice axes %v are not distinct axes of a rank-%d tensor", axes, r)
		}
		seen |= 1 << d
		out[k] = d
		if steps != nil && steps[k] == 0 {
			return nil, errs.New(errs.GraphAttribute, "Slice steps %v contain 0", steps)
		}
	}
	return out, nil
}

func inferSlice(x *inferCtx) error {
	data := x.in[0].Shape
	r := len(data)
	starts, n, k1, err := x.int64Arg(1, "starts", false)
	if err != nil {
		return err
	}
	ends, n2, k2, err := x.int64Arg(2, "ends", false)
	if err != nil {
		return err
	}
	var axes, steps []int64
	kAxes, kSteps := true, true
	nAxes, nSteps := n, n
	if x.present(3) {
		if axes, nAxes, kAxes, err = x.int64Arg(3, "axes", false); err != nil {
			return err
		}
	}
	if x.present(4) {
		if steps, nSteps, kSteps, err = x.int64Arg(4, "steps", false); err != nil {
			return err
		}
	}
	if n2 != n || nAxes != n || nSteps != n {
		return x.errf(errs.GraphShape, "Slice starts, ends, axes and steps have %d, %d, %d and %d entries; they must agree", n, n2, nAxes, nSteps)
	}
	if n > r {
		return x.errf(errs.GraphShape, "Slice of %d axes on data %q of shape %v", n, x.in[0].Name, data)
	}
	out := append([]int64(nil), data...)
	if !kAxes {
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: dynamicShape(r)}
		return nil
	}
	// Axes known: validate them (starts and ends do not matter to that).
	var st []int64
	if kSteps {
		st = steps
	}
	ph := make([]int64, n)
	ax, err := SliceAxes(ph, ph, axes, st, r)
	if err != nil {
		return errs.Prefix(err, "data %q of shape %v", x.in[0].Name, data)
	}
	for k, d := range ax {
		if !k1 || !k2 || !kSteps || data[d] == Dynamic {
			out[d] = Dynamic
			continue
		}
		step := int64(1)
		if steps != nil {
			step = steps[k]
		}
		out[d] = SliceDim(starts[k], ends[k], step, data[d]).Len
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

// SplitSizes returns the sizes of Split's outputs along an axis of size dim
// (not Dynamic): split when given, else num_outputs chunks of
// ceil(dim/outs) with a smaller last one, else outs equal parts.
func SplitSizes(dim int64, split []int64, numOutputs int64, outs int) ([]int64, error) {
	sizes := make([]int64, outs)
	switch {
	case split != nil:
		if len(split) != outs {
			return nil, errs.New(errs.GraphShape, "Split has %d outputs but split %v has %d entries", outs, split, len(split))
		}
		var sum int64
		for i, s := range split {
			if s < 0 || sum > math.MaxInt64-s {
				return nil, errs.New(errs.GraphShape, "Split split %v is not a list of sizes", split)
			}
			sum += s
			sizes[i] = s
		}
		if sum != dim {
			return nil, errs.New(errs.GraphShape, "Split split %v sums to %d; the axis has %d", split, sum, dim)
		}
	case numOutputs > 0:
		chunk := (dim + int64(outs) - 1) / int64(outs)
		for i := range sizes {
			sizes[i] = min(chunk, max(dim-int64(i)*chunk, 0))
		}
		if outs > 1 && sizes[outs-1] == 0 && dim > 0 {
			return nil, errs.New(errs.GraphShape, "Split of an axis of %d into %d chunks of %d leaves the last one empty", dim, outs, chunk)
		}
	default:
		if dim%int64(outs) != 0 {
			return nil, errs.New(errs.GraphShape, "Split of an axis of %d into %d equal parts", dim, outs)
		}
		for i := range sizes {
			sizes[i] = dim / int64(outs)
		}
	}
	return sizes, nil
}

func inferSplit(x *inferCtx) error {
	s := x.in[0].Shape
	axis, ok := NormAxis(x.attr("axis").Int, len(s))
	if !ok {
		return x.errf(errs.GraphAttribute, "Split axis %d is out of range for input %q of shape %v", x.attr("axis").Int, x.in[0].Name, s)
	}
	outs := len(x.out)
	numOut := x.attr("num_outputs").Int
	if numOut < 0 || (numOut > 0 && numOut != int64(outs)) {
		return x.errf(errs.GraphAttribute, "Split num_outputs is %d but the node has %d outputs", numOut, outs)
	}
	var split []int64
	known := true
	if x.present(1) {
		if numOut > 0 {
			return x.errf(errs.GraphAttribute, "Split has both the split input and num_outputs")
		}
		var n int
		var err error
		if split, n, known, err = x.int64Arg(1, "split", false); err != nil {
			return err
		}
		if n != outs {
			return x.errf(errs.GraphShape, "Split has %d outputs but split %q has %d entries", outs, x.in[1].Name, n)
		}
	}
	var sizes []int64
	if known && s[axis] != Dynamic {
		var err error
		if sizes, err = SplitSizes(s[axis], split, numOut, outs); err != nil {
			return errs.Prefix(err, "input %q of shape %v", x.in[0].Name, s)
		}
	}
	for i := range x.out {
		o := append([]int64(nil), s...)
		o[axis] = Dynamic
		switch {
		case sizes != nil:
			o[axis] = sizes[i]
		case split != nil:
			o[axis] = split[i] // axis Dynamic: the planner checks the sum
		}
		x.out[i] = ValueInfo{DType: x.in[0].DType, Shape: o}
	}
	return nil
}

// axesSet validates axes (distinct, in range for rank r) as a bit set.
func (x *inferCtx) axesSet(axes []int64, r int, what string) (uint64, error) {
	var set uint64
	for _, a := range axes {
		d, ok := NormAxis(a, r)
		if !ok || set&(1<<d) != 0 {
			return 0, x.errf(errs.GraphAttribute, "%s axes %v are not distinct axes of a rank-%d %s", x.n.Op, axes, r, what)
		}
		set |= 1 << d
	}
	return set, nil
}

func inferSqueeze(x *inferCtx) error {
	s := x.in[0].Shape
	if !x.present(1) {
		out := []int64{}
		for _, d := range s {
			switch d {
			case 1:
			case Dynamic:
				return x.errf(errs.UnsupportedFeature, "Squeeze without axes of %q with shape %v: whether a dynamic dimension is 1 decides the output's rank", x.in[0].Name, s)
			default:
				out = append(out, d)
			}
		}
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
		return nil
	}
	axes, n, known, err := x.int64Arg(1, "axes", false)
	if err != nil {
		return err
	}
	if n > len(s) {
		return x.errf(errs.GraphShape, "Squeeze of %d axes of %q with shape %v", n, x.in[0].Name, s)
	}
	if !known {
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: dynamicShape(len(s) - n)}
		return nil
	}
	set, err := x.axesSet(axes, len(s), "input")
	if err != nil {
		return err
	}
	out := []int64{}
	for d, v := range s {
		if set&(1<<d) == 0 {
			out = append(out, v)
		} else if v != 1 && v != Dynamic {
			return x.errf(errs.GraphShape, "Squeeze axis %d of %q has size %d (shape %v); it must be 1", d, x.in[0].Name, v, s)
		}
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

func inferUnsqueeze(x *inferCtx) error {
	s := x.in[0].Shape
	axes, n, known, err := x.int64Arg(1, "axes", false)
	if err != nil {
		return err
	}
	r := len(s) + n
	if r > dtype.MaxRank {
		return x.errf(errs.UnsupportedFeature, "Unsqueeze of %q (shape %v) to rank %d; MLE supports rank <= %d", x.in[0].Name, s, r, dtype.MaxRank)
	}
	if !known {
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: dynamicShape(r)}
		return nil
	}
	set, err := x.axesSet(axes, r, "output")
	if err != nil {
		return err
	}
	out := make([]int64, r)
	j := 0
	for d := range out {
		if set&(1<<d) != 0 {
			out[d] = 1
		} else {
			out[d] = s[j]
			j++
		}
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

func inferExpand(x *inferCtx) error {
	s := x.in[0].Shape
	shape, n, known, err := x.int64Arg(1, "shape", false)
	if err != nil {
		return err
	}
	if n > dtype.MaxRank {
		return x.errf(errs.UnsupportedFeature, "Expand to rank %d; MLE supports rank <= %d", n, dtype.MaxRank)
	}
	if !known {
		// An input dim other than 1 is the output's whatever the shape says.
		out := dynamicShape(max(len(s), n))
		for i, d := range s {
			if d != 1 {
				out[i+len(out)-len(s)] = d
			}
		}
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
		return nil
	}
	for _, d := range shape {
		if d < 0 {
			return x.errf(errs.GraphShape, "Expand shape %v has a negative dimension", shape)
		}
	}
	out, ok := Broadcast(s, shape)
	if !ok {
		return x.errf(errs.GraphShape, "Expand of %q with shape %v to %v: the shapes do not broadcast", x.in[0].Name, s, shape)
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

func inferTile(x *inferCtx) error {
	s := x.in[0].Shape
	reps, n, known, err := x.int64Arg(1, "repeats", false)
	if err != nil {
		return err
	}
	if n != len(s) {
		return x.errf(errs.GraphShape, "Tile repeats %q has %d entries for input %q of shape %v", x.in[1].Name, n, x.in[0].Name, s)
	}
	if !known {
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: dynamicShape(len(s))}
		return nil
	}
	out := make([]int64, len(s))
	for i, d := range s {
		switch {
		case reps[i] < 0:
			return x.errf(errs.GraphShape, "Tile repeats %v has a negative entry", reps)
		case d == Dynamic:
			out[i] = Dynamic
			if reps[i] == 0 {
				out[i] = 0
			}
		default:
			p, ok := dtype.NumElements([]int64{d, reps[i]})
			if !ok {
				return x.errf(errs.GraphTooLarge, "Tile of %v by %v overflows", s, reps)
			}
			out[i] = p
		}
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

// floatConstSource is a ConstSource that also serves float constants
// (Range over floats needs its start, limit and delta to size its output).
type floatConstSource interface {
	Float64s(id int) (vals []float64, isConst bool, err error)
}

// RangeLen returns ONNX Range's element count, max(ceil((limit-start)/delta), 0).
func RangeLen(start, limit, delta float64) (int64, bool) {
	n := math.Ceil((limit - start) / delta)
	if n != n || n >= 1<<62 {
		return 0, false
	}
	return int64(max(n, 0)), true
}

// RangeLenInt is RangeLen in exact integer arithmetic.
func RangeLenInt(start, limit, delta int64) (int64, bool) {
	if delta == 0 {
		return 0, false
	}
	// The span in uint64 cannot overflow; ceil divide by |delta|.
	if (delta > 0 && limit <= start) || (delta < 0 && limit >= start) {
		return 0, true
	}
	var span, step uint64
	if delta > 0 {
		span, step = uint64(limit-start), uint64(delta)
	} else {
		span, step = uint64(start-limit), uint64(-delta)
	}
	n := (span-1)/step + 1
	if n > 1<<62 {
		return 0, false
	}
	return int64(n), true
}

func inferRange(x *inferCtx) error {
	t, err := x.sameType(numericTypes)
	if err != nil {
		return err
	}
	for i, what := range []string{"start", "limit", "delta"} {
		if n, ok := dtype.NumElements(x.in[i].Shape); !ok || n != 1 || len(x.in[i].Shape) > 1 {
			return x.errf(errs.GraphShape, "Range %s %q has shape %v; it must be a scalar", what, x.in[i].Name, x.in[i].Shape)
		}
	}
	out := []int64{Dynamic}
	var v [3]float64
	var iv [3]int64
	known := true
	for i := range 3 {
		switch fs, ok := x.consts.(floatConstSource); {
		case t == dtype.Int64:
			vals, isConst, err := x.consts.Int64s(x.n.In[i])
			if err != nil {
				return err
			}
			known = known && isConst && len(vals) == 1
			if known {
				iv[i] = vals[0]
			}
		case ok:
			vals, isConst, err := fs.Float64s(x.n.In[i])
			if err != nil {
				return err
			}
			known = known && isConst && len(vals) == 1
			if known {
				v[i] = vals[0]
			}
		default:
			known = false
		}
	}
	if known {
		var n int64
		var ok bool
		if t == dtype.Int64 {
			n, ok = RangeLenInt(iv[0], iv[1], iv[2])
		} else {
			n, ok = RangeLen(v[0], v[1], v[2])
		}
		if !ok {
			return x.errf(errs.GraphShape, "Range(%v, %v, %v) has no finite length", x.in[0].Name, x.in[1].Name, x.in[2].Name)
		}
		out[0] = n
	}
	x.out[0] = ValueInfo{DType: t, Shape: out}
	return nil
}

func inferConstantOfShape(x *inferCtx) error {
	to := x.attr("dtype").Int
	if to < 0 || to > 255 || !dtype.DType(to).Valid() || dtype.DType(to).IsString() {
		return x.errf(errs.GraphAttribute, "ConstantOfShape dtype %d is not a numeric or bool dtype", to)
	}
	shape, n, known, err := x.int64Arg(0, "shape", false)
	if err != nil {
		return err
	}
	if n > dtype.MaxRank {
		return x.errf(errs.UnsupportedFeature, "ConstantOfShape of rank %d; MLE supports rank <= %d", n, dtype.MaxRank)
	}
	out := dynamicShape(n)
	if known {
		for _, d := range shape {
			if d < 0 {
				return x.errf(errs.GraphShape, "ConstantOfShape shape %v has a negative dimension", shape)
			}
		}
		copy(out, shape)
	}
	x.out[0] = ValueInfo{DType: dtype.DType(to), Shape: out}
	return nil
}

func inferTrilu(x *inferCtx) error {
	s := x.in[0].Shape
	if len(s) < 2 {
		return x.errf(errs.GraphShape, "Trilu input %q has shape %v; it needs rank >= 2", x.in[0].Name, s)
	}
	if x.present(1) {
		if _, _, _, err := x.int64Arg(1, "k", true); err != nil {
			return err
		}
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: s}
	return nil
}

func inferCumSum(x *inferCtx) error {
	s := x.in[0].Shape
	if !oneOf(x.in[0].DType, numericTypes) {
		return x.errf(errs.GraphDType, "CumSum input %q is %s; CumSum takes %v", x.in[0].Name, x.in[0].DType, numericTypes)
	}
	a := x.in[1]
	if a.DType != dtype.Int64 && a.DType != dtype.Int32 {
		return x.errf(errs.GraphDType, "CumSum axis %q is %s; it must be int32 or int64", a.Name, a.DType)
	}
	if n, ok := dtype.NumElements(a.Shape); len(a.Shape) > 1 || (ok && n != 1) {
		return x.errf(errs.GraphShape, "CumSum axis %q has shape %v; it must be a scalar", a.Name, a.Shape)
	}
	if a.DType == dtype.Int64 {
		vals, known, err := x.consts.Int64s(x.n.In[1])
		if err != nil {
			return err
		}
		if known && len(vals) == 1 {
			if _, ok := NormAxis(vals[0], len(s)); !ok {
				return x.errf(errs.GraphAttribute, "CumSum axis %d is out of range for input %q of shape %v", vals[0], x.in[0].Name, s)
			}
		}
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: s}
	return nil
}

func inferTopK(x *inferCtx) error {
	s := x.in[0].Shape
	if !oneOf(x.in[0].DType, numericTypes) {
		return x.errf(errs.GraphDType, "TopK input %q is %s; TopK takes %v", x.in[0].Name, x.in[0].DType, numericTypes)
	}
	axis, ok := NormAxis(x.attr("axis").Int, len(s))
	if !ok {
		return x.errf(errs.GraphAttribute, "TopK axis %d is out of range for input %q of shape %v", x.attr("axis").Int, x.in[0].Name, s)
	}
	k, _, known, err := x.int64Arg(1, "K", true)
	if err != nil {
		return err
	}
	out := append([]int64(nil), s...)
	out[axis] = Dynamic
	if known {
		if k[0] < 0 || (s[axis] != Dynamic && k[0] > s[axis]) {
			return x.errf(errs.GraphShape, "TopK K = %d for axis %d of %q with shape %v", k[0], axis, x.in[0].Name, s)
		}
		out[axis] = k[0]
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	x.out[1] = ValueInfo{DType: dtype.Int64, Shape: out}
	return nil
}

func inferNot(x *inferCtx) error {
	if _, err := x.sameType(boolTypes); err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: dtype.Bool, Shape: x.in[0].Shape}
	return nil
}

func inferLogical(x *inferCtx) error {
	if _, err := x.sameType(boolTypes); err != nil {
		return err
	}
	s, ok := Broadcast(x.in[0].Shape, x.in[1].Shape)
	if !ok {
		return x.errf(errs.GraphShape, "%s shapes %v and %v do not broadcast", x.n.Op, x.in[0].Shape, x.in[1].Shape)
	}
	x.out[0] = ValueInfo{DType: dtype.Bool, Shape: s}
	return nil
}

func inferVariadic(x *inferCtx) error {
	t, err := x.sameType(numericTypes)
	if err != nil {
		return err
	}
	s := x.in[0].Shape
	for i, in := range x.in[1:] {
		if in == nil {
			return x.errf(errs.GraphShape, "%s input %d is empty", x.n.Op, i+1)
		}
		var ok bool
		if s, ok = Broadcast(s, in.Shape); !ok {
			return x.errf(errs.GraphShape, "%s input %d (%q) has shape %v, which does not broadcast with %v", x.n.Op, i+1, in.Name, in.Shape, s)
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: s}
	return nil
}

func inferMod(x *inferCtx) error {
	f := x.attr("fmod").Int
	if f != 0 && f != 1 {
		return x.errf(errs.GraphAttribute, "Mod fmod is %d; want 0 or 1", f)
	}
	if f == 0 && x.in[0].DType.IsFloat() {
		return x.errf(errs.GraphAttribute, "Mod of %s needs fmod=1 (ONNX)", x.in[0].DType)
	}
	return inferBinary(x)
}
