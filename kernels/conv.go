package kernels

// Convolution and pooling helpers over one NCHW image (1-D convolutions are
// 2-D ones with H = KH = 1): im2col for the GEMM path, col2im for
// ConvTranspose, and window pooling (depthwise convolution: depthwise.go).

import (
	"math"

	"github.com/mle-runtime/mle/kernels/vmath"
)

// ConvShape is the geometry of a 2-D convolution or pooling window over one
// H×W plane: kernel, stride, dilation, leading pads and the output size.
type ConvShape struct {
	H, W       int
	KH, KW     int
	SH, SW     int
	DH, DW     int
	PH, PW     int // leading (top, left) pads
	OH, OW     int
	PHEnd, PWE int // trailing pads (pooling's count_include_pad)
}

// owRange returns the output columns [lo, hi) whose input column
// ow·SW − PW + off lies in [0, W).
func (s *ConvShape) owRange(off int) (lo, hi int) { return insideSpan(off-s.PW, s.SW, s.W, s.OW) }

// Im2col writes columns [p0, p1) of the im2col matrix of the C-channel
// image x (C×H×W) into col, row r = (c·KH + i)·KW + j at col[r·ld:], where
// column p is output position (p / OW, p % OW). Padding reads as zero.
func Im2col[T Float](col []T, ld int, x []T, c int, s *ConvShape, p0, p1 int) {
	hw := s.H * s.W
	n := p1 - p0
	r := 0
	for ci := 0; ci < c; ci++ {
		plane := x[ci*hw : ci*hw+hw]
		for i := 0; i < s.KH; i++ {
			for j := 0; j < s.KW; j++ {
				dst := col[r*ld : r*ld+n]
				r++
				lo, hi := s.owRange(j * s.DW)
				d := j*s.DW - s.PW
				p := p0
				for p < p1 {
					oh, ow := p/s.OW, p%s.OW
					run := min(s.OW-ow, p1-p) // rest of this output row
					seg := dst[p-p0 : p-p0+run]
					ih := oh*s.SH - s.PH + i*s.DH
					if ih < 0 || ih >= s.H {
						clear(seg)
						p += run
						continue
					}
					row := plane[ih*s.W : ih*s.W+s.W]
					for k := range seg {
						o := ow + k
						if o < lo || o >= hi {
							seg[k] = 0
						} else if s.SW == 1 {
							// Contiguous: copy the valid span at once.
							e := min(hi, ow+run)
							copy(seg[k:e-ow], row[o+d:e+d])
							for k2 := e - ow; k2 < run; k2++ {
								seg[k2] = 0
							}
							break
						} else {
							seg[k] = row[o*s.SW+d]
						}
					}
					p += run
				}
			}
		}
	}
}

// Col2im adds the col matrix of a transposed convolution into the m-channel
// image y (m×OH×OW of the output geometry). col row r = (c·KH + i)·KW + j
// holds, at column ih·W + iw, the contribution to output (ih·SH − PH + i·DH,
// iw·SW − PW + j·DW); contributions falling outside y are dropped.
func Col2im[T Float](y []T, col []T, m int, s *ConvShape) {
	hw, ohw := s.H*s.W, s.OH*s.OW
	r := 0
	for ci := 0; ci < m; ci++ {
		plane := y[ci*ohw : ci*ohw+ohw]
		for i := 0; i < s.KH; i++ {
			for j := 0; j < s.KW; j++ {
				src := col[r*hw : r*hw+hw]
				r++
				for ih := 0; ih < s.H; ih++ {
					oh := ih*s.SH - s.PH + i*s.DH
					if oh < 0 || oh >= s.OH {
						continue
					}
					orow := plane[oh*s.OW : oh*s.OW+s.OW]
					srow := src[ih*s.W : ih*s.W+s.W]
					d := j*s.DW - s.PW
					for iw, v := range srow {
						ow := iw*s.SW + d
						if ow >= 0 && ow < s.OW {
							orow[ow] += v
						}
					}
				}
			}
		}
	}
}

