package graph

// CNN ops: Conv, ConvTranspose, pooling, BatchNormalization,
// GroupNormalization, InstanceNormalization, Pad and Resize, with ONNX
// (opset 19-22) semantics over NCW and NCHW tensors (1-D and 2-D spatial).
// AdaptiveAveragePool and AdaptiveMaxPool are MLE extensions for torch's
// adaptive pooling.

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// convAttrMax bounds kernel sizes, strides, dilations and pads so that the
// geometry arithmetic cannot overflow int64 whatever a file declares.
const convAttrMax = 1 << 24

func intsAttr(name string) AttrSpec { return AttrSpec{Name: name, Type: AttrInts} }
func strAttr(name, def string) AttrSpec {
	return AttrSpec{Name: name, Type: AttrString, Default: Attr{String: def}}
}

func init() {
	convAttrs := []AttrSpec{strAttr("auto_pad", "NOTSET"), intsAttr("dilations"), intAttr("group", 1),
		intsAttr("kernel_shape"), intsAttr("pads"), intsAttr("strides")}
	register(&OpSchema{Name: "Conv", MinInputs: 2, MaxInputs: 3, Types: floatTypes, Attrs: convAttrs, infer: inferConv})
	register(&OpSchema{Name: "ConvTranspose", MinInputs: 2, MaxInputs: 3, Types: floatTypes,
		Attrs: append(append([]AttrSpec{}, convAttrs...), intsAttr("output_padding"), intsAttr("output_shape")),
		infer: inferConvTranspose})
	register(&OpSchema{Name: "MaxPool", MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 2, Types: floatTypes,
		Attrs: []AttrSpec{strAttr("auto_pad", "NOTSET"), intAttr("ceil_mode", 0), intsAttr("dilations"),
			{Name: "kernel_shape", Type: AttrInts, Required: true}, intsAttr("pads"), intAttr("storage_order", 0), intsAttr("strides")},
		infer: inferPool})
	register(&OpSchema{Name: "AveragePool", MinInputs: 1, MaxInputs: 1, Types: floatTypes,
		Attrs: []AttrSpec{strAttr("auto_pad", "NOTSET"), intAttr("ceil_mode", 0), intAttr("count_include_pad", 0), intsAttr("dilations"),
			{Name: "kernel_shape", Type: AttrInts, Required: true}, intsAttr("pads"), intsAttr("strides")},
		infer: inferPool})
	for _, op := range []string{"GlobalAveragePool", "GlobalMaxPool"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes, infer: inferGlobalPool})
	}
	for _, op := range []string{"AdaptiveAveragePool", "AdaptiveMaxPool"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes,
			Attrs: []AttrSpec{{Name: "output_size", Type: AttrInts, Required: true}}, infer: inferAdaptivePool})
	}
	register(&OpSchema{Name: "BatchNormalization", MinInputs: 5, MaxInputs: 5, MinOutputs: 1, MaxOutputs: 3, Types: floatTypes,
		Attrs: []AttrSpec{floatAttr("epsilon", 1e-5), floatAttr("momentum", 0.9), intAttr("training_mode", 0)},
		infer: inferBatchNorm})
	register(&OpSchema{Name: "GroupNormalization", MinInputs: 3, MaxInputs: 3, Types: floatTypes,
		Attrs: []AttrSpec{floatAttr("epsilon", 1e-5), {Name: "num_groups", Type: AttrInt, Required: true}, intAttr("stash_type", 1)},
		infer: inferGroupNorm})
	register(&OpSchema{Name: "InstanceNormalization", MinInputs: 3, MaxInputs: 3, Types: floatTypes,
		Attrs: []AttrSpec{floatAttr("epsilon", 1e-5)}, infer: inferInstanceNorm})
	register(&OpSchema{Name: "Pad", MinInputs: 2, MaxInputs: 4, Types: floatTypes,
		Attrs: []AttrSpec{strAttr("mode", "constant")}, infer: inferPad})
	register(&OpSchema{Name: "Resize", MinInputs: 1, MaxInputs: 4, Types: floatTypes,
		Attrs: []AttrSpec{intAttr("antialias", 0), intsAttr("axes"), strAttr("coordinate_transformation_mode", "half_pixel"),
			floatAttr("cubic_coeff_a", -0.75), intAttr("exclude_outside", 0), floatAttr("extrapolation_value", 0),
			strAttr("keep_aspect_ratio_policy", "stretch"), strAttr("mode", "nearest"), strAttr("nearest_mode", "round_prefer_floor")},
		infer: inferResize})
}

