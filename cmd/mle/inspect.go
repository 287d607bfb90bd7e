package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
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

func cmdInspect(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("inspect", w)
	batch := fs.Int64("batch", 1, "size given to dynamic dimensions when planning memory")
	lim := addLimitFlags(fs, false)
	sec := addSecFlags(fs, true)
	path, err := parseFile(fs, args)
	if err != nil {
		return *asJSON, err
	}
	if *batch < 0 {
		return *asJSON, fmt.Errorf("%w: --batch must be >= 0", errUsage)
	}
	if err := sec.load(); err != nil {
		return *asJSON, err
	}
	// SkipPolicy: inspect shows a model whose policy refuses this process
	// (and says so). Without a key, an encrypted model shows its public part.
	start := time.Now()
	f, err := format.Open(path, sec.open(format.OpenOptions{SkipPolicy: true, PublicOnly: sec.key == nil}))
	if err != nil {
		return *asJSON, err
	}
	openTime := time.Since(start)
	defer f.Close()
	if f.Graph == nil {
		if sec.requireSig {
			return *asJSON, errs.New(errs.KeyRequired, "%s is encrypted and its signature is sealed inside: pass --key-file to check it", path)
		}
		return inspectPublic(w, path, f, openTime, *asJSON)
	}
	policyErr := f.Metadata.Policy.Check(format.CurrentPolicyContext())

	// Memory is planned by the engine, which enforces the policy.
	var mem *engine.MemoryStats
	var memErr error
	m, err := engine.Open(path, lim.options(sec.engine(engine.Options{Threads: 1})))
	if err == nil {
		defer m.Close()
		mem, memErr = planMemory(m, *batch)
	} else if errs.CodeOf(err) == errs.Policy {
		memErr = err
	} else {
		return *asJSON, err
	}
	if memErr != nil && errs.CodeOf(memErr) != errs.Policy {
		return *asJSON, memErr
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
	quant := quantProperty(f.Metadata)

	if *asJSON {
		type ten struct {
			Name     string  `json:"name"`
			DType    string  `json:"dtype"`
			Shape    []int64 `json:"shape"`
			Encoding string  `json:"encoding"`
			Offset   uint64  `json:"offset"`
			Bytes    uint64  `json:"bytes"`
			RawBytes uint64  `json:"raw_bytes"`
		}
		tens := make([]ten, len(f.Tensors))
		for i, t := range f.Tensors {
			tens[i] = ten{t.Name, t.DType.String(), t.Shape, t.Encoding.String(), t.Offset, t.StoredLen, t.RawLen}
		}
		out := map[string]any{
			"ok": true, "path": path, "file_bytes": fileBytes(f), "open_us": openTime.Microseconds(),
			"format":   fmt.Sprintf("%d.%d", f.Header.Major, f.Header.Minor),
			"flags":    map[string]uint64{"required": f.Header.RequiredFlags, "optional": f.Header.OptionalFlags},
			"sections": sectionsJSON(f), "metadata": metadataJSON(f.Metadata),
			"inputs": ioList(f.Graph.Inputs), "outputs": ioList(f.Graph.Outputs),
			"nodes": len(f.Graph.Nodes), "ops": ops, "tensors": tens, "weights_bytes": weights,
			"signatures": signaturesJSON(f.Signed, len(sec.trusted) > 0), "encrypted": f.Envelope != nil,
			"policy_check": policyJSON(f.Metadata.Policy, policyErr),
		}
		if f.Envelope != nil {
			out["encryption"] = encryptionJSON(f.Envelope, true)
		}
		if quant != nil {
			out["quantization"] = quant
		}
		if mem != nil {
			out["memory"] = map[string]any{"batch": *batch, "planned_peak_bytes": mem.ArenaBytes,
				"naive_bytes": mem.NaiveBytes, "buffers": mem.Buffers}
		} else {
			out["memory"] = map[string]any{"batch": *batch, "error": memErr.Error()}
		}
		writeJSON(w, out)
		return true, nil
	}

	md := f.Metadata
	fmt.Fprintf(w, "%s: MLE format %d.%d, %s, opened in %v\n", path, f.Header.Major, f.Header.Minor, human(fileBytes(f)), openTime.Round(time.Microsecond))
	fmt.Fprintf(w, "  flags: required %#x, optional %#x\n", f.Header.RequiredFlags, f.Header.OptionalFlags)
	if e := f.Envelope; e != nil {
		fmt.Fprintf(w, "  encrypted (AES-256-GCM, chunk %d): decrypted with --key-file; the model inside is %s\n", e.Params.ChunkSize, human(f.Size()))
	}
	fmt.Fprintln(w, "\nsections:")
	printSections(w, f)
	printMetadata(w, md, policyErr, quant)
	printSignatures(w, f.Signed, len(sec.trusted) > 0)
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
		fmt.Fprintf(w, "  %-24s %-8s %-16s %-4s offset %10d  %s", t.Name, t.DType, shapeString(t.Shape), t.Encoding, t.Offset, human(int64(t.StoredLen)))
		if t.Encoding != format.EncodingRaw {
			fmt.Fprintf(w, " stored of %s raw", human(int64(t.RawLen)))
		}
		fmt.Fprintln(w)
	}
	if mem != nil {
		fmt.Fprintf(w, "\nmemory (dynamic dims = %d): planned peak %s in %d buffers; one buffer per tensor would take %s\n",
			*batch, human(mem.ArenaBytes), mem.Buffers, human(mem.NaiveBytes))
	} else {
		fmt.Fprintf(w, "\nmemory: not planned: %v\n", memErr)
	}
	return false, nil
}

