package engine

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/kernels"
)

// The scalar dot in OpenBLAS's ddot order is kernels.SVMDot, itself checked
// term by term against a reference in kernels/svm_test.go.
var refDot = kernels.SVMDot

func refKernel(kind string, x, sv []float64, gamma, coef0 float64, degree int) float64 {
	switch kind {
	case "linear":
		return refDot(x, sv)
	case "poly":
		return kernels.SVMPowi(float64(gamma*refDot(x, sv))+coef0, degree)
	case "rbf":
		d := make([]float64, len(x))
		for i := range x {
			d[i] = x[i] - sv[i]
		}
		return kernels.SVMExp(-gamma * refDot(d, d))
	}
	return svmTanh(float64(gamma*refDot(x, sv)) + coef0)
}

// svmModel is an SVM graph's pieces: rows X [N, F], support vectors per
// class, libsvm's coefficient rows and rho, Platt parameters.
type svmModel struct {
	kind         string
	gamma, coef0 float64
	degree       int
	f            int
	nSupport     []int
	sv           [][]float64 // S rows
	coef         [][]float64 // C-1 rows of S
	rho          []float64
	probA, probB []float64
	x32          bool
	threads      int
}

func randomSVM(rng *rand.Rand, kind string, f int, nSupport []int) *svmModel {
	m := &svmModel{kind: kind, gamma: 0.05 + rng.Float64()*0.3, coef0: rng.Float64() - 0.5, degree: 3, f: f, nSupport: nSupport}
	s := 0
	for _, v := range nSupport {
		s += v
	}
	for range s {
		m.sv = append(m.sv, randRow(rng, f))
	}
	for range len(nSupport) - 1 {
		m.coef = append(m.coef, randRow(rng, s))
	}
	c := len(nSupport)
	for range c * (c - 1) / 2 {
		m.rho = append(m.rho, rng.NormFloat64()*0.3)
		m.probA = append(m.probA, -1-rng.Float64())
		m.probB = append(m.probB, rng.NormFloat64()*0.2)
	}
	return m
}

func randRow(rng *rand.Rand, n int) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = rng.NormFloat64()
	}
	return r
}

func svmFlat(rows [][]float64) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func (m *svmModel) nodes() ([]tconst, []graph.Node) {
	c := len(m.nSupport)
	p := c * (c - 1) / 2
	ns := make([]int64, c)
	for i, v := range m.nSupport {
		ns[i] = int64(v)
	}
	consts := []tconst{
		{"SV", dtype.Float64, []int64{int64(len(m.sv)), int64(m.f)}, svmFlat(m.sv)},
		{"coef", dtype.Float64, []int64{int64(c - 1), int64(len(m.sv))}, svmFlat(m.coef)},
		{"rho", dtype.Float64, []int64{int64(p)}, m.rho},
		{"probA", dtype.Float64, []int64{int64(p)}, m.probA},
		{"probB", dtype.Float64, []int64{int64(p)}, m.probB},
	}
	nodes := []graph.Node{
		{Op: "SVMKernel", Inputs: []string{"X", "SV"}, Outputs: []string{"K"}, Attrs: []graph.Attr{
			strAttr("kernel", m.kind), {Name: "gamma", Type: graph.AttrFloat, Float: m.gamma},
			{Name: "coef0", Type: graph.AttrFloat, Float: m.coef0}, {Name: "degree", Type: graph.AttrInt, Int: int64(m.degree)}}},
		{Op: "SVMDecision", Inputs: []string{"K", "coef", "rho"}, Outputs: []string{"dec"},
			Attrs: []graph.Attr{{Name: "n_support", Type: graph.AttrInts, Ints: ns}}},
		{Op: "SVMVote", Inputs: []string{"dec"}, Outputs: []string{"idx", "ovr"},
			Attrs: []graph.Attr{{Name: "n_classes", Type: graph.AttrInt, Int: int64(c)}}},
		{Op: "SVMProbability", Inputs: []string{"dec", "probA", "probB"}, Outputs: []string{"proba"},
			Attrs: []graph.Attr{{Name: "n_classes", Type: graph.AttrInt, Int: int64(c)}}},
	}
	return consts, nodes
}

func (m *svmModel) xType() dtype.DType {
	if m.x32 {
		return dtype.Float32
	}
	return dtype.Float64
}

