package main

/*
#include <stdlib.h>
#include <string.h>
#include "mle.h"
#include "internal.h"
*/
import "C"

import (
	"bytes"
	"crypto/ed25519"
	"unsafe"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/core/sign"
)

// maxKeyBytes bounds a key the caller passes (a PEM key is < 200 bytes).
const maxKeyBytes = 1 << 16

// keyBytes copies a caller's key buffer.
func keyBytes(p unsafe.Pointer, n C.size_t, what string) ([]byte, error) {
	if p == nil {
		if n != 0 {
			return nil, errs.New(errs.InvalidNull, "%s is NULL but its length is %d", what, n)
		}
		return nil, nil
	}
	if n == 0 {
		return nil, errs.New(errs.KeyInvalid, "%s is empty: not a key", what)
	}
	if n > maxKeyBytes {
		return nil, errs.New(errs.KeyInvalid, "%s is %d bytes: not a key", what, n)
	}
	b, err := cBytes(p, n, "key", what)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = callerMemory(func() error { out = bytes.Clone(b); return nil })
	return out, err
}

// trustOptions adds C trust options (nil: none) to engine options.
func trustOptions(o *C.mle_trust_options, opts *engine.Options) error {
	if o == nil {
		return nil
	}
	known := C.size_t(unsafe.Sizeof(C.mle_trust_options{}))
	if err := checkStructSize(unsafe.Pointer(o), o.struct_size, known, "mle_trust_options", "mle_default_trust_options"); err != nil {
		return err
	}
	key, err := keyBytes(o.key, o.key_len, "mle_trust_options.key")
	if err != nil {
		return err
	}
	opts.Key = key
	if o.n_trusted_keys > 0 && (o.trusted_keys == nil || o.trusted_key_lens == nil) {
		return errs.New(errs.InvalidNull, "mle_trust_options: %d trusted keys but NULL arrays", o.n_trusted_keys)
	}
	if o.n_trusted_keys > 1024 {
		return errs.New(errs.InvalidOptions, "mle_trust_options: %d trusted keys; the limit is 1024", o.n_trusted_keys)
	}
	if o.n_trusted_keys > 0 {
		ptrs := unsafe.Slice(o.trusted_keys, int(o.n_trusted_keys))
		lens := unsafe.Slice(o.trusted_key_lens, int(o.n_trusted_keys))
		for i := range ptrs {
			b, err := keyBytes(unsafe.Pointer(ptrs[i]), lens[i], "trusted key")
			if err != nil {
				return err
			}
			pub, err := sign.ParsePublicKey(b)
			if err != nil {
				return errs.Prefix(err, "trusted key %d", i)
			}
			opts.TrustedKeys = append(opts.TrustedKeys, pub)
		}
	}
	opts.RequireSignature = o.require_signature != 0
	return nil
}

func openWith(copts *C.mle_open_options, trust *C.mle_trust_options) (engine.Options, error) {
	opts, err := openOptions(copts)
	if err != nil {
		return opts, err
	}
	return opts, trustOptions(trust, &opts)
}

//export mlego_model_open_with
func mlego_model_open_with(path *C.char, copts *C.mle_open_options, trust *C.mle_trust_options, out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return openPath("mle_model_open_with", path, copts, trust, out, cerr)
}

//export mlego_model_open_memory_with
func mlego_model_open_memory_with(data unsafe.Pointer, n C.size_t, copts *C.mle_open_options, trust *C.mle_trust_options, out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return openMemory("mle_model_open_memory_with", data, n, copts, trust, out, cerr)
}

// copyIn copies a caller's model bytes: the caller's buffer is theirs again
// when the call returns. The copy comes from the system, so a buffer too
// large for the machine is an error, not an abort.
func copyIn(data unsafe.Pointer, n C.size_t) (osmem.Buffer, error) {
	src, err := cBytes(data, n, "model", "data")
	if err != nil {
		return osmem.Buffer{}, err
	}
	buf, err := osmem.Alloc(int64(len(src)))
	if err != nil {
		return buf, errs.Prefix(err, "copying the model")
	}
	if err := callerMemory(func() error { copy(buf.Bytes(), src); return nil }); err != nil {
		osmem.Free(&buf)
		return buf, err
	}
	return buf, nil
}

// encodingOption parses a compress or quantize option.
func encodingOption(s *C.char, what string, ok func(codec.ID) bool) (codec.ID, error) {
	if s == nil {
		return format.Keep, nil
	}
	name := C.GoString(s)
	if name == "keep" {
		return format.Keep, nil
	}
	id, known := codec.ParseID(name)
	if !known || !(id == codec.Raw || ok(id)) {
		return 0, errs.New(errs.InvalidOptions, "mle_write_options.%s: unknown value %q", what, name)
	}
	return id, nil
}

