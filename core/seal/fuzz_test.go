package seal

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds arbitrary parameters and sealed bytes to the Opener. The
// key check is recomputed for the fuzzed salt so that inputs get past it to
// the decryption; sizeFix pads or cuts the sealed bytes to the length the
// parameters need so that they get past the length check too.
func FuzzOpen(f *testing.F) {
	for _, n := range []int{0, 1, testC + 1, 3*testC + 5} {
		p, err := NewParams(testKey, uint64(n), testC)
		if err != nil {
			f.Fatal(err)
		}
		s, err := Seal(testKey, &p, testBind, plaintext(n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Encode(), s, false, uint64(0), uint64(n))
		f.Add(p.Encode(), s, true, uint64(n/3), uint64(n/2))
		f.Add(p.Encode(), s[:len(s)/2], true, uint64(0), uint64(n))
	}
	f.Fuzz(func(t *testing.T, params, sealed []byte, sizeFix bool, lo, hi uint64) {
		p, err := DecodeParams(params)
		if err != nil {
			return
		}
		if p.PlainLen > 1<<20 {
			return // keep each input's memory small
		}
		pk := payloadKey(testKey, &p.Salt)
		p.KeyCheck = keyCheck(pk)
		if sizeFix {
			fixed := make([]byte, p.SealedLen())
			copy(fixed, sealed)
			sealed = fixed
		}
		// dst sits between guard bytes that must survive.
		const guard = 64
		buf := bytes.Repeat([]byte{0xEE}, int(p.PlainLen)+2*guard)
		dst := buf[guard : guard+int(p.PlainLen) : guard+int(p.PlainLen)]
		o, err := NewOpener(testKey, &p, testBind, sealed, dst)
		if err != nil {
			return
		}
		if n := p.PlainLen + 1; n > 0 {
			lo, hi = lo%n, hi%n
		}
		o.Ensure(min(lo, hi), max(lo, hi))
		o.All()
		for i, b := range append(buf[:guard:guard], buf[guard+int(p.PlainLen):]...) {
			if b != 0xEE {
				t.Fatalf("guard byte %d was overwritten", i)
			}
		}
	})
}
