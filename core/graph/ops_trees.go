package graph

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// TreeEnsemble evaluates decision trees (docs/FORMAT.md, "TreeEnsemble").
// Its node arrays are stored tensors; its inputs, in order:
//
//	0 X         [N, F] float32 or float64
//	1 feature   [M] int32   feature of each node; -1 marks a leaf
//	2 threshold [M] float64 numeric split value (ignored for leaves and categorical nodes)
//	3 left      [M] int32   left child; for a leaf, its row in leaves
//	4 right     [M] int32   right child; -1 for a leaf
//	5 flags     [M] uint8   TreeFlag bits
//	6 roots     [T] int32   each tree's root node, in summation order
//	7 targets   [T] int32   the first output column each tree's leaf row adds to
//	8 leaves    [L, W] float64
//	9 cat_offsets [M+1] int32 (optional) node i's categories are cat_bits[cat_offsets[i]:cat_offsets[i+1]]
//	10 cat_bits [B] uint8   (optional) bitsets, category c is bit c%8 of byte c/8
//
// Outputs: 0 the aggregated scores [N, K] in the accumulation dtype; 1 the
// post-transformed scores [N, K] (optional); 2 the decision, an int64 class
// index per row [N] (optional).
const (
	TreeInX = iota
	TreeInFeature
	TreeInThreshold
	TreeInLeft
	TreeInRight
	TreeInFlags
	TreeInRoots
	TreeInTargets
	TreeInLeaves
	TreeInCatOffsets
	TreeInCatBits
	treeInputs
)

// TreeFlag bits of the flags input. Numeric nodes use DefaultLeft,
// MissingMask and Strict; categorical nodes use DefaultLeft, Categorical,
// InSetRight, InvalidMissing and TruncFirst. Any other bit is refused.
const (
	// TreeDefaultLeft sends missing values left (else right).
	TreeDefaultLeft = 1 << 0
	// TreeMissingMask selects what a numeric node treats as missing:
	// TreeMissingNaN (NaN), TreeMissingZero (NaN and |x| <= 1e-35f, as
	// LightGBM's zero_as_missing) or TreeMissingNone (NaN is read as 0.0).
	TreeMissingMask = 3 << 1
	TreeMissingNaN  = 0 << 1
	TreeMissingZero = 1 << 1
	TreeMissingNone = 2 << 1
	// TreeCategorical makes the node a set-membership test.
	TreeCategorical = 1 << 3
	// TreeStrict compares x < threshold (else x <= threshold) for left.
	TreeStrict = 1 << 4
	// TreeInSetRight sends categories in the set right (XGBoost); else left
	// (LightGBM, scikit-learn).
	TreeInSetRight = 1 << 5
	// TreeInvalidMissing sends negative, non-integer and past-the-bitset
	// values the missing direction (scikit-learn, whose encoder maps
	// unknown categories to NaN); else negative and past-the-bitset
	// categories take the side a category not in the set takes, and
	// non-integers are truncated.
	TreeInvalidMissing = 1 << 6
	// TreeTruncFirst truncates x toward zero before testing it for a
	// negative category (LightGBM: -0.5 is category 0); else x < 0 is a
	// negative category.
	TreeTruncFirst = 1 << 7
)

// Tree ensemble attribute values.
var (
	TreeAggregates     = []string{"sum", "mean"}
	TreeAccumulates    = []string{"float64", "float32"}
	TreeInputCasts     = []string{"none", "float32"}
	TreePostTransforms = []string{"none", "logistic", "softmax", "exp", "isolation"}
	TreeDecisions      = []string{"none", "argmax", "argmax_raw", "ge0", "gt0"}
)

