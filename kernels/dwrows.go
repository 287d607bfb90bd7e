package kernels

import "unsafe"

// Row-wise depthwise convolution (float32, AVX-512) for stride-1 and
// stride-2 layers: the output rows of each channel are cut into strips of
// one or two vectors, eight rows of a strip computed together; each input
// row is loaded once per tap column and vector and added to every output
// row of the eight it reaches. It reads and writes the planes in their own
// layout, so it needs none of the blocked path's transposes, which took as
// long as that path's kernel (twice as long at stride 2).
//
// Stride 1 (sconvDWRows{3,5}x{1,2}) loads the input rows shifted by the
// tap column, masked to the row. Stride 2 (sconvDWPhases{3,5}x{1,2}) first
// splits each channel's rows into their even and odd columns, zero-padded,
// in the task's scratch (deint2Rows32AVX512): tap column kw of output
// column c is then phase kw mod 2 at c + kw/2, one unmasked load and no
// permute. (Loading 32 columns a tap and permuting out the even ones ran
// at a fifth of the FMA rate: the masks and the permutes filled the ports.)
//
// Every output is bias + Σ taps in order, one FMA each, padding taps
// multiplying zeros: the blocked and direct kernels' chain, so the same
// bits.

// DepthwiseRows is the plan of a row-wise depthwise convolution of n
// images of c channels. It is immutable once made and safe for concurrent
// use.
type DepthwiseRows struct {
	s      ConvShape
	c, n   int
	strips []dwStrip
	chunks int // tasks per image and part
	parts  int // parts of the output rows: [0, split) and [split, OH) when 2
	split  int
	per    int // channels a task
	// Stride 2: a band of a channel's phases in scratch, prows padded rows
	// of 2·rl values each, for band output rows.
	rl, prows, band int
}

// dwStrip is one strip of output columns: its first column, its vectors,
// its kernel and the kernel's masks (stride 1: the loads' lanes inside the
// row per vector and tap column, then the stores'; stride 2: the stores').
type dwStrip struct {
	o, nv int
	masks []uint16
	fn    func(x, y, w, bias *float32, c, h, wd, oh, ow, ph, pw int, masks *uint16, act int)
	fn2   func(x, y, w, bias *float32, rl, oh, ow int, masks *uint16, act int)
}

