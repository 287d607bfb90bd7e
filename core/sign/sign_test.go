package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/errs"
)

// testManifest is a small manifest with every field set to something
// distinct, so that a swapped or misplaced field changes the encoding.
func testManifest(tensors int) *Manifest {
	m := &Manifest{Header: sha256.Sum256([]byte("header"))}
	for i, k := range []uint32{1, 2, 3, 4} {
		d := sha256.Sum256([]byte{byte(i)})
		if k == 4 {
			d = [32]byte{} // WEIGHTS: covered by the tensor digests
		}
		m.Sections = append(m.Sections, SectionDigest{Kind: k, Flags: uint32(i) * 7, Offset: 0x100 + uint64(i)<<40, Length: 0x10 + uint64(i), Digest: d})
	}
	for i := range tensors {
		m.Tensors = append(m.Tensors, sha256.Sum256([]byte{'t', byte(i), byte(i >> 8)}))
	}
	return m
}

// seedKey is a fixed key, so that signatures are reproducible.
func seedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func wantCode(t *testing.T, err error, code errs.Code, what string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s: got %v, want %v", what, err, code)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		m := testManifest(n)
		b := m.Encode()
		if want := 48 + 4*56 + n*32; len(b) != want {
			t.Fatalf("%d tensors: encoded %d bytes, want %d", n, len(b), want)
		}
		got, err := DecodeManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), b) || got.Header != m.Header || len(got.Sections) != 4 || got.Sections[2] != m.Sections[2] || len(got.Tensors) != n {
			t.Fatalf("%d tensors: round trip differs: %+v", n, got)
		}
	}
	// An empty manifest is well formed.
	if _, err := DecodeManifest((&Manifest{}).Encode()); err != nil {
		t.Fatal(err)
	}
}

// TestManifestLayout pins the byte layout of docs/FORMAT.md §3.1.
func TestManifestLayout(t *testing.T) {
	m := &Manifest{Header: [32]byte{0: 0xAA}, Sections: []SectionDigest{{Kind: 1, Flags: 2, Offset: 3, Length: 4, Digest: [32]byte{0: 0xBB}}}, Tensors: [][32]byte{{0: 0xCC}}}
	b := m.Encode()
	want := "4d4c454d46535431" + "01000000" + "01000000" + "aa" + strings.Repeat("00", 31) +
		"01000000" + "02000000" + "0300000000000000" + "0400000000000000" + "bb" + strings.Repeat("00", 31) +
		"cc" + strings.Repeat("00", 31)
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("layout:\n got %s\nwant %s", got, want)
	}
}

func TestManifestMalformed(t *testing.T) {
	b := testManifest(3).Encode()
	for n := range len(b) {
		_, err := DecodeManifest(b[:n])
		wantCode(t, err, errs.FormatSignature, "truncated manifest")
	}
	_, err := DecodeManifest(append(bytes.Clone(b), 0))
	wantCode(t, err, errs.FormatSignature, "trailing byte")
	if !strings.Contains(err.Error(), "1 trailing bytes") {
		t.Errorf("message does not say trailing: %v", err)
	}

	bad := bytes.Clone(b)
	bad[0] = 'X'
	_, err = DecodeManifest(bad)
	wantCode(t, err, errs.FormatSignature, "bad magic")

	// Counts over the limits fail before anything is allocated.
	for _, c := range []struct {
		off int
		v   uint32
		msg string
	}{{8, 65, "65 sections"}, {12, 1<<20 + 1, "1048577 tensors"}, {12, 0xFFFFFFFF, "4294967295 tensors"}} {
		bad := bytes.Clone(b)
		le.PutUint32(bad[c.off:], c.v)
		_, err := DecodeManifest(bad)
		wantCode(t, err, errs.FormatSignature, c.msg)
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("message does not name %q: %v", c.msg, err)
		}
	}
	// A count within limits but beyond the bytes present.
	bad = bytes.Clone(b)
	le.PutUint32(bad[12:], 1<<20)
	_, err = DecodeManifest(bad)
	wantCode(t, err, errs.FormatSignature, "count beyond data")
	if !strings.Contains(err.Error(), "truncated") {
		t.Errorf("message does not say truncated: %v", err)
	}
}

