package main

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
)

// trust adds the mlp_classifier model stored compressed, quantized, signed
// and encrypted: every binding must open and run them alike (the encodings
// are decoded by the one Go implementation), and refuse the tampered ones
// with the same status.
func (s *suite) trust() error {
	// mlp_classifier widened so that its weights are worth compressing
	// (a tensor that compression would not shrink is stored raw).
	base := *s.specs["mlp_classifier"]
	base.name, base.desc = "mlp_wide", "mlp_classifier with 1024 hidden units: the base of the encoded, signed and encrypted cases"
	base.consts = []constant{{"W1", dtype.Float32, []int64{4, 1024}, seq(4096, 0.1)}, {"b1", dtype.Float32, []int64{1024}, seq(1024, 0.2)},
		{"W2", dtype.Float32, []int64{1024, 3}, seq(3072, 0.3)}, {"b2", dtype.Float32, []int64{3}, seq(3, 0.4)}}
	if err := s.add(&base); err != nil {
		return err
	}
	raw := s.files["models/mlp_wide.mle"]
	f, err := format.Parse(raw, format.OpenOptions{})
	if err != nil {
		return err
	}
	defer f.Close()
	// A fixed key: the suite must be the same on every generation.
	signKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))
	variant := func(name, desc string, o format.WriteOptions, fail errs.Code) error {
		data, _, err := format.Rewrite(f, o)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if want := o.Compress; want != codec.Raw {
			vf, err := format.Parse(data, format.OpenOptions{})
			if err != nil {
				return err
			}
			wi, _ := vf.TensorIndex("W1")
			got := vf.Tensors[wi].Encoding
			vf.Close()
			if got != want {
				return fmt.Errorf("%s: W1 is stored %s, not %s", name, got, want)
			}
		}
		sp := base
		sp.name, sp.desc = name, desc
		return s.addVariant(&sp, data, fail)
	}
	for _, v := range []struct {
		name, desc string
		o          format.WriteOptions
	}{
		{"mlp_zstd", "mlp_wide with every tensor zstd-compressed (byte-shuffled)", format.WriteOptions{Compress: codec.Zstd}},
		{"mlp_lz4", "mlp_wide with every tensor lz4-compressed", format.WriteOptions{Compress: codec.LZ4}},
		{"mlp_brotli", "mlp_wide with every tensor brotli-compressed", format.WriteOptions{Compress: codec.Brotli}},
		{"mlp_fp16", "mlp_wide with its Gemm weights stored as float16 (outputs of the quantized model)", format.WriteOptions{Quantize: codec.FP16}},
		{"mlp_int8", "mlp_wide with its Gemm weights int8 per output channel, then zstd", format.WriteOptions{Quantize: codec.Int8, Compress: codec.Zstd}},
		{"mlp_signed", "mlp_wide signed with Ed25519 (opens without trusted keys: the manifest is still checked)", format.WriteOptions{SignKeys: []ed25519.PrivateKey{signKey}}},
	} {
		if err := variant(v.name, v.desc, v.o, errs.OK); err != nil {
			return err
		}
	}
	signed := s.files["models/mlp_signed.mle"]
	sf, err := format.Parse(signed, format.OpenOptions{})
	if err != nil {
		return err
	}
	defer sf.Close()
	// A weight changed after signing, every CRC fixed: opening is O(1) and
	// succeeds; the first run checks the tensor's SHA-256 and fails.
	tampered := bytes.Clone(signed)
	wi, _ := sf.TensorIndex("W1")
	tampered[sf.Sections[3].Offset+sf.Tensors[wi].Offset+1] ^= 0x01
	fixAllCRCs(tampered)
	sp := base
	sp.name, sp.desc = "bad_signed_tampered", "a signed model whose weight changed after signing (CRCs fixed): runs fail"
	if err := s.addVariant(&sp, tampered, errs.DigestMismatch); err != nil {
		return err
	}
	key := bytes.Repeat([]byte{0x17}, format.EncryptionKeySize)
	enc, err := format.Encrypt(raw, key, 0)
	if err != nil {
		return err
	}
	// An encrypted file has a fresh random salt each time; the suite must be
	// the same on every generation, and this case checks only that opening
	// without a key says so: the salt, key check and ciphertext are blanked.
	ef, err := format.Parse(enc, format.OpenOptions{PublicOnly: true})
	if err != nil {
		return err
	}
	for _, sec := range ef.Sections[1:] {
		from := sec.Offset
		if sec.Kind == format.SectionEncryption {
			from += 24 // version, algorithm, chunk size, reserved, plaintext length stay
		}
		clear(enc[from : sec.Offset+sec.Length])
	}
	ef.Close()
	fixAllCRCs(enc)
	s.addMalformed("bad_encrypted_no_key", "an encrypted model (its ciphertext blanked) opened without a key", enc, false, errs.KeyRequired)
	for _, c := range []struct {
		name, desc, policy string
		want               errs.Code
	}{
		{"bad_policy_expired", "a model whose access policy expired in 2001", `{"expires":"2001-01-01T00:00:00Z"}`, errs.Policy},
		{"bad_policy_claim", "a policy with a claim no runtime knows", `{"max_runs":3}`, errs.MetadataPolicy},
	} {
		meta := fmt.Sprintf(`{"name":"p","policy":%s,"inputs":[{"name":"X","dtype":"float32","shape":[-1,2]}],"outputs":[{"name":"Y","dtype":"float32","shape":[-1,2]}]}`, c.policy)
		s.addMalformed(c.name, c.desc, format.AssembleUnchecked([]byte(meta), reluGraph(node("Relu", []string{"X"}, []string{"Y"})), nil, nil), false, c.want)
	}
	// A zstd tensor whose first chunk decodes to fewer bytes than declared.
	short := shortChunk(s.files["models/mlp_zstd.mle"])
	sp = base
	sp.name, sp.desc = "bad_codec_size", "a zstd tensor whose chunk decodes to fewer bytes than declared: runs fail"
	return s.addVariant(&sp, short, errs.FormatCodecSize)
}

