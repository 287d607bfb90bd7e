package format

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/edsrzf/mmap-go"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/fault"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/core/par"
	"github.com/mle-runtime/mle/core/strs"
)

// OpenOptions control how a file is opened.
type OpenOptions struct {
	// Verify checks every CRC (weights included) and the zero padding between
	// tensors. Without it Open does only O(1)-in-weights structural checks.
	Verify bool
	// ReadAll reads the file into memory instead of mapping it (for network
	// filesystems, or files that may be replaced while in use).
	ReadAll bool
	// Key is the 32-byte key of an encrypted file.
	Key []byte
	// TrustedKeys: a signed file must carry a valid signature by one of
	// these keys (errs.SignatureUntrusted otherwise). Unsigned files still
	// open unless RequireSignature is set.
	TrustedKeys []ed25519.PublicKey
	// RequireSignature refuses a file without a valid signature by one of
	// TrustedKeys (which must then be given).
	RequireSignature bool
	// SkipPolicy opens a file whose access policy refuses this process,
	// for tools that show or copy it without running it (inspect, diff).
	SkipPolicy bool
	// PolicyContext replaces this process's clock, host and user when the
	// policy is checked (tests); nil: CurrentPolicyContext().
	PolicyContext *PolicyContext
	// PublicOnly opens only the public part of an encrypted file, without
	// its key: Metadata is the public metadata and Envelope describes the
	// encryption; Graph, Checked and Tensors are nil. Unencrypted files open
	// in full.
	PublicOnly bool
	// Progress, when set, is called as Verify checks the weights, with the
	// bytes checked so far and the total (for progress bars). It may be
	// called from several goroutines at once.
	Progress func(done, total int64)
}

func (o *OpenOptions) check() error {
	if o.RequireSignature && len(o.TrustedKeys) == 0 {
		return errs.New(errs.InvalidOptions, "require_signature needs trusted keys to check the signature against")
	}
	if o.Key != nil && len(o.Key) != EncryptionKeySize {
		return errs.New(errs.KeyInvalid, "an encryption key is %d bytes; this one is %d", EncryptionKeySize, len(o.Key))
	}
	for i, k := range o.TrustedKeys {
		if len(k) != ed25519.PublicKeySize {
			return errs.New(errs.KeyInvalid, "trusted key %d is %d bytes; an Ed25519 public key is %d", i, len(k), ed25519.PublicKeySize)
		}
	}
	return nil
}

// File is an opened, validated .mle file. Its tensor data stays in the
// mapping (or buffer) until Close.
type File struct {
	Header       Header
	Sections     []Section
	Metadata     *Metadata
	MetadataJSON []byte // the METADATA section as stored (a copy)
	Graph        *graph.Graph
	Checked      *graph.Checked
	Tensors      []TensorDesc
	// Signed describes the signatures of a signed file (nil: unsigned).
	Signed *Signed
	// Envelope describes the encryption of a file opened from an
	// encrypted one (nil: not encrypted).
	Envelope *Envelope

	loads     []tensorLoad // by tensor: decoded bytes, made on first use
	sealed    *sealedState
	data      []byte
	mapping   []byte       // from mmap-go
	owned     osmem.Buffer // data, when read into memory the File owns
	weights   []byte
	tensorIdx map[string]int
}