// writeOptions converts C write options (nil: keep everything).
func writeOptions(o *C.mle_write_options) (format.WriteOptions, bool, error) {
	w := format.WriteOptions{Compress: format.Keep, Quantize: format.Keep}
	if o == nil {
		return w, false, nil
	}
	known := C.size_t(unsafe.Sizeof(C.mle_write_options{}))
	if err := checkStructSize(unsafe.Pointer(o), o.struct_size, known, "mle_write_options", "mle_default_write_options"); err != nil {
		return w, false, err
	}
	var err error
	if w.Compress, err = encodingOption(o.compress, "compress", codec.ID.Compressed); err != nil {
		return w, false, err
	}
	if w.Quantize, err = encodingOption(o.quantize, "quantize", codec.ID.Quantized); err != nil {
		return w, false, err
	}
	w.Level = int(o.level)
	if o.properties_json != nil {
		m, err := format.ParseUserMetadata([]byte(`{"properties":` + C.GoString(o.properties_json) + `}`))
		if err != nil {
			return w, false, errs.Prefix(err, "mle_write_options.properties_json")
		}
		w.Properties = m.Properties
	}
	sk, err := keyBytes(o.sign_key, o.sign_key_len, "mle_write_options.sign_key")
	if err != nil {
		return w, false, err
	}
	if sk != nil {
		priv, err := sign.ParsePrivateKey(sk)
		if err != nil {
			return w, false, errs.Prefix(err, "mle_write_options.sign_key")
		}
		w.SignKeys = []ed25519.PrivateKey{priv}
	}
	if w.EncryptKey, err = keyBytes(o.encrypt_key, o.encrypt_key_len, "mle_write_options.encrypt_key"); err != nil {
		return w, false, err
	}
	if unknown := o.flags &^ C.MLE_SAVE_NO_SYNC; unknown != 0 {
		return w, false, errs.New(errs.InvalidOptions, "mle_write_options.flags: unknown bits 0x%x", uint32(unknown))
	}
	return w, o.flags&C.MLE_SAVE_NO_SYNC != 0, nil
}

//export mlego_builder_save_with
func mlego_builder_save_with(h C.uintptr_t, path *C.char, copts *C.mle_write_options, written *C.uint64_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		p, err := needString(path, "path")
		if err != nil {
			return err
		}
		w, noSync, err := writeOptions(copts)
		if err != nil {
			return err
		}
		// A builder's tensors are raw: keeping means none.
		if w.Compress == format.Keep {
			w.Compress = codec.Raw
		}
		if w.Quantize == format.Keep {
			w.Quantize = codec.Raw
		}
		n, err := b.SaveWith(p, format.SaveOptions{NoSync: noSync, Write: &w})
		if err != nil {
			return err
		}
		if written != nil {
			*written = C.uint64_t(n)
		}
		return nil
	})
}

// convertOptions converts the options of a conversion: how to open the
// input (its policy is not enforced: it is copied, not run) and how to
// write the output.
func convertOptions(trust *C.mle_trust_options, copts *C.mle_write_options) (format.OpenOptions, format.WriteOptions, error) {
	var eo engine.Options
	if err := trustOptions(trust, &eo); err != nil {
		return format.OpenOptions{}, format.WriteOptions{}, err
	}
	w, _, err := writeOptions(copts)
	fo := format.OpenOptions{Key: eo.Key, TrustedKeys: eo.TrustedKeys, RequireSignature: eo.RequireSignature, SkipPolicy: true}
	return fo, w, err
}

//export mlego_convert_memory
func mlego_convert_memory(data unsafe.Pointer, n C.size_t, trust *C.mle_trust_options, copts *C.mle_write_options, out *unsafe.Pointer, outLen *C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	if (data == nil && n > 0) || out == nil || outLen == nil {
		return failf(cerr, errs.InvalidNull, "mle_convert_memory: data, out and out_len must not be NULL")
	}
	fo, w, err := convertOptions(trust, copts)
	if err != nil {
		return fail(cerr, err)
	}
	buf, err := copyIn(data, n)
	if err != nil {
		return fail(cerr, err)
	}
	f, err := format.ParseOwned(buf, fo)
	if err != nil {
		return fail(cerr, err)
	}
	b, _, err := format.Rewrite(f, w)
	f.Close()
	if err != nil {
		return fail(cerr, err)
	}
	p := C.malloc(C.size_t(max(len(b), 1)))
	if p == nil {
		return failf(cerr, errs.NoMemorySystem, "mle_convert_memory: malloc of %d bytes failed", len(b))
	}
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	*out, *outLen = p, C.size_t(len(b))
	return C.MLE_OK
}

//export mlego_convert_file
func mlego_convert_file(in, out *C.char, trust *C.mle_trust_options, copts *C.mle_write_options, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	if in == nil {
		return failf(cerr, errs.InvalidNull, "mle_convert_file: in must not be NULL")
	}
	fo, w, err := convertOptions(trust, copts)
	if err != nil {
		return fail(cerr, err)
	}
	dst := ""
	if out != nil {
		dst = C.GoString(out)
	}
	_, err = format.ConvertFile(C.GoString(in), dst, fo, w)
	if err != nil {
		return fail(cerr, err)
	}
	return C.MLE_OK
}

// File operations of mlego_file_op.
const (
	opSign = iota
	opEncrypt
	opDecrypt
)

//export mlego_file_op
func mlego_file_op(op C.int, in, out *C.char, key unsafe.Pointer, keyLen C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	if in == nil || key == nil {
		return failf(cerr, errs.InvalidNull, "in and key must not be NULL")
	}
	k, err := keyBytes(key, keyLen, "key")
	if err != nil {
		return fail(cerr, err)
	}
	src, dst := C.GoString(in), ""
	if out != nil {
		dst = C.GoString(out)
	}
	switch op {
	case opSign:
		priv, err2 := sign.ParsePrivateKey(k)
		if err2 != nil {
			return fail(cerr, err2)
		}
		err = format.SignFile(src, dst, priv)
	case opEncrypt:
		err = format.EncryptFile(src, dst, k)
	case opDecrypt:
		err = format.DecryptFile(src, dst, k)
	default:
		return failf(cerr, errs.Internal, "unknown file operation %d", op)
	}
	if err != nil {
		return fail(cerr, err)
	}
	return C.MLE_OK
}

//export mlego_keygen
func mlego_keygen(prefix *C.char, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	p, err := needString(prefix, "prefix")
	if err != nil {
		return fail(cerr, err)
	}
	if _, _, err := format.Keygen(p); err != nil {
		return fail(cerr, err)
	}
	return C.MLE_OK
}
