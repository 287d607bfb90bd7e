package kernels

// Direct float32 convolution: the GEMM micro-kernel's register tile with B
// read through a table of tap offsets into the input, so no im2col matrix
// is built and no B panel packed. The input of one image is first copied
// into "phase planes": for strides SH×SW, plane (φh, φw) of channel c holds
// the zero-padded input at rows φh, φh+SH, … and columns φw, φw+SW, …, each
// plane Hq×Wq. Output position (oh, ow) is then q = oh·Wq + ow, and tap
// (c, kh, kw) reads its input at q plus a constant offset in plane
// ((kh·DH) mod SH, (kw·DW) mod SW): consecutive q are consecutive input
// elements, whatever the stride, so a vector of 16 positions is one load.
// Positions with ow >= OW (the last Wq − OW of each row) are computed from
// neighbouring data and dropped when the tile is stored.

import "unsafe"

// convMicro is one direct micro-kernel: mr output channels × nr positions.
type convMicro struct {
	mr, nr int
	fn     func(k int, offs *int32, a, x, bias, c *float32, ldc int, load bool)
	// cost weighs a tile's FMAs: the 12×16 tile does half the work of the
	// others per load of its 12 weights.
	cost float64
}

// convMicros lists the direct kernels of this build (convdirect_amd64.go);
// empty where there are none, and DirectConv is then unavailable.
var convMicros []convMicro

// DirectConv is the plan of a float32 convolution run by the direct
// kernels: its geometry, tile shape and tap offsets. It is immutable once
// made and safe for concurrent use.
type DirectConv struct {
	s            ConvShape
	c, cg, mg, g int // channels in, per group in and out, groups
	k            int // taps per output: cg·KH·KW
	micro        *convMicro
	hq, wq       int     // plane size
	planeLen     int     // hq·wq
	q            int     // positions computed per channel: OH·wq
	slots        []int   // phase (φh·SW + φw) → plane slot, −1: unused
	offs         []int32 // per tap: its slot, channel and shift
	mPad         int     // mg rounded up to the tile's rows
	planeElems   int     // the planes of one image, with read slack
	// pointwise: a 1×1, stride-1, unpadded conv reads the input itself as
	// its planes; the last, partial block of positions reads a copy
	// (offsTail), since its vectors would run past the input's end.
	pointwise bool
	offsTail  []int32
}

// NewDirectConv plans the direct convolution of c input channels in groups
// groups (mg output channels each) over geometry s, or returns nil when this
// build has no direct kernels or the planes would not fit int32 offsets.
func NewDirectConv(s *ConvShape, c, groups, mg int) *DirectConv {
	if len(convMicros) == 0 || groups < 1 || c%groups != 0 || mg < 1 || s.OH < 1 || s.OW < 1 {
		return nil
	}
	d := &DirectConv{s: *s, c: c, cg: c / groups, mg: mg, g: groups}
	d.k = d.cg * s.KH * s.KW
	d.hq = s.OH + (s.KH-1)*s.DH/s.SH
	d.wq = s.OW + (s.KW-1)*s.DW/s.SW
	d.planeLen = d.hq * d.wq
	d.q = s.OH * d.wq
	d.slots = make([]int, s.SH*s.SW)
	for i := range d.slots {
		d.slots[i] = -1
	}
	n := 0
	for i := 0; i < s.KH; i++ {
		for j := 0; j < s.KW; j++ {
			ph := (i*s.DH%s.SH)*s.SW + j*s.DW%s.SW
			if d.slots[ph] < 0 {
				d.slots[ph] = n
				n++
			}
		}
	}
	// Pick the tile that pads channels and positions least; depthwise
	// convolutions (one input channel per group) take the one-channel
	// tiles, and only they.
	depthwise := d.cg == 1 && groups > 1
	best := -1.0
	for i := range convMicros {
		m := &convMicros[i]
		if (m.mr == 1) != depthwise {
			continue
		}
		w := float64(roundUp(mg, m.mr)*roundUp(d.q, m.nr)) * m.cost
		if best < 0 || w < best {
			best, d.micro = w, m
		}
	}
	if d.micro == nil {
		return nil
	}
	d.mPad = roundUp(mg, d.micro.mr)
	total := int64(n)*int64(c)*int64(d.planeLen) + int64(d.micro.nr+d.wq+16)
	if total > 1<<31-1 || int64(d.k)*int64(d.mPad)*int64(groups) > 1<<40 {
		return nil
	}
	d.planeElems = int(total)
	d.pointwise = s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PH == 0 && s.PW == 0 && s.PHEnd == 0 && s.PWE == 0
	if d.pointwise {
		d.planeElems = 0
		d.offsTail = make([]int32, d.cg)
		for ci := range d.offsTail {
			d.offsTail[ci] = int32(ci * d.micro.nr)
		}
	}
	d.offs = make([]int32, d.k)
	for ci := 0; ci < d.cg; ci++ {
		for i := 0; i < s.KH; i++ {
			for j := 0; j < s.KW; j++ {
				ph := (i*s.DH%s.SH)*s.SW + j*s.DW%s.SW
				off := (d.slots[ph]*c+ci)*d.planeLen + i*s.DH/s.SH*d.wq + j*s.DW/s.SW
				d.offs[(ci*s.KH+i)*s.KW+j] = int32(off)
			}
		}
	}
	return d
}