func TestSectionRoundTrip(t *testing.T) {
	man := testManifest(4).Encode()
	sigs := []Signature{SignManifest(seedKey(1), man), SignManifest(seedKey(2), man)}
	b, err := EncodeSection(man, sigs)
	if err != nil {
		t.Fatal(err)
	}
	if want := 8 + 4 + len(man) + 8 + 2*96; len(b) != want {
		t.Fatalf("section is %d bytes, want %d", len(b), want)
	}
	gotMan, gotSigs, err := DecodeSection(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotMan, man) || len(gotSigs) != 2 {
		t.Fatalf("round trip differs")
	}
	for i, s := range gotSigs {
		if !bytes.Equal(s.Public, sigs[i].Public) || !bytes.Equal(s.Sig, sigs[i].Sig) || !s.Verify(gotMan) {
			t.Fatalf("signature %d differs or does not verify", i)
		}
	}
	again, err := EncodeSection(gotMan, gotSigs)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encode differs: %v", err)
	}
}

func TestSectionMalformed(t *testing.T) {
	man := testManifest(2).Encode()
	b, err := EncodeSection(man, []Signature{SignManifest(seedKey(1), man), SignManifest(seedKey(2), man)})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		_, _, err := DecodeSection(b[:n])
		wantCode(t, err, errs.FormatSignature, "truncated section")
	}
	_, _, err = DecodeSection(append(bytes.Clone(b), 0))
	wantCode(t, err, errs.FormatSignature, "trailing byte")

	countAt := 12 + len(man)
	edits := map[string]func([]byte){
		"bad magic":         func(b []byte) { b[7] = '2' },
		"zero signatures":   func(b []byte) { le.PutUint32(b[countAt:], 0) },
		"17 signatures":     func(b []byte) { le.PutUint32(b[countAt:], 17) },
		"reserved non-zero": func(b []byte) { b[countAt+4] = 1 },
		"manifest too long": func(b []byte) { le.PutUint32(b[8:], 0xFFFFFFFF) },
		"manifest longer":   func(b []byte) { le.PutUint32(b[8:], uint32(len(man)+1)) },
		"duplicate key":     func(b []byte) { copy(b[countAt+8+96:], b[countAt+8:countAt+8+32]) },
	}
	for name, edit := range edits {
		bad := bytes.Clone(b)
		edit(bad)
		_, _, err := DecodeSection(bad)
		wantCode(t, err, errs.FormatSignature, name)
	}
}

func TestEncodeSectionRefuses(t *testing.T) {
	man := testManifest(1).Encode()
	s1 := SignManifest(seedKey(1), man)
	many := make([]Signature, 17)
	for i := range many {
		many[i] = SignManifest(seedKey(byte(i)), man)
	}
	for name, sigs := range map[string][]Signature{
		"none":      nil,
		"17":        many,
		"duplicate": {s1, SignManifest(seedKey(2), man), s1},
		"short key": {{Public: s1.Public[:31], Sig: s1.Sig}},
		"short sig": {{Public: s1.Public, Sig: s1.Sig[:63]}},
	} {
		_, err := EncodeSection(man, sigs)
		wantCode(t, err, errs.InvalidValue, name)
	}
	if _, err := EncodeSection(man, many[:16]); err != nil {
		t.Fatalf("16 signatures: %v", err)
	}
}

