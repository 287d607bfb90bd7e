package kernels

// Channel-blocked depthwise convolution (float32, AVX-512). The direct
// path's one-channel tiles vectorize over positions, which suits large
// planes; mobilenet's depthwise layers run at 7×7 to 28×28, where most of a
// 16-position vector is row padding and each channel's plane costs a call
// to build and another to store. Here a vector holds 16 channels of one
// pixel instead: a task copies the input rows it reads into a zero-padded
// block laid out pixel by pixel, 16 channels each (a 16×16 transpose per
// 16 pixels), runs all its output pixels in one kernel call (sconvDW16: a
// vector of weights per tap, 8 pixels' FMA chains at a time, each pixel's
// input from a table, so that blocks of 8 span rows of 7) and transposes
// the result back into Y. Every output is bias + Σ taps in order, one FMA
// each: the same chain as the direct kernels', so the same bits.

import "unsafe"

// dwBlockBudget bounds a task's blocks (its padded input rows and its
// outputs), in float32s: the rows of a large plane are split across tasks
// so that each task's data stays in L2.
const dwBlockBudget = 64 << 10

// DepthwiseBlocked is the plan of a float32 depthwise convolution (C
// groups of one input and one output channel) of n images run 16 channels
// at a time. It is immutable once made and safe for concurrent use.
type DepthwiseBlocked struct {
	s       ConvShape
	c, n    int
	blocks  int     // ⌈C/16⌉
	wp      int     // padded row: the columns the outputs read
	taps    int     // KH·KW
	offs    []int32 // per tap: (kh·DH·wp + kw·DW)·16
	pix     []int32 // per output pixel of a task: its first input, (r·SH·wp + ow·SW)·16
	rowsPer int     // output rows per task
	chunks  int     // tasks per image and block
}

// NewDepthwiseBlocked plans the depthwise convolution of n images of c
// channels over geometry s for threads workers, or returns nil when this
// build or CPU has no blocked kernels or the sizes do not fit its offsets.
func NewDepthwiseBlocked(s *ConvShape, c, n, threads int) *DepthwiseBlocked {
	if !blockAsm || c < 1 || n < 1 || s.OH < 1 || s.OW < 1 || s.SW > 64 || s.SH > 64 {
		return nil
	}
	d := &DepthwiseBlocked{s: *s, c: c, n: n, blocks: (c + 15) / 16, taps: s.KH * s.KW}
	d.wp = (s.OW-1)*s.SW + (s.KW-1)*s.DW + 1
	// A task of one output row must stay near the budget (which also
	// keeps every offset far inside int32); wider rows go to the direct
	// path.
	if int64(s.SH+(s.KH-1)*s.DH)*int64(d.wp)*16+int64(s.OW)*16 > 4*dwBlockBudget {
		return nil
	}
	want := 1
	if threads > 1 {
		want = 3 * threads // enough that uneven tasks even out
	}
	chunks := 1
	if n*d.blocks < want {
		chunks = min(s.OH, (want+n*d.blocks-1)/(n*d.blocks))
	}
	d.rowsPer = (s.OH + chunks - 1) / chunks
	for d.rowsPer > 1 && d.taskElems(d.rowsPer) > dwBlockBudget {
		d.rowsPer = (d.rowsPer + 1) / 2
	}
	d.chunks = (s.OH + d.rowsPer - 1) / d.rowsPer
	d.pix = make([]int32, d.rowsPer*s.OW)
	for r := 0; r < d.rowsPer; r++ {
		for ow := 0; ow < s.OW; ow++ {
			d.pix[r*s.OW+ow] = int32((r*s.SH*d.wp + ow*s.SW) * 16)
		}
	}
	d.offs = make([]int32, d.taps)
	for i := 0; i < s.KH; i++ {
		for j := 0; j < s.KW; j++ {
			d.offs[i*s.KW+j] = int32((i*s.DH*d.wp + j*s.DW) * 16)
		}
	}
	return d
}

// inRows is how many padded input rows output rows [oh0, oh1) read.
func (d *DepthwiseBlocked) inRows(oh0, oh1 int) int {
	return (oh1-1-oh0)*d.s.SH + (d.s.KH-1)*d.s.DH + 1
}

// taskElems is the scratch of a task of rows output rows: its input block
// and its outputs, 64-byte aligned.
func (d *DepthwiseBlocked) taskElems(rows int) int {
	return (d.inRows(0, rows)*d.wp+rows*d.s.OW)*16 + 16
}

// Tasks is the number of tasks Run takes.
func (d *DepthwiseBlocked) Tasks() int { return d.n * d.blocks * d.chunks }

