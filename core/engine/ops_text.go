package engine

// Category lookup (CategoryIndex; schema in core/graph/ops_text.go).

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "CategoryIndex", Backend: CPUBackend, DTypes: graph.Schema("CategoryIndex").Types,
		Compile: compileCategoryIndex})
}

// categoryTable maps values to their index: text by its bytes, numbers by a
// canonical 64-bit key (floats: NaN and -0 folded; ints: the value).
type categoryTable struct {
	dt      dtype.DType
	text    map[string]int64
	num     map[uint64]int64
	unknown int64
	refuse  bool
}

// numKey is the lookup key of element i of a numeric tensor.
func numKey(dt dtype.DType, b []byte, i int) uint64 {
	var f float64
	switch dt {
	case dtype.Float32:
		f = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	case dtype.Float64:
		f = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	case dtype.Int32:
		return uint64(int64(int32(binary.LittleEndian.Uint32(b[4*i:]))))
	default:
		return binary.LittleEndian.Uint64(b[8*i:])
	}
	switch {
	case f != f:
		return math.Float64bits(math.NaN())
	case f == 0:
		return 0
	}
	return math.Float64bits(f)
}

func compileCategoryIndex(c *CompileCtx) (Compiled, error) {
	keys := c.Const(1)
	if keys == nil {
		return nil, errs.New(errs.GraphAttribute, "categories %q must be a stored constant", c.In[1].Name)
	}
	t := &categoryTable{dt: c.In[0].DType, unknown: c.Node.Attr("unknown_index").Int, refuse: c.Node.Attr("refuse_unknown").Int == 1}
	n, _ := dtype.NumElements(c.In[1].Shape)
	dup := func(i int64) error {
		return errs.New(errs.GraphAttribute, "categories %q: entry %d repeats an earlier one", c.In[1].Name, i)
	}
	if t.dt.IsString() {
		if err := strs.Check(keys, n, errs.FormatString); err != nil {
			return nil, errs.Prefix(err, "categories %q", c.In[1].Name)
		}
		t.text = make(map[string]int64, n)
		for i := int64(0); i < n; i++ {
			k := string(strs.Elem(keys, n, i))
			if _, ok := t.text[k]; ok {
				return nil, dup(i)
			}
			t.text[k] = i
		}
	} else {
		t.num = make(map[uint64]int64, n)
		for i := int64(0); i < n; i++ {
			k := numKey(t.dt, keys, int(i))
			if _, ok := t.num[k]; ok {
				return nil, dup(i)
			}
			t.num[k] = i
		}
	}
	return BindFunc(func(b *BindCtx) (Executor, error) {
		return &categoryExec{t: t, name: b.Node.Name, rc: elemChunks(numel(b.In[0].Shape), 8, b.Threads)}, nil
	}), nil
}

type categoryExec struct {
	t    *categoryTable
	name string
	rc   rowChunks
	x    *RunCtx
	in   []byte
	out  []int64
}

func (e *categoryExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.in, e.out = x, in[0].Host, i64s(out[0].Host)
	x.Parallel(e.rc.count, e)
	e.x, e.in, e.out = nil, nil, nil
}

func (e *categoryExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	t := e.t
	for i := lo; i < hi; i++ {
		var idx int64
		var ok bool
		if t.text != nil {
			idx, ok = t.text[string(e.x.Str(e.in[refSize*i:]))]
		} else {
			idx, ok = t.num[numKey(t.dt, e.in, i)]
		}
		if !ok {
			if t.refuse {
				e.x.Fail(errs.New(errs.InvalidCategory, "%s is not among the categories seen in training (element %d of %q)", e.describe(i), i, e.name))
				return
			}
			idx = t.unknown
		}
		e.out[i] = idx
	}
}

// describe quotes element i for an error message (text cut to 64 bytes).
func (e *categoryExec) describe(i int) string {
	if e.t.text != nil {
		s := e.x.Str(e.in[refSize*i:])
		if len(s) > 64 {
			return "value " + strconv.Quote(string(s[:64])) + "..."
		}
		return "value " + strconv.Quote(string(s))
	}
	var v float64
	switch e.t.dt {
	case dtype.Float32:
		v = float64(math.Float32frombits(binary.LittleEndian.Uint32(e.in[4*i:])))
	case dtype.Float64:
		v = math.Float64frombits(binary.LittleEndian.Uint64(e.in[8*i:]))
	case dtype.Int32:
		return "value " + strconv.Itoa(int(int32(binary.LittleEndian.Uint32(e.in[4*i:]))))
	default:
		return "value " + strconv.FormatInt(int64(binary.LittleEndian.Uint64(e.in[8*i:])), 10)
	}
	return "value " + strconv.FormatFloat(v, 'g', -1, 64)
}
