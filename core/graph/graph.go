// Package graph is MLE's intermediate representation: nodes over named
// tensors, ONNX-style. It validates graphs (references, cycles, known ops,
// attribute types) and infers dtypes and shapes; it knows nothing of files or
// execution.
package graph

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Dynamic marks a dimension whose size is known only at run time.
const Dynamic = -1

// MaxNameLen caps tensor, node and attribute names (bytes).
const MaxNameLen = 4096

// AttrType is the type of an attribute value. Ids are part of the format.
type AttrType uint8

// Attribute types.
const (
	AttrInt    AttrType = 1
	AttrFloat  AttrType = 2
	AttrString AttrType = 3
	AttrInts   AttrType = 4
	AttrFloats AttrType = 5
)

func (t AttrType) String() string {
	switch t {
	case AttrInt:
		return "int"
	case AttrFloat:
		return "float"
	case AttrString:
		return "string"
	case AttrInts:
		return "ints"
	case AttrFloats:
		return "floats"
	}
	return fmt.Sprintf("attrtype(%d)", uint8(t))
}

// Attr is one typed attribute. Only the field matching Type is meaningful.
type Attr struct {
	Name   string
	Type   AttrType
	Int    int64
	Float  float64
	String string
	Ints   []int64
	Floats []float64
}

// ValueString formats the attribute's value for people: 3, 0.5, "text",
// [1 2 3].
func (a Attr) ValueString() string {
	switch a.Type {
	case AttrInt:
		return strconv.FormatInt(a.Int, 10)
	case AttrFloat:
		return strconv.FormatFloat(a.Float, 'g', -1, 64)
	case AttrString:
		return strconv.Quote(a.String)
	case AttrInts:
		return fmt.Sprint(a.Ints)
	case AttrFloats:
		return fmt.Sprint(a.Floats)
	}
	return fmt.Sprintf("attribute of type %d", a.Type)
}

