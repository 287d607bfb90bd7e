package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/osmem"
)

// byteSize is a flag holding a size in bytes, with an optional K/M/G/T
// suffix (powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	t := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult, t = int64(1)<<(10*(i+1)), t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return fmt.Errorf("%q is not a size in bytes (e.g. 512M, 2G)", s)
	}
	*b = byteSize(v * mult)
	return nil
}

// limits are the flags that bound a command's runs.
type limits struct {
	maxMemory byteSize
	timeout   time.Duration
}

func addLimitFlags(fs *flag.FlagSet, runs bool) *limits {
	l := &limits{}
	fs.Var(&l.maxMemory, "max-memory", "cap on the memory a run may allocate, e.g. 512M or 2G (default: 16G or 3/4 of what this process may use)")
	if runs {
		fs.DurationVar(&l.timeout, "timeout", 0, "fail a run that takes longer than this, e.g. 500ms or 2s (0: no limit)")
	}
	return l
}

func (l *limits) check() error {
	if l.timeout < 0 {
		return fmt.Errorf("%w: --timeout must be >= 0", errUsage)
	}
	return nil
}

func (l *limits) options(o engine.Options) engine.Options {
	o.MaxArenaBytes = int64(l.maxMemory)
	return o
}

func (l *limits) run() engine.RunOptions { return engine.RunOptions{Timeout: l.timeout} }

// buffers hands out memory from the system for a command's tensors, within
// what the model allows a run: a batch too large for the machine is an
// error, never an abort.
type buffers struct {
	limit int64
	used  int64
	all   []osmem.Buffer
}

func newBuffers(m *engine.Model) *buffers { return &buffers{limit: m.MaxMemory()} }

func (b *buffers) alloc(n int64) ([]byte, error) {
	if n > b.limit-b.used {
		return nil, errs.New(errs.NoMemoryLimit, "the tensors need more than the memory limit of %d bytes (--max-memory)", b.limit)
	}
	m, err := osmem.Alloc(n)
	if err != nil {
		return nil, err
	}
	b.used += n
	b.all = append(b.all, m)
	return m.Bytes()[:n:n], nil
}

// tensor allocates a zeroed tensor of the given type and shape.
// allocOutput is alloc as an engine.AllocFunc.
func (b *buffers) allocOutput(_ int, _ *engine.Tensor, n int64) ([]byte, error) { return b.alloc(n) }

func (b *buffers) tensor(dt dtype.DType, shape []int64) (engine.Tensor, error) {
	n, ok := dtype.ByteSize(dt, shape)
	if !ok {
		return engine.Tensor{}, errs.New(errs.ShapeTooLarge, "shape %v is larger than any run could hold", shape)
	}
	d, err := b.alloc(n)
	return engine.NewTensor(dt, shape, d), err
}

func (b *buffers) free() {
	for i := range b.all {
		osmem.Free(&b.all[i])
	}
}