func TestSignVerify(t *testing.T) {
	man := testManifest(3).Encode()
	s := SignManifest(seedKey(9), man)
	if !s.Verify(man) {
		t.Fatal("signature does not verify")
	}
	other := testManifest(4).Encode()
	if s.Verify(other) {
		t.Fatal("signature verifies over a different manifest")
	}
	flipped := bytes.Clone(man)
	flipped[len(flipped)-1] ^= 1
	if s.Verify(flipped) {
		t.Fatal("signature verifies over a changed manifest")
	}
	// Without the domain prefix the signature must not verify: the prefix
	// is part of the signed message.
	if ed25519.Verify(s.Public, man, s.Sig) {
		t.Fatal("signature verifies over the bare manifest")
	}
	if !ed25519.Verify(s.Public, append([]byte("MLE signature v1\x00"), man...), s.Sig) {
		t.Fatal("signature is not over the domain-prefixed manifest")
	}
	// Malformed keys and signatures do not verify (and do not panic).
	for _, bad := range []Signature{{Public: s.Public[:5], Sig: s.Sig}, {Public: s.Public, Sig: s.Sig[:10]}, {}} {
		if bad.Verify(man) {
			t.Fatal("malformed signature verifies")
		}
	}
}

// TestKnownAnswer pins the signed message and key id against an
// independent implementation: the signature was made by
// `openssl pkeyutl -sign -rawin` over "MLE signature v1\0" ‖ manifest.
func TestKnownAnswer(t *testing.T) {
	priv := seedKey(0x42)
	m := testManifest(2).Encode()
	s := SignManifest(priv, m)
	if got, want := s.KeyID(), knownKeyID; got != want {
		t.Errorf("key id %s, want %s", got, want)
	}
	if got := hex.EncodeToString(s.Sig); got != knownSig {
		t.Errorf("signature\n got %s\nwant %s", got, knownSig)
	}
	if len(s.KeyID()) != 16 {
		t.Errorf("key id %q is not 16 hex characters", s.KeyID())
	}
}

func TestVerifyTrusted(t *testing.T) {
	man := testManifest(2).Encode()
	a, b, c := seedKey(1), seedKey(2), seedKey(3)
	pub := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	sa, sb := SignManifest(a, man), SignManifest(b, man)
	badB := Signature{Public: sb.Public, Sig: SignManifest(b, testManifest(3).Encode()).Sig}

	id, err := VerifyTrusted(man, []Signature{sa}, []ed25519.PublicKey{pub(a)})
	if err != nil || id != KeyID(pub(a)) {
		t.Fatalf("trusted: %q %v", id, err)
	}
	_, err = VerifyTrusted(man, []Signature{sa, sb}, []ed25519.PublicKey{pub(c)})
	wantCode(t, err, errs.SignatureUntrusted, "untrusted only")
	if !strings.Contains(err.Error(), sa.KeyID()) {
		t.Errorf("message does not name the signing key: %v", err)
	}
	_, err = VerifyTrusted(man, []Signature{sa, badB}, []ed25519.PublicKey{pub(b)})
	wantCode(t, err, errs.SignatureInvalid, "trusted key, bad signature")
	_, err = VerifyTrusted(testManifest(5).Encode(), []Signature{sa}, []ed25519.PublicKey{pub(a)})
	wantCode(t, err, errs.SignatureInvalid, "other manifest")
	_, err = VerifyTrusted(man, []Signature{sa}, nil)
	wantCode(t, err, errs.SignatureUntrusted, "no trusted keys")
	_, err = VerifyTrusted(man, nil, []ed25519.PublicKey{pub(a)})
	wantCode(t, err, errs.SignatureUntrusted, "no signatures")

	// Several signatures, one of them trusted: that one's id comes back.
	id, err = VerifyTrusted(man, []Signature{sa, sb, SignManifest(c, man)}, []ed25519.PublicKey{pub(c), ed25519.PublicKey(make([]byte, 7))})
	if err != nil || id != KeyID(pub(c)) {
		t.Fatalf("one trusted of three: %q %v", id, err)
	}
	// A bad signature by one trusted key does not hide a good one by another.
	id, err = VerifyTrusted(man, []Signature{badB, sa}, []ed25519.PublicKey{pub(a), pub(b)})
	if err != nil || id != KeyID(pub(a)) {
		t.Fatalf("bad then good: %q %v", id, err)
	}
}