// Node is one operation. An empty input or output name marks an absent
// optional argument.
type Node struct {
	Op      string
	Name    string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// ValueInfo names a tensor and its type. Shape uses Dynamic for sizes known
// only at run time.
type ValueInfo struct {
	Name  string
	DType dtype.DType
	Shape []int64
}

// Graph is a model's computation: inputs fed by the caller, constants read
// from the file, nodes, and the outputs returned to the caller.
type Graph struct {
	Inputs  []ValueInfo
	Outputs []ValueInfo
	Nodes   []Node
}

// Constants gives the checker access to the model's stored tensors.
type Constants interface {
	// Lookup returns the dtype and shape of the named stored tensor.
	Lookup(name string) (ValueInfo, bool)
	// Int64s returns the values of a stored int64 tensor (used for shape
	// arguments such as Reshape's).
	Int64s(name string) ([]int64, error)
}

// ValueKind says where a value comes from.
type ValueKind uint8

// Value kinds.
const (
	KindInput ValueKind = iota + 1
	KindConstant
	KindComputed
)

// Value is one tensor of a checked graph. Shape uses Dynamic where the size
// is known only at run time.
type Value struct {
	ValueInfo
	Kind     ValueKind
	Producer int // index into Checked.Nodes, -1 unless KindComputed
}

// CNode is a checked node: its schema and the value ids of its arguments.
type CNode struct {
	*Node
	Schema *OpSchema
	In     []int // -1 for an absent optional input
	Out    []int // -1 for an absent optional output
	attrs  []Attr
}

// Attr returns the node's attribute with the given name, defaults filled in.
// The name must be declared by the op's schema.
func (n *CNode) Attr(name string) Attr {
	for i, s := range n.Schema.Attrs {
		if s.Name == name {
			return n.attrs[i]
		}
	}
	panic("graph: op " + n.Op + " has no attribute " + name)
}

// Checked is a validated graph: nodes in topological order, every value typed.
type Checked struct {
	Values  []Value
	Nodes   []CNode
	Inputs  []int
	Outputs []int
	ByName  map[string]int
}

func checkName(what, name string) error {
	if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
		return errs.New(errs.GraphMalformed, "%s name %q must be 1..%d bytes of UTF-8", what, trunc(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return errs.New(errs.GraphMalformed, "%s name %q contains NUL", what, trunc(name))
		}
	}
	return nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func checkValueInfo(what string, v ValueInfo, allowDynamic bool) error {
	if err := checkName(what, v.Name); err != nil {
		return err
	}
	if !v.DType.Valid() {
		return errs.New(errs.GraphDType, "%s %q has unknown dtype %d", what, v.Name, uint8(v.DType))
	}
	if len(v.Shape) > dtype.MaxRank {
		return errs.New(errs.UnsupportedFeature, "%s %q has rank %d; MLE supports rank <= %d", what, v.Name, len(v.Shape), dtype.MaxRank)
	}
	for i, d := range v.Shape {
		if d < 0 && !(allowDynamic && d == Dynamic) {
			return errs.New(errs.GraphShape, "%s %q: dimension %d is %d", what, v.Name, i, d)
		}
	}
	return nil
}

// checkSize refuses a tensor whose static dimensions alone make it larger
// than any run could hold (its byte size overflows 2^62).
func checkSize(v ValueInfo) error {
	var buf [dtype.MaxRank]int64
	static := buf[:0] // no allocation for the usual ranks
	for _, d := range v.Shape {
		if d != Dynamic {
			static = append(static, d)
		}
	}
	if _, ok := dtype.ByteSize(v.DType, static); !ok && v.DType.Valid() {
		return errs.New(errs.GraphTooLarge, "tensor %q: shape %v is larger than any run could hold", trunc(v.Name), v.Shape)
	}
	return nil
}

// Check validates g against the op schemas and the stored constants and
// returns it in topological order with every value's dtype and shape.
func Check(g *Graph, consts Constants) (*Checked, error) {
	return check(g, consts, false)
}

// CheckInferOutputs is Check for graphs being built: outputs given with an
// Invalid dtype and nil shape take the inferred ones, written back into g.
func CheckInferOutputs(g *Graph, consts Constants) (*Checked, error) {
	return check(g, consts, true)
}

func check(g *Graph, consts Constants, inferOutputs bool) (*Checked, error) {
	nvals := len(g.Inputs)
	for i := range g.Nodes {
		nvals += len(g.Nodes[i].Inputs) + len(g.Nodes[i].Outputs) // a bound: constants and outputs
	}
	c := &Checked{ByName: make(map[string]int, nvals), Values: make([]Value, 0, nvals)}
	define := func(v Value) (int, error) {
		if _, dup := c.ByName[v.Name]; dup {
			return 0, errs.New(errs.GraphDuplicate, "tensor %q is defined more than once", v.Name)
		}
		if err := checkSize(v.ValueInfo); err != nil {
			return 0, err
		}
		c.ByName[v.Name] = len(c.Values)
		c.Values = append(c.Values, v)
		return len(c.Values) - 1, nil
	}
	for _, in := range g.Inputs {
		if err := checkValueInfo("input", in, true); err != nil {
			return nil, err
		}
		if _, isConst := consts.Lookup(in.Name); isConst {
			return nil, errs.New(errs.GraphDuplicate, "input %q has the same name as a stored tensor", in.Name)
		}
		id, err := define(Value{ValueInfo: ValueInfo{Name: in.Name, DType: in.DType, Shape: in.Shape}, Kind: KindInput, Producer: -1})
		if err != nil {
			return nil, err
		}
		c.Inputs = append(c.Inputs, id)
	}

	// producer[name] = node index, so references can be resolved in any order.
	producer := make(map[string]int, 2*len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if err := checkNodeSyntax(n, i); err != nil {
			return nil, err
		}
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup {
				return nil, errs.New(errs.GraphDuplicate, "tensor %q is produced by more than one node (node %d %s)", o, i, n.Op)
			}
			if _, dup := c.ByName[o]; dup {
				return nil, errs.New(errs.GraphDuplicate, "node %d (%s) output %q redefines a graph input", i, n.Op, o)
			}
			if _, isConst := consts.Lookup(o); isConst {
				return nil, errs.New(errs.GraphDuplicate, "node %d (%s) output %q redefines a stored tensor", i, n.Op, o)
			}
			producer[o] = i
		}
	}

	// Resolve every node input; note whether the stored order is already
	// topological (the common case, kept as is).
	sorted := true
	edges := 0
	for i := range g.Nodes {
		for _, in := range g.Nodes[i].Inputs {
			if in == "" {
				continue
			}
			if p, ok := producer[in]; ok {
				edges++
				sorted = sorted && p < i
				continue
			}
			if _, ok := c.ByName[in]; ok {
				continue
			}
			if ci, ok := consts.Lookup(in); ok {
				if _, err := define(Value{ValueInfo: ValueInfo{Name: in, DType: ci.DType, Shape: ci.Shape}, Kind: KindConstant, Producer: -1}); err != nil {
					return nil, err
				}
				continue
			}
			return nil, errs.New(errs.GraphMissingTensor, "node %d (%s %q) reads tensor %q, which no input, stored tensor or node defines", i, g.Nodes[i].Op, g.Nodes[i].Name, in)
		}
	}
	order := make([]int, len(g.Nodes))
	for i := range order {
		order[i] = i
	}
	if !sorted {
		var err error
		if order, err = topoSort(g, producer, edges); err != nil {
			return nil, err
		}
	}

	// One allocation each for every node's argument ids and attributes.
	nArgs, nAttrs := 0, 0
	for i := range g.Nodes {
		nArgs += len(g.Nodes[i].Inputs) + len(g.Nodes[i].Outputs)
		nAttrs += len(schemas[g.Nodes[i].Op].Attrs)
	}
	args, attrs := make([]int, nArgs), make([]Attr, nAttrs)
	take := func(n int) []int {
		s := args[:n:n]
		args = args[n:]
		return s
	}
	c.Nodes = make([]CNode, len(order))
	var ins []*ValueInfo
	var x inferCtx
	cr := &constReader{c, consts}
	for k, i := range order {
		n := &g.Nodes[i]
		cn := &c.Nodes[k]
		cn.Node = n
		cn.Schema = schemas[n.Op] // presence checked in checkNodeSyntax
		cn.In = take(len(n.Inputs))
		for j, in := range n.Inputs {
			cn.In[j] = -1
			if in != "" {
				cn.In[j] = c.ByName[in]
				if slices.Contains(cn.Schema.Stored, j) && c.Values[cn.In[j]].Kind != KindConstant {
					return nil, errs.New(errs.GraphAttribute, "node %d (%s %q): input %d (%q) must be a stored tensor, not computed or passed at run time", i, n.Op, n.Name, j, in)
				}
			}
		}
		cn.attrs, attrs = attrs[:len(cn.Schema.Attrs):len(cn.Schema.Attrs)], attrs[len(cn.Schema.Attrs):]
		if err := resolveAttrs(cn); err != nil {
			return nil, err
		}
		ins = ins[:0]
		for _, id := range cn.In {
			var in *ValueInfo
			if id >= 0 {
				in = &c.Values[id].ValueInfo // Infer reads it and keeps nothing
			}
			ins = append(ins, in)
		}
		outs, err := x.run(cn, ins, cr)
		if err != nil {
			return nil, errs.Prefix(err, "node %d (%s %q)", i, n.Op, n.Name)
		}
		cn.Out = take(len(n.Outputs))
		for j, o := range n.Outputs {
			cn.Out[j] = -1
			if o == "" {
				continue
			}
			id, err := define(Value{ValueInfo: ValueInfo{Name: o, DType: outs[j].DType, Shape: outs[j].Shape}, Kind: KindComputed, Producer: k})
			if err != nil {
				return nil, err
			}
			cn.Out[j] = id
		}
	}

	seen := make(map[string]bool, len(g.Outputs))
	for oi := range g.Outputs {
		o := &g.Outputs[oi]
		if inferOutputs && o.DType == dtype.Invalid && o.Shape == nil {
			if err := checkName("output", o.Name); err != nil {
				return nil, err
			}
			if id, ok := c.ByName[o.Name]; ok {
				o.DType, o.Shape = c.Values[id].DType, c.Values[id].Shape
			} else if ci, ok := consts.Lookup(o.Name); ok {
				o.DType, o.Shape = ci.DType, ci.Shape
			} else {
				return nil, errs.New(errs.GraphMissingTensor, "output %q is not defined by any input, stored tensor or node", o.Name)
			}
		}
		if err := checkValueInfo("output", *o, true); err != nil {
			return nil, err
		}
		if seen[o.Name] {
			return nil, errs.New(errs.GraphDuplicate, "output %q is listed twice", o.Name)
		}
		seen[o.Name] = true
		id, ok := c.ByName[o.Name]
		if !ok {
			if ci, isConst := consts.Lookup(o.Name); isConst {
				var err error
				if id, err = define(Value{ValueInfo: ValueInfo{Name: o.Name, DType: ci.DType, Shape: ci.Shape}, Kind: KindConstant, Producer: -1}); err != nil {
					return nil, err
				}
			} else {
				return nil, errs.New(errs.GraphMissingTensor, "output %q is not defined by any input, stored tensor or node", o.Name)
			}
		}
		v := c.Values[id]
		if v.DType != o.DType {
			return nil, errs.New(errs.GraphDType, "output %q is declared %s but computes %s", o.Name, o.DType, v.DType)
		}
		if !shapeCompatible(o.Shape, v.Shape) {
			return nil, errs.New(errs.GraphShape, "output %q is declared %v but computes %v", o.Name, o.Shape, v.Shape)
		}
		c.Outputs = append(c.Outputs, id)
	}
	if len(c.Outputs) == 0 {
		return nil, errs.New(errs.GraphShape, "the graph has no outputs")
	}
	return c, nil
}

// shapeCompatible reports whether declared and inferred shapes can agree:
// same rank, and equal wherever both are known.
func shapeCompatible(declared, inferred []int64) bool {
	if len(declared) != len(inferred) {
		return false
	}
	for i := range declared {
		if declared[i] != Dynamic && inferred[i] != Dynamic && declared[i] != inferred[i] {
			return false
		}
	}
	return true
}

func checkNodeSyntax(n *Node, i int) error {
	s, ok := schemas[n.Op]
	if !ok {
		return errs.New(errs.GraphUnknownOp, "node %d (%q) has unknown op %q", i, trunc(n.Name), trunc(n.Op))
	}
	if n.Name != "" {
		if err := checkName("node", n.Name); err != nil {
			return err
		}
	}
	if len(n.Inputs) < s.MinInputs || len(n.Inputs) > s.MaxInputs {
		return errs.New(errs.GraphShape, "node %d (%s %q) has %d inputs; %s takes %d to %d", i, n.Op, n.Name, len(n.Inputs), n.Op, s.MinInputs, s.MaxInputs)
	}
	if len(n.Outputs) < s.MinOutputs || len(n.Outputs) > s.MaxOutputs {
		return errs.New(errs.GraphShape, "node %d (%s %q) has %d outputs; %s gives %d to %d", i, n.Op, n.Name, len(n.Outputs), n.Op, s.MinOutputs, s.MaxOutputs)
	}
	for j, in := range n.Inputs {
		if in == "" {
			if j < s.MinInputs {
				return errs.New(errs.GraphShape, "node %d (%s %q): required input %d is empty", i, n.Op, n.Name, j)
			}
			continue
		}
		if err := checkName("tensor", in); err != nil {
			return err
		}
	}
	for j, o := range n.Outputs {
		if o == "" {
			if j == 0 {
				return errs.New(errs.GraphShape, "node %d (%s %q): output 0 is empty", i, n.Op, n.Name)
			}
			continue
		}
		if err := checkName("tensor", o); err != nil {
			return err
		}
	}
	return nil
}

// resolveAttrs fills cn.attrs (one slot per schema attribute) from the
// node's attributes and the schema's defaults.
func resolveAttrs(cn *CNode) error {
	s := cn.Schema
	var set uint64 // bit i: attribute i was given (schemas have < 64)
	for _, a := range cn.Attrs {
		idx := -1
		for i := range s.Attrs {
			if s.Attrs[i].Name == a.Name {
				idx = i
				break
			}
		}
		if idx < 0 {
			return errs.New(errs.GraphAttribute, "node %q (%s) has unknown attribute %q", cn.Name, cn.Op, trunc(a.Name))
		}
		if set&(1<<idx) != 0 {
			return errs.New(errs.GraphAttribute, "node %q (%s) sets attribute %q twice", cn.Name, cn.Op, a.Name)
		}
		if a.Type != s.Attrs[idx].Type {
			return errs.New(errs.GraphAttribute, "node %q (%s) attribute %q is %s; %s expects %s", cn.Name, cn.Op, a.Name, a.Type, cn.Op, s.Attrs[idx].Type)
		}
		if a.Type == AttrFloat && (math.IsNaN(a.Float) || math.IsInf(a.Float, 0)) {
			return errs.New(errs.GraphAttribute, "node %q (%s) attribute %q is %v", cn.Name, cn.Op, a.Name, a.Float)
		}
		set |= 1 << idx
		cn.attrs[idx] = a
	}
	for i, spec := range s.Attrs {
		if set&(1<<i) != 0 {
			continue
		}
		if spec.Required {
			return errs.New(errs.GraphAttribute, "node %q (%s) lacks required attribute %q", cn.Name, cn.Op, spec.Name)
		}
		cn.attrs[i] = spec.Default
		cn.attrs[i].Name, cn.attrs[i].Type = spec.Name, spec.Type
	}
	return nil
}

// constReader serves constant values of a checked graph's constants.
type constReader struct {
	c      *Checked
	consts Constants
}

func (r *constReader) Int64s(id int) ([]int64, bool, error) {
	v := r.c.Values[id]
	if v.Kind != KindConstant {
		return nil, false, nil
	}
	vals, err := r.consts.Int64s(v.Name)
	return vals, true, err
}

// topoSort orders the nodes with Kahn's algorithm, taking the lowest ready
// index first so the result is deterministic and close to the stored order.
func topoSort(g *Graph, producer map[string]int, edges int) ([]int, error) {
	n := len(g.Nodes)
	// Readers of each node's outputs, in compressed rows: readers[start[p]:start[p+1]].
	start := make([]int, n+1)
	indeg := make([]int, n)
	for i := range g.Nodes {
		for _, in := range g.Nodes[i].Inputs {
			if p, ok := producer[in]; ok && in != "" {
				start[p+1]++
				indeg[i]++
			}
		}
	}
	for p := 0; p < n; p++ {
		start[p+1] += start[p]
	}
	readers := make([]int, edges)
	fill := append([]int(nil), start[:n]...)
	for i := range g.Nodes {
		for _, in := range g.Nodes[i].Inputs {
			if p, ok := producer[in]; ok && in != "" {
				readers[fill[p]] = i
				fill[p]++
			}
		}
	}
	var ready minHeap
	for i, d := range indeg {
		if d == 0 {
			ready.push(i)
		}
	}
	order := make([]int, 0, n)
	for len(ready) > 0 {
		i := ready.pop()
		order = append(order, i)
		for _, j := range readers[start[i]:start[i+1]] {
			if indeg[j]--; indeg[j] == 0 {
				ready.push(j)
			}
		}
	}
	if len(order) != n {
		for i, d := range indeg {
			if d > 0 {
				return nil, errs.New(errs.GraphCycle, "the graph has a cycle through node %d (%s %q)", i, g.Nodes[i].Op, g.Nodes[i].Name)
			}
		}
	}
	return order, nil
}

// minHeap is a binary min-heap of ints (container/heap would box each one).
type minHeap []int

func (h *minHeap) push(x int) {
	*h = append(*h, x)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p] <= a[i] {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *minHeap) pop() int {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(a) && a[l] < a[m] {
			m = l
		}
		if l+1 < len(a) && a[l+1] < a[m] {
			m = l + 1
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
