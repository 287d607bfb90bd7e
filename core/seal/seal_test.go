package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/mle-runtime/mle/core/errs"
)

const testC = 4096

var (
	testKey  = bytes.Repeat([]byte{0x11}, 32)
	testBind = sha256.Sum256([]byte("params and metadata"))
)

func plaintext(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})
	r.Read(b)
	return b
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

func wantCode(t *testing.T, err error, code errs.Code, what string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s: got %v, want %v", what, err, code)
	}
}

// sealed returns params, plaintext and sealed bytes for n plaintext bytes.
func sealed(t testing.TB, n int, c uint32) (Params, []byte, []byte) {
	t.Helper()
	p, err := NewParams(testKey, uint64(n), c)
	if err != nil {
		t.Fatal(err)
	}
	plain := plaintext(n)
	s, err := Seal(testKey, &p, testBind, plain)
	if err != nil {
		t.Fatal(err)
	}
	return p, plain, s
}

func openAll(key []byte, p *Params, bind [32]byte, s []byte) ([]byte, error) {
	dst := make([]byte, p.PlainLen)
	o, err := NewOpener(key, p, bind, s, dst)
	if err != nil {
		return nil, err
	}
	return dst, o.All()
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, testC - 1, testC, testC + 1, 3*testC + 5} {
		p, plain, s := sealed(t, n, testC)
		chunks := max(1, (n+testC-1)/testC)
		if len(s) != n+16*chunks || p.SealedLen() != uint64(len(s)) {
			t.Fatalf("P=%d: sealed %d bytes, want %d", n, len(s), n+16*chunks)
		}
		got, err := openAll(testKey, &p, testBind, s)
		if err != nil {
			t.Fatalf("P=%d: %v", n, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("P=%d: decrypted bytes differ", n)
		}
		// Through the encoded parameters, as a reader gets them.
		q, err := DecodeParams(p.Encode())
		if err != nil || q != p {
			t.Fatalf("P=%d: params round trip: %v", n, err)
		}
	}
}

// TestLayout checks the chunk layout of docs/FORMAT.md §10.3 with crypto/cipher directly:
// HKDF payload key, nonce = 11-byte BE index ‖ last flag, AD = bind ‖ 7 ‖ i.
func TestLayout(t *testing.T) {
	p, plain, s := sealed(t, 2*testC+10, testC)
	pk := payloadKey(testKey, &p.Salt)
	blk, _ := aes.NewCipher(pk)
	g, _ := cipher.NewGCM(blk)
	for i := range 3 {
		nonce := make([]byte, 12)
		nonce[10] = byte(i)
		if i == 2 {
			nonce[11] = 1
		}
		ad := append(append(testBind[:0:0], testBind[:]...), 7, 0, 0, 0, byte(i), 0, 0, 0, 0, 0, 0, 0)
		lo, hi := i*testC, min(len(plain), (i+1)*testC)
		ct := s[i*(testC+16) : i*(testC+16)+hi-lo+16]
		got, err := g.Open(nil, nonce, ct, ad)
		if err != nil || !bytes.Equal(got, plain[lo:hi]) {
			t.Fatalf("chunk %d does not open by the spec's layout: %v", i, err)
		}
	}
	kc := keyCheck(pk)
	if kc != p.KeyCheck {
		t.Fatal("key check differs")
	}
	// Params layout.
	b := p.Encode()
	if len(b) != ParamsSize || le.Uint32(b) != 1 || le.Uint32(b[4:]) != 1 || le.Uint32(b[8:]) != testC || le.Uint32(b[12:]) != 0 ||
		le.Uint64(b[16:]) != p.PlainLen || !bytes.Equal(b[24:56], p.Salt[:]) || !bytes.Equal(b[56:], p.KeyCheck[:]) {
		t.Fatalf("params layout: %x", b)
	}
}

// TestKnownAnswer pins HKDF and the key check for a fixed key and salt.
func TestKnownAnswer(t *testing.T) {
	var salt [32]byte
	for i := range salt {
		salt[i] = byte(i)
	}
	pk := payloadKey(testKey, &salt)
	kc := keyCheck(pk)
	if got := fmt.Sprintf("%x", pk); got != knownPayloadKey {
		t.Errorf("payload key %s, want %s", got, knownPayloadKey)
	}
	if got := fmt.Sprintf("%x", kc); got != knownKeyCheck {
		t.Errorf("key check %s, want %s", got, knownKeyCheck)
	}
}

