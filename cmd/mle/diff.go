package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// difference is one way two models differ: in part, the item what has
// value A in the first model and B in the second.
type difference struct {
	Part string `json:"part"` // file, metadata, lineage, policy, signatures, graph, tensors
	What string `json:"what"`
	A    string `json:"a"`
	B    string `json:"b"`
}

type differ []difference

func (d *differ) add(part, what, a, b string) {
	*d = append(*d, difference{part, what, a, b})
}

// str compares two values shown as given.
func (d *differ) str(part, what, a, b string) {
	if a != b {
		d.add(part, what, a, b)
	}
}

// quoted compares two strings, shown quoted ("" as absent).
func (d *differ) quoted(part, what, a, b string) {
	if a != b {
		d.add(part, what, quoteOrAbsent(a), quoteOrAbsent(b))
	}
}

const absent = "(absent)"

func quoteOrAbsent(s string) string {
	if s == "" {
		return absent
	}
	return strconv.Quote(s)
}

// maps compares two string maps key by key.
func diffMaps[V any](d *differ, part, what string, a, b map[string]V, show func(V) string) {
	keys := sortedKeys(a)
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		sa, sb := absent, absent
		if inA {
			sa = show(va)
		}
		if inB {
			sb = show(vb)
		}
		d.str(part, what+" "+k, sa, sb)
	}
}

func cmdDiff(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("diff", w)
	sec := addSecFlags(fs, false)
	pos, err := parsePositional(fs, args, "A", "B")
	if err != nil {
		return *asJSON, err
	}
	// Like diff(1): 0 identical, 1 different, 2 trouble.
	trouble := func(err error) (bool, error) { return *asJSON, &exitError{2, err} }
	for i := range pos {
		if pos[i], err = resolveFile(pos[i]); err != nil {
			return trouble(err)
		}
	}
	if err := sec.load(); err != nil {
		return trouble(err)
	}
	var files [2]*format.File
	for i, p := range pos {
		f, err := format.Open(p, sec.open(format.OpenOptions{SkipPolicy: true}))
		if err != nil {
			return trouble(err)
		}
		defer f.Close()
		files[i] = f
	}
	d, err := diffModels(files[0], files[1])
	if err != nil {
		return trouble(err)
	}
	a := files[0]
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "a": pos[0], "b": pos[1], "identical": len(d) == 0, "differences": list(d)})
	} else if len(d) == 0 {
		fmt.Fprintf(w, "%s and %s are identical: metadata, signatures, graph (%d nodes) and %d tensors (decoded contents compared by SHA-256)\n",
			pos[0], pos[1], len(a.Graph.Nodes), len(a.Tensors))
	} else {
		fmt.Fprintf(w, "--- %s\n+++ %s\n", pos[0], pos[1])
		part := ""
		for _, x := range d {
			if x.Part != part {
				part = x.Part
				fmt.Fprintf(w, "%s:\n", part)
			}
			fmt.Fprintf(w, "  %s: %s -> %s\n", x.What, x.A, x.B)
		}
		plural := "s"
		if len(d) == 1 {
			plural = ""
		}
		fmt.Fprintf(w, "%d difference%s\n", len(d), plural)
	}
	if len(d) > 0 {
		return *asJSON, &exitError{1, nil}
	}
	return *asJSON, nil
}

// diffModels lists how b differs from a. It fails only when a tensor
// cannot be read.
func diffModels(a, b *format.File) (differ, error) {
	var d differ
	d.str("file", "format", fmt.Sprintf("%d.%d", a.Header.Major, a.Header.Minor), fmt.Sprintf("%d.%d", b.Header.Major, b.Header.Minor))
	d.str("file", "encryption", encryptionString(a), encryptionString(b))
	diffMetadata(&d, a.Metadata, b.Metadata)
	d.str("signatures", "signed by", keyList(a.Signed), keyList(b.Signed))
	diffGraphs(&d, a.Graph, b.Graph)
	if err := diffTensors(&d, a, b); err != nil {
		return nil, err
	}
	return d, nil
}

func encryptionString(f *format.File) string {
	if f.Envelope == nil {
		return "none"
	}
	return fmt.Sprintf("AES-256-GCM, chunk %d", f.Envelope.Params.ChunkSize)
}

