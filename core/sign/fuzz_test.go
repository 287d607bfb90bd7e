package sign

import (
	"bytes"
	"testing"
)

func FuzzDecodeManifest(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		f.Add(testManifest(n).Encode())
	}
	f.Add((&Manifest{}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatalf("re-encode differs from the input")
		}
	})
}

func FuzzDecodeSection(f *testing.F) {
	man := testManifest(2).Encode()
	one, _ := EncodeSection(man, []Signature{SignManifest(seedKey(1), man)})
	two, _ := EncodeSection(man, []Signature{SignManifest(seedKey(1), man), SignManifest(seedKey(2), man)})
	empty, _ := EncodeSection(nil, []Signature{SignManifest(seedKey(3), nil)})
	for _, b := range [][]byte{one, two, empty} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, sigs, err := DecodeSection(b)
		if err != nil {
			return
		}
		again, err := EncodeSection(m, sigs)
		if err != nil {
			t.Fatalf("a decoded section does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs from the input")
		}
		// Verifying forged input must not panic.
		for _, s := range sigs {
			s.Verify(m)
		}
		if dm, err := DecodeManifest(m); err == nil && !bytes.Equal(dm.Encode(), m) {
			t.Fatalf("manifest re-encode differs")
		}
	})
}
