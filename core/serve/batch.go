package serve

import (
	"context"
	"encoding/binary"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/strs"
)

// Dynamic batching: requests to one version that arrive close together run
// as one batch, their inputs stacked along the first axis and the outputs
// split back by rows. A batch forms while the version's sessions are busy
// (or for up to the configured delay when one is free), so an idle server
// adds at most that delay and a loaded one fills its batches for free.

// job is one request waiting in a batcher.
type job struct {
	inputs   []engine.Tensor
	which    []int
	rows     int64
	key      string // requests batch together only with the same key
	ctx      context.Context
	enqueued time.Time
	done     chan jobResult // buffered: the batcher never blocks on it
}

type jobResult struct {
	outs    []engine.Tensor
	err     error
	queued  time.Duration // enqueue to dispatch
	compute time.Duration
	where   string // for errors: the step the request was at
}

type batcher struct {
	v        *version
	maxRows  int64
	maxDelay time.Duration
	queue    chan *job
	stop     chan struct{}
	pending  []*job // taken from the queue but not yet in a batch
}

func newBatcher(v *version, maxRows int64, maxDelay time.Duration) *batcher {
	b := &batcher{v: v, maxRows: maxRows, maxDelay: maxDelay,
		queue: make(chan *job, 4*maxRows), stop: make(chan struct{})}
	go b.loop()
	return b
}

// batchable reports whether the model's inputs and outputs all have a
// dynamic first dimension, and why not.
func batchable(m *engine.Model) (bool, string) {
	for _, in := range m.Inputs() {
		if len(in.Shape) == 0 || in.Shape[0] >= 0 {
			return false, "input " + in.Name + " has no dynamic first dimension"
		}
	}
	for _, o := range m.Outputs() {
		if len(o.Shape) == 0 || o.Shape[0] >= 0 {
			return false, "output " + o.Name + " has no dynamic first dimension"
		}
	}
	return true, ""
}

// batchKey groups requests whose inputs can be stacked: the same requested
// outputs and the same shapes past the first axis.
func batchKey(inputs []engine.Tensor, which []int) string {
	k := make([]byte, 0, 64)
	for _, w := range which {
		k = binary.AppendUvarint(k, uint64(w))
	}
	k = append(k, '|')
	for _, t := range inputs {
		k = binary.AppendUvarint(k, uint64(t.Rank))
		for _, d := range t.Shape()[1:] {
			k = binary.AppendUvarint(k, uint64(d))
		}
	}
	return string(k)
}

// submit queues a request; the result comes on j.done.
func (b *batcher) submit(j *job) {
	b.queue <- j
}

func (b *batcher) close() { close(b.stop) }

