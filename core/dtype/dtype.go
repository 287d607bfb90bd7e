// Package dtype defines MLE's element types and overflow-checked size arithmetic.
//
// The numeric ids equal ONNX TensorProto.DataType values, so an ONNX importer
// needs no translation table. Ids are never reused.
package dtype

import (
	"fmt"
	"math/bits"
)

// DType is an element type id. The constants and their names and sizes
// (dtype_gen.go) are generated from cmd/mle-gentables/tables.go: `make gen`.
type DType uint8

// MaxRank is the largest tensor rank MLE accepts anywhere.
const MaxRank = 8

// refSize is the size of a string element inside a run: a reference to its
// bytes (engine). Outside a run, string tensors are packed (package strs).
const refSize = 16

// Valid reports whether d is a known dtype.
func (d DType) Valid() bool { return int(d) < len(info) && info[d].size != 0 }

// Size returns the size of one element in bytes (0 for unknown dtypes). A
// string's size is that of its reference inside a run; its packed size
// outside a run depends on the text (package strs).
func (d DType) Size() int {
	if !d.Valid() {
		return 0
	}
	return info[d].size
}

// IsString reports whether d is the variable-length string type.
func (d DType) IsString() bool { return d == String }

// IsFloat reports whether d is a compute float type (float32 or float64).
func (d DType) IsFloat() bool { return d == Float32 || d == Float64 }

func (d DType) String() string {
	if !d.Valid() {
		return fmt.Sprintf("dtype(%d)", uint8(d))
	}
	return info[d].name
}

// Parse returns the dtype named s: its name ("float32") or short name ("f32").
func Parse(s string) (DType, bool) {
	for i, in := range info {
		if in.size != 0 && (in.name == s || (in.short != "" && in.short == s)) {
			return DType(i), true
		}
	}
	return Invalid, false
}

// All lists every valid dtype.
func All() []DType {
	var out []DType
	for i := range info {
		if DType(i).Valid() {
			out = append(out, DType(i))
		}
	}
	return out
}

// NumElements returns the product of dims. ok is false when a dim is
// negative or the product overflows int64.
func NumElements(dims []int64) (n int64, ok bool) {
	n = 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > 1<<62 {
			return 0, false
		}
		n = int64(lo)
	}
	return n, true
}

// ByteSize returns NumElements(dims) × d.Size(), with the same overflow checks.
// The result is capped at 2^62 so that later offset additions cannot overflow.
func ByteSize(d DType, dims []int64) (int64, bool) {
	n, ok := NumElements(dims)
	if !ok || !d.Valid() {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(n), uint64(d.Size()))
	if hi != 0 || lo > 1<<62 {
		return 0, false
	}
	return int64(lo), true
}
