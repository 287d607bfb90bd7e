package graph

import (
	"fmt"
	"math"
	"slices"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// AttrSpec declares one attribute of an op.
type AttrSpec struct {
	Name     string
	Type     AttrType
	Required bool
	Default  Attr
}

// OpSchema declares an op: its arity, attributes and type/shape inference.
type OpSchema struct {
	Name                   string
	MinInputs, MaxInputs   int
	MinOutputs, MaxOutputs int
	Attrs                  []AttrSpec
	// Types lists the dtypes the op accepts for its type parameter, the
	// dtype of input TypeInput; inference refuses the others. Kernels are
	// registered per (op, backend, type), and a test checks that the CPU
	// has one for every entry.
	Types     []dtype.DType
	TypeInput int
	// Stored lists the inputs that must be stored tensors (tables a kernel
	// prepares once per model: categories, vocabularies, support vectors).
	Stored []int
	infer  func(x *inferCtx) error
}

// ConstSource gives inference the values of constant inputs.
type ConstSource interface {
	// Int64s returns the values of value id if it is a constant.
	Int64s(id int) (vals []int64, isConst bool, err error)
}

type inferCtx struct {
	n      *CNode
	in     []*ValueInfo
	out    []ValueInfo
	consts ConstSource
}

func (x *inferCtx) attr(name string) Attr { return x.n.Attr(name) }

func (x *inferCtx) errf(code errs.Code, format string, args ...any) error {
	return errs.New(code, format, args...)
}

// Infer computes the dtypes and shapes of a checked node's outputs from its
// inputs' (Dynamic dims allowed). The engine calls it again with concrete
// shapes when it plans a run. The result has one entry per node output.
func Infer(n *CNode, in []*ValueInfo, consts ConstSource) ([]ValueInfo, error) {
	var x inferCtx
	out, err := x.run(n, in, consts)
	return append([]ValueInfo(nil), out...), err
}

// run infers n's outputs into x's reusable scratch: the result is valid
// until the next run.
func (x *inferCtx) run(n *CNode, in []*ValueInfo, consts ConstSource) ([]ValueInfo, error) {
	out := x.out[:0]
	for range n.Outputs {
		out = append(out, ValueInfo{})
	}
	*x = inferCtx{n: n, in: in, out: out, consts: consts}
	if err := n.Schema.infer(x); err != nil {
		return nil, err
	}
	for i := range x.out {
		if len(x.out[i].Shape) > dtype.MaxRank {
			return nil, errs.New(errs.UnsupportedFeature, "output %d has rank %d; MLE supports rank <= %d", i, len(x.out[i].Shape), dtype.MaxRank)
		}
		x.out[i].Name = n.Outputs[i]
	}
	return x.out, nil
}

var schemas = map[string]*OpSchema{}

// Schema returns the schema of op, or nil if MLE does not know it.
func Schema(op string) *OpSchema { return schemas[op] }

// Ops lists the names of every known op.
func Ops() []string {
	out := make([]string, 0, len(schemas))
	for k := range schemas {
		out = append(out, k)
	}
	return out
}

func register(s *OpSchema) {
	if s.MaxOutputs == 0 {
		s.MinOutputs, s.MaxOutputs = 1, 1
	}
	schemas[s.Name] = s
}

func intAttr(name string, def int64) AttrSpec {
	return AttrSpec{Name: name, Type: AttrInt, Default: Attr{Int: def}}
}
func floatAttr(name string, def float64) AttrSpec {
	return AttrSpec{Name: name, Type: AttrFloat, Default: Attr{Float: def}}
}

var (
	floatTypes   = []dtype.DType{dtype.Float32, dtype.Float64}
	numericTypes = []dtype.DType{dtype.Float32, dtype.Float64, dtype.Int32, dtype.Int64}
	anyType      = allTypes()
	fixedTypes   = slices.DeleteFunc(allTypes(), dtype.DType.IsString) // no text: Cast
)

// allTypes lists every known dtype: ops that only move bytes take them all.
func allTypes() []dtype.DType {
	var out []dtype.DType
	for d := 0; d < 256; d++ {
		if dtype.DType(d).Valid() {
			out = append(out, dtype.DType(d))
		}
	}
	return out
}

func init() {
	register(&OpSchema{Name: "Gemm", MinInputs: 2, MaxInputs: 3, Types: floatTypes,
		Attrs: []AttrSpec{intAttr("transA", 0), intAttr("transB", 0), floatAttr("alpha", 1), floatAttr("beta", 1)},
		infer: inferGemm})
	register(&OpSchema{Name: "MatMul", MinInputs: 2, MaxInputs: 2, Types: floatTypes, infer: inferMatMul})
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		register(&OpSchema{Name: op, MinInputs: 2, MaxInputs: 2, Types: numericTypes, infer: inferBinary})
	}
	for _, op := range []string{"Relu", "Sigmoid", "Tanh"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes, infer: inferUnaryFloat})
	}
	for _, op := range []string{"Abs", "Neg", "Sqrt", "Exp", "Log"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes, infer: inferUnaryFloat})
	}
	for _, op := range []string{"Equal", "Greater", "Less"} {
		register(&OpSchema{Name: op, MinInputs: 2, MaxInputs: 2, Types: numericTypes, infer: inferCompare})
	}
	register(&OpSchema{Name: "IsNaN", MinInputs: 1, MaxInputs: 1, Types: floatTypes, infer: inferIsNaN})
	register(&OpSchema{Name: "Where", MinInputs: 3, MaxInputs: 3, Types: anyType, TypeInput: 1, infer: inferWhere})
	for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes,
			Attrs: []AttrSpec{{Name: "axes", Type: AttrInts}, intAttr("keepdims", 1)}, infer: inferReduce})
	}
	register(&OpSchema{Name: "Clip", MinInputs: 1, MaxInputs: 3, Types: floatTypes, infer: inferClip})
	register(&OpSchema{Name: "Gather", MinInputs: 2, MaxInputs: 2, Types: anyType, Attrs: []AttrSpec{intAttr("axis", 0)}, infer: inferGather})
	register(&OpSchema{Name: "LeakyRelu", MinInputs: 1, MaxInputs: 1, Types: floatTypes,
		Attrs: []AttrSpec{floatAttr("alpha", 0.01)}, infer: inferUnaryFloat})
	register(&OpSchema{Name: "Gelu", MinInputs: 1, MaxInputs: 1, Types: floatTypes,
		Attrs: []AttrSpec{{Name: "approximate", Type: AttrString, Default: Attr{String: "none"}}}, infer: inferGelu})
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		register(&OpSchema{Name: op, MinInputs: 1, MaxInputs: 1, Types: floatTypes, Attrs: []AttrSpec{intAttr("axis", -1)}, infer: inferSoftmax})
	}
	register(&OpSchema{Name: "LayerNormalization", MinInputs: 2, MaxInputs: 3, Types: floatTypes, MinOutputs: 1, MaxOutputs: 3,
		Attrs: []AttrSpec{intAttr("axis", -1), floatAttr("epsilon", 1e-5), intAttr("stash_type", 1)},
		infer: inferLayerNorm})
	register(&OpSchema{Name: "Identity", MinInputs: 1, MaxInputs: 1, Types: anyType, infer: inferIdentity})
	register(&OpSchema{Name: "Dropout", MinInputs: 1, MaxInputs: 1, Types: anyType, MinOutputs: 1, MaxOutputs: 2,
		Attrs: []AttrSpec{intAttr("seed", 0)}, infer: inferDropout})
	register(&OpSchema{Name: "Reshape", MinInputs: 2, MaxInputs: 2, Types: anyType, Attrs: []AttrSpec{intAttr("allowzero", 0)}, infer: inferReshape})
	register(&OpSchema{Name: "Flatten", MinInputs: 1, MaxInputs: 1, Types: anyType, Attrs: []AttrSpec{intAttr("axis", 1)}, infer: inferFlatten})
	register(&OpSchema{Name: "Transpose", MinInputs: 1, MaxInputs: 1, Types: anyType,
		Attrs: []AttrSpec{{Name: "perm", Type: AttrInts}}, infer: inferTranspose})
	register(&OpSchema{Name: "Concat", MinInputs: 1, MaxInputs: 1 << 16, Types: anyType,
		Attrs: []AttrSpec{{Name: "axis", Type: AttrInt, Required: true}}, infer: inferConcat})
	register(&OpSchema{Name: "ArgMax", MinInputs: 1, MaxInputs: 1, Types: numericTypes,
		Attrs: []AttrSpec{intAttr("axis", 0), intAttr("keepdims", 1), intAttr("select_last_index", 0)}, infer: inferArgMax})
	register(&OpSchema{Name: "Cast", MinInputs: 1, MaxInputs: 1, Types: fixedTypes,
		Attrs: []AttrSpec{{Name: "to", Type: AttrInt, Required: true}, intAttr("saturate", 1)}, infer: inferCast})
}

