package npy

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

func TestRoundTrip(t *testing.T) {
	for _, a := range []*Array{
		{DType: dtype.Float32, Shape: []int64{2, 3}, Data: make([]byte, 24)},
		{DType: dtype.Int64, Shape: []int64{5}, Data: bytes.Repeat([]byte{1}, 40)},
		{DType: dtype.Float64, Shape: []int64{}, Data: make([]byte, 8)},
		{DType: dtype.Bool, Shape: []int64{0, 4}, Data: []byte{}},
	} {
		var buf bytes.Buffer
		if err := Encode(&buf, a); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-len(a.Data))%64 != 0 {
			t.Errorf("header not padded to 64: %d", buf.Len()-len(a.Data))
		}
		got, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(a, got); d != "" {
			t.Error(d)
		}
	}
}

// A header as numpy writes it (version 1.0, trailing comma, padding).
func TestNumpyHeader(t *testing.T) {
	h := "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
	h += string(bytes.Repeat([]byte{' '}, 128-10-len(h)-1)) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(h)))
	b = append(append(b, h...), make([]byte, 24)...)
	a, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != dtype.Float64 || len(a.Shape) != 1 || a.Shape[0] != 3 {
		t.Fatalf("%+v", a)
	}
}

func TestBadFiles(t *testing.T) {
	mk := func(dict string, data int) []byte {
		b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
		binary.LittleEndian.PutUint16(b[8:], uint16(len(dict)))
		return append(append(b, dict...), make([]byte, data)...)
	}
	cases := []struct {
		name string
		b    []byte
		want errs.Code
	}{
		{"magic", []byte("hello world!"), errs.InvalidValue},
		{"fortran", mk("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16), errs.UnsupportedFeature},
		{"big endian", mk("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8), errs.UnsupportedFeature},
		{"short data", mk("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 15), errs.InvalidValue},
		{"header past end", append([]byte("\x93NUMPY\x01\x00"), 0xff, 0x7f), errs.InvalidValue},
		{"missing key", mk("{'descr': '<f4', 'shape': (2,), }", 8), errs.InvalidValue},
		{"negative dim", mk("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 0), errs.InvalidValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.b)
			if got := errs.CodeOf(err); got != c.want {
				t.Fatalf("got %v (%v), want %v", got, err, c.want)
			}
		})
	}
}