// planMemory plans a run's memory at the given batch size.
func planMemory(m *engine.Model, batch int64) (*engine.MemoryStats, error) {
	s, err := m.NewSession()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	mem, err := s.Memory(concreteInputs(m, batch))
	if err != nil {
		return nil, err
	}
	return &mem, nil
}

// inspectPublic shows the public part of an encrypted model opened
// without its key.
func inspectPublic(w io.Writer, path string, f *format.File, openTime time.Duration, asJSON bool) (bool, error) {
	md, e := f.Metadata, f.Envelope
	policyErr := md.Policy.Check(format.CurrentPolicyContext())
	if asJSON {
		writeJSON(w, map[string]any{
			"ok": true, "path": path, "file_bytes": e.OuterSize, "open_us": openTime.Microseconds(),
			"format":   fmt.Sprintf("%d.%d", f.Header.Major, f.Header.Minor),
			"flags":    map[string]uint64{"required": f.Header.RequiredFlags, "optional": f.Header.OptionalFlags},
			"sections": sectionsJSON(f), "metadata": metadataJSON(md),
			"inputs": ioList(md.Inputs), "outputs": ioList(md.Outputs),
			"encrypted": true, "encryption": encryptionJSON(e, false),
			"policy_check": policyJSON(md.Policy, policyErr),
		})
		return true, nil
	}
	fmt.Fprintf(w, "%s: MLE format %d.%d, %s, opened in %v\n", path, f.Header.Major, f.Header.Minor, human(e.OuterSize), openTime.Round(time.Microsecond))
	fmt.Fprintf(w, "  flags: required %#x, optional %#x\n", f.Header.RequiredFlags, f.Header.OptionalFlags)
	fmt.Fprintf(w, "  encrypted (AES-256-GCM, chunk %d): pass --key-file to see the graph\n", e.Params.ChunkSize)
	fmt.Fprintf(w, "  sealed model: %s; its properties, signatures, graph and tensors are inside\n", human(int64(e.Params.PlainLen)))
	fmt.Fprintln(w, "\nsections:")
	printSections(w, f)
	printMetadata(w, md, policyErr, nil)
	fmt.Fprintln(w, "\nsignatures: sealed inside the encryption (pass --key-file to see and check them)")
	fmt.Fprintln(w, "\ninputs:")
	for _, v := range md.Inputs {
		fmt.Fprintf(w, "  %-20s %-8s %s\n", v.Name, v.DType, shapeString(v.Shape))
	}
	fmt.Fprintln(w, "outputs:")
	for _, v := range md.Outputs {
		fmt.Fprintf(w, "  %-20s %-8s %s\n", v.Name, v.DType, shapeString(v.Shape))
	}
	return false, nil
}

// fileBytes is the size of the file on disk (the encrypted one when the
// model was decrypted).
func fileBytes(f *format.File) int64 {
	if f.Envelope != nil {
		return f.Envelope.OuterSize
	}
	return f.Size()
}