// ConvGeom is the resolved geometry of a Conv, ConvTranspose or pooling
// node along its spatial dims: one entry per dim.
type ConvGeom struct {
	Kernel, Strides, Dilations []int64
	PadBegin, PadEnd           []int64
	Out                        []int64 // Dynamic where the input dim is
	OutPadding                 []int64 // ConvTranspose only
}

// spatialRank checks that x is NCW or NCHW and returns its spatial rank.
func spatialRank(op string, x *ValueInfo) (int, error) {
	if r := len(x.Shape); r != 3 && r != 4 {
		return 0, errs.New(errs.UnsupportedFeature, "%s input %q has shape %v; MLE supports rank 3 (N,C,W) and 4 (N,C,H,W)", op, x.Name, x.Shape)
	}
	return len(x.Shape) - 2, nil
}

// spatialInts reads an ints attribute of nsp entries (def when absent),
// each in [lo, convAttrMax].
func spatialInts(n *CNode, name string, nsp int, def, lo int64) ([]int64, error) {
	v := n.Attr(name).Ints
	if len(v) == 0 {
		out := make([]int64, nsp)
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(v) != nsp {
		return nil, errs.New(errs.GraphAttribute, "%s %q: %s %v has %d entries; the input has %d spatial dims", n.Op, n.Name, name, v, len(v), nsp)
	}
	for _, d := range v {
		if d < lo || d > convAttrMax {
			return nil, errs.New(errs.GraphAttribute, "%s %q: %s %v has an entry outside [%d, %d]", n.Op, n.Name, name, v, lo, convAttrMax)
		}
	}
	return append([]int64(nil), v...), nil
}

// ResolveConvGeom computes the geometry of node n (Conv, ConvTranspose or
// a pool) for spatial input dims in (Dynamic allowed) and kernel dims k
// (Dynamic: unknown). pool selects the pooling output rule (ceil_mode).
func ResolveConvGeom(n *CNode, in, k []int64) (*ConvGeom, error) {
	nsp := len(in)
	g := &ConvGeom{}
	var err error
	if g.Strides, err = spatialInts(n, "strides", nsp, 1, 1); err != nil {
		return nil, err
	}
	if g.Dilations, err = spatialInts(n, "dilations", nsp, 1, 1); err != nil {
		return nil, err
	}
	g.Kernel = append([]int64(nil), k...)
	if ks := n.Attr("kernel_shape").Ints; len(ks) > 0 {
		if g.Kernel, err = spatialInts(n, "kernel_shape", nsp, 1, 1); err != nil {
			return nil, err
		}
		for i := range k {
			if k[i] != Dynamic && k[i] != g.Kernel[i] {
				return nil, errs.New(errs.GraphShape, "%s %q: kernel_shape %v differs from the weight's spatial dims %v", n.Op, n.Name, ks, k)
			}
		}
	}
	for _, d := range g.Kernel {
		if d != Dynamic && (d < 1 || d > convAttrMax) {
			return nil, errs.New(errs.GraphShape, "%s %q: kernel dims %v out of range", n.Op, n.Name, g.Kernel)
		}
	}
	pads := n.Attr("pads").Ints
	g.PadBegin, g.PadEnd = make([]int64, nsp), make([]int64, nsp)
	if len(pads) > 0 {
		if len(pads) != 2*nsp {
			return nil, errs.New(errs.GraphAttribute, "%s %q: pads %v has %d entries; want %d (begin and end per spatial dim)", n.Op, n.Name, pads, len(pads), 2*nsp)
		}
		for i, p := range pads {
			if p < 0 || p > convAttrMax {
				return nil, errs.New(errs.GraphAttribute, "%s %q: pads %v has an entry outside [0, %d]", n.Op, n.Name, pads, convAttrMax)
			}
			if i < nsp {
				g.PadBegin[i] = p
			} else {
				g.PadEnd[i-nsp] = p
			}
		}
	}
	autoPad := n.Attr("auto_pad").String
	switch autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, errs.New(errs.GraphAttribute, "%s %q: auto_pad %q; want NOTSET, VALID, SAME_UPPER or SAME_LOWER", n.Op, n.Name, autoPad)
	}
	if autoPad == "VALID" {
		clear(g.PadBegin)
		clear(g.PadEnd)
	}
	if n.Op == "ConvTranspose" {
		return g, g.transposeOut(n, in, autoPad)
	}
	ceil := (n.Op == "MaxPool" || n.Op == "AveragePool") && n.Attr("ceil_mode").Int != 0
	g.Out = make([]int64, nsp)
	for i := range in {
		ext := int64(Dynamic) // the dilated kernel's extent
		if g.Kernel[i] != Dynamic {
			ext = (g.Kernel[i]-1)*g.Dilations[i] + 1
		}
		s := g.Strides[i]
		if in[i] == Dynamic || ext == Dynamic {
			g.Out[i] = Dynamic
			continue
		}
		if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
			out := (in[i] + s - 1) / s
			total := max(0, (out-1)*s+ext-in[i])
			lo := total / 2
			if autoPad == "SAME_LOWER" {
				lo = total - total/2
			}
			g.PadBegin[i], g.PadEnd[i], g.Out[i] = lo, total-lo, out
			continue
		}
		span := in[i] + g.PadBegin[i] + g.PadEnd[i] - ext
		if span < 0 {
			return nil, errs.New(errs.GraphShape, "%s %q: input spatial dims %v with pads %v/%v are smaller than the kernel %v (dilations %v)", n.Op, n.Name, in, g.PadBegin, g.PadEnd, g.Kernel, g.Dilations)
		}
		out := span/s + 1
		if ceil {
			out = (span+s-1)/s + 1
			// torch's rule: the last window must start inside the input
			// or the left padding.
			if (out-1)*s >= in[i]+g.PadBegin[i] {
				out--
			}
		}
		g.Out[i] = out
	}
	return g, nil
}

