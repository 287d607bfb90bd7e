package codec

import "encoding/binary"

// The byte-shuffle filter (as blosc's): a buffer of m elements of e bytes is
// stored as byte 0 of every element, then byte 1 of every element, and so on.
// Float exponents and high bytes then sit together and compress well.
// len(src) is a multiple of e and len(dst) == len(src) in all functions here.

// shuffle writes src's bytes transposed: dst[j*m+i] = src[i*e+j].
func shuffle(dst, src []byte, e int) {
	m := len(src) / e
	switch e {
	case 1:
		copy(dst, src)
	case 2:
		d0, d1 := dst[:m], dst[m:2*m]
		for i := range d0 {
			s := src[2*i : 2*i+2]
			d0[i], d1[i] = s[0], s[1]
		}
	case 4:
		d0, d1, d2, d3 := dst[:m], dst[m:2*m], dst[2*m:3*m], dst[3*m:4*m]
		i := 0
		for ; i+8 <= m; i += 8 {
			// unshuffle's steps in reverse: element i+r and i+4+r into row r,
			// then the (self-inverse) block transpose.
			s := src[4*i : 4*i+32]
			x0 := binary.LittleEndian.Uint64(s[0:])
			x1 := binary.LittleEndian.Uint64(s[8:])
			x2 := binary.LittleEndian.Uint64(s[16:])
			x3 := binary.LittleEndian.Uint64(s[24:])
			w0, w1, w2, w3 := transpose4(x0&0xffffffff|x2<<32, x0>>32|x2&^0xffffffff, x1&0xffffffff|x3<<32, x1>>32|x3&^0xffffffff)
			binary.LittleEndian.PutUint64(d0[i:], w0)
			binary.LittleEndian.PutUint64(d1[i:], w1)
			binary.LittleEndian.PutUint64(d2[i:], w2)
			binary.LittleEndian.PutUint64(d3[i:], w3)
		}
		for ; i < m; i++ {
			d0[i], d1[i], d2[i], d3[i] = src[4*i], src[4*i+1], src[4*i+2], src[4*i+3]
		}
	case 8:
		i := 0
		for ; i+8 <= m; i += 8 {
			var w [8]uint64
			for k := range w {
				w[k] = binary.LittleEndian.Uint64(src[8*(i+k):])
			}
			transpose8(&w)
			for j, v := range w {
				binary.LittleEndian.PutUint64(dst[j*m+i:], v)
			}
		}
		for ; i < m; i++ {
			for j := 0; j < 8; j++ {
				dst[j*m+i] = src[8*i+j]
			}
		}
	default: // no valid container has another size; kept for completeness
		for i := 0; i < m; i++ {
			for j := 0; j < e; j++ {
				dst[j*m+i] = src[i*e+j]
			}
		}
	}
}

