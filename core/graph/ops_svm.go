package graph

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Support vector machines as libsvm predicts (docs/FORMAT.md, "SVM ops").
// Everything is computed in float64, as libsvm does; float32 rows are
// widened exactly.
//
//	SVMKernel(X [N,F] f32/f64, SV [S,F] f64) -> K [N,S] f64
//	  K[n,s] = k(X[n], SV[s]); attributes kernel, gamma, coef0, degree.
//	SVMDecision(K [N,S] f64, coef [C-1,S] f64, rho [C(C-1)/2] f64) -> dec [N,C(C-1)/2] f64
//	  libsvm's one-vs-one decision values; attribute n_support (C ints
//	  summing to S). A regressor or one-class model is n_support [S, 0].
//	SVMVote(dec [N,P] f64) -> index [N] int64, ovr? [N,C] f64
//	  libsvm's vote winner and scikit-learn's "ovr" decision function;
//	  attribute n_classes.
//	SVMProbability(dec [N,P] f64, probA [P] f64, probB [P] f64) -> proba [N,C] f64
//	  Platt sigmoids then libsvm's pairwise coupling; attribute n_classes.

// SVMKernels lists the kernel attribute's values.
var SVMKernels = []string{"linear", "poly", "rbf", "sigmoid"}

// MaxSVMClasses bounds n_classes (the pairs grow as its square).
const MaxSVMClasses = 1 << 10

var svmFloat64 = []dtype.DType{dtype.Float64}

func init() {
	register(&OpSchema{Name: "SVMKernel", MinInputs: 2, MaxInputs: 2, Types: floatTypes,
		Attrs: []AttrSpec{
			{Name: "kernel", Type: AttrString, Required: true},
			floatAttr("gamma", 0), floatAttr("coef0", 0), intAttr("degree", 3),
		},
		infer: inferSVMKernel})
	register(&OpSchema{Name: "SVMDecision", MinInputs: 3, MaxInputs: 3, Types: svmFloat64,
		Attrs: []AttrSpec{{Name: "n_support", Type: AttrInts, Required: true}},
		infer: inferSVMDecision})
	register(&OpSchema{Name: "SVMVote", MinInputs: 1, MaxInputs: 1, MinOutputs: 1, MaxOutputs: 2, Types: svmFloat64,
		Attrs: []AttrSpec{{Name: "n_classes", Type: AttrInt, Required: true}},
		infer: inferSVMVote})
	register(&OpSchema{Name: "SVMProbability", MinInputs: 3, MaxInputs: 3, Types: svmFloat64,
		Attrs: []AttrSpec{{Name: "n_classes", Type: AttrInt, Required: true}},
		infer: inferSVMProbability})
}

// svmIn checks that input i has the given rank and dtype and returns its
// shape.
func (x *inferCtx) svmIn(i, rank int, dt dtype.DType, what string) ([]int64, error) {
	in := x.in[i]
	if in.DType != dt || len(in.Shape) != rank {
		return nil, x.errf(errs.GraphDType, "%s %s %q must be a %d-D %s tensor; it is %s %v", x.n.Op, what, in.Name, rank, dt, in.DType, in.Shape)
	}
	return in.Shape, nil
}

// svmDim unifies dimension d of a tensor with the size want.
func (x *inferCtx) svmDim(got, want int64, what string) (int64, error) {
	d, ok := mergeDim(got, want)
	if !ok {
		return 0, x.errf(errs.GraphShape, "%s: %s is %d; want %d", x.n.Op, what, got, want)
	}
	return d, nil
}