// run returns K, dec, idx, ovr, proba.
func (m *svmModel) run(t *testing.T, x [][]float64) []Tensor {
	t.Helper()
	consts, nodes := m.nodes()
	in := []tin{{name: "X", dt: m.xType(), sig: []int64{-1, int64(m.f)}, shape: []int64{int64(len(x)), int64(m.f)}, values: svmFlat(x)}}
	mod := buildModel(t, in, consts, nodes, []string{"K", "dec", "idx", "ovr", "proba"}, Options{Threads: m.threads})
	outs, err := runModel(t, mod, inputsOf(in))
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// refDecision is libsvm's svm_predict_values for one row of kernel values.
func (m *svmModel) refDecision(k []float64) []float64 {
	c := len(m.nSupport)
	start := make([]int, c)
	for i := 1; i < c; i++ {
		start[i] = start[i-1] + m.nSupport[i-1]
	}
	var dec []float64
	p := 0
	for i := 0; i < c; i++ {
		for j := i + 1; j < c; j++ {
			sum := 0.0
			for s := 0; s < m.nSupport[i]; s++ {
				sum += float64(m.coef[j-1][start[i]+s] * k[start[i]+s])
			}
			for s := 0; s < m.nSupport[j]; s++ {
				sum += float64(m.coef[i][start[j]+s] * k[start[j]+s])
			}
			dec = append(dec, sum-m.rho[p])
			p++
		}
	}
	return dec
}

// refVote is libsvm's vote and scikit-learn's _ovr_decision_function,
// written as numpy does: column updates per pair.
func refVote(c int, dec []float64) (int, []float64) {
	votes := make([]int, c)
	ov := make([]float64, c)
	sums := make([]float64, c)
	k := 0
	for i := 0; i < c; i++ {
		for j := i + 1; j < c; j++ {
			if dec[k] > 0 {
				votes[i]++
			} else {
				votes[j]++
			}
			conf := -dec[k]
			sums[i] -= conf
			sums[j] += conf
			if dec[k] < 0 {
				ov[j]++
			} else {
				ov[i]++
			}
			k++
		}
	}
	best := 0
	for i := range votes {
		if votes[i] > votes[best] {
			best = i
		}
	}
	for i := range ov {
		ov[i] += sums[i] / (3 * (math.Abs(sums[i]) + 1))
	}
	return best, ov
}

// refCouple is libsvm's multiclass_probability over C-style matrices.
func refCouple(k int, r [][]float64) []float64 {
	p := make([]float64, k)
	q := make([][]float64, k)
	qp := make([]float64, k)
	for t := range k {
		p[t] = 1.0 / float64(k)
		q[t] = make([]float64, k)
		for j := 0; j < t; j++ {
			q[t][t] += float64(r[j][t] * r[j][t])
			q[t][j] = q[j][t]
		}
		for j := t + 1; j < k; j++ {
			q[t][t] += float64(r[j][t] * r[j][t])
			q[t][j] = -r[j][t] * r[t][j]
		}
	}
	for iter := 0; iter < max(100, k); iter++ {
		pqp := 0.0
		for t := range k {
			qp[t] = 0
			for j := range k {
				qp[t] += float64(q[t][j] * p[j])
			}
			pqp += float64(p[t] * qp[t])
		}
		maxErr := 0.0
		for t := range k {
			maxErr = max(maxErr, math.Abs(qp[t]-pqp))
		}
		if maxErr < 0.005/float64(k) {
			break
		}
		for t := range k {
			diff := (-qp[t] + pqp) / q[t][t]
			p[t] += diff
			pqp = (pqp + float64(diff*(float64(diff*q[t][t])+2*qp[t]))) / (1 + diff) / (1 + diff)
			for j := range k {
				qp[j] = (qp[j] + float64(diff*q[t][j])) / (1 + diff)
				p[j] /= 1 + diff
			}
		}
	}
	return p
}

func refProba(c int, dec, a, b []float64) []float64 {
	r := make([][]float64, c)
	for i := range r {
		r[i] = make([]float64, c)
	}
	k := 0
	for i := 0; i < c; i++ {
		for j := i + 1; j < c; j++ {
			f := float64(dec[k]*a[k]) + b[k]
			var pr float64
			if f >= 0 {
				pr = kernels.SVMExp(-f) / (1.0 + kernels.SVMExp(-f))
			} else {
				pr = 1.0 / (1 + kernels.SVMExp(f))
			}
			pr = math.Min(math.Max(pr, 1e-7), 1-1e-7)
			r[i][j], r[j][i] = pr, 1-pr
			k++
		}
	}
	return refCouple(c, r)
}

func sameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v (bits differ)", what, i, got[i], want[i])
		}
	}
}

