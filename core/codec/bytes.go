package codec

import (
	"encoding/binary"
	"math"
)

// Little-endian helpers, kept tiny so the compiler inlines them.

func putU32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
func putU64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }
func getU32(b []byte) uint32    { return binary.LittleEndian.Uint32(b) }
func getU64(b []byte) uint64    { return binary.LittleEndian.Uint64(b) }

func putF64(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) }
func getF64(b []byte) float64    { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }
func getF32(b []byte) float32    { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// element returns element i of a float32 or float64 raw tensor as float64.
func element(raw []byte, i int, f64 bool) float64 {
	if f64 {
		return getF64(raw[8*i:])
	}
	return float64(getF32(raw[4*i:]))
}

// absDiff is |a-b| for a decoded value a and its original b, treating equal
// infinities and two NaNs as no error (they are kept, not approximated).
func absDiff(a, b float64) float64 {
	if a == b || (a != a && b != b) {
		return 0
	}
	return math.Abs(a - b)
}