// NewDepthwiseRows plans the row-wise depthwise convolution of n images of
// c channels over geometry s for threads workers, or returns nil when it
// does not apply: no AVX-512, strides other than 1×1 or 2×2, a dilation
// other than 1, or a kernel other than 3×3 or 5×5.
func NewDepthwiseRows(s *ConvShape, c, n, threads int) *DepthwiseRows {
	st := s.SW
	if !blockAsm || c < 1 || n < 1 || (st != 1 && st != 2) || s.SH != st || s.DH != 1 || s.DW != 1 || s.KH != s.KW ||
		(s.KH != 3 && s.KH != 5) || s.OW < 1 || s.OH < 1 || s.H < 1 || s.W < 1 {
		return nil
	}
	k := s.KW
	d := &DepthwiseRows{s: *s, c: c, n: n, parts: 1}
	for o := 0; o < s.OW; o += 32 {
		sp := dwStrip{o: o, nv: min(2, (s.OW-o+15)/16)}
		if st == 2 {
			sp.masks = make([]uint16, 2)
			sp.fn2 = dwPhaseKernels[k/2-1][sp.nv-1]
		} else {
			sp.masks = make([]uint16, 2*k+2)
			for v := 0; v < sp.nv; v++ {
				for kw := 0; kw < k; kw++ {
					for l := 0; l < 16; l++ {
						if col := o + 16*v + l + kw - s.PW; col >= 0 && col < s.W {
							sp.masks[v*k+kw] |= 1 << l
						}
					}
				}
			}
			sp.fn = dwRowsKernels[k/2-1][sp.nv-1]
		}
		for v := 0; v < sp.nv; v++ {
			sp.masks[len(sp.masks)-2+v] = uint16(1<<min(16, s.OW-o-16*v) - 1)
		}
		d.strips = append(d.strips, sp)
	}
	if st == 2 {
		// The loads of the last strip reach column roundUp(OW, 16) − 1 +
		// k/2 of a phase, the input's columns (W−1+PW)/2. A band of
		// output rows (a multiple of the kernels' blocks) reads 2·band +
		// k − 2 padded rows: as many as stay in half of L1.
		d.rl = roundUp(max(roundUp(s.OW, 16)+k/2, (s.W+s.PW+1)/2+1), 16)
		fit := (dwBandBytes/(8*d.rl) - k + 2) / 2
		d.band = min(roundUp(s.OH, dwRowsBlock), max(dwRowsBlock, fit/dwRowsBlock*dwRowsBlock))
		d.prows = 2*d.band + k - 2
		if int64(d.prows)*int64(d.rl) > 1<<26 { // 512 MiB of scratch: the blocked path's
			return nil
		}
	}
	want := 1
	if threads > 1 {
		want = 3 * threads
	}
	if st == 2 && threads > 1 && s.OH >= 2*dwRowsBlock {
		// The parts meet at a cache line where a row boundary near the
		// middle falls on one: else the line of each channel that both
		// cores write moves between them.
		d.parts, d.split = 2, s.OH/2
		for dr := 0; dr <= s.OH/6; dr++ {
			if r := s.OH/2 - dr; r*s.OW%16 == 0 {
				d.split = r
				break
			}
			if r := s.OH/2 + dr; r*s.OW%16 == 0 {
				d.split = r
				break
			}
		}
	}
	d.per = max(1, c/max(1, want/(n*d.parts)))
	d.chunks = (c + d.per - 1) / d.per
	return d
}

// dwRowsBlock is the output rows the row-wise kernels compute together
// (asmgen/conv).
const dwRowsBlock = 8

// dwBandBytes bounds the phases of a band of a stride-2 channel: half of
// L1, so that the kernel reads them where the split left them.
const dwBandBytes = 24 << 10

// dwRowsKernels and dwPhaseKernels are the row-wise kernels by kernel size
// (3, 5) and vectors a strip.
var (
	dwRowsKernels = [2][2]func(x, y, w, bias *float32, c, h, wd, oh, ow, ph, pw int, masks *uint16, act int){
		{sconvDWRows3x1, sconvDWRows3x2}, {sconvDWRows5x1, sconvDWRows5x2}}
	dwPhaseKernels = [2][2]func(x, y, w, bias *float32, rl, oh, ow int, masks *uint16, act int){
		{sconvDWPhases3x1, sconvDWPhases3x2}, {sconvDWPhases5x1, sconvDWPhases5x2}}
)

// Tasks is the number of tasks Run takes.
func (d *DepthwiseRows) Tasks() int { return d.n * d.parts * d.chunks }