func oneOf(d dtype.DType, set []dtype.DType) bool {
	for _, s := range set {
		if d == s {
			return true
		}
	}
	return false
}

// sameType checks that every present input has one dtype from allowed and
// returns it.
func (x *inferCtx) sameType(allowed []dtype.DType) (dtype.DType, error) {
	var t dtype.DType
	for i, in := range x.in {
		if in == nil {
			continue
		}
		if allowed != nil && !oneOf(in.DType, allowed) {
			return 0, x.errf(errs.GraphDType, "input %d (%q) is %s; %s takes %v", i, in.Name, in.DType, x.n.Op, allowed)
		}
		if t == dtype.Invalid {
			t = in.DType
		} else if in.DType != t {
			return 0, x.errf(errs.GraphDType, "input %d (%q) is %s but input 0 is %s", i, in.Name, in.DType, t)
		}
	}
	return t, nil
}

// NormAxis maps a possibly negative axis into [0, rank).
func NormAxis(axis int64, rank int) (int, bool) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, false
	}
	return int(axis), true
}

// mergeDim unifies two sizes that must be equal, either possibly Dynamic.
func mergeDim(a, b int64) (int64, bool) {
	switch {
	case a == Dynamic:
		return b, true
	case b == Dynamic || a == b:
		return a, true
	}
	return 0, false
}

