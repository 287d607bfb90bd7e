package format

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/sign"
)

// wideModel is tinyModel with weights large enough to span chunks.
func wideModel(t testing.TB) *Builder {
	t.Helper()
	b := NewBuilder()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.SetMetadataJSON([]byte(`{"name":"wide","properties":{"secret":"s3cr3t-value-xyz"},"lineage":{"parents":[{"name":"base","version":"1.0.0"}],"dataset":{"name":"iris","rows":150},"git_commit":"abc123","author":"ana","params":{"C":1.5,"penalty":"l2","fit_intercept":true}}}`)))
	const in, out = 64, 300
	w := make([]float32, in*out)
	for i := range w {
		w[i] = float32(math.Sin(float64(i)*0.37)) * 0.05
	}
	must(b.AddInput("X", dtype.Float32, []int64{-1, in}))
	must(b.AddTensor("W", dtype.Float32, []int64{in, out}, f32bytes(w...)))
	must(b.AddTensor("B", dtype.Float32, []int64{out}, f32bytes(make([]float32, out)...)))
	must(b.AddTensor("steps", dtype.Int64, []int64{3}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}))
	b.AddNode(graph.Node{Op: "Gemm", Name: "fc", Inputs: []string{"X", "W", "B"}, Outputs: []string{"H"}})
	b.AddNode(graph.Node{Op: "Relu", Inputs: []string{"H"}, Outputs: []string{"Y"}})
	b.AddNode(graph.Node{Op: "Identity", Inputs: []string{"steps"}, Outputs: []string{"S"}})
	must(b.AddOutput("Y"))
	must(b.AddOutput("S"))
	return b
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("got %v (%s), want %s", err, errs.CodeOf(err), code)
	}
}

