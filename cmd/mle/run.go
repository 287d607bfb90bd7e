package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/npy"
	"github.com/mle-runtime/mle/core/strs"
	"github.com/mle-runtime/mle/kernels"
)

// multiFlag collects repeated --input flags.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// readInputs reads the --input files into ins, indexed like the model's
// inputs; given[i] says whether a file named input i. notes say which files
// were converted to the input's dtype.
func readInputs(m *engine.Model, specs []string) (ins []engine.Tensor, given []bool, notes []string, err error) {
	sig := m.Inputs()
	byName := map[string]int{}
	for i, v := range sig {
		byName[v.Name] = i
	}
	ins, given = make([]engine.Tensor, len(sig)), make([]bool, len(sig))
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok {
			if len(sig) != 1 {
				return nil, nil, nil, fmt.Errorf("%w: --input %q: say NAME=FILE; the model has %d inputs", errUsage, spec, len(sig))
			}
			name, file = sig[0].Name, spec
		}
		i, ok := byName[name]
		if !ok {
			return nil, nil, nil, errs.New(errs.InvalidName, "the model has no input %q (inputs: %s)", name, names(sig))
		}
		a, err := npy.ReadFile(file)
		if err != nil {
			return nil, nil, nil, err
		}
		if a.DType != sig[i].DType {
			converted, err := convert(a, sig[i].DType)
			if err != nil {
				return nil, nil, nil, errs.Prefix(err, "input %q", name)
			}
			notes = append(notes, fmt.Sprintf("input %q: converted %s to %s", name, a.DType, sig[i].DType))
			a = converted
		}
		ins[i], given[i] = engine.NewTensor(a.DType, a.Shape, a.Data), true
	}
	return ins, given, notes, nil
}

func cmdRun(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("run", w)
	var inputs multiFlag
	fs.Var(&inputs, "input", "NAME=FILE.npy (repeat per input; NAME= may be omitted for a single-input model)")
	outDir := fs.String("output-dir", "", "write each output to DIR/NAME.npy")
	verify := fs.Bool("verify", false, "check every CRC when opening")
	lim := addLimitFlags(fs, true)
	sec := addSecFlags(fs, true)
	path, err := parseFile(fs, args)
	if err == nil {
		err = lim.check()
	}
	if err == nil {
		err = sec.load()
	}
	if err != nil {
		return *asJSON, err
	}
	m, err := engine.Open(path, lim.options(sec.engine(engine.Options{Verify: *verify})))
	if err != nil {
		return *asJSON, err
	}
	defer m.Close()
	ins, given, notes, err := readInputs(m, inputs)
	if err != nil {
		return *asJSON, err
	}
	sig := m.Inputs()
	for i, g := range given {
		if !g {
			return *asJSON, fmt.Errorf("%w: no --input for %q (inputs: %s)", errUsage, sig[i].Name, names(sig))
		}
	}
	outs := make([]engine.Tensor, len(m.Outputs()))
	bufs := newBuffers(m)
	defer bufs.free()
	if err := m.Run(ins, outs, nil, lim.run(), bufs.allocOutput); err != nil {
		return *asJSON, err
	}
	var results []map[string]any
	for i, o := range m.Outputs() {
		r := map[string]any{"name": o.Name, "dtype": outs[i].DType.String(), "shape": outs[i].Shape()}
		if *outDir != "" {
			if err := os.MkdirAll(*outDir, 0o755); err != nil {
				return *asJSON, errs.Wrap(errs.IOWrite, err, "creating %s", *outDir)
			}
			p := filepath.Join(*outDir, safeName(o.Name)+".npy")
			if err := npy.WriteFile(p, &npy.Array{DType: outs[i].DType, Shape: outs[i].Shape(), Data: outs[i].Data}); err != nil {
				return *asJSON, err
			}
			r["path"] = p
		}
		if outs[i].DType.IsString() {
			r["values"] = previewText(outs[i], 1000)
		} else {
			r["values"] = preview(outs[i], 1000)
		}
		results = append(results, r)
	}
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "outputs": results, "notes": list(notes)})
		return true, nil
	}
	for _, n := range notes {
		fmt.Fprintln(w, "note:", n)
	}
	for i, r := range results {
		fmt.Fprintf(w, "%s: %s %s", r["name"], r["dtype"], shapeString(outs[i].Shape()))
		if p, ok := r["path"]; ok {
			fmt.Fprintf(w, " -> %s", p)
		}
		if outs[i].DType.IsString() {
			fmt.Fprintf(w, "\n  %s\n", formatText(previewText(outs[i], 12), numElements(outs[i])))
			continue
		}
		fmt.Fprintf(w, "\n  %s\n", formatValues(preview(outs[i], 12), outs[i].DType, len(outs[i].Data)/outs[i].DType.Size()))
	}
	return false, nil
}

func names(sig []graph.ValueInfo) string {
	var n []string
	for _, v := range sig {
		n = append(n, v.Name)
	}
	return strings.Join(n, ", ")
}

// safeName turns a tensor name into a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// convert casts an array to dt (what the model takes). Text and numbers do
// not convert into each other.
func convert(a *npy.Array, dt dtype.DType) (*npy.Array, error) {
	if a.DType.IsString() || dt.IsString() {
		return nil, errs.New(errs.DType, "the file holds %s, the model takes %s", a.DType, dt)
	}
	n := len(a.Data) / a.DType.Size()
	out := &npy.Array{DType: dt, Shape: a.Shape, Data: make([]byte, n*dt.Size())}
	kernels.Cast(out.Data, kernels.Elem(dt), a.Data, kernels.Elem(a.DType), n)
	return out, nil
}

// preview returns up to max elements of t as numbers.
func preview(t engine.Tensor, max int) []float64 {
	n := len(t.Data) / t.DType.Size()
	if n > max {
		n = max
	}
	return kernels.ToFloat64s(t.Data, kernels.Elem(t.DType), n)
}

func numElements(t engine.Tensor) int64 {
	n, _ := dtype.NumElements(t.Shape())
	return n
}

// previewText returns up to max elements of a string tensor.
func previewText(t engine.Tensor, max int) []string {
	n := numElements(t)
	out := make([]string, min(n, int64(max)))
	for i := range out {
		out[i] = string(strs.Elem(t.Data, n, int64(i)))
	}
	return out
}

// formatText prints strings quoted (Go syntax: control characters escaped).
func formatText(vals []string, total int64) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = strconv.Quote(v)
	}
	s := "[" + strings.Join(parts, " ")
	if total > int64(len(vals)) {
		s += fmt.Sprintf(" ... (%d values)", total)
	}
	return s + "]"
}

// formatValues prints values at the precision of their dtype.
func formatValues(vals []float64, dt dtype.DType, total int) string {
	bitSize := 64
	if dt != dtype.Float64 {
		bitSize = 32
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = strconv.FormatFloat(v, 'g', -1, bitSize)
	}
	s := "[" + strings.Join(parts, " ")
	if total > len(vals) {
		s += fmt.Sprintf(" ... (%d values)", total)
	}
	return s + "]"
}
