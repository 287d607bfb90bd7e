package kernels

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// best-of timing of one layer with the given micro set
func layerBest(sh struct {
	name              string
	c, m, h, k, st, p int
}, reps int) float64 {
	r := rand.New(rand.NewSource(1))
	s := benchShape(sh.c, sh.h, sh.k, sh.st, sh.p)
	x := randF32(r, sh.c*sh.h*sh.h)
	w := randF32(r, sh.m*sh.c*sh.k*sh.k)
	bias := randF32(r, sh.m)
	p := s.OH * s.OW
	y := make([]float32, sh.m*p)
	flops := 2 * float64(sh.m) * float64(p) * float64(sh.c*sh.k*sh.k)
	d := NewDirectConv(&s, sh.c, 1, sh.m)
	planes := make([]float32, d.PlaneElems())
	pw := make([]float32, d.PackedElems())
	d.PackWeights(pw, w)
	pb := make([]float32, d.BiasElems())
	d.PadBias(pb, bias)
	mb, qb := d.Blocks()
	tile := make([]float32, d.TaskElems(mb, qb))
	best := 0.0
	for i := 0; i < reps; i++ {
		t := time.Now()
		d.BuildPlanes(planes, x, 0, sh.c)
		d.Run(y, planes, pw, pb, 0, 0, mb, 0, qb, nil, tile)
		if g := flops / time.Since(t).Seconds() / 1e9; g > best {
			best = g
		}
	}
	return best
}

func TestChunkSweep(t *testing.T) {
	defer func() { convChunkBytes = 16 << 10 }()
	for _, sh := range convBenchShapes[:7] {
		line := sh.name
		for _, cb := range []int{16 << 10, 32 << 10, 64 << 10, 128 << 10, 1 << 30} {
			convChunkBytes = cb
			line += fmt.Sprintf(" %dK=%.0f", cb>>10, layerBest(sh, 40))
		}
		t.Log(line)
	}
}