// Every kernel, widths across OpenBLAS's block boundaries, 2 to 5 classes,
// float32 and float64 rows, one and four threads: bit-identical to the
// straightforward reference.
func TestSVMAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kind := range graph.SVMKernels {
		for _, f := range []int{1, 7, 15, 16, 17, 31, 32, 33, 50, 64, 70} {
			for _, ns := range [][]int{{3, 4}, {2, 0, 5}, {4, 3, 2, 5, 1}} {
				m := randomSVM(rng, kind, f, ns)
				if kind == "poly" {
					m.degree = 1 + rng.IntN(4)
				}
				m.x32 = f%2 == 1
				m.threads = 1 + 3*(f%3&1)
				rows := make([][]float64, 13)
				for i := range rows {
					rows[i] = randRow(rng, f)
					if m.x32 {
						for j, v := range rows[i] {
							rows[i][j] = float64(float32(v))
						}
					}
				}
				outs := m.run(t, rows)
				c := len(ns)
				k, dec, idx, ovr, proba := decode(dtype.Float64, outs[0].Data), decode(dtype.Float64, outs[1].Data),
					decode(dtype.Int64, outs[2].Data), decode(dtype.Float64, outs[3].Data), decode(dtype.Float64, outs[4].Data)
				s, p := len(m.sv), c*(c-1)/2
				for r, x := range rows {
					wantK := make([]float64, s)
					for j := range wantK {
						wantK[j] = refKernel(kind, x, m.sv[j], m.gamma, m.coef0, m.degree)
					}
					sameBits(t, kind+" K", k[r*s:(r+1)*s], wantK)
					wantDec := m.refDecision(wantK)
					sameBits(t, kind+" dec", dec[r*p:(r+1)*p], wantDec)
					wantIdx, wantOvr := refVote(c, wantDec)
					if int(idx[r]) != wantIdx {
						t.Fatalf("%s row %d: vote %v, want %d", kind, r, idx[r], wantIdx)
					}
					sameBits(t, kind+" ovr", ovr[r*c:(r+1)*c], wantOvr)
					sameBits(t, kind+" proba", proba[r*c:(r+1)*c], refProba(c, wantDec, m.probA, m.probB))
				}
			}
		}
	}
}

// svmTanh follows math.Tanh to an ulp or two, is odd and keeps the specials.
func TestSVMTanh(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		x := (rng.Float64() - 0.5) * 60
		if i := rng.IntN(3); i == 0 {
			x *= 1e-3
		}
		got, want := svmTanh(x), math.Tanh(x)
		if math.Abs(got-want) > 2*math.Abs(math.Nextafter(want, 0)-want) {
			t.Fatalf("svmTanh(%v) = %v, math.Tanh %v", x, got, want)
		}
		if svmTanh(-x) != -got {
			t.Fatalf("svmTanh is not odd at %v", x)
		}
	}
	for _, x := range []float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, 1e-300} {
		if got := svmTanh(x); got != math.Tanh(x) || math.Signbit(got) != math.Signbit(math.Tanh(x)) {
			t.Fatalf("svmTanh(%v) = %v", x, got)
		}
	}
	if !math.IsNaN(svmTanh(math.NaN())) {
		t.Fatal("svmTanh(NaN) is not NaN")
	}
}

