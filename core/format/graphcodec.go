package format

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// noString marks an absent name in the GRAPH section (unnamed node, empty
// optional input or output).
const noString = math.MaxUint32

// Limits on the GRAPH section, well above any real model, that bound decoding work.
const (
	maxGraphStrings = 1 << 24
	maxNodeArgs     = 1 << 16
)

// EncodeGraph serializes g in the GRAPH section's binary encoding.
func EncodeGraph(g *graph.Graph) []byte {
	ids := map[string]uint32{}
	var strs []string
	sid := func(s string) uint32 {
		if id, ok := ids[s]; ok {
			return id
		}
		ids[s] = uint32(len(strs))
		strs = append(strs, s)
		return ids[s]
	}
	optSid := func(s string) uint32 {
		if s == "" {
			return noString
		}
		return sid(s)
	}
	var body writer
	valueInfos := func(vs []graph.ValueInfo) {
		body.u32(uint32(len(vs)))
		for _, v := range vs {
			body.u32(sid(v.Name))
			body.u8(uint8(v.DType))
			body.u8(uint8(len(v.Shape)))
			for _, d := range v.Shape {
				body.i64(d)
			}
		}
	}
	valueInfos(g.Inputs)
	valueInfos(g.Outputs)
	body.u32(uint32(len(g.Nodes)))
	for _, n := range g.Nodes {
		body.u32(sid(n.Op))
		body.u32(optSid(n.Name))
		body.u32(uint32(len(n.Inputs)))
		for _, in := range n.Inputs {
			body.u32(optSid(in))
		}
		body.u32(uint32(len(n.Outputs)))
		for _, o := range n.Outputs {
			body.u32(optSid(o))
		}
		body.u32(uint32(len(n.Attrs)))
		for _, a := range n.Attrs {
			body.u32(sid(a.Name))
			body.u8(uint8(a.Type))
			switch a.Type {
			case graph.AttrInt:
				body.i64(a.Int)
			case graph.AttrFloat:
				body.f64(a.Float)
			case graph.AttrString:
				body.u32(sid(a.String))
			case graph.AttrInts:
				body.u32(uint32(len(a.Ints)))
				for _, v := range a.Ints {
					body.i64(v)
				}
			case graph.AttrFloats:
				body.u32(uint32(len(a.Floats)))
				for _, v := range a.Floats {
					body.f64(v)
				}
			}
		}
	}
	var out writer
	out.u32(uint32(len(strs)))
	for _, s := range strs {
		out.u32(uint32(len(s)))
		out.b = append(out.b, s...)
	}
	return append(out.b, body.b...)
}

// DecodeGraph parses a GRAPH section. It checks the encoding only; graph.Check
// validates the meaning.
func DecodeGraph(b []byte) (*graph.Graph, error) {
	c := &cursor{b: b, what: "GRAPH section", code: errs.GraphMalformed}
	// One string conversion for the whole section; names are substrings of it.
	all := string(b)
	n := c.count("string", 4)
	if n > maxGraphStrings {
		return nil, errs.New(errs.GraphMalformed, "GRAPH section has %d strings; the limit is %d", n, maxGraphStrings)
	}
	strs := make([]string, n)
	for i := range strs {
		l := int(c.u32())
		start := c.off
		c.take(l)
		if c.err != nil {
			return nil, c.err
		}
		strs[i] = all[start : start+l]
	}
	str := func(what string) string {
		id := c.u32()
		if c.err == nil && id >= uint32(len(strs)) {
			c.fail("%s string id %d at offset %d is out of range (%d strings)", what, id, c.off-4, len(strs))
		}
		if c.err != nil {
			return ""
		}
		return strs[id]
	}
	optStr := func(what string) string {
		id := c.u32()
		if c.err != nil || id == noString {
			return ""
		}
		if id >= uint32(len(strs)) {
			c.fail("%s string id %d at offset %d is out of range (%d strings)", what, id, c.off-4, len(strs))
			return ""
		}
		return strs[id]
	}
	valueInfos := func(what string) []graph.ValueInfo {
		n := c.count(what, 6)
		vs := make([]graph.ValueInfo, n)
		for i := range vs {
			vs[i].Name = str(what + " name")
			vs[i].DType = dtype.DType(c.u8())
			rank := int(c.u8())
			if rank > dtype.MaxRank {
				c.fail("%s %q has rank %d; the limit is %d", what, vs[i].Name, rank, dtype.MaxRank)
			}
			if c.err != nil {
				return nil
			}
			vs[i].Shape = make([]int64, rank)
			for j := range vs[i].Shape {
				vs[i].Shape[j] = c.i64()
			}
		}
		return vs
	}
	g := &graph.Graph{}
	g.Inputs = valueInfos("input")
	g.Outputs = valueInfos("output")
	nn := c.count("node", 20)
	if c.err != nil {
		return nil, c.err
	}
	g.Nodes = make([]graph.Node, nn)
	// Node arguments come from shared blocks: one allocation per ~1000 names
	// instead of two per node. Every name left takes 4 bytes of the section,
	// so a small graph gets a block of its size, not 1024.
	var block []string
	names := func(n int) []string {
		if n > len(block) {
			block = make([]string, max(n, min(1024, (len(b)-c.off)/4)))
		}
		s := block[:n:n]
		block = block[n:]
		return s
	}
	for i := range g.Nodes {
		nd := &g.Nodes[i]
		nd.Op = str("op")
		nd.Name = optStr("node")
		nin := c.count("node input", 4)
		if nin > maxNodeArgs {
			c.fail("node %d has %d inputs; the limit is %d", i, nin, maxNodeArgs)
		}
		if c.err != nil {
			return nil, c.err
		}
		nd.Inputs = names(nin)
		for j := range nd.Inputs {
			nd.Inputs[j] = optStr("input")
		}
		nout := c.count("node output", 4)
		if nout > maxNodeArgs {
			c.fail("node %d has %d outputs; the limit is %d", i, nout, maxNodeArgs)
		}
		if c.err != nil {
			return nil, c.err
		}
		nd.Outputs = names(nout)
		for j := range nd.Outputs {
			nd.Outputs[j] = optStr("output")
		}
		na := c.count("attribute", 5)
		if c.err != nil {
			return nil, c.err
		}
		if na > 0 {
			nd.Attrs = make([]graph.Attr, na)
		}
		for j := range nd.Attrs {
			a := &nd.Attrs[j]
			a.Name = str("attribute")
			a.Type = graph.AttrType(c.u8())
			switch a.Type {
			case graph.AttrInt:
				a.Int = c.i64()
			case graph.AttrFloat:
				a.Float = c.f64()
			case graph.AttrString:
				a.String = str("attribute value")
			case graph.AttrInts:
				k := c.count("ints", 8)
				if c.err != nil {
					return nil, c.err
				}
				a.Ints = make([]int64, k)
				for e := range a.Ints {
					a.Ints[e] = c.i64()
				}
			case graph.AttrFloats:
				k := c.count("floats", 8)
				if c.err != nil {
					return nil, c.err
				}
				a.Floats = make([]float64, k)
				for e := range a.Floats {
					a.Floats[e] = c.f64()
				}
			default:
				if c.err == nil {
					return nil, errs.New(errs.GraphAttribute, "GRAPH section: node %d attribute %q has unknown type %d", i, a.Name, uint8(a.Type))
				}
			}
		}
		if c.err != nil {
			return nil, c.err
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.off != len(b) {
		return nil, errs.New(errs.GraphMalformed, "GRAPH section has %d bytes after the last node", len(b)-c.off)
	}
	return g, nil
}