func TestRandomAccess(t *testing.T) {
	p, plain, s := sealed(t, 10*testC+123, testC)
	// Damage chunks 0 and 9: ranges that do not touch them must still work,
	// which shows that only the chunks a range needs are decrypted.
	s[5] ^= 1
	s[9*(testC+16)+7] ^= 1
	dst := make([]byte, p.PlainLen)
	o, err := NewOpener(testKey, &p, testBind, s, dst)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := uint64(2*testC+100), uint64(4*testC+1) // chunks 2, 3, 4
	if err := o.Ensure(lo, hi); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst[2*testC:5*testC], plain[2*testC:5*testC]) {
		t.Fatal("chunks 2..4 differ")
	}
	for i := range o.chunks {
		if want := i >= 2 && i <= 4; o.chunks[i].done.Load() != want {
			t.Fatalf("chunk %d decrypted = %v, want %v", i, !want, want)
		}
	}
	if !allZero(dst[:2*testC]) || !allZero(dst[5*testC:]) {
		t.Fatal("bytes outside the needed chunks were written")
	}
	// Chunk boundaries: [C, 2C) is exactly chunk 1; an empty range is nothing.
	if err := o.Ensure(testC, 2*testC); err != nil || !o.chunks[1].done.Load() || o.chunks[5].done.Load() {
		t.Fatalf("exact chunk: %v", err)
	}
	if err := o.Ensure(7*testC, 7*testC); err != nil || o.chunks[7].done.Load() {
		t.Fatalf("empty range: %v", err)
	}
	// The tail, up to PlainLen.
	if err := o.Ensure(p.PlainLen-1, p.PlainLen); err != nil || !bytes.Equal(dst[10*testC:], plain[10*testC:]) {
		t.Fatalf("last chunk: %v", err)
	}
	// Damaged chunks fail, the lowest is named, and the failure sticks.
	err = o.All()
	wantCode(t, err, errs.Decrypt, "All with damaged chunks")
	if !strings.Contains(err.Error(), "chunk 0 of 11") {
		t.Fatalf("message does not name chunk 0: %v", err)
	}
	err = o.Ensure(9*testC, 9*testC+1)
	wantCode(t, err, errs.Decrypt, "chunk 9 again")
	if !strings.Contains(err.Error(), "chunk 9 of 11") {
		t.Fatalf("message does not name chunk 9: %v", err)
	}
	// Every good chunk was decrypted by All; the bad ones were zeroed.
	for i := 1; i <= 10; i++ {
		if i == 9 {
			continue
		}
		lo, hi := i*testC, min(len(plain), (i+1)*testC)
		if !bytes.Equal(dst[lo:hi], plain[lo:hi]) {
			t.Fatalf("chunk %d differs after All", i)
		}
	}
	if !allZero(dst[9*testC : 10*testC]) {
		t.Fatal("a failing chunk left bytes in dst")
	}
	// Out of range.
	wantCode(t, o.Ensure(0, p.PlainLen+1), errs.InvalidValue, "past the end")
	wantCode(t, o.Ensure(5, 4), errs.InvalidValue, "reversed")
}

func TestWrongKey(t *testing.T) {
	p, _, s := sealed(t, 100, testC)
	other := bytes.Repeat([]byte{0x12}, 32)
	_, err := openAll(other, &p, testBind, s)
	wantCode(t, err, errs.KeyWrong, "wrong key")
	if !strings.Contains(err.Error(), "key check differs") {
		t.Errorf("message: %v", err)
	}
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := openAll(make([]byte, n), &p, testBind, s)
		wantCode(t, err, errs.KeyInvalid, fmt.Sprintf("%d-byte key", n))
		_, err = NewParams(make([]byte, n), 1, 0)
		wantCode(t, err, errs.KeyInvalid, fmt.Sprintf("NewParams with a %d-byte key", n))
		_, err = Seal(make([]byte, n), &p, testBind, make([]byte, 100))
		wantCode(t, err, errs.KeyInvalid, fmt.Sprintf("Seal with a %d-byte key", n))
	}
	_, err = Seal(other, &p, testBind, make([]byte, 100))
	wantCode(t, err, errs.KeyWrong, "Seal with another key than the params'")
	_, err = Seal(testKey, &p, testBind, make([]byte, 99))
	wantCode(t, err, errs.InvalidValue, "Seal with a short plaintext")
}

