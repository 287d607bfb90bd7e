package graph

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Ops over categories and text.
//
// CategoryIndex(X, categories) -> int64 index, X's shape: the position of
// each element of X in the 1-D constant categories (same dtype; entries
// distinct). A value not among them gets the attribute unknown_index
// (default -1), or fails the run with MLE_ERR_INVALID_CATEGORY when
// refuse_unknown is 1. Float matching is by value with NaN equal to NaN
// and -0 equal to 0, as scikit-learn's encoders compare.
func init() {
	register(&OpSchema{Name: "CategoryIndex", MinInputs: 2, MaxInputs: 2, Stored: []int{1},
		Types: []dtype.DType{dtype.String, dtype.Float32, dtype.Float64, dtype.Int32, dtype.Int64},
		Attrs: []AttrSpec{intAttr("unknown_index", -1), intAttr("refuse_unknown", 0)},
		infer: inferCategoryIndex})
}

func inferCategoryIndex(x *inferCtx) error {
	if _, err := x.sameType(x.n.Schema.Types); err != nil {
		return err
	}
	if len(x.in[1].Shape) != 1 {
		return x.errf(errs.GraphShape, "categories %q must be 1-D, got shape %v", x.in[1].Name, x.in[1].Shape)
	}
	if r := x.attr("refuse_unknown").Int; r != 0 && r != 1 {
		return x.errf(errs.GraphAttribute, "refuse_unknown must be 0 or 1, got %d", r)
	}
	x.out[0] = ValueInfo{DType: dtype.Int64, Shape: x.in[0].Shape}
	return nil
}
