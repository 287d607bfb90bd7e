package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mle-runtime/mle/core/engine"
)

// profileTop is how many of the slowest steps the text report lists.
const profileTop = 25

// opTotal is one op (or fused group of ops) summed over its steps.
type opTotal struct {
	op    string
	steps int
	time  time.Duration
}

// profileTotals sums a profile by op, slowest first, and returns its total.
func profileTotals(steps []engine.StepTime) ([]opTotal, time.Duration) {
	var all time.Duration
	var ops []opTotal
	at := map[string]int{}
	for _, s := range steps {
		all += s.Time
		i, ok := at[s.Op]
		if !ok {
			i = len(ops)
			at[s.Op] = i
			ops = append(ops, opTotal{op: s.Op})
		}
		ops[i].steps++
		ops[i].time += s.Time
	}
	slices.SortStableFunc(ops, func(a, b opTotal) int { return int(b.time - a.time) })
	return ops, all
}

func perRun(d time.Duration, runs int) time.Duration {
	return d / time.Duration(max(runs, 1))
}

func pct(d, all time.Duration) float64 {
	if all <= 0 {
		return 0
	}
	return 100 * float64(d) / float64(all)
}

// writeProfile prints the time by op, then the slowest steps.
func writeProfile(w io.Writer, p *engine.Profile) {
	runs, steps := p.Runs(), p.Steps()
	ops, all := profileTotals(steps)
	r := func(d time.Duration) string { return perRun(d, runs).Round(100 * time.Nanosecond).String() }
	fmt.Fprintf(w, "  profile:       %s a run in %d steps (over %d runs; the rest of a run is outside any node)\n", r(all), len(steps), runs)
	fmt.Fprintf(w, "  by op:\n")
	for _, o := range ops {
		fmt.Fprintf(w, "    %5.1f%%  %10s  %3d× %s\n", pct(o.time, all), r(o.time), o.steps, o.op)
	}
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(steps[b].Time - steps[a].Time) })
	fmt.Fprintf(w, "  slowest steps:\n")
	for k, i := range order {
		if k == profileTop {
			fmt.Fprintf(w, "    … %d more steps\n", len(order)-k)
			break
		}
		s := steps[i]
		fmt.Fprintf(w, "    %5.1f%%  %10s  #%-3d %s %q -> %s\n", pct(s.Time, all), r(s.Time), i, s.Op, s.Name, shapeString(s.Shape))
	}
}

// profileJSON lists every step in execution order, with times per run.
func profileJSON(p *engine.Profile) map[string]any {
	runs, steps := p.Runs(), p.Steps()
	us := func(d time.Duration) float64 { return float64(perRun(d, runs).Nanoseconds()) / 1e3 }
	list := make([]map[string]any, len(steps))
	for i, s := range steps {
		list[i] = map[string]any{"op": s.Op, "name": s.Name, "shape": s.Shape, "mean_us": us(s.Time)}
	}
	ops, all := profileTotals(steps)
	byOp := make([]map[string]any, len(ops))
	for i, o := range ops {
		byOp[i] = map[string]any{"op": o.op, "steps": o.steps, "mean_us": us(o.time)}
	}
	return map[string]any{"runs": runs, "mean_us": us(all), "steps": list, "by_op": byOp}
}