func TestKeys(t *testing.T) {
	privPEM, pubPEM, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("public key does not match the private key")
	}
	if !bytes.Equal(PublicPEM(pub), pubPEM) {
		t.Fatal("PublicPEM differs from GenerateKey's public file")
	}
	man := testManifest(1).Encode()
	if !SignManifest(priv, man).Verify(man) {
		t.Fatal("generated key's signature does not verify")
	}

	// What GenerateKey writes is standard PKCS #8 / PKIX.
	blk, _ := pem.Decode(privPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatalf("private PEM block: %+v", blk)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.(ed25519.PrivateKey); !ok {
		t.Fatalf("PKCS #8 key is %T", k)
	}
	blk, _ = pem.Decode(pubPEM)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("public PEM block: %+v", blk)
	}
	if pk, err := x509.ParsePKIXPublicKey(blk.Bytes); err != nil || !pub.Equal(pk) {
		t.Fatalf("PKIX: %v", err)
	}

	// Raw forms.
	seed := bytes.Repeat([]byte{5}, 32)
	if p, err := ParsePrivateKey(seed); err != nil || !p.Equal(ed25519.NewKeyFromSeed(seed)) {
		t.Fatalf("raw seed: %v", err)
	}
	if p, err := ParsePublicKey(pub); err != nil || !p.Equal(pub) {
		t.Fatalf("raw public key: %v", err)
	}

	// Keys openssl wrote.
	op, err := ParsePrivateKey([]byte(opensslPriv))
	if err != nil {
		t.Fatal(err)
	}
	opub, err := ParsePublicKey([]byte(opensslPub))
	if err != nil || !opub.Equal(op.Public()) {
		t.Fatalf("openssl public key: %v", err)
	}
}

func TestKeysRefused(t *testing.T) {
	privPEM, pubPEM, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		priv bool
		in   string
		msg  string
	}{
		{"RSA private", true, rsaPriv, "an RSA key"},
		{"RSA public", false, rsaPub, "an RSA key"},
		{"ECDSA public", false, ecPub, "an ECDSA P-256 key"},
		{"X25519 private", true, x25519Priv, "X25519"},
		{"public as private", true, string(pubPEM), `type "PUBLIC KEY"`},
		{"private as public", false, string(privPEM), `type "PRIVATE KEY"`},
		{"certificate", false, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", `type "CERTIFICATE"`},
		{"37 bytes priv", true, strings.Repeat("x", 37), "37 bytes"},
		{"31 bytes pub", false, strings.Repeat("x", 31), "31 bytes"},
		{"64 bytes pub", false, strings.Repeat("x", 64), "64 bytes"},
		{"empty", true, "", "0 bytes"},
		{"two blocks", false, string(pubPEM) + string(pubPEM), "after its PEM block"},
		{"garbage DER", true, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PKCS #8"},
	}
	for _, c := range cases {
		var err error
		if c.priv {
			_, err = ParsePrivateKey([]byte(c.in))
		} else {
			_, err = ParsePublicKey([]byte(c.in))
		}
		wantCode(t, err, errs.KeyInvalid, c.name)
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: message does not say %q: %v", c.name, c.msg, err)
		}
	}
	// Trailing whitespace after the block is fine.
	if _, err := ParsePublicKey(append(bytes.Clone(pubPEM), "\n\n"...)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkVerifyManifest(b *testing.B) {
	man := testManifest(1000).Encode()
	priv := seedKey(1)
	sigs := []Signature{SignManifest(priv, man)}
	trusted := []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}
	b.SetBytes(int64(len(man)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := VerifyTrusted(man, sigs, trusted); err != nil {
			b.Fatal(err)
		}
	}
}
