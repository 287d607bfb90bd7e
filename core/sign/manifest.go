// Package sign signs and verifies .mle files with Ed25519.
//
// A signature does not cover the file's bytes directly: it covers a
// manifest of SHA-256 digests (the header, each section, each tensor), so
// a reader can check the signature at open time and each tensor's digest
// only when it touches the tensor. docs/FORMAT.md §3.1 is the normative layout.
package sign

import (
	"encoding/binary"

	"github.com/mle-runtime/mle/core/errs"
)

// ManifestMagic starts every manifest.
const ManifestMagic = "MLEMFST1"

// Limits a decoder enforces before allocating.
const (
	MaxSections = 64
	MaxTensors  = 1 << 20
)

const (
	manifestFixed = 8 + 4 + 4 + 32 // magic, K, T, header digest
	sectionEntry  = 4 + 4 + 8 + 8 + 32
	tensorEntry   = 32
)

var le = binary.LittleEndian

// SectionDigest describes one section of the signed file. Digest is all
// zero for a section whose bytes other digests cover (WEIGHTS: its tensors).
type SectionDigest struct {
	Kind, Flags    uint32
	Offset, Length uint64
	Digest         [32]byte
}

// Manifest is what a signature covers: the SHA-256 of the header's first 32
// bytes, the sections before SIGNATURE in table order, and every tensor's
// stored bytes in TENSORS order.
type Manifest struct {
	Header   [32]byte
	Sections []SectionDigest
	Tensors  [][32]byte
}

// Encode returns the manifest's canonical bytes. It does not check the
// limits (MaxSections, MaxTensors): DecodeManifest does.
func (m *Manifest) Encode() []byte {
	b := make([]byte, 0, manifestFixed+len(m.Sections)*sectionEntry+len(m.Tensors)*tensorEntry)
	b = append(b, ManifestMagic...)
	b = le.AppendUint32(b, uint32(len(m.Sections)))
	b = le.AppendUint32(b, uint32(len(m.Tensors)))
	b = append(b, m.Header[:]...)
	for _, s := range m.Sections {
		b = le.AppendUint32(b, s.Kind)
		b = le.AppendUint32(b, s.Flags)
		b = le.AppendUint64(b, s.Offset)
		b = le.AppendUint64(b, s.Length)
		b = append(b, s.Digest[:]...)
	}
	for _, t := range m.Tensors {
		b = append(b, t[:]...)
	}
	return b
}

// DecodeManifest parses manifest bytes. It fails with errs.FormatSignature
// unless b is exactly one well-formed manifest.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) < manifestFixed {
		return nil, errs.New(errs.FormatSignature, "manifest is %d bytes; its fixed part alone is %d", len(b), manifestFixed)
	}
	if string(b[:8]) != ManifestMagic {
		return nil, errs.New(errs.FormatSignature, "manifest magic is %q, want %q", b[:8], ManifestMagic)
	}
	k, t := le.Uint32(b[8:]), le.Uint32(b[12:])
	if k > MaxSections {
		return nil, errs.New(errs.FormatSignature, "manifest lists %d sections; at most %d are allowed", k, MaxSections)
	}
	if t > MaxTensors {
		return nil, errs.New(errs.FormatSignature, "manifest lists %d tensors; at most %d are allowed", t, MaxTensors)
	}
	// Both counts are bounded, so this cannot overflow; checking it before
	// allocating keeps a forged count from costing memory.
	need := uint64(k)*sectionEntry + uint64(t)*tensorEntry
	if have := uint64(len(b) - manifestFixed); have != need {
		if have < need {
			return nil, errs.New(errs.FormatSignature, "manifest is truncated: its %d sections and %d tensors need %d bytes after the fixed part, %d remain", k, t, need, have)
		}
		return nil, errs.New(errs.FormatSignature, "manifest has %d trailing bytes after its %d sections and %d tensors", have-need, k, t)
	}
	m := &Manifest{Sections: make([]SectionDigest, k), Tensors: make([][32]byte, t)}
	copy(m.Header[:], b[16:48])
	p := b[manifestFixed:]
	for i := range m.Sections {
		s := &m.Sections[i]
		s.Kind = le.Uint32(p)
		s.Flags = le.Uint32(p[4:])
		s.Offset = le.Uint64(p[8:])
		s.Length = le.Uint64(p[16:])
		copy(s.Digest[:], p[24:56])
		p = p[sectionEntry:]
	}
	for i := range m.Tensors {
		copy(m.Tensors[i][:], p)
		p = p[tensorEntry:]
	}
	return m, nil
}
