// Package strs defines the packed layout of string tensors (docs/FORMAT.md
// §7.1), the one form in which strings cross a boundary: stored in a file,
// passed to a run, returned from one.
//
// A string tensor of n elements is packed as n+1 little-endian uint64
// offsets followed by the elements' UTF-8 bytes, back to back:
//
//	offsets[0] = 0, offsets[i] <= offsets[i+1], offsets[n] = len(bytes)
//	element i = bytes[offsets[i]:offsets[i+1]]
//
// so the packed size is 8(n+1) + offsets[n]. Every element must be valid
// UTF-8 and at most MaxBytes long.
package strs

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/errs"
)

// MaxBytes is the longest string element MLE accepts, in bytes (1 MiB):
// enough for a document, small enough that no element can make a run
// allocate without bound.
const MaxBytes = 1 << 20

// HeaderSize returns the bytes of the offsets of n elements, 8(n+1), and
// false when that overflows.
func HeaderSize(n int64) (int64, bool) {
	if n < 0 || n > (1<<62)/8-1 {
		return 0, false
	}
	return 8 * (n + 1), true
}

// Check validates a packed tensor of n elements. Errors carry code and name
// the element: errs.InvalidString for callers' tensors, errs.FormatString
// for stored ones.
func Check(packed []byte, n int64, code errs.Code) error {
	head, ok := HeaderSize(n)
	if !ok || head > int64(len(packed)) {
		return errs.New(code, "%d strings need %d bytes of offsets; the tensor holds %d bytes", n, head, len(packed))
	}
	body := packed[head:]
	if last := binary.LittleEndian.Uint64(packed[8*n:]); last != uint64(len(body)) {
		return errs.New(code, "the last offset is %d but %d bytes of text follow the offsets", last, len(body))
	}
	if first := binary.LittleEndian.Uint64(packed); first != 0 {
		return errs.New(code, "the first offset is %d, not 0", first)
	}
	prev := uint64(0)
	for i := int64(0); i < n; i++ {
		next := binary.LittleEndian.Uint64(packed[8*(i+1):])
		if next < prev || next > uint64(len(body)) {
			return errs.New(code, "string %d: offsets %d..%d are out of order or past the text's %d bytes", i, prev, next, len(body))
		}
		if next-prev > MaxBytes {
			return errs.New(code, "string %d is %d bytes long; the limit is %d", i, next-prev, MaxBytes)
		}
		if s := body[prev:next]; !utf8.Valid(s) {
			return errs.New(code, "string %d is not valid UTF-8 (at byte %d of it)", i, invalidAt(s))
		}
		prev = next
	}
	return nil
}

// invalidAt returns the offset of the first invalid UTF-8 sequence in s.
func invalidAt(s []byte) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// Elem returns element i of a tensor that passed Check.
func Elem(packed []byte, n, i int64) []byte {
	head := 8 * (n + 1)
	lo := binary.LittleEndian.Uint64(packed[8*i:])
	hi := binary.LittleEndian.Uint64(packed[8*(i+1):])
	return packed[head+int64(lo) : head+int64(hi)]
}

// Size returns the packed size of the given elements, and false when it
// would overflow.
func Size(elems [][]byte) (int64, bool) {
	total, ok := HeaderSize(int64(len(elems)))
	if !ok {
		return 0, false
	}
	for _, e := range elems {
		s, carry := bits.Add64(uint64(total), uint64(len(e)), 0)
		if carry != 0 || s > 1<<62 {
			return 0, false
		}
		total = int64(s)
	}
	return total, true
}

// Pack returns elems packed.
func Pack(elems [][]byte) []byte {
	n, _ := Size(elems)
	out := make([]byte, n)
	PackInto(out, len(elems), func(i int) []byte { return elems[i] })
	return out
}

// PackStrings returns elems packed.
func PackStrings(elems []string) []byte {
	b := make([][]byte, len(elems))
	for i, s := range elems {
		b[i] = []byte(s)
	}
	return Pack(b)
}

// PackInto writes n elements, got from elem, packed into dst, which must
// hold exactly their packed size.
func PackInto(dst []byte, n int, elem func(i int) []byte) {
	head := 8 * (n + 1)
	at := 0
	binary.LittleEndian.PutUint64(dst, 0)
	for i := 0; i < n; i++ {
		at += copy(dst[head+at:], elem(i))
		binary.LittleEndian.PutUint64(dst[8*(i+1):], uint64(at))
	}
}

// Unpack returns the elements of a tensor that passed Check, as strings.
func Unpack(packed []byte, n int64) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(Elem(packed, n, int64(i)))
	}
	return out
}