// transposeOut fills the output dims and pads of a ConvTranspose.
func (g *ConvGeom) transposeOut(n *CNode, in []int64, autoPad string) error {
	nsp := len(in)
	var err error
	if g.OutPadding, err = spatialInts(n, "output_padding", nsp, 0, 0); err != nil {
		return err
	}
	for i, p := range g.OutPadding {
		if p >= g.Strides[i] && p >= g.Dilations[i] {
			return errs.New(errs.GraphAttribute, "%s %q: output_padding %v must be smaller than the stride or the dilation (%v, %v)", n.Op, n.Name, g.OutPadding, g.Strides, g.Dilations)
		}
	}
	outShape := n.Attr("output_shape").Ints
	if len(outShape) > 0 {
		if len(outShape) == nsp+2 { // some writers give the full shape
			outShape = outShape[2:]
		}
		if len(outShape) != nsp {
			return errs.New(errs.GraphAttribute, "%s %q: output_shape %v has %d entries; want %d", n.Op, n.Name, outShape, len(outShape), nsp)
		}
	}
	g.Out = make([]int64, nsp)
	for i := range in {
		if in[i] == Dynamic || g.Kernel[i] == Dynamic {
			g.Out[i] = Dynamic
			continue
		}
		ext := (g.Kernel[i]-1)*g.Dilations[i] + 1
		full := g.Strides[i]*(in[i]-1) + g.OutPadding[i] + ext
		var total int64 = -1
		switch {
		case len(outShape) > 0:
			if outShape[i] < 1 || outShape[i] > full+convAttrMax {
				return errs.New(errs.GraphAttribute, "%s %q: output_shape %v is out of range", n.Op, n.Name, outShape)
			}
			total = full - outShape[i]
		case autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
			total = full - in[i]*g.Strides[i]
		}
		if total >= 0 || len(outShape) > 0 {
			// ONNX: SAME_UPPER puts the smaller half first; anything else
			// (SAME_LOWER, an explicit output_shape) the larger half.
			small := total / 2
			if autoPad == "SAME_UPPER" {
				g.PadBegin[i], g.PadEnd[i] = small, total-small
			} else {
				g.PadBegin[i], g.PadEnd[i] = total-small, small
			}
		}
		g.Out[i] = full - g.PadBegin[i] - g.PadEnd[i]
		if g.Out[i] < 1 {
			return errs.New(errs.GraphShape, "%s %q: input spatial dims %v with pads %v/%v give an empty output", n.Op, n.Name, in, g.PadBegin, g.PadEnd)
		}
	}
	return nil
}

