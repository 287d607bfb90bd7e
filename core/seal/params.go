// Package seal encrypts a whole .mle file into a SEALED section with
// AES-256-GCM in independent chunks, so a reader can decrypt any part of it
// on demand and in parallel. docs/FORMAT.md §10 is the normative layout.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/bits"

	"github.com/mle-runtime/mle/core/errs"
	"golang.org/x/crypto/hkdf"
)

// Sizes and limits of the ENCRYPTION parameters.
const (
	ParamsSize       = 72
	DefaultChunkSize = 1 << 20
	MinChunkSize     = 4096
	MaxChunkSize     = 16 << 20
	MaxPlainLen      = 1<<62 - 1
	KeySize          = 32
	TagSize          = 16

	version   = 1
	algorithm = 1 // AES-256-GCM, payload key from HKDF-SHA-256
)

// SectionKind is the kind of the SEALED section; it is bound into every
// chunk's associated data.
const SectionKind = 7

const (
	payloadInfo = "MLE AES-256-GCM payload v1"
	checkLabel  = "MLE key check v1"
)

var le = binary.LittleEndian

// Params is the body of the ENCRYPTION section.
type Params struct {
	ChunkSize uint32
	PlainLen  uint64
	Salt      [32]byte
	KeyCheck  [16]byte
}

// NewParams returns parameters for sealing plainLen bytes under key with a
// fresh random salt. chunkSize 0 means DefaultChunkSize.
func NewParams(key []byte, plainLen uint64, chunkSize uint32) (Params, error) {
	if err := checkKey(key); err != nil {
		return Params{}, err
	}
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	p := Params{ChunkSize: chunkSize, PlainLen: plainLen}
	if err := p.check(); err != nil {
		return Params{}, errs.New(errs.InvalidValue, "%s", errs.Message(err))
	}
	if _, err := io.ReadFull(rand.Reader, p.Salt[:]); err != nil {
		return Params{}, errs.Wrap(errs.Internal, err, "reading a random salt")
	}
	pk := payloadKey(key, &p.Salt)
	p.KeyCheck = keyCheck(pk)
	clear(pk)
	return p, nil
}

// Encode returns the 72-byte ENCRYPTION section body.
func (p *Params) Encode() []byte {
	b := make([]byte, 0, ParamsSize)
	b = le.AppendUint32(b, version)
	b = le.AppendUint32(b, algorithm)
	b = le.AppendUint32(b, p.ChunkSize)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, p.PlainLen)
	b = append(b, p.Salt[:]...)
	return append(b, p.KeyCheck[:]...)
}

// DecodeParams parses an ENCRYPTION section body; anything malformed is
// errs.FormatEncryption.
func DecodeParams(b []byte) (Params, error) {
	if len(b) != ParamsSize {
		return Params{}, errs.New(errs.FormatEncryption, "ENCRYPTION section is %d bytes, must be %d", len(b), ParamsSize)
	}
	if v := le.Uint32(b); v != version {
		return Params{}, errs.New(errs.FormatEncryption, "ENCRYPTION version is %d; this build reads version %d", v, version)
	}
	if a := le.Uint32(b[4:]); a != algorithm {
		return Params{}, errs.New(errs.FormatEncryption, "ENCRYPTION algorithm is %d; this build knows only %d (AES-256-GCM with HKDF-SHA-256)", a, algorithm)
	}
	if r := le.Uint32(b[12:]); r != 0 {
		return Params{}, errs.New(errs.FormatEncryption, "ENCRYPTION reserved field is %#x, must be 0", r)
	}
	p := Params{ChunkSize: le.Uint32(b[8:]), PlainLen: le.Uint64(b[16:])}
	copy(p.Salt[:], b[24:56])
	copy(p.KeyCheck[:], b[56:72])
	if err := p.check(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// check validates the fields a caller may have set by hand.
func (p *Params) check() error {
	c := p.ChunkSize
	if c < MinChunkSize || c > MaxChunkSize || bits.OnesCount32(c) != 1 {
		return errs.New(errs.FormatEncryption, "chunk size %d is not a power of two from %d to %d", c, MinChunkSize, MaxChunkSize)
	}
	if p.PlainLen > MaxPlainLen {
		return errs.New(errs.FormatEncryption, "plaintext length %d is not below 2^62", p.PlainLen)
	}
	return nil
}

// Chunks returns the number of chunks, n = max(1, ceil(P / C)).
func (p *Params) Chunks() uint64 {
	return max(1, (p.PlainLen+uint64(p.ChunkSize)-1)/uint64(p.ChunkSize))
}

// SealedLen returns the SEALED section's length, P + 16n. (P < 2^62 and
// C >= 4096 keep it from overflowing.)
func (p *Params) SealedLen() uint64 {
	return p.PlainLen + TagSize*p.Chunks()
}

func checkKey(key []byte) error {
	if len(key) != KeySize {
		return errs.New(errs.KeyInvalid, "the file key is %d bytes; it must be %d", len(key), KeySize)
	}
	return nil
}

// payloadKey derives the AES key from the file key; the per-file salt makes
// it differ between files sealed under one file key.
func payloadKey(key []byte, salt *[32]byte) []byte {
	pk := make([]byte, KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, key, salt[:], []byte(payloadInfo)), pk); err != nil {
		panic("seal: HKDF cannot produce 32 bytes: " + err.Error()) // impossible: HKDF-SHA-256 gives up to 8160
	}
	return pk
}

// keyCheck lets a reader tell a wrong key from tampered data before
// decrypting anything; it reveals nothing useful about the key.
func keyCheck(pk []byte) [16]byte {
	m := hmac.New(sha256.New, pk)
	m.Write([]byte(checkLabel))
	var c [16]byte
	copy(c[:], m.Sum(nil))
	return c
}

// open checks key against p and returns the payload AEAD.
func open(key []byte, p *Params) (cipher.AEAD, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	pk := payloadKey(key, &p.Salt)
	defer clear(pk)
	kc := keyCheck(pk)
	if !hmac.Equal(kc[:], p.KeyCheck[:]) {
		return nil, errs.New(errs.KeyWrong, "the key does not open this file (key check differs)")
	}
	return newAEAD(pk)
}

func newAEAD(pk []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(pk)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "creating AES-256")
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "creating AES-GCM")
	}
	return g, nil
}

// nonce returns chunk i's nonce: 11-byte big-endian i, then 1 for the last
// chunk (0 otherwise), so that dropping trailing chunks is detected.
func nonce(i uint64, last bool) [12]byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[3:11], i)
	if last {
		n[11] = 1
	}
	return n
}

// adata returns chunk i's associated data: bind ‖ u32 SectionKind ‖ u64 i.
// bind ties the chunks to this file's parameters and public metadata.
func adata(bind *[32]byte, i uint64) [44]byte {
	var a [44]byte
	copy(a[:32], bind[:])
	le.PutUint32(a[32:], SectionKind)
	le.PutUint64(a[36:], i)
	return a
}