// addVariant adds sp for data; runs fail with fail unless it is OK.
func (s *suite) addVariant(sp *spec, data []byte, fail errs.Code) error {
	sp.metaName = "mlp_wide"
	if fail != errs.OK {
		sp.fail = nil
		for range sp.runs {
			sp.fail = append(sp.fail, status(fail))
		}
	}
	return s.addBytes(sp, data)
}

// fixAllCRCs recomputes every section, table and header CRC of b.
func fixAllCRCs(b []byte) {
	count := int(le.Uint32(b[40:]))
	for i := 0; i < count; i++ {
		off, n := le.Uint64(entry(b, i, 8)), le.Uint64(entry(b, i, 16))
		le.PutUint32(entry(b, i, 24), crc(b[off:off+n]))
	}
	rehash(b)
}

// shortChunk re-stores the first compressed tensor of a zstd model with a
// declared inner length one chunk-element larger than its stream gives.
func shortChunk(data []byte) []byte {
	b := bytes.Clone(data)
	f, err := format.Parse(b, format.OpenOptions{})
	if err != nil {
		panic(err)
	}
	defer f.Close()
	for i, t := range f.Tensors {
		if t.Encoding != codec.Zstd {
			continue
		}
		// The payload's u64 inner length sits at byte 8 (docs/FORMAT.md
		// §6.1); raising it by one element leaves the chunk short while
		// the chunk count stays 1.
		at := f.Sections[3].Offset + t.Offset
		_ = i
		le.PutUint64(b[at+8:], le.Uint64(b[at+8:])+4)
		fixAllCRCs(b)
		fixTensorCRC(b, f, i)
		return b
	}
	panic("no zstd tensor")
}

// fixTensorCRC recomputes tensor i's CRC in its descriptor and the TENSORS
// section's CRC.
func fixTensorCRC(b []byte, f *format.File, i int) {
	ds := descriptors(b, f)
	t := f.Tensors[i]
	at := f.Sections[3].Offset + t.Offset
	le.PutUint32(b[ds[i].offset+24:], crc(b[at:at+t.StoredLen]))
	fixAllCRCs(b)
}
