package engine

// Support vector machines (schemas in core/graph/ops_svm.go): libsvm's
// prediction, reproduced operation by operation so that float64 results
// equal scikit-learn's. The summation contract:
//
//   - Dot products (linear, poly, sigmoid: <x, sv>; rbf: <x-sv, x-sv> with
//     the differences rounded first, as libsvm's dense k_function does) are
//     the BLAS ddot libsvm calls, as scipy's OpenBLAS computes it on x86-64
//     with AVX-512: the first n&^31 terms in 32 fused multiply-add lanes,
//     folded to 16, a remaining block of 16 in those 16 lanes, the lanes
//     reduced as OpenBLAS does, then the last n%16 terms added one by one
//     with fused multiply-adds (kernels.SVMDot). Below 16 features that is
//     a plain sequential FMA sum, which every x86-64 FMA kernel shares.
//   - kernel values: poly (gamma*dot + coef0) to the power degree by
//     libsvm's binary powering; rbf exp(-gamma*d2); sigmoid
//     tanh(gamma*dot + coef0); products and sums rounded separately.
//     exp is correctly rounded (kernels.SVMExp), tanh is glibc's formula
//     over fdlibm's expm1 (svmTanh): both agree with glibc but for 0.1% of
//     arguments, by one ulp.
//   - decision values: for each class pair i<j, in order, a sequential sum
//     over class i's support vectors (coefficient row j-1) then class j's
//     (row i), minus rho.
//
// The kernels package computes the dot products, exp and powers of many
// support vectors at once and the decision sums of 32 rows at once, one
// per SIMD lane (assembly where the CPU has AVX-512F; AVX2 for all but the
// sums), each lane repeating the scalar operations: the bits do not depend
// on the path. Explicit float64() conversions keep the compiler from
// fusing a product into a following add (Go fuses on arm64, and on amd64
// from GOAMD64=v3): libsvm rounds both.

import (
	"math"
	"slices"
	"sync"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	mustRegister(Kernel{Op: "SVMKernel", Backend: CPUBackend, DTypes: floatTypes, Compile: compileSVMKernel})
	f64 := []dtype.DType{dtype.Float64}
	mustRegister(Kernel{Op: "SVMDecision", Backend: CPUBackend, DTypes: f64, Compile: compileSVMDecision})
	mustRegister(Kernel{Op: "SVMVote", Backend: CPUBackend, DTypes: f64, Compile: Stateless(bindSVMVote)})
	mustRegister(Kernel{Op: "SVMProbability", Backend: CPUBackend, DTypes: f64, Compile: Stateless(bindSVMProbability)})
}

// Kernel kinds, in graph.SVMKernels order.
const (
	svmLinear = iota
	svmPoly
	svmRBF
	svmSigmoid
)

// svmKernelCompiled is an SVMKernel prepared for a Model: constant
// support vectors are packed for the SIMD kernels once, on first use, and
// shared by every session.
type svmKernelCompiled struct {
	sv     []byte // the support vectors' stored bytes when constant, else nil
	s, f   int
	once   sync.Once
	packed []float64
}

func compileSVMKernel(c *CompileCtx) (Compiled, error) {
	kc := &svmKernelCompiled{}
	if b := c.Const(1); b != nil && len(c.In[1].Shape) == 2 {
		kc.sv, kc.s, kc.f = b, int(c.In[1].Shape[0]), int(c.In[1].Shape[1])
	}
	return kc, nil
}

// packedSV returns the constant support vectors packed (nil where the
// kernels read them unpacked).
func (kc *svmKernelCompiled) packedSV() []float64 {
	kc.once.Do(func() {
		if n := kernels.SVMPackedLen(kc.s, kc.f); n > 0 {
			kc.packed = make([]float64, n)
			kernels.SVMPack(kc.packed, f64s(kc.sv), kc.s, kc.f)
		}
	})
	return kc.packed
}

// svmKernel is a bound SVMKernel.
type svmKernel struct {
	kind         int
	gamma, coef0 float64
	degree       int
	rows, f, nsv int
	x32          bool
	rc           rowChunks
	cc           *svmKernelCompiled
	packLen      int // scratch float64s for packing non-constant vectors
	x, sv, kvals []byte
	packed       []float64 // per run: the packed vectors
}

