package format

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/core/strs"
)

// WriterName is recorded in every file's metadata "writer" field.
const WriterName = "libmle " + LibraryVersion

// Builder assembles a model and writes it as an .mle file. It is the only
// writer of the format: every exporter, in every language, goes through it.
// A Builder is not safe for concurrent use.
type Builder struct {
	meta    Metadata
	g       graph.Graph
	tensors []TensorDesc
	data    [][]byte
	names   map[string]int // tensor name → index
	cur     []storedAs     // how the tensors were stored in the file they came from (Rewrite), else nil
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{names: map[string]int{}}
}

// SetMetadata sets the descriptive metadata. Inputs, Outputs and Writer are
// ignored: the builder derives them.
func (b *Builder) SetMetadata(m Metadata) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.Properties = cloneMap(m.Properties)
	b.meta = m
	return nil
}

// SetMetadataJSON sets the descriptive metadata from JSON (fields: name,
// description, version, created, producer {name, version}, properties).
func (b *Builder) SetMetadataJSON(js []byte) error {
	m, err := ParseUserMetadata(js)
	if err != nil {
		return err
	}
	b.meta = *m
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// AddInput declares a graph input. Use graph.Dynamic (-1) for dimensions
// known only at run time.
func (b *Builder) AddInput(name string, dt dtype.DType, shape []int64) error {
	if err := checkBuilderName("input", name); err != nil {
		return err
	}
	v := graph.ValueInfo{Name: name, DType: dt, Shape: slices.Clone(shape)}
	if v.Shape == nil {
		v.Shape = []int64{}
	}
	if !dt.Valid() {
		return errs.New(errs.InvalidValue, "input %q: unknown dtype %d", name, uint8(dt))
	}
	b.g.Inputs = append(b.g.Inputs, v)
	return nil
}

// AddOutput declares a graph output; its dtype and shape are inferred.
func (b *Builder) AddOutput(name string) error {
	if err := checkBuilderName("output", name); err != nil {
		return err
	}
	b.g.Outputs = append(b.g.Outputs, graph.ValueInfo{Name: name})
	return nil
}

// checkBuilderName refuses a name the format cannot hold when it is given,
// rather than at save time.
func checkBuilderName(what, name string) error {
	if name == "" || len(name) > graph.MaxNameLen || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return errs.New(errs.InvalidValue, "%s name %q must be 1..%d bytes of UTF-8 without NUL", what, name, graph.MaxNameLen)
	}
	return nil
}

