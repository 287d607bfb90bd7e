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
	fn     func(k int, offs *int32, a, x, bias, c *float32, ldc int, load bool, act int)
	// posFn, instead of fn, is a position-broadcast kernel: its nr
	// positions are part of one output row (tiles never straddle rows, so
	// a row's dropped columns cost nothing) and its tile is stored
	// position-major, mr channels a position, for Run to transpose.
	posFn func(k int, offs *int32, a, x, bias, c *float32, load bool, act int)
	// cost weighs a tile's FMAs: the 12×16 tile does half the work of the
	// others per load of its 12 weights.
	cost float64
}

// convMicros lists the direct kernels of this build (convdirect_amd64.go);
// empty where there are none, and DirectConv is then unavailable.
var convMicros []convMicro

// DirectConvAvailable reports whether this CPU runs the direct convolution
// kernels (AVX-512F): without them NewDirectConv is nil and convolutions
// take the GEMM path, which fuses neither epilogues nor scales.
func DirectConvAvailable() bool { return len(convMicros) > 0 }

// posTileTaps weighs a position-broadcast tile's fixed cost (its
// transposed store, its setup) in taps: on resnet18's and mobilenet's
// layers these tiles ran at 0.36× the tiled kernels' speed over 16 taps,
// 0.73× over 48 and 0.86× over 96, and as fast from 500 taps on, where
// they win by computing no dropped columns (7×7 to 14×14 maps: 10–16%).
const posTileTaps = 20

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
	imgStride    int     // the planes of one image (pointwise: the image)
	// pointwise: a 1×1, stride-1, unpadded conv reads the input itself as
	// its planes; the last, partial block of positions reads a copy
	// (offsTail), since its vectors would run past the input's end.
	pointwise bool
	offsTail  []int32
}

