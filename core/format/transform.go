package format

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"sync/atomic"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/par"
	"github.com/mle-runtime/mle/core/seal"
	"github.com/mle-runtime/mle/core/sign"
)

// Keep, as WriteOptions.Compress or Quantize, keeps each tensor's current
// compression or quantization (Rewrite).
const Keep codec.ID = 0xff

// WriteOptions say how a model is stored: per-tensor encodings, extra
// metadata properties, signatures and encryption, applied in that order
// (compress, then sign, then encrypt).
type WriteOptions struct {
	Compress  codec.ID // codec.Raw: none; Zstd, LZ4, Brotli; Keep
	Level     int      // the codec's level; 0: its default
	Shuffle   int      // byte-shuffle: 0 auto, 1 on, -1 off
	ChunkSize int      // compression chunk; 0: 1 MiB
	Quantize  codec.ID // codec.Raw: none; FP16, BF16, Int8 (weights of Gemm and MatMul); Keep
	// Properties are added to (or replace) the metadata's properties.
	Properties map[string]string
	SignKeys   []ed25519.PrivateKey
	EncryptKey []byte // 32 bytes
	// Progress, when set, is called as tensors are encoded, with the raw
	// bytes done so far and the total (for progress bars). It may be called
	// from several goroutines at once.
	Progress func(done, total int64)
}

// QuantReport says what quantization did.
type QuantReport struct {
	Scheme       codec.ID
	Tensors      int     // tensors quantized
	BytesBefore  int64   // their raw bytes
	BytesAfter   int64   // their quantized bytes (before compression)
	MaxAbsWeight float64 // the largest absolute change of any weight
}

func (o *WriteOptions) check() error {
	if o.Compress != codec.Raw && o.Compress != Keep && !o.Compress.Compressed() {
		return errs.New(errs.InvalidOptions, "compress: %s is not a compression codec (zstd, lz4, brotli)", o.Compress)
	}
	if o.Quantize != codec.Raw && o.Quantize != Keep && !o.Quantize.Quantized() {
		return errs.New(errs.InvalidOptions, "quantize: %s is not a quantization (fp16, bf16, int8)", o.Quantize)
	}
	if o.EncryptKey != nil && len(o.EncryptKey) != EncryptionKeySize {
		return errs.New(errs.KeyInvalid, "an encryption key is %d bytes; this one is %d", EncryptionKeySize, len(o.EncryptKey))
	}
	return nil
}

// plain reports whether o asks for nothing beyond raw storage.
func (o *WriteOptions) plain() bool {
	return (o.Compress == codec.Raw || o.Compress == Keep) && (o.Quantize == codec.Raw || o.Quantize == Keep) &&
		len(o.Properties) == 0 && len(o.SignKeys) == 0 && o.EncryptKey == nil
}

// quantTargets returns, for each stored float tensor that quantization may
// touch, its output-channel axis (-1: not int8, only fp16/bf16): the
// weights of Gemm (B, and C for fp16/bf16) and MatMul (B) read by nothing
// else. Everything else — tree thresholds, tables, integer data — stays.
func quantTargets(g *graph.Graph, info func(name string) (dtype.DType, []int64, bool)) map[string]int {
	axis := map[string]int{}
	bad := map[string]bool{}
	for _, n := range g.Nodes {
		for j, in := range n.Inputs {
			if in == "" {
				continue
			}
			dt, shape, ok := info(in)
			if !ok || (dt != dtype.Float32 && dt != dtype.Float64) {
				continue
			}
			a, use := -2, false
			switch {
			case n.Op == "Gemm" && j == 1 && len(shape) == 2:
				a, use = 1, true
				for _, at := range n.Attrs {
					if at.Name == "transB" && at.Int != 0 {
						a = 0
					}
				}
			case n.Op == "Gemm" && j == 2:
				a, use = -1, true
			case n.Op == "MatMul" && j == 1 && len(shape) >= 2:
				a, use = len(shape)-1, true
			}
			if !use {
				bad[in] = true
				continue
			}
			if prev, seen := axis[in]; seen && prev != a {
				bad[in] = true
			}
			axis[in] = a
		}
	}
	for name := range bad {
		delete(axis, name)
	}
	return axis
}

// storedAs is how a tensor of a file being rewritten was stored: its
// compression and its quantization (either may be codec.Raw).
type storedAs struct{ compress, quantize codec.ID }