// AddNode appends a node. It returns the node's index.
func (b *Builder) AddNode(n graph.Node) int {
	n.Inputs = slices.Clone(n.Inputs)
	n.Outputs = slices.Clone(n.Outputs)
	n.Attrs = slices.Clone(n.Attrs)
	for i := range n.Attrs {
		n.Attrs[i].Ints = slices.Clone(n.Attrs[i].Ints)
		n.Attrs[i].Floats = slices.Clone(n.Attrs[i].Floats)
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return len(b.g.Nodes) - 1
}

// SetAttr adds an attribute to node i.
func (b *Builder) SetAttr(i int, a graph.Attr) error {
	if i < 0 || i >= len(b.g.Nodes) {
		return errs.New(errs.InvalidValue, "no node %d (the builder has %d)", i, len(b.g.Nodes))
	}
	a.Ints, a.Floats = slices.Clone(a.Ints), slices.Clone(a.Floats)
	b.g.Nodes[i].Attrs = append(b.g.Nodes[i].Attrs, a)
	return nil
}

// AddTensor stores a constant tensor (weights). data holds the raw
// little-endian elements (strings: packed, package strs) and is copied.
func (b *Builder) AddTensor(name string, dt dtype.DType, shape []int64, data []byte) error {
	if err := checkBuilderName("tensor", name); err != nil {
		return err
	}
	if _, dup := b.names[name]; dup {
		return errs.New(errs.GraphDuplicate, "tensor %q added twice", name)
	}
	if !dt.Valid() {
		return errs.New(errs.InvalidValue, "tensor %q: unknown dtype %d", name, uint8(dt))
	}
	if len(shape) > dtype.MaxRank {
		return errs.New(errs.UnsupportedFeature, "tensor %q has rank %d; MLE supports rank <= %d", name, len(shape), dtype.MaxRank)
	}
	for _, d := range shape {
		if d < 0 {
			return errs.New(errs.InvalidValue, "tensor %q: negative dimension in %v", name, shape)
		}
	}
	size, ok := dtype.ByteSize(dt, shape)
	if !ok {
		return errs.New(errs.InvalidValue, "tensor %q: shape %v overflows", name, shape)
	}
	if dt.IsString() {
		n, _ := dtype.NumElements(shape)
		if err := strs.Check(data, n, errs.InvalidString); err != nil {
			return errs.Prefix(err, "tensor %q", name)
		}
		size = int64(len(data))
	} else if int64(len(data)) != size {
		return errs.New(errs.InvalidValue, "tensor %q: %s%v needs %d bytes, got %d", name, dt, shape, size, len(data))
	}
	if err := fits(size, "tensor "+name); err != nil {
		return err
	}
	if len(b.tensors) >= MaxTensors {
		return errs.New(errs.InvalidValue, "too many tensors (limit %d)", MaxTensors)
	}
	b.names[name] = len(b.tensors)
	b.tensors = append(b.tensors, TensorDesc{Name: name, DType: dt, Encoding: EncodingRaw, Shape: slices.Clone(shape),
		StoredLen: uint64(size), RawLen: uint64(size), CRC: crc32c(data)})
	b.data = append(b.data, bytes.Clone(data))
	return nil
}

// builderConsts serves the builder's tensors to the graph checker.
type builderConsts struct{ b *Builder }

func (c builderConsts) Lookup(name string) (graph.ValueInfo, bool) {
	i, ok := c.b.names[name]
	if !ok {
		return graph.ValueInfo{}, false
	}
	return graph.ValueInfo{Name: name, DType: c.b.tensors[i].DType, Shape: c.b.tensors[i].Shape}, true
}

func (c builderConsts) Int64s(name string) ([]int64, error) {
	i, ok := c.b.names[name]
	if !ok {
		return nil, errs.New(errs.GraphMissingTensor, "no stored tensor %q", name)
	}
	return int64sOf(name, c.b.tensors[i].DType, c.b.data[i])
}

// layout is a validated, fully placed file ready to be written.
type layout struct {
	head     []byte // header + section table + small sections, padded to WEIGHTS
	tensors  []TensorDesc
	data     [][]byte
	fileSize uint64
}

func (b *Builder) layout(o *WriteOptions) (*layout, *QuantReport, error) {
	g := b.g
	g.Outputs = slices.Clone(b.g.Outputs)
	if _, err := graph.CheckInferOutputs(&g, builderConsts{b}); err != nil {
		return nil, nil, err
	}
	tensors, data := slices.Clone(b.tensors), b.data
	var rep *QuantReport
	meta := b.meta
	if o != nil {
		var err error
		if o.Compress != codec.Raw || o.Quantize != codec.Raw {
			if tensors, data, rep, err = storeTensors(&g, tensors, b.cur, data, o); err != nil {
				return nil, nil, err
			}
		}
		// Records of a quantization the file no longer has go.
		stale := o.Quantize == codec.Raw && (meta.Properties["mle.quantization"] != "" || meta.Properties["mle.quantization_error"] != "")
		if len(o.Properties) > 0 || rep != nil || stale {
			meta.Properties = cloneMap(meta.Properties)
			if meta.Properties == nil {
				meta.Properties = map[string]string{}
			}
			if rep != nil || stale {
				delete(meta.Properties, "mle.quantization")
				delete(meta.Properties, "mle.quantization_error")
			}
			for k, v := range o.Properties {
				meta.Properties[k] = v
			}
			if rep != nil {
				meta.Properties["mle.quantization"] = rep.property()
			}
			if err := meta.Validate(); err != nil {
				return nil, nil, err
			}
		}
	}
	meta.Inputs, meta.Outputs, meta.Writer = g.Inputs, g.Outputs, WriterName
	if meta.Created == "" {
		meta.Created = time.Now().UTC().Format(time.RFC3339)
	}
	metaJSON, err := meta.Encode()
	if err != nil {
		return nil, nil, err
	}
	if len(metaJSON) > MaxMetadataSize {
		return nil, nil, errs.New(errs.MetadataTooLarge, "metadata is %d bytes; the limit is %d", len(metaJSON), MaxMetadataSize)
	}
	var end uint64
	for i := range tensors {
		tensors[i].Offset, _ = alignUp(end, TensorAlign)
		end = tensors[i].Offset + tensors[i].StoredLen
	}
	return assemble(metaJSON, EncodeGraph(&g), tensors, data), rep, nil
}

// assemble places the sections (METADATA, GRAPH, TENSORS, WEIGHTS) in the
// canonical layout and computes every CRC. tensors must already carry their
// WEIGHTS offsets.
func assemble(meta, graphBody []byte, tensors []TensorDesc, data [][]byte) *layout {
	var weightsLen uint64
	if n := len(tensors); n > 0 {
		weightsLen = tensors[n-1].Offset + tensors[n-1].StoredLen
	}
	bodies := [][]byte{meta, graphBody, encodeTensors(tensors)}
	kinds := []SectionKind{SectionMetadata, SectionGraph, SectionTensors, SectionWeights}
	sections := make([]Section, len(kinds))
	pos := uint64(HeaderSize + len(kinds)*SectionEntrySize)
	for i, k := range kinds {
		sections[i].Kind = k
		if k == SectionWeights {
			sections[i].Length = weightsLen
			sections[i].CRC = weightsCRC(tensors, data)
		} else {
			sections[i].Length = uint64(len(bodies[i]))
			sections[i].CRC = crc32c(bodies[i])
		}
		sections[i].Offset, _ = alignUp(pos, k.align())
		pos = sections[i].Offset + sections[i].Length
	}
	head := AlignedBytes(int(sections[3].Offset))
	for i := range sections {
		sections[i].encode(head[HeaderSize+i*SectionEntrySize:])
		if i < len(bodies) {
			copy(head[sections[i].Offset:], bodies[i])
		}
	}
	h := Header{Major: VersionMajor, Minor: VersionMinor, TableOffset: HeaderSize,
		SectionCount: uint32(len(sections)), FileLength: pos,
		TableCRC: crc32c(head[HeaderSize : HeaderSize+len(sections)*SectionEntrySize])}
	copy(head, h.encode())
	return &layout{head: head, tensors: tensors, data: data, fileSize: pos}
}

// weightsCRC hashes the WEIGHTS section as it will be written, padding included.
func weightsCRC(ts []TensorDesc, data [][]byte) uint32 {
	var crc uint32
	var end uint64
	var zeros [TensorAlign]byte
	for i, t := range ts {
		crc = crc32cUpdate(crc, zeros[:t.Offset-end])
		crc = crc32cUpdate(crc, data[i])
		end = t.Offset + t.StoredLen
	}
	return crc
}

// writeTo streams the file.
func (l *layout) writeTo(w io.Writer) (int64, error) {
	n, err := w.Write(l.head)
	total := int64(n)
	if err != nil {
		return total, err
	}
	var zeros [TensorAlign]byte
	var end uint64
	for i, t := range l.tensors {
		if pad := t.Offset - end; pad > 0 {
			n, err = w.Write(zeros[:pad])
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
		n, err = w.Write(l.data[i])
		total += int64(n)
		if err != nil {
			return total, err
		}
		end = t.Offset + t.StoredLen
	}
	return total, nil
}

// fits refuses a copy of n bytes (into the Go heap, whose failure would abort
// the process) that the system reports it cannot hold.
func fits(n int64, what string) error {
	if n < 64<<20 {
		return nil
	}
	if avail, ok := osmem.Available(); ok && n > avail {
		return errs.New(errs.NoMemorySystem, "%s needs %d bytes; the system has %d available", what, n, avail)
	}
	return nil
}

// Bytes validates the model and returns the file's bytes.
func (b *Builder) Bytes() ([]byte, error) {
	l, _, err := b.layout(nil)
	if err != nil {
		return nil, err
	}
	return l.bytes()
}

func (l *layout) bytes() ([]byte, error) {
	if err := fits(int64(min(l.fileSize, 1<<62)), "the serialized file"); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(l.fileSize))
	if _, err := l.writeTo(&buf); err != nil {
		return nil, errs.Wrap(errs.IOWrite, err, "serializing")
	}
	return buf.Bytes(), nil
}

// BytesWith validates the model and returns the file's bytes stored as o
// asks (compressed, quantized, signed, encrypted), with a report of the
// quantization when o asked for one.
func (b *Builder) BytesWith(o WriteOptions) ([]byte, *QuantReport, error) {
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	l, rep, err := b.layout(&o)
	if err != nil {
		return nil, nil, err
	}
	file, err := l.bytes()
	if err != nil {
		return nil, nil, err
	}
	file, err = finish(file, &o)
	return file, rep, err
}

// Save validates the model and writes it to path atomically and durably:
// a temporary file in the same directory is written and fsynced, renamed
// over path, and the directory fsynced. On failure nothing is left behind
// and path is untouched. It returns the file's size.
func (b *Builder) Save(path string) (int64, error) { return b.SaveWith(path, SaveOptions{}) }

// SaveOptions tune Builder.SaveWith.
type SaveOptions struct {
	// NoSync skips both fsyncs: the file still appears whole or not at all
	// to every reader and after a crash of the process, but a power loss
	// soon after may lose it (what joblib.dump, torch.save and most
	// writers give). The two fsyncs are most of a small model's save
	// (about 0.24 ms each on ext4 here: docs/BENCHMARKS.md §9).
	NoSync bool
	// Write says how the model is stored (nil: raw, unsigned, plain).
	Write *WriteOptions
}

// SaveWith is Save with options.
func (b *Builder) SaveWith(path string, o SaveOptions) (int64, error) {
	if o.Write != nil && (len(o.Write.SignKeys) > 0 || o.Write.EncryptKey != nil) {
		// Signing and encryption work on the whole serialized file.
		file, _, err := b.BytesWith(*o.Write)
		if err != nil {
			return 0, err
		}
		return WriteFile(path, file, o.NoSync)
	}
	if o.Write != nil {
		if err := o.Write.check(); err != nil {
			return 0, err
		}
	}
	l, _, err := b.layout(o.Write)
	if err != nil {
		return 0, err
	}
	// The buffer is sized to the file up to 1 MiB: a small model must not
	// allocate (and later collect) a megabyte per save. The graph was
	// validated by layout; the bytes are the writer's and are not parsed
	// again here (the save validates once). That every file the Builder
	// writes opens is asserted by the tests and FuzzHostile.
	return atomicWrite(path, o.NoSync, 0o644, int(min(l.fileSize, 1<<20)), l.writeTo)
}

// WriteFile writes data to path atomically and (unless noSync) durably, as
// Builder.Save does: nothing is left behind on failure.
func WriteFile(path string, data []byte, noSync bool) (int64, error) {
	return writeFileMode(path, data, 0o644, noSync)
}

func writeFileMode(path string, data []byte, mode os.FileMode, noSync bool) (int64, error) {
	return atomicWrite(path, noSync, mode, min(len(data), 1<<20), func(w io.Writer) (int64, error) {
		n, err := w.Write(data)
		return int64(n), err
	})
}

// atomicWrite writes a temporary file in path's directory through a buffer
// of bufSize bytes, fsyncs it, renames it over path and fsyncs the
// directory. On failure the temporary file is removed and path is
// untouched.
func atomicWrite(path string, noSync bool, mode os.FileMode, bufSize int, write func(io.Writer) (int64, error)) (int64, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return 0, errs.Wrap(errs.IOWrite, err, "creating a temporary file next to %s", path)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	bw := bufio.NewWriterSize(tmp, max(bufSize, 16))
	n, err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil && !noSync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, errs.Wrap(errs.IOWrite, err, "writing %s", tmpName)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return 0, errs.Wrap(errs.IOWrite, err, "renaming %s to %s", tmpName, path)
	}
	ok = true
	if noSync {
		return n, nil
	}
	if d, err := os.Open(dir); err == nil {
		// Persist the rename; not all filesystems support syncing directories.
		if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
			_ = d.Close()
			return n, errs.Wrap(errs.IOWrite, err, "syncing directory %s", dir)
		}
		_ = d.Close()
	}
	return n, nil
}

// AssembleUnchecked lays out and serializes a file from raw parts without
// validating them: metadata JSON as given, the graph as given, tensors
// placed in order (offsets, stored lengths and CRCs are computed; a zero
// RawLen becomes the stored length). It exists so tests and conformance tools can write
// deliberately malformed files; models are written with Builder.
func AssembleUnchecked(meta []byte, g *graph.Graph, tensors []TensorDesc, data [][]byte) []byte {
	ts := slices.Clone(tensors)
	var end uint64
	for i := range ts {
		ts[i].Offset, _ = alignUp(end, TensorAlign)
		ts[i].StoredLen = uint64(len(data[i]))
		if ts[i].RawLen == 0 {
			ts[i].RawLen = ts[i].StoredLen
		}
		ts[i].CRC = crc32c(data[i])
		end = ts[i].Offset + ts[i].StoredLen
	}
	var buf bytes.Buffer
	_, _ = assemble(meta, EncodeGraph(g), ts, data).writeTo(&buf)
	return buf.Bytes()
}