// Open maps (or reads) path and validates it. Only regular files are
// opened: a FIFO or a device is refused without blocking on it.
//
// The sections before WEIGHTS (header, table, metadata, graph, tensor
// descriptors: usually a few KiB) are read with pread and validated from
// that copy; the mapping is only read when weights are. Touching a mapping
// costs a page fault and, at Close, a TLB flush on every CPU the process
// ran on: more than the read. A file that fits in the first read is not
// mapped at all.
func Open(path string, opts OpenOptions) (*File, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err != nil {
		return nil, errs.Wrap(errs.IOOpen, err, "opening %s", path)
	} else if !st.Mode().IsRegular() {
		return nil, errs.New(errs.IONotFile, "%s is %s, not a regular file", path, fileKind(st.Mode()))
	}
	// O_NONBLOCK: should the path become a FIFO after the Stat, opening it
	// must not wait for a writer. A plain descriptor, not an *os.File: the
	// runtime's poller has nothing to do with a regular file.
	fd, err := ignoringEINTR(func() (int, error) {
		return syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, errs.Wrap(errs.IOOpen, &os.PathError{Op: "open", Path: path, Err: err}, "opening %s", path)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if _, err := ignoringEINTR(func() (int, error) { return 0, syscall.Fstat(fd, &st) }); err != nil {
		return nil, errs.Wrap(errs.IOOpen, &os.PathError{Op: "stat", Path: path, Err: err}, "stat %s", path)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, errs.New(errs.IONotFile, "%s is %s, not a regular file", path, fileKind(modeType(st.Mode)))
	}
	size := st.Size
	if size < 0 || size > int64(^uint(0)>>1) {
		return nil, errs.New(errs.IOOpen, "%s is too large to address (%d bytes)", path, size)
	}
	var data, head, m []byte
	var owned osmem.Buffer
	if opts.ReadAll || size < HeaderSize {
		if owned, err = osmem.Alloc(size); err != nil {
			return nil, errs.Prefix(err, "reading %s into memory", path)
		}
		data = owned.Bytes()
		if n, err := preadFull(fd, data, 0); err != nil || n < len(data) {
			osmem.Free(&owned)
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, errs.Wrap(errs.IORead, err, "reading %s", path)
		}
	} else {
		if head, err = readHead(fd, size); err != nil {
			return nil, errs.Wrap(errs.IORead, err, "reading %s", path)
		}
		if int64(len(head)) == size {
			data = head // all of it: nothing to map
		} else {
			if m, err = mapFile(fd, path, int(size)); err != nil {
				return nil, errs.Wrap(errs.IOMap, err, "mapping %s", path)
			}
			data = m
		}
	}
	file, err := parse(data, head, opts)
	if err != nil {
		if m != nil {
			_ = (*mmap.MMap)(&m).Unmap()
		}
		osmem.Free(&owned)
		return nil, errs.Prefix(err, "%s", path)
	}
	file.mapping, file.owned = m, owned
	return file, nil
}

// mapFile maps size bytes of the file open as fd read-only with mmap-go,
// through an *os.File on a duplicate of fd (closed once mapped: a mapping
// outlives its descriptor), so that fd stays the caller's alone.
func mapFile(fd int, path string, size int) ([]byte, error) {
	dup, err := ignoringEINTR(func() (int, error) { return syscall.Dup(fd) })
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), path)
	defer f.Close()
	return mmap.MapRegion(f, size, mmap.RDONLY, 0, 0)
}

// Reading the start of a mapped file: headRead bytes first, then up to
// where the table says WEIGHTS starts (at most maxHeadRead in all).
const (
	headRead    = 4096
	maxHeadRead = 4 << 20
)

// readHead reads the bytes of the file before its WEIGHTS section into
// 64-byte aligned memory. A short read (the file shrank) gives a shorter
// head; parse reads anything head lacks from the file itself.
func readHead(fd int, size int64) ([]byte, error) {
	n := int(min(size, headRead))
	head := AlignedBytes(n)
	got, err := preadFull(fd, head, 0)
	if err != nil || got < n {
		return head[:got:got], err
	}
	end := headEnd(head, size)
	if end <= n {
		return head, nil
	}
	all := AlignedBytes(end)
	copy(all, head)
	got, err = preadFull(fd, all[n:], int64(n))
	return all[: n+got : n+got], err
}

// headEnd returns how many bytes of a size-byte file to read as its head,
// given its first bytes b: up to where WEIGHTS starts, or the end of the
// last other section if one comes later (at most maxHeadRead, at least
// len(b)). The section table is only a hint here: parse validates it.
func headEnd(b []byte, size int64) int {
	if len(b) < HeaderSize {
		return len(b)
	}
	count := uint64(binary.LittleEndian.Uint32(b[40:]))
	if count > MaxSections || HeaderSize+count*SectionEntrySize > uint64(len(b)) {
		return len(b)
	}
	var want uint64
	for i := uint64(0); i < count; i++ {
		e := b[HeaderSize+i*SectionEntrySize:]
		off, length := binary.LittleEndian.Uint64(e[8:]), binary.LittleEndian.Uint64(e[16:])
		switch SectionKind(binary.LittleEndian.Uint32(e)) {
		case SectionWeights:
			want = max(want, off)
		case SectionSignature, SectionSealed:
			// After WEIGHTS, or large: read from the mapping.
		default:
			if off+length >= off {
				want = max(want, off+length)
			}
		}
	}
	return int(max(min(want, uint64(max(size, 0)), maxHeadRead), uint64(len(b))))
}

