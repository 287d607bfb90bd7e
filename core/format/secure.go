package format

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sync"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/core/seal"
	"github.com/mle-runtime/mle/core/sign"
)

// Required-feature flags (header offset 16).
const (
	// FlagEncrypted marks an encrypted file: METADATA (public), ENCRYPTION
	// and SEALED, the ciphertext of a whole .mle file (docs/FORMAT.md §10).
	FlagEncrypted uint64 = 1 << 0

	knownRequiredFlags = FlagEncrypted
)

// Section kinds added in format 1.1.
const (
	SectionEncryption SectionKind = 6
	SectionSealed     SectionKind = 7
)

// Signed describes a file's SIGNATURE section.
type Signed struct {
	Signatures []sign.Signature
	// TrustedBy is the key id of the trusted key whose signature verified;
	// "" when the open had no trusted keys (the manifest was then only
	// checked against the file, which detects damage, not forgery).
	TrustedBy string
	manifest  *sign.Manifest
}

// Envelope describes an encrypted file's public part.
type Envelope struct {
	Params         seal.Params
	PublicMetadata *Metadata
	PublicJSON     []byte // the outer METADATA as stored
	OuterSize      int64
}

// tensorLoad is one tensor's decoded bytes, made on first use.
type tensorLoad struct {
	once sync.Once
	data []byte
	buf  osmem.Buffer // owned decoded bytes (encoded tensors)
	err  error
}

// sealedState is the decrypting side of an encrypted file opened with its
// key: the plaintext lives in secret memory, decrypted chunk by chunk as
// sections and tensors are first read.
type sealedState struct {
	opener *seal.Opener
	secret *seal.Secret
}

// Load returns tensor i's element bytes (strings: packed): the stored bytes
// themselves for raw tensors, or a decoded copy owned by the File. On first
// use it decrypts the tensor (encrypted files), checks its SHA-256 against
// the signed manifest (signed files) and decodes it (compressed or
// quantized encodings). Safe for concurrent use; the result is cached.
func (f *File) Load(i int) ([]byte, error) {
	l := &f.loads[i]
	l.once.Do(func() {
		l.err = guardFault(func() error { return f.load(i, l) })
	})
	return l.data, l.err
}

func (f *File) load(i int, l *tensorLoad) error {
	t := &f.Tensors[i]
	if f.sealed != nil {
		base := f.weightsOffset()
		if err := f.sealed.opener.Ensure(base+t.Offset, base+t.Offset+t.StoredLen); err != nil {
			return errs.Prefix(err, "tensor %q", t.Name)
		}
	}
	stored := f.TensorData(i)
	if f.Signed != nil {
		if d := sha256.Sum256(stored); d != f.Signed.manifest.Tensors[i] {
			return errs.New(errs.DigestMismatch, "tensor %q changed after signing: its SHA-256 differs from the signed manifest", t.Name)
		}
	}
	if t.Encoding == EncodingRaw {
		l.data = stored
		return nil
	}
	// The stream's structure is checked before its memory is taken: a
	// descriptor may declare any raw size.
	if err := codec.Check(codec.ID(t.Encoding), t.DType, t.Shape, t.RawLen, stored); err != nil {
		return errs.Prefix(err, "tensor %q (%s)", t.Name, codec.ID(t.Encoding))
	}
	if err := fits(int64(t.RawLen), "decoding tensor "+t.Name); err != nil {
		return err
	}
	buf, err := osmem.Alloc(int64(t.RawLen))
	if err != nil {
		return errs.Prefix(err, "decoding tensor %q", t.Name)
	}
	dst := buf.Bytes()[:t.RawLen:t.RawLen]
	if err := codec.Decode(codec.ID(t.Encoding), t.DType, t.Shape, t.RawLen, stored, dst); err != nil {
		osmem.Free(&buf)
		return errs.Prefix(err, "tensor %q (%s)", t.Name, codec.ID(t.Encoding))
	}
	l.buf, l.data = buf, dst
	return nil
}

