package kernels

// Winograd F(4×4, 3×3): each 4×4 block of outputs (a tile) is
// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for the tile's 6×6 input patch d, so the sum
// over input channels is 36 matrix products with 36 multiplies per tile
// and channel pair where F(2×2, 3×3) needs 64 (16 per 2×2) and the direct
// form 144. The interpolation points are 0, ±1, ±2 and ∞; the transforms
// multiply by up to 8 (and G divides by 24), so results drift a few
// float32 roundings further from the direct sum than F(2×2, 3×3)'s.
//
// The layouts are F(2×2, 3×3)'s with 36 matrices: u[ξ] M×C, v[ξ] C×T,
// m[ξ] M×T (ξ = 6·row + column of the transformed tile), v's and m's
// WinogradStride apart. A padded input row is split into its four column
// phases (columns ≡ 0, 1, 2, 3 mod 4), so that a tile's six columns are
// six vectors: phases 0–3 at the tile, phases 0 and 1 one further.

// Winograd4Tiles returns the tile grid of an oh×ow output.
func Winograd4Tiles(oh, ow int) (th, tw int) { return (oh + 3) / 4, (ow + 3) / 4 }

// Winograd4Row is the length of one phase of a padded input row of a
// tw-wide tile grid: tw+1 values and the vectors' slack.
func Winograd4Row(tw int) int { return roundUp(tw+1, 16) + 16 }

// Winograd4SplitElems is the length of Winograd4Split's buffer for a th×tw
// tile grid: 4·th + 2 padded rows of four phases, and one padded row.
func Winograd4SplitElems(th, tw int) int {
	return 4*(4*th+2)*Winograd4Row(tw) + 4*roundUp(tw+1, 16)
}

// g4 is G for F(4×4, 3×3): the filter's transform rows.
var g4 = [6][3]float64{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}

// Winograd4Filter sets u[ξ·m·c + mo·c + ci] = (G·g·Gᵀ)[ξ] for the weights
// w (m×c×3×3) of output channel mo and input channel ci, in float64
// rounded once.
func Winograd4Filter(u, w []float32, m, c int) {
	_ = u[36*c*m-1]
	_ = w[m*c*9-1]
	for mo := 0; mo < m; mo++ {
		for ci := 0; ci < c; ci++ {
			g := w[(mo*c+ci)*9 : (mo*c+ci)*9+9]
			var t [6][3]float64 // G·g
			for i := 0; i < 6; i++ {
				for j := 0; j < 3; j++ {
					t[i][j] = g4[i][0]*float64(g[j]) + g4[i][1]*float64(g[3+j]) + g4[i][2]*float64(g[6+j])
				}
			}
			for i := 0; i < 6; i++ {
				for j := 0; j < 6; j++ {
					v := t[i][0]*g4[j][0] + t[i][1]*g4[j][1] + t[i][2]*g4[j][2]
					u[(i*6+j)*m*c+mo*c+ci] = float32(v)
				}
			}
		}
	}
}

// Winograd4Split writes channel plane x (h×w) zero-padded by ph rows above
// and pw columns left into eo (Winograd4SplitElems long): rows 0…4·th+1 of
// the padded plane, each as its four column phases, phase q of row r at
// eo[(q·hp + r)·l:] (hp = 4·th + 2, l = Winograd4Row(tw)). ph may be
// negative: the rows start further down the plane.
func Winograd4Split(eo, x []float32, h, w, ph, pw, th, tw int) {
	l, hp := Winograd4Row(tw), 4*th+2
	n := roundUp(tw+1, 16) // each phase's values split, the rest of l zero
	_ = eo[Winograd4SplitElems(th, tw)-1]
	row := eo[4*hp*l : 4*hp*l+4*n] // the padded row before its split
	lo, hi := max(0, min(pw, 4*n)), max(0, min(pw+w, 4*n))
	for r := 0; r < hp; r++ {
		ih := r - ph
		if ih < 0 || ih >= h || lo == hi {
			for q := 0; q < 4; q++ {
				clear(eo[(q*hp+r)*l : (q*hp+r+1)*l])
			}
			continue
		}
		clear(row[:lo])
		copy(row[lo:hi], x[ih*w+lo-pw:ih*w+hi-pw])
		clear(row[hi:])
		deint4(eo[r*l:], hp*l, row, n)
		for q := 0; q < 4; q++ {
			clear(eo[(q*hp+r)*l+n : (q*hp+r+1)*l])
		}
	}
}

// Winograd4Input writes the transformed tiles of channel ci, whose padded
// plane Winograd4Split wrote to eo, to v[ξ·vs + ci·ld + t] for ξ < 36 (vs
// from WinogradStride; ld >= th·tw).
func Winograd4Input(v []float32, vs, ld int, eo []float32, ci, th, tw int) {
	l, hp, T := Winograd4Row(tw), 4*th+2, th*tw
	_ = v[35*vs+ci*ld+T-1]
	_ = eo[4*hp*l-1]
	for i := 0; i < th; i++ {
		for j := 0; j < tw; j += 16 {
			wino4In16AVX512(&v[ci*ld+i*tw+j], vs, &eo[4*i*l+j], hp*l, l, min(16, tw-j))
		}
	}
}

// Winograd4Output writes output channel mo of y (its oh×ow plane) from the
// products mt[ξ·ms + mo·ld + t]: each tile's Aᵀ·M·A plus bias; outputs
// past oh or ow are dropped.
func Winograd4Output(y, mt []float32, ms, ld int, bias float32, mo, oh, ow int) {
	th, tw := Winograd4Tiles(oh, ow)
	T := th * tw
	_ = mt[35*ms+mo*ld+T-1]
	_ = y[oh*ow-1]
	for i := 0; i < th; i++ {
		rows := min(4, oh-4*i)
		for j := 0; j < tw; j += 16 {
			n := min(16, tw-j)
			wino4Out16AVX512(&y[4*i*ow+4*j], ow, rows, min(4*n, ow-4*j), &mt[mo*ld+i*tw+j], ms, bias, n)
		}
	}
}

// deint4 sets dst[q·pl + k] = src[4k + q] for q < 4, k < n (n a multiple
// of 16, src 4n long).
func deint4(dst []float32, pl int, src []float32, n int) {
	_ = src[4*n-1]
	_ = dst[3*pl+n-1]
	deint4AVX512(&dst[0], pl, &src[0], n/16)
}
