// Package npy reads and writes NumPy .npy files (format versions 1.0–3.0,
// little-endian, C order), the array exchange format of the mle CLI.
//
// Text: numpy str arrays ('<U', fixed-width UCS-4) and bytes arrays ('|S',
// read as UTF-8) decode to MLE string tensors (packed, package strs); string
// tensors encode as '<U'. numpy drops trailing NULs from such elements, and
// so does this package. Object arrays are pickles and are refused.
package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/osmem"
	"github.com/mle-runtime/mle/core/strs"
)

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header dict (NumPy itself caps it at 10 000 bytes
// by default).
const maxHeader = 1 << 16

var descrs = map[string]dtype.DType{
	"<f4": dtype.Float32, "<f8": dtype.Float64, "<f2": dtype.Float16, "<i4": dtype.Int32, "<i8": dtype.Int64,
	"|i1": dtype.Int8, "|u1": dtype.Uint8, "|b1": dtype.Bool, "<i1": dtype.Int8, "<u1": dtype.Uint8,
}

func descrOf(d dtype.DType) (string, bool) {
	switch d {
	case dtype.Float32:
		return "<f4", true
	case dtype.Float64:
		return "<f8", true
	case dtype.Float16:
		return "<f2", true
	case dtype.Int32:
		return "<i4", true
	case dtype.Int64:
		return "<i8", true
	case dtype.Int8:
		return "|i1", true
	case dtype.Uint8:
		return "|u1", true
	case dtype.Bool:
		return "|b1", true
	}
	return "", false
}

// Array is a decoded .npy array: little-endian elements in C order.
type Array struct {
	DType dtype.DType
	Shape []int64
	Data  []byte
}

// ReadFile reads an .npy file. Only regular files are read (a FIFO would
// block), and only when the machine has the memory to hold them.
func ReadFile(path string) (*Array, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errs.Wrap(errs.IORead, err, "reading %s", path)
	}
	if !st.Mode().IsRegular() {
		return nil, errs.New(errs.IONotFile, "%s is not a regular file", path)
	}
	if avail, ok := osmem.Available(); ok && st.Size() > avail {
		return nil, errs.New(errs.NoMemorySystem, "%s holds %d bytes; the system has %d available", path, st.Size(), avail)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.Wrap(errs.IORead, err, "reading %s", path)
	}
	a, err := Decode(b)
	if err != nil {
		return nil, errs.Prefix(err, "%s", path)
	}
	return a, nil
}

// Decode parses an .npy file held in memory.
func Decode(b []byte) (*Array, error) {
	bad := func(format string, args ...any) error {
		return errs.New(errs.InvalidValue, "not a valid .npy file: "+format, args...)
	}
	if len(b) < 10 || !bytes.Equal(b[:6], magic) {
		return nil, bad("bad magic")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, bad("truncated header")
		}
		h := binary.LittleEndian.Uint32(b[8:])
		if h > maxHeader {
			return nil, bad("header of %d bytes is too large", h)
		}
		hlen, start = int(h), 12
	default:
		return nil, bad("unsupported version %d.%d", b[6], b[7])
	}
	if hlen > len(b)-start {
		return nil, bad("header runs past the end of the file")
	}
	d, err := parseDict(string(b[start : start+hlen]))
	if err != nil {
		return nil, bad("%v", err)
	}
	if d.fortran {
		return nil, errs.New(errs.UnsupportedFeature, ".npy array is in Fortran order; save it with numpy.ascontiguousarray")
	}
	if w, ucs4, ok := textDescr(d.descr); ok {
		return decodeText(b[start+hlen:], d.shape, w, ucs4)
	}
	dt, ok := descrs[d.descr]
	if !ok {
		if strings.HasSuffix(d.descr, "O") {
			return nil, errs.New(errs.UnsupportedFeature, ".npy object arrays are pickles, which MLE does not read: save text as a str array (numpy.asarray(a, dtype=str))")
		}
		return nil, errs.New(errs.UnsupportedFeature, ".npy dtype %q is not supported (want little-endian float16/32/64, int8/32/64, uint8, bool or str)", d.descr)
	}
	size, ok := dtype.ByteSize(dt, d.shape)
	if !ok {
		return nil, bad("shape %v overflows", d.shape)
	}
	data := b[start+hlen:]
	if int64(len(data)) != size {
		return nil, bad("shape %v of %s needs %d data bytes, file has %d", d.shape, dt, size, len(data))
	}
	return &Array{DType: dt, Shape: d.shape, Data: data}, nil
}

type dict struct {
	descr   string
	fortran bool
	shape   []int64
}

// parseDict reads the Python dict literal of an .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
func parseDict(s string) (dict, error) {
	var d dict
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return d, fmt.Errorf("header is not a dict")
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	seen := map[string]bool{}
	for s != "" {
		key, rest, ok := quoted(s)
		if !ok {
			return d, fmt.Errorf("bad key near %q", trunc(s))
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return d, fmt.Errorf("missing ':' after %q", key)
		}
		rest = strings.TrimSpace(rest[1:])
		switch key {
		case "descr":
			d.descr, rest, ok = quoted(rest)
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "True"):
				d.fortran, rest = true, rest[4:]
			case strings.HasPrefix(rest, "False"):
				rest = rest[5:]
			default:
				ok = false
			}
		case "shape":
			d.shape, rest, ok = tuple(rest)
		default:
			return d, fmt.Errorf("unknown key %q", key)
		}
		if !ok {
			return d, fmt.Errorf("bad value for %q", key)
		}
		seen[key] = true
		rest = strings.TrimSpace(rest)
		rest = strings.TrimPrefix(rest, ",")
		s = strings.TrimSpace(rest)
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return d, fmt.Errorf("header lacks descr, fortran_order or shape")
	}
	return d, nil
}