// Broadcast returns the multidirectional (numpy) broadcast of shapes a and b.
func Broadcast(a, b []int64) ([]int64, bool) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := 0; i < r; i++ {
		x, y := int64(1), int64(1)
		if j := i - (r - len(a)); j >= 0 {
			x = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			y = b[j]
		}
		switch {
		case x == y:
			out[i] = x
		case x == 1:
			out[i] = y
		case y == 1:
			out[i] = x
		case x == Dynamic:
			out[i] = y
		case y == Dynamic:
			out[i] = x
		default:
			return nil, false
		}
	}
	return out, true
}

func inferBinary(x *inferCtx) error {
	t, err := x.sameType(numericTypes)
	if err != nil {
		return err
	}
	s, ok := Broadcast(x.in[0].Shape, x.in[1].Shape)
	if !ok {
		return x.errf(errs.GraphShape, "shapes %v and %v do not broadcast", x.in[0].Shape, x.in[1].Shape)
	}
	x.out[0] = ValueInfo{DType: t, Shape: s}
	return nil
}

func inferUnaryFloat(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: t, Shape: x.in[0].Shape}
	return nil
}

func inferGelu(x *inferCtx) error {
	if a := x.attr("approximate").String; a != "none" && a != "tanh" {
		return x.errf(errs.GraphAttribute, "Gelu approximate is %q; want \"none\" or \"tanh\"", a)
	}
	return inferUnaryFloat(x)
}

func inferIdentity(x *inferCtx) error {
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: x.in[0].Shape}
	return nil
}

func inferDropout(x *inferCtx) error {
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: x.in[0].Shape}
	if len(x.out) > 1 {
		x.out[1] = ValueInfo{DType: dtype.Bool, Shape: x.in[0].Shape}
	}
	return nil
}

func inferSoftmax(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	s := x.in[0].Shape
	if _, ok := NormAxis(x.attr("axis").Int, len(s)); !ok {
		return x.errf(errs.GraphAttribute, "axis %d is out of range for rank %d", x.attr("axis").Int, len(s))
	}
	x.out[0] = ValueInfo{DType: t, Shape: s}
	return nil
}

