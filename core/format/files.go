package format

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/sign"
)

// The file-level operations of the CLI and the C API. Each reads its input
// whole, writes its output atomically (a temporary file, fsynced, renamed:
// nothing is left behind on failure), and may write over its input.

// readInput reads a whole model file.
func readInput(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errs.Wrap(errs.IOOpen, err, "opening %s", path)
	}
	if !st.Mode().IsRegular() {
		return nil, errs.New(errs.IONotFile, "%s is %s, not a regular file", path, fileKind(st.Mode()))
	}
	if err := fits(st.Size(), "reading "+path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.Wrap(errs.IORead, err, "reading %s", path)
	}
	return b, nil
}

// SignFile signs the model at in with key and writes it to out (in when out
// is "").
func SignFile(in, out string, key ed25519.PrivateKey) error {
	b, err := readInput(in)
	if err != nil {
		return err
	}
	signed, err := Sign(b, key)
	if err != nil {
		return errs.Prefix(err, "%s", in)
	}
	_, err = WriteFile(orSame(out, in), signed, false)
	return err
}

// EncryptFile encrypts the model at in with a 32-byte key into out.
func EncryptFile(in, out string, key []byte) error {
	b, err := readInput(in)
	if err != nil {
		return err
	}
	enc, err := Encrypt(b, key, 0)
	if err != nil {
		return errs.Prefix(err, "%s", in)
	}
	_, err = WriteFile(orSame(out, in), enc, false)
	return err
}

// DecryptFile writes the plain model sealed in the encrypted file in to out.
func DecryptFile(in, out string, key []byte) error {
	b, err := readInput(in)
	if err != nil {
		return err
	}
	plain, err := Decrypt(b, key)
	if err != nil {
		return errs.Prefix(err, "%s", in)
	}
	_, err = WriteFile(orSame(out, in), plain, false)
	return err
}

// ConvertFile re-stores the model at in (opened with open) as w asks, into out.
func ConvertFile(in, out string, open OpenOptions, w WriteOptions) (*QuantReport, error) {
	open.SkipPolicy = true // the policy travels with the file, it does not run here
	f, err := Open(in, open)
	if err != nil {
		return nil, err
	}
	b, rep, err := Rewrite(f, w)
	f.Close()
	if err != nil {
		return nil, errs.Prefix(err, "%s", in)
	}
	_, err = WriteFile(orSame(out, in), b, false)
	return rep, err
}

// Keygen writes a new Ed25519 key pair: PREFIX.key (PKCS #8 PEM, mode
// 0600) and PREFIX.pub (PKIX PEM). It refuses to replace an existing
// PREFIX.key: a lost private key cannot be recovered.
func Keygen(prefix string) (keyPath, pubPath string, err error) {
	keyPath, pubPath = prefix+".key", prefix+".pub"
	if _, err := os.Lstat(keyPath); err == nil {
		return "", "", errs.New(errs.IOWrite, "%s exists; refusing to replace a private key", keyPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", errs.Wrap(errs.IOWrite, err, "checking %s", keyPath)
	}
	priv, pub, err := sign.GenerateKey()
	if err != nil {
		return "", "", err
	}
	if _, err := writeFileMode(keyPath, priv, 0o600, false); err != nil {
		return "", "", err
	}
	if _, err := WriteFile(pubPath, pub, false); err != nil {
		_ = os.Remove(keyPath)
		return "", "", err
	}
	return keyPath, pubPath, nil
}

// ReadKeyFile reads a 32-byte encryption key file (errs.KeyInvalid when it
// has any other length).
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.Wrap(errs.IOOpen, err, "reading key file %s", path)
	}
	if len(b) != EncryptionKeySize {
		return nil, errs.New(errs.KeyInvalid, "key file %s holds %d bytes; an encryption key file holds exactly %d raw bytes", path, len(b), EncryptionKeySize)
	}
	return b, nil
}

func orSame(out, in string) string {
	if out == "" {
		return in
	}
	return out
}
