package strs

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/errs"
)

func TestPackRoundTrip(t *testing.T) {
	for _, in := range [][]string{nil, {""}, {"a", "", "café", "東京"}} {
		p := PackStrings(in)
		if err := Check(p, int64(len(in)), errs.InvalidString); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := Unpack(p, int64(len(in))); strings.Join(got, "|") != strings.Join(in, "|") || len(got) != len(in) {
			t.Errorf("round trip of %q gave %q", in, got)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	good := PackStrings([]string{"ab", "c"})
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string]struct {
		b []byte
		n int64
	}{
		"short offsets":  {good[:16], 2},
		"negative count": {good, -1},
		"huge count":     {good, 1 << 61},
		"first not zero": {mut(func(b []byte) []byte { binary.LittleEndian.PutUint64(b, 1); return b }), 2},
		"out of order": {func() []byte {
			b := PackStrings([]string{"ab", "c", ""})
			binary.LittleEndian.PutUint64(b[16:], 1)
			return b
		}(), 3},
		"last past the text": {mut(func(b []byte) []byte { return b[:len(b)-1] }), 2},
		"trailing bytes":     {append(append([]byte(nil), good...), 'x'), 2},
		"invalid utf-8":      {mut(func(b []byte) []byte { b[24] = 0xff; return b }), 2},
		"too long":           {PackStrings([]string{strings.Repeat("x", MaxBytes+1)}), 1},
	}
	for name, c := range cases {
		err := Check(c.b, c.n, errs.FormatString)
		if errs.CodeOf(err) != errs.FormatString {
			t.Errorf("%s: got %v, want MLE_ERR_FORMAT_STRING", name, err)
		}
	}
	if err := Check(PackStrings([]string{strings.Repeat("é", MaxBytes/2)}), 1, errs.InvalidString); err != nil {
		t.Errorf("a string of exactly MaxBytes: %v", err)
	}
}
