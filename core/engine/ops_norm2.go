package engine

// Per-channel normalizations over N·C·spatial tensors: BatchNormalization
// (inference form), InstanceNormalization and GroupNormalization. Statistics
// are accumulated in float64 (torch accumulates float32 in double for its
// CPU kernels' means too, and float64 parity needs it).

import (
	"math"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	for _, op := range []string{"BatchNormalization", "InstanceNormalization", "GroupNormalization"} {
		mustRegister(Kernel{Op: op, Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindChannelNorm)})
	}
}

type channelNormExec struct {
	dt     dtype.DType
	op     string
	n, c   int
	inner  int // elements per (image, channel)
	groups int // GroupNormalization: channel groups; else C (one per channel)
	eps    float64
	rc     rowChunks
	args   []Buf
	y      []byte
}

func bindChannelNorm(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	e := &channelNormExec{dt: b.In[0].DType, op: b.Node.Op, n: int(s[0]), c: int(s[1]), inner: numel(s[2:]),
		eps: b.Node.Attr("epsilon").Float}
	e.groups = e.c
	if e.op == "GroupNormalization" {
		e.groups = int(b.Node.Attr("num_groups").Int)
	}
	// Rows: one per (image, group) — BatchNormalization's rows are
	// (image, channel) too, statistics being given.
	e.rc = splitWork(e.n*e.groups, e.c/e.groups*e.inner, 3, b.Threads)
	return e, nil
}

func (e *channelNormExec) Run(x *RunCtx, in, out []Buf) {
	e.args, e.y = in, out[0].Host
	x.Parallel(e.rc.count, e)
	e.args, e.y = nil, nil
}

func (e *channelNormExec) RunChunk(c int, _ *kernels.Worker) {
	r0, r1 := e.rc.bounds(c)
	if e.dt == dtype.Float32 {
		channelNorm(e, r0, r1, f32s)
	} else {
		channelNorm(e, r0, r1, f64s)
	}
}

func channelNorm[T kernels.Float](e *channelNormExec, r0, r1 int, view func([]byte) []T) {
	x, y := view(e.args[0].Host), view(e.y)
	scale, bias := view(e.args[1].Host), view(e.args[2].Host)
	cpg := e.c / e.groups
	size := cpg * e.inner
	for r := r0; r < r1; r++ {
		grp := r % e.groups
		xs, ys := x[r*size:(r+1)*size], y[r*size:(r+1)*size]
		if e.op == "BatchNormalization" {
			mean, vr := view(e.args[3].Host), view(e.args[4].Host)
			// torch's eval batch_norm: y = x·a + b with a = γ/√(var+eps)
			// and b = β − mean·a, per channel.
			a := float64(scale[grp]) / math.Sqrt(float64(vr[grp])+e.eps)
			b := float64(bias[grp]) - float64(mean[grp])*a
			ta, tb := T(a), T(b)
			for i, v := range xs {
				ys[i] = v*ta + tb
			}
			continue
		}
		var sum float64
		for _, v := range xs {
			sum += float64(v)
		}
		mean := sum / float64(size)
		var sq float64
		for _, v := range xs {
			d := float64(v) - mean
			sq += d * d
		}
		inv := 1 / math.Sqrt(sq/float64(size)+e.eps)
		for ch := 0; ch < cpg; ch++ {
			c := grp*cpg + ch
			a := float64(scale[c]) * inv
			b := float64(bias[c]) - mean*a
			if e.dt == dtype.Float64 {
				for i := ch * e.inner; i < (ch+1)*e.inner; i++ {
					ys[i] = T((float64(xs[i])-mean)*inv*float64(scale[c]) + float64(bias[c]))
				}
				continue
			}
			ta, tb := T(a), T(b)
			for i := ch * e.inner; i < (ch+1)*e.inner; i++ {
				ys[i] = xs[i]*ta + tb
			}
		}
	}
}
