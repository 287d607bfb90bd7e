package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/mle-runtime/mle/core/errs"
)

// SectionMagic starts every SIGNATURE section body.
const SectionMagic = "MLESIG01"

// MaxSignatures is the most signatures one file may carry.
const MaxSignatures = 16

// domain prefixes the signed message so that an MLE signature can never be
// replayed as a signature over some other protocol's message (or back).
const domain = "MLE signature v1\x00"

const (
	sigEntry = ed25519.PublicKeySize + ed25519.SignatureSize
	// maxManifest is the largest manifest DecodeManifest accepts.
	maxManifest = manifestFixed + MaxSections*sectionEntry + MaxTensors*tensorEntry
)

// Signature is one Ed25519 signature over a manifest and the key that made it.
type Signature struct {
	Public ed25519.PublicKey
	Sig    []byte
}

// KeyID returns the id of the signature's key (see KeyID).
func (s Signature) KeyID() string { return KeyID(s.Public) }

// KeyID returns a short name for a public key: the lowercase hex of the
// first 8 bytes of its SHA-256 (16 characters).
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

func message(manifest []byte) []byte {
	m := make([]byte, 0, len(domain)+len(manifest))
	return append(append(m, domain...), manifest...)
}

// SignManifest signs manifest's bytes with priv, which must be a whole
// 64-byte key (as ParsePrivateKey returns); ed25519 panics otherwise.
func SignManifest(priv ed25519.PrivateKey, manifest []byte) Signature {
	pub := priv.Public().(ed25519.PublicKey)
	return Signature{Public: bytes.Clone(pub), Sig: ed25519.Sign(priv, message(manifest))}
}

// Verify reports whether s is a valid signature over manifest. A key or
// signature of the wrong length does not verify.
func (s Signature) Verify(manifest []byte) bool {
	// ed25519.Verify panics on a short key; a forged section must not.
	if len(s.Public) != ed25519.PublicKeySize || len(s.Sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(s.Public, message(manifest), s.Sig)
}

// EncodeSection returns a SIGNATURE section body holding manifest and sigs.
// It fails with errs.InvalidValue for no or more than MaxSignatures
// signatures, a key or signature of the wrong length, or a key used twice.
func EncodeSection(manifest []byte, sigs []Signature) ([]byte, error) {
	if len(sigs) == 0 || len(sigs) > MaxSignatures {
		return nil, errs.New(errs.InvalidValue, "%d signatures; a SIGNATURE section holds 1 to %d", len(sigs), MaxSignatures)
	}
	if uint64(len(manifest)) > maxManifest {
		return nil, errs.New(errs.InvalidValue, "the manifest is %d bytes; at most %d are allowed", len(manifest), maxManifest)
	}
	for i, s := range sigs {
		if len(s.Public) != ed25519.PublicKeySize || len(s.Sig) != ed25519.SignatureSize {
			return nil, errs.New(errs.InvalidValue, "signature %d has a %d-byte key and a %d-byte signature; Ed25519 needs %d and %d",
				i, len(s.Public), len(s.Sig), ed25519.PublicKeySize, ed25519.SignatureSize)
		}
		for j := range i {
			if bytes.Equal(sigs[j].Public, s.Public) {
				return nil, errs.New(errs.InvalidValue, "signatures %d and %d are by the same key %s", j, i, s.KeyID())
			}
		}
	}
	b := make([]byte, 0, 8+4+len(manifest)+8+len(sigs)*sigEntry)
	b = append(b, SectionMagic...)
	b = le.AppendUint32(b, uint32(len(manifest)))
	b = append(b, manifest...)
	b = le.AppendUint32(b, uint32(len(sigs)))
	b = le.AppendUint32(b, 0)
	for _, s := range sigs {
		b = append(b, s.Public...)
		b = append(b, s.Sig...)
	}
	return b, nil
}

// DecodeSection parses a SIGNATURE section body. It fails with
// errs.FormatSignature unless b is exactly one well-formed body. The
// manifest is returned as bytes (it is what the signatures cover); decode
// it with DecodeManifest. The results alias b.
func DecodeSection(b []byte) (manifest []byte, sigs []Signature, err error) {
	if len(b) < 12 {
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section is %d bytes; its magic and manifest length alone are 12", len(b))
	}
	if string(b[:8]) != SectionMagic {
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section magic is %q, want %q", b[:8], SectionMagic)
	}
	m := uint64(le.Uint32(b[8:]))
	if m > maxManifest {
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section's manifest length is %d; at most %d is allowed", m, maxManifest)
	}
	rest := b[12:]
	if uint64(len(rest)) < m+8 {
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section is truncated: a %d-byte manifest and the signature count need %d bytes, %d remain", m, m+8, len(rest))
	}
	manifest, rest = rest[:m:m], rest[m:]
	n, reserved := le.Uint32(rest), le.Uint32(rest[4:])
	rest = rest[8:]
	if n == 0 || n > MaxSignatures {
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section holds %d signatures; 1 to %d are allowed", n, MaxSignatures)
	}
	if reserved != 0 {
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section's reserved field is %#x, must be 0", reserved)
	}
	if need := int(n) * sigEntry; len(rest) != need {
		if len(rest) < need {
			return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section is truncated: %d signatures need %d bytes, %d remain", n, need, len(rest))
		}
		return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section has %d trailing bytes after its %d signatures", len(rest)-need, n)
	}
	sigs = make([]Signature, n)
	for i := range sigs {
		e := rest[i*sigEntry : (i+1)*sigEntry : (i+1)*sigEntry]
		sigs[i] = Signature{Public: ed25519.PublicKey(e[:ed25519.PublicKeySize:ed25519.PublicKeySize]), Sig: e[ed25519.PublicKeySize:]}
		for j := range i {
			if bytes.Equal(sigs[j].Public, sigs[i].Public) {
				return nil, nil, errs.New(errs.FormatSignature, "SIGNATURE section: signatures %d and %d are by the same key %s", j, i, sigs[i].KeyID())
			}
		}
	}
	return manifest, sigs, nil
}

// VerifyTrusted checks that at least one signature is by a key in trusted
// and verifies over manifest, and returns that key's id. With no signature
// by a trusted key it fails with errs.SignatureUntrusted; when every
// signature by a trusted key fails to verify, with errs.SignatureInvalid.
// Signatures by other keys are not checked: they prove nothing here.
func VerifyTrusted(manifest []byte, sigs []Signature, trusted []ed25519.PublicKey) (string, error) {
	var bad []string
	for _, s := range sigs {
		if !isTrusted(s.Public, trusted) {
			continue
		}
		if s.Verify(manifest) {
			return s.KeyID(), nil
		}
		bad = append(bad, s.KeyID())
	}
	if len(bad) > 0 {
		return "", errs.New(errs.SignatureInvalid, "the signature by trusted key id %s does not verify: the file or its manifest changed after signing", strings.Join(bad, ", "))
	}
	if len(sigs) == 0 {
		return "", errs.New(errs.SignatureUntrusted, "the file carries no signatures")
	}
	ids := make([]string, len(sigs))
	for i, s := range sigs {
		ids[i] = s.KeyID()
	}
	return "", errs.New(errs.SignatureUntrusted, "the file is signed by key id %s; none of the %d trusted keys signed it", strings.Join(ids, ", "), len(trusted))
}

func isTrusted(pub ed25519.PublicKey, trusted []ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	for _, t := range trusted {
		if bytes.Equal(pub, t) {
			return true
		}
	}
	return false
}
