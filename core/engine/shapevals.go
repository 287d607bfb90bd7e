package engine

// Shape values: small int64 tensors computed only from the shapes of the
// run's inputs and from constants — Shape, then arithmetic, then Concat,
// then a Reshape or Expand, as exporters write reshapes over dynamic batch
// and sequence dimensions. The planner knows every input shape, so it
// evaluates them while it infers shapes, and inference downstream sees them
// as constants. They are keyed by input shapes like the plan itself, and
// still run as ordinary steps. Values computed from input data are never
// evaluated here: a Reshape to such a shape is refused at plan time.

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// shapeValueMax bounds the elements of an evaluated value: shapes and short
// index lists, never tensor data.
const shapeValueMax = 64

// constSource serves int64 values to shape inference: stored and folded
// constants, and the plan's shape values.
type constSource struct {
	m     *Model
	known [][]int64 // by value id: a shape value of the plan being built; nil if none
}

func (c constSource) Int64s(id int) ([]int64, bool, error) {
	if c.known != nil && c.known[id] != nil {
		return c.known[id], true, nil
	}
	v := c.m.g.Values[id]
	if v.Kind == graph.KindConstant {
		vals, err := c.m.file.Int64s(v.Name)
		return vals, true, err
	}
	if fs := &c.m.fold; fs.value != nil && fs.value[id] && v.DType == dtype.Int64 {
		return append([]int64{}, i64s(fs.data[id])...), true, nil
	}
	return nil, false, nil
}

// evalShapeValue computes node n's int64 output when it is a shape value:
// its op is one of the few below and every input is known. shapes holds the
// plan's shapes by value id. Anything else is left alone (the node runs as
// usual; inference of its readers sees no constant).
func evalShapeValue(c constSource, n *graph.CNode, shapes [][]int64) {
	if len(n.Out) != 1 || n.Out[0] < 0 || c.m.g.Values[n.Out[0]].DType != dtype.Int64 {
		return
	}
	if cnt, ok := dtype.NumElements(shapes[n.Out[0]]); !ok || cnt > shapeValueMax {
		return
	}
	if n.Op == "Shape" {
		s := shapes[n.In[0]]
		lo, hi := graph.ShapeRange(n.Attr("start").Int, n.Attr("end").Int, len(s))
		c.known[n.Out[0]] = append([]int64{}, s[lo:hi]...)
		return
	}
	args := make([][]int64, len(n.In))
	for j, id := range n.In {
		if id < 0 {
			continue
		}
		if cnt, ok := dtype.NumElements(shapes[id]); !ok || cnt > shapeValueMax || c.m.g.Values[id].DType != dtype.Int64 {
			return
		}
		vals, isConst, err := c.Int64s(id)
		if !isConst || err != nil {
			return
		}
		args[j] = vals
	}
	var out []int64
	switch n.Op {
	case "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast":
		out = args[0]
	case "Concat":
		out = []int64{}
		for _, a := range args {
			out = append(out, a...)
		}
	case "Add", "Sub", "Mul", "Div", "Max", "Min":
		if len(args) != 2 {
			return
		}
		a, b := args[0], args[1]
		if len(a) != len(b) && len(a) != 1 && len(b) != 1 {
			return
		}
		size := max(len(a), len(b))
		if len(a) == 0 || len(b) == 0 {
			size = 0 // broadcasting an empty operand gives an empty result
		}
		out = make([]int64, size)
		for i := range out {
			x, y := a[min(i, len(a)-1)], b[min(i, len(b)-1)]
			switch n.Op {
			case "Add":
				out[i] = x + y
			case "Sub":
				out[i] = x - y
			case "Mul":
				out[i] = x * y
			case "Div":
				if y == 0 {
					return // the kernel reports it when the node runs
				}
				out[i] = x / y // ONNX integer Div truncates, as Go does
			case "Max":
				out[i] = max(x, y)
			case "Min":
				out[i] = min(x, y)
			}
		}
	case "Gather":
		if n.Attr("axis").Int != 0 || len(shapes[n.In[0]]) != 1 {
			return
		}
		out = make([]int64, len(args[1]))
		for i, k := range args[1] {
			if k < 0 {
				k += int64(len(args[0]))
			}
			if k < 0 || k >= int64(len(args[0])) {
				return // the kernel reports it when the node runs
			}
			out[i] = args[0][k]
		}
	default:
		return
	}
	if cnt, _ := dtype.NumElements(shapes[n.Out[0]]); int64(len(out)) != cnt {
		return
	}
	c.known[n.Out[0]] = out
}
