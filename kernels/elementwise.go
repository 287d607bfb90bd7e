package kernels

import "math"

// Number is the element types of MLE's arithmetic ops.
type Number interface {
	~float32 | ~float64 | ~int32 | ~int64
}

// Float is the element types of MLE's floating-point ops.
type Float interface {
	~float32 | ~float64
}

// BinaryOp selects the arithmetic of Binary.
type BinaryOp uint8

// Binary ops.
const (
	OpAdd BinaryOp = iota
	OpSub
	OpMul
	OpDiv
)

// Strided describes a broadcast binary loop over a coalesced shape: out has
// Dims (contiguous), and A and B are read with strides StrideA/StrideB
// (0 along broadcast dimensions). Rank is at least 1.
type Strided struct {
	Dims             []int
	StrideA, StrideB []int
}

// NewStrided builds the loop for out = a ∘ b with numpy broadcasting, given
// the operand shapes and the output shape, merging dimensions that can be
// walked as one so that the inner loop is as long as possible.
func NewStrided(outShape, aShape, bShape []int64) Strided {
	r := len(outShape)
	sa, sb := bcastStrides(aShape, r), bcastStrides(bShape, r)
	var s Strided
	for i := 0; i < r; i++ {
		d := int(outShape[i])
		if d == 1 {
			continue // size-1 dims contribute nothing to the walk
		}
		if k := len(s.Dims) - 1; k >= 0 && s.StrideA[k] == sa[i]*d && s.StrideB[k] == sb[i]*d {
			s.Dims[k] *= d
			s.StrideA[k], s.StrideB[k] = sa[i], sb[i]
			continue
		}
		s.Dims = append(s.Dims, d)
		s.StrideA = append(s.StrideA, sa[i])
		s.StrideB = append(s.StrideB, sb[i])
	}
	if len(s.Dims) == 0 {
		s.Dims, s.StrideA, s.StrideB = []int{1}, []int{0}, []int{0}
	}
	return s
}

// bcastStrides returns element strides of a tensor of shape s read as if
// broadcast to rank r: 0 where s has size 1 or is missing.
func bcastStrides(s []int64, r int) []int {
	st := make([]int, r)
	stride := 1
	for i := len(s) - 1; i >= 0; i-- {
		j := i + r - len(s)
		if s[i] != 1 {
			st[j] = stride
		}
		stride *= int(s[i])
	}
	return st
}

// Rows returns how many inner-loop rows the walk has (the product of all
// dims but the last) and the inner length.
func (s *Strided) Rows() (rows, inner int) {
	rows = 1
	for _, d := range s.Dims[:len(s.Dims)-1] {
		rows *= d
	}
	return rows, s.Dims[len(s.Dims)-1]
}

// Offsets returns the offsets in A and B of output element i.
func (s *Strided) Offsets(i int) (oa, ob int) {
	for d := len(s.Dims) - 1; d >= 0; d-- {
		idx := i % s.Dims[d]
		i /= s.Dims[d]
		oa += idx * s.StrideA[d]
		ob += idx * s.StrideB[d]
	}
	return oa, ob
}

// offsets returns the starting offsets in A and B of row r.
func (s *Strided) offsets(r int) (oa, ob int) {
	for i := len(s.Dims) - 2; i >= 0; i-- {
		d := s.Dims[i]
		idx := r % d
		r /= d
		oa += idx * s.StrideA[i]
		ob += idx * s.StrideB[i]
	}
	return oa, ob
}

// Binary computes out = a op b for rows [r0, r1) of the walk s.
// Integer division by zero yields 0 instead of a panic.
func Binary[T Number](op BinaryOp, s *Strided, out, a, b []T, r0, r1 int) {
	_, inner := s.Rows()
	ia, ib := s.StrideA[len(s.Dims)-1], s.StrideB[len(s.Dims)-1]
	if len(s.Dims) == 2 {
		// One outer dim (most broadcasts, once collapsed): row offsets
		// without offsets' divisions, and rows of one operand against one
		// element of the other per row in a single call.
		sa, sb := s.StrideA[0], s.StrideB[0]
		if isFloat32Num[T]() {
			switch {
			case sa == inner && ia == 1 && sb == 1 && ib == 0:
				if rowsScalar32(op, asF32(out), asF32(a), asF32(b), false, inner, r0, r1) {
					return
				}
			case sb == inner && ib == 1 && sa == 1 && ia == 0:
				if rowsScalar32(op, asF32(out), asF32(b), asF32(a), true, inner, r0, r1) {
					return
				}
			}
		}
		for r := r0; r < r1; r++ {
			binaryRow(op, out[r*inner:r*inner+inner], a[r*sa:], b[r*sb:], ia, ib)
		}
		return
	}
	for r := r0; r < r1; r++ {
		oa, ob := s.offsets(r)
		o := out[r*inner : r*inner+inner]
		binaryRow(op, o, a[oa:], b[ob:], ia, ib)
	}
}

// BinaryRange is Binary for the output elements [lo, hi), which need not
// fall on row boundaries: fused chains walk tensors in cache-sized blocks.
// Each element gets exactly the arithmetic Binary gives it.
func BinaryRange[T Number](op BinaryOp, s *Strided, out, a, b []T, lo, hi int) {
	_, inner := s.Rows()
	ia, ib := s.StrideA[len(s.Dims)-1], s.StrideB[len(s.Dims)-1]
	for lo < hi {
		r, c := lo/inner, lo%inner
		n := min(inner-c, hi-lo)
		oa, ob := s.offsets(r)
		binaryRow(op, out[lo:lo+n], a[oa+c*ia:], b[ob+c*ib:], ia, ib)
		lo += n
	}
}