// Voting rules, ties and NaN: libsvm votes for the second class of a pair
// unless dec > 0 and picks the first of the tied; scikit-learn's ovr votes
// for the second class only when dec < 0.
func TestSVMVoteRules(t *testing.T) {
	cases := []struct {
		dec     []float64
		idx     int64
		ovrVote []float64
	}{
		{[]float64{0, 0, 0}, 2, []float64{2, 1, 0}},
		{[]float64{1, -1, 1}, 0, []float64{1, 1, 1}},
		{[]float64{-2, 3, 0.5}, 1, []float64{1, 2, 0}},
		{[]float64{math.NaN(), 1, 1}, 1, []float64{2, 1, 0}},
	}
	for _, c := range cases {
		in := []tin{{name: "D", dt: dtype.Float64, sig: []int64{-1, 3}, shape: []int64{1, 3}, values: c.dec}}
		m := buildModel(t, in, nil, []graph.Node{{Op: "SVMVote", Inputs: []string{"D"}, Outputs: []string{"i", "o"},
			Attrs: []graph.Attr{{Name: "n_classes", Type: graph.AttrInt, Int: 3}}}}, []string{"i", "o"}, Options{})
		outs, err := runModel(t, m, inputsOf(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(dtype.Int64, outs[0].Data)[0]; got != float64(c.idx) {
			t.Errorf("dec %v: vote %v, want %d", c.dec, got, c.idx)
		}
		_, want := refVote(3, c.dec)
		sameBits(t, "ovr", decode(dtype.Float64, outs[1].Data), want)
		for i, v := range want {
			if !math.IsNaN(v) && math.Floor(v+0.5) != c.ovrVote[i] {
				t.Errorf("dec %v: ovr %v, want votes %v", c.dec, want, c.ovrVote)
			}
		}
	}
}

// Two classes are coupled too (libsvm as scikit-learn ships it): the result
// is near, not equal to, the Platt estimate, and the rows sum to one.
func TestSVMProbabilityTwoClasses(t *testing.T) {
	dec := []float64{-3, -0.2, 0, 0.4, 2, 50, -50}
	in := []tin{{name: "D", dt: dtype.Float64, sig: []int64{-1, 1}, shape: []int64{int64(len(dec)), 1}, values: dec}}
	consts := []tconst{{"A", dtype.Float64, []int64{1}, []float64{-1.7}}, {"B", dtype.Float64, []int64{1}, []float64{0.1}}}
	m := buildModel(t, in, consts, []graph.Node{{Op: "SVMProbability", Inputs: []string{"D", "A", "B"}, Outputs: []string{"P"},
		Attrs: []graph.Attr{{Name: "n_classes", Type: graph.AttrInt, Int: 2}}}}, []string{"P"}, Options{})
	outs, err := runModel(t, m, inputsOf(in))
	if err != nil {
		t.Fatal(err)
	}
	p := decode(dtype.Float64, outs[0].Data)
	for r, d := range dec {
		platt := math.Min(math.Max(1/(1+math.Exp(d*-1.7+0.1)), 1e-7), 1-1e-7)
		if math.Abs(p[2*r]-platt) > 0.005 || math.Abs(p[2*r]+p[2*r+1]-1) > 1e-12 {
			t.Errorf("dec %v: proba %v, Platt %v", d, p[2*r:2*r+2], platt)
		}
		sameBits(t, "proba", p[2*r:2*r+2], refProba(2, []float64{d}, []float64{-1.7}, []float64{0.1}))
	}
}

// svmTry builds, opens and runs a graph, returning the first error; it
// must never panic (a panic would come back as MLE_ERR_INTERNAL).
func svmTry(t *testing.T, ins []tin, consts []tconst, nodes []graph.Node, outs []string) error {
	t.Helper()
	b := format.NewBuilder()
	for _, in := range ins {
		if err := b.AddInput(in.name, in.dt, in.sig); err != nil {
			return err
		}
	}
	for _, c := range consts {
		if err := b.AddTensor(c.name, c.dt, c.shape, encode(c.dt, c.values)); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		b.AddNode(n)
	}
	for _, o := range outs {
		if err := b.AddOutput(o); err != nil {
			return err
		}
	}
	path := filepath.Join(t.TempDir(), "m.mle")
	if _, err := b.Save(path); err != nil {
		return err
	}
	m, err := Open(path, Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = runModel(t, m, inputsOf(ins))
	return err
}

// Bad shapes, dtypes and attributes are refused with a graph or shape
// error, never a panic; empty batches run.
func TestSVMHostile(t *testing.T) {
	good := func() *svmModel { return randomSVM(rand.New(rand.NewPCG(9, 10)), "rbf", 3, []int{2, 1, 2}) }
	x := func(n, f int64, dt dtype.DType) []tin {
		return []tin{{name: "X", dt: dt, sig: []int64{-1, -1}, shape: []int64{n, f}, values: make([]float64, n*f)}}
	}
	setAttr := func(nodes []graph.Node, op, name string, a graph.Attr) {
		for i := range nodes {
			if nodes[i].Op != op {
				continue
			}
			for j := range nodes[i].Attrs {
				if nodes[i].Attrs[j].Name == name {
					a.Name = name
					nodes[i].Attrs[j] = a
				}
			}
		}
	}
	constShape := func(consts []tconst, name string, shape []int64, n int) {
		for i := range consts {
			if consts[i].name == name {
				consts[i].shape, consts[i].values = shape, make([]float64, n)
			}
		}
	}
	cases := []struct {
		name string
		ins  []tin
		edit func(consts []tconst, nodes []graph.Node) []tconst
		code errs.Code
	}{
		{"X too wide at run", x(2, 4, dtype.Float64), nil, errs.Shape},
		{"X rank 1", []tin{{name: "X", dt: dtype.Float64, sig: []int64{-1}, shape: []int64{3}, values: make([]float64, 3)}}, nil, errs.GraphDType},
		{"X int64", x(2, 3, dtype.Int64), nil, errs.GraphDType},
		{"support vectors float32", x(2, 3, dtype.Float64), func(c []tconst, _ []graph.Node) []tconst {
			c[0].dt = dtype.Float32
			return c
		}, errs.GraphDType},
		{"support vectors too narrow", x(2, 3, dtype.Float64), func(c []tconst, _ []graph.Node) []tconst {
			constShape(c, "SV", []int64{5, 2}, 10)
			return c
		}, errs.Shape},
		{"unknown kernel", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMKernel", "kernel", strAttr("", "precomputed"))
			return c
		}, errs.GraphAttribute},
		{"negative degree", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMKernel", "degree", graph.Attr{Type: graph.AttrInt, Int: -1})
			return c
		}, errs.GraphAttribute},
		{"n_support sum wrong", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMDecision", "n_support", graph.Attr{Type: graph.AttrInts, Ints: []int64{2, 2, 2}})
			return c
		}, errs.GraphShape},
		{"negative n_support", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMDecision", "n_support", graph.Attr{Type: graph.AttrInts, Ints: []int64{-1, 4, 2}})
			return c
		}, errs.GraphAttribute},
		{"one class", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMDecision", "n_support", graph.Attr{Type: graph.AttrInts, Ints: []int64{5}})
			return c
		}, errs.GraphAttribute},
		{"coef rows wrong", x(2, 3, dtype.Float64), func(c []tconst, _ []graph.Node) []tconst {
			constShape(c, "coef", []int64{3, 5}, 15)
			return c
		}, errs.GraphShape},
		{"rho too short", x(2, 3, dtype.Float64), func(c []tconst, _ []graph.Node) []tconst {
			constShape(c, "rho", []int64{2}, 2)
			return c
		}, errs.GraphShape},
		{"rho 2-D", x(2, 3, dtype.Float64), func(c []tconst, _ []graph.Node) []tconst {
			constShape(c, "rho", []int64{3, 1}, 3)
			return c
		}, errs.GraphDType},
		{"probB too long", x(2, 3, dtype.Float64), func(c []tconst, _ []graph.Node) []tconst {
			constShape(c, "probB", []int64{4}, 4)
			return c
		}, errs.GraphShape},
		{"vote classes disagree", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMVote", "n_classes", graph.Attr{Type: graph.AttrInt, Int: 4})
			return c
		}, errs.GraphShape},
		{"too many classes", x(2, 3, dtype.Float64), func(c []tconst, n []graph.Node) []tconst {
			setAttr(n, "SVMProbability", "n_classes", graph.Attr{Type: graph.AttrInt, Int: 1 << 40})
			return c
		}, errs.GraphAttribute},
		{"empty batch", x(0, 3, dtype.Float64), nil, errs.OK},
		{"NaN rows", []tin{{name: "X", dt: dtype.Float32, sig: []int64{-1, 3}, shape: []int64{2, 3},
			values: []float64{math.NaN(), 0, 1, math.Inf(1), math.Inf(-1), 0}}}, nil, errs.OK},
	}
	for _, c := range cases {
		consts, nodes := good().nodes()
		if c.edit != nil {
			consts = c.edit(consts, nodes)
		}
		err := svmTry(t, c.ins, consts, nodes, []string{"K", "dec", "idx", "ovr", "proba"})
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: got %v (%v), want %v", c.name, got, err, c.code)
		}
	}
}