func (kc *svmKernelCompiled) Bind(b *BindCtx) (Executor, error) {
	n := b.Node
	e := &svmKernel{kind: slices.Index(graph.SVMKernels, n.Attr("kernel").String), gamma: n.Attr("gamma").Float,
		coef0: n.Attr("coef0").Float, degree: int(n.Attr("degree").Int), rows: int(b.In[0].Shape[0]),
		f: int(b.In[0].Shape[1]), nsv: int(b.In[1].Shape[0]), x32: b.In[0].DType == dtype.Float32, cc: kc}
	cost := e.f + 1
	if e.kind != svmLinear {
		cost += 16 // exp, tanh or the powers
	}
	e.rc = splitWork(e.rows, satMul(max(e.nsv, 1), cost), 1, b.Threads)
	if kc.sv == nil {
		e.packLen = kernels.SVMPackedLen(e.nsv, e.f)
	}
	b.Scratch(8 * int64(e.packLen))
	return e, nil
}

func (e *svmKernel) Run(x *RunCtx, in, out []Buf) {
	if e.rows == 0 || e.nsv == 0 {
		return
	}
	e.x, e.sv, e.kvals = in[0].Host, in[1].Host, out[0].Host
	if e.cc.sv != nil {
		e.packed = e.cc.packedSV()
	} else if e.packLen > 0 {
		e.packed = f64s(x.Scratch.Host)[:e.packLen]
		kernels.SVMPack(e.packed, f64s(e.sv), e.nsv, e.f)
	}
	x.Parallel(e.rc.count, e)
	e.x, e.sv, e.kvals, e.packed = nil, nil, nil, nil
}

func (e *svmKernel) RunChunk(c int, w *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	f, s := e.f, e.nsv
	// The worker's scratch: a row's dot products (whole blocks of them) and
	// the row widened to float64.
	buf := w.Float64s(kernels.SVMPad(s) + f)
	d, xr := buf[:len(buf)-f], buf[len(buf)-f:]
	sv, k := f64s(e.sv), f64s(e.kvals)
	for r := r0; r < r1; r++ {
		row := xr
		if e.x32 {
			for i, v := range f32s(e.x)[r*f : (r+1)*f] {
				xr[i] = float64(v) // exact
			}
		} else {
			row = f64s(e.x)[r*f : (r+1)*f]
		}
		out := k[r*s : (r+1)*s]
		kernels.SVMDots(d, row, sv, e.packed, s, f, e.kind == svmRBF)
		switch e.kind {
		case svmLinear:
			copy(out, d)
		case svmPoly:
			kernels.SVMPoly(out, d[:s], e.gamma, e.coef0, e.degree)
		case svmRBF:
			kernels.SVMExpScaled(out, d[:s], -e.gamma)
		case svmSigmoid:
			for i, v := range d[:s] {
				out[i] = svmTanh(float64(e.gamma*v) + e.coef0)
			}
		}
	}
}

// svmClassSVs gives each class's support vectors: start[i], count[i].
type svmClassSVs struct{ start, count []int }

func newSVMClassSVs(nSupport []int64) *svmClassSVs {
	p := &svmClassSVs{start: make([]int, len(nSupport)), count: make([]int, len(nSupport))}
	at := 0
	for i, v := range nSupport {
		p.start[i], p.count[i] = at, int(v)
		at += int(v)
	}
	return p
}

func compileSVMDecision(c *CompileCtx) (Compiled, error) {
	cls := newSVMClassSVs(c.Node.Attr("n_support").Ints)
	return BindFunc(func(b *BindCtx) (Executor, error) {
		rows, s := int(b.In[0].Shape[0]), int(b.In[0].Shape[1])
		per := satMul(max(len(cls.count)-1, 1), max(s, 1))
		return &svmDecision{cls: cls, np: int(b.In[2].Shape[0]), s: s, rc: splitWork(rows, per, 1, b.Threads)}, nil
	}), nil
}

type svmDecision struct {
	cls             *svmClassSVs
	np, s           int
	rc              rowChunks
	k, coef, rho, d []byte
}

func (e *svmDecision) Run(x *RunCtx, in, out []Buf) {
	e.k, e.coef, e.rho, e.d = in[0].Host, in[1].Host, in[2].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.k, e.coef, e.rho, e.d = nil, nil, nil, nil
}