// loadAll loads every tensor of f.
func loadAll(f *File) ([][]byte, error) {
	out := make([][]byte, len(f.Tensors))
	for i := range f.Tensors {
		b, err := f.Load(i)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func TestEncodingsRoundTrip(t *testing.T) {
	raw, err := wideModel(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Parse(raw, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := loadAll(ref)
	for _, c := range []codec.ID{codec.Zstd, codec.LZ4, codec.Brotli} {
		b, rep, err := wideModel(t).BytesWith(WriteOptions{Compress: c, ChunkSize: 4096})
		if err != nil || rep != nil {
			t.Fatalf("%s: %v %v", c, rep, err)
		}
		f, err := Parse(b, OpenOptions{Verify: true})
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got, err := loadAll(f)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s: tensor %s differs after decoding", c, f.Tensors[i].Name)
			}
		}
		if i, _ := f.TensorIndex("W"); f.Tensors[i].Encoding != c || f.Tensors[i].StoredLen >= f.Tensors[i].RawLen {
			t.Errorf("%s: W stored as %s, %d of %d bytes", c, f.Tensors[i].Encoding, f.Tensors[i].StoredLen, f.Tensors[i].RawLen)
		}
		f.Close()
	}
	for _, q := range []codec.ID{codec.FP16, codec.BF16, codec.Int8} {
		b, rep, err := wideModel(t).BytesWith(WriteOptions{Quantize: q, Compress: codec.Zstd})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if rep == nil || rep.Tensors == 0 || rep.MaxAbsWeight <= 0 || rep.MaxAbsWeight > 0.05/100 && q != codec.BF16 {
			t.Errorf("%s: report %+v", q, rep)
		}
		f, err := Parse(b, OpenOptions{Verify: true})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if !strings.Contains(f.Metadata.Properties["mle.quantization"], `"scheme":"`+q.String()+`"`) {
			t.Errorf("%s: property %q", q, f.Metadata.Properties["mle.quantization"])
		}
		// Integers and non-weights stay exact.
		i, _ := f.TensorIndex("steps")
		got, _ := f.Load(i)
		if !bytes.Equal(got, want[i]) || f.Tensors[i].Encoding.Quantized() {
			t.Errorf("%s: int64 tensor touched (%s)", q, f.Tensors[i].Encoding)
		}
		wi, _ := f.TensorIndex("W")
		gw, err := f.Load(wi)
		if err != nil {
			t.Fatal(err)
		}
		var maxErr float64
		for k := 0; k < len(gw)/4; k++ {
			a := math.Float32frombits(binary.LittleEndian.Uint32(gw[4*k:]))
			e := math.Float32frombits(binary.LittleEndian.Uint32(want[wi][4*k:]))
			maxErr = math.Max(maxErr, math.Abs(float64(a-e)))
		}
		if maxErr == 0 || maxErr > rep.MaxAbsWeight*1.0000001 {
			t.Errorf("%s: measured error %g, report %g", q, maxErr, rep.MaxAbsWeight)
		}
		f.Close()
	}
}

func TestRewriteKeepsEncodings(t *testing.T) {
	b, _, err := wideModel(t).BytesWith(WriteOptions{Quantize: codec.Int8, Compress: codec.LZ4})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := Rewrite(f, WriteOptions{Compress: codec.Zstd, Quantize: Keep})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(again, OpenOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	wi, _ := g.TensorIndex("W")
	if g.Tensors[wi].Encoding != codec.Zstd {
		t.Errorf("W is %s", g.Tensors[wi].Encoding)
	}
	a, _ := f.Load(wi)
	c, _ := g.Load(wi)
	if !bytes.Equal(a, c) {
		t.Error("re-quantizing int8 values changed them")
	}
	// Keeping both keeps both: int8 inside lz4 stays int8 inside lz4.
	same, _, err := Rewrite(f, WriteOptions{Compress: Keep, Quantize: Keep})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Parse(same, OpenOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := storedAsOf(&h.Tensors[wi], h.TensorData(wi)); got != (storedAs{codec.LZ4, codec.Int8}) {
		t.Errorf("W kept as %+v", got)
	}
	if d, _ := h.Load(wi); !bytes.Equal(a, d) {
		t.Error("keeping int8 changed the values")
	}
}

func TestSignVerify(t *testing.T) {
	raw, err := wideModel(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	signed, err := Sign(raw, k1)
	if err != nil {
		t.Fatal(err)
	}
	trusted := OpenOptions{TrustedKeys: []ed25519.PublicKey{pubOf(k1)}, RequireSignature: true}
	f, err := Parse(signed, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if f.Signed == nil || f.Signed.TrustedBy == "" || len(f.Signed.Signatures) != 1 {
		t.Fatalf("signed: %+v", f.Signed)
	}
	if _, err := loadAll(f); err != nil {
		t.Fatal(err)
	}
	// A second signature keeps the first.
	twice, err := Sign(signed, k2)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []ed25519.PrivateKey{k1, k2} {
		if _, err := Parse(twice, OpenOptions{TrustedKeys: []ed25519.PublicKey{pubOf(k)}, Verify: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Parse(twice, OpenOptions{TrustedKeys: []ed25519.PublicKey{pubOf(k3)}})
	wantCode(t, err, errs.SignatureUntrusted)
	_, err = Parse(raw, trusted)
	wantCode(t, err, errs.SignatureRequired)
	_, err = Parse(raw, OpenOptions{RequireSignature: true})
	wantCode(t, err, errs.InvalidOptions)

	// Every byte flipped anywhere is noticed: at open, at first load, or by verify.
	for pos := 0; pos < len(signed); pos += 7 {
		bad := bytes.Clone(signed)
		bad[pos] ^= 0x10
		f, err := Parse(bad, OpenOptions{TrustedKeys: []ed25519.PublicKey{pubOf(k1)}, Verify: true})
		if err == nil {
			f.Close()
			t.Fatalf("byte %d flipped: opened", pos)
		}
	}
	// Appended bytes.
	_, err = Parse(append(bytes.Clone(signed), 0), trusted)
	wantCode(t, err, errs.FormatGap)
}

// patchSigned re-signs nothing: it changes a signed file's bytes and fixes
// up the CRCs, as an attacker would, so that only the signature can tell.
func fixCRCs(t *testing.T, b []byte) []byte {
	t.Helper()
	f, err := Parse(b, OpenOptions{SkipPolicy: true})
	if err == nil {
		f.Close()
	}
	le := binary.LittleEndian
	count := int(le.Uint32(b[40:]))
	for i := 0; i < count; i++ {
		e := b[HeaderSize+i*SectionEntrySize:]
		off, n := le.Uint64(e[8:]), le.Uint64(e[16:])
		le.PutUint32(e[24:], crc32c(b[off:off+n]))
	}
	le.PutUint32(b[56:], crc32c(b[HeaderSize:HeaderSize+count*SectionEntrySize]))
	le.PutUint32(b[60:], crc32c(b[:60]))
	return b
}

func TestSignedTamper(t *testing.T) {
	raw, err := wideModel(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	k := newKey(t)
	signed, err := Sign(raw, k)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(signed, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections
	wi, _ := f.TensorIndex("W")
	wAt := secs[3].Offset + f.Tensors[wi].Offset
	f.Close()
	trusted := OpenOptions{TrustedKeys: []ed25519.PublicKey{pubOf(k)}}

	// A weight changed and its CRCs fixed: open succeeds (O(1)), first load fails.
	bad := bytes.Clone(signed)
	bad[wAt+10] ^= 1
	fixCRCs(t, bad)
	le := binary.LittleEndian
	tf, _ := Parse(bad, OpenOptions{})
	// Fix the tensor CRC too.
	ti := tf.Tensors[wi]
	tf.Close()
	_ = ti
	g, err := Parse(bad, trusted)
	if err != nil {
		t.Fatalf("open should stay O(1) and succeed: %v", err)
	}
	_, err = g.Load(wi)
	wantCode(t, err, errs.DigestMismatch)
	g.Close()
	_, err = Parse(bad, OpenOptions{TrustedKeys: trusted.TrustedKeys, Verify: true})
	if c := errs.CodeOf(err); c != errs.ChecksumTensor && c != errs.DigestMismatch {
		t.Fatalf("verify: %v", err)
	}

	// Metadata changed (CRC fixed): the digest differs.
	bad = bytes.Clone(signed)
	m := secs[0]
	i := bytes.Index(bad[m.Offset:m.Offset+m.Length], []byte("wide"))
	copy(bad[m.Offset+uint64(i):], "wida")
	fixCRCs(t, bad)
	_, err = Parse(bad, trusted)
	wantCode(t, err, errs.DigestMismatch)
	_, err = Parse(bad, OpenOptions{})
	wantCode(t, err, errs.DigestMismatch) // no key: still the manifest catches it

	// The signature over a different manifest.
	other, err := Sign(fixCRCs(t, bytes.Clone(raw)), newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	bad = bytes.Clone(signed)
	sig := secs[len(secs)-1]
	body := bad[sig.Offset : sig.Offset+sig.Length]
	body[len(body)-1] ^= 0x80 // the signature's last byte
	fixCRCs(t, bad)
	_, err = Parse(bad, trusted)
	wantCode(t, err, errs.SignatureInvalid)

	// A manifest that omits a tensor: re-sign a manifest with T-1 digests.
	mb, sigs := decodeSig(t, body)
	man := decodeMan(t, mb)
	man.Tensors = man.Tensors[:len(man.Tensors)-1]
	nb := man.Encode()
	_ = sigs
	forged := resignSection(t, k, nb)
	bad = replaceSignature(t, signed, forged)
	_, err = Parse(bad, trusted)
	wantCode(t, err, errs.FormatManifest)

	// Swapped sections: GRAPH and TENSORS exchanged in the table.
	bad = bytes.Clone(signed)
	e1, e2 := bad[HeaderSize+1*SectionEntrySize:], bad[HeaderSize+2*SectionEntrySize:]
	k1, k2 := le.Uint32(e1), le.Uint32(e2)
	le.PutUint32(e1, k2)
	le.PutUint32(e2, k1)
	fixCRCs(t, bad)
	_, err = Parse(bad, trusted)
	if err == nil {
		t.Fatal("swapped sections opened")
	}
}

func TestEncryptDecrypt(t *testing.T) {
	k := newKey(t)
	raw, _, err := wideModel(t).BytesWith(WriteOptions{Compress: codec.Zstd, SignKeys: []ed25519.PrivateKey{k}})
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	enc, err := Encrypt(raw, key, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("s3cr3t-value-xyz")) || bytes.Contains(enc, []byte(`"secret"`)) {
		t.Error("a private property is readable in the encrypted file")
	}
	pub, err := Parse(enc, OpenOptions{PublicOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Envelope == nil || pub.Metadata.Name != "wide" || pub.Graph != nil || pub.Metadata.Lineage == nil {
		t.Errorf("public view: %+v", pub.Metadata)
	}
	_, err = Parse(enc, OpenOptions{})
	wantCode(t, err, errs.KeyRequired)
	_, err = Parse(enc, OpenOptions{Key: bytes.Repeat([]byte{8}, 32)})
	wantCode(t, err, errs.KeyWrong)
	_, err = Parse(enc, OpenOptions{Key: key[:31]})
	wantCode(t, err, errs.KeyInvalid)
	f, err := Parse(enc, OpenOptions{Key: key, TrustedKeys: []ed25519.PublicKey{pubOf(k)}, RequireSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata.Properties["secret"] != "s3cr3t-value-xyz" || f.Signed == nil || f.Envelope == nil {
		t.Errorf("inner: %+v", f.Metadata)
	}
	if _, err := loadAll(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Verify after a lazy open decrypts what was not read yet.
	f, err = Parse(enc, OpenOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err != nil {
		t.Fatalf("verify after a lazy open: %v", err)
	}
	f.Close()
	back, err := Decrypt(enc, key)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("decrypt: %v (equal %v)", err, bytes.Equal(back, raw))
	}
	// A flipped ciphertext byte (CRC fixed) fails authentication when its chunk is read.
	sealedAt := pub.Sections[2].Offset
	for _, at := range []uint64{sealedAt + 5, uint64(len(enc)) - 3} {
		bad := fixCRCs(t, func() []byte { b := bytes.Clone(enc); b[at] ^= 4; return b }())
		_, err := Decrypt(bad, key)
		wantCode(t, err, errs.Decrypt)
	}
	// Public metadata swapped: bound into every chunk.
	bad := bytes.Clone(enc)
	m := pub.Sections[0]
	i := bytes.Index(bad[m.Offset:m.Offset+m.Length], []byte("wide"))
	copy(bad[m.Offset+uint64(i):], "wida")
	_, err = Parse(fixCRCs(t, bad), OpenOptions{Key: key})
	wantCode(t, err, errs.Decrypt)
	// Truncated: the SEALED section shortened by a chunk.
	_, err = Parse(enc[:len(enc)-100], OpenOptions{Key: key})
	wantCode(t, err, errs.FormatTruncated)
	pub.Close()
	// Signing after encryption is refused; encrypting twice too.
	_, err = Sign(enc, k)
	wantCode(t, err, errs.UnsupportedFeature)
	_, err = Encrypt(enc, key, 0)
	wantCode(t, err, errs.InvalidValue)
}

func TestPolicy(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ctx := &PolicyContext{Now: now, Host: "prod-1", User: "svc", Runtime: "0.1.0"}
	cases := []struct {
		policy string
		code   errs.Code
		reason string
	}{
		{`{"expires":"2027-01-01T00:00:00Z","hosts":["PROD-1","prod-2"],"users":["svc"],"min_runtime":"0.1.0"}`, errs.OK, ""},
		{`{"expires":"2026-11-30T11:59:59Z"}`, errs.Policy, "expired"},
		{`{"not_before":"2026-12-01T00:00:00Z"}`, errs.Policy, "before"},
		{`{"hosts":["prod-2"]}`, errs.Policy, "host"},
		{`{"users":["root"]}`, errs.Policy, "user"},
		{`{"min_runtime":"0.2.0"}`, errs.Policy, "0.2.0"},
		{`{"max_runs":3}`, errs.MetadataPolicy, "max_runs"},
		{`{"expires":"tomorrow"}`, errs.MetadataPolicy, "RFC 3339"},
		{`{"hosts":[]}`, errs.MetadataPolicy, "non-empty"},
	}
	for _, c := range cases {
		b := tinyModel(t)
		err := b.SetMetadataJSON([]byte(`{"name":"p","policy":` + c.policy + `}`))
		if c.code == errs.MetadataPolicy {
			wantCode(t, err, c.code)
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("%s: %v", c.policy, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, err := b.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(raw, OpenOptions{PolicyContext: ctx})
		if errs.CodeOf(err) != c.code || (err != nil && !strings.Contains(err.Error(), c.reason)) {
			t.Errorf("%s: %v", c.policy, err)
		}
		if err == nil {
			f.Close()
		}
		if f, err := Parse(raw, OpenOptions{PolicyContext: ctx, SkipPolicy: true}); err != nil {
			t.Errorf("skip policy: %v", err)
		} else {
			f.Close()
		}
	}
	if compareSemver("1.0.0-rc.1", "1.0.0") >= 0 || compareSemver("1.10.0", "1.9.9") <= 0 {
		t.Error("semver order")
	}
}

func TestFileOpsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "m.mle")
	if _, err := wideModel(t).Save(in); err != nil {
		t.Fatal(err)
	}
	if err := EncryptFile(in, filepath.Join(dir, "e.mle"), []byte("short")); errs.CodeOf(err) != errs.KeyInvalid {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.mle"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ConvertFile(filepath.Join(dir, "bad.mle"), filepath.Join(dir, "c.mle"), OpenOptions{}, WriteOptions{Compress: codec.Zstd}); errs.CodeOf(err) != errs.FormatBadMagic {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{1}, 32)
	if err := EncryptFile(in, filepath.Join(dir, "e.mle"), key); err != nil {
		t.Fatal(err)
	}
	if err := SignFile(filepath.Join(dir, "e.mle"), filepath.Join(dir, "s.mle"), newKey(t)); errs.CodeOf(err) != errs.UnsupportedFeature {
		t.Fatal(err)
	}
	kp, pp, err := Keygen(filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(kp); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode())
	}
	if _, _, err := Keygen(filepath.Join(dir, "k")); errs.CodeOf(err) != errs.IOWrite {
		t.Errorf("second keygen: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "bad.mle e.mle k.key k.pub m.mle" {
		t.Errorf("directory holds %v", names)
	}
	_ = pp
}

func decodeSig(t *testing.T, body []byte) ([]byte, []sign.Signature) {
	t.Helper()
	mb, sigs, err := sign.DecodeSection(body)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(mb), sigs
}

func decodeMan(t *testing.T, mb []byte) *sign.Manifest {
	t.Helper()
	m, err := sign.DecodeManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// resignSection signs a (forged) manifest with k: a valid signature over
// bytes that do not describe the file.
func resignSection(t *testing.T, k ed25519.PrivateKey, manifest []byte) []byte {
	t.Helper()
	b, err := sign.EncodeSection(manifest, []sign.Signature{sign.SignManifest(k, manifest)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replaceSignature swaps a signed file's SIGNATURE body for body.
func replaceSignature(t *testing.T, signed, body []byte) []byte {
	t.Helper()
	f, err := Parse(signed, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kinds []SectionKind
	var flags []uint32
	var bodies [][]byte
	for _, s := range f.Sections {
		kinds, flags = append(kinds, s.Kind), append(flags, s.Flags)
		if s.Kind == SectionSignature {
			bodies = append(bodies, body)
		} else {
			bodies = append(bodies, bytes.Clone(f.data[s.Offset:s.Offset+s.Length]))
		}
	}
	return writeSections(f.data[:32], kinds, flags, bodies)
}

// Progress hears of every byte Verify and the encoder handle, ending at the
// total (Verify: one pass over raw tensors, two over compressed ones).
func TestProgressReachesTotal(t *testing.T) {
	for _, c := range []codec.ID{codec.Raw, codec.Zstd} {
		var mu sync.Mutex
		var calls int
		var last, lastTotal int64
		record := func(done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			last, lastTotal = max(last, done), total
		}
		b, _, err := wideModel(t).BytesWith(WriteOptions{Compress: c, Progress: record})
		if err != nil {
			t.Fatal(err)
		}
		if c == codec.Raw && calls != 0 {
			t.Errorf("raw tensors are copied, not encoded: %d progress calls", calls)
		}
		if c != codec.Raw && (calls == 0 || last != lastTotal || lastTotal <= 0) {
			t.Errorf("%s encode: %d calls, ended at %d of %d", c, calls, last, lastTotal)
		}
		calls, last, lastTotal = 0, 0, 0
		f, err := Parse(b, OpenOptions{Verify: true, Progress: record})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if calls == 0 || last != lastTotal || lastTotal < int64(len(b))/2 {
			t.Errorf("%s verify: %d calls, ended at %d of %d (file %d bytes)", c, calls, last, lastTotal, len(b))
		}
	}
}
