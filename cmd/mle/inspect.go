package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

type ioJSON struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

func ioList(vs []graph.ValueInfo) []ioJSON {
	out := make([]ioJSON, len(vs))
	for i, v := range vs {
		out[i] = ioJSON{v.Name, v.DType.String(), v.Shape}
	}
	return out
}

// concreteInputs gives every dynamic dimension the value batch.
func concreteInputs(m *engine.Model, batch int64) []engine.Tensor {
	ins := make([]engine.Tensor, len(m.Inputs()))
	for i, v := range m.Inputs() {
		shape := append([]int64(nil), v.Shape...)
		for d := range shape {
			if shape[d] == graph.Dynamic {
				shape[d] = batch
			}
		}
		ins[i] = engine.NewTensor(v.DType, shape, nil)
	}
	return ins
}

func cmdInspect(args []string, w io.Writer) (bool, error) {
	fs, asJSON := newFlags("inspect")
	batch := fs.Int64("batch", 1, "size given to dynamic dimensions when planning memory")
	lim := addLimitFlags(fs, false)
	path, err := parseFile(fs, args)
	if err != nil {
		return *asJSON, err
	}
	if *batch < 0 {
		return *asJSON, fmt.Errorf("%w: --batch must be >= 0", errUsage)
	}
	start := time.Now()
	m, err := engine.Open(path, lim.options(engine.Options{Threads: 1}))
	if err != nil {
		return *asJSON, err
	}
	openTime := time.Since(start)
	defer m.Close()
	f := m.File()
	s, err := m.NewSession()
	if err != nil {
		return *asJSON, err
	}
	defer s.Close()
	mem, err := s.Memory(concreteInputs(m, *batch))
	if err != nil {
		return *asJSON, err
	}

	ops := map[string]int{}
	for _, n := range f.Graph.Nodes {
		ops[n.Op]++
	}
	opNames := make([]string, 0, len(ops))
	for k := range ops {
		opNames = append(opNames, k)
	}
	sort.Strings(opNames)
	var weights int64
	for _, t := range f.Tensors {
		weights += int64(t.StoredLen)
	}

	if *asJSON {
		type sec struct {
			Kind   string `json:"kind"`
			Offset uint64 `json:"offset"`
			Length uint64 `json:"length"`
			CRC    string `json:"crc32c"`
		}
		type ten struct {
			Name     string  `json:"name"`
			DType    string  `json:"dtype"`
			Shape    []int64 `json:"shape"`
			Encoding string  `json:"encoding"`
			Offset   uint64  `json:"offset"`
			Bytes    uint64  `json:"bytes"`
		}
		secs := make([]sec, len(f.Sections))
		for i, s := range f.Sections {
			secs[i] = sec{s.Kind.String(), s.Offset, s.Length, fmt.Sprintf("%08x", s.CRC)}
		}
		tens := make([]ten, len(f.Tensors))
		for i, t := range f.Tensors {
			tens[i] = ten{t.Name, t.DType.String(), t.Shape, t.Encoding.String(), t.Offset, t.StoredLen}
		}
		md := f.Metadata
		writeJSON(w, map[string]any{
			"ok": true, "path": path, "file_bytes": f.Size(), "open_us": openTime.Microseconds(),
			"format":   fmt.Sprintf("%d.%d", f.Header.Major, f.Header.Minor),
			"flags":    map[string]uint64{"required": f.Header.RequiredFlags, "optional": f.Header.OptionalFlags},
			"sections": secs,
			"metadata": map[string]any{"name": md.Name, "description": md.Description, "version": md.Version,
				"created": md.Created, "producer": md.Producer, "writer": md.Writer, "properties": md.Properties},
			"inputs": ioList(f.Graph.Inputs), "outputs": ioList(f.Graph.Outputs),
			"nodes": len(f.Graph.Nodes), "ops": ops, "tensors": tens, "weights_bytes": weights,
			"memory": map[string]any{"batch": *batch, "planned_peak_bytes": mem.ArenaBytes,
				"naive_bytes": mem.NaiveBytes, "buffers": mem.Buffers},
		})
		return true, nil
	}

	md := f.Metadata
	fmt.Fprintf(w, "%s: MLE format %d.%d, %s, opened in %v\n", path, f.Header.Major, f.Header.Minor, human(f.Size()), openTime.Round(time.Microsecond))
	fmt.Fprintf(w, "  flags: required %#x, optional %#x\n", f.Header.RequiredFlags, f.Header.OptionalFlags)
	fmt.Fprintln(w, "\nsections:")
	for _, s := range f.Sections {
		fmt.Fprintf(w, "  %-9s offset %10d  length %12d  crc32c %08x\n", s.Kind, s.Offset, s.Length, s.CRC)
	}
	fmt.Fprintln(w, "\nmetadata:")
	for _, kv := range [][2]string{{"name", md.Name}, {"version", md.Version}, {"description", md.Description},
		{"producer", md.Producer.Name + " " + md.Producer.Version}, {"created", md.Created}, {"writer", md.Writer}} {
		if kv[1] != "" && kv[1] != " " {
			fmt.Fprintf(w, "  %-12s %s\n", kv[0]+":", kv[1])
		}
	}
	keys := make([]string, 0, len(md.Properties))
	for k := range md.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-12s %s = %s\n", "property:", k, md.Properties[k])
	}
	fmt.Fprintln(w, "\ninputs:")
	for _, v := range f.Graph.Inputs {
		fmt.Fprintf(w, "  %-20s %-8s %s\n", v.Name, v.DType, shapeString(v.Shape))
	}
	fmt.Fprintln(w, "outputs:")
	for _, v := range f.Graph.Outputs {
		fmt.Fprintf(w, "  %-20s %-8s %s\n", v.Name, v.DType, shapeString(v.Shape))
	}
	fmt.Fprintf(w, "\nops (%d nodes):\n", len(f.Graph.Nodes))
	for _, op := range opNames {
		fmt.Fprintf(w, "  %-20s %d\n", op, ops[op])
	}
	fmt.Fprintf(w, "\ntensors (%d, %s):\n", len(f.Tensors), human(weights))
	const maxRows = 50
	for i, t := range f.Tensors {
		if i == maxRows {
			fmt.Fprintf(w, "  ... %d more (use --json for all)\n", len(f.Tensors)-maxRows)
			break
		}
		fmt.Fprintf(w, "  %-24s %-8s %-16s %-4s offset %10d  %s\n", t.Name, t.DType, shapeString(t.Shape), t.Encoding, t.Offset, human(int64(t.StoredLen)))
	}
	fmt.Fprintf(w, "\nmemory (dynamic dims = %d): planned peak %s in %d buffers; one buffer per tensor would take %s\n",
		*batch, human(mem.ArenaBytes), mem.Buffers, human(mem.NaiveBytes))
	return false, nil
}

func cmdValidate(args []string, w io.Writer) (bool, error) {
	fs, asJSON := newFlags("validate")
	path, err := parseFile(fs, args)
	if err != nil {
		return *asJSON, err
	}
	start := time.Now()
	f, err := format.Open(path, format.OpenOptions{Verify: true, ReadAll: true})
	if err != nil {
		return *asJSON, err
	}
	defer f.Close()
	took := time.Since(start)
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "path": path, "file_bytes": f.Size(), "tensors": len(f.Tensors),
			"nodes": len(f.Graph.Nodes), "seconds": took.Seconds()})
		return true, nil
	}
	fmt.Fprintf(w, "%s: valid (%s, %d nodes, %d tensors; every CRC checked in %v)\n", path, human(f.Size()), len(f.Graph.Nodes), len(f.Tensors), took.Round(time.Microsecond))
	return false, nil
}
