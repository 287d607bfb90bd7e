package kernels

// Row-wise depthwise convolution (float32, AVX-512) for stride-1 layers
// of small planes: each output row of each channel is one or two vectors,
// eight rows of a channel computed together; each input row is loaded once
// per tap column (shifted by the column, masked to the row) and added to
// every output row of the eight it reaches (sconvDWRows{3,5}x{1,2}). It
// reads and writes the planes in their own layout, so it needs none of the
// blocked path's transposes, which took as long as that path's kernel;
// with rows of at most 32 outputs few lanes go to waste. Every output is bias + Σ taps in
// order, one FMA each, padding taps multiplying zeros: the blocked and
// direct kernels' chain, so the same bits.

// DepthwiseRows is the plan of a row-wise depthwise convolution of n
// images of c channels. It is immutable once made and safe for concurrent
// use.
type DepthwiseRows struct {
	s      ConvShape
	c, n   int
	nv     int      // vectors an output row
	masks  []uint16 // per vector and tap column: the load lanes inside the row; then per vector the store lanes
	chunks int      // tasks per image
	per    int      // channels a task
}

// NewDepthwiseRows plans the row-wise depthwise convolution of n images of
// c channels over geometry s for threads workers, or returns nil when it
// does not apply: no AVX-512, a stride or dilation other than 1, a kernel
// other than 3×3 or 5×5, or output rows wider than 32.
func NewDepthwiseRows(s *ConvShape, c, n, threads int) *DepthwiseRows {
	if !blockAsm || c < 1 || n < 1 || s.SH != 1 || s.SW != 1 || s.DH != 1 || s.DW != 1 || s.KH != s.KW ||
		(s.KH != 3 && s.KH != 5) || s.OW < 1 || s.OW > 32 || s.OH < 1 {
		return nil
	}
	k := s.KW
	d := &DepthwiseRows{s: *s, c: c, n: n, nv: (s.OW + 15) / 16}
	d.masks = make([]uint16, 2*k+2)
	for v := 0; v < d.nv; v++ {
		for kw := 0; kw < k; kw++ {
			var m uint16
			for l := 0; l < 16; l++ {
				if col := 16*v + l + kw - s.PW; col >= 0 && col < s.W {
					m |= 1 << l
				}
			}
			d.masks[v*k+kw] = m
		}
		d.masks[2*k+v] = uint16(1<<min(16, s.OW-16*v) - 1)
	}
	want := 1
	if threads > 1 {
		want = 3 * threads
	}
	d.per = max(1, c/max(1, want/n))
	d.chunks = (c + d.per - 1) / d.per
	return d
}

// Tasks is the number of tasks Run takes.
func (d *DepthwiseRows) Tasks() int { return d.n * d.chunks }

// TaskElems is the scratch a task takes: none.
func (d *DepthwiseRows) TaskElems() int { return 0 }

// PackedElems is the length of the packed weights: the weights as they are.
func (d *DepthwiseRows) PackedElems() int { return d.c * d.s.KH * d.s.KW }

// PackWeights copies the weights (C×1×KH×KW), which the kernels read as
// they are stored.
func (d *DepthwiseRows) PackWeights(dst, w []float32) { copy(dst[:d.PackedElems()], w) }

// BiasElems is the length of the padded bias: one a channel.
func (d *DepthwiseRows) BiasElems() int { return d.c }

// PadBias sets dst to b, or zeros when b is nil.
func (d *DepthwiseRows) PadBias(dst, b []float32) {
	if b == nil {
		clear(dst[:d.c])
		return
	}
	copy(dst[:d.c], b)
}

// Run computes task t of the convolution of x (n×C×H×W) into y
// (n×C×OH×OW) with the weights w and bias, then applies ep's activation
// and residual (laid out like y; ep.Bias unused) to what it wrote. scratch
// is unused.
func (d *DepthwiseRows) Run(y, x, w, bias []float32, t int, ep *Epilogue[float32], _ []float32) {
	s := &d.s
	hw, p, kk := s.H*s.W, s.OH*s.OW, s.KH*s.KW
	_ = x[d.n*d.c*hw-1]
	_ = y[d.n*d.c*p-1]
	_ = w[d.c*kk-1]
	_ = bias[d.c-1]
	img, c0 := t/d.chunks, t%d.chunks*d.per
	c1 := min(d.c, c0+d.per)
	if img >= d.n || c0 >= c1 {
		return
	}
	act := ep.kernelAct()
	xs, ys := x[(img*d.c+c0)*hw:], y[(img*d.c+c0)*p:]
	f := sconvDWRows3x1
	switch {
	case s.KW == 3 && d.nv == 2:
		f = sconvDWRows3x2
	case s.KW == 5 && d.nv == 1:
		f = sconvDWRows5x1
	case s.KW == 5:
		f = sconvDWRows5x2
	}
	f(&xs[0], &ys[0], &w[c0*kk], &bias[c0], c1-c0, s.H, s.W, s.OH, s.OW, s.PH, s.PW, &d.masks[0], act)
	if !ep.finishes() || act != actNone {
		return
	}
	at := (img*d.c + c0) * p
	ep.finishRun(y[at:at+(c1-c0)*p], ep.residualAt(at, (c1-c0)*p))
}