// channelVec checks an optional per-channel vector input i (a bias, a
// norm's scale or statistics) against c channels.
func (x *inferCtx) channelVec(i int, c int64, what string) error {
	if i >= len(x.in) || x.in[i] == nil {
		return nil
	}
	s := x.in[i].Shape
	if len(s) != 1 || (s[0] != Dynamic && c != Dynamic && s[0] != c) {
		return x.errf(errs.GraphShape, "%s %q: %s %q has shape %v; want [%d] for input %q of shape %v", x.n.Op, x.n.Name, what, x.in[i].Name, s, c, x.in[0].Name, x.in[0].Shape)
	}
	return nil
}

func inferConv(x *inferCtx) error {
	xs, w, group, err := x.convOperands()
	if err != nil {
		return err
	}
	c, m, wc := xs.Shape[1], w.Shape[0], w.Shape[1]
	if m != Dynamic && m%group != 0 {
		return x.errf(errs.GraphShape, "%s %q: group %d does not divide the %d output channels of weight %q %v", x.n.Op, x.n.Name, group, m, w.Name, w.Shape)
	}
	if c != Dynamic && wc != Dynamic && wc*group != c {
		return x.errf(errs.GraphShape, "%s %q: input %q %v has %d channels but weight %q %v expects %d×group %d", x.n.Op, x.n.Name, xs.Name, xs.Shape, c, w.Name, w.Shape, wc, group)
	}
	return x.convOutput(m)
}

func inferConvTranspose(x *inferCtx) error {
	xs, w, group, err := x.convOperands()
	if err != nil {
		return err
	}
	c, wc := xs.Shape[1], w.Shape[0]
	if c != Dynamic && wc != Dynamic && wc != c {
		return x.errf(errs.GraphShape, "%s %q: input %q %v has %d channels but weight %q %v has %d", x.n.Op, x.n.Name, xs.Name, xs.Shape, c, w.Name, w.Shape, wc)
	}
	m := int64(Dynamic)
	if w.Shape[1] != Dynamic {
		m = w.Shape[1] * group
	}
	return x.convOutput(m)
}

// convOperands checks what Conv and ConvTranspose share: float inputs, a
// 1-D or 2-D spatial input, a weight of the same rank, and a group that
// divides the input's channels.
func (x *inferCtx) convOperands() (xs, w *ValueInfo, group int64, err error) {
	if _, err = x.sameType(floatTypes); err != nil {
		return nil, nil, 0, err
	}
	xs, w = x.in[0], x.in[1]
	if _, err = spatialRank(x.n.Op, xs); err != nil {
		return nil, nil, 0, err
	}
	if len(w.Shape) != len(xs.Shape) {
		return nil, nil, 0, x.errf(errs.GraphShape, "%s %q: weight %q has shape %v; input %q has %v (ranks must match)", x.n.Op, x.n.Name, w.Name, w.Shape, xs.Name, xs.Shape)
	}
	group = x.attr("group").Int
	if group < 1 || group > convAttrMax {
		return nil, nil, 0, x.errf(errs.GraphAttribute, "%s %q: group %d must be positive", x.n.Op, x.n.Name, group)
	}
	if c := xs.Shape[1]; c != Dynamic && c%group != 0 {
		return nil, nil, 0, x.errf(errs.GraphShape, "%s %q: group %d does not divide the %d channels of input %q %v", x.n.Op, x.n.Name, group, c, xs.Name, xs.Shape)
	}
	return xs, w, group, nil
}