type sectionJSON struct {
	Kind   string `json:"kind"`
	Offset uint64 `json:"offset"`
	Length uint64 `json:"length"`
	CRC    string `json:"crc32c"`
}

func sectionsJSON(f *format.File) []sectionJSON {
	secs := make([]sectionJSON, len(f.Sections))
	for i, s := range f.Sections {
		secs[i] = sectionJSON{s.Kind.String(), s.Offset, s.Length, fmt.Sprintf("%08x", s.CRC)}
	}
	return secs
}

func printSections(w io.Writer, f *format.File) {
	for _, s := range f.Sections {
		fmt.Fprintf(w, "  %-9s offset %10d  length %12d  crc32c %08x\n", s.Kind, s.Offset, s.Length, s.CRC)
	}
}

func metadataJSON(md *format.Metadata) map[string]any {
	return map[string]any{"name": md.Name, "description": md.Description, "version": md.Version,
		"created": md.Created, "producer": md.Producer, "writer": md.Writer, "properties": md.Properties,
		"lineage": md.Lineage, "policy": md.Policy}
}

func encryptionJSON(e *format.Envelope, keyGiven bool) map[string]any {
	return map[string]any{"algorithm": "AES-256-GCM", "chunk_size": e.Params.ChunkSize,
		"plain_bytes": e.Params.PlainLen, "outer_bytes": e.OuterSize, "key_given": keyGiven}
}

func policyJSON(p *format.Policy, err error) map[string]any {
	r := map[string]any{"present": p != nil, "allows_this_process": err == nil}
	if err != nil {
		r["reason"] = errs.Message(err)
	}
	return r
}

func signaturesJSON(sg *format.Signed, trustGiven bool) map[string]any {
	if sg == nil {
		return map[string]any{"signed": false}
	}
	keys := make([]map[string]any, len(sg.Signatures))
	for i, s := range sg.Signatures {
		keys[i] = map[string]any{"key_id": s.KeyID(), "verified_by_trusted_key": s.KeyID() == sg.TrustedBy}
	}
	return map[string]any{"signed": true, "keys": keys, "trusted_by": sg.TrustedBy, "trusted_keys_given": trustGiven}
}

// quantProperty parses the mle.quantization property (nil when absent;
// the raw text when it is not a JSON object).
func quantProperty(md *format.Metadata) any {
	s, ok := md.Properties["mle.quantization"]
	if !ok {
		return nil
	}
	var v map[string]any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	return v
}

func printMetadata(w io.Writer, md *format.Metadata, policyErr error, quant any) {
	fmt.Fprintln(w, "\nmetadata:")
	for _, kv := range [][2]string{{"name", md.Name}, {"version", md.Version}, {"description", md.Description},
		{"producer", md.Producer.Name + " " + md.Producer.Version}, {"created", md.Created}, {"writer", md.Writer}} {
		if kv[1] != "" && kv[1] != " " {
			fmt.Fprintf(w, "  %-12s %s\n", kv[0]+":", kv[1])
		}
	}
	for _, k := range sortedKeys(md.Properties) {
		fmt.Fprintf(w, "  %-12s %s = %s\n", "property:", k, md.Properties[k])
	}
	if q, ok := quant.(map[string]any); ok {
		fmt.Fprintf(w, "\nquantization: %v of %v tensors' weights, max abs weight error %v\n", q["scheme"], q["tensors"], q["max_abs_weight_error"])
	}
	if l := md.Lineage; l != nil {
		fmt.Fprintln(w, "\nlineage:")
		for _, p := range l.Parents {
			fmt.Fprintf(w, "  %-12s %s\n", "parent:", parentString(p))
		}
		if d := l.Dataset; d != nil {
			fmt.Fprintf(w, "  %-12s %s\n", "dataset:", datasetString(d))
		}
		if l.GitCommit != "" {
			fmt.Fprintf(w, "  %-12s %s\n", "git commit:", l.GitCommit)
		}
		if l.Author != "" {
			fmt.Fprintf(w, "  %-12s %s\n", "author:", l.Author)
		}
		for _, k := range sortedKeys(l.Params) {
			fmt.Fprintf(w, "  %-12s %s = %s\n", "param:", k, l.Params[k])
		}
	}
	if p := md.Policy; p != nil {
		fmt.Fprintln(w, "\npolicy:")
		for _, kv := range [][2]string{{"not before", p.NotBefore}, {"expires", p.Expires}, {"hosts", strings.Join(p.Hosts, ", ")},
			{"users", strings.Join(p.Users, ", ")}, {"min runtime", p.MinRuntime}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "  %-12s %s\n", kv[0]+":", kv[1])
			}
		}
		if policyErr != nil {
			fmt.Fprintf(w, "  refuses this process: %s\n", errs.Message(policyErr))
		} else {
			fmt.Fprintln(w, "  allows this process")
		}
	}
}