// Batches large enough to split over the pool give the same bits on one
// thread and on four, and match the reference.
func TestSVMThreadsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m := randomSVM(rng, "rbf", 5, []int{30, 25, 20})
	rows := make([][]float64, 6000)
	for i := range rows {
		rows[i] = randRow(rng, 5)
	}
	m.threads = 1
	one := m.run(t, rows)
	m.threads = 4
	four := m.run(t, rows)
	for i := range one {
		if string(one[i].Data) != string(four[i].Data) {
			t.Fatalf("output %d differs between 1 and 4 threads", i)
		}
	}
	dec := decode(dtype.Float64, four[1].Data)
	for _, r := range []int{0, 2999, 5999} {
		k := make([]float64, len(m.sv))
		for j := range k {
			k[j] = refKernel("rbf", rows[r], m.sv[j], m.gamma, m.coef0, m.degree)
		}
		sameBits(t, "dec", dec[3*r:3*r+3], m.refDecision(k))
	}
}

// benchSVM times one graph over n rows on one session: the kernel alone
// (outs K) or the whole classifier (outs proba).
func benchSVM(b *testing.B, m *svmModel, n int, outs []string, threads int) {
	rng := rand.New(rand.NewPCG(13, 14))
	rows := make([]float64, n*m.f)
	for i := range rows {
		rows[i] = rng.NormFloat64()
	}
	consts, nodes := m.nodes()
	in := []tin{{name: "X", dt: m.xType(), sig: []int64{-1, int64(m.f)}, shape: []int64{int64(n), int64(m.f)}, values: rows}}
	mod := buildModel(b, in, consts, nodes, outs, Options{Threads: threads})
	s, err := mod.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	inputs := inputsOf(in)
	res := make([]Tensor, len(outs))
	if err := s.RunAlloc(inputs, res, nil, RunOptions{}, heapAlloc); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Run(inputs, res); err != nil {
			b.Fatal(err)
		}
	}
}