// convOutput checks the bias against the m output channels and sets the
// output shape [N, m, spatial...].
func (x *inferCtx) convOutput(m int64) error {
	if err := x.channelVec(2, m, "bias"); err != nil {
		return err
	}
	xs, w := x.in[0], x.in[1]
	g, err := ResolveConvGeom(x.n, xs.Shape[2:], w.Shape[2:])
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: xs.DType, Shape: append([]int64{xs.Shape[0], m}, g.Out...)}
	return nil
}

func inferPool(x *inferCtx) error {
	// Outputs by name: a node's output ids are set only after it infers.
	if x.n.Op == "MaxPool" && len(x.n.Outputs) > 1 && x.n.Outputs[1] != "" {
		return x.errf(errs.UnsupportedFeature, "MaxPool %q: the Indices output is not supported", x.n.Name)
	}
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	xs := x.in[0]
	nsp, err := spatialRank(x.n.Op, xs)
	if err != nil {
		return err
	}
	if x.n.Op == "MaxPool" {
		if so := x.attr("storage_order").Int; so != 0 {
			return x.errf(errs.UnsupportedFeature, "MaxPool %q: storage_order %d is not supported (only 0)", x.n.Name, so)
		}
	}
	if ks := x.attr("kernel_shape").Ints; len(ks) != nsp {
		return x.errf(errs.GraphAttribute, "%s %q: kernel_shape %v has %d entries; input %q %v has %d spatial dims", x.n.Op, x.n.Name, ks, len(ks), xs.Name, xs.Shape, nsp)
	}
	k := make([]int64, nsp)
	for i := range k {
		k[i] = Dynamic
	}
	g, err := ResolveConvGeom(x.n, xs.Shape[2:], k)
	if err != nil {
		return err
	}
	for i := range g.Kernel {
		if g.PadBegin[i] >= g.Kernel[i]*g.Dilations[i] || g.PadEnd[i] >= g.Kernel[i]*g.Dilations[i] {
			// A window wholly in the padding has no input to pool.
			return x.errf(errs.GraphAttribute, "%s %q: pads %v/%v must be smaller than the kernel %v", x.n.Op, x.n.Name, g.PadBegin, g.PadEnd, g.Kernel)
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: append([]int64{xs.Shape[0], xs.Shape[1]}, g.Out...)}
	return nil
}

func inferGlobalPool(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	xs := x.in[0]
	nsp, err := spatialRank(x.n.Op, xs)
	if err != nil {
		return err
	}
	out := []int64{xs.Shape[0], xs.Shape[1], 1, 1}[:2+nsp]
	x.out[0] = ValueInfo{DType: t, Shape: out}
	return nil
}

func inferAdaptivePool(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	xs := x.in[0]
	nsp, err := spatialRank(x.n.Op, xs)
	if err != nil {
		return err
	}
	os, err := spatialInts(x.n, "output_size", nsp, 0, 1)
	if err != nil {
		return err
	}
	if len(x.attr("output_size").Ints) == 0 {
		return x.errf(errs.GraphAttribute, "%s %q: output_size is empty", x.n.Op, x.n.Name)
	}
	x.out[0] = ValueInfo{DType: t, Shape: append([]int64{xs.Shape[0], xs.Shape[1]}, os...)}
	return nil
}

func inferBatchNorm(x *inferCtx) error {
	if x.attr("training_mode").Int != 0 {
		return x.errf(errs.UnsupportedFeature, "BatchNormalization %q: training_mode %d is not supported (inference only)", x.n.Name, x.attr("training_mode").Int)
	}
	for i := 1; i < len(x.n.Outputs); i++ {
		if x.n.Outputs[i] != "" {
			return x.errf(errs.UnsupportedFeature, "BatchNormalization %q: output %d (training statistics) is not supported", x.n.Name, i)
		}
	}
	return x.channelNorm(2, "(N, C, ...)", "scale", "B", "input_mean", "input_var")
}

func inferGroupNorm(x *inferCtx) error {
	xs := x.in[0]
	if len(xs.Shape) >= 2 {
		ng, c := x.attr("num_groups").Int, xs.Shape[1]
		if ng < 1 || (c != Dynamic && c%ng != 0) {
			return x.errf(errs.GraphAttribute, "GroupNormalization %q: num_groups %d must be positive and divide the %d channels of %q %v", x.n.Name, ng, c, xs.Name, xs.Shape)
		}
	}
	return x.channelNorm(2, "(N, C, ...)", "scale", "bias")
}

func inferInstanceNorm(x *inferCtx) error {
	return x.channelNorm(3, "(N, C, spatial...)", "scale", "B")
}

// channelNorm infers a normalization over channel axis 1: input 0 of rank
// >= minRank, then one [C] vector per name, output shaped like input 0.
func (x *inferCtx) channelNorm(minRank int, layout string, vecs ...string) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	xs := x.in[0]
	if len(xs.Shape) < minRank {
		return x.errf(errs.GraphShape, "%s %q: input %q has shape %v; it needs rank >= %d %s", x.n.Op, x.n.Name, xs.Name, xs.Shape, minRank, layout)
	}
	for i, what := range vecs {
		if err := x.channelVec(i+1, xs.Shape[1], what); err != nil {
			return err
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: xs.Shape}
	return nil
}

// PadSpec resolves Pad's pads (and optional axes) against rank r: begin
// and end pads per axis.
func PadSpec(pads, axes []int64, r int) (begin, end []int64, err error) {
	ax := make([]int, 0, r)
	if len(axes) == 0 {
		for i := 0; i < r; i++ {
			ax = append(ax, i)
		}
	} else {
		seen := make([]bool, r)
		for _, a := range axes {
			d, ok := NormAxis(a, r)
			if !ok || seen[d] {
				return nil, nil, errs.New(errs.GraphShape, "Pad axes %v are not distinct axes of a rank-%d tensor", axes, r)
			}
			seen[d] = true
			ax = append(ax, d)
		}
	}
	if len(pads) != 2*len(ax) {
		return nil, nil, errs.New(errs.GraphShape, "Pad pads has %d values; want %d (2 per padded axis, rank %d)", len(pads), 2*len(ax), r)
	}
	begin, end = make([]int64, r), make([]int64, r)
	for i, d := range ax {
		b, e := pads[i], pads[i+len(ax)]
		if b < -convAttrMax<<16 || b > convAttrMax<<16 || e < -convAttrMax<<16 || e > convAttrMax<<16 {
			return nil, nil, errs.New(errs.GraphShape, "Pad pads %v are out of range", pads)
		}
		begin[d], end[d] = b, e
	}
	return begin, end, nil
}

func inferPad(x *inferCtx) error {
	data := x.in[0]
	if !oneOf(data.DType, floatTypes) {
		return x.errf(errs.GraphDType, "Pad %q: data %q is %s; Pad takes %v", x.n.Name, data.Name, data.DType, floatTypes)
	}
	mode := x.attr("mode").String
	switch mode {
	case "constant", "reflect", "edge", "wrap":
	default:
		return x.errf(errs.GraphAttribute, "Pad %q: mode %q; want constant, reflect, edge or wrap", x.n.Name, mode)
	}
	pads := x.in[1]
	if pads.DType != dtype.Int64 || len(pads.Shape) != 1 {
		return x.errf(errs.GraphDType, "Pad %q: pads %q must be a 1-D int64 tensor; got %s %v", x.n.Name, pads.Name, pads.DType, pads.Shape)
	}
	if len(x.in) > 2 && x.in[2] != nil {
		cv := x.in[2]
		if cv.DType != data.DType {
			return x.errf(errs.GraphDType, "Pad %q: constant_value %q is %s; data is %s", x.n.Name, cv.Name, cv.DType, data.DType)
		}
		if c, ok := dtype.NumElements(cv.Shape); !ok || (c != 1 && !hasDynamic(cv.Shape)) {
			return x.errf(errs.GraphShape, "Pad %q: constant_value %q has shape %v; it must hold one value", x.n.Name, cv.Name, cv.Shape)
		}
	}
	r := len(data.Shape)
	var axes []int64
	axesKnown := true
	if len(x.in) > 3 && x.in[3] != nil {
		a := x.in[3]
		if a.DType != dtype.Int64 || len(a.Shape) != 1 {
			return x.errf(errs.GraphDType, "Pad %q: axes %q must be a 1-D int64 tensor; got %s %v", x.n.Name, a.Name, a.DType, a.Shape)
		}
		vals, isConst, err := x.consts.Int64s(x.n.In[3])
		if err != nil {
			return err
		}
		axes, axesKnown = vals, isConst
	}
	vals, isConst, err := x.consts.Int64s(x.n.In[1])
	if err != nil {
		return err
	}
	out := make([]int64, r)
	if !isConst || !axesKnown {
		for i := range out {
			out[i] = Dynamic
		}
		x.out[0] = ValueInfo{DType: data.DType, Shape: out}
		return nil
	}
	begin, end, err := PadSpec(vals, axes, r)
	if err != nil {
		return errs.Prefix(err, "Pad %q (data %v)", x.n.Name, data.Shape)
	}
	for i, d := range data.Shape {
		if d == Dynamic {
			out[i] = Dynamic
			continue
		}
		out[i] = d + begin[i] + end[i]
		if out[i] < 0 {
			return x.errf(errs.GraphShape, "Pad %q: pads %v crop axis %d of %v below zero", x.n.Name, vals, i, data.Shape)
		}
		if (begin[i] != 0 || end[i] != 0) && mode != "constant" {
			lim := d // wrap: at most one copy
			if mode == "reflect" {
				lim = d - 1 // reflect excludes the edge
			}
			if d == 0 || begin[i] > lim || end[i] > lim {
				return x.errf(errs.GraphShape, "Pad %q: %s padding %d/%d of axis %d needs an input dim larger than the pad; data is %v", x.n.Name, mode, begin[i], end[i], i, data.Shape)
			}
		}
	}
	x.out[0] = ValueInfo{DType: data.DType, Shape: out}
	return nil
}

func hasDynamic(s []int64) bool {
	for _, d := range s {
		if d == Dynamic {
			return true
		}
	}
	return false
}

// FloatConsts is an optional ConstSource extension that serves the values
// of constant float tensors (Resize's scales) as float64.
type FloatConsts interface {
	Float64s(id int) (vals []float64, isConst bool, err error)
}

// ResizeMode checks Resize's attributes against what MLE implements:
// torch's nearest (floor, asymmetric) and (bi)linear.
func ResizeMode(n *CNode) error {
	if a := n.Attr("antialias").Int; a != 0 {
		return errs.New(errs.UnsupportedFeature, "Resize %q: antialias %d is not supported", n.Name, a)
	}
	if len(n.Attr("axes").Ints) > 0 {
		return errs.New(errs.UnsupportedFeature, "Resize %q: axes is not supported", n.Name)
	}
	if p := n.Attr("keep_aspect_ratio_policy").String; p != "stretch" {
		return errs.New(errs.UnsupportedFeature, "Resize %q: keep_aspect_ratio_policy %q is not supported", n.Name, p)
	}
	ctm := n.Attr("coordinate_transformation_mode").String
	switch mode := n.Attr("mode").String; mode {
	case "nearest":
		if nm := n.Attr("nearest_mode").String; nm != "floor" {
			return errs.New(errs.UnsupportedFeature, "Resize %q: nearest_mode %q is not supported (only floor)", n.Name, nm)
		}
		if ctm != "asymmetric" {
			return errs.New(errs.UnsupportedFeature, "Resize %q: coordinate_transformation_mode %q is not supported with mode nearest (only asymmetric)", n.Name, ctm)
		}
	case "linear":
		switch ctm {
		case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric":
		default:
			return errs.New(errs.UnsupportedFeature, "Resize %q: coordinate_transformation_mode %q is not supported with mode linear", n.Name, ctm)
		}
	default:
		return errs.New(errs.UnsupportedFeature, "Resize %q: mode %q is not supported (nearest, linear)", n.Name, mode)
	}
	return nil
}

// ResizeOutDim is Resize's output size of an axis of size in under scale.
func ResizeOutDim(in int64, scale float64) int64 {
	return int64(math.Floor(float64(in) * scale))
}

func inferResize(x *inferCtx) error {
	xs := x.in[0]
	if !oneOf(xs.DType, floatTypes) {
		return x.errf(errs.GraphDType, "Resize %q: X %q is %s; Resize takes %v", x.n.Name, xs.Name, xs.DType, floatTypes)
	}
	if _, err := spatialRank("Resize", xs); err != nil {
		return err
	}
	if err := ResizeMode(x.n); err != nil {
		return err
	}
	r := len(xs.Shape)
	has := func(i int) bool {
		return len(x.in) > i && x.in[i] != nil && !(len(x.in[i].Shape) == 1 && x.in[i].Shape[0] == 0)
	}
	hasScales, hasSizes := has(2), has(3)
	if hasScales == hasSizes {
		return x.errf(errs.GraphShape, "Resize %q: give exactly one of scales and sizes", x.n.Name)
	}
	out := make([]int64, r)
	for i := range out {
		out[i] = Dynamic
	}
	idx := 2
	if hasSizes {
		idx = 3
	}
	v := x.in[idx]
	want := dtype.Float32
	if hasSizes {
		want = dtype.Int64
	}
	if v.DType != want || len(v.Shape) != 1 || (v.Shape[0] != Dynamic && v.Shape[0] != int64(r)) {
		return x.errf(errs.GraphShape, "Resize %q: %q must be a 1-D %s tensor of %d values (the rank of X %v); got %s %v", x.n.Name, v.Name, want, r, xs.Shape, v.DType, v.Shape)
	}
	var vals []float64
	known := false
	if hasSizes {
		iv, isConst, err := x.consts.Int64s(x.n.In[3])
		if err != nil {
			return err
		}
		if isConst {
			known = true
			for _, s := range iv {
				vals = append(vals, float64(s))
			}
		}
	} else if fc, ok := x.consts.(FloatConsts); ok {
		fv, isConst, err := fc.Float64s(x.n.In[2])
		if err != nil {
			return err
		}
		vals, known = fv, isConst
	}
	if known {
		if len(vals) != r {
			return x.errf(errs.GraphShape, "Resize %q: %q has %d values; X %v has rank %d", x.n.Name, v.Name, len(vals), xs.Shape, r)
		}
		for i, s := range vals {
			switch {
			case hasSizes && (s < 1 || s > 1<<40):
				return x.errf(errs.GraphShape, "Resize %q: sizes %v out of range", x.n.Name, vals)
			case !hasSizes && (!(s > 0) || s > 1<<20):
				return x.errf(errs.GraphShape, "Resize %q: scales %v must be positive", x.n.Name, vals)
			}
			if hasSizes {
				out[i] = int64(s)
			} else if xs.Shape[i] != Dynamic {
				out[i] = ResizeOutDim(xs.Shape[i], s)
			}
		}
		for i := 0; i < 2; i++ {
			if out[i] != xs.Shape[i] && out[i] != Dynamic && xs.Shape[i] != Dynamic {
				return x.errf(errs.UnsupportedFeature, "Resize %q: resizing the batch or channel axis (%v to %v) is not supported", x.n.Name, xs.Shape, out)
			}
		}
		for i := 2; i < r; i++ {
			if out[i] == 0 && xs.Shape[i] != 0 {
				return x.errf(errs.GraphShape, "Resize %q: output dim %d of X %v is 0", x.n.Name, i, xs.Shape)
			}
			if xs.Shape[i] == 0 && out[i] != 0 && out[i] != Dynamic {
				// Nothing to interpolate from (torch refuses too).
				return x.errf(errs.GraphShape, "Resize %q: dim %d of X %v is 0; output size %d", x.n.Name, i, xs.Shape, out[i])
			}
		}
	}
	x.out[0] = ValueInfo{DType: xs.DType, Shape: out}
	return nil
}