// storeTensors stores each tensor as o asks. cur holds how each tensor was
// stored before (for Keep; nil: raw), data their raw bytes.
func storeTensors(g *graph.Graph, ts []TensorDesc, cur []storedAs, data [][]byte, o *WriteOptions) ([]TensorDesc, [][]byte, *QuantReport, error) {
	byName := map[string]int{}
	for i := range ts {
		byName[ts[i].Name] = i
	}
	targets := quantTargets(g, func(name string) (dtype.DType, []int64, bool) {
		i, ok := byName[name]
		if !ok {
			return 0, nil, false
		}
		return ts[i].DType, ts[i].Shape, true
	})
	out := slices.Clone(ts)
	stored := make([][]byte, len(ts))
	qerr := make([]float64, len(ts))
	quantized := make([]codec.ID, len(ts)) // the scheme each tensor got
	axes := make([]int, len(ts))
	var total int64
	if o.Progress != nil {
		for i := range data {
			total += int64(len(data[i]))
		}
	}
	var doneAt atomic.Int64
	err := par.For(len(ts), func(i int) error {
		t := &out[i]
		spec := codec.Spec{Compress: o.Compress, Level: o.Level, Shuffle: o.Shuffle, ChunkSize: o.ChunkSize, Quantize: o.Quantize}
		if spec.Compress == Keep {
			spec.Compress = codec.Raw
			if cur != nil {
				spec.Compress = cur[i].compress
			}
		}
		if spec.Quantize == Keep {
			spec.Quantize = codec.Raw
			if cur != nil {
				spec.Quantize = cur[i].quantize
			}
		}
		if spec.Quantize != codec.Raw {
			a, ok := targets[t.Name]
			switch {
			case !ok || (spec.Quantize == codec.Int8 && a < 0):
				spec.Quantize = codec.Raw
			case spec.Quantize == codec.Int8:
				spec.Axis = a
			}
		}
		id, b, e, err := codec.Encode(t.DType, t.Shape, data[i], spec)
		if err != nil && spec.Quantize != codec.Raw && errs.CodeOf(err) == errs.InvalidValue {
			// Not representable (fp16 range, NaN for int8): keep it exact.
			spec.Quantize = codec.Raw
			id, b, e, err = codec.Encode(t.DType, t.Shape, data[i], spec)
		}
		if err != nil {
			return errs.Prefix(err, "tensor %q", t.Name)
		}
		t.Encoding, t.StoredLen, t.RawLen, t.CRC = id, uint64(len(b)), uint64(len(data[i])), crc32c(b)
		stored[i], qerr[i], quantized[i], axes[i] = b, e, spec.Quantize, spec.Axis
		if o.Progress != nil {
			o.Progress(doneAt.Add(int64(len(data[i]))), total)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	// A report only for a quantization this write chose (Keep re-applies
	// each tensor's scheme: its error is the file's existing record).
	var rep *QuantReport
	if o.Quantize != codec.Raw && o.Quantize != Keep {
		rep = &QuantReport{Scheme: o.Quantize}
		for i := range out {
			if quantized[i] != codec.Raw {
				rep.Tensors++
				rep.BytesBefore += int64(out[i].RawLen)
				rep.BytesAfter += int64(quantizedSize(&out[i], quantized[i], axes[i]))
				rep.MaxAbsWeight = math.Max(rep.MaxAbsWeight, qerr[i])
			}
		}
	}
	var end uint64
	for i := range out {
		out[i].Offset, _ = alignUp(end, TensorAlign)
		end = out[i].Offset + out[i].StoredLen
	}
	return out, stored, rep, nil
}

// quantizedSize is a quantized tensor's size before compression
// (docs/FORMAT.md §6.1).
func quantizedSize(t *TensorDesc, q codec.ID, axis int) uint64 {
	n := t.RawLen / uint64(t.DType.Size())
	if q == codec.Int8 {
		return 8 + 4*uint64(t.Shape[axis]) + n
	}
	return 2 * n
}

// quantProperty is the metadata record of a quantization (mle.quantization).
func (r *QuantReport) property() string {
	b, _ := json.Marshal(map[string]any{"scheme": r.Scheme.String(), "tensors": r.Tensors,
		"bytes_before": r.BytesBefore, "bytes_after": r.BytesAfter, "max_abs_weight_error": r.MaxAbsWeight})
	return string(b)
}

// finish signs and encrypts a serialized file as o asks.
func finish(file []byte, o *WriteOptions) ([]byte, error) {
	var err error
	if len(o.SignKeys) > 0 {
		if file, err = Sign(file, o.SignKeys...); err != nil {
			return nil, err
		}
	}
	if o.EncryptKey != nil {
		if file, err = Encrypt(file, o.EncryptKey, 0); err != nil {
			return nil, err
		}
	}
	return file, nil
}

// Rewrite re-stores an opened file as o asks: its tensors decoded and
// encoded again, its metadata (plus o.Properties) and graph kept. The
// result is not signed unless o.SignKeys says so: a rewritten file's old
// signatures would no longer verify. It returns the new file's bytes.
func Rewrite(f *File, o WriteOptions) ([]byte, *QuantReport, error) {
	if f.Graph == nil {
		return nil, nil, errs.New(errs.KeyRequired, "the file is encrypted; rewriting it needs its key")
	}
	b := NewBuilder()
	b.meta = *f.Metadata
	b.meta.Inputs, b.meta.Outputs, b.meta.Writer = nil, nil, ""
	b.meta.Properties = cloneMap(f.Metadata.Properties)
	b.g = graph.Graph{Inputs: slices.Clone(f.Graph.Inputs), Nodes: slices.Clone(f.Graph.Nodes)}
	for _, out := range f.Graph.Outputs {
		b.g.Outputs = append(b.g.Outputs, graph.ValueInfo{Name: out.Name})
	}
	cur := make([]storedAs, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		data, err := f.Load(i)
		if err != nil {
			return nil, nil, err
		}
		cur[i] = storedAsOf(t, f.TensorData(i))
		b.names[t.Name] = len(b.tensors)
		b.tensors = append(b.tensors, TensorDesc{Name: t.Name, DType: t.DType, Shape: t.Shape, StoredLen: t.RawLen, RawLen: t.RawLen, CRC: crc32c(data)})
		b.data = append(b.data, data)
	}
	b.cur = cur
	return b.BytesWith(o)
}

// storedAsOf returns how a tensor is stored: the first byte of a
// compressed stream names the encoding inside it (docs/FORMAT.md §6.1).
func storedAsOf(t *TensorDesc, stored []byte) storedAs {
	switch {
	case t.Encoding.Quantized():
		return storedAs{codec.Raw, t.Encoding}
	case t.Encoding.Compressed() && len(stored) > 0 && codec.ID(stored[0]).Quantized():
		return storedAs{t.Encoding, codec.ID(stored[0])}
	case t.Encoding.Compressed():
		return storedAs{t.Encoding, codec.Raw}
	}
	return storedAs{}
}

// Sign adds Ed25519 signatures to a serialized file (see docs/FORMAT.md
// §3.1). The file is verified first (every CRC, and the digests of an
// existing signature): nothing damaged gets signed. Existing signatures
// stay (they sign the same manifest); a key that already signed is
// replaced.
func Sign(file []byte, keys ...ed25519.PrivateKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errs.New(errs.InvalidValue, "no signing key")
	}
	f, err := Parse(file, OpenOptions{Verify: true, SkipPolicy: true})
	if err != nil {
		if errs.CodeOf(err) == errs.KeyRequired {
			return nil, errs.New(errs.UnsupportedFeature, "the file is encrypted: sign the model before encrypting it (the signature is then sealed inside)")
		}
		return nil, errs.Prefix(err, "signing")
	}
	defer f.Close()
	var secs []Section
	var bodies [][]byte
	for _, s := range f.Sections {
		if s.Kind != SectionSignature {
			secs = append(secs, s)
			bodies = append(bodies, f.data[s.Offset:s.Offset+s.Length])
		}
	}
	kinds := make([]SectionKind, 0, len(secs)+1)
	for _, s := range secs {
		kinds = append(kinds, s.Kind)
	}
	kinds = append(kinds, SectionSignature)
	lens := make([]uint64, len(kinds))
	for i := range secs {
		lens[i] = secs[i].Length
	}
	offsets := placeSections(kinds, lens)
	placed := slices.Clone(secs)
	for i := range placed {
		placed[i].Offset = offsets[i]
	}
	var digests [][32]byte
	if f.Signed != nil {
		digests = f.Signed.manifest.Tensors // the verifying parse checked each against its tensor
	} else {
		digests = make([][32]byte, len(f.Tensors))
		_ = par.For(len(f.Tensors), func(i int) error { digests[i] = sha256.Sum256(f.TensorData(i)); return nil })
	}
	m := buildManifest(f.data[:HeaderSize], placed, bodies, digests)
	mb := m.Encode()
	var sigs []sign.Signature
	if f.Signed != nil {
		sigs = f.Signed.Signatures
	}
	for _, k := range keys {
		if len(k) != ed25519.PrivateKeySize {
			return nil, errs.New(errs.KeyInvalid, "an Ed25519 private key is %d bytes; this one is %d", ed25519.PrivateKeySize, len(k))
		}
		pub := k.Public().(ed25519.PublicKey)
		sigs = slices.DeleteFunc(slices.Clone(sigs), func(s sign.Signature) bool { return s.Public.Equal(pub) })
		sigs = append(sigs, sign.SignManifest(k, mb))
	}
	for _, s := range sigs {
		if !s.Verify(mb) {
			return nil, errs.New(errs.SignatureInvalid, "the existing signature by key %s does not verify over this file's manifest", s.KeyID())
		}
	}
	sb, err := sign.EncodeSection(mb, sigs)
	if err != nil {
		return nil, err
	}
	flags := make([]uint32, len(kinds))
	for i := range secs {
		flags[i] = secs[i].Flags
	}
	return writeSections(f.data[:32], kinds, flags, append(bodies, sb)), nil
}

// placeSections returns the offsets of sections of the given kinds and
// lengths in the canonical layout (exact cover, §1).
func placeSections(kinds []SectionKind, lens []uint64) []uint64 {
	off := make([]uint64, len(kinds))
	pos := uint64(HeaderSize + len(kinds)*SectionEntrySize)
	for i, k := range kinds {
		off[i], _ = alignUp(pos, k.align())
		pos = off[i] + lens[i]
	}
	return off
}

// writeSections serializes a file: the first 32 header bytes (magic,
// version, endianness, flags) as given, then the table and the sections in
// the canonical layout, with every CRC computed.
func writeSections(head32 []byte, kinds []SectionKind, flags []uint32, bodies [][]byte) []byte {
	lens := make([]uint64, len(kinds))
	for i := range bodies {
		lens[i] = uint64(len(bodies[i]))
	}
	offs := placeSections(kinds, lens)
	size := uint64(HeaderSize + len(kinds)*SectionEntrySize)
	if n := len(kinds); n > 0 {
		size = offs[n-1] + lens[n-1]
	}
	out := AlignedBytes(int(size))
	copy(out, head32[:32])
	table := out[HeaderSize : HeaderSize+len(kinds)*SectionEntrySize]
	_ = par.For(len(kinds), func(i int) error {
		copy(out[offs[i]:], bodies[i])
		s := Section{Kind: kinds[i], Flags: flags[i], Offset: offs[i], Length: lens[i], CRC: crc32c(bodies[i])}
		s.encode(table[i*SectionEntrySize:])
		return nil
	})
	le := binary.LittleEndian
	le.PutUint64(out[32:], HeaderSize)
	le.PutUint32(out[40:], uint32(len(kinds)))
	le.PutUint32(out[44:], 0)
	le.PutUint64(out[48:], size)
	le.PutUint32(out[56:], crc32c(table))
	le.PutUint32(out[60:], crc32c(out[:60]))
	return out
}

// Encrypt seals a serialized (plain, possibly signed) file with a 32-byte
// key (docs/FORMAT.md §10). The public METADATA keeps what tools show
// without the key — name, version, producer, inputs, outputs, lineage,
// policy — and leaves out properties. chunk is the encryption chunk size
// (0: 1 MiB).
func Encrypt(file, key []byte, chunk uint32) ([]byte, error) {
	if len(key) != EncryptionKeySize {
		return nil, errs.New(errs.KeyInvalid, "an encryption key is %d bytes; this one is %d", EncryptionKeySize, len(key))
	}
	f, err := Parse(file, OpenOptions{Verify: true, SkipPolicy: true})
	if err != nil {
		if errs.CodeOf(err) == errs.KeyRequired {
			return nil, errs.New(errs.InvalidValue, "the file is already encrypted")
		}
		return nil, errs.Prefix(err, "encrypting")
	}
	pub := *f.Metadata
	f.Close()
	pub.Properties = nil
	meta, err := pub.Encode()
	if err != nil {
		return nil, err
	}
	if chunk == 0 {
		chunk = seal.DefaultChunkSize
	}
	params, err := seal.NewParams(key, uint64(len(file)), chunk)
	if err != nil {
		return nil, err
	}
	enc := params.Encode()
	ct, err := seal.Seal(key, &params, envelopeBind(enc, meta), file)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 32)
	h := Header{Major: VersionMajor, Minor: VersionMinor, RequiredFlags: FlagEncrypted}
	copy(head, h.encode()[:32])
	return writeSections(head, []SectionKind{SectionMetadata, SectionEncryption, SectionSealed}, make([]uint32, 3),
		[][]byte{meta, enc, ct}), nil
}

// Decrypt returns the plain file sealed in an encrypted one, checking
// every chunk.
func Decrypt(file, key []byte) ([]byte, error) {
	f, err := Parse(file, OpenOptions{Key: key, Verify: true, SkipPolicy: true})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Envelope == nil {
		return nil, errs.New(errs.InvalidValue, "the file is not encrypted")
	}
	return append([]byte(nil), f.data...), nil
}
