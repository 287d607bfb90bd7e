package kernels

// Depthwise convolution of one plane as a few long vector loops. The padded
// input is split into SH×SW phase planes (row r, column c of the padded
// input lands in phase (r mod SH, c mod SW) at (r div SH, c div SW)), so a
// tap (i, j) of a strided, dilated kernel reads one phase plane at a fixed
// offset: out[oh][ow] += w·phase[(oh+oi)·Wq + ow + oj]. With the output laid
// out at the phase planes' row stride Wq, each tap is then one axpy over
// OH·Wq elements; the Wq−OW columns past the output's width are computed
// and dropped. That trades a little waste on narrow planes for the
// vector units on every tap, strides and dilations included.

// DepthwiseScratch returns the scratch elements DepthwisePhases needs.
func DepthwiseScratch(s *ConvShape) int {
	hq, wq := phaseDims(s)
	return s.SH*s.SW*(hq+1)*wq + s.OH*wq
}

func phaseDims(s *ConvShape) (hq, wq int) {
	// Padded extent needed: the last output's last tap.
	hp := (s.OH-1)*s.SH + (s.KH-1)*s.DH + 1
	wp := (s.OW-1)*s.SW + (s.KW-1)*s.DW + 1
	return (hp + s.SH - 1) / s.SH, (wp + s.SW - 1) / s.SW
}

// DepthwisePhases convolves plane x (H×W) with the KH×KW filter w into out
// (OH×OW), starting from bias; scratch has DepthwiseScratch(s) elements.
func DepthwisePhases[T Float](out, x, w []T, bias T, s *ConvShape, scratch []T) {
	hq, wq := phaseDims(s)
	plane := (hq + 1) * wq // one spare zero row: the last tap's row may run past hq
	ph, acc := scratch[:s.SH*s.SW*plane], scratch[s.SH*s.SW*plane:][:s.OH*wq]
	for a := 0; a < s.SH; a++ {
		r0, r1 := phaseSpan(a, s.SH, s.PH, s.H, hq)
		for b := 0; b < s.SW; b++ {
			c0, c1 := phaseSpan(b, s.SW, s.PW, s.W, wq)
			p := ph[(a*s.SW+b)*plane : (a*s.SW+b+1)*plane]
			// Only the padding frame needs zeros: the rest is overwritten.
			clear(p[:r0*wq])
			clear(p[r1*wq:])
			for q := r0; q < r1; q++ {
				row := p[q*wq : q*wq+wq]
				clear(row[:c0])
				clear(row[c1:])
				src := x[(q*s.SH+a-s.PH)*s.W:]
				c := c0*s.SW + b - s.PW // input column of phase column c0
				if s.SW == 1 {
					copy(row[c0:c1], src[c:c+c1-c0])
					continue
				}
				for k := c0; k < c1; k, c = k+1, c+s.SW {
					row[k] = src[c]
				}
			}
		}
	}
	Fill(acc, bias)
	n := s.OH * wq
	// Tap (i, j) reads phase (i·DH mod SH, j·DW mod SW) at row i·DH div SH,
	// column j·DW div SW: stepped without dividing (a division per tap
	// costs as much as a short plane's axpy).
	ra, rq := 0, 0
	for i := 0; i < s.KH; i++ {
		ca, cq := 0, 0
		for j := 0; j < s.KW; j++ {
			off := (ra*s.SW+ca)*plane + rq*wq + cq
			axpy(acc, ph[off:off+n], w[i*s.KW+j])
			for ca += s.DW; ca >= s.SW; ca -= s.SW {
				cq++
			}
		}
		for ra += s.DH; ra >= s.SH; ra -= s.SH {
			rq++
		}
	}
	for oh := 0; oh < s.OH; oh++ {
		copy(out[oh*s.OW:oh*s.OW+s.OW], acc[oh*wq:oh*wq+s.OW])
	}
}

// phaseSpan returns the rows [lo, hi) of phase a (of stride st, n phase
// rows) that hold input rows: padded row q·st + a lies in [pad, pad+size).
func phaseSpan(a, st, pad, size, n int) (lo, hi int) {
	lo = (pad - a + st - 1) / st // a < st: never negative
	hi = min(n, (pad+size-a+st-1)/st)
	return min(lo, n), max(min(lo, n), hi)
}
