package kernels

// Support vector machine kernels, reproducing libsvm's arithmetic bit for
// bit (core/engine/ops_svm.go and docs/svm.md state the contract).
//
// The dot products are summed in OpenBLAS's x86-64 AVX-512 ddot order: the
// first n&^31 terms in 32 fused multiply-add lanes, lanes l and l+4 of each
// group of 8 added (16 lanes), one block of 16 more terms in those lanes if
// n%32 >= 16, the lanes reduced as ((a0+a1)+a2)+a3 per lane (ak the k-th
// group of 4) then (s0+s2)+(s1+s3), then the last n%16 terms one by one with
// fused multiply-adds. The assembly computes the same scalar operations,
// one support vector per SIMD lane: support vectors are packed in blocks of
// svmBlock, feature-major within a block, so that every instruction applies
// one step of that order to a lane per vector and no lane ever meets
// another. The results are therefore the Go code's, bit for bit, whatever
// the vector width (NaN stays NaN; which NaN payload a row mixing NaN and
// infinities ends with is as unspecified as in Go).

import (
	"math"
	"math/big"
)

// svmBlock is the support vectors per packed block: two ZMM or four YMM
// registers per feature.
const svmBlock = 16

// SVM implementation levels.
const (
	svmGo = iota
	svmAVX2
	svmAVX512
)

// SVMPackedLen is the float64s SVMPack writes for s vectors of f features,
// 0 where the Go code, which reads the vectors as they are, is in use.
func SVMPackedLen(s, f int) int {
	if svmLevel == svmGo {
		return 0
	}
	return SVMPad(s) * f
}

// SVMPad is s rounded up to whole blocks: the length SVMDots needs in dst.
func SVMPad(s int) int { return (s + svmBlock - 1) / svmBlock * svmBlock }

// SVMPack lays out the s vectors of f features in sv ([s, f] row-major) in
// dst (SVMPackedLen(s, f) long) for SVMDots: block b holds vectors
// 16b..16b+15, feature i of vector 16b+w at dst[16(bf+i)+w], zeros past s.
func SVMPack(dst, sv []float64, s, f int) {
	if SVMPackedLen(s, f) == 0 {
		return
	}
	dst = dst[:SVMPackedLen(s, f)]
	for b := 0; b*svmBlock < s; b++ {
		blk := dst[b*svmBlock*f : (b+1)*svmBlock*f]
		for w := range svmBlock {
			v := b*svmBlock + w
			if v >= s {
				for i := range f {
					blk[i*svmBlock+w] = 0
				}
				continue
			}
			for i, y := range sv[v*f : (v+1)*f] {
				blk[i*svmBlock+w] = y
			}
		}
	}
}

// SVMDots writes to dst[:s] the dot products (sq: the squared distances,
// each difference rounded) of x (f values) with the s vectors of f features
// in sv, in the order above; packed is SVMPack's layout of sv. dst must
// hold SVMPad(s) values: the assembly writes whole blocks.
func SVMDots(dst, x, sv, packed []float64, s, f int, sq bool) {
	x = x[:f]
	if s == 0 {
		return
	}
	if svmLevel != svmGo {
		nb := SVMPad(s) / svmBlock
		if f == 0 {
			clear(dst[:nb*svmBlock])
			return
		}
		_, _ = dst[nb*svmBlock-1], packed[nb*svmBlock*f-1]
		svmDotsAsm(&dst[0], &x[0], &packed[0], f, nb, sq)
		return
	}
	sv, dst = sv[:s*f], dst[:s]
	v := 0
	for ; v+4 <= s; v += 4 {
		dst[v], dst[v+1], dst[v+2], dst[v+3] = svmDots4(x, sv[v*f:], f, sq)
	}
	for ; v < s; v++ {
		if sq {
			dst[v] = SVMSqDist(x, sv[v*f:(v+1)*f])
		} else {
			dst[v] = SVMDot(x, sv[v*f:(v+1)*f])
		}
	}
}

// SVMDot is Σ x_i·y_i in the order above.
func SVMDot(x, y []float64) float64 {
	n := len(y)
	x = x[:n]
	n16 := n &^ 15
	dot := svmBlocks(x, y, n16, false)
	for i := n16; i < n; i++ {
		dot = math.FMA(y[i], x[i], dot)
	}
	return dot
}

// SVMSqDist is Σ (x_i-y_i)² with each difference rounded, in SVMDot's
// order: libsvm takes the difference vector's ddot with itself.
func SVMSqDist(x, y []float64) float64 {
	n := len(y)
	x = x[:n]
	n16 := n &^ 15
	dot := svmBlocks(x, y, n16, true)
	for i := n16; i < n; i++ {
		d := x[i] - y[i]
		dot = math.FMA(d, d, dot)
	}
	return dot
}