func inferGemm(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	a, b := x.in[0].Shape, x.in[1].Shape
	if len(a) != 2 || len(b) != 2 {
		return x.errf(errs.GraphShape, "Gemm needs 2-D A and B; got %v and %v", a, b)
	}
	m, ka := a[0], a[1]
	if x.attr("transA").Int != 0 {
		m, ka = ka, m
	}
	kb, n := b[0], b[1]
	if x.attr("transB").Int != 0 {
		kb, n = n, kb
	}
	if _, ok := mergeDim(ka, kb); !ok {
		return x.errf(errs.GraphShape, "Gemm inner dimensions differ: A %v, B %v (transA=%d, transB=%d)", a, b, x.attr("transA").Int, x.attr("transB").Int)
	}
	out := []int64{m, n}
	if len(x.in) > 2 && x.in[2] != nil {
		if !unidirectional(x.in[2].Shape, out) {
			return x.errf(errs.GraphShape, "Gemm C %v does not broadcast to %v", x.in[2].Shape, out)
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: out}
	return nil
}

// unidirectional reports whether c broadcasts to target without growing it.
func unidirectional(c, target []int64) bool {
	if len(c) > len(target) {
		return false
	}
	for i := range c {
		d, t := c[len(c)-1-i], target[len(target)-1-i]
		if d != 1 && d != Dynamic && t != Dynamic && d != t {
			return false
		}
	}
	return true
}

func inferMatMul(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	a, b := x.in[0].Shape, x.in[1].Shape
	if len(a) == 0 || len(b) == 0 {
		return x.errf(errs.GraphShape, "MatMul operands must have rank >= 1; got %v and %v", a, b)
	}
	shape, err := MatMulShape(a, b)
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: t, Shape: shape}
	return nil
}

// MatMulShape returns numpy.matmul's result shape for operand shapes a and b.
func MatMulShape(a, b []int64) ([]int64, error) {
	aa, bb := a, b
	if len(a) == 1 {
		aa = []int64{1, a[0]}
	}
	if len(b) == 1 {
		bb = []int64{b[0], 1}
	}
	if _, ok := mergeDim(aa[len(aa)-1], bb[len(bb)-2]); !ok {
		return nil, errs.New(errs.GraphShape, "MatMul inner dimensions differ: %v × %v", a, b)
	}
	batch, ok := Broadcast(aa[:len(aa)-2], bb[:len(bb)-2])
	if !ok {
		return nil, errs.New(errs.GraphShape, "MatMul batch dimensions %v and %v do not broadcast", a[:len(aa)-2], b[:len(bb)-2])
	}
	nb := len(batch)
	out := append(batch, aa[len(aa)-2], bb[len(bb)-1])
	if len(b) == 1 { // drop the N that promotion added
		out = out[:len(out)-1]
	}
	if len(a) == 1 { // drop the M that promotion added
		out = append(out[:nb], out[nb+1:]...)
	}
	return out, nil
}