// NewDirectConv plans the direct convolution of c input channels in groups
// groups (mg output channels each) over geometry s, or returns nil when this
// build has no direct kernels, a stride is above 64 or the planes would not
// fit int32 offsets.
func NewDirectConv(s *ConvShape, c, groups, mg int) *DirectConv {
	// Strides past 64 (each phase a plane, most of them unused) go to the
	// GEMM path rather than allocate a slot table per stride phase.
	if len(convMicros) == 0 || groups < 1 || c%groups != 0 || mg < 1 || s.OH < 1 || s.OW < 1 || s.SH > 64 || s.SW > 64 {
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
	pointwise := s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PH == 0 && s.PW == 0 && s.PHEnd == 0 && s.PWE == 0
	best := -1.0
	for i := range convMicros {
		m := &convMicros[i]
		if (m.mr == 1) != depthwise {
			continue
		}
		q, cost := roundUp(d.q, m.nr), m.cost
		if m.posFn != nil {
			// A pointwise layer reads its input in place, without the
			// planes' slack: a row's last tile must end inside it.
			if pointwise && s.OW%m.nr != 0 {
				continue
			}
			q = s.OH * roundUp(s.OW, m.nr)
			cost *= 1 + posTileTaps/float64(d.k)
		}
		w := float64(roundUp(mg, m.mr)*q) * cost
		if best < 0 || w < best {
			best, d.micro = w, m
		}
	}
	if d.micro == nil {
		return nil
	}
	d.mPad = roundUp(mg, d.micro.mr)
	total := int64(n)*int64(c)*int64(d.planeLen) + int64(d.slack())
	if total > 1<<31-1 || int64(d.k)*int64(d.mPad)*int64(groups) > 1<<40 {
		return nil
	}
	d.imgStride = n * c * d.planeLen
	d.pointwise = pointwise
	if d.pointwise {
		d.imgStride = c * s.H * s.W
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

// slack is how far past the last plane a block's vectors may read.
func (d *DirectConv) slack() int { return d.micro.nr + d.wq + 16 }

// PlaneElems is the float32 scratch the planes of n images take; 0 when
// the input is its own planes (Pointwise).
func (d *DirectConv) PlaneElems(n int) int {
	if d.pointwise {
		return 0
	}
	return n*d.imgStride + d.slack()
}

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
	if d.micro.posFn != nil {
		return d.mPad / d.micro.mr, d.s.OH * d.rowTiles()
	}
	return d.mPad / d.micro.mr, (d.q + d.micro.nr - 1) / d.micro.nr
}

// rowTiles is how many position-broadcast tiles an output row takes.
func (d *DirectConv) rowTiles() int { return (d.s.OW + d.micro.nr - 1) / d.micro.nr }

// tileOut returns the output indices [lo, hi) of position block j of an
// image.
func (d *DirectConv) tileOut(j int) (lo, hi int) {
	nr := d.micro.nr
	if d.micro.posFn != nil {
		oh, ow := j/d.rowTiles(), j%d.rowTiles()*nr
		return oh*d.s.OW + ow, oh*d.s.OW + min(ow+nr, d.s.OW)
	}
	return d.outPos(j * nr), d.outPos(min((j+1)*nr, d.q))
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

// ScaleTaps sets dst to the packed weights w (PackWeights' layout, group
// 1) with each tap's weights multiplied by the scale of its input channel,
// s[c] (Cg values): the convolution of x then equals that of x scaled per
// channel, up to the products' rounding. A 1×1 convolution's taps are its
// channels: a block's rows, one AVX-512 call a block.
func (d *DirectConv) ScaleTaps(dst, w, s []float32) {
	mr, kk := d.micro.mr, d.s.KH*d.s.KW
	n := d.PackedElems()
	_, _, _ = dst[n-1], w[n-1], s[d.cg-1]
	for blk := 0; blk < n; blk += mr * d.k {
		if kk == 1 && rowsScalar32(OpMul, dst[blk:blk+mr*d.k], w[blk:blk+mr*d.k], s, false, mr, 0, d.k) {
			continue
		}
		for p := 0; p < d.k; p++ {
			v := s[p/kk]
			for i := blk + p*mr; i < blk+(p+1)*mr; i++ {
				dst[i] = w[i] * v
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

// BuildPlanes writes the phase planes of channels [c0, c1) of the n images
// x (n×C×H×W; channel i·C + c is channel c of image i) into planes
// (PlaneElems(n) long); the call that ends at channel n·C also zeroes the
// read slack after the last plane.
func (d *DirectConv) BuildPlanes(planes, x []float32, n, c0, c1 int) {
	d.BuildPlanesPart(planes, x, n, c0, c1, 0, 1)
}

// BuildPlanesPart is BuildPlanes for part part of parts of every plane's
// rows, so that a few channels' planes (an image's three colours) split
// over more threads than channels; the part that ends at channel n·C's
// last row also zeroes the read slack.
func (d *DirectConv) BuildPlanesPart(planes, x []float32, n, c0, c1, part, parts int) {
	if d.pointwise {
		return
	}
	// This part's plane rows: [p0, p1) of hq.
	p0, p1 := part*d.hq/parts, (part+1)*d.hq/parts
	s := &d.s
	hw := s.H * s.W
	for ph, slot := range d.slots {
		if slot < 0 {
			continue
		}
		fh, fw := ph/s.SW, ph%s.SW
		// Plane columns c read input column c·SW + fw − PW and rows r input
		// row r·SH + fh − PH: those in [lo, hi) and [r0, r1) are inside the
		// image, the others are zero.
		lo, hi := insideSpan(fw-s.PW, s.SW, s.W, d.wq)
		r0, r1 := insideSpan(fh-s.PH, s.SH, s.H, d.hq)
		if lo == hi {
			r1 = r0
		}
		// Rows [r0, r1) hold input; within this part's rows, [z0, z1) are
		// zero above them and [z2, z3) below.
		z0, z1 := p0, max(p0, min(r0, p1))
		z2, z3 := min(p1, max(r1, p0)), p1
		r0, r1 = max(r0, p0), min(r1, p1)
		if r1 < r0 {
			r1 = r0
		}
		for cg := c0; cg < c1; cg++ {
			img, ci := cg/d.c, cg%d.c
			at := img*d.imgStride + (slot*d.c+ci)*d.planeLen
			dst := planes[at : at+d.planeLen]
			src := x[cg*hw : cg*hw+hw]
			// The padding is zero: one clear of a small plane costs less
			// than per-row ones; a large plane clears only its border.
			if d.planeLen < planeClearWhole {
				clear(dst[p0*d.wq : p1*d.wq])
			} else {
				clear(dst[z0*d.wq : z1*d.wq])
				clear(dst[z2*d.wq : z3*d.wq])
				for r := r0; r < r1; r++ {
					clear(dst[r*d.wq : r*d.wq+lo])
					clear(dst[r*d.wq+hi : (r+1)*d.wq])
				}
			}
			iw := lo*s.SW + fw - s.PW
			w := hi - lo
			if s.SW == 1 {
				ih := r0*s.SH + fh - s.PH
				for r := r0; r < r1; r++ {
					copy(dst[r*d.wq+lo:r*d.wq+hi], src[ih*s.W+iw:ih*s.W+iw+w])
					ih += s.SH
				}
				continue
			}
			if s.SW == 2 {
				if r1 > r0 && w > 0 {
					ih := r0*s.SH + fh - s.PH
					gatherStride2Rows(dst[r0*d.wq+lo:], d.wq, src[ih*s.W+iw:], s.SH*s.W, r1-r0, w)
				}
				continue
			}
			for r := r0; r < r1; r++ {
				row := dst[r*d.wq : (r+1)*d.wq]
				ih := r*s.SH + fh - s.PH
				out := row[lo:hi]
				in := src[ih*s.W+iw : ih*s.W+s.W]
				in = in[:(len(out)-1)*s.SW+1]
				for c := range out {
					out[c] = in[c*s.SW]
				}
			}
		}
	}
	if c1 == n*d.c && part == parts-1 {
		clear(planes[n*d.imgStride : n*d.imgStride+d.slack()])
	}
}

// planeClearWhole is the plane size (float32s) from which BuildPlanes
// clears only the border, not the whole plane, before copying the input in.
const planeClearWhole = 2048

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

// gatherStride2Rows sets dst[r·ldd+c] = src[r·lds+2c] for r < rows and
// c < n: one AVX-512 call over the rows where there is one (a call per row
// costs more than small rows' gathers), else a row at a time.
func gatherStride2Rows(dst []float32, ldd int, src []float32, lds, rows, n int) {
	if stride2GatherRows32(dst, ldd, src, lds, rows, n) {
		return
	}
	for r := 0; r < rows; r++ {
		gatherStride(dst[r*ldd:r*ldd+n], src[r*lds:], 2)
	}
}

// insideSpan returns the indices [lo, hi) among 0…n−1 whose input index
// i·stride + off lies in [0, size).
func insideSpan(off, stride, size, n int) (lo, hi int) {
	if off < 0 {
		lo = min((-off+stride-1)/stride, n)
	}
	if v := size - off; v > 0 {
		hi = min((v+stride-1)/stride, n)
	}
	return lo, max(hi, lo)
}

// Run computes output channel blocks [b0, b1) × position blocks [q0, q1)
// of groups [g0, g1) of the n images in y (n×M×OH×OW), from planes (their
// BuildPlanes, or the input itself when Pointwise), the packed weights w
// and the padded bias, then applies ep's activation and residual (ep.Bias
// is not used; ep.Residual is laid out like y) to what it wrote, a run per
// channel and image. Position block j of image i is block i·qb + j (qb of
// Blocks()): a task over several images reads each block of weights once
// for all of them. scratch is TaskElems(b1−b0, q1−q0) long.
func (d *DirectConv) Run(y, planes, w, bias []float32, n, g0, g1, b0, b1, q0, q1 int, ep *Epilogue[float32], scratch []float32) {
	mr := d.micro.mr
	_, qb := d.Blocks()
	if d.pointwise {
		_ = planes[n*d.imgStride-1]
	} else {
		_ = planes[d.PlaneElems(n)-1]
	}
	_ = w[d.PackedElems()-1]
	_ = bias[d.BiasElems()-1]
	p := d.s.OH * d.s.OW
	out := d.g * d.mg * p // y's elements per image
	_ = y[n*out-1]
	if b0 >= b1 || q0 >= q1 || g0 >= g1 {
		return
	}
	// A lone ReLU or HardSwish runs in the kernels as they store.
	act := ep.kernelAct()
	for g := g0; g < g1; g++ {
		d.runGroup(y, planes, w, bias, n, g, b0, b1, q0, q1, act, scratch)
	}
	if !ep.finishes() || act != actNone {
		return
	}
	// The outputs written in each image: from the first kept position at
	// or after its first block to the last before its end, contiguous in
	// every channel, and across the channels when that is all of them.
	mb, _ := d.Blocks()
	for j0 := q0; j0 < q1; {
		j1 := min(q1, (j0/qb+1)*qb)
		img := j0 / qb
		lo, _ := d.tileOut(j0 % qb)
		_, hi := d.tileOut(j1 - 1 - img*qb)
		if lo == 0 && hi == p && b0 == 0 && b1 == mb {
			at, end := img*out+g0*d.mg*p, img*out+g1*d.mg*p
			ep.finishRun(y[at:end], ep.residualAt(at, end-at))
		} else {
			for g := g0; g < g1; g++ {
				for m := g*d.mg + b0*mr; m < g*d.mg+min(b1*mr, d.mg); m++ {
					at := img*out + m*p + lo
					ep.finishRun(y[at:at+hi-lo], ep.residualAt(at, hi-lo))
				}
			}
		}
		j0 = j1
	}
}

// runGroup is Run's product for group g, through the kernels' activation
// act, before the rest of the epilogue.
func (d *DirectConv) runGroup(y, planes, w, bias []float32, n, g, b0, b1, q0, q1, act int, scratch []float32) {
	if d.micro.posFn != nil {
		d.runGroupPos(y, planes, w, bias, n, g, b0, b1, q0, q1, act, scratch)
		return
	}
	mk := d.micro
	mr, nr := mk.mr, mk.nr
	_, qb := d.Blocks()
	ow, p := d.s.OW, d.s.OH*d.s.OW
	out := d.g * d.mg * p
	_ = scratch[d.TaskElems(b1-b0, q1-q0)-1]
	kk := d.s.KH * d.s.KW
	chunk := max(1, convChunkBytes/(4*mr*kk)) * kk // taps per pass
	base := unsafe.Pointer(unsafe.SliceData(planes))
	// src returns where global position block j reads its input, and the
	// offsets of its taps there.
	var tail []float32
	if d.pointwise && d.q%nr != 0 && q1 == n*qb {
		// The partial last block of the last image would read past the
		// input: it reads a zero-padded copy, kept past the tiles'
		// scratch. (Other images' partial blocks read the next image.)
		tail = scratch[len(scratch)-d.cg*nr:]
		scratch = scratch[:len(scratch)-d.cg*nr]
		qt, m := (qb-1)*nr, d.q-(qb-1)*nr
		x := planes[(n-1)*d.imgStride+g*d.cg*d.planeLen:]
		for ci := 0; ci < d.cg; ci++ {
			copy(tail[ci*nr:ci*nr+m], x[ci*d.planeLen+qt:])
			clear(tail[ci*nr+m : (ci+1)*nr])
		}
	}
	src := func(j int) (*float32, []int32) {
		if tail != nil && j == n*qb-1 {
			return &tail[0], d.offsTail
		}
		at := (j/qb)*d.imgStride + g*d.cg*d.planeLen + (j%qb)*nr
		return (*float32)(unsafe.Add(base, 4*at)), d.offs
	}
	if chunk >= d.k {
		// One pass: tiles go through scratch into y, or straight to y
		// when whole and inside one row's kept outputs (every tile when
		// no columns are dropped).
		for j := q0; j < q1; j++ {
			yi := y[j/qb*out:]
			q := j % qb * nr
			cnt := min(q+nr, d.q) - q
			at := -1 // where a whole tile's first output goes in a channel of y
			if d.wq == ow {
				at = q
			} else if c := q % d.wq; c+nr <= ow {
				at = q/d.wq*ow + c
			}
			xq, to := src(j)
			for b := b0; b < b1; b++ {
				m0 := g*d.mg + b*mr
				rows := min(mr, d.mg-b*mr)
				wb, bb := &w[(g*d.mPad+b*mr)*d.k], &bias[g*d.mPad+b*mr]
				if cnt == nr && rows == mr && at >= 0 {
					mk.fn(d.k, &to[0], wb, xq, bb, &yi[m0*p+at], p, false, act)
					continue
				}
				mk.fn(d.k, &to[0], wb, xq, bb, &scratch[0], nr, false, act)
				d.store(yi, scratch, nr, m0, rows, q, cnt)
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
				for j := q0; j < q1; j++ {
					xq, to := src(j)
					mk.fn(kt, &to[t0], wb, xq, bb, &scratch[(b-b0)*mr*ld+(j-q0)*nr], ld, t0 > 0, lastAct(act, t0+kt == d.k))
				}
			}
		}
		for j0 := q0; j0 < q1; {
			j1 := min(q1, (j0/qb+1)*qb) // the rest of this image's blocks
			yi, q := y[j0/qb*out:], j0%qb*nr
			for b := b0; b < b1; b++ {
				d.store(yi, scratch[(b-b0)*mr*ld+(j0-q0)*nr:], ld, g*d.mg+b*mr, min(mr, d.mg-b*mr), q, min(q+(j1-j0)*nr, d.q)-q)
			}
			j0 = j1
		}
	}
}

// runGroupPos is runGroup with a position-broadcast kernel: tile j of an
// image is positions [ow, ow+nr) of output row oh, stored position-major
// in scratch (in passes over chunks of the taps when a block's weights
// would not stay in L1) and transposed into y.
func (d *DirectConv) runGroupPos(y, planes, w, bias []float32, n, g, b0, b1, q0, q1, act int, scratch []float32) {
	mk := d.micro
	mr, nr := mk.mr, mk.nr
	_, qb := d.Blocks()
	p := d.s.OH * d.s.OW
	out := d.g * d.mg * p
	_ = scratch[d.TaskElems(b1-b0, q1-q0)-1]
	kk := d.s.KH * d.s.KW
	chunk := max(1, convChunkBytes/(4*mr*kk)) * kk // taps per pass
	if chunk >= d.k {
		chunk = d.k
	}
	base := unsafe.Pointer(unsafe.SliceData(planes))
	tile := func(b, j int) []float32 { // where block b's tile j accumulates
		at := ((b-b0)*(q1-q0) + j - q0) * mr * nr
		if chunk == d.k {
			at = 0 // one pass: each tile is stored before the next
		}
		return scratch[at : at+mr*nr]
	}
	store := func(b, j int) {
		img, jj := j/qb, j%qb
		lo, hi := d.tileOut(jj)
		rows := min(mr, d.mg-b*mr)
		t := tile(b, j)
		at := img*out + (g*d.mg+b*mr)*p + lo
		for c := 0; c < rows; c += 16 {
			transpose16F32(&y[at+c*p], p, &t[c], mr, hi-lo, min(16, rows-c), hi-lo)
		}
	}
	for t0 := 0; t0 < d.k; t0 += chunk {
		kt := min(chunk, d.k-t0)
		last := t0+kt == d.k
		for b := b0; b < b1; b++ {
			wb, bb := &w[(g*d.mPad+b*mr)*d.k+t0*mr], &bias[g*d.mPad+b*mr]
			for j := q0; j < q1; j++ {
				img, jj := j/qb, j%qb
				oh, ow := jj/d.rowTiles(), jj%d.rowTiles()*nr
				at := img*d.imgStride + g*d.cg*d.planeLen + oh*d.wq + ow
				mk.posFn(kt, &d.offs[t0], wb, (*float32)(unsafe.Add(base, 4*at)), bb, &tile(b, j)[0], t0 > 0, lastAct(act, last))
				if last && chunk == d.k {
					store(b, j)
				}
			}
		}
	}
	if chunk < d.k {
		for b := b0; b < b1; b++ {
			for j := q0; j < q1; j++ {
				store(b, j)
			}
		}
	}
}

// lastAct is act on a chunk's last pass over the taps, else none.
func lastAct(act int, last bool) int {
	if last {
		return act
	}
	return actNone
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
	oh, c := q/d.wq, q%d.wq // one division: the segments then follow the rows
	for j := 0; j < n; {
		run := min(d.wq-c, n-j)
		if valid := min(run, ow-c); valid > 0 {
			copyBlock(y[m0*p+oh*ow+c:], p, src[j:], ld, rows, valid)
		}
		j += run
		oh, c = oh+1, 0
	}
}

// copyBlock sets dst[i·ldd+j] = src[i·lds+j] for i < rows and j < n: one
// AVX-512 call where there is one (a call per short row costs more than
// its copy), else a copy per row.
func copyBlock(dst []float32, ldd int, src []float32, lds, rows, n int) {
	if rows == 0 || n == 0 {
		return
	}
	_ = dst[(rows-1)*ldd+n-1]
	_ = src[(rows-1)*lds+n-1]
	if blockAsm {
		copyBlock32AVX512(&dst[0], ldd, &src[0], lds, rows, n)
		return
	}
	for i := 0; i < rows; i++ {
		copy(dst[i*ldd:i*ldd+n], src[i*lds:i*lds+n])
	}
}