// The catalog's shape (442 support vectors, 20 features) and narrower and
// wider rows, every kernel, 10,000 rows on one thread.
func BenchmarkSVMKernel(b *testing.B) {
	for _, kind := range graph.SVMKernels {
		for _, f := range []int{8, 20, 64} {
			b.Run(kind+"/F="+strconv.Itoa(f), func(b *testing.B) {
				m := randomSVM(rand.New(rand.NewPCG(15, 16)), kind, f, []int{150, 150, 142})
				m.gamma = 1 / float64(f)
				benchSVM(b, m, 10000, []string{"K"}, 1)
			})
		}
	}
}

// The whole rbf classifier with probabilities, on one and two threads.
func BenchmarkSVMClassifier(b *testing.B) {
	for _, th := range []int{1, 2} {
		for _, n := range []int{1, 10000} {
			b.Run("threads="+strconv.Itoa(th)+"/rows="+strconv.Itoa(n), func(b *testing.B) {
				m := randomSVM(rand.New(rand.NewPCG(15, 16)), "rbf", 20, []int{150, 150, 142})
				m.gamma = 1.0 / 20
				benchSVM(b, m, n, []string{"idx", "proba"}, th)
			})
		}
	}
}

// SVMDecision alone on 10,000 rows of 442 kernel values, three classes.
func BenchmarkSVMDecision(b *testing.B) {
	rng := rand.New(rand.NewPCG(17, 18))
	m := randomSVM(rng, "rbf", 1, []int{150, 150, 142})
	consts, nodes := m.nodes()
	n, s := 10000, len(m.sv)
	in := []tin{{name: "K", dt: dtype.Float64, sig: []int64{-1, int64(s)}, shape: []int64{int64(n), int64(s)}, values: randRow(rng, n*s)}}
	mod := buildModel(b, in, consts[1:3], nodes[1:2], []string{"dec"}, Options{Threads: 1})
	sess, err := mod.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	inputs, res := inputsOf(in), make([]Tensor, 1)
	if err := sess.RunAlloc(inputs, res, nil, RunOptions{}, heapAlloc); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := sess.Run(inputs, res); err != nil {
			b.Fatal(err)
		}
	}
}

// Support vectors fed as an input (packed per run into the arena) give the
// bits stored ones (packed once per model) give.
func TestSVMSupportVectorsAsInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, kind := range graph.SVMKernels {
		for _, f := range []int{3, 20, 45} {
			m := randomSVM(rng, kind, f, []int{9, 14})
			rows := make([][]float64, 37)
			for i := range rows {
				rows[i] = randRow(rng, f)
			}
			want := m.run(t, rows)[0]
			consts, nodes := m.nodes()
			s := int64(len(m.sv))
			in := []tin{
				{name: "X", dt: dtype.Float64, sig: []int64{-1, int64(f)}, shape: []int64{int64(len(rows)), int64(f)}, values: svmFlat(rows)},
				{name: "SV", dt: dtype.Float64, sig: []int64{-1, int64(f)}, shape: []int64{s, int64(f)}, values: svmFlat(m.sv)},
			}
			mod := buildModel(t, in, consts[1:], nodes[:1], []string{"K"}, Options{Threads: 2})
			got, err := runModel(t, mod, inputsOf(in))
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, kind+" K", decode(dtype.Float64, got[0].Data), decode(dtype.Float64, want.Data))
		}
	}
}