func (e *svmDecision) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	kv, coef, rho, dec := f64s(e.k), f64s(e.coef), f64s(e.rho), f64s(e.d)
	start, count, np, s := e.cls.start, e.cls.count, e.np, e.s
	nc := len(count)
	var acc [32]float64
	// Up to 32 rows at a time, each row's sum in libsvm's order.
	for r := r0; r < r1; r += len(acc) {
		rows := acc[:min(len(acc), r1-r)]
		q := 0
		for i := 0; i < nc; i++ {
			for j := i + 1; j < nc; j++ {
				clear(rows)
				// Class i's vectors with coefficient row j-1, then class j's with row i.
				if lo := start[i]; count[i] > 0 {
					kernels.SVMSums(rows, kv[r*s+lo:], s, coef[(j-1)*s+lo:][:count[i]])
				}
				if lo := start[j]; count[j] > 0 {
					kernels.SVMSums(rows, kv[r*s+lo:], s, coef[i*s+lo:][:count[j]])
				}
				for u, v := range rows {
					dec[(r+u)*np+q] = v - rho[q]
				}
				q++
			}
		}
	}
}

// svmVote: libsvm's vote (dec > 0 votes for the pair's first class, else
// the second; the first class with the most votes wins) and scikit-learn's
// _ovr_decision_function(dec < 0, -dec, C): votes (dec < 0 for the second
// class, else the first) plus s/(3(|s|+1)), where s sums, pair by pair,
// +dec into the first class and -dec into the second.
type svmVote struct {
	c, np    int
	rc       rowChunks
	dec, idx []byte
	ovr      []byte
	scratch  []byte // per chunk: votes and sums, C float64s each
}

func bindSVMVote(b *BindCtx) (Executor, error) {
	c := int(b.Node.Attr("n_classes").Int)
	e := &svmVote{c: c, np: c * (c - 1) / 2}
	e.rc = splitWork(int(b.In[0].Shape[0]), satMul(e.np, 2), 1, b.Threads)
	b.Scratch(int64(e.rc.count) * int64(2*c) * 8)
	return e, nil
}

func (e *svmVote) Run(x *RunCtx, in, out []Buf) {
	e.dec, e.idx, e.ovr, e.scratch = in[0].Host, out[0].Host, opt(out, 1), x.Scratch.Host
	x.Parallel(e.rc.count, e)
	e.dec, e.idx, e.ovr, e.scratch = nil, nil, nil, nil
}

func (e *svmVote) RunChunk(ch int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(ch)
	dec, idx, ovr, c := f64s(e.dec), i64s(e.idx), f64s(e.ovr), e.c
	buf := f64s(e.scratch)[2*c*ch : 2*c*(ch+1)]
	votes, sums := buf[:c], buf[c:]
	for r := r0; r < r1; r++ {
		d := dec[r*e.np : (r+1)*e.np]
		clear(votes)
		q := 0
		for i := 0; i < c; i++ {
			for j := i + 1; j < c; j++ {
				if d[q] > 0 {
					votes[i]++
				} else {
					votes[j]++
				}
				q++
			}
		}
		best := 0
		for i := 1; i < c; i++ {
			if votes[i] > votes[best] {
				best = i
			}
		}
		idx[r] = int64(best)
		if ovr == nil {
			continue
		}
		clear(votes)
		clear(sums)
		q = 0
		for i := 0; i < c; i++ {
			for j := i + 1; j < c; j++ {
				v := d[q]
				if v < 0 {
					votes[j]++
				} else {
					votes[i]++
				}
				sums[i] -= -v
				sums[j] += -v
				q++
			}
		}
		o := ovr[r*c : (r+1)*c]
		for i, s := range sums {
			o[i] = votes[i] + s/(3*(math.Abs(s)+1))
		}
	}
}

// svmProbability: per pair, libsvm's sigmoid_predict(dec, A, B) clamped to
// [1e-7, 1-1e-7], then libsvm's multiclass_probability (Wu, Lin and Weng's
// second method): the same iteration, stopping rule (largest error below
// 0.005/C, at most max(100, C) rounds) and operation order, for two classes
// too.
type svmProbability struct {
	c, np     int
	rc        rowChunks
	dec, a, b []byte
	proba     []byte
	scratch   []byte
}

func bindSVMProbability(b *BindCtx) (Executor, error) {
	c := int(b.Node.Attr("n_classes").Int)
	e := &svmProbability{c: c, np: c * (c - 1) / 2}
	e.rc = splitWork(int(b.In[0].Shape[0]), satMul(satMul(c, c), max(100, c)/8+1), 1, b.Threads)
	b.Scratch(int64(e.rc.count) * int64(e.perChunk()) * 8)
	return e, nil
}

// perChunk is the float64s one chunk's coupling needs: r and Q (C×C), Qp.
func (e *svmProbability) perChunk() int { return 2*e.c*e.c + e.c }