// maxPoolRow is the width of MaxPoolPlane's padded row: the input row
// with PW leading and enough trailing −Inf for every window.
func maxPoolRow(s *ConvShape) int {
	return max(s.PW+s.W, (s.OW-1)*s.SW+(s.KW-1)*s.DW+1)
}

// maxPoolBlock is how many output rows MaxPoolPlane takes at a time: each
// of its passes is then one call over the block's rows, not one per row,
// while its scratch stays small.
const maxPoolBlock = 32

// MaxPoolScratch is the scratch MaxPoolPlane needs, in elements.
func MaxPoolScratch(s *ConvShape) int {
	wp, rows := maxPoolRow(s), min(s.OH, maxPoolBlock)
	if s.SW == 1 {
		return rows * wp
	}
	return rows * (wp + s.SW*((wp+s.SW-1)/s.SW))
}

// MaxPoolPlane is max pooling of one plane x into out, with tmp
// (MaxPoolScratch elements) as scratch; see MaxPoolPlanes.
func MaxPoolPlane[T Float](out, x []T, s *ConvShape, tmp []T) { MaxPoolPlanes(out, x, 1, s, tmp) }

// MaxPoolPlanes is max pooling of n planes x (H×W each) into out (OH×OW
// each), with tmp (MaxPoolScratch elements) as scratch. A window with no
// input element (dilated, over padding) gives −Inf. As in torch, a value
// replaces the running max when it is larger or NaN, so NaN propagates and
// the first of equal values stays. Each output row takes the max of its
// window's input rows first, element by element into a row padded with
// −Inf, then of that row's columns: the row split by stride phase, so that
// each tap is one vector pass over a contiguous run. A block of output
// rows goes through each pass in one call, and the padding is written
// once for all the planes.
func MaxPoolPlanes[T Float](out, x []T, n int, s *ConvShape, tmp []T) {
	wp := maxPoolRow(s)
	lph := (wp + s.SW - 1) / s.SW
	nb := min(s.OH, maxPoolBlock) // rows of the scratch blocks
	inf := T(math.Inf(-1))
	rows := tmp[:nb*wp] // a block's padded rows
	for r := 0; r < nb; r++ {
		Fill(rows[r*wp:r*wp+s.PW], inf)
		Fill(rows[r*wp+s.PW+s.W:(r+1)*wp], inf)
	}
	// Phase f of a row holds its columns f, f+SW, …, then −Inf.
	src, ld := rows, wp
	var width []int // per phase: the columns gathered
	if s.SW > 1 {
		src, ld = tmp[nb*wp:nb*wp+s.SW*nb*lph], lph
		width = make([]int, s.SW)
		for f := range width {
			if f < wp {
				width[f] = (wp - f + s.SW - 1) / s.SW
			}
			for r := 0; r < nb; r++ {
				Fill(src[(f*nb+r)*lph+width[f]:(f*nb+r+1)*lph], inf)
			}
		}
	}
	// Where each tap starts: a window row's input row, and a window
	// column's phase and shift.
	var vBuf, hBuf [16]int
	vTaps, hTaps := vBuf[:0], hBuf[:0]
	for i := 0; i < s.KH; i++ {
		vTaps = append(vTaps, i*s.DH*s.W)
	}
	for j := 0; j < s.KW; j++ {
		d := j * s.DW
		hTaps = append(hTaps, (d%s.SW)*nb*ld+d/s.SW)
	}
	hw, ohw := s.H*s.W, s.OH*s.OW
	for p := 0; p < n; p++ {
		xp := x[p*hw : (p+1)*hw]
		for oh0 := 0; oh0 < s.OH; oh0 += nb {
			nr := min(nb, s.OH-oh0)
			maxPoolRows(rows[s.PW:], wp, xp, s, oh0, nr, vTaps)
			for f, w := range width {
				if w > 0 {
					gatherStrideRows(src[f*nb*lph:], lph, rows[f:], wp, nr, w, s.SW)
				}
			}
			maxTaps(out[p*ohw+oh0*s.OW:p*ohw+(oh0+nr)*s.OW], s.OW, src, ld, hTaps, nr, s.OW)
		}
	}
}