// TaskElems is the float32 scratch one task takes.
func (d *DepthwiseBlocked) TaskElems() int { return d.taskElems(d.rowsPer) }

// PackedElems is the length of PackWeights' result.
func (d *DepthwiseBlocked) PackedElems() int { return d.blocks * d.taps * 16 }

// PackWeights lays the weights w (C×1×KH×KW) out as the kernel reads
// them: per block of 16 channels, per tap, the 16 channels' weights
// (channels past C zero).
func (d *DepthwiseBlocked) PackWeights(dst, w []float32) {
	_ = w[d.c*d.taps-1]
	dst = dst[:d.PackedElems()]
	clear(dst)
	for ch := 0; ch < d.c; ch++ {
		b, l := ch/16, ch%16
		for t, v := range w[ch*d.taps : (ch+1)*d.taps] {
			dst[(b*d.taps+t)*16+l] = v
		}
	}
}

// BiasElems is the length PadBias writes.
func (d *DepthwiseBlocked) BiasElems() int { return d.blocks * 16 }

// PadBias writes the bias b (C values, nil: zeros) padded to whole blocks.
func (d *DepthwiseBlocked) PadBias(dst, b []float32) {
	dst = dst[:d.BiasElems()]
	clear(dst)
	copy(dst, b[:min(len(b), d.c)])
}

// Run computes task t of the convolution of x (n×C×H×W) into y
// (n×C×OH×OW) with the packed weights w and padded bias, then applies ep's
// activation and residual (laid out like y; ep.Bias unused) to what it
// wrote. scratch is TaskElems() long.
func (d *DepthwiseBlocked) Run(y, x, w, bias []float32, t int, ep *Epilogue[float32], scratch []float32) {
	s := &d.s
	hw, p := s.H*s.W, s.OH*s.OW
	_ = x[d.n*d.c*hw-1]
	_ = y[d.n*d.c*p-1]
	_ = w[d.PackedElems()-1]
	_ = bias[d.BiasElems()-1]
	img, b, ch := t/(d.blocks*d.chunks), t/d.chunks%d.blocks, t%d.chunks
	oh0 := ch * d.rowsPer
	oh1 := min(s.OH, oh0+d.rowsPer)
	if img >= d.n || oh0 >= oh1 {
		return
	}
	vc := min(16, d.c-b*16) // channels in this block
	rin := d.inRows(oh0, oh1)
	// 64-byte alignment: every vector the kernel reads is one cache line.
	al := int((-uintptr(unsafe.Pointer(unsafe.SliceData(scratch))) / 4) & 15)
	buf := scratch[al : al+rin*d.wp*16]
	ob := scratch[al+rin*d.wp*16 : al+(rin*d.wp+(oh1-oh0)*s.OW)*16]

	// The padded input block: padded row pr is input row oh0·SH + pr − PH,
	// padded column pc input column pc − PW.
	colLo := min(s.PW, d.wp)
	colHi := max(colLo, min(d.wp, s.PW+s.W))
	xb := x[(img*d.c+b*16)*hw:]
	for pr := 0; pr < rin; pr++ {
		row := buf[pr*d.wp*16 : (pr+1)*d.wp*16]
		ih := oh0*s.SH + pr - s.PH
		if ih < 0 || ih >= s.H || colLo == colHi {
			clear(row)
			continue
		}
		clear(row[:colLo*16])
		clear(row[colHi*16:])
		for c0 := colLo; c0 < colHi; c0 += 16 {
			cols := min(16, colHi-c0)
			src := xb[ih*s.W+c0-s.PW:]
			_ = src[(vc-1)*hw+cols-1]
			transpose16F32(&row[c0*16], 16, &src[0], hw, vc, cols, 16)
		}
	}
	npix := (oh1 - oh0) * s.OW
	act := ep.kernelAct()
	sconvDW16(npix, d.taps, &d.offs[0], &w[b*d.taps*16], &buf[0], &bias[b*16], &ob[0], &d.pix[0], act)
	// Back to Y's layout: pixels × 16 channels → channel rows.
	at := (img*d.c+b*16)*p + oh0*s.OW
	yb := y[at : at+(vc-1)*p+npix]
	for j0 := 0; j0 < npix; j0 += 16 {
		k := min(16, npix-j0)
		transpose16F32(&yb[j0], p, &ob[j0*16], 16, k, vc, k)
	}
	if !ep.finishes() || act != actNone {
		return
	}
	if npix == p {
		ep.finishRun(y[at:at+vc*p], ep.residualAt(at, vc*p))
		return
	}
	for l := 0; l < vc; l++ {
		ep.finishRun(y[at+l*p:at+l*p+npix], ep.residualAt(at+l*p, npix))
	}
}
