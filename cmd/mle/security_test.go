package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/sign"
)

// keygen makes a key pair and returns its paths and the key id printed.
func keygen(t *testing.T, prefix string) (key, pub, id string) {
	t.Helper()
	code, out, errOut := mle("keygen", prefix)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`key id: +([0-9a-f]{16})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen printed no key id:\n%s", out)
	}
	wantAll(t, "keygen output", out, prefix+".key", prefix+".pub")
	pk, err := sign.ParsePublicKey(readFile(t, prefix+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	if sign.KeyID(pk) != m[1] {
		t.Fatalf("keygen printed key id %s; the public key's id is %s", m[1], sign.KeyID(pk))
	}
	return prefix + ".key", prefix + ".pub", m[1]
}

func TestKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	keyA, pubA, idA := keygen(t, filepath.Join(dir, "alice"))
	_, pubB, idB := keygen(t, filepath.Join(dir, "bob"))
	if idA == idB {
		t.Fatal("two keys with one id")
	}
	// keygen never replaces a private key.
	if code, _, errOut := mle("keygen", filepath.Join(dir, "alice")); code != 1 || !strings.Contains(errOut, "refusing to replace") {
		t.Errorf("keygen over an existing key: exit %d: %s", code, errOut)
	}

	plain := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(1), nil)
	signed := filepath.Join(dir, "s.mle")
	code, out, errOut := mle("sign", "--key", keyA, plain, "-o", signed)
	if code != 0 || !strings.Contains(out, "signed by key "+idA) {
		t.Fatalf("sign: exit %d: %s %s", code, out, errOut)
	}

	code, out, errOut = mle("verify", "--pub", pubA, signed)
	if code != 0 || !strings.Contains(out, "signature OK") || !strings.Contains(out, idA) {
		t.Errorf("verify with the signer's key: exit %d: %s %s", code, out, errOut)
	}
	// --pub repeats: one trusted key suffices.
	if code, out, errOut := mle("verify", "--pub", pubB, "--pub", pubA, signed); code != 0 || !strings.Contains(out, idA) {
		t.Errorf("verify with two keys: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = mle("verify", "--json", "--pub", pubA, signed)
	var v struct {
		OK         bool     `json:"ok"`
		TrustedBy  string   `json:"trusted_by"`
		Signatures []string `json:"signatures"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.OK || v.TrustedBy != idA || !slices.Equal(v.Signatures, []string{idA}) {
		t.Errorf("verify --json: exit %d: %s", code, out)
	}

	code, _, errOut = mle("verify", "--pub", pubB, signed)
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_SIGNATURE_UNTRUSTED") || !strings.Contains(errOut, idA) {
		t.Errorf("verify with another key: exit %d: %s", code, errOut)
	}
	code, _, errOut = mle("verify", "--pub", pubA, plain)
	if code != 1 || !strings.Contains(errOut, "MLE_ERR_SIGNATURE_REQUIRED") {
		t.Errorf("verify an unsigned file: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("verify", signed); code != 2 || !strings.Contains(errOut, "--pub") {
		t.Errorf("verify without --pub: exit %d: %s", code, errOut)
	}

	// Any one byte flipped anywhere in a signed file fails verification
	// (a small model, to keep the loop short).
	small := filepath.Join(dir, "small.mle")
	if code, _, errOut := mle("sign", "--key", keyA, model(t), "-o", small); code != 0 {
		t.Fatal(errOut)
	}
	orig := readFile(t, small)
	bad := filepath.Join(dir, "bad.mle")
	codes := map[string]int{}
	for i := range orig {
		b := bytes.Clone(orig)
		b[i] ^= 0x01
		writeFile(t, bad, b)
		code, _, errOut := mle("verify", "--pub", pubA, bad)
		if code != 1 {
			t.Fatalf("byte %d flipped: verify exit %d: %s", i, code, errOut)
		}
		if m := regexp.MustCompile(`MLE_ERR_[A-Z_]+`).FindString(errOut); m != "" {
			codes[m]++
		} else {
			t.Fatalf("byte %d flipped: no status in %q", i, errOut)
		}
	}
	// Damage in a signed section is caught by its digest, before any parser.
	if codes["MLE_ERR_DIGEST_MISMATCH"] == 0 || codes["MLE_ERR_CHECKSUM_TENSOR"] == 0 {
		t.Errorf("statuses of flipped bytes: %v", codes)
	}

	// Signing in place; inspect then shows the signature, verified with --pub.
	inPlace := filepath.Join(dir, "inplace.mle")
	writeFile(t, inPlace, readFile(t, plain))
	if code, _, errOut := mle("sign", "--key", keyA, inPlace); code != 0 {
		t.Fatalf("sign in place: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("verify", "--pub", pubA, inPlace); code != 0 {
		t.Errorf("verify after signing in place: exit %d: %s", code, errOut)
	}
	_, out, _ = mle("inspect", inPlace)
	wantAll(t, "inspect of a signed file", out, "signatures (1):", "key "+idA, "not verified: pass --pub")
	_, out, _ = mle("inspect", "--pub", pubA, inPlace)
	wantAll(t, "inspect --pub", out, "key "+idA+"  verified by a trusted key")
	_, out, _ = mle("inspect", plain)
	wantAll(t, "inspect of an unsigned file", out, "signatures: none (unsigned)")

	// --pub and --require-signature on run and validate.
	x := inputFile(t, dir)
	if code, _, errOut := mle("run", "--pub", pubB, signed, "--input", x); code != 1 || !strings.Contains(errOut, "MLE_ERR_SIGNATURE_UNTRUSTED") {
		t.Errorf("run --pub other: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("validate", "--pub", pubA, "--require-signature", plain); code != 1 || !strings.Contains(errOut, "MLE_ERR_SIGNATURE_REQUIRED") {
		t.Errorf("validate --require-signature unsigned: exit %d: %s", code, errOut)
	}
	if code, out, errOut := mle("validate", "--pub", pubA, "--require-signature", signed); code != 0 || !strings.Contains(out, "signed by trusted key "+idA) {
		t.Errorf("validate signed: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := mle("run", "--require-signature", signed, "--input", x); code != 2 || !strings.Contains(errOut, "needs at least one --pub") {
		t.Errorf("--require-signature without --pub: exit %d: %s", code, errOut)
	}
}

func TestEncryptDecrypt(t *testing.T) {
	dir := t.TempDir()
	plain := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(2), nil)
	key := keyFile(t, dir, "k", 7)
	other := keyFile(t, dir, "other", 8)
	x := inputFile(t, dir)
	want := runY(t, plain, x)

	enc := filepath.Join(dir, "e.mle")
	code, out, errOut := mle("encrypt", "--key-file", key, plain, enc)
	if code != 0 || !strings.Contains(out, "encrypted (AES-256-GCM)") {
		t.Fatalf("encrypt: exit %d: %s %s", code, out, errOut)
	}
	if bytes.Contains(readFile(t, enc), f32s(weights(2)[:8]...)) {
		t.Error("the encrypted file holds the weights in the clear")
	}

	// Without the key, inspect shows the public part.
	code, out, errOut = mle("inspect", enc)
	if code != 0 {
		t.Fatalf("inspect without key: exit %d: %s", code, errOut)
	}
	wantAll(t, "inspect without key", out, "encrypted (AES-256-GCM, chunk 1048576): pass --key-file to see the graph",
		"name:        big", "2.0.0", "X                    float32  [?, 64]", "SEALED")
	if strings.Contains(out, "ops (") || strings.Contains(out, "team = ml") {
		t.Errorf("inspect without key shows what is sealed:\n%s", out)
	}
	code, out, _ = mle("inspect", "--json", enc)
	var pub struct {
		OK         bool           `json:"ok"`
		Encrypted  bool           `json:"encrypted"`
		Encryption map[string]any `json:"encryption"`
		Inputs     []ioJSON       `json:"inputs"`
		Nodes      *int           `json:"nodes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &pub) != nil || !pub.OK || !pub.Encrypted || pub.Nodes != nil ||
		pub.Encryption["algorithm"] != "AES-256-GCM" || pub.Encryption["key_given"] != false || len(pub.Inputs) != 1 {
		t.Errorf("inspect --json without key: exit %d: %s", code, out)
	}
	// With it, everything.
	code, out, _ = mle("inspect", "--key-file", key, enc)
	wantAll(t, "inspect with key", out, "decrypted with --key-file", "MatMul", "team = ml", "planned peak")

	// Running needs the key; with it the outputs are the same.
	if got := runY(t, enc, x, "--key-file", key); !slices.Equal(got, want) {
		t.Errorf("encrypted model gives %v, want %v", got[:4], want[:4])
	}
	if code, _, errOut := mle("run", enc, "--input", x); code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_REQUIRED") || !strings.Contains(errOut, "--key-file") {
		t.Errorf("run without key: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("run", enc, "--input", x, "--key-file", other); code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_WRONG") {
		t.Errorf("run with the wrong key: exit %d: %s", code, errOut)
	}
	if code, out, errOut := mle("validate", "--key-file", key, enc); code != 0 || !strings.Contains(out, "every chunk authenticated") {
		t.Errorf("validate with key: exit %d: %s %s", code, out, errOut)
	}
	if code, out, errOut := mle("bench", "--key-file", key, "--runs", "3", "--opens", "2", enc); code != 0 || !strings.Contains(out, "p50") {
		t.Errorf("bench with key: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := mle("validate", enc); code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_REQUIRED") {
		t.Errorf("validate without key: exit %d: %s", code, errOut)
	}

	// Decrypting gives back the very bytes.
	dec := filepath.Join(dir, "d.mle")
	if code, _, errOut := mle("decrypt", "--key-file", key, enc, dec); code != 0 {
		t.Fatalf("decrypt: exit %d: %s", code, errOut)
	}
	if !bytes.Equal(readFile(t, dec), readFile(t, plain)) {
		t.Error("decrypt did not give back the original file")
	}

	// Keys of the wrong length.
	short := writeFile(t, filepath.Join(dir, "short"), make([]byte, 31))
	long := writeFile(t, filepath.Join(dir, "long"), make([]byte, 33))
	before := dirList(t, dir)
	for _, args := range [][]string{
		{"encrypt", "--key-file", short, plain, filepath.Join(dir, "e2.mle")},
		{"encrypt", "--key-file", long, plain, filepath.Join(dir, "e2.mle")},
		{"decrypt", "--key-file", short, enc, filepath.Join(dir, "d2.mle")},
		{"run", enc, "--input", x, "--key-file", short},
		{"inspect", "--key-file", long, enc},
	} {
		code, _, errOut := mle(args...)
		if code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_INVALID") || !strings.Contains(errOut, "exactly 32 raw bytes") {
			t.Errorf("mle %v: exit %d: %s", args, code, errOut)
		}
	}
	if after := dirList(t, dir); !slices.Equal(before, after) {
		t.Errorf("failed commands left files: %v -> %v", before, after)
	}
	if code, _, errOut := mle("encrypt", plain, filepath.Join(dir, "e3.mle")); code != 2 || !strings.Contains(errOut, "--key-file") {
		t.Errorf("encrypt without --key-file: exit %d: %s", code, errOut)
	}
}

// Commands that write a file leave nothing behind when they fail.
func TestNoPartialOutput(t *testing.T) {
	dir := t.TempDir()
	keyA, _, _ := keygen(t, filepath.Join(dir, "a"))
	key := keyFile(t, dir, "k", 1)
	wrong := keyFile(t, dir, "wrong", 2)
	plain := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(3), nil)
	enc := filepath.Join(dir, "e.mle")
	if code, _, errOut := mle("encrypt", "--key-file", key, plain, enc); code != 0 {
		t.Fatal(errOut)
	}
	b := readFile(t, plain)
	b[len(b)-5] ^= 0xff // a weight
	corrupt := writeFile(t, filepath.Join(dir, "corrupt.mle"), b)
	encBytes := readFile(t, enc)

	cases := []struct {
		args []string
		code string
	}{
		{[]string{"sign", "--key", keyA, enc, "-o", filepath.Join(dir, "out.mle")}, "MLE_ERR_UNSUPPORTED_FEATURE"},
		{[]string{"sign", "--key", keyA, enc}, "MLE_ERR_UNSUPPORTED_FEATURE"},
		{[]string{"sign", "--key", keyA, corrupt, "-o", filepath.Join(dir, "out.mle")}, "MLE_ERR_CHECKSUM_TENSOR"},
		{[]string{"convert", corrupt, filepath.Join(dir, "out.mle"), "--compress", "zstd"}, "MLE_ERR_CHECKSUM_TENSOR"},
		{[]string{"convert", enc, filepath.Join(dir, "out.mle"), "--compress", "zstd"}, "MLE_ERR_KEY_REQUIRED"},
		{[]string{"convert", enc, filepath.Join(dir, "out.mle"), "--key-file", wrong}, "MLE_ERR_KEY_WRONG"},
		{[]string{"encrypt", "--key-file", key, enc, filepath.Join(dir, "out.mle")}, "already encrypted"},
		{[]string{"encrypt", "--key-file", key, corrupt, filepath.Join(dir, "out.mle")}, "MLE_ERR_CHECKSUM_TENSOR"},
		{[]string{"decrypt", "--key-file", wrong, enc, filepath.Join(dir, "out.mle")}, "MLE_ERR_KEY_WRONG"},
		{[]string{"decrypt", "--key-file", key, plain, filepath.Join(dir, "out.mle")}, "not encrypted"},
	}
	before := dirList(t, dir)
	for _, c := range cases {
		code, _, errOut := mle(c.args...)
		if code != 1 || !strings.Contains(errOut, c.code) {
			t.Errorf("mle %v: exit %d (%s), want 1 with %s", c.args, code, errOut, c.code)
		}
		if after := dirList(t, dir); !slices.Equal(before, after) {
			t.Fatalf("mle %v left files: %v -> %v", c.args, before, after)
		}
	}
	if !bytes.Equal(readFile(t, enc), encBytes) {
		t.Error("a failed in-place sign changed its input")
	}
}