// maxPoolRows sets row r < nr of acc (row stride lda, W wide) to the
// element-wise max of output row oh0+r's window rows, in window order:
// the rows whose whole window is inside the input in one call (taps: the
// window rows' offsets), the others one at a time (−Inf for a window of
// padding only).
func maxPoolRows[T Float](acc []T, lda int, x []T, s *ConvShape, oh0, nr int, taps []int) {
	inside := func(oh int) bool {
		return oh*s.SH-s.PH >= 0 && oh*s.SH-s.PH+(s.KH-1)*s.DH < s.H
	}
	for r := 0; r < nr; {
		oh := oh0 + r
		if !inside(oh) {
			// The window rows inside the input, as offsets from the first.
			var buf [16]int
			rows, first := buf[:0], -1
			for i := 0; i < s.KH; i++ {
				ih := oh*s.SH - s.PH + i*s.DH
				if ih < 0 || ih >= s.H {
					continue
				}
				if first < 0 {
					first = ih
				}
				rows = append(rows, (ih-first)*s.W)
			}
			if first < 0 { // a dilated window may miss the input: −Inf, as torch
				Fill(acc[r*lda:r*lda+s.W], T(math.Inf(-1)))
			} else {
				maxTaps(acc[r*lda:], lda, x[first*s.W:], s.W, rows, 1, s.W)
			}
			r++
			continue
		}
		n := 1
		for r+n < nr && inside(oh+n) {
			n++
		}
		maxTaps(acc[r*lda:], lda, x[(oh*s.SH-s.PH)*s.W:], s.SH*s.W, taps, n, s.W)
		r += n
	}
}

// maxTaps sets out[r·ldo+i] to the max of x[r·ldx+offs[t]+i] over the
// taps t in order (the first copied, each later one taken when larger or
// NaN), for r < rows and i < n.
func maxTaps[T Float](out []T, ldo int, x []T, ldx int, offs []int, rows, n int) {
	if isFloat32[T]() && maxTaps32(asF32(out), ldo, asF32(x), ldx, offs, rows, n) {
		return
	}
	for t, off := range offs {
		if t == 0 {
			copyRows(out, ldo, x[off:], ldx, rows, n)
		} else {
			maxAccRows(out, ldo, x[off:], ldx, rows, n)
		}
	}
}

// maxAccRows sets acc[r·lda+i] = x[r·ldx+i] where that is larger than
// acc[r·lda+i] or NaN, for r < rows and i < n.
func maxAccRows[T Float](acc []T, lda int, x []T, ldx, rows, n int) {
	for r := 0; r < rows; r++ {
		a, v := acc[r*lda:r*lda+n], x[r*ldx:r*ldx+n]
		for i, e := range v {
			if e > a[i] || e != e {
				a[i] = e
			}
		}
	}
}

// copyRows copies rows r < rows of n elements from src[r·lds:] to
// dst[r·ldd:].
func copyRows[T Float](dst []T, ldd int, src []T, lds, rows, n int) {
	if isFloat32[T]() {
		copyBlock(asF32(dst), ldd, asF32(src), lds, rows, n)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*ldd:r*ldd+n], src[r*lds:r*lds+n])
	}
}

// gatherStrideRows sets dst[r·ldd+c] = src[r·lds+c·stride] for r < rows
// and c < n.
func gatherStrideRows[T Float](dst []T, ldd int, src []T, lds, rows, n, stride int) {
	if stride == 2 && isFloat32[T]() && stride2GatherRows32(asF32(dst), ldd, asF32(src), lds, rows, n) {
		return
	}
	for r := 0; r < rows; r++ {
		gatherStride(dst[r*ldd:r*ldd+n], src[r*lds:], stride)
	}
}