// DecodedBytes returns the memory Load takes for tensors that are not used
// in place (compressed or quantized): the sum of their raw lengths.
func (f *File) DecodedBytes() uint64 {
	var n uint64
	for i := range f.Tensors {
		if f.Tensors[i].Encoding != EncodingRaw {
			n += f.Tensors[i].RawLen // each < 2^62, at most 2^20 of them: no overflow
		}
	}
	return n
}

// weightsOffset returns where WEIGHTS starts in the file.
func (f *File) weightsOffset() uint64 {
	for _, s := range f.Sections {
		if s.Kind == SectionWeights {
			return s.Offset
		}
	}
	return 0
}

// freeLoads releases decoded tensors.
func (f *File) freeLoads() {
	for i := range f.loads {
		osmem.Free(&f.loads[i].buf)
		f.loads[i].data = nil
	}
}

// checkSigned verifies the SIGNATURE section (body) of a file whose other
// sections are secs (table order, SIGNATURE excluded) and header hb:
// signatures by trusted keys first (cheap: one Ed25519 verify), then that
// the manifest describes this file — header, section table, the small
// sections' SHA-256 (read anyway). The caller checks the tensor count once
// TENSORS is decoded; tensor digests are checked when each tensor is first
// loaded (or all by Verify).
func checkSigned(body, hb []byte, secs []Section, bodyOf func(Section) []byte, trusted []ed25519.PublicKey) (*Signed, error) {
	mb, sigs, err := sign.DecodeSection(body)
	if err != nil {
		return nil, err
	}
	s := &Signed{Signatures: sigs}
	if len(trusted) > 0 {
		if s.TrustedBy, err = sign.VerifyTrusted(mb, sigs, trusted); err != nil {
			return nil, err
		}
	}
	if s.manifest, err = sign.DecodeManifest(mb); err != nil {
		return nil, err
	}
	m := s.manifest
	if sha256.Sum256(hb[:32]) != m.Header {
		return nil, errs.New(errs.DigestMismatch, "header changed after signing (version, endianness or flags)")
	}
	if len(m.Sections) != len(secs) {
		return nil, errs.New(errs.FormatManifest, "the signed manifest lists %d sections; the file has %d before SIGNATURE", len(m.Sections), len(secs))
	}
	for i, e := range m.Sections {
		sec := secs[i]
		if SectionKind(e.Kind) != sec.Kind || e.Flags != sec.Flags || e.Offset != sec.Offset || e.Length != sec.Length {
			return nil, errs.New(errs.FormatManifest, "section %d is %s [%d, +%d) but the signed manifest says kind %d [%d, +%d): sections were moved, swapped or resized after signing",
				i, sec.Kind, sec.Offset, sec.Length, e.Kind, e.Offset, e.Length)
		}
		if sec.Kind == SectionWeights {
			if e.Digest != ([32]byte{}) {
				return nil, errs.New(errs.FormatManifest, "the signed manifest gives WEIGHTS a digest; its bytes are covered by the tensor digests and must have none")
			}
			continue
		}
		if sha256.Sum256(bodyOf(sec)) != e.Digest {
			return nil, errs.New(errs.DigestMismatch, "%s section changed after signing: its SHA-256 differs from the signed manifest", sec.Kind)
		}
	}
	return s, nil
}

// buildManifest returns the manifest of a file whose sections (SIGNATURE
// excluded, where they will be placed) hold bodies, and whose tensors'
// stored bytes have the given digests. WEIGHTS gets no digest of its own:
// the tensor digests cover it.
func buildManifest(hb []byte, secs []Section, bodies [][]byte, tensors [][32]byte) *sign.Manifest {
	m := &sign.Manifest{Header: sha256.Sum256(hb[:32]), Tensors: tensors}
	for i, s := range secs {
		e := sign.SectionDigest{Kind: uint32(s.Kind), Flags: s.Flags, Offset: s.Offset, Length: s.Length}
		if s.Kind != SectionWeights {
			e.Digest = sha256.Sum256(bodies[i])
		}
		m.Sections = append(m.Sections, e)
	}
	return m
}

// EncryptionKeySize is the length of a file key (AES-256).
const EncryptionKeySize = 32