func TestTamper(t *testing.T) {
	const n = 3*testC + 5
	p, plain, s := sealed(t, n, testC)
	for _, at := range []int{0, 17, testC, testC + 15, testC + 16, 2*(testC+16) + 100, 3 * (testC + 16), len(s) - 1} {
		bad := bytes.Clone(s)
		bad[at] ^= 0x80
		chunk := at / (testC + 16)
		dst := make([]byte, n)
		o, err := NewOpener(testKey, &p, testBind, bad, dst)
		if err != nil {
			t.Fatal(err)
		}
		err = o.All()
		wantCode(t, err, errs.Decrypt, fmt.Sprintf("byte %d flipped", at))
		if !strings.Contains(err.Error(), fmt.Sprintf("chunk %d of 4", chunk)) {
			t.Fatalf("byte %d flipped: message does not name chunk %d: %v", at, chunk, err)
		}
		for i := range 4 {
			err := o.Ensure(uint64(i*testC), uint64(min(n, (i+1)*testC)))
			if (err != nil) != (i == chunk) {
				t.Fatalf("byte %d flipped: chunk %d: %v", at, i, err)
			}
			if i != chunk && !bytes.Equal(dst[i*testC:min(n, (i+1)*testC)], plain[i*testC:min(n, (i+1)*testC)]) {
				t.Fatalf("byte %d flipped: chunk %d differs", at, i)
			}
		}
	}

	// Swapping two full chunks: each opens only at its own index.
	bad := bytes.Clone(s)
	w := testC + 16
	copy(bad[0:w], s[w:2*w])
	copy(bad[w:2*w], s[0:w])
	_, err := openAll(testKey, &p, testBind, bad)
	wantCode(t, err, errs.Decrypt, "swapped chunks")

	// A shorter or longer section is caught by its length.
	for name, b := range map[string][]byte{
		"last chunk truncated": s[:len(s)-1],
		"last chunk dropped":   s[:3*w],
		"tag only dropped":     s[:len(s)-16],
		"extended":             append(bytes.Clone(s), 0),
		"empty":                nil,
	} {
		_, err := openAll(testKey, &p, testBind, b)
		wantCode(t, err, errs.FormatEncryption, name)
		if !strings.Contains(err.Error(), "truncated or extended") {
			t.Fatalf("%s: message: %v", name, err)
		}
	}

	// Dropping the last chunk and re-declaring the length: the new last chunk
	// was sealed with last flag 0, so it fails.
	q := p
	q.PlainLen = 3 * testC
	_, err = openAll(testKey, &q, testBind, s[:3*w])
	wantCode(t, err, errs.Decrypt, "last chunk dropped, length re-declared")

	// Another bind digest (changed params or metadata).
	other := testBind
	other[0] ^= 1
	_, err = openAll(testKey, &p, other, s)
	wantCode(t, err, errs.Decrypt, "different bind")

	// The empty plaintext's one chunk is authenticated too.
	pe, _, se := sealed(t, 0, testC)
	se[3] ^= 1
	_, err = openAll(testKey, &pe, testBind, se)
	wantCode(t, err, errs.Decrypt, "empty plaintext, tag flipped")
}

