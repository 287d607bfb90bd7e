package main

import (
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/sign"
)

// secFlags are the key flags of the commands that open models: the key of
// an encrypted model and the public keys its signature must be by.
type secFlags struct {
	keyFile    string
	pubs       multiFlag
	requireSig bool

	key     []byte // from keyFile, after load
	trusted []ed25519.PublicKey
}

func addSecFlags(fs *flag.FlagSet, trust bool) *secFlags {
	s := &secFlags{}
	fs.StringVar(&s.keyFile, "key-file", "", "file holding the 32 raw bytes of an encrypted model's key")
	if trust {
		fs.Var(&s.pubs, "pub", "trusted Ed25519 public key file, PEM or 32 raw bytes (repeatable): a signed model must carry a valid signature by one of them")
		fs.BoolVar(&s.requireSig, "require-signature", false, "also refuse a model that is not signed (needs --pub)")
	}
	return s
}

// load reads the key files the flags name.
func (s *secFlags) load() error {
	if s.requireSig && len(s.pubs) == 0 {
		return fmt.Errorf("%w: --require-signature needs at least one --pub key", errUsage)
	}
	if s.keyFile != "" {
		k, err := format.ReadKeyFile(s.keyFile)
		if err != nil {
			return err
		}
		s.key = k
	}
	var err error
	s.trusted, err = readPublicKeys(s.pubs)
	return err
}

func (s *secFlags) open(o format.OpenOptions) format.OpenOptions {
	o.Key, o.TrustedKeys, o.RequireSignature = s.key, s.trusted, s.requireSig
	return o
}

func (s *secFlags) engine(o engine.Options) engine.Options {
	o.Key, o.TrustedKeys, o.RequireSignature = s.key, s.trusted, s.requireSig
	return o
}

func readPublicKeys(paths []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, errs.Wrap(errs.IOOpen, err, "reading public key %s", p)
		}
		k, err := sign.ParsePublicKey(b)
		if err != nil {
			return nil, errs.Prefix(err, "public key %s", p)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// requireKeyFile reads the --key-file of encrypt and decrypt, which need one.
func requireKeyFile(s *secFlags) ([]byte, error) {
	if s.keyFile == "" {
		return nil, fmt.Errorf("%w: --key-file F is required (F holds the 32 raw bytes of the key)", errUsage)
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s.key, nil
}

func signerIDs(sg *format.Signed) []string {
	if sg == nil {
		return nil
	}
	ids := make([]string, len(sg.Signatures))
	for i, s := range sg.Signatures {
		ids[i] = s.KeyID()
	}
	return ids
}

func cmdKeygen(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("keygen", w)
	pos, err := parsePositional(fs, args, "PREFIX")
	if err != nil {
		return *asJSON, err
	}
	keyPath, pubPath, err := format.Keygen(pos[0])
	if err != nil {
		return *asJSON, err
	}
	b, err := os.ReadFile(pubPath)
	if err != nil {
		return *asJSON, errs.Wrap(errs.IORead, err, "reading %s", pubPath)
	}
	pub, err := sign.ParsePublicKey(b)
	if err != nil {
		return *asJSON, errs.Prefix(err, "%s", pubPath)
	}
	id := sign.KeyID(pub)
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "private_key": keyPath, "public_key": pubPath, "key_id": id})
		return true, nil
	}
	fmt.Fprintf(w, "private key: %s (keep it secret: it signs models)\n", keyPath)
	fmt.Fprintf(w, "public key:  %s (give it to whoever verifies)\n", pubPath)
	fmt.Fprintf(w, "key id:      %s\n", id)
	return false, nil
}

