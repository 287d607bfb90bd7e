package engine

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

var interpNaN = math.NaN()

// refInterp is numpy.interp's rule for one value, written independently
// of the kernel: a linear scan instead of bisection.
func refInterp(x float64, xp, fp []float64, left, right float64) float64 {
	m := len(xp)
	if m == 1 {
		if x < xp[0] {
			return left
		} else if x > xp[0] {
			return right
		}
		return fp[0]
	}
	if math.IsNaN(x) {
		return x
	}
	if x > xp[m-1] {
		return right
	}
	if x < xp[0] {
		return left
	}
	j := 0
	for j+1 < m && xp[j+1] <= x {
		j++
	}
	if j == m-1 || xp[j] == x {
		return fp[j]
	}
	slope := (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])
	prod := slope * (x - xp[j])
	y := prod + fp[j]
	if math.IsNaN(y) {
		prod = slope * (x - xp[j+1])
		y = prod + fp[j+1]
		if math.IsNaN(y) && fp[j] == fp[j+1] {
			y = fp[j]
		}
	}
	return y
}

func interpSameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.IsNaN(got[i]) && math.IsNaN(want[i]) {
			continue
		}
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func interpNode(inputs ...string) graph.Node {
	return graph.Node{Op: "Interp", Inputs: inputs, Outputs: []string{"y"}}
}

// runInterp interpolates x ([len(x)] against 1-D tables) through a model.
func runInterp(t *testing.T, x, xp, fp []float64, bounds ...float64) []float64 {
	t.Helper()
	consts := []tconst{{"xp", dtype.Float64, []int64{int64(len(xp))}, xp}, {"fp", dtype.Float64, []int64{int64(len(fp))}, fp}}
	node := interpNode("x", "xp", "fp")
	if len(bounds) == 2 {
		consts = append(consts, tconst{"l", dtype.Float64, nil, bounds[:1]}, tconst{"r", dtype.Float64, []int64{1}, bounds[1:]})
		node = interpNode("x", "xp", "fp", "l", "r")
	}
	n := int64(len(x))
	out, err := single(t, []tin{{"x", dtype.Float64, []int64{-1}, []int64{n}, x}}, consts, node)
	if err != nil {
		t.Fatal(err)
	}
	return decode(dtype.Float64, out.Data)
}

// numpy 2.4's np.interp on the same arguments (reference values).
func TestInterpNumpyCases(t *testing.T) {
	inf := math.Inf(1)
	xp := []float64{-1, 0, 0, 0.5, 2, 2, 3}
	fp := []float64{4, 1, -2, inf, 5, 7, 7}
	x := []float64{-2, -1, -0.5, 0, math.Copysign(0, -1), 0.25, 0.5, 1, 2, 2.5, 3, 4, interpNaN, inf, -inf, 1e-300}
	interpSameBits(t, "default bounds", runInterp(t, x, xp, fp),
		[]float64{4, 4, 2.5, -2, -2, inf, inf, inf, 7, 7, 7, 7, interpNaN, 7, 4, inf})
	interpSameBits(t, "left=NaN right=-9", runInterp(t, x, xp, fp, interpNaN, -9),
		[]float64{interpNaN, 4, 2.5, -2, -2, inf, inf, inf, 7, 7, 7, -9, interpNaN, -9, interpNaN, inf})
	interpSameBits(t, "overflowing slopes", runInterp(t, []float64{0.2, 0.69, 0.71, 1.2}, []float64{0.1, 0.7, 1.3}, []float64{0.3, 1e308, -1e308}),
		[]float64{1.6666666666666669e+307, 9.833333333333333e+307, -inf, -inf})
	interpSameBits(t, "one point", runInterp(t, []float64{0, 1, 2, interpNaN}, []float64{1}, []float64{5}, -1, 9), []float64{-1, 5, 9, 5})
	interpSameBits(t, "infinite xp", runInterp(t, []float64{-5, 5, -inf, inf}, []float64{-inf, 0, inf}, []float64{1, 2, 2}), []float64{2, 2, 1, 2})
	interpSameBits(t, "both directions NaN, equal fp", runInterp(t, []float64{0, 5}, []float64{-inf, inf}, []float64{3, 3}), []float64{3, 3})
	interpSameBits(t, "both directions NaN", runInterp(t, []float64{0}, []float64{-inf, inf}, []float64{1, 2}), []float64{interpNaN})
}