func inferLayerNorm(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	s := x.in[0].Shape
	axis, ok := NormAxis(x.attr("axis").Int, len(s))
	if !ok {
		return x.errf(errs.GraphAttribute, "axis %d is out of range for rank %d", x.attr("axis").Int, len(s))
	}
	norm := s[axis:]
	for i := 1; i < len(x.in); i++ {
		if x.in[i] == nil {
			continue
		}
		if !shapeCompatible(norm, x.in[i].Shape) {
			return x.errf(errs.GraphShape, "LayerNormalization input %d has shape %v; it must equal X.shape[axis:] = %v", i, x.in[i].Shape, norm)
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: s}
	stat := append([]int64(nil), s...)
	for i := axis; i < len(stat); i++ {
		stat[i] = 1
	}
	for i := 1; i < len(x.out); i++ {
		x.out[i] = ValueInfo{DType: t, Shape: stat}
	}
	return nil
}

func inferReshape(x *inferCtx) error {
	if x.in[1].DType != dtype.Int64 || len(x.in[1].Shape) != 1 {
		return x.errf(errs.GraphDType, "Reshape shape must be a 1-D int64 tensor; got %s %v", x.in[1].DType, x.in[1].Shape)
	}
	target, isConst, err := x.consts.Int64s(x.n.In[1])
	if err != nil {
		return err
	}
	if !isConst {
		// Computed from other shapes: known only when a run is planned (the
		// engine evaluates such values then); until then only the rank is.
		n := x.in[1].Shape[0]
		if n == Dynamic {
			return x.errf(errs.UnsupportedFeature, "Reshape shape %q has a length known only at run time; the output's rank must be fixed", x.in[1].Name)
		}
		if n > dtype.MaxRank {
			return x.errf(errs.UnsupportedFeature, "Reshape to rank %d; MLE supports rank <= %d", n, dtype.MaxRank)
		}
		if n == 0 { // to a scalar, whatever the values: the counts must agree
			out, err := ReshapeShape(x.in[0].Shape, nil, false)
			if err != nil {
				return err
			}
			x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
			return nil
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = Dynamic
		}
		x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
		return nil
	}
	out, err := ReshapeShape(x.in[0].Shape, target, x.attr("allowzero").Int != 0)
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

// ReshapeShape applies ONNX Reshape rules (0 copies a dim unless allowzero,
// one -1 is inferred) to an input shape that may hold Dynamic dims.
func ReshapeShape(in, target []int64, allowZero bool) ([]int64, error) {
	if len(target) > dtype.MaxRank {
		return nil, errs.New(errs.UnsupportedFeature, "Reshape to rank %d; MLE supports rank <= %d", len(target), dtype.MaxRank)
	}
	out := make([]int64, len(target))
	infer := -1
	inKnown := true
	for _, d := range in {
		if d == Dynamic {
			inKnown = false
		}
	}
	inCount, ok := dtype.NumElements(in)
	if inKnown && !ok {
		return nil, errs.New(errs.GraphTooLarge, "Reshape input shape %v overflows", in)
	}
	known := int64(1)
	outKnown := true
	for i, d := range target {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, errs.New(errs.GraphShape, "Reshape shape %v has more than one -1", target)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, errs.New(errs.GraphShape, "Reshape shape %v copies dimension %d, but the input %v has rank %d", target, i, in, len(in))
			}
			d = in[i]
		case d < 0:
			return nil, errs.New(errs.GraphShape, "Reshape shape %v has invalid dimension %d", target, d)
		}
		out[i] = d
		if d == Dynamic {
			outKnown = false
			continue
		}
		if p, ok := dtype.NumElements([]int64{known, d}); ok {
			known = p
		} else {
			return nil, errs.New(errs.GraphTooLarge, "Reshape shape %v overflows", target)
		}
	}
	if infer >= 0 {
		if allowZero && known == 0 {
			return nil, errs.New(errs.GraphShape, "Reshape shape %v has both 0 and -1 with allowzero", target)
		}
		switch {
		case !inKnown || !outKnown:
			out[infer] = Dynamic
		case known == 0 || inCount%known != 0:
			return nil, errs.New(errs.GraphShape, "cannot reshape %v (%d elements) to %v", in, inCount, target)
		default:
			out[infer] = inCount / known
		}
	} else if inKnown && outKnown && known != inCount {
		return nil, errs.New(errs.GraphShape, "cannot reshape %v (%d elements) to %v (%d elements)", in, inCount, target, known)
	}
	return out, nil
}

func inferFlatten(x *inferCtx) error {
	s := x.in[0].Shape
	axis := x.attr("axis").Int
	if axis < 0 {
		axis += int64(len(s))
	}
	if axis < 0 || axis > int64(len(s)) {
		return x.errf(errs.GraphAttribute, "Flatten axis %d is out of range for rank %d", x.attr("axis").Int, len(s))
	}
	outer, ok1 := prodDims(s[:axis])
	inner, ok2 := prodDims(s[axis:])
	if !ok1 || !ok2 {
		return x.errf(errs.GraphTooLarge, "Flatten of %v overflows", s)
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: []int64{outer, inner}}
	return nil
}

// prodDims multiplies dims, giving Dynamic if any is unknown; ok is false on
// overflow.
func prodDims(dims []int64) (int64, bool) {
	for _, d := range dims {
		if d == Dynamic {
			return Dynamic, true
		}
	}
	return dtype.NumElements(dims)
}