// svmBlocks is the blocked part of SVMDot (sq: of SVMSqDist) over the
// first n16 terms, 0 when there are none. The lanes are independent sums,
// so they are computed eight at a time, in registers.
func svmBlocks(x, y []float64, n16 int, sq bool) float64 {
	if n16 == 0 {
		return 0
	}
	n32 := n16 &^ 31
	var z [32]float64 // lane l sums the terms i ≡ l (mod 32) below n32
	for p := 0; p < 32 && n32 > 0; p += 8 {
		var c0, c1, c2, c3, c4, c5, c6, c7 float64
		for i := p; i < n32; i += 32 {
			xs, ys := (*[8]float64)(x[i:i+8]), (*[8]float64)(y[i:i+8])
			if sq {
				e0, e1, e2, e3 := xs[0]-ys[0], xs[1]-ys[1], xs[2]-ys[2], xs[3]-ys[3]
				e4, e5, e6, e7 := xs[4]-ys[4], xs[5]-ys[5], xs[6]-ys[6], xs[7]-ys[7]
				c0, c1, c2, c3 = math.FMA(e0, e0, c0), math.FMA(e1, e1, c1), math.FMA(e2, e2, c2), math.FMA(e3, e3, c3)
				c4, c5, c6, c7 = math.FMA(e4, e4, c4), math.FMA(e5, e5, c5), math.FMA(e6, e6, c6), math.FMA(e7, e7, c7)
			} else {
				c0, c1 = math.FMA(xs[0], ys[0], c0), math.FMA(xs[1], ys[1], c1)
				c2, c3 = math.FMA(xs[2], ys[2], c2), math.FMA(xs[3], ys[3], c3)
				c4, c5 = math.FMA(xs[4], ys[4], c4), math.FMA(xs[5], ys[5], c5)
				c6, c7 = math.FMA(xs[6], ys[6], c6), math.FMA(xs[7], ys[7], c7)
			}
		}
		z[p], z[p+1], z[p+2], z[p+3], z[p+4], z[p+5], z[p+6], z[p+7] = c0, c1, c2, c3, c4, c5, c6, c7
	}
	// Fold the 8-lane accumulators to 4 lanes: lane l of group k adds
	// z[8k+l+4] (all zeros when there was no 32-term block).
	var a [16]float64
	if n32 > 0 {
		for k := range 4 {
			for l := range 4 {
				a[4*k+l] = z[8*k+l] + z[8*k+4+l]
			}
		}
	}
	if n16 > n32 { // one block of 16 remains: one term per lane
		xs, ys := (*[16]float64)(x[n32:n32+16]), (*[16]float64)(y[n32:n32+16])
		if sq {
			for l := range 16 {
				e := xs[l] - ys[l]
				a[l] = math.FMA(e, e, a[l])
			}
		} else {
			for l := range 16 {
				a[l] = math.FMA(xs[l], ys[l], a[l])
			}
		}
	}
	return svmReduce(&a)
}

// svmDots4 is SVMDot (sq: SVMSqDist) of x with the four rows of f values
// at the start of sv, their sequential tails interleaved: four independent
// chains instead of one.
func svmDots4(x, sv []float64, f int, sq bool) (float64, float64, float64, float64) {
	x = x[:f]
	y0, y1, y2, y3 := sv[:f], sv[f:2*f], sv[2*f:3*f], sv[3*f:4*f]
	n16 := f &^ 15
	d0, d1 := svmBlocks(x, y0, n16, sq), svmBlocks(x, y1, n16, sq)
	d2, d3 := svmBlocks(x, y2, n16, sq), svmBlocks(x, y3, n16, sq)
	if sq {
		for i := n16; i < f; i++ {
			xi := x[i]
			e0, e1, e2, e3 := xi-y0[i], xi-y1[i], xi-y2[i], xi-y3[i]
			d0, d1, d2, d3 = math.FMA(e0, e0, d0), math.FMA(e1, e1, d1), math.FMA(e2, e2, d2), math.FMA(e3, e3, d3)
		}
	} else {
		for i := n16; i < f; i++ {
			xi := x[i]
			d0, d1, d2, d3 = math.FMA(y0[i], xi, d0), math.FMA(y1[i], xi, d1), math.FMA(y2[i], xi, d2), math.FMA(y3[i], xi, d3)
		}
	}
	return d0, d1, d2, d3
}

// svmReduce sums four 4-lane accumulators as OpenBLAS does: lane-wise
// ((a0+a1)+a2)+a3, then the halves, then the pair.
func svmReduce(a *[16]float64) float64 {
	var s [4]float64
	for l := range 4 {
		s[l] = ((a[l] + a[4+l]) + a[8+l]) + a[12+l]
	}
	return (s[0] + s[2]) + (s[1] + s[3])
}