func printSignatures(w io.Writer, sg *format.Signed, trustGiven bool) {
	if sg == nil {
		fmt.Fprintln(w, "\nsignatures: none (unsigned)")
		return
	}
	fmt.Fprintf(w, "\nsignatures (%d):\n", len(sg.Signatures))
	for _, s := range sg.Signatures {
		status := "not verified: pass --pub with this key to check it"
		switch {
		case s.KeyID() == sg.TrustedBy:
			status = "verified by a trusted key (--pub)"
		case trustGiven:
			status = "not checked: another signature verified"
		}
		fmt.Fprintf(w, "  key %s  %s\n", s.KeyID(), status)
	}
}

func parentString(p format.Parent) string {
	s := p.Name
	if p.Version != "" {
		s += " " + p.Version
	}
	if p.SHA256 != "" {
		s += " sha256:" + p.SHA256
	}
	return s
}

func datasetString(d *format.Dataset) string {
	s := d.Name
	if d.Rows != 0 {
		s += fmt.Sprintf(" (%d rows)", d.Rows)
	}
	if d.SHA256 != "" {
		s += " sha256:" + d.SHA256
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cmdValidate(args []string, w, ew io.Writer) (bool, error) {
	fs, asJSON := newFlags("validate", w)
	sec := addSecFlags(fs, true)
	path, err := parseFile(fs, args)
	if err != nil {
		return *asJSON, err
	}
	if err := sec.load(); err != nil {
		return *asJSON, err
	}
	start := time.Now()
	bar := newProgress(ew, "validate", *asJSON, human)
	// The policy says who may use the model, not whether it is valid: it
	// is reported, not enforced.
	f, err := format.Open(path, sec.open(format.OpenOptions{Verify: true, ReadAll: true, SkipPolicy: true, Progress: bar.update}))
	bar.finish()
	if err != nil {
		return *asJSON, err
	}
	defer f.Close()
	took := time.Since(start)
	policyErr := f.Metadata.Policy.Check(format.CurrentPolicyContext())
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "path": path, "file_bytes": fileBytes(f), "tensors": len(f.Tensors),
			"nodes": len(f.Graph.Nodes), "seconds": took.Seconds(), "signatures": signaturesJSON(f.Signed, len(sec.trusted) > 0),
			"encrypted": f.Envelope != nil, "policy_check": policyJSON(f.Metadata.Policy, policyErr)})
		return true, nil
	}
	what := "every CRC"
	if f.Signed != nil {
		what += " and signed digest"
	}
	fmt.Fprintf(w, "%s: valid (%s, %d nodes, %d tensors; %s checked in %v)\n", path, human(fileBytes(f)), len(f.Graph.Nodes), len(f.Tensors), what, took.Round(time.Microsecond))
	if f.Signed != nil {
		if f.Signed.TrustedBy != "" {
			fmt.Fprintf(w, "  signed by trusted key %s\n", f.Signed.TrustedBy)
		} else {
			fmt.Fprintf(w, "  signed by key %s (not checked against a trusted key: pass --pub)\n", strings.Join(signerIDs(f.Signed), ", "))
		}
	}
	if f.Envelope != nil {
		fmt.Fprintf(w, "  encrypted (AES-256-GCM, chunk %d): every chunk authenticated\n", f.Envelope.Params.ChunkSize)
	}
	if policyErr != nil {
		fmt.Fprintf(w, "  note: its access policy refuses this process: %s\n", errs.Message(policyErr))
	}
	return false, nil
}
