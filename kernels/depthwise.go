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

import "unsafe"

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
	clear(ph)
	for r := 0; r < s.H; r++ {
		pr := r + s.PH // padded row
		if pr >= hq*s.SH {
			break
		}
		row := x[r*s.W : r*s.W+s.W]
		base := (pr%s.SH)*s.SW*plane + (pr/s.SH)*wq
		if s.SW == 1 {
			n := min(len(row), wq-s.PW)
			copy(ph[base+s.PW:base+s.PW+n], row[:n])
			continue
		}
		for ph0 := 0; ph0 < s.SW; ph0++ { // padded columns ph0, ph0+SW, ...
			dst := ph[base+ph0*plane : base+ph0*plane+wq]
			c := ph0 - s.PW // input column of padded column ph0
			q := 0
			for c < 0 {
				c += s.SW
				q++
			}
			for ; c < s.W && q < wq; c, q = c+s.SW, q+1 {
				dst[q] = row[c]
			}
		}
	}
	clear(acc)
	n := s.OH * wq
	for i := 0; i < s.KH; i++ {
		ri := i * s.DH
		for j := 0; j < s.KW; j++ {
			cj := j * s.DW
			p := ph[((ri%s.SH)*s.SW+cj%s.SW)*plane:]
			off := (ri/s.SH)*wq + cj/s.SW
			axpy(acc, p[off:off+n], w[i*s.KW+j])
		}
	}
	for oh := 0; oh < s.OH; oh++ {
		src, dst := acc[oh*wq:oh*wq+s.OW], out[oh*s.OW:oh*s.OW+s.OW]
		for k, v := range src {
			dst[k] = v + bias
		}
	}
}

// axpy adds a·x to y, with the vector loop for float32.
func axpy[T Float](y, x []T, a T) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		Axpy32(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(y))), len(y)),
			unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), float32(a))
		return
	}
	axpyGo(y, x, a)
}

func axpyGo[T Float](y, x []T, a T) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}
