package kernels

// Activation selects the function an Epilogue applies.
type Activation uint8

// Epilogue activations.
const (
	ActNone   Activation = iota
	ActUnary             // Unary(Op, ·, ·, Alpha)
	ActClip              // Clip(·, ·, Lo, Hi)
	ActUnary2            // Unary2(Op2, ·, ·, P2)
)

// Epilogue is work fused into a GEMM: each block of C gets it as soon as
// its last depth block is stored, while it is still in cache, instead of
// in passes over all of C afterwards. With an Epilogue the product is
//
//	C = Act(alpha·op(A)·op(B) + beta·S) + Residual
//
// where S is C itself, or the row vector Bias broadcast over the rows. The
// result is bit for bit that of the unfused sequence: copy Bias into every
// row of C, run the GEMM with beta, apply Unary or Clip to C, then add
// Residual as Binary's OpAdd does (c + r).
type Epilogue[T Float] struct {
	// Bias, if not nil, is a row of n values that takes C's place in the
	// beta term (C is then never read).
	Bias []T
	Act  Activation
	// Op and Alpha are Unary's op and parameter, for ActUnary.
	Op    UnaryOp
	Alpha float64
	// Lo and Hi are the bounds of ActClip.
	Lo, Hi T
	// Op2 and P2 are Unary2's op and parameters, for ActUnary2.
	Op2 Unary2Op
	P2  UnaryParams
	// Residual, if not nil, is an m×n matrix of row stride LdR added last.
	// It must not overlap C.
	Residual []T
	LdR      int
	// ReluAfter applies a ReLU after the residual (ResNet's Conv, Add,
	// Relu), with the same code as a Relu node.
	ReluAfter bool
}

// check panics, before any work starts, when e's operands are too short
// for an m×n C.
func (e *Epilogue[T]) check(m, n int) {
	if e == nil {
		return
	}
	if e.Bias != nil && len(e.Bias) < n {
		panic("kernels: epilogue bias shorter than n")
	}
	if e.Residual != nil && (e.LdR < n || len(e.Residual) < (m-1)*e.LdR+n) {
		panic("kernels: epilogue residual smaller than m×n")
	}
	if e.Act > ActUnary2 {
		panic("kernels: unknown epilogue activation")
	}
}

// finishes reports whether e has work after the product: an activation or
// a residual.
func (e *Epilogue[T]) finishes() bool {
	return e != nil && (e.Act != ActNone || e.Residual != nil || e.ReluAfter)
}

// The activations the convolution kernels apply as they store their
// results (their act argument).
const (
	actNone = iota
	actRelu
	actHardSwish
)

// kernelAct returns the kernels' code for e when e is an activation they
// apply (ReLU or HardSwish, in float32) and nothing else, else actNone.
func (e *Epilogue[T]) kernelAct() int {
	if e == nil || e.Residual != nil || e.ReluAfter || !isFloat32[T]() {
		return actNone
	}
	switch {
	case e.Act == ActUnary && e.Op == OpRelu:
		return actRelu
	case e.Act == ActUnary2 && e.Op2 == OpHardSwish:
		return actHardSwish
	}
	return actNone
}

// finish applies the activation and the residual to rows [i0, i1) and
// columns [j0, j1) of C.
func (e *Epilogue[T]) finish(c []T, ldc, i0, i1, j0, j1 int) {
	if j0 == 0 && j1 == ldc && (e.Residual == nil || e.LdR == ldc) {
		// Whole rows of a dense C (the transposed direct path's few
		// columns): one run instead of a call per short row.
		e.finishRun(c[i0*ldc:i1*ldc], e.residualAt(i0*ldc, (i1-i0)*ldc))
		return
	}
	for i := i0; i < i1; i++ {
		e.finishRun(c[i*ldc+j0:i*ldc+j1], e.residualAt(i*e.LdR+j0, j1-j0))
	}
}

func (e *Epilogue[T]) residualAt(off, n int) []T {
	if e.Residual == nil {
		return nil
	}
	return e.Residual[off : off+n]
}

// FinishRun applies the activation to run and adds r (nil: none): the
// epilogue's finish on a run of C that the caller computed some other way.
func (e *Epilogue[T]) FinishRun(run, r []T) { e.finishRun(run, r) }

// finishRun applies the activation to run, adds r (nil: none), then
// applies ReluAfter.
func (e *Epilogue[T]) finishRun(run, r []T) {
	switch e.Act {
	case ActUnary:
		Unary(e.Op, run, run, e.Alpha)
	case ActClip:
		Clip(run, run, e.Lo, e.Hi)
	case ActUnary2:
		Unary2(e.Op2, run, run, e.P2)
	}
	if r != nil {
		// Binary's own row loop: the same code gives the same bits, down
		// to which NaN a NaN + NaN returns.
		binaryRow(OpAdd, run, run, r, 1, 1)
	}
	if e.ReluAfter {
		Unary(OpRelu, run, run, 0)
	}
}

// gemmScaleC sets C = beta·S (S is C, or ep's bias row) and applies ep's
// finish: the whole product when k == 0 or alpha == 0. beta == 0 writes
// zeros without reading S.
func gemmScaleC[T gemmFloat](m, n int, beta T, c []T, ldc int, ep *Epilogue[T]) {
	var bias []T
	if ep != nil {
		bias = ep.Bias
	}
	fin := ep.finishes()
	if beta == 1 && bias == nil && !fin {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch {
		case beta == 0:
			clear(row)
		case bias != nil && beta == 1:
			copy(row, bias[:n])
		case bias != nil:
			// The unfused path scales the copied bias in place.
			for j, v := range bias[:n] {
				row[j] = v * beta
			}
		case beta != 1:
			for j := range row {
				row[j] *= beta
			}
		}
		if fin {
			ep.finish(c, ldc, i, i+1, 0, n)
		}
	}
}
