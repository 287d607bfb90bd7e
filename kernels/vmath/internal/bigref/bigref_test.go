package bigref

import (
	"math"
	"testing"
)

// The references must agree with package math to within its own error.
// (Not at math's known faults on amd64: Exp returns +Inf above 709.44 and
// Log ignores subnormals; see TestMathFaults.)
func TestAgainstMath(t *testing.T) {
	cases := []struct {
		name string
		f    Func
		m    func(float64) float64
		xs   []float64
	}{
		{"exp", ExpB, math.Exp, []float64{-745, -700.3, -1, -1e-300, 0.3, 1, 2.5, 709.4}},
		{"log", LogB, math.Log, []float64{2.3e-308, 0.5, 0.70710678, 1, 1.0000001, 2, 10, 1e300}},
		{"tanh", TanhB, math.Tanh, []float64{-20, -1, -1e-10, 1e-300, 0.3, 0.7, 5}},
		{"erf", ErfB, math.Erf, []float64{-5, -1, -1e-10, 1e-300, 0.3, 0.9, 2, 3.9, 4.1, 5.5}},
		{"sigmoid", SigmoidB, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, []float64{-30, -1, 0, 0.5, 30}},
		{"erfc", ErfcB, math.Erfc, []float64{-1, 0.5, 3, 4, 4.5, 10, 26}},
	}
	for _, c := range cases {
		for _, x := range c.xs {
			want := c.m(x)
			if u := ULP64(want, Eval(c.f, x)); u > 1.5 {
				t.Errorf("%s(%g): math %g is %g ulp from the reference", c.name, x, want, u)
			}
		}
	}
}

// TestMathFaults checks the references where math's amd64 assembly is wrong.
func TestMathFaults(t *testing.T) {
	if w, _ := Eval(ExpB, 709.7).Float64(); w != 1.6549840276802644e308 {
		t.Errorf("exp(709.7) = %v", w)
	}
	if w, _ := Eval(LogB, 5e-324).Float64(); w != -744.4400719213812 {
		t.Errorf("log(5e-324) = %v", w)
	}
}