func inferTranspose(x *inferCtx) error {
	s := x.in[0].Shape
	perm, err := TransposePerm(x.attr("perm").Ints, len(s))
	if err != nil {
		return err
	}
	out := make([]int64, len(s))
	for i, p := range perm {
		out[i] = s[p]
	}
	x.out[0] = ValueInfo{DType: x.in[0].DType, Shape: out}
	return nil
}

// TransposePerm validates perm for rank (empty means reverse the axes: an
// absent attribute and an empty list must mean the same, or a graph would
// change meaning when written and read back).
func TransposePerm(perm []int64, rank int) ([]int, error) {
	out := make([]int, rank)
	if len(perm) == 0 {
		for i := range out {
			out[i] = rank - 1 - i
		}
		return out, nil
	}
	if len(perm) != rank {
		return nil, errs.New(errs.GraphAttribute, "Transpose perm %v has %d entries for rank %d", perm, len(perm), rank)
	}
	seen := make([]bool, rank)
	for i, p := range perm {
		if p < 0 || p >= int64(rank) || seen[p] {
			return nil, errs.New(errs.GraphAttribute, "Transpose perm %v is not a permutation of 0..%d", perm, rank-1)
		}
		seen[p] = true
		out[i] = int(p)
	}
	return out, nil
}

func inferConcat(x *inferCtx) error {
	t, err := x.sameType(nil)
	if err != nil {
		return err
	}
	for i, in := range x.in {
		if in == nil {
			return x.errf(errs.GraphShape, "Concat input %d is empty", i)
		}
	}
	s0 := x.in[0].Shape
	axis, ok := NormAxis(x.attr("axis").Int, len(s0))
	if !ok {
		return x.errf(errs.GraphAttribute, "Concat axis %d is out of range for rank %d", x.attr("axis").Int, len(s0))
	}
	out := append([]int64(nil), s0...)
	for i, in := range x.in[1:] {
		s := in.Shape
		if len(s) != len(s0) {
			return x.errf(errs.GraphShape, "Concat input %d has rank %d; input 0 has rank %d", i+1, len(s), len(s0))
		}
		for d := range s {
			if d == axis {
				switch {
				case out[d] == Dynamic || s[d] == Dynamic:
					out[d] = Dynamic
				case out[d] > math.MaxInt64-s[d]:
					return x.errf(errs.GraphTooLarge, "Concat along axis %d overflows", axis)
				default:
					out[d] += s[d]
				}
				continue
			}
			m, ok := mergeDim(out[d], s[d])
			if !ok {
				return x.errf(errs.GraphShape, "Concat input %d has shape %v; input 0 has %v (only axis %d may differ)", i+1, s, s0, axis)
			}
			out[d] = m
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: out}
	return nil
}

func inferArgMax(x *inferCtx) error {
	if _, err := x.sameType(numericTypes); err != nil {
		return err
	}
	s := x.in[0].Shape
	axis, ok := NormAxis(x.attr("axis").Int, len(s))
	if !ok {
		return x.errf(errs.GraphAttribute, "ArgMax axis %d is out of range for rank %d", x.attr("axis").Int, len(s))
	}
	if s[axis] == 0 {
		return x.errf(errs.GraphShape, "ArgMax over an empty axis %d of %v", axis, s)
	}
	out := append([]int64(nil), s...)
	if x.attr("keepdims").Int != 0 {
		out[axis] = 1
	} else {
		out = append(out[:axis], out[axis+1:]...)
	}
	x.out[0] = ValueInfo{DType: dtype.Int64, Shape: out}
	return nil
}

func inferCast(x *inferCtx) error {
	to := x.attr("to").Int
	if to < 0 || to > 255 || !dtype.DType(to).Valid() {
		return x.errf(errs.GraphAttribute, "Cast to %d: unknown dtype", to)
	}
	if dtype.DType(to).IsString() {
		return x.errf(errs.GraphDType, "Cast to string is not supported: numbers have no one text form")
	}
	x.out[0] = ValueInfo{DType: dtype.DType(to), Shape: x.in[0].Shape}
	return nil
}

func inferCompare(x *inferCtx) error {
	if _, err := x.sameType(numericTypes); err != nil {
		return err
	}
	s, ok := Broadcast(x.in[0].Shape, x.in[1].Shape)
	if !ok {
		return x.errf(errs.GraphShape, "shapes %v and %v do not broadcast", x.in[0].Shape, x.in[1].Shape)
	}
	x.out[0] = ValueInfo{DType: dtype.Bool, Shape: s}
	return nil
}

func inferIsNaN(x *inferCtx) error {
	if _, err := x.sameType(floatTypes); err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: dtype.Bool, Shape: x.in[0].Shape}
	return nil
}

