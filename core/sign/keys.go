package sign

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/mle-runtime/mle/core/errs"
)

// PEM block types of the key files (what openssl writes for Ed25519).
const (
	privateType = "PRIVATE KEY" // PKCS #8
	publicType  = "PUBLIC KEY"  // PKIX SubjectPublicKeyInfo
)

// GenerateKey makes a new Ed25519 key pair and returns it as PEM files:
// the private key as PKCS #8 "PRIVATE KEY", the public key as PKIX
// "PUBLIC KEY", the forms `openssl genpkey -algorithm ed25519` uses.
func GenerateKey() (privPEM, pubPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "generating an Ed25519 key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "encoding the private key as PKCS #8")
	}
	privPEM = pem.EncodeToMemory(&pem.Block{Type: privateType, Bytes: der})
	clear(der)
	clear(priv)
	return privPEM, PublicPEM(pub), nil
}

// PublicPEM returns pub as a PEM "PUBLIC KEY" (PKIX) file, or nil for a
// key that is not 32 bytes.
func PublicPEM(pub ed25519.PublicKey) []byte {
	if len(pub) != ed25519.PublicKeySize {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicType, Bytes: der})
}

// ParsePrivateKey reads an Ed25519 private key: a PEM "PRIVATE KEY"
// (PKCS #8) file or a raw 32-byte seed. Anything else fails with
// errs.KeyInvalid saying what was found.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	if len(b) == ed25519.SeedSize {
		return ed25519.NewKeyFromSeed(b), nil
	}
	der, err := onePEM(b, privateType, "private", "a 32-byte seed")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errs.Wrap(errs.KeyInvalid, err, "the PEM %s block is not a PKCS #8 key this build reads", privateType)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errs.New(errs.KeyInvalid, "the private key is %s; MLE signs with Ed25519", describe(k))
	}
	return priv, nil
}

// ParsePublicKey reads an Ed25519 public key: a PEM "PUBLIC KEY" (PKIX)
// file or 32 raw bytes. Anything else fails with errs.KeyInvalid saying
// what was found.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(bytes.Clone(b)), nil
	}
	der, err := onePEM(b, publicType, "public", "32 raw bytes")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errs.Wrap(errs.KeyInvalid, err, "the PEM %s block is not a PKIX key this build reads", publicType)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errs.New(errs.KeyInvalid, "the public key is %s; MLE verifies Ed25519 signatures", describe(k))
	}
	return pub, nil
}

// onePEM returns the DER of b's single PEM block, which must have type want.
func onePEM(b []byte, want, kind, raw string) ([]byte, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, errs.New(errs.KeyInvalid, "the %s key is %d bytes that are neither PEM nor %s", kind, len(b), raw)
	}
	if blk.Type != want {
		hint := ""
		switch blk.Type {
		case privateType, "OPENSSH PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			hint = " (a private key)"
		case publicType:
			hint = " (a public key)"
		case "ENCRYPTED PRIVATE KEY":
			hint = " (password-protected keys are not supported)"
		}
		return nil, errs.New(errs.KeyInvalid, "the %s key file holds a PEM block of type %q%s; want %q", kind, blk.Type, hint, want)
	}
	if len(blk.Headers) > 0 {
		return nil, errs.New(errs.KeyInvalid, "the PEM %s block has headers (an encrypted legacy key?); want a plain block", want)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errs.New(errs.KeyInvalid, "the %s key file has %d bytes after its PEM block; want exactly one key", kind, len(rest))
	}
	return blk.Bytes, nil
}

// describe names a parsed key's algorithm for an error message.
func describe(k any) string {
	switch k := k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "an RSA key"
	case *ecdsa.PrivateKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *ecdsa.PublicKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "an X25519 (ECDH) key"
	default:
		return fmt.Sprintf("a %T", k)
	}
}
