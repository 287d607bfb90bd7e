package engine

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mle-runtime/mle/core/graph"
)

// Profile sums each step's wall time over the runs given it through
// RunOptions.Profile (`mle bench --profile` prints one). A step is a node,
// or a fused group of nodes. Runs on any session may share a Profile: each
// run adds its times once, when it ends; a run that fails adds nothing.
type Profile struct {
	mu    sync.Mutex
	runs  int
	steps []StepTime
	index map[*graph.CNode]int // by the step's (group's last) node
}

// StepTime is one step's share of a Profile.
type StepTime struct {
	Op    string        // the node's op, or the group's ops joined by "+" ("Conv+Relu")
	Name  string        // the node's name (a group's: its last node's)
	Shape []int64       // its first output's shape in the first run that reached it
	Time  time.Duration // summed over Runs
	Runs  int           // runs that executed this step
}

// Runs returns how many runs have added to the profile.
func (p *Profile) Runs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs
}

// Steps returns a copy of the steps, in the order they first ran.
func (p *Profile) Steps() []StepTime {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]StepTime(nil), p.steps...)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// add merges one run's step times (by step index of pl) into the profile.
func (p *Profile) add(m *Model, pl *plan, times []time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.index == nil {
		p.index = map[*graph.CNode]int{}
	}
	p.runs++
	for i := range pl.steps {
		st := &pl.steps[i]
		if st.exec == nil {
			continue
		}
		k, ok := p.index[st.node]
		if !ok {
			k = len(p.steps)
			p.index[st.node] = k
			p.steps = append(p.steps, StepTime{Op: m.stepOps(st), Name: st.node.Name, Shape: pl.firstShape(st)})
		}
		p.steps[k].Time += times[i]
		p.steps[k].Runs++
	}
}

// stepOps names a step by its node's op, or by its fusion group's ops.
func (m *Model) stepOps(st *step) string {
	if !st.fused {
		return st.node.Op
	}
	for ni := range m.g.Nodes {
		if &m.g.Nodes[ni] != st.node {
			continue
		}
		grp := &m.fusion.groups[m.fusion.of[ni]]
		ops := make([]string, len(grp.nodes))
		for j, n := range grp.nodes {
			ops[j] = m.g.Nodes[n].Op
		}
		return strings.Join(ops, "+")
	}
	return st.node.Op
}

// firstShape returns a copy of the step's first present output's shape.
func (pl *plan) firstShape(st *step) []int64 {
	for _, id := range st.res {
		if id >= 0 {
			return slices.Clone(pl.shapes[id])
		}
	}
	return nil
}