func (e *svmProbability) Run(x *RunCtx, in, out []Buf) {
	e.dec, e.a, e.b, e.proba, e.scratch = in[0].Host, in[1].Host, in[2].Host, out[0].Host, x.Scratch.Host
	x.Parallel(e.rc.count, e)
	e.dec, e.a, e.b, e.proba, e.scratch = nil, nil, nil, nil, nil
}

func (e *svmProbability) RunChunk(ch int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(ch)
	dec, pa, pb, proba := f64s(e.dec), f64s(e.a), f64s(e.b), f64s(e.proba)
	c, per := e.c, e.perChunk()
	sc := f64s(e.scratch)[ch*per : (ch+1)*per]
	rm, qm, qp := sc[:c*c], sc[c*c:2*c*c], sc[2*c*c:]
	const minProb = 1e-7
	for r := r0; r < r1; r++ {
		d := dec[r*e.np : (r+1)*e.np]
		q := 0
		for i := 0; i < c; i++ {
			for j := i + 1; j < c; j++ {
				pr := svmPlatt(d[q], pa[q], pb[q])
				if !(pr > minProb) { // libsvm's max(): NaN takes the bound
					pr = minProb
				}
				if !(pr < 1-minProb) {
					pr = 1 - minProb
				}
				rm[i*c+j], rm[j*c+i] = pr, 1-pr
				q++
			}
		}
		svmCouple(c, rm, qm, qp, proba[r*c:(r+1)*c])
	}
}

// svmPlatt is libsvm's sigmoid_predict: 1/(1+exp(dec*A+B)), computed on
// the side that avoids cancellation.
func svmPlatt(dec, a, b float64) float64 {
	f := float64(dec*a) + b
	if f >= 0 {
		t := kernels.SVMExp(-f)
		return t / (1.0 + t)
	}
	return 1.0 / (1 + kernels.SVMExp(f))
}

// svmCouple is libsvm's multiclass_probability on the pairwise estimates r
// (C×C, r[i][j] for i != j), writing p; q (C×C) and qp (C) are scratch.
func svmCouple(k int, r, q, qp, p []float64) {
	maxIter := max(100, k)
	eps := 0.005 / float64(k)
	for t := 0; t < k; t++ {
		p[t] = 1.0 / float64(k)
		qtt := 0.0
		for j := 0; j < t; j++ {
			qtt += float64(r[j*k+t] * r[j*k+t])
			q[t*k+j] = q[j*k+t]
		}
		for j := t + 1; j < k; j++ {
			qtt += float64(r[j*k+t] * r[j*k+t])
			q[t*k+j] = -r[j*k+t] * r[t*k+j]
		}
		q[t*k+t] = qtt
	}
	for iter := 0; iter < maxIter; iter++ {
		pqp := 0.0
		for t := 0; t < k; t++ {
			s := 0.0
			for j := 0; j < k; j++ {
				s += float64(q[t*k+j] * p[j])
			}
			qp[t] = s
			pqp += float64(p[t] * s)
		}
		maxErr := 0.0
		for t := 0; t < k; t++ {
			if err := math.Abs(qp[t] - pqp); err > maxErr {
				maxErr = err
			}
		}
		if maxErr < eps {
			break
		}
		for t := 0; t < k; t++ {
			diff := (-qp[t] + pqp) / q[t*k+t]
			p[t] += diff
			pqp = (pqp + float64(diff*(float64(diff*q[t*k+t])+2*qp[t]))) / (1 + diff) / (1 + diff)
			for j := 0; j < k; j++ {
				qp[j] = (qp[j] + float64(diff*q[t*k+j])) / (1 + diff)
				p[j] /= 1 + diff
			}
		}
	}
}

// svmTanh is tanh as C libraries derived from fdlibm compute it, from
// expm1 (Go's is fdlibm's): -t/(t+2) with t = expm1(-2|x|) below 1,
// 1 - 2/(expm1(2|x|)+2) up to 22, then 1; the sign of x restored.
func svmTanh(x float64) float64 {
	ax := math.Abs(x)
	var z float64
	switch {
	case ax != ax:
		return x
	case ax < 0x1p-55:
		return x * (1 + x)
	case ax < 1:
		t := math.Expm1(-2 * ax)
		z = -t / (t + 2)
	case ax < 22:
		t := math.Expm1(2 * ax)
		z = 1 - 2/(t+2)
	default:
		z = 1
	}
	if x < 0 {
		return -z
	}
	return z
}