// PlaneElems is the float32 scratch the planes of one image take; 0 when
// the input is its own planes (Pointwise).
func (d *DirectConv) PlaneElems() int { return d.planeElems }

// Pointwise reports whether Run reads the image itself in place of planes
// (a 1×1, stride-1, unpadded convolution): BuildPlanes is then not called.
func (d *DirectConv) Pointwise() bool { return d.pointwise }

// TileElems is the float32 scratch one worker's tile takes.
func (d *DirectConv) TileElems() int { return d.micro.mr * d.micro.nr }

// Rows is the tile's row count: packed weights and biases come in blocks
// of this many output channels.
func (d *DirectConv) Rows() int { return d.micro.mr }

// Blocks returns a group's channel blocks and position blocks.
func (d *DirectConv) Blocks() (mBlocks, qBlocks int) {
	return d.mPad / d.micro.mr, (d.q + d.micro.nr - 1) / d.micro.nr
}

// PackedElems is the length of PackWeights' result.
func (d *DirectConv) PackedElems() int { return d.g * d.mPad * d.k }

// PackWeights lays the weights w (M×Cg×KH×KW, M = groups·mg) out as the
// kernels read them: per group and block of Rows() channels, k taps of
// Rows() values, channels past mg zero.
func (d *DirectConv) PackWeights(dst, w []float32) {
	mr := d.micro.mr
	_ = w[d.g*d.mg*d.k-1]
	for g := 0; g < d.g; g++ {
		for b := 0; b < d.mPad/mr; b++ {
			blk := dst[(g*d.mPad+b*mr)*d.k : (g*d.mPad+(b+1)*mr)*d.k]
			for i := 0; i < mr; i++ {
				m := b*mr + i
				if m >= d.mg {
					for p := 0; p < d.k; p++ {
						blk[p*mr+i] = 0
					}
					continue
				}
				row := w[(g*d.mg+m)*d.k : (g*d.mg+m+1)*d.k]
				for p, v := range row {
					blk[p*mr+i] = v
				}
			}
		}
	}
}

// PadBias lays the bias b (M values, nil: zeros) out in blocks of Rows()
// per group into dst (groups·mPad values).
func (d *DirectConv) PadBias(dst, b []float32) {
	clear(dst[:d.g*d.mPad])
	if b == nil {
		return
	}
	for g := 0; g < d.g; g++ {
		copy(dst[g*d.mPad:g*d.mPad+d.mg], b[g*d.mg:(g+1)*d.mg])
	}
}

// BiasElems is the length PadBias writes.
func (d *DirectConv) BiasElems() int { return d.g * d.mPad }