// treeArrays lists the node-array inputs (all but X): stored tensors.
func treeArrays() []int {
	out := make([]int, treeInputs-1)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// MaxTreeTargets caps n_targets.
const MaxTreeTargets = 1 << 20

func init() {
	register(&OpSchema{Name: "TreeEnsemble", MinInputs: TreeInCatOffsets, MaxInputs: treeInputs,
		MinOutputs: 1, MaxOutputs: 3, Types: floatTypes, Stored: treeArrays(),
		Attrs: []AttrSpec{
			{Name: "n_targets", Type: AttrInt, Required: true},
			{Name: "aggregate", Type: AttrString, Default: Attr{String: "sum"}},
			{Name: "base_values", Type: AttrFloats},
			{Name: "accumulate", Type: AttrString, Default: Attr{String: "float64"}},
			{Name: "input_cast", Type: AttrString, Default: Attr{String: "none"}},
			{Name: "post_transform", Type: AttrString, Default: Attr{String: "none"}},
			floatAttr("post_scale", 1),
			{Name: "decision", Type: AttrString, Default: Attr{String: "none"}},
		},
		infer: inferTreeEnsemble})
}

func inList(s string, list []string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func inferTreeEnsemble(x *inferCtx) error {
	for _, a := range []struct {
		name string
		list []string
	}{{"aggregate", TreeAggregates}, {"accumulate", TreeAccumulates}, {"input_cast", TreeInputCasts},
		{"post_transform", TreePostTransforms}, {"decision", TreeDecisions}} {
		if v := x.attr(a.name).String; !inList(v, a.list) {
			return x.errf(errs.GraphAttribute, "TreeEnsemble %s is %q; want one of %q", a.name, v, a.list)
		}
	}
	k := x.attr("n_targets").Int
	if k < 1 || k > MaxTreeTargets {
		return x.errf(errs.GraphAttribute, "TreeEnsemble n_targets is %d; want 1..%d", k, MaxTreeTargets)
	}
	if b := x.attr("base_values").Floats; len(b) != 0 && int64(len(b)) != k {
		return x.errf(errs.GraphAttribute, "TreeEnsemble base_values has %d values for %d targets", len(b), k)
	}
	if (x.attr("decision").String == "ge0" || x.attr("decision").String == "gt0") && k != 1 {
		return x.errf(errs.GraphAttribute, "TreeEnsemble decision %q needs n_targets 1; it is %d", x.attr("decision").String, k)
	}
	xin := x.in[TreeInX]
	if !oneOf(xin.DType, floatTypes) || len(xin.Shape) != 2 {
		return x.errf(errs.GraphDType, "TreeEnsemble X %q must be a 2-D float32 or float64 tensor; it is %s %v", xin.Name, xin.DType, xin.Shape)
	}
	want := []struct {
		dt   dtype.DType
		rank int
	}{
		TreeInFeature: {dtype.Int32, 1}, TreeInThreshold: {dtype.Float64, 1}, TreeInLeft: {dtype.Int32, 1},
		TreeInRight: {dtype.Int32, 1}, TreeInFlags: {dtype.Uint8, 1}, TreeInRoots: {dtype.Int32, 1},
		TreeInTargets: {dtype.Int32, 1}, TreeInLeaves: {dtype.Float64, 2}, TreeInCatOffsets: {dtype.Int32, 1},
		TreeInCatBits: {dtype.Uint8, 1},
	}
	names := []string{TreeInFeature: "feature", TreeInThreshold: "threshold", TreeInLeft: "left", TreeInRight: "right",
		TreeInFlags: "flags", TreeInRoots: "roots", TreeInTargets: "targets", TreeInLeaves: "leaves",
		TreeInCatOffsets: "cat_offsets", TreeInCatBits: "cat_bits"}
	for i := TreeInFeature; i < len(x.in); i++ {
		in := x.in[i]
		if in == nil {
			if i < TreeInCatOffsets {
				return x.errf(errs.GraphShape, "TreeEnsemble input %d (%s) is required", i, names[i])
			}
			continue
		}
		if in.DType != want[i].dt || len(in.Shape) != want[i].rank {
			return x.errf(errs.GraphDType, "TreeEnsemble %s %q must be a %d-D %s tensor; it is %s %v", names[i], in.Name, want[i].rank, want[i].dt, in.DType, in.Shape)
		}
	}
	if (len(x.in) > TreeInCatOffsets && x.in[TreeInCatOffsets] != nil) != (len(x.in) > TreeInCatBits && x.in[TreeInCatBits] != nil) {
		return x.errf(errs.GraphShape, "TreeEnsemble cat_offsets and cat_bits come together")
	}
	t := dtype.Float64
	if x.attr("accumulate").String == "float32" {
		t = dtype.Float32
	}
	n := xin.Shape[0]
	x.out[0] = ValueInfo{DType: t, Shape: []int64{n, k}}
	if len(x.out) > 1 {
		if x.n.Outputs[1] != "" && x.attr("post_transform").String == "none" {
			return x.errf(errs.GraphAttribute, "TreeEnsemble output 1 (transformed scores) needs a post_transform")
		}
		x.out[1] = ValueInfo{DType: t, Shape: []int64{n, k}}
	}
	if len(x.out) > 2 && x.n.Outputs[2] != "" {
		if x.attr("decision").String == "none" {
			return x.errf(errs.GraphAttribute, "TreeEnsemble output 2 (decision) needs a decision rule")
		}
		if x.attr("decision").String == "argmax" && x.attr("post_transform").String != "none" && x.n.Outputs[1] == "" {
			return x.errf(errs.GraphAttribute, "TreeEnsemble decision \"argmax\" reads the transformed scores: output 1 must be present")
		}
	}
	if len(x.out) > 2 {
		x.out[2] = ValueInfo{DType: dtype.Int64, Shape: []int64{n}}
	}
	return nil
}