func inferWhere(x *inferCtx) error {
	if x.in[0].DType != dtype.Bool {
		return x.errf(errs.GraphDType, "Where condition %q is %s; it must be bool", x.in[0].Name, x.in[0].DType)
	}
	if x.in[1].DType != x.in[2].DType {
		return x.errf(errs.GraphDType, "Where branches are %s and %s; they must match", x.in[1].DType, x.in[2].DType)
	}
	s, ok := Broadcast(x.in[0].Shape, x.in[1].Shape)
	if ok {
		s, ok = Broadcast(s, x.in[2].Shape)
	}
	if !ok {
		return x.errf(errs.GraphShape, "Where shapes %v, %v and %v do not broadcast", x.in[0].Shape, x.in[1].Shape, x.in[2].Shape)
	}
	x.out[0] = ValueInfo{DType: x.in[1].DType, Shape: s}
	return nil
}

// ReduceAxes returns which axes of a rank-r tensor the axes attribute
// reduces (all when empty).
func ReduceAxes(axes []int64, r int) ([]bool, error) {
	reduced := make([]bool, r)
	if len(axes) == 0 {
		for i := range reduced {
			reduced[i] = true
		}
		return reduced, nil
	}
	for _, a := range axes {
		d, ok := NormAxis(a, r)
		if !ok || reduced[d] {
			return nil, errs.New(errs.GraphAttribute, "axes %v are not distinct axes of a rank-%d tensor", axes, r)
		}
		reduced[d] = true
	}
	return reduced, nil
}

func inferReduce(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	s := x.in[0].Shape
	reduced, err := ReduceAxes(x.attr("axes").Ints, len(s))
	if err != nil {
		return err
	}
	out := []int64{}
	for d, dim := range s {
		switch {
		case !reduced[d]:
			out = append(out, dim)
		case x.attr("keepdims").Int != 0:
			out = append(out, 1)
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: out}
	return nil
}

func inferClip(x *inferCtx) error {
	t, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	for i := 1; i < len(x.in); i++ {
		if x.in[i] != nil {
			if n, ok := dtype.NumElements(x.in[i].Shape); !ok || n != 1 {
				return x.errf(errs.GraphShape, "Clip bound %q has shape %v; it must hold one value", x.in[i].Name, x.in[i].Shape)
			}
		}
	}
	x.out[0] = ValueInfo{DType: t, Shape: x.in[0].Shape}
	return nil
}

func inferGather(x *inferCtx) error {
	data, idx := x.in[0], x.in[1]
	if idx.DType != dtype.Int64 && idx.DType != dtype.Int32 {
		return x.errf(errs.GraphDType, "Gather indices %q are %s; they must be int32 or int64", idx.Name, idx.DType)
	}
	if len(data.Shape) == 0 {
		return x.errf(errs.GraphShape, "Gather data %q is a scalar", data.Name)
	}
	axis, ok := NormAxis(x.attr("axis").Int, len(data.Shape))
	if !ok {
		return x.errf(errs.GraphAttribute, "Gather axis %d is out of range for rank %d", x.attr("axis").Int, len(data.Shape))
	}
	out := append(append(append([]int64{}, data.Shape[:axis]...), idx.Shape...), data.Shape[axis+1:]...)
	x.out[0] = ValueInfo{DType: data.DType, Shape: out}
	return nil
}

// String formats a node for messages.
func (n *Node) String() string { return fmt.Sprintf("%s %q", n.Op, n.Name) }