func TestConcurrentEnsure(t *testing.T) {
	const n = 64*testC + 77
	p, plain, s := sealed(t, n, testC)
	dst := make([]byte, n)
	o, err := NewOpener(testKey, &p, testBind, s, dst)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 50 {
				lo := r.Uint64N(n)
				hi := lo + r.Uint64N(n-lo) + 1
				if err := o.Ensure(lo, hi); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(dst[lo:hi], plain[lo:hi]) {
					t.Errorf("[%d, %d) differs", lo, hi)
					return
				}
			}
			if err := o.All(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if !bytes.Equal(dst, plain) {
		t.Fatal("plaintext differs")
	}
}

func TestOpenerArguments(t *testing.T) {
	p, _, s := sealed(t, 100, testC)
	_, err := NewOpener(testKey, &p, testBind, s, make([]byte, 99))
	wantCode(t, err, errs.InvalidValue, "short dst")
	buf := make([]byte, len(s)+100)
	copy(buf, s)
	_, err = NewOpener(testKey, &p, testBind, buf[:len(s)], buf[len(s)-1:])
	wantCode(t, err, errs.InvalidValue, "overlapping dst")
	bad := p
	bad.ChunkSize = 1000
	_, err = NewOpener(testKey, &bad, testBind, s, make([]byte, 100))
	wantCode(t, err, errs.FormatEncryption, "bad chunk size")
}

func TestParams(t *testing.T) {
	p, err := NewParams(testKey, 5, 0)
	if err != nil || p.ChunkSize != DefaultChunkSize {
		t.Fatalf("default chunk size: %d %v", p.ChunkSize, err)
	}
	q, _ := NewParams(testKey, 5, 0)
	if p.Salt == q.Salt {
		t.Fatal("two params got the same salt")
	}
	for _, c := range []uint32{1, 2048, 4095, 4097, 6000, 32 << 20, 1 << 31} {
		_, err := NewParams(testKey, 5, c)
		wantCode(t, err, errs.InvalidValue, fmt.Sprintf("chunk size %d", c))
	}
	for _, c := range []uint32{MinChunkSize, 1 << 16, MaxChunkSize} {
		if _, err := NewParams(testKey, 5, c); err != nil {
			t.Fatalf("chunk size %d: %v", c, err)
		}
	}
	_, err = NewParams(testKey, 1<<62, 0)
	wantCode(t, err, errs.InvalidValue, "P = 2^62")

	good := p.Encode()
	edits := map[string]func([]byte) []byte{
		"version 2":    func(b []byte) []byte { le.PutUint32(b, 2); return b },
		"version 0":    func(b []byte) []byte { le.PutUint32(b, 0); return b },
		"algorithm 2":  func(b []byte) []byte { le.PutUint32(b[4:], 2); return b },
		"chunk 0":      func(b []byte) []byte { le.PutUint32(b[8:], 0); return b },
		"chunk 4095":   func(b []byte) []byte { le.PutUint32(b[8:], 4095); return b },
		"chunk 12288":  func(b []byte) []byte { le.PutUint32(b[8:], 12288); return b },
		"chunk 32 MiB": func(b []byte) []byte { le.PutUint32(b[8:], 32<<20); return b },
		"reserved":     func(b []byte) []byte { b[12] = 1; return b },
		"P = 2^62":     func(b []byte) []byte { le.PutUint64(b[16:], 1<<62); return b },
		"P = 2^64-1":   func(b []byte) []byte { le.PutUint64(b[16:], ^uint64(0)); return b },
		"short":        func(b []byte) []byte { return b[:71] },
		"long":         func(b []byte) []byte { return append(b, 0) },
		"empty":        func(b []byte) []byte { return nil },
	}
	for name, edit := range edits {
		_, err := DecodeParams(edit(bytes.Clone(good)))
		wantCode(t, err, errs.FormatEncryption, name)
	}
	// The largest P is fine and its sealed length does not overflow.
	b := bytes.Clone(good)
	le.PutUint64(b[16:], MaxPlainLen)
	le.PutUint32(b[8:], MinChunkSize)
	q, err = DecodeParams(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(MaxPlainLen) + 16*(uint64(MaxPlainLen)/MinChunkSize+1); q.SealedLen() != want {
		t.Fatalf("SealedLen %d, want %d", q.SealedLen(), want)
	}
}

func TestSecret(t *testing.T) {
	s, err := AllocSecret(10000)
	if err != nil {
		t.Fatal(err)
	}
	b := s.Bytes()
	if len(b) != 10000 || !bytes.Equal(b, make([]byte, 10000)) {
		t.Fatal("secret memory is not 10000 zero bytes")
	}
	for i := range b {
		b[i] = byte(i) | 1
	}
	s.Free()
	s.Free() // idempotent
	if s.Bytes() != nil {
		t.Fatal("Bytes after Free")
	}

	z, err := AllocSecret(0)
	if err != nil || len(z.Bytes()) != 0 {
		t.Fatalf("empty secret: %v", err)
	}
	z.Free()
	_, err = AllocSecret(-1)
	wantCode(t, err, errs.InvalidValue, "negative size")
	_, err = AllocSecret(1 << 62)
	wantCode(t, err, errs.NoMemorySystem, "2^62 bytes")
}

// TestWipe checks the helper Free uses (the memory itself is unmapped by
// then and cannot be read).
func TestWipe(t *testing.T) {
	b := bytes.Repeat([]byte{0xA5}, 5000)
	wipe(b)
	if !bytes.Equal(b, make([]byte, 5000)) {
		t.Fatal("wipe left non-zero bytes")
	}
	wipe(nil)
}

func benchData(b *testing.B) (Params, []byte) {
	const n = 64 << 20
	p, err := NewParams(testKey, n, DefaultChunkSize)
	if err != nil {
		b.Fatal(err)
	}
	return p, plaintext(n)
}

func BenchmarkSeal(b *testing.B) {
	p, plain := benchData(b)
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Seal(testKey, &p, testBind, plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	p, plain := benchData(b)
	s, err := Seal(testKey, &p, testBind, plain)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, len(plain))
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for b.Loop() {
		o, err := NewOpener(testKey, &p, testBind, s, dst)
		if err != nil {
			b.Fatal(err)
		}
		if err := o.All(); err != nil {
			b.Fatal(err)
		}
	}
}