// BinaryRow sets o[i] = a[i] op b[i] for i < len(o) (a and b at least as
// long): Binary's arithmetic on contiguous rows, without a Strided.
func BinaryRow[T Number](op BinaryOp, o, a, b []T) { binaryRow(op, o, a, b, 1, 1) }

func binaryRow[T Number](op BinaryOp, o, a, b []T, ia, ib int) {
	n := len(o)
	if isFloat32Num[T]() && binaryRow32(op, asF32(o), asF32(a), asF32(b), ia, ib) {
		return
	}
	if op == OpDiv && !isInteger[T]() {
		op = opFloatDiv // IEEE division: no zero check per element
	}
	if ia == 0 && ib == 1 && n > 0 && (op == OpAdd || op == OpMul) && !isInteger[T]() {
		// A scalar first operand: x86's rule (the first operand's NaN wins)
		// says a NaN there is every result, quieted; otherwise the order
		// changes no bit, and the loops below take the vector first.
		if x := a[0]; x != x {
			for i := range o {
				o[i] = quietNaN(x)
			}
			return
		}
		a, b, ia, ib = b, a, 1, 0
	}
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:n], b[:n]
		switch op {
		case OpAdd:
			for i := range o {
				o[i] = a[i] + b[i]
			}
		case OpSub:
			for i := range o {
				o[i] = a[i] - b[i]
			}
		case OpMul:
			for i := range o {
				o[i] = a[i] * b[i]
			}
		case OpDiv:
			for i := range o {
				o[i] = div(a[i], b[i])
			}
		case opFloatDiv:
			for i := range o {
				o[i] = a[i] / b[i]
			}
		}
	case ia == 1 && ib == 0:
		a = a[:n]
		y := b[0]
		switch op {
		case OpAdd:
			for i := range o {
				o[i] = a[i] + y
			}
		case OpSub:
			for i := range o {
				o[i] = a[i] - y
			}
		case OpMul:
			for i := range o {
				o[i] = a[i] * y
			}
		case OpDiv:
			for i := range o {
				o[i] = div(a[i], y)
			}
		case opFloatDiv:
			for i := range o {
				o[i] = a[i] / y
			}
		}
	default:
		for i := range o {
			x, y := a[i*ia], b[i*ib]
			switch op {
			case OpAdd:
				o[i] = x + y
			case OpSub:
				o[i] = x - y
			case OpMul:
				o[i] = x * y
			case OpDiv:
				o[i] = div(x, y)
			case opFloatDiv:
				o[i] = x / y
			}
		}
	}
	firstNaNs(o, a, ia) // after the loops: they keep no per-element check
}

// firstNaNs applies x86's rule for two NaN operands to binaryRow's output
// o: the first operand's payload wins. Go's compiler may swap the operands
// of + and * (it does under -race). A NaN result whose first operand (a,
// stride ia) is NaN gets that NaN, quieted.
func firstNaNs[T Number](o, a []T, ia int) {
	// float32 only: the engine's float32 ops follow x86's rule bit for bit
	// (the AVX-512 kernels do); this pass costs about 2× on the Go loops,
	// which run float32 only where AVX-512 is missing, and float64 always.
	if !isFloat32Num[T]() {
		return
	}
	for i, r := range o {
		if r != r {
			if x := a[i*ia]; x != x {
				o[i] = quietNaN(x)
			}
		}
	}
}

// quietNaN is the NaN x with its quiet bit set, as x86 arithmetic returns it.
func quietNaN[T Number](x T) T {
	switch v := any(x).(type) {
	case float32:
		return any(math.Float32frombits(math.Float32bits(v) | 1<<22)).(T)
	case float64:
		return any(math.Float64frombits(math.Float64bits(v) | 1<<51)).(T)
	}
	return x
}

// opFloatDiv is OpDiv for float types, chosen once per row.
const opFloatDiv BinaryOp = 255

// isFloat32Num is isFloat32 for any Number.
func isFloat32Num[T Number]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

func isInteger[T Number]() bool {
	var z T
	switch any(z).(type) {
	case int32, int64:
		return true
	}
	return false
}

func div[T Number](x, y T) T {
	var zero T
	if y == zero {
		switch any(zero).(type) {
		case int32, int64:
			return zero
		}
	}
	return x / y
}

// BroadcastCopy writes a broadcast to the shape of out, using the A side of
// the walk s (build s with NewStrided(outShape, aShape, outShape)).
func BroadcastCopy[T any](s *Strided, out, a []T) {
	rows, _ := s.Rows()
	BroadcastCopyRows(s, out, a, 0, rows)
}

// BroadcastCopyRows is BroadcastCopy for rows [r0, r1) of the walk.
func BroadcastCopyRows[T any](s *Strided, out, a []T, r0, r1 int) {
	_, inner := s.Rows()
	ia := s.StrideA[len(s.Dims)-1]
	for r := r0; r < r1; r++ {
		oa, _ := s.offsets(r)
		o := out[r*inner : r*inner+inner]
		if ia == 1 {
			copy(o, a[oa:oa+inner])
			continue
		}
		for i := range o {
			o[i] = a[oa+i*ia]
		}
	}
}