// preadFull reads len(b) bytes at off, or fewer at the end of the file.
func preadFull(fd int, b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		k, err := ignoringEINTR(func() (int, error) { return syscall.Pread(fd, b[n:], off+int64(n)) })
		if err != nil {
			return n, err
		}
		if k == 0 {
			break
		}
		n += k
	}
	return n, nil
}

func ignoringEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// modeType converts the file type bits of a stat mode to an os.FileMode.
func modeType(m uint32) os.FileMode {
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return os.ModeDir
	case syscall.S_IFIFO:
		return os.ModeNamedPipe
	case syscall.S_IFCHR:
		return os.ModeDevice | os.ModeCharDevice
	case syscall.S_IFBLK:
		return os.ModeDevice
	case syscall.S_IFSOCK:
		return os.ModeSocket
	case syscall.S_IFLNK:
		return os.ModeSymlink
	}
	return os.ModeIrregular
}

// fileKind names what a non-regular file is, for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "special (" + m.Type().String() + ")"
}

// ParseOwned is Parse for memory from osmem.Alloc, which the File takes over:
// Close (or a failed parse) frees it.
func ParseOwned(buf osmem.Buffer, opts OpenOptions) (*File, error) {
	if err := opts.check(); err != nil {
		osmem.Free(&buf)
		return nil, err
	}
	f, err := parse(buf.Bytes(), nil, opts)
	if err != nil {
		osmem.Free(&buf)
		return nil, err
	}
	f.owned = buf
	return f, nil
}

// Parse validates an in-memory file. data must stay unchanged while the File
// is in use and should be 64-byte aligned (see AlignedBytes) so tensor views
// are aligned; misaligned data is copied.
func Parse(data []byte, opts OpenOptions) (*File, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%TensorAlign != 0 {
		data = append(AlignedBytes(len(data))[:0], data...)
	}
	return parse(data, nil, opts)
}

// AlignedBytes returns a zeroed slice of n bytes whose start is 64-byte aligned.
func AlignedBytes(n int) []byte {
	buf := make([]byte, n+TensorAlign)
	off := 0
	if r := uintptr(unsafe.Pointer(&buf[0])) % TensorAlign; r != 0 {
		off = int(TensorAlign - r)
	}
	return buf[off : off+n : off+n]
}

// Close releases the mapping (or the memory the File owns). Tensor views
// become invalid.
func (f *File) Close() error {
	f.freeLoads()
	if f.sealed != nil {
		f.sealed.secret.Free()
		f.sealed = nil
	}
	if f.owned.Len() > 0 {
		osmem.Free(&f.owned)
		f.data, f.weights = nil, nil
	}
	if f.mapping == nil {
		return nil
	}
	err := (*mmap.MMap)(&f.mapping).Unmap()
	f.mapping, f.data, f.weights = nil, nil, nil
	if err != nil {
		return errs.Wrap(errs.IO, err, "unmapping")
	}
	return nil
}

// Bytes returns the whole file (a view of the mapping or buffer).
func (f *File) Bytes() []byte { return f.data }

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

// Mapped reports whether the file is memory-mapped (rather than read).
func (f *File) Mapped() bool { return f.mapping != nil }

// TensorData returns the stored bytes of tensor i (a view, no copy): the
// encoded bytes of a compressed or quantized tensor, and, in an encrypted
// file, bytes decrypted only once Load (or Verify) has read them. Load
// returns the elements.
func (f *File) TensorData(i int) []byte {
	t := &f.Tensors[i]
	return f.weights[t.Offset : t.Offset+t.StoredLen : t.Offset+t.StoredLen]
}

// TensorIndex returns the index of the named tensor.
func (f *File) TensorIndex(name string) (int, bool) {
	i, ok := f.tensorIdx[name]
	return i, ok
}

// Lookup implements graph.Constants.
func (f *File) Lookup(name string) (graph.ValueInfo, bool) {
	i, ok := f.tensorIdx[name]
	if !ok {
		return graph.ValueInfo{}, false
	}
	t := &f.Tensors[i]
	return graph.ValueInfo{Name: t.Name, DType: t.DType, Shape: t.Shape}, true
}

// maxShapeTensor caps the stored int64 tensors read during validation.
const maxShapeTensor = 1 << 12