func (b *batcher) loop() {
	for {
		var first *job
		if len(b.pending) > 0 {
			first, b.pending = b.pending[0], b.pending[1:]
		} else {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		// A free session first: while all are busy, requests gather.
		select {
		case b.v.sessions <- struct{}{}:
		case <-b.stop:
			b.fail(first, errs.New(errs.BadHandle, "the model version was unloaded"))
			return
		}
		batch, rows := []*job{first}, first.rows
		deadline := time.NewTimer(b.maxDelay - time.Since(first.enqueued))
	collect:
		for rows < b.maxRows {
			// Jobs held back earlier come first.
			if k := slices.IndexFunc(b.pending, func(j *job) bool { return j.key == first.key && rows+j.rows <= b.maxRows }); k >= 0 {
				j := b.pending[k]
				b.pending = slices.Delete(b.pending, k, k+1)
				batch, rows = append(batch, j), rows+j.rows
				continue
			}
			var j *job
			select { // what is queued already joins, even past the delay
			case j = <-b.queue:
			default:
				select {
				case j = <-b.queue:
				case <-deadline.C:
					break collect
				case <-b.stop:
					break collect
				}
			}
			if j.key == first.key && rows+j.rows <= b.maxRows {
				batch, rows = append(batch, j), rows+j.rows
			} else if b.pending = append(b.pending, j); len(b.pending) >= cap(b.queue) {
				break // do not hoard: run what there is
			}
		}
		deadline.Stop()
		go b.run(batch, rows)
	}
}

func (b *batcher) fail(j *job, err error) {
	j.done <- jobResult{err: err}
}

// run runs one batch on the session slot the loop took, and answers each
// job.
func (b *batcher) run(batch []*job, rows int64) {
	defer func() { <-b.v.sessions }()
	dispatched := time.Now()
	live := batch[:0:0]
	for _, j := range batch {
		if j.ctx.Err() != nil {
			j.done <- jobResult{err: j.ctx.Err()}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		j := live[0]
		start := time.Now()
		outs, err := runOne(b.v.m, j.inputs, j.which, j.ctx)
		b.v.observeBatch(j.rows)
		j.done <- jobResult{outs: outs, err: err, queued: dispatched.Sub(j.enqueued), compute: time.Since(start)}
		return
	}
	rows = 0
	for _, j := range live {
		rows += j.rows
	}
	inputs := stack(live, rows)
	outs := make([]engine.Tensor, len(live[0].which))
	start := time.Now()
	err := b.v.m.Run(inputs, outs, live[0].which, engine.RunOptions{}, allocOutput)
	took := time.Since(start)
	b.v.observeBatch(rows)
	if err == nil {
		for _, o := range outs {
			if o.Rank == 0 || o.Dims[0] != rows {
				err = errs.New(errs.Shape, "an output does not have one row per input row")
			}
		}
	}
	if err != nil {
		// One request's data (an unknown category, a token id out of
		// range) must not fail the others: each runs alone and gets its
		// own answer.
		for _, j := range live {
			start := time.Now()
			o, err := runOne(b.v.m, j.inputs, j.which, j.ctx)
			b.v.observeBatch(j.rows)
			j.done <- jobResult{outs: o, err: err, queued: dispatched.Sub(j.enqueued), compute: time.Since(start)}
		}
		return
	}
	at := int64(0)
	for _, j := range live {
		j.done <- jobResult{outs: sliceRows(outs, at, j.rows), queued: dispatched.Sub(j.enqueued), compute: took}
		at += j.rows
	}
}

// runOne runs one request's inputs, stopping when its context ends.
func runOne(m *engine.Model, inputs []engine.Tensor, which []int, ctx context.Context) ([]engine.Tensor, error) {
	outs := make([]engine.Tensor, len(which))
	var cancel atomic.Int32
	stop := context.AfterFunc(ctx, func() { cancel.Store(1) })
	defer stop()
	err := m.Run(inputs, outs, which, engine.RunOptions{Cancel: &cancel}, allocOutput)
	return outs, err
}

// stack concatenates the jobs' inputs along the first axis.
func stack(jobs []*job, rows int64) []engine.Tensor {
	first := jobs[0].inputs
	out := make([]engine.Tensor, len(first))
	for i := range first {
		t := first[i]
		t.Dims[0] = rows
		if t.DType == dtype.String {
			var elems [][]byte
			for _, j := range jobs {
				in := j.inputs[i]
				n, _ := dtype.NumElements(in.Shape())
				for e := int64(0); e < n; e++ {
					elems = append(elems, strs.Elem(in.Data, n, e))
				}
			}
			t.Data = strs.Pack(elems)
		} else {
			size := 0
			for _, j := range jobs {
				size += len(j.inputs[i].Data)
			}
			t.Data = make([]byte, 0, size)
			for _, j := range jobs {
				t.Data = append(t.Data, j.inputs[i].Data...)
			}
		}
		out[i] = t
	}
	return out
}

// sliceRows returns rows [at, at+n) of each output.
func sliceRows(outs []engine.Tensor, at, n int64) []engine.Tensor {
	res := make([]engine.Tensor, len(outs))
	for i, o := range outs {
		t := o
		t.Dims[0] = n
		total, _ := dtype.NumElements(o.Shape())
		per := total / o.Dims[0]
		if o.DType == dtype.String {
			elems := make([][]byte, per*n)
			for e := range elems {
				elems[e] = strs.Elem(o.Data, total, at*per+int64(e))
			}
			t.Data = strs.Pack(elems)
		} else {
			w := per * int64(o.DType.Size())
			t.Data = o.Data[at*w : (at+n)*w]
		}
		res[i] = t
	}
	return res
}
