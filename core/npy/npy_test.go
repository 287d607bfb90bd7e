package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/strs"
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

// '<U' text as numpy writes np.save(f, np.array(["ab", "é"])): UCS-4,
// NUL-padded to the widest element.
func TestTextRoundTrip(t *testing.T) {
	var ucs []byte
	for _, r := range []rune{'a', 'b', 'é', 0} {
		ucs = binary.LittleEndian.AppendUint32(ucs, uint32(r))
	}
	file := append(npyHeader(t, "<U2", "(2,)"), ucs...)
	a, err := Decode(file)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != dtype.String || strings.Join(strs.Unpack(a.Data, 2), "|") != "ab|é" {
		t.Fatalf("decoded %v %q", a.DType, a.Data)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, a); err != nil {
		t.Fatal(err)
	}
	b, err := Decode(buf.Bytes())
	if err != nil || !bytes.Equal(b.Data, a.Data) || !strings.Contains(buf.String(), "'<U2'") {
		t.Fatalf("re-encoded: %v %q", err, buf.String())
	}
	// |S: bytes read as UTF-8; invalid UTF-8 and surrogates are refused.
	s, err := Decode(append(npyHeader(t, "|S3", "(2,)"), "hi\x00xyz"...))
	if err != nil || strings.Join(strs.Unpack(s.Data, 2), "|") != "hi|xyz" {
		t.Fatalf("|S3: %v %v", err, s)
	}
	if _, err := Decode(append(npyHeader(t, "|S1", "(1,)"), 0xff)); errs.CodeOf(err) != errs.InvalidString {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if _, err := Decode(append(npyHeader(t, "<U1", "(1,)"), 0x00, 0xd8, 0, 0)); errs.CodeOf(err) != errs.InvalidString {
		t.Errorf("surrogate: %v", err)
	}
	if _, err := Decode(append(npyHeader(t, "<U2", "(2,)"), ucs[:12]...)); errs.CodeOf(err) != errs.InvalidValue {
		t.Errorf("short data: %v", err)
	}
	if _, err := Decode(npyHeader(t, "|O", "(0,)")); errs.CodeOf(err) != errs.UnsupportedFeature {
		t.Errorf("object array: %v", err)
	}
}

func npyHeader(t *testing.T, descr, shape string) []byte {
	t.Helper()
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }\n", descr, shape)
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	return append(out, h...)
}