// BuildPlanes writes the phase planes of channels [c0, c1) of the image x
// (C×H×W) into planes (PlaneElems long); the call that ends at channel C
// also zeroes the read slack after the last plane.
func (d *DirectConv) BuildPlanes(planes, x []float32, c0, c1 int) {
	if d.pointwise {
		return
	}
	s := &d.s
	hw := s.H * s.W
	for ph, slot := range d.slots {
		if slot < 0 {
			continue
		}
		fh, fw := ph/s.SW, ph%s.SW
		// Columns c of a plane read input column c·SW + fw − PW: those in
		// [lo, hi) are inside the image.
		lo, hi := 0, d.wq
		if v := s.PW - fw; v > 0 {
			lo = min((v+s.SW-1)/s.SW, d.wq)
		}
		if v := s.W + s.PW - fw; v <= 0 {
			hi = 0
		} else {
			hi = min((v+s.SW-1)/s.SW, d.wq)
		}
		hi = max(hi, lo)
		// Plane rows r read input row r·SH + fh − PH: those in [r0, r1)
		// are inside the image, the others are zero.
		r0, r1 := 0, d.hq
		if v := s.PH - fh; v > 0 {
			r0 = min((v+s.SH-1)/s.SH, d.hq)
		}
		if v := s.H + s.PH - fh; v <= 0 {
			r1 = 0
		} else {
			r1 = min((v+s.SH-1)/s.SH, d.hq)
		}
		r1 = max(r1, r0)
		if lo == hi {
			r1 = r0
		}
		for ci := c0; ci < c1; ci++ {
			dst := planes[(slot*d.c+ci)*d.planeLen : (slot*d.c+ci+1)*d.planeLen]
			src := x[ci*hw : ci*hw+hw]
			clear(dst[:r0*d.wq])
			clear(dst[r1*d.wq:])
			for r := r0; r < r1; r++ {
				row := dst[r*d.wq : (r+1)*d.wq]
				for c := range row[:lo] {
					row[c] = 0
				}
				for c := hi; c < len(row); c++ {
					row[c] = 0
				}
				ih := r*s.SH + fh - s.PH
				iw := lo*s.SW + fw - s.PW
				out := row[lo:hi]
				in := src[ih*s.W+iw : ih*s.W+s.W]
				if s.SW == 1 {
					copy(out, in)
					continue
				}
				in = in[:(len(out)-1)*s.SW+1]
				if s.SW == 2 && stride2Gather32(out, in) {
					continue
				}
				for c := range out {
					out[c] = in[c*s.SW]
				}
			}
		}
	}
	if c1 == d.c {
		n := 0
		for _, slot := range d.slots {
			if slot >= 0 {
				n++
			}
		}
		clear(planes[n*d.c*d.planeLen : d.planeElems])
	}
}

// convChunkBytes bounds the weights one tile's pass reads (a block of
// channels' taps over a range of input channels): passes over larger
// layers split the input channels, so that those weights stay in L1 while
// the positions stream past them.
var convChunkBytes = 16 << 10

// TaskElems is the float32 scratch Run needs for nb channel blocks × nq
// position blocks.
func (d *DirectConv) TaskElems(nb, nq int) int {
	n := max(nb*d.micro.mr*nq*d.micro.nr, d.micro.mr*d.micro.nr)
	if d.pointwise {
		n += d.cg * d.micro.nr // the last block's copy of the input
	}
	return n
}