// SVMSums adds to acc[u], for each row u of k (row u at k[u·ld:]), the
// products w[t]·k[u·ld+t] for t = 0, 1, ... len(w)-1, in that order, each
// product rounded and then each sum: libsvm's decision sums, len(acc) rows
// at once (32 at a time in assembly, gathering a column of the rows).
func SVMSums(acc, k []float64, ld int, w []float64) {
	n, rows := len(w), len(acc)
	if n == 0 || rows == 0 {
		return
	}
	_ = k[(rows-1)*ld+n-1]
	u := 0
	if svmLevel == svmAVX512 && ld < 1<<31 {
		for ; u+32 <= rows; u += 32 {
			svmSums32AVX512(&acc[u], &k[u*ld], ld, &w[0], n)
		}
	}
	// Four rows at a time: four independent chains of dependent adds.
	for ; u+4 <= rows; u += 4 {
		k0, k1, k2, k3 := k[u*ld:][:n], k[(u+1)*ld:][:n], k[(u+2)*ld:][:n], k[(u+3)*ld:][:n]
		s0, s1, s2, s3 := acc[u], acc[u+1], acc[u+2], acc[u+3]
		for t, c := range w {
			s0 += float64(c * k0[t])
			s1 += float64(c * k1[t])
			s2 += float64(c * k2[t])
			s3 += float64(c * k3[t])
		}
		acc[u], acc[u+1], acc[u+2], acc[u+3] = s0, s1, s2, s3
	}
	for ; u < rows; u++ {
		kr, s := k[u*ld:][:n], acc[u]
		for t, c := range w {
			s += float64(c * kr[t])
		}
		acc[u] = s
	}
}

// SVMPowi is libsvm's powi: binary powering, the result multiplied first.
func SVMPowi(base float64, times int) float64 {
	tmp, ret := base, 1.0
	for t := times; t > 0; t /= 2 {
		if t%2 == 1 {
			ret *= tmp
		}
		tmp *= tmp
	}
	return ret
}

// SVMPoly sets dst[i] = SVMPowi(gamma·src[i] + coef0, degree), the product
// and the sum each rounded (libsvm is built without contraction).
func SVMPoly(dst, src []float64, gamma, coef0 float64, degree int) {
	src = src[:len(dst)]
	i := 0
	if svmLevel != svmGo && degree >= 0 {
		if n := len(dst) &^ 7; n > 0 {
			svmPolyAsm(&dst[0], &src[0], n, gamma, coef0, degree)
			i = n
		}
	}
	for ; i < len(dst); i++ {
		dst[i] = SVMPowi(float64(gamma*src[i])+coef0, degree)
	}
}

// SVMExpScaled sets dst[i] = SVMExp(scale·src[i]), the product rounded;
// dst and src must not overlap.
func SVMExpScaled(dst, src []float64, scale float64) {
	src = src[:len(dst)]
	i := 0
	if svmLevel != svmGo {
		if n := len(dst) &^ 7; n > 0 {
			if svmExpAsm(&dst[0], &src[0], n, scale) {
				// Some arguments were outside the table's range: math.Exp's.
				for j, v := range src[:n] {
					if x := scale * v; !(x > svmExpMin && x < svmExpMax) {
						dst[j] = math.Exp(x)
					}
				}
			}
			i = n
		}
	}
	for ; i < len(dst); i++ {
		dst[i] = SVMExp(scale * src[i])
	}
}

// SVMExp's range: outside it (and for NaN) it returns math.Exp's value.
const svmExpMin, svmExpMax = -708, 709

// SVMExp is e^x correctly rounded where the result is normal. libsvm calls
// the C library's exp: glibc's is correctly rounded but for about 0.1% of
// arguments, Go's math.Exp for about 87%, so SVMExp evaluates exp to about
// 2^-75 relative before its one rounding: x = k·ln2/64 + r (|r| <=
// ln2/128, r in double-double), e^r by its Taylor series (the terms past
// r²/2 in plain float64), times 2^(j/64) from a double-double table, times
// 2^m. Results below 2^-1022, where the sums they enter no longer see them,
// and overflow come from math.Exp. The assembly repeats every operation.
func SVMExp(x float64) float64 {
	if !(x > svmExpMin && x < svmExpMax) {
		return math.Exp(x)
	}
	const shifter = 0x1.8p52 // adding it rounds to an integer, ties to even
	kf := (float64(x*svmExpInvStep) + shifter) - shifter
	// r = x - k·ln2/64 in three parts; k·svmLn2Hi is exact (k < 2^17,
	// svmLn2Hi has 36 bits) and so is the first subtraction (Sterbenz).
	r0 := x - float64(kf*svmLn2Hi)
	p := kf * svmLn2Mid
	pe := math.FMA(kf, svmLn2Mid, -p)
	rh, rl := twoSum(r0, -p)
	rl -= pe
	rl -= float64(kf * svmLn2Lo)
	rh, rl = fastTwoSum(rh, rl)
	// e^r = 1 + r + r²/2 + tail; r² exact in (s, se).
	s := rh * rh
	se := math.FMA(rh, rh, -s)
	// Horner, each product rounded. Here and below, products that meet an
	// add (the halvings too, which the compiler makes products) are
	// converted explicitly: GOAMD64=v3 builds would fuse them otherwise.
	h := float64(rh*(1.0/40320)) + 1.0/5040
	h = float64(rh*h) + 1.0/720
	h = float64(rh*h) + 1.0/120
	h = float64(rh*h) + 1.0/24
	h = float64(rh*h) + 1.0/6
	tail := float64(float64(rh*s) * h)
	low := rl + float64(rh*rl) + float64(se/2) + tail
	a, ae := twoSum(1, rh)
	b, be := twoSum(a, float64(s/2))
	eh, el := fastTwoSum(b, ae+be+low)
	k := int(kf)
	j := k & 63
	th, tl := svmExpHi[j], svmExpLo[j]
	hi := float64(th * eh)
	lo := math.FMA(th, eh, -hi) + float64(th*el) + float64(tl*eh)
	// The result is normal here, so scaling by 2^m is exact.
	return (hi + lo) * math.Float64frombits(uint64(1023+(k-j)/64)<<52)
}

