package kernels

// CompareOp selects the predicate of Compare.
type CompareOp uint8

// Comparisons.
const (
	OpEqual CompareOp = iota
	OpGreater
	OpLess
)

// Compare writes out[i] = 1 where a op b holds (broadcast by s), else 0,
// for rows [r0, r1) of the walk. NaN compares false, as in IEEE 754.
func Compare[T Number](op CompareOp, s *Strided, out []byte, a, b []T, r0, r1 int) {
	_, inner := s.Rows()
	ia, ib := s.StrideA[len(s.Dims)-1], s.StrideB[len(s.Dims)-1]
	for r := r0; r < r1; r++ {
		oa, ob := s.offsets(r)
		o := out[r*inner : r*inner+inner]
		for i := range o {
			x, y := a[oa+i*ia], b[ob+i*ib]
			var t bool
			switch op {
			case OpEqual:
				t = x == y
			case OpGreater:
				t = x > y
			case OpLess:
				t = x < y
			}
			o[i] = b2u8(t)
		}
	}
}

func b2u8(t bool) byte {
	if t {
		return 1
	}
	return 0
}

// IsNaN writes 1 where x is NaN.
func IsNaN[T Float](out []byte, x []T) {
	for i, v := range x[:len(out)] {
		out[i] = b2u8(v != v)
	}
}

// Clip limits x to [lo, hi]; NaN stays NaN.
func Clip[T Float](out, x []T, lo, hi T) {
	for i, v := range x[:len(out)] {
		switch {
		case v < lo:
			v = lo
		case v > hi:
			v = hi
		}
		out[i] = v
	}
}
