package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/kernels"
)

type stats struct {
	N                        int
	Mean, P50, P90, P99, Min time.Duration
}

func summarize(d []time.Duration) stats {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return stats{N: len(d), Mean: sum / time.Duration(len(d)), P50: q(0.5), P90: q(0.9), P99: q(0.99), Min: d[0]}
}

func (s stats) json() map[string]any {
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	return map[string]any{"n": s.N, "mean_us": us(s.Mean), "p50_us": us(s.P50), "p90_us": us(s.P90), "p99_us": us(s.P99), "min_us": us(s.Min)}
}

func (s stats) String() string {
	r := func(d time.Duration) string { return d.Round(100 * time.Nanosecond).String() }
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  mean %s  min %s  (n=%d)", r(s.P50), r(s.P90), r(s.P99), r(s.Mean), r(s.Min), s.N)
}

// fill gives deterministic pseudo-random values in [-1, 1) to float inputs.
func fill(t *engine.Tensor) {
	if !t.DType.IsFloat() {
		return
	}
	vals := make([]float64, len(t.Data)/t.DType.Size())
	x := uint64(88172645463325252)
	for i := range vals {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		vals[i] = float64(x>>11)/(1<<52) - 1
	}
	kernels.FromFloat64s(t.Data, kernels.Elem(t.DType), vals)
}

func cmdBench(args []string, w, ew io.Writer) (bool, error) {
	fs, asJSON := newFlags("bench", w)
	runs := fs.Int("runs", 1000, "timed runs")
	opens := fs.Int("opens", 200, "timed opens")
	batch := fs.Int64("batch", 1, "size given to dynamic dimensions of generated inputs")
	var inputs multiFlag
	fs.Var(&inputs, "input", "NAME=FILE.npy: run on this array instead of generated values (repeat per input)")
	threads := fs.Int("threads", 0, "intra-op threads (0 = all CPUs)")
	profile := fs.Bool("profile", false, "time each node (or fused group) over the timed runs and report where the time went")
	lim := addLimitFlags(fs, true)
	sec := addSecFlags(fs, true)
	path, err := parseFile(fs, args)
	if err == nil {
		err = lim.check()
	}
	if err == nil {
		err = sec.load()
	}
	if err != nil {
		return *asJSON, err
	}
	if *runs < 1 || *opens < 1 || *batch < 0 || *threads < 0 {
		return *asJSON, fmt.Errorf("%w: --runs and --opens must be >= 1, --batch and --threads >= 0", errUsage)
	}
	openTimes := make([]time.Duration, *opens)
	for i := range openTimes {
		start := time.Now()
		m, err := engine.Open(path, sec.engine(engine.Options{Threads: 1}))
		if err != nil {
			return *asJSON, err
		}
		openTimes[i] = time.Since(start)
		m.Close()
	}
	m, err := engine.Open(path, lim.options(sec.engine(engine.Options{Threads: *threads})))
	if err != nil {
		return *asJSON, err
	}
	defer m.Close()
	bufs := newBuffers(m)
	defer bufs.free()
	given, gen := make([]bool, len(m.Inputs())), concreteInputs(m, *batch)
	ins := gen
	if len(inputs) > 0 {
		if ins, given, _, err = readInputs(m, inputs); err != nil {
			return *asJSON, err
		}
	}
	for i := range ins {
		if given[i] {
			continue
		}
		if ins[i], err = bufs.tensor(gen[i].DType, gen[i].Shape()); err != nil {
			return *asJSON, errs.Prefix(err, "input %q at --batch %d", m.Inputs()[i].Name, *batch)
		}
		fill(&ins[i])
	}
	// The batch reported is the first input's leading dimension.
	rows := *batch
	if len(ins) > 0 && given[0] && len(ins[0].Shape()) > 0 {
		rows = ins[0].Shape()[0]
	}
	outs := make([]engine.Tensor, len(m.Outputs()))
	// Runs go through Model.Run, the serving path every front end uses.
	ro := lim.run()
	first := time.Now()
	if err := m.Run(ins, outs, nil, ro, bufs.allocOutput); err != nil {
		return *asJSON, err
	}
	firstRun := time.Since(first)
	warm := min(*runs/10+1, 100)
	for i := 0; i < warm; i++ {
		if err := m.Run(ins, outs, nil, ro, nil); err != nil {
			return *asJSON, err
		}
	}
	if *profile {
		ro.Profile = &engine.Profile{}
	}
	runTimes := make([]time.Duration, *runs)
	bar := newProgress(ew, "bench", *asJSON, runsCount)
	for i := range runTimes {
		start := time.Now()
		if err := m.Run(ins, outs, nil, ro, nil); err != nil {
			bar.finish()
			return *asJSON, err
		}
		runTimes[i] = time.Since(start)
		bar.update(int64(i+1), int64(len(runTimes))) // outside the timed span
	}
	bar.finish()
	ost, rst := summarize(openTimes), summarize(runTimes)
	rowsPerSec := float64(rows) / rst.P50.Seconds()
	if *asJSON {
		out := map[string]any{"ok": true, "path": path, "batch": rows, "threads": m.Threads(),
			"open": ost.json(), "first_run_us": float64(firstRun.Nanoseconds()) / 1e3, "run": rst.json(), "rows_per_second_p50": rowsPerSec}
		if ro.Profile != nil {
			out["profile"] = profileJSON(ro.Profile)
		}
		writeJSON(w, out)
		return true, nil
	}
	fmt.Fprintf(w, "%s (batch %d, %d threads)\n", path, rows, m.Threads())
	fmt.Fprintf(w, "  open+validate: %s\n", ost)
	fmt.Fprintf(w, "  first run:     %s (plans and allocates the arena)\n", firstRun.Round(100*time.Nanosecond))
	fmt.Fprintf(w, "  run:           %s\n", rst)
	if rows > 0 {
		fmt.Fprintf(w, "  throughput:    %.0f rows/s at p50\n", rowsPerSec)
	}
	if ro.Profile != nil {
		writeProfile(w, ro.Profile)
	}
	return false, nil
}