// svmExpInvStep is 64/ln2 rounded, the reduction's multiplier.
const svmExpInvStep = 64 / math.Ln2

func twoSum(a, b float64) (float64, float64) {
	s := a + b
	bb := s - a
	return s, (a - (s - bb)) + (b - bb)
}

// fastTwoSum needs |a| >= |b| (or a zero).
func fastTwoSum(a, b float64) (float64, float64) {
	s := a + b
	return s, b - (s - a)
}

// ln2/64 split for SVMExp's reduction: 36 bits, then 53, then 53.
var svmLn2Hi, svmLn2Mid, svmLn2Lo float64

// svmExpHi[j] + svmExpLo[j] is 2^(j/64) as a double-double (the assembly
// reads them too).
var svmExpHi, svmExpLo [64]float64

func init() {
	const prec = 320
	ln2, _, err := big.ParseFloat("0.69314718055994530941723212145817656807550013436025525412068000949339362196969471560586332699641868754200148102057068573368552023575813055703267075163507596193072757082837143519030703862389167347112335", 10, prec, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	c := new(big.Float).SetPrec(prec).Quo(ln2, big.NewFloat(64))
	rest := new(big.Float).SetPrec(prec).Set(c)
	hi := new(big.Float).SetPrec(36).SetMode(big.ToNearestEven).Set(rest)
	svmLn2Hi, _ = hi.Float64()
	rest.Sub(rest, hi)
	svmLn2Mid, _ = rest.Float64()
	rest.Sub(rest, new(big.Float).SetFloat64(svmLn2Mid))
	svmLn2Lo, _ = rest.Float64()
	// 2^(j/64) = Π 2^(2^b/64) over the bits b of j, each a square root chain.
	var roots [6]*big.Float
	v := new(big.Float).SetPrec(prec).SetInt64(2)
	for b := 5; b >= 0; b-- { // 2^(1/2), 2^(1/4), ... 2^(1/64)
		v = new(big.Float).SetPrec(prec).Sqrt(v)
		roots[b] = v
	}
	for j := range 64 {
		t := new(big.Float).SetPrec(prec).SetInt64(1)
		for b := range 6 {
			if j&(1<<b) != 0 {
				t.Mul(t, roots[b])
			}
		}
		h, _ := t.Float64()
		l, _ := new(big.Float).SetPrec(prec).Sub(t, new(big.Float).SetFloat64(h)).Float64()
		svmExpHi[j], svmExpLo[j] = h, l
	}
	svmConsts = [...]float64{svmExpInvStep, 0x1.8p52, svmLn2Hi, svmLn2Mid, svmLn2Lo,
		1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1, svmExpMin, svmExpMax,
		math.Float64frombits(1 << 63), math.Float64frombits(63), math.Float64frombits(1023),
		math.Float64frombits(1023 * 64), 0, math.Float64frombits(1), math.Float64frombits(2),
		math.Float64frombits(3), math.Float64frombits(4), math.Float64frombits(5), math.Float64frombits(6),
		math.Float64frombits(7)}
	for i, c := range svmConsts {
		for l := range 4 {
			svmConsts4[4*i+l] = c
		}
	}
}

// svmConsts are the assembly's constants, at the byte offsets its macros
// name: the Go constants above (the same float64 roundings), the sign bit,
// the integers 63, 1023 and 1023·64, and the integers 0..7.
var svmConsts [27]float64

// svmConsts4 is svmConsts with each constant four times, for whole YMM
// operands.
var svmConsts4 [4 * len(svmConsts)]float64
