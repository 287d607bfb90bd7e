package main

import "fmt"

// exploreAll prints the weighted error of each family against the degree.
func exploreAll() {
	show := func(name string, p problem, degs ...int) {
		for _, d := range degs {
			p.deg = d
			r := remez(p)
			fmt.Printf("%-16s deg %2d: exact %s rounded %s\n", name, d, log2s(r.exact), log2s(r.errMax))
		}
	}
	show("expQ", problem{a: -expR, b: expR, g: expQ, w: expQWeight}, 4, 5, 6, 9, 10, 11)
	show("logR", problem{a: 0, b: logZ, g: logR, w: logRWeight}, 2, 3, 5, 6, 7)
	for _, t := range []float64{0.55, 0.625} {
		show(fmt.Sprintf("tanhP T=%v", t), problem{a: 0, b: t * t, g: tanhP, w: tanhPWeight}, 9, 10, 11)
	}
	for _, w := range []float64{0.25, 0.375} {
		for i := 0; i < 16; i++ {
			lo, hi := float64(i)*w, float64(i+1)*w
			c := lo + w/2
			p := problem{a: lo - c - margin, b: hi - c + margin, g: erfAt(c), w: func(float64) float64 { return 1 }}
			if i == 0 {
				p = problem{a: 0, b: hi + margin, g: erfOverX, w: func(float64) float64 { return 1 }}
			}
			show(fmt.Sprintf("erf w=%v i=%d", w, i), p, 6, 7, 12, 13)
		}
	}
}