// TaskElems is the scratch a task takes: at stride 2, a band's phases
// (and room to align them to a cache line).
func (d *DepthwiseRows) TaskElems() int {
	if d.prows == 0 {
		return 0
	}
	return 2*d.prows*d.rl + 16
}

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
// and residual (laid out like y; ep.Bias unused) to what it wrote.
// scratch is TaskElems() long.
func (d *DepthwiseRows) Run(y, x, w, bias []float32, t int, ep *Epilogue[float32], scratch []float32) {
	s := &d.s
	hw, p, kk := s.H*s.W, s.OH*s.OW, s.KH*s.KW
	_ = x[d.n*d.c*hw-1]
	_ = y[d.n*d.c*p-1]
	_ = w[d.c*kk-1]
	_ = bias[d.c-1]
	img, part, c0 := t/d.chunks/d.parts, t/d.chunks%d.parts, t%d.chunks*d.per
	c1 := min(d.c, c0+d.per)
	if img >= d.n || c0 >= c1 {
		return
	}
	act := ep.kernelAct()
	xs, ys := x[(img*d.c+c0)*hw:], y[(img*d.c+c0)*p:]
	if s.SW == 1 {
		for i := range d.strips {
			sp := &d.strips[i]
			// A strip starting at output column o reads from input
			// column o: the kernel's column offset is pw − o.
			sp.fn(&xs[0], &ys[sp.o], &w[c0*kk], &bias[c0], c1-c0, s.H, s.W, s.OH, s.OW, s.PH, s.PW-sp.o, &sp.masks[0], act)
		}
	} else {
		r0, r1 := d.rowsOf(part)
		d.runPhases(ys, xs, w, bias, c0, c1, r0, r1, act, scratch)
	}
	if !ep.finishes() || act != actNone {
		return
	}
	if d.parts == 1 {
		at := (img*d.c + c0) * p
		ep.finishRun(y[at:at+(c1-c0)*p], ep.residualAt(at, (c1-c0)*p))
		return
	}
	r0, r1 := d.rowsOf(part)
	for c := c0; c < c1; c++ {
		at := (img*d.c+c)*p + r0*s.OW
		ep.finishRun(y[at:at+(r1-r0)*s.OW], ep.residualAt(at, (r1-r0)*s.OW))
	}
}

// rowsOf returns the output rows of part part.
func (d *DepthwiseRows) rowsOf(part int) (r0, r1 int) {
	if d.parts == 1 {
		return 0, d.s.OH
	}
	if part == 0 {
		return 0, d.split
	}
	return d.split, d.s.OH
}

// runPhases computes channels [c0, c1) at stride 2 (xs and ys start at
// channel c0), a band of output rows at a time: the band's padded rows
// split into phases in scratch, then the strips' kernels over them.
func (d *DepthwiseRows) runPhases(ys, xs, w, bias []float32, c0, c1, r0, r1, act int, scratch []float32) {
	s := &d.s
	hw, p, kk := s.H*s.W, s.OH*s.OW, s.KH*s.KW
	al := int(uintptr(unsafe.Pointer(&scratch[0]))/4) % 16
	ph := scratch[(16-al)%16:][:2*d.prows*d.rl]
	clear(ph) // the padding columns; every row writes the same inside
	// Input column 2i goes to phase PW mod 2 at i + PW/2, column 2i+1 to
	// the other at i + (PW+1)/2.
	ev, od := (s.PW%2)*d.rl+s.PW/2, (1-s.PW%2)*d.rl+(s.PW+1)/2
	for c := c0; c < c1; c++ {
		xc, yc := xs[(c-c0)*hw:(c-c0+1)*hw], ys[(c-c0)*p:]
		for r := r0; r < r1; r += d.band {
			// Padded row 2r + i is input row 2r + i − PH: rows inside
			// the input are split, the others zeros. The band's stored
			// outputs read rows [0, need); rows past them hold what they
			// held (a block's rows past the band's are not stored).
			rows := min(d.band, r1-r)
			need := min(d.prows, 2*rows+s.KH-2)
			ir0 := 2*r - s.PH
			lo, hi := max(0, -ir0), max(0, min(need, s.H-ir0))
			for i := 0; i < need; i++ {
				if i < lo || i >= hi {
					clear(ph[2*i*d.rl : 2*(i+1)*d.rl])
				}
			}
			if lo < hi {
				at := 2 * lo * d.rl
				deint2Rows32AVX512(&ph[at+ev], &ph[at+od], 2*d.rl, &xc[(ir0+lo)*s.W], s.W, hi-lo, s.W)
			}
			for i := range d.strips {
				sp := &d.strips[i]
				sp.fn2(&ph[sp.o], &yc[r*s.OW+sp.o], &w[c*kk], &bias[c], d.rl, rows, s.OW, &sp.masks[0], act)
			}
		}
	}
}
