package kernels

// Winograd F(2×2, 3×3) for float32 3×3 stride-1 convolutions: each 2×2 block
// of outputs (a tile) is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for the tile's 4×4 input
// patch d, summed over the input channels, so the sum over channels is 16
// independent matrix products (one per element ξ of the 4×4 transformed
// tile) with 16 multiplies per tile and channel pair where the direct form
// needs 36. The transforms only add and subtract (and halve, in G), so the
// results stay within a few float32 roundings of the direct sum.
//
// Layouts (T tiles, th×tw, in rows): the transformed weights u[ξ] are M×C
// (the products' A), the transformed inputs v[ξ] C×T and the products m[ξ]
// M×T, the 16 matrices of v and m WinogradStride apart. The transforms run
// 16 tiles of a tile row at a time (winograd_amd64.s), reading each padded
// input row split into its even and odd columns: a tile's four columns are
// then four vectors at offsets 0 and 1 of the two halves.

// WinogradStride is the distance between the 16 matrices of n elements
// that the transforms write or read together: n rounded up to 1024 (4 KiB)
// and one cache line more, so that the 16 streams fall in different L1
// sets rather than all in one (resnet18's layer1 had them 49·4 KiB apart:
// 4× slower).
func WinogradStride(n int) int { return roundUp(n, 1024) + 16 }

// WinogradTiles returns the tile grid of an oh×ow output.
func WinogradTiles(oh, ow int) (th, tw int) { return (oh + 1) / 2, (ow + 1) / 2 }

// WinogradRow is the length of one half (even or odd columns) of a padded
// input row of a tw-wide tile grid: tw+1 values and the vectors' slack.
func WinogradRow(tw int) int { return tw + 17 }

// WinogradFilter sets u[ξ·m·c + mo·c + ci] = (G·g·Gᵀ)[ξ] for the weights w
// (m×c×3×3) of output channel mo and input channel ci, in float64 rounded
// once.
func WinogradFilter(u, w []float32, m, c int) {
	_ = u[16*c*m-1]
	_ = w[m*c*9-1]
	for mo := 0; mo < m; mo++ {
		for ci := 0; ci < c; ci++ {
			g := w[(mo*c+ci)*9 : (mo*c+ci)*9+9]
			var t [4][3]float64 // G·g
			for j := 0; j < 3; j++ {
				g0, g1, g2 := float64(g[j]), float64(g[3+j]), float64(g[6+j])
				t[0][j], t[1][j], t[2][j], t[3][j] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
			}
			for i := 0; i < 4; i++ {
				r0, r1, r2 := t[i][0], t[i][1], t[i][2]
				row := [4]float64{r0, (r0 + r1 + r2) / 2, (r0 - r1 + r2) / 2, r2}
				for j, v := range row {
					u[(i*4+j)*m*c+mo*c+ci] = float32(v)
				}
			}
		}
	}
}

// WinogradSplit writes channel plane x (h×w) zero-padded by ph rows above
// and pw columns left into eo: rows 0…2·th+1 of the padded plane, each as
// its even columns (eo[r·l:]) then, hp·l further, its odd columns, l =
// WinogradRow(tw).
func WinogradSplit(eo, x []float32, h, w, ph, pw, th, tw int) {
	l, hp := WinogradRow(tw), 2*th+2
	_ = eo[2*hp*l-1]
	// Only what no input value lands on is cleared (the padding, the
	// vectors' slack): clearing all of eo first doubled the stores.
	for r := 0; r < hp; r++ {
		ih := r - ph
		if ih < 0 || ih >= h {
			clear(eo[r*l : r*l+l])
			clear(eo[hp*l+r*l : hp*l+r*l+l])
			continue
		}
		row := x[ih*w : ih*w+w]
		for p := 0; p < 2; p++ {
			// Padded column 2k+p is input column 2k+p−pw.
			k0 := 0
			if pw > p {
				k0 = (pw - p + 1) / 2
			}
			half := eo[p*hp*l+r*l : p*hp*l+r*l+l]
			col := 2*k0 + p - pw
			if col >= w || k0 > tw {
				clear(half)
				continue
			}
			n := min(tw+1-k0, (w-col+1)/2)
			clear(half[:k0])
			clear(half[k0+n:])
			dst := half[k0 : k0+n]
			if !stride2Gather32(dst, row[col:]) {
				for k := range dst {
					dst[k] = row[col+2*k]
				}
			}
		}
	}
}

// WinogradInput writes the transformed tiles of channel ci, whose padded
// plane WinogradSplit wrote to eo, to v[ξ·vs + ci·ld + t] for ξ < 16 (vs
// from WinogradStride; ld >= th·tw: the tiles of several images may sit
// side by side in one row per channel).
func WinogradInput(v []float32, vs, ld int, eo []float32, ci, th, tw int) {
	l, hp, T := WinogradRow(tw), 2*th+2, th*tw
	_ = v[15*vs+ci*ld+T-1]
	_ = eo[2*hp*l-1]
	for i := 0; i < th; i++ {
		for j := 0; j < tw; j += 16 {
			at := 2*i*l + j
			winoIn16AVX512(&v[ci*ld+i*tw+j], vs, &eo[at], &eo[hp*l+at], l, min(16, tw-j))
		}
	}
}

// WinogradOutput writes output channel mo of y (its oh×ow plane) from the
// products mt[ξ·ms + mo·ld + t] (ms from WinogradStride, ld as for
// WinogradInput): each tile's Aᵀ·M·A plus bias; outputs past oh or ow are
// dropped.
func WinogradOutput(y, mt []float32, ms, ld int, bias float32, mo, oh, ow int) {
	th, tw := WinogradTiles(oh, ow)
	T := th * tw
	_ = mt[15*ms+mo*ld+T-1]
	_ = y[oh*ow-1]
	for i := 0; i < th; i++ {
		rows := min(2, oh-2*i)
		for j := 0; j < tw; j += 16 {
			n := min(16, tw-j)
			winoOut16AVX512(&y[2*i*ow+2*j], ow, rows, min(2*n, ow-2*j), &mt[mo*ld+i*tw+j], ms, bias, n)
		}
	}
}