func trunc(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func quoted(s string) (string, string, bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

func tuple(s string) ([]int64, string, bool) {
	if !strings.HasPrefix(s, "(") {
		return nil, s, false
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return nil, s, false
	}
	shape := []int64{}
	for _, part := range strings.Split(s[1:end], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(part, "L"), 10, 64)
		if err != nil || v < 0 || len(shape) == dtype.MaxRank {
			return nil, s, false
		}
		shape = append(shape, v)
	}
	return shape, s[end+1:], true
}

// Encode writes a as an .npy (version 1.0) file.
func Encode(w io.Writer, a *Array) error {
	descr, ok := descrOf(a.DType)
	data := a.Data
	if a.DType.IsString() {
		var err error
		if descr, data, err = encodeText(a); err != nil {
			return err
		}
		ok = true
	}
	if !ok {
		return errs.New(errs.UnsupportedFeature, ".npy cannot hold %s", a.DType)
	}
	dims := make([]string, len(a.Shape))
	for i, d := range a.Shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	shape := strings.Join(dims, ", ")
	if len(a.Shape) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	// Pad with spaces so the data starts on a 64-byte boundary, ending in '\n'.
	total := 10 + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	var hdr [10]byte
	copy(hdr[:], magic)
	hdr[6], hdr[7] = 1, 0
	binary.LittleEndian.PutUint16(hdr[8:], uint16(len(h)))
	for _, chunk := range [][]byte{hdr[:], []byte(h), data} {
		if _, err := w.Write(chunk); err != nil {
			return errs.Wrap(errs.IOWrite, err, "writing .npy")
		}
	}
	return nil
}

// WriteFile writes a to path.
func WriteFile(path string, a *Array) error {
	var buf bytes.Buffer
	if err := Encode(&buf, a); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return errs.Wrap(errs.IOWrite, err, "writing %s", path)
	}
	return nil
}

// textDescr recognizes '<Un' (ucs4) and '|Sn' descriptors; w is the element
// width in characters (bytes for S).
func textDescr(descr string) (w int64, ucs4, ok bool) {
	switch {
	case strings.HasPrefix(descr, "<U"):
		ucs4 = true
	case strings.HasPrefix(descr, "|S"):
	default:
		return 0, false, false
	}
	w, err := strconv.ParseInt(descr[2:], 10, 64)
	if err != nil || w < 0 || w > strs.MaxBytes {
		return 0, false, false
	}
	return w, ucs4, true
}

// decodeText packs fixed-width text elements (trailing NULs dropped) as a
// string tensor.
func decodeText(data []byte, shape []int64, w int64, ucs4 bool) (*Array, error) {
	n, ok := dtype.NumElements(shape)
	item := w
	if ucs4 {
		item *= 4
	}
	if !ok || (item > 0 && n > int64(len(data))/item) || n*item != int64(len(data)) {
		return nil, errs.New(errs.InvalidValue, "not a valid .npy file: shape %v of %d-byte text needs %d data bytes, file has %d", shape, item, n*item, len(data))
	}
	elems := make([][]byte, n)
	for i := range elems {
		raw := data[int64(i)*item : int64(i+1)*item]
		if !ucs4 {
			e := bytes.TrimRight(raw, "\x00")
			if !utf8.Valid(e) {
				return nil, errs.New(errs.InvalidString, ".npy element %d is not valid UTF-8", i)
			}
			elems[i] = e
			continue
		}
		var e []byte
		for k := 0; k < len(raw); k += 4 {
			r := binary.LittleEndian.Uint32(raw[k:])
			if r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
				return nil, errs.New(errs.InvalidString, ".npy element %d holds %#x, which is not a Unicode scalar value", i, r)
			}
			e = utf8.AppendRune(e, rune(r))
		}
		elems[i] = bytes.TrimRight(e, "\x00")
	}
	if _, ok := strs.Size(elems); !ok {
		return nil, errs.New(errs.ShapeTooLarge, ".npy text is too large")
	}
	return &Array{DType: dtype.String, Shape: shape, Data: strs.Pack(elems)}, nil
}

// encodeText lays a string tensor out as '<U' with the longest element's
// width (at least 1, as numpy does).
func encodeText(a *Array) (descr string, data []byte, err error) {
	n, _ := dtype.NumElements(a.Shape)
	if err := strs.Check(a.Data, n, errs.InvalidString); err != nil {
		return "", nil, err
	}
	w := 1
	for i := int64(0); i < n; i++ {
		w = max(w, utf8.RuneCount(strs.Elem(a.Data, n, i)))
	}
	out := make([]byte, n*int64(w)*4)
	for i := int64(0); i < n; i++ {
		at := i * int64(w) * 4
		for _, r := range string(strs.Elem(a.Data, n, i)) {
			binary.LittleEndian.PutUint32(out[at:], uint32(r))
			at += 4
		}
	}
	return "<U" + strconv.Itoa(w), out, nil
}