func cmdSign(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("sign", w)
	keyPath := fs.String("key", "", "the private key file (PEM, as mle keygen writes)")
	out := fs.String("o", "", "write the signed model to OUT (default: replace IN)")
	pos, err := parsePositional(fs, args, "IN")
	if err != nil {
		return *asJSON, err
	}
	if *keyPath == "" {
		return *asJSON, fmt.Errorf("%w: --key K is required", errUsage)
	}
	b, err := os.ReadFile(*keyPath)
	if err != nil {
		return *asJSON, errs.Wrap(errs.IOOpen, err, "reading private key %s", *keyPath)
	}
	priv, err := sign.ParsePrivateKey(b)
	clear(b)
	if err != nil {
		return *asJSON, errs.Prefix(err, "private key %s", *keyPath)
	}
	defer clear(priv)
	id := sign.KeyID(priv.Public().(ed25519.PublicKey))
	in, dst := pos[0], *out
	if dst == "" {
		dst = in
	}
	if err := format.SignFile(in, dst, priv); err != nil {
		return *asJSON, err
	}
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "input": in, "output": dst, "key_id": id})
		return true, nil
	}
	fmt.Fprintf(w, "%s: signed by key %s -> %s\n", in, id, dst)
	return false, nil
}

func cmdVerify(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("verify", w)
	sec := addSecFlags(fs, false)
	fs.Var(&sec.pubs, "pub", "trusted Ed25519 public key file, PEM or 32 raw bytes (repeatable)")
	pos, err := parsePositional(fs, args, "IN")
	if err != nil {
		return *asJSON, err
	}
	if pos[0], err = resolveFile(pos[0]); err != nil {
		return *asJSON, err
	}
	if len(sec.pubs) == 0 {
		return *asJSON, fmt.Errorf("%w: --pub P is required (the public key the signature must be by)", errUsage)
	}
	sec.requireSig = true
	if err := sec.load(); err != nil {
		return *asJSON, err
	}
	path := pos[0]
	// Verify reads every byte: each CRC and each tensor's signed digest.
	f, err := format.Open(path, sec.open(format.OpenOptions{Verify: true, SkipPolicy: true}))
	if err != nil {
		return *asJSON, err
	}
	defer f.Close()
	ids := signerIDs(f.Signed)
	var others []string
	for _, id := range ids {
		if id != f.Signed.TrustedBy {
			others = append(others, id)
		}
	}
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "path": path, "trusted_by": f.Signed.TrustedBy, "signatures": ids,
			"encrypted": f.Envelope != nil, "tensors": len(f.Tensors)})
		return true, nil
	}
	fmt.Fprintf(w, "%s: signature OK: signed by trusted key %s; every byte checked (%d tensors)\n", path, f.Signed.TrustedBy, len(f.Tensors))
	if len(others) > 0 {
		fmt.Fprintf(w, "  also signed by key %s (not checked: not among the --pub keys)\n", strings.Join(others, ", "))
	}
	return false, nil
}

func cmdEncrypt(args []string, w, _ io.Writer) (bool, error) {
	return cryptCommand("encrypt", args, w, format.EncryptFile)
}

func cmdDecrypt(args []string, w, _ io.Writer) (bool, error) {
	return cryptCommand("decrypt", args, w, format.DecryptFile)
}

func cryptCommand(name string, args []string, w io.Writer, do func(in, out string, key []byte) error) (bool, error) {
	fs, asJSON := newFlags(name, w)
	sec := addSecFlags(fs, false)
	pos, err := parsePositional(fs, args, "IN", "OUT")
	if err != nil {
		return *asJSON, err
	}
	key, err := requireKeyFile(sec)
	if err != nil {
		return *asJSON, err
	}
	defer clear(key)
	in, out := pos[0], pos[1]
	before, err := fileSize(in)
	if err != nil {
		return *asJSON, err
	}
	if err := do(in, out, key); err != nil {
		return *asJSON, err
	}
	after, err := fileSize(out)
	if err != nil {
		return *asJSON, err
	}
	if *asJSON {
		writeJSON(w, map[string]any{"ok": true, "input": in, "output": out, "bytes_before": before, "bytes_after": after})
		return true, nil
	}
	fmt.Fprintf(w, "%s -> %s: %sed (AES-256-GCM), %s -> %s\n", in, out, name, human(before), human(after))
	return false, nil
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, errs.Wrap(errs.IOOpen, err, "opening %s", path)
	}
	return st.Size(), nil
}