func keyList(s *format.Signed) string {
	ids := signerIDs(s)
	if len(ids) == 0 {
		return "(unsigned)"
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

func diffMetadata(d *differ, a, b *format.Metadata) {
	const p = "metadata"
	d.quoted(p, "name", a.Name, b.Name)
	d.quoted(p, "description", a.Description, b.Description)
	d.quoted(p, "version", a.Version, b.Version)
	d.quoted(p, "created", a.Created, b.Created)
	d.quoted(p, "producer", strings.TrimSpace(a.Producer.Name+" "+a.Producer.Version), strings.TrimSpace(b.Producer.Name+" "+b.Producer.Version))
	d.quoted(p, "writer", a.Writer, b.Writer)
	diffMaps(d, p, "property", a.Properties, b.Properties, strconv.Quote)

	la, lb := a.Lineage, b.Lineage
	if la == nil {
		la = &format.Lineage{}
	}
	if lb == nil {
		lb = &format.Lineage{}
	}
	const l = "lineage"
	d.str(l, "parents", parentsString(la.Parents), parentsString(lb.Parents))
	ds := func(x *format.Dataset) string {
		if x == nil {
			return absent
		}
		return datasetString(x)
	}
	d.str(l, "dataset", ds(la.Dataset), ds(lb.Dataset))
	d.quoted(l, "git commit", la.GitCommit, lb.GitCommit)
	d.quoted(l, "author", la.Author, lb.Author)
	diffMaps(d, l, "param", la.Params, lb.Params, func(v json.RawMessage) string { return string(v) })

	pa, pb := a.Policy, b.Policy
	if pa == nil {
		pa = &format.Policy{}
	}
	if pb == nil {
		pb = &format.Policy{}
	}
	const q = "policy"
	d.quoted(q, "not_before", pa.NotBefore, pb.NotBefore)
	d.quoted(q, "expires", pa.Expires, pb.Expires)
	d.quoted(q, "hosts", strings.Join(pa.Hosts, ", "), strings.Join(pb.Hosts, ", "))
	d.quoted(q, "users", strings.Join(pa.Users, ", "), strings.Join(pb.Users, ", "))
	d.quoted(q, "min_runtime", pa.MinRuntime, pb.MinRuntime)
}

func parentsString(ps []format.Parent) string {
	if len(ps) == 0 {
		return absent
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = parentString(p)
	}
	return strings.Join(parts, "; ")
}

func valueInfoString(v graph.ValueInfo) string {
	return fmt.Sprintf("%s %s %s", v.Name, v.DType, shapeString(v.Shape))
}

func diffValueInfos(d *differ, what string, a, b []graph.ValueInfo) {
	for i := 0; i < max(len(a), len(b)); i++ {
		sa, sb := absent, absent
		if i < len(a) {
			sa = valueInfoString(a[i])
		}
		if i < len(b) {
			sb = valueInfoString(b[i])
		}
		d.str("graph", fmt.Sprintf("%s %d", what, i), sa, sb)
	}
}

// nodeKeys names each node for matching: by its name when every node of
// both graphs has a distinct one, else by its index.
func nodeKeys(a, b *graph.Graph) func(g *graph.Graph, i int) string {
	byName := true
	for _, g := range []*graph.Graph{a, b} {
		seen := map[string]bool{}
		for _, n := range g.Nodes {
			if n.Name == "" || seen[n.Name] {
				byName = false
			}
			seen[n.Name] = true
		}
	}
	if byName {
		return func(g *graph.Graph, i int) string { return strconv.Quote(g.Nodes[i].Name) }
	}
	return func(_ *graph.Graph, i int) string { return "#" + strconv.Itoa(i) }
}

func nodeString(n *graph.Node) string {
	ins := make([]string, len(n.Inputs))
	for i, s := range n.Inputs {
		ins[i] = s
		if s == "" {
			ins[i] = "_"
		}
	}
	return fmt.Sprintf("%s(%s) -> %s", n.Op, strings.Join(ins, ", "), strings.Join(n.Outputs, ", "))
}

func diffGraphs(d *differ, a, b *graph.Graph) {
	diffValueInfos(d, "input", a.Inputs, b.Inputs)
	diffValueInfos(d, "output", a.Outputs, b.Outputs)
	d.str("graph", "nodes", strconv.Itoa(len(a.Nodes)), strconv.Itoa(len(b.Nodes)))
	key := nodeKeys(a, b)
	inB := map[string]int{}
	for i := range b.Nodes {
		inB[key(b, i)] = i
	}
	matched := map[string]bool{}
	for i := range a.Nodes {
		k := key(a, i)
		na := &a.Nodes[i]
		j, ok := inB[k]
		if !ok {
			d.add("graph", "node "+k, nodeString(na), absent)
			continue
		}
		matched[k] = true
		nb := &b.Nodes[j]
		what := fmt.Sprintf("node %s (%s)", k, na.Op)
		d.str("graph", what+" op", na.Op, nb.Op)
		d.str("graph", what+" inputs", strings.Join(na.Inputs, ", "), strings.Join(nb.Inputs, ", "))
		d.str("graph", what+" outputs", strings.Join(na.Outputs, ", "), strings.Join(nb.Outputs, ", "))
		d.str("graph", what+" name", quoteOrAbsent(na.Name), quoteOrAbsent(nb.Name))
		attrs := func(n *graph.Node) map[string]string {
			m := map[string]string{}
			for _, at := range n.Attrs {
				m[at.Name] = at.ValueString()
			}
			return m
		}
		diffMaps(d, "graph", what+" attr", attrs(na), attrs(nb), func(s string) string { return s })
	}
	for j := range b.Nodes {
		if k := key(b, j); !matched[k] {
			d.add("graph", "node "+k, absent, nodeString(&b.Nodes[j]))
		}
	}
}

// diffTensors compares stored tensors by name: type, shape, encoding and
// decoded contents.
func diffTensors(d *differ, a, b *format.File) error {
	const p = "tensors"
	for i := range a.Tensors {
		ta := &a.Tensors[i]
		j, ok := b.TensorIndex(ta.Name)
		if !ok {
			d.add(p, ta.Name, fmt.Sprintf("%s %s", ta.DType, shapeString(ta.Shape)), absent)
			continue
		}
		tb := &b.Tensors[j]
		d.str(p, ta.Name+" type", fmt.Sprintf("%s %s", ta.DType, shapeString(ta.Shape)), fmt.Sprintf("%s %s", tb.DType, shapeString(tb.Shape)))
		d.str(p, ta.Name+" encoding", ta.Encoding.String(), tb.Encoding.String())
		da, err := a.Load(i)
		if err != nil {
			return err
		}
		db, err := b.Load(j)
		if err != nil {
			return err
		}
		ha, hb := sha256.Sum256(da), sha256.Sum256(db)
		if ha == hb {
			continue
		}
		sa, sb := "sha256 "+hex.EncodeToString(ha[:8]), "sha256 "+hex.EncodeToString(hb[:8])
		if ta.DType == tb.DType && ta.DType.IsFloat() && len(da) == len(db) {
			sb += fmt.Sprintf(" (max abs difference %.6g)", maxAbsDiff(da, db, ta))
		}
		d.add(p, ta.Name+" contents", sa, sb)
	}
	for j := range b.Tensors {
		tb := &b.Tensors[j]
		if _, ok := a.TensorIndex(tb.Name); !ok {
			d.add(p, tb.Name, absent, fmt.Sprintf("%s %s", tb.DType, shapeString(tb.Shape)))
		}
	}
	return nil
}

func maxAbsDiff(a, b []byte, t *format.TensorDesc) float64 {
	size, el := t.DType.Size(), kernels.Elem(t.DType)
	const block = 1 << 14 // elements converted at a time: bounded memory for large tensors
	m := 0.0
	for off := 0; off < len(a); off += block * size {
		end := min(len(a), off+block*size)
		n := (end - off) / size
		va := kernels.ToFloat64s(a[off:end], el, n)
		vb := kernels.ToFloat64s(b[off:end], el, n)
		for i := range va {
			m = math.Max(m, math.Abs(va[i]-vb[i]))
		}
	}
	return m
}