// Run computes output channel blocks [b0, b1) × position blocks [q0, q1) of
// group g into y (the image's M×OH×OW output), from planes, the packed
// weights w and the padded bias, then applies ep's activation and residual
// (ep.Bias is not used; ep.Residual is laid out like y) to what it wrote,
// a run per channel. scratch is TaskElems(b1−b0, q1−q0) long.
func (d *DirectConv) Run(y, planes, w, bias []float32, g, b0, b1, q0, q1 int, ep *Epilogue[float32], scratch []float32) {
	mk := d.micro
	mr, nr := mk.mr, mk.nr
	if d.pointwise {
		_ = planes[d.c*d.q-1]
	} else {
		_ = planes[d.planeElems-1]
	}
	_ = w[d.PackedElems()-1]
	_ = bias[d.BiasElems()-1]
	ow, p := d.s.OW, d.s.OH*d.s.OW
	_ = y[(g+1)*d.mg*p-1]
	if b0 >= b1 || q0 >= q1 {
		return
	}
	_ = scratch[d.TaskElems(b1-b0, q1-q0)-1]
	x := planes[g*d.cg*d.planeLen:]
	kk := d.s.KH * d.s.KW
	chunk := max(1, convChunkBytes/(4*mr*kk)) * kk // taps per pass
	// src returns where position block qb reads its input, and the
	// offsets of its taps there.
	offs := d.offs
	src := func(qb int) (*float32, []int32) {
		return (*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(x)), 4*qb*nr)), offs
	}
	if d.pointwise && q1*nr > d.q {
		// The partial last block reads a zero-padded copy of its
		// positions, kept past the tiles' scratch.
		tail := scratch[len(scratch)-d.cg*nr:]
		scratch = scratch[:len(scratch)-d.cg*nr]
		qt, n := (q1-1)*nr, d.q-(q1-1)*nr
		for ci := 0; ci < d.cg; ci++ {
			copy(tail[ci*nr:ci*nr+n], x[ci*d.planeLen+qt:])
			clear(tail[ci*nr+n : (ci+1)*nr])
		}
		src = func(qb int) (*float32, []int32) {
			if qb == q1-1 {
				return &tail[0], d.offsTail
			}
			return (*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(x)), 4*qb*nr)), offs
		}
	}
	if chunk >= d.k {
		// One pass: tiles go through scratch into y, or straight to y
		// when whole and position q is output q (no columns dropped).
		for qb := q0; qb < q1; qb++ {
			q := qb * nr
			n := min(q+nr, d.q) - q
			for b := b0; b < b1; b++ {
				m0 := g*d.mg + b*mr
				rows := min(mr, d.mg-b*mr)
				wb, bb := &w[(g*d.mPad+b*mr)*d.k], &bias[g*d.mPad+b*mr]
				xq, to := src(qb)
				if n == nr && rows == mr && d.wq == ow {
					mk.fn(d.k, &to[0], wb, xq, bb, &y[m0*p+q], p, false)
					continue
				}
				mk.fn(d.k, &to[0], wb, xq, bb, &scratch[0], nr, false)
				d.store(y, scratch, nr, m0, rows, q, n)
			}
		}
	} else {
		// Passes over chunks of the taps accumulate in scratch: rows of
		// (q1−q0)·nr positions, a row per channel of the blocks.
		ld := (q1 - q0) * nr
		for t0 := 0; t0 < d.k; t0 += chunk {
			kt := min(chunk, d.k-t0)
			for b := b0; b < b1; b++ {
				wb, bb := &w[(g*d.mPad+b*mr)*d.k+t0*mr], &bias[g*d.mPad+b*mr]
				for qb := q0; qb < q1; qb++ {
					xq, to := src(qb)
					mk.fn(kt, &to[t0], wb, xq, bb, &scratch[(b-b0)*mr*ld+(qb-q0)*nr], ld, t0 > 0)
				}
			}
		}
		for b := b0; b < b1; b++ {
			d.store(y, scratch[(b-b0)*mr*ld:], ld, g*d.mg+b*mr, min(mr, d.mg-b*mr), q0*nr, min(q1*nr, d.q)-q0*nr)
		}
	}
	if !ep.finishes() {
		return
	}
	// The outputs written: from the first kept position at or after q0·nr
	// to the last before q1·nr, contiguous in every channel.
	lo, hi := d.outPos(q0*nr), d.outPos(min(q1*nr, d.q))
	for m := g*d.mg + b0*mr; m < g*d.mg+min(b1*mr, d.mg); m++ {
		ep.finishRun(y[m*p+lo:m*p+hi], ep.residualAt(m*p+lo, hi-lo))
	}
}

// outPos returns the output index of the first kept position at or after
// position q (OH·OW at the end).
func (d *DirectConv) outPos(q int) int {
	oh, c := q/d.wq, q%d.wq
	if c >= d.s.OW {
		oh, c = oh+1, 0
	}
	return min(oh*d.s.OW+c, d.s.OH*d.s.OW)
}

// store writes the kept positions of positions q..q+n of the first rows
// rows of src (row stride ld, position q at column 0) to y's channels m0,
// m0+1, ….
func (d *DirectConv) store(y, src []float32, ld, m0, rows, q, n int) {
	ow, p := d.s.OW, d.s.OH*d.s.OW
	for j := 0; j < n; {
		oh, c := (q+j)/d.wq, (q+j)%d.wq
		run := min(d.wq-c, n-j)
		if valid := min(run, ow-c); valid > 0 {
			o := oh*ow + c
			for i := 0; i < rows; i++ {
				copy(y[(m0+i)*p+o:(m0+i)*p+o+valid], src[i*ld+j:i*ld+j+valid])
			}
		}
		j += run
	}
}
