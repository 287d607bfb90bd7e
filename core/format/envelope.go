package format

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/seal"
)

// parseEnvelope opens an encrypted file whose section table f holds: it
// checks the public METADATA and the ENCRYPTION parameters, then (given
// the key) decrypts the sections of the sealed file on demand into secret
// memory and parses that file. Its tensors are decrypted on first load.
func parseEnvelope(f *File, data, hb []byte, bySection []int, opts OpenOptions) (*File, error) {
	body := func(k SectionKind) ([]byte, error) {
		i := bySection[k]
		if i == 0 {
			return nil, errs.New(errs.FormatEncryption, "encrypted file has no %s section", k)
		}
		s := &f.Sections[i-1]
		b := data[s.Offset : s.Offset+s.Length : s.Offset+s.Length]
		if k != SectionSealed || opts.Verify {
			if got := crc32c(b); got != s.CRC {
				return nil, errs.New(errs.ChecksumSection, "%s section CRC-32C is %#08x but its bytes hash to %#08x", k, s.CRC, got)
			}
		}
		return b, nil
	}
	meta, err := body(SectionMetadata)
	if err != nil {
		return nil, err
	}
	enc, err := body(SectionEncryption)
	if err != nil {
		return nil, err
	}
	sealed, err := body(SectionSealed)
	if err != nil {
		return nil, err
	}
	pub, err := ParseMetadata(meta)
	if err != nil {
		return nil, errs.Prefix(err, "public metadata")
	}
	params, err := seal.DecodeParams(enc)
	if err != nil {
		return nil, err
	}
	env := &Envelope{Params: params, PublicMetadata: pub, PublicJSON: append([]byte(nil), meta...), OuterSize: int64(len(data))}
	if opts.PublicOnly {
		f.Metadata, f.MetadataJSON, f.Envelope = pub, env.PublicJSON, env
		return f, nil
	}
	if opts.Key == nil {
		return nil, errs.New(errs.KeyRequired, "the file is encrypted (AES-256-GCM); open it with its key")
	}
	if params.SealedLen() != uint64(len(sealed)) {
		return nil, errs.New(errs.FormatEncryption, "SEALED section is %d bytes; %d plaintext bytes in %d-byte chunks need %d (truncated or extended)",
			len(sealed), params.PlainLen, params.ChunkSize, params.SealedLen())
	}
	if params.PlainLen > uint64(^uint(0)>>2) {
		return nil, errs.New(errs.FormatEncryption, "sealed file of %d bytes is too large to address", params.PlainLen)
	}
	secret, err := seal.AllocSecret(int64(params.PlainLen))
	if err != nil {
		return nil, errs.Prefix(err, "decrypting")
	}
	opener, err := seal.NewOpener(opts.Key, &params, envelopeBind(enc, meta), sealed, secret.Bytes())
	if err == nil {
		err = ensureHead(opener, secret.Bytes(), opts.Verify)
	}
	var in *File
	if err == nil {
		inner := opts
		inner.Key = nil
		in, err = parseUnguarded(secret.Bytes(), nil, inner)
	}
	if err != nil {
		secret.Free()
		return nil, err
	}
	in.sealed = &sealedState{opener: opener, secret: secret}
	in.Envelope = env
	return in, nil
}

// envelopeBind is the digest every chunk's associated data carries: the
// encryption parameters and the public metadata, so neither can be
// swapped without the decryption failing.
func envelopeBind(enc, meta []byte) [32]byte {
	h := sha256.New()
	h.Write(enc)
	h.Write(meta)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// ensureHead decrypts what parsing the sealed file reads: its header,
// section table and every section but WEIGHTS (all of it for verify).
func ensureHead(o *seal.Opener, plain []byte, all bool) error {
	size := uint64(len(plain))
	if all {
		return o.All()
	}
	if err := o.Ensure(0, min(size, HeaderSize)); err != nil {
		return err
	}
	if size < HeaderSize {
		return nil
	}
	if binary.LittleEndian.Uint64(plain[16:])&FlagEncrypted != 0 {
		return errs.New(errs.FormatEncryption, "the sealed file is itself encrypted; nested encryption is not supported")
	}
	count := uint64(binary.LittleEndian.Uint32(plain[40:]))
	if count > MaxSections {
		return nil // parse reports it
	}
	tableEnd := min(size, HeaderSize+count*SectionEntrySize)
	if err := o.Ensure(0, tableEnd); err != nil {
		return err
	}
	for i := uint64(0); HeaderSize+(i+1)*SectionEntrySize <= tableEnd; i++ {
		e := plain[HeaderSize+i*SectionEntrySize:]
		if SectionKind(binary.LittleEndian.Uint32(e)) == SectionWeights {
			continue
		}
		off, length := binary.LittleEndian.Uint64(e[8:]), binary.LittleEndian.Uint64(e[16:])
		lo, hi := min(off, size), size
		if length <= size-lo {
			hi = lo + length
		}
		// The zero padding before a section is checked too: decrypt from
		// the end of the table.
		if err := o.Ensure(min(lo, tableEnd), hi); err != nil {
			return err
		}
	}
	return nil
}