// Int64s implements graph.Constants.
func (f *File) Int64s(name string) ([]int64, error) {
	i, ok := f.tensorIdx[name]
	if !ok {
		return nil, errs.New(errs.GraphMissingTensor, "no stored tensor %q", name)
	}
	t := &f.Tensors[i]
	if t.DType != dtype.Int64 || t.RawLen/8 > maxShapeTensor {
		return int64sOf(name, t.DType, make([]byte, min(t.RawLen, 8*(maxShapeTensor+1))))
	}
	b, err := f.Load(i)
	if err != nil {
		return nil, err
	}
	return int64sOf(name, t.DType, b)
}

func int64sOf(name string, dt dtype.DType, b []byte) ([]int64, error) {
	if dt != dtype.Int64 {
		return nil, errs.New(errs.GraphDType, "tensor %q is %s; int64 needed", name, dt)
	}
	if len(b)/8 > maxShapeTensor {
		return nil, errs.New(errs.UnsupportedFeature, "shape tensor %q has %d elements; the limit is %d", name, len(b)/8, maxShapeTensor)
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// guardFault runs fn with faults on mapped memory turned into an IOFault
// error instead of a crash (the file may be truncated while mapped).
func guardFault(fn func() error) error {
	return fault.Guard(fn, func(addr uintptr) error {
		return errs.New(errs.IOFault, "memory fault at %#x reading the mapped file (was it truncated or removed?)", addr)
	})
}

// parse validates the file held in data. head, if not nil, is a copy of
// data's first len(head) bytes: everything but the weights is read from it.
func parse(data, head []byte, opts OpenOptions) (file *File, err error) {
	err = guardFault(func() error {
		file, err = parseUnguarded(data, head, opts)
		return err
	})
	return file, err
}

func parseUnguarded(data, head []byte, opts OpenOptions) (*File, error) {
	size := uint64(len(data))
	// view returns data[lo:hi], from head when head holds those bytes.
	view := func(lo, hi uint64) []byte {
		if hi <= uint64(len(head)) {
			return head[lo:hi:hi]
		}
		return data[lo:hi:hi]
	}
	if size < HeaderSize {
		if bytes.HasPrefix(Magic[:], data[:min(len(data), len(Magic))]) {
			return nil, errs.New(errs.FormatTruncated, "file is %d bytes; the header alone needs %d", size, HeaderSize)
		}
		return nil, errs.New(errs.FormatBadMagic, "not an .mle file: bad magic bytes %q", data[:min(len(data), len(Magic))])
	}
	hb := view(0, HeaderSize)
	if !bytes.Equal(hb[:8], Magic[:]) {
		return nil, errs.New(errs.FormatBadMagic, "not an .mle file: bad magic bytes %q", hb[:8])
	}
	le := binary.LittleEndian
	h := Header{
		Major: le.Uint16(hb[8:]), Minor: le.Uint16(hb[10:]),
		RequiredFlags: le.Uint64(hb[16:]), OptionalFlags: le.Uint64(hb[24:]),
		TableOffset: le.Uint64(hb[32:]), SectionCount: le.Uint32(hb[40:]),
		FileLength: le.Uint64(hb[48:]), TableCRC: le.Uint32(hb[56:]),
	}
	if h.Major != VersionMajor {
		return nil, errs.New(errs.FormatVersion, "file format version %d.%d; this reader supports %d.x", h.Major, h.Minor, VersionMajor)
	}
	switch m := le.Uint32(hb[12:]); m {
	case EndianMarker:
	case bits.ReverseBytes32(EndianMarker):
		return nil, errs.New(errs.FormatEndian, "file is big-endian; MLE files are little-endian")
	default:
		return nil, errs.New(errs.FormatHeader, "header endianness marker is %#08x, want %#08x", m, EndianMarker)
	}
	if got, want := crc32c(hb[:60]), le.Uint32(hb[60:]); got != want {
		return nil, errs.New(errs.ChecksumHeader, "header CRC-32C is %#08x but bytes 0..60 hash to %#08x", want, got)
	}
	if unknown := h.RequiredFlags &^ knownRequiredFlags; unknown != 0 {
		return nil, errs.New(errs.FormatRequiredFlag, "file requires features %#x that this reader does not know", unknown)
	}
	encrypted := h.RequiredFlags&FlagEncrypted != 0
	if le.Uint32(hb[44:]) != 0 {
		return nil, errs.New(errs.FormatHeader, "header reserved field at offset 44 is not zero")
	}
	switch {
	case h.FileLength > size:
		return nil, errs.New(errs.FormatTruncated, "file is truncated: the header declares %d bytes, but there are %d", h.FileLength, size)
	case h.FileLength < size:
		return nil, errs.New(errs.FormatGap, "file has %d trailing bytes after its declared length %d", size-h.FileLength, h.FileLength)
	}
	if h.TableOffset != HeaderSize {
		return nil, errs.New(errs.FormatHeader, "section table offset is %d; it must directly follow the header at %d", h.TableOffset, HeaderSize)
	}
	if h.SectionCount == 0 || h.SectionCount > MaxSections {
		return nil, errs.New(errs.FormatHeader, "section count %d is outside 1..%d", h.SectionCount, MaxSections)
	}
	tableEnd := uint64(HeaderSize) + uint64(h.SectionCount)*SectionEntrySize
	if tableEnd > size {
		return nil, errs.New(errs.FormatSectionBounds, "section table [%d, %d) runs past the end of the %d-byte file", HeaderSize, tableEnd, size)
	}
	table := view(HeaderSize, tableEnd)
	if got := crc32c(table); got != h.TableCRC {
		return nil, errs.New(errs.ChecksumHeader, "section table CRC-32C is %#08x but bytes %d..%d hash to %#08x", h.TableCRC, HeaderSize, tableEnd, got)
	}
	f := &File{Header: h, data: data, Sections: make([]Section, 0, h.SectionCount)}
	prevEnd := tableEnd
	var bySection [SectionSealed + 1]int // 1 + the index of each known section; 0: none yet
	for i := 0; i < int(h.SectionCount); i++ {
		e := table[i*SectionEntrySize:]
		s := Section{Kind: SectionKind(le.Uint32(e)), Flags: le.Uint32(e[4:]), Offset: le.Uint64(e[8:]),
			Length: le.Uint64(e[16:]), CRC: le.Uint32(e[24:])}
		if le.Uint32(e[28:]) != 0 {
			return nil, errs.New(errs.FormatHeader, "section %d (%s): reserved field is not zero", i, s.Kind)
		}
		if s.Flags&^SectionIgnorable != 0 {
			return nil, errs.New(errs.FormatHeader, "section %d (%s): unknown flags %#x", i, s.Kind, s.Flags)
		}
		switch s.Kind {
		case SectionMetadata, SectionGraph, SectionTensors, SectionWeights, SectionSignature, SectionEncryption, SectionSealed:
			if bySection[s.Kind] != 0 {
				return nil, errs.New(errs.FormatHeader, "section %s appears twice", s.Kind)
			}
			bySection[s.Kind] = i + 1
			switch {
			case s.Kind == SectionSignature && encrypted:
				return nil, errs.New(errs.UnsupportedFeature, "an encrypted file with a SIGNATURE section: sign a model before encrypting it (the signature is then sealed inside)")
			case s.Kind == SectionSignature && i != int(h.SectionCount)-1:
				return nil, errs.New(errs.FormatHeader, "the SIGNATURE section is section %d of %d; it must be the last", i, h.SectionCount)
			case (s.Kind == SectionEncryption || s.Kind == SectionSealed) != encrypted && s.Kind != SectionMetadata:
				if encrypted {
					return nil, errs.New(errs.FormatEncryption, "an encrypted file holds METADATA, ENCRYPTION and SEALED; it has a %s section", s.Kind)
				}
				return nil, errs.New(errs.FormatEncryption, "file has a %s section but not the encrypted flag", s.Kind)
			}
		default:
			if s.Flags&SectionIgnorable == 0 {
				return nil, errs.New(errs.UnsupportedFeature, "section %d has unknown kind %d and is not marked ignorable", i, uint32(s.Kind))
			}
		}
		if s.Offset > size || s.Length > size-s.Offset {
			return nil, errs.New(errs.FormatSectionBounds, "section %d (%s) [%d, %d+%d) lies outside the %d-byte file", i, s.Kind, s.Offset, s.Offset, s.Length, size)
		}
		want, _ := alignUp(prevEnd, s.Kind.align())
		switch {
		case s.Offset < prevEnd:
			return nil, errs.New(errs.FormatSectionOverlap, "section %d (%s) at offset %d overlaps the bytes before it, which end at %d", i, s.Kind, s.Offset, prevEnd)
		case s.Offset != want:
			return nil, errs.New(errs.FormatGap, "section %d (%s) at offset %d leaves a gap: it must start at %d", i, s.Kind, s.Offset, want)
		}
		if j := slices.IndexFunc(view(prevEnd, s.Offset), func(b byte) bool { return b != 0 }); j >= 0 {
			return nil, errs.New(errs.FormatGap, "padding byte at offset %d before section %d (%s) is not zero", prevEnd+uint64(j), i, s.Kind)
		}
		prevEnd = s.Offset + s.Length
		f.Sections = append(f.Sections, s)
	}
	if prevEnd != size {
		return nil, errs.New(errs.FormatGap, "file has %d bytes after its last section", size-prevEnd)
	}
	if encrypted {
		return parseEnvelope(f, data, hb, bySection[:], opts)
	}
	body := func(k SectionKind) ([]byte, *Section, error) {
		i := bySection[k]
		if i == 0 {
			return nil, nil, errs.New(errs.FormatHeader, "file has no %s section", k)
		}
		s := &f.Sections[i-1]
		if k == SectionWeights { // tensor views point into data
			return data[s.Offset : s.Offset+s.Length : s.Offset+s.Length], s, nil
		}
		return view(s.Offset, s.Offset+s.Length), s, nil
	}
	// A signature is checked before any section is parsed: with trusted
	// keys, only bytes the signer vouched for reach the parsers.
	sigAt := bySection[SectionSignature]
	if sigAt != 0 {
		ss := f.Sections[sigAt-1]
		var err error
		if got := crc32c(data[ss.Offset : ss.Offset+ss.Length]); got != ss.CRC {
			return nil, errs.New(errs.ChecksumSection, "SIGNATURE section CRC-32C is %#08x but its bytes hash to %#08x", ss.CRC, got)
		}
		f.Signed, err = checkSigned(data[ss.Offset:ss.Offset+ss.Length:ss.Offset+ss.Length], hb, f.Sections[:sigAt-1],
			func(s Section) []byte { return view(s.Offset, s.Offset+s.Length) }, opts.TrustedKeys)
		if err != nil {
			return nil, err
		}
	} else if opts.RequireSignature {
		return nil, errs.New(errs.SignatureRequired, "the file is not signed, and a signature by a trusted key is required")
	}
	var sec [4][]byte
	for i, k := range []SectionKind{SectionMetadata, SectionGraph, SectionTensors, SectionWeights} {
		b, s, err := body(k)
		if err != nil {
			return nil, err
		}
		// Small sections are checked at every open: they are read anyway.
		// WEIGHTS is checked only by Verify, after its tensors, so that a
		// damaged tensor is reported by name.
		if k != SectionWeights {
			if got := crc32c(b); got != s.CRC {
				return nil, errs.New(errs.ChecksumSection, "%s section CRC-32C is %#08x but its bytes hash to %#08x", k, s.CRC, got)
			}
		}
		sec[i] = b
	}
	var err error
	if f.Metadata, err = ParseMetadata(sec[0]); err != nil {
		return nil, err
	}
	f.MetadataJSON = bytes.Clone(sec[0])
	if f.Graph, err = DecodeGraph(sec[1]); err != nil {
		return nil, err
	}
	f.weights = sec[3]
	if f.Tensors, f.tensorIdx, err = decodeTensors(sec[2], uint64(len(sec[3]))); err != nil {
		return nil, err
	}
	f.loads = make([]tensorLoad, len(f.Tensors))
	if f.Signed != nil && len(f.Signed.manifest.Tensors) != len(f.Tensors) {
		return nil, errs.New(errs.FormatManifest, "the signed manifest lists %d tensors; the file has %d", len(f.Signed.manifest.Tensors), len(f.Tensors))
	}
	if !opts.SkipPolicy && f.Metadata.Policy != nil {
		pc := opts.PolicyContext
		if pc == nil {
			c := CurrentPolicyContext()
			pc = &c
		}
		if err := f.Metadata.Policy.Check(*pc); err != nil {
			return nil, err
		}
	}
	if opts.Verify {
		if err := f.verifyWeights(opts.Progress); err != nil {
			return nil, err
		}
	}
	if f.Checked, err = graph.Check(f.Graph, f); err != nil {
		return nil, err
	}
	if err := checkSignature("inputs", f.Metadata.Inputs, f.Graph.Inputs); err != nil {
		return nil, err
	}
	if err := checkSignature("outputs", f.Metadata.Outputs, f.Graph.Outputs); err != nil {
		return nil, err
	}
	return f, nil
}

// verifyWeights checks every tensor's CRC, that the padding between tensors
// is zero, and the WEIGHTS section's CRC. progress (may be nil) hears of
// each tensor's bytes in each pass.
func (f *File) verifyWeights(progress func(done, total int64)) error {
	loads := func(i int) bool { return f.Signed != nil || f.Tensors[i].Encoding != EncodingRaw }
	var done atomic.Int64          // the Load pass reports from several goroutines
	total := int64(len(f.weights)) // the section CRC
	for i := range f.Tensors {
		total += int64(f.Tensors[i].StoredLen)
		if loads(i) {
			total += int64(f.Tensors[i].StoredLen)
		}
	}
	report := func(n uint64) {
		if progress != nil {
			progress(done.Add(int64(n)), total)
		}
	}
	var end uint64
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if j := slices.IndexFunc(f.weights[end:t.Offset], func(b byte) bool { return b != 0 }); j >= 0 {
			return errs.New(errs.FormatGap, "padding byte %d of WEIGHTS before tensor %q is not zero", end+uint64(j), t.Name)
		}
		if got := crc32c(f.TensorData(i)); got != t.CRC {
			return errs.New(errs.ChecksumTensor, "tensor %q CRC-32C is %#08x but its bytes hash to %#08x", t.Name, t.CRC, got)
		}
		end = t.Offset + t.StoredLen
		report(t.StoredLen)
	}
	// Signed tensors' digests, and every encoded tensor's stream.
	if err := par.For(len(f.Tensors), func(i int) error {
		if !loads(i) {
			return nil
		}
		_, err := f.Load(i)
		report(f.Tensors[i].StoredLen)
		return err
	}); err != nil {
		return err
	}
	for _, s := range f.Sections {
		if s.Kind == SectionWeights {
			if got := crc32c(f.weights); got != s.CRC {
				return errs.New(errs.ChecksumSection, "WEIGHTS section CRC-32C is %#08x but its bytes hash to %#08x", s.CRC, got)
			}
		}
	}
	report(uint64(len(f.weights)))
	return nil
}

// Verify checks every byte of an opened file: all CRCs and padding.
func (f *File) Verify() error {
	return guardFault(func() error {
		if f.sealed != nil {
			// An encrypted file's plaintext is decrypted as it is read.
			if err := f.sealed.opener.All(); err != nil {
				return err
			}
		}
		for _, s := range f.Sections {
			if s.Kind == SectionWeights {
				continue
			}
			if got := crc32c(f.data[s.Offset : s.Offset+s.Length]); got != s.CRC {
				return errs.New(errs.ChecksumSection, "%s section CRC-32C is %#08x but its bytes hash to %#08x", s.Kind, s.CRC, got)
			}
		}
		if err := f.verifyWeights(nil); err != nil {
			return err
		}
		for i := range f.Tensors {
			if err := f.CheckStrings(i); err != nil {
				return err
			}
		}
		return nil
	})
}

// CheckStrings validates the packed text of tensor i when it holds strings
// (offsets, UTF-8, lengths: errs.FormatString); other tensors pass. Open
// checks only that the offsets fit; the text is checked at first use.
func (f *File) CheckStrings(i int) error {
	t := &f.Tensors[i]
	if !t.DType.IsString() {
		return nil
	}
	b, err := f.Load(i)
	if err != nil {
		return err
	}
	n, _ := dtype.NumElements(t.Shape)
	return errs.Prefix(strs.Check(b, n, errs.FormatString), "tensor %q", t.Name)
}

func checkSignature(what string, meta, g []graph.ValueInfo) error {
	if len(meta) != len(g) {
		return errs.New(errs.MetadataSignature, "metadata lists %d %s but the graph has %d", len(meta), what, len(g))
	}
	for i := range meta {
		if meta[i].Name != g[i].Name || meta[i].DType != g[i].DType || !slices.Equal(meta[i].Shape, g[i].Shape) {
			return errs.New(errs.MetadataSignature, "metadata %s[%d] is %s, but the graph says %s", what, i, describe(meta[i]), describe(g[i]))
		}
	}
	return nil
}

func describe(v graph.ValueInfo) string {
	return fmt.Sprintf("%q %s%v", v.Name, v.DType, v.Shape)
}