// gatherStride sets dst[c] = src[c·stride].
func gatherStride[T Float](dst, src []T, stride int) {
	if len(dst) == 0 {
		return
	}
	if stride == 2 && isFloat32[T]() && stride2Gather32(asF32(dst), asF32(src)) {
		return
	}
	src = src[:(len(dst)-1)*stride+1]
	for c := range dst {
		dst[c] = src[c*stride]
	}
}

// AvgPoolPlane is average pooling of one plane x into out. With
// includePad, the divisor counts padding inside [−PH, H+PHEnd) (torch and
// ONNX: not the extra ceil_mode cells); without, only input elements.
func AvgPoolPlane[T Float](out, x []T, s *ConvShape, includePad bool) {
	for oh := 0; oh < s.OH; oh++ {
		h0 := oh*s.SH - s.PH
		for ow := 0; ow < s.OW; ow++ {
			w0 := ow*s.SW - s.PW
			var sum T
			cnt, padCnt := 0, 0
			for i := 0; i < s.KH; i++ {
				ih := h0 + i*s.DH
				inH := ih >= -s.PH && ih < s.H+s.PHEnd
				for j := 0; j < s.KW; j++ {
					iw := w0 + j*s.DW
					if inH && iw >= -s.PW && iw < s.W+s.PWE {
						padCnt++
					}
					if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
						continue
					}
					sum += x[ih*s.W+iw]
					cnt++
				}
			}
			if includePad {
				cnt = padCnt
			}
			out[oh*s.OW+ow] = sum / T(cnt)
		}
	}
}

// AvgRows sets out[r] to the mean of row r of x (rows of n elements) for
// every r < len(out), as AdaptivePoolPlane's global average does a plane:
// one call for all the rows where the AVX-512 loop exists.
func AvgRows[T Float](out, x []T, n int) {
	rows := len(out)
	if rows == 0 || n <= 0 {
		return
	}
	_ = x[rows*n-1]
	if isFloat32[T]() && blockAsm {
		avgRows32AVX512(&asF32(out)[0], &asF32(x)[0], rows, n, float64(n))
		return
	}
	for r := range out {
		AdaptivePoolPlane(out[r:r+1], x[r*n:(r+1)*n], 1, n, 1, 1, false)
	}
}

// AdaptiveBounds returns the input span [lo, hi) of adaptive-pooling
// window i of out over in elements: [floor(i·in/out), ceil((i+1)·in/out)).
func AdaptiveBounds(i, in, out int) (lo, hi int) {
	return i * in / out, ((i+1)*in + out - 1) / out
}

// AdaptivePoolPlane pools plane x (h×w) into oh×ow windows, averaging or
// taking the max.
func AdaptivePoolPlane[T Float](out, x []T, h, w, oh, ow int, maxPool bool) {
	if oh == 1 && ow == 1 && !maxPool {
		// Global average pooling (squeeze-and-excite blocks run many):
		// one vector sum, in float64 lanes.
		var sum float64
		if isFloat32[T]() {
			sum = vmath.Sum32(asF32(x[:h*w]))
		} else {
			sum = vmath.Sum64(asF64(x[:h*w]))
		}
		out[0] = T(sum / float64(h*w))
		return
	}
	for a := 0; a < oh; a++ {
		h0, h1 := AdaptiveBounds(a, h, oh)
		for b := 0; b < ow; b++ {
			w0, w1 := AdaptiveBounds(b, w, ow)
			var acc T
			if maxPool {
				acc = T(math.Inf(-1))
			}
			nan := false
			for i := h0; i < h1; i++ {
				for _, v := range x[i*w+w0 : i*w+w1] {
					switch {
					case !maxPool:
						acc += v
					case v > acc:
						acc = v
					case v != v:
						nan = true
					}
				}
			}
			if maxPool {
				if nan {
					acc = T(math.NaN())
				}
			} else {
				acc /= T((h1 - h0) * (w1 - w0))
			}
			out[a*ow+b] = acc
		}
	}
}