// unshuffle inverts shuffle: dst[i*e+j] = src[j*m+i]. It is on the decode
// path: each size moves 8 elements per step, one 64-bit word per stream,
// transposing bytes inside registers (SWAR) instead of byte by byte.
func unshuffle(dst, src []byte, e int) {
	m := len(src) / e
	switch e {
	case 1:
		copy(dst, src)
	case 2:
		s0, s1 := src[:m], src[m:2*m]
		i := 0
		for ; i+8 <= m; i += 8 {
			// Swapping bytes across the two rows leaves elements i, i+2, ...
			// in row 0 and i+1, i+3, ... in row 1; then interleave halves.
			w0 := binary.LittleEndian.Uint64(s0[i:])
			w1 := binary.LittleEndian.Uint64(s1[i:])
			t := (w0>>8 ^ w1) & 0x00ff00ff00ff00ff
			w1 ^= t
			w0 ^= t << 8
			binary.LittleEndian.PutUint64(dst[2*i:], spread16(uint32(w0))|spread16(uint32(w1))<<16)
			binary.LittleEndian.PutUint64(dst[2*i+8:], spread16(uint32(w0>>32))|spread16(uint32(w1>>32))<<16)
		}
		for ; i < m; i++ {
			dst[2*i], dst[2*i+1] = s0[i], s1[i]
		}
	case 4:
		s0, s1, s2, s3 := src[:m], src[m:2*m], src[2*m:3*m], src[3*m:4*m]
		i := 0
		for ; i+8 <= m; i += 8 {
			// Row r holds byte r of elements i..i+7: transposing each 4×4
			// byte block leaves element i+r in the low half of row r and
			// element i+4+r in its high half.
			w0 := binary.LittleEndian.Uint64(s0[i:])
			w1 := binary.LittleEndian.Uint64(s1[i:])
			w2 := binary.LittleEndian.Uint64(s2[i:])
			w3 := binary.LittleEndian.Uint64(s3[i:])
			w0, w1, w2, w3 = transpose4(w0, w1, w2, w3)
			o := dst[4*i : 4*i+32]
			binary.LittleEndian.PutUint64(o[0:], w0&0xffffffff|w1<<32)
			binary.LittleEndian.PutUint64(o[8:], w2&0xffffffff|w3<<32)
			binary.LittleEndian.PutUint64(o[16:], w0>>32|w1&^0xffffffff)
			binary.LittleEndian.PutUint64(o[24:], w2>>32|w3&^0xffffffff)
		}
		for ; i < m; i++ {
			dst[4*i], dst[4*i+1], dst[4*i+2], dst[4*i+3] = s0[i], s1[i], s2[i], s3[i]
		}
	case 8:
		// Byte j of 8 elements is one word of stream j: transpose 8 words.
		i := 0
		for ; i+8 <= m; i += 8 {
			var w [8]uint64
			for j := range w {
				w[j] = binary.LittleEndian.Uint64(src[j*m+i:])
			}
			transpose8(&w)
			o := dst[8*i : 8*i+64]
			for k, v := range w {
				binary.LittleEndian.PutUint64(o[8*k:], v)
			}
		}
		for ; i < m; i++ {
			for j := 0; j < 8; j++ {
				dst[8*i+j] = src[j*m+i]
			}
		}
	default:
		for i := 0; i < m; i++ {
			for j := 0; j < e; j++ {
				dst[i*e+j] = src[j*m+i]
			}
		}
	}
}

// transpose8 transposes the 8×8 byte matrix whose row r is w[r] (byte c of
// the word is column c): 1-, 2- then 4-byte blocks swap across the diagonal.
func transpose8(w *[8]uint64) {
	for r := 0; r < 8; r += 2 {
		t := (w[r]>>8 ^ w[r+1]) & 0x00ff00ff00ff00ff
		w[r+1] ^= t
		w[r] ^= t << 8
	}
	for _, r := range [4]int{0, 1, 4, 5} {
		t := (w[r]>>16 ^ w[r+2]) & 0x0000ffff0000ffff
		w[r+2] ^= t
		w[r] ^= t << 16
	}
	for r := 0; r < 4; r++ {
		t := (w[r]>>32 ^ w[r+4]) & 0x00000000ffffffff
		w[r+4] ^= t
		w[r] ^= t << 32
	}
}

// transpose4 transposes the two 4×4 byte matrices in rows w0..w3 (bytes 0-3
// of each row form the first, bytes 4-7 the second).
func transpose4(w0, w1, w2, w3 uint64) (uint64, uint64, uint64, uint64) {
	t := (w0>>8 ^ w1) & 0x00ff00ff00ff00ff
	w1 ^= t
	w0 ^= t << 8
	t = (w2>>8 ^ w3) & 0x00ff00ff00ff00ff
	w3 ^= t
	w2 ^= t << 8
	t = (w0>>16 ^ w2) & 0x0000ffff0000ffff
	w2 ^= t
	w0 ^= t << 16
	t = (w1>>16 ^ w3) & 0x0000ffff0000ffff
	w3 ^= t
	w1 ^= t << 16
	return w0, w1, w2, w3
}

// spread16 moves 16-bit half k of x to half 2k of the result.
func spread16(x uint32) uint64 {
	v := uint64(x)
	return (v | v<<16) & 0x0000ffff0000ffff
}