func inferSVMKernel(x *inferCtx) error {
	if k := x.attr("kernel").String; !inList(k, SVMKernels) {
		return x.errf(errs.GraphAttribute, "SVMKernel kernel is %q; want one of %q", k, SVMKernels)
	}
	if d := x.attr("degree").Int; d < 0 || d > 1<<31-1 {
		return x.errf(errs.GraphAttribute, "SVMKernel degree is %d; want 0..2^31-1 (libsvm's int)", d)
	}
	xin := x.in[0]
	if !oneOf(xin.DType, floatTypes) || len(xin.Shape) != 2 {
		return x.errf(errs.GraphDType, "SVMKernel X %q must be a 2-D float32 or float64 tensor; it is %s %v", xin.Name, xin.DType, xin.Shape)
	}
	sv, err := x.svmIn(1, 2, dtype.Float64, "support vectors")
	if err != nil {
		return err
	}
	if _, err := x.svmDim(xin.Shape[1], sv[1], "X's width (the support vectors' width)"); err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{xin.Shape[0], sv[0]}}
	return nil
}

// svmClasses validates the n_classes attribute and returns it with the
// number of class pairs.
func (x *inferCtx) svmClasses(c int64) (int64, int64, error) {
	if c < 2 || c > MaxSVMClasses {
		return 0, 0, x.errf(errs.GraphAttribute, "%s has %d classes; want 2..%d", x.n.Op, c, MaxSVMClasses)
	}
	return c, c * (c - 1) / 2, nil
}

func inferSVMDecision(x *inferCtx) error {
	ns := x.attr("n_support").Ints
	c, p, err := x.svmClasses(int64(len(ns)))
	if err != nil {
		return err
	}
	var s int64
	for i, v := range ns {
		if v < 0 || v > 1<<40 {
			return x.errf(errs.GraphAttribute, "SVMDecision n_support[%d] is %d", i, v)
		}
		s += v
	}
	k, err := x.svmIn(0, 2, dtype.Float64, "K")
	if err != nil {
		return err
	}
	coef, err := x.svmIn(1, 2, dtype.Float64, "coef")
	if err != nil {
		return err
	}
	rho, err := x.svmIn(2, 1, dtype.Float64, "rho")
	if err != nil {
		return err
	}
	for _, d := range []struct {
		got, want int64
		what      string
	}{{k[1], s, "K's width (sum of n_support)"}, {coef[0], c - 1, "coef's rows (n_classes-1)"},
		{coef[1], s, "coef's width (sum of n_support)"}, {rho[0], p, "rho's length (class pairs)"}} {
		if _, err := x.svmDim(d.got, d.want, d.what); err != nil {
			return err
		}
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{k[0], p}}
	return nil
}

// svmDec checks the decision values input of SVMVote and SVMProbability.
func (x *inferCtx) svmDec() (n, c int64, err error) {
	c, p, err := x.svmClasses(x.attr("n_classes").Int)
	if err != nil {
		return 0, 0, err
	}
	dec, err := x.svmIn(0, 2, dtype.Float64, "decision values")
	if err != nil {
		return 0, 0, err
	}
	if _, err := x.svmDim(dec[1], p, "the decision values' width (class pairs)"); err != nil {
		return 0, 0, err
	}
	return dec[0], c, nil
}

func inferSVMVote(x *inferCtx) error {
	n, c, err := x.svmDec()
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: dtype.Int64, Shape: []int64{n}}
	if len(x.out) > 1 {
		x.out[1] = ValueInfo{DType: dtype.Float64, Shape: []int64{n, c}}
	}
	return nil
}

func inferSVMProbability(x *inferCtx) error {
	n, c, err := x.svmDec()
	if err != nil {
		return err
	}
	p := c * (c - 1) / 2
	for i, what := range []string{1: "probA", 2: "probB"} {
		if i == 0 {
			continue
		}
		v, err := x.svmIn(i, 1, dtype.Float64, what)
		if err != nil {
			return err
		}
		if _, err := x.svmDim(v[0], p, what+"'s length (class pairs)"); err != nil {
			return err
		}
	}
	x.out[0] = ValueInfo{DType: dtype.Float64, Shape: []int64{n, c}}
	return nil
}