// Random tables with repeated points, per-row tables and bounds, float64
// and float32 X, enough elements to run in parallel chunks.
func TestInterpMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, m, n = 3, 50, 40000
	xp, fp := make([]float64, rows*m), make([]float64, rows*m)
	for r := 0; r < rows; r++ {
		row := xp[r*m : (r+1)*m]
		for j := range row {
			row[j] = math.Round(rng.NormFloat64()*40) / 16 // coarse: many repeats
		}
		sort.Float64s(row)
		for j := r * m; j < (r+1)*m; j++ {
			fp[j] = rng.NormFloat64()
		}
	}
	left, right := []float64{-7, interpNaN, 0.5}, []float64{8}
	x := make([]float64, n*rows)
	for i := range x {
		switch i % 5 {
		case 0: // on a point
			x[i] = xp[(i%rows)*m+rng.IntN(m)]
		case 1:
			x[i] = rng.NormFloat64() * 4
		default:
			x[i] = rng.NormFloat64() * 2
		}
	}
	x[7] = interpNaN
	for _, dt := range []dtype.DType{dtype.Float64, dtype.Float32} {
		xs := x
		if dt == dtype.Float32 {
			xs = decode(dtype.Float32, encode(dtype.Float32, x)) // the values float32 holds
		}
		out, err := single(t, []tin{{"x", dt, []int64{-1, rows}, []int64{n, rows}, xs}},
			[]tconst{{"xp", dtype.Float64, []int64{rows, m}, xp}, {"fp", dtype.Float32, []int64{rows, m}, fp},
				{"l", dtype.Float64, []int64{rows}, left}, {"r", dtype.Float64, []int64{1}, right}},
			interpNode("x", "xp", "fp", "l", "r"))
		if err != nil {
			t.Fatal(err)
		}
		fp32 := decode(dtype.Float32, encode(dtype.Float32, fp)) // fp was stored as float32
		want := make([]float64, len(xs))
		for i, v := range xs {
			r := i % rows
			want[i] = refInterp(v, xp[r*m:(r+1)*m], fp32[r*m:(r+1)*m], left[r], right[0])
		}
		if dt == dtype.Float32 {
			want = decode(dtype.Float32, encode(dtype.Float32, want))
		}
		interpSameBits(t, dt.String(), decode(dt, out.Data), want)
	}
}

// Defaults: left and right absent (fp's ends), one given.
func TestInterpDefaultBounds(t *testing.T) {
	xp, fp := []float64{0, 1, 2}, []float64{10, 20, 30}
	x := []float64{-1, 0.5, 3}
	out, err := single(t, []tin{{"x", dtype.Float64, []int64{3}, []int64{3}, x}},
		[]tconst{{"xp", dtype.Float64, []int64{3}, xp}, {"fp", dtype.Float64, []int64{3}, fp}, {"r", dtype.Float64, nil, []float64{-1}}},
		interpNode("x", "xp", "fp", "", "r"))
	if err != nil {
		t.Fatal(err)
	}
	interpSameBits(t, "right only", decode(dtype.Float64, out.Data), []float64{10, 15, -1})
}

func TestInterpRefuses(t *testing.T) {
	x := []tin{{"x", dtype.Float64, []int64{-1}, []int64{2}, []float64{0, 1}}}
	for _, tc := range []struct {
		name string
		xp   []float64
	}{{"decreasing", []float64{0, 2, 1}}, {"NaN", []float64{0, interpNaN, 1}}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := single(t, x, []tconst{{"xp", dtype.Float64, []int64{3}, tc.xp}, {"fp", dtype.Float64, []int64{3}, []float64{1, 2, 3}}},
				interpNode("x", "xp", "fp"))
			wantCode(t, err, errs.GraphAttribute)
		})
	}
	t.Run("computed xp", func(t *testing.T) { // the graph check refuses a table passed at run time
		b := format.NewBuilder()
		for _, in := range []string{"x", "xp"} {
			if err := b.AddInput(in, dtype.Float64, []int64{-1}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.AddTensor("fp", dtype.Float64, []int64{3}, encode(dtype.Float64, []float64{1, 2, 3})); err != nil {
			t.Fatal(err)
		}
		b.AddNode(interpNode("x", "xp", "fp"))
		if err := b.AddOutput("y"); err != nil {
			t.Fatal(err)
		}
		_, err := b.Bytes()
		wantCode(t, err, errs.GraphAttribute)
	})
}
