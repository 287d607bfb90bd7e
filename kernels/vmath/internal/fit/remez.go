package main

import (
	"fmt"
	"math"
	"math/big"
	"sort"
)

const wp = 256 // working precision of the fit

// problem asks for the polynomial p(v) = Σ c_j·v^j, j <= deg, that minimizes
// max |w(v)·(p(v) − g(v))| over [a, b].
type problem struct {
	a, b float64
	deg  int
	g    func(v *big.Float) *big.Float // the target, at precision wp
	w    func(v float64) float64       // the weight
}

type fitResult struct {
	coef   []float64 // rounded to float64
	big    []*big.Float
	errMax float64 // max weighted error of the rounded coefficients
	exact  float64 // of the unrounded minimax polynomial
}

func bf(v float64) *big.Float { return new(big.Float).SetPrec(wp).SetFloat64(v) }

// grid returns n Chebyshev-spaced points of [a, b], ends included: the
// extrema of the error crowd towards the ends like these points do.
func grid(a, b float64, n int) []float64 {
	pts := make([]float64, n)
	for i := range pts {
		c := -math.Cos(math.Pi * float64(i) / float64(n-1))
		pts[i] = a + (b-a)*(c+1)/2
	}
	pts[0], pts[n-1] = a, b
	return pts
}

func evalPoly(c []*big.Float, v *big.Float) *big.Float {
	r := new(big.Float).SetPrec(wp).Set(c[len(c)-1])
	for j := len(c) - 2; j >= 0; j-- {
		r.Mul(r, v)
		r.Add(r, c[j])
	}
	return r
}

// solve solves the dense system m·x = rhs by Gaussian elimination with
// partial pivoting, in place.
func solve(m [][]*big.Float, rhs []*big.Float) []*big.Float {
	n := len(rhs)
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if new(big.Float).Abs(m[r][col]).Cmp(new(big.Float).Abs(m[piv][col])) > 0 {
				piv = r
			}
		}
		m[col], m[piv] = m[piv], m[col]
		rhs[col], rhs[piv] = rhs[piv], rhs[col]
		for r := col + 1; r < n; r++ {
			f := new(big.Float).SetPrec(wp).Quo(m[r][col], m[col][col])
			for c := col; c < n; c++ {
				t := new(big.Float).SetPrec(wp).Mul(f, m[col][c])
				m[r][c].Sub(m[r][c], t)
			}
			t := new(big.Float).SetPrec(wp).Mul(f, rhs[col])
			rhs[r].Sub(rhs[r], t)
		}
	}
	x := make([]*big.Float, n)
	for r := n - 1; r >= 0; r-- {
		s := new(big.Float).SetPrec(wp).Set(rhs[r])
		for c := r + 1; c < n; c++ {
			s.Sub(s, new(big.Float).SetPrec(wp).Mul(m[r][c], x[c]))
		}
		x[r] = s.Quo(s, m[r][r])
	}
	return x
}

// remez runs the exchange algorithm on a fixed dense grid (the target is
// evaluated once per grid point) and returns the best polynomial found.
func remez(p problem) fitResult {
	const npts = 4000
	pts := grid(p.a, p.b, npts)
	gv := make([]*big.Float, npts)
	bv := make([]*big.Float, npts)
	wv := make([]float64, npts)
	for i, v := range pts {
		bv[i] = bf(v)
		gv[i] = p.g(bv[i])
		wv[i] = math.Max(p.w(v), 1e-30) // a zero weight would make 1/w infinite
	}
	n := p.deg + 2
	// Start from the grid points nearest to the Chebyshev extrema.
	ref := make([]int, n)
	for i := range ref {
		ref[i] = int(math.Round(float64(i) * float64(npts-1) / float64(n-1)))
	}
	errAt := func(c []*big.Float, i int) float64 {
		d := evalPoly(c, bv[i])
		d.Sub(d, gv[i])
		f, _ := d.Float64()
		return f * wv[i]
	}
	var best []*big.Float
	bestErr := math.Inf(1)
	for iter := 0; iter < 40; iter++ {
		m := make([][]*big.Float, n)
		rhs := make([]*big.Float, n)
		for r, i := range ref {
			row := make([]*big.Float, n)
			pw := bf(1)
			for j := 0; j <= p.deg; j++ {
				row[j] = new(big.Float).SetPrec(wp).Set(pw)
				pw.Mul(pw, bv[i])
			}
			e := bf(1 / wv[i])
			if r%2 == 1 {
				e.Neg(e)
			}
			row[n-1] = e
			m[r] = row
			rhs[r] = new(big.Float).SetPrec(wp).Set(gv[i])
		}
		sol := solve(m, rhs)
		c := sol[:p.deg+1]
		// Error on the grid; new reference = the extremum of each run of one
		// sign, then trimmed to n alternating points around the largest.
		ev := make([]float64, npts)
		maxAbs := 0.0
		for i := range pts {
			ev[i] = errAt(c, i)
			maxAbs = math.Max(maxAbs, math.Abs(ev[i]))
		}
		if maxAbs < bestErr {
			bestErr, best = maxAbs, c
		}
		var ext []int
		for i := 0; i < npts; {
			j, bi := i, i
			for j < npts && (ev[j] >= 0) == (ev[i] >= 0) {
				if math.Abs(ev[j]) > math.Abs(ev[bi]) {
					bi = j
				}
				j++
			}
			ext = append(ext, bi)
			i = j
		}
		for len(ext) > n {
			// Drop the smaller end, or the smallest adjacent pair's smaller.
			if math.Abs(ev[ext[0]]) < math.Abs(ev[ext[len(ext)-1]]) {
				ext = ext[1:]
			} else {
				ext = ext[:len(ext)-1]
			}
		}
		if len(ext) < n {
			break // the error no longer alternates n times: keep the best
		}
		minAbs := math.Inf(1)
		for _, i := range ext {
			minAbs = math.Min(minAbs, math.Abs(ev[i]))
		}
		ref = ext
		sort.Ints(ref)
		if maxAbs <= minAbs*1.0005 {
			break
		}
	}
	res := fitResult{exact: bestErr, coef: make([]float64, len(best)), big: best}
	rc := make([]*big.Float, len(best))
	for j, c := range best {
		res.coef[j], _ = c.Float64()
		rc[j] = bf(res.coef[j])
	}
	for i := range pts {
		res.errMax = math.Max(res.errMax, math.Abs(errAt(rc, i)))
	}
	return res
}

func log2s(e float64) string { return fmt.Sprintf("2^%.1f", math.Log2(e)) }

// errWithLo is the max error on p's grid of the rounded coefficients c
// with lo added to the constant term.
func errWithLo(p problem, c []float64, lo float64) float64 {
	pts := grid(p.a, p.b, 2000)
	rc := make([]*big.Float, len(c))
	for j := range c {
		rc[j] = bf(c[j])
	}
	rc[0].Add(rc[0], bf(lo))
	worst := 0.0
	for _, v := range pts {
		b := bf(v)
		d := evalPoly(rc, b)
		d.Sub(d, p.g(b))
		f, _ := d.Float64()
		worst = math.Max(worst, math.Abs(f*p.w(v)))
	}
	return worst
}
