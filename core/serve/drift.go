package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/kernels"
)

// Drift: a model dumped with reference data (mle_runtime.dump(...,
// reference=X_train)) carries the property "mle.reference": for each
// feature (column) of its 2-D input, the bin edges (the training data's
// deciles) and the fraction of training rows in each bin. The server bins
// every row it serves the same way and reports, per feature, the
// population stability index (PSI) of the recent rows against the
// training fractions, and the largest of them as the version's drift score.
// A PSI under 0.1 is usually read as no shift, 0.1–0.25 as a moderate one,
// over 0.25 as a large one.

// ReferenceProperty is the metadata property holding the reference.
const ReferenceProperty = "mle.reference"

// Bounds of a reference, checked before anything is allocated for it.
const (
	maxRefFeatures = 4096
	maxRefEdges    = 63
	// driftWindow: once the window holds this many rows, every count is
	// halved, so the score follows recent traffic (older rows weigh less
	// and less) in bounded memory.
	driftWindow = 10000
	// maxFeatureSeries caps the features exported one by one; the drift
	// score covers all of them.
	maxFeatureSeries = 256
	// psiFloor keeps empty bins from making the index infinite.
	psiFloor = 1e-4
)

// reference is a parsed "mle.reference".
type reference struct {
	Input    string       `json:"input"`
	Rows     int64        `json:"rows"`
	Features []refFeature `json:"features"`
}

type refFeature struct {
	Name      string    `json:"name"`
	Edges     []float64 `json:"edges"`     // ascending; bin i holds edges[i-1] < x <= edges[i]
	Fractions []float64 `json:"fractions"` // len(edges)+1 bins
	Missing   float64   `json:"missing"`   // fraction of NaN
	Mean      float64   `json:"mean"`
}

// parseReference checks a reference against the model: it must name a 2-D
// numeric input whose second dimension is the number of features.
func parseReference(text string, m *engine.Model) (*reference, int, error) {
	var ref reference
	if err := json.Unmarshal([]byte(text), &ref); err != nil {
		return nil, 0, fmt.Errorf("%s does not parse: %v", ReferenceProperty, err)
	}
	in := slices.IndexFunc(m.Inputs(), func(v graphValue) bool { return v.Name == ref.Input })
	if in < 0 {
		return nil, 0, fmt.Errorf("%s names input %q, which the model does not have", ReferenceProperty, ref.Input)
	}
	vi := m.Inputs()[in]
	if len(vi.Shape) != 2 || vi.DType == dtype.String || vi.DType == dtype.Bool {
		return nil, 0, fmt.Errorf("%s: input %q is not a 2-D numeric tensor", ReferenceProperty, ref.Input)
	}
	if n := len(ref.Features); n == 0 || n > maxRefFeatures || vi.Shape[1] >= 0 && int64(n) != vi.Shape[1] {
		return nil, 0, fmt.Errorf("%s has %d features for input %q of shape %v", ReferenceProperty, n, ref.Input, vi.Shape)
	}
	names := map[string]bool{}
	for i, f := range ref.Features {
		if f.Name == "" || len(f.Name) > 128 || !utf8.ValidString(f.Name) || names[f.Name] {
			return nil, 0, fmt.Errorf("%s feature %d: its name %q is empty, too long, not UTF-8 or not unique", ReferenceProperty, i, truncate(f.Name, 40))
		}
		names[f.Name] = true
		if len(f.Edges) > maxRefEdges || len(f.Fractions) != len(f.Edges)+1 || !slices.IsSorted(f.Edges) {
			return nil, 0, fmt.Errorf("%s feature %d: want up to %d ascending edges and one fraction more", ReferenceProperty, i, maxRefEdges)
		}
		sum := f.Missing
		for _, p := range f.Fractions {
			if !(p >= 0 && p <= 1) {
				return nil, 0, fmt.Errorf("%s feature %d: fraction %v is not in [0, 1]", ReferenceProperty, i, p)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-6 {
			return nil, 0, fmt.Errorf("%s feature %d: the fractions sum to %v, not 1", ReferenceProperty, i, sum)
		}
	}
	return &ref, in, nil
}

// drift accumulates one version's binned traffic.
type drift struct {
	ref   *reference
	input int // the input's index
	mu    sync.Mutex
	rows  float64
	// counts[j] has one count per bin of feature j, then NaNs; sums[j]
	// the sum of its finite values (for the mean).
	counts [][]float64
	sums   []float64
	finite []float64
}

func newDrift(ref *reference, input int) *drift {
	d := &drift{ref: ref, input: input, counts: make([][]float64, len(ref.Features)),
		sums: make([]float64, len(ref.Features)), finite: make([]float64, len(ref.Features))}
	for j, f := range ref.Features {
		d.counts[j] = make([]float64, len(f.Fractions)+1)
	}
	return d
}

// observe bins the rows of a served request's input.
func (d *drift) observe(t *engine.Tensor) {
	if t.Rank != 2 || t.Dims[1] != int64(len(d.ref.Features)) || t.Dims[0] == 0 {
		return
	}
	rows, cols := int(t.Dims[0]), int(t.Dims[1])
	vals := kernels.ToFloat64s(t.Data, kernels.Elem(t.DType), rows*cols)
	d.mu.Lock()
	defer d.mu.Unlock()
	for r := 0; r < rows; r++ {
		for j, f := range d.ref.Features {
			x := vals[r*cols+j]
			if math.IsNaN(x) {
				d.counts[j][len(f.Fractions)]++
				continue
			}
			bin, _ := slices.BinarySearch(f.Edges, x) // edges below x: x <= edges[bin]
			d.counts[j][bin]++
			if !math.IsInf(x, 0) {
				d.sums[j] += x
				d.finite[j]++
			}
		}
	}
	d.rows += float64(rows)
	if d.rows >= driftWindow {
		d.rows /= 2
		for j := range d.counts {
			for b := range d.counts[j] {
				d.counts[j][b] /= 2
			}
			d.sums[j] /= 2
			d.finite[j] /= 2
		}
	}
}

// featureStat is one feature's state now.
type featureStat struct {
	psi, mean, missing float64
}

// stats computes every feature's PSI, mean and missing fraction; ok is
// false before any row was seen.
func (d *drift) stats() ([]featureStat, float64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rows == 0 {
		return nil, 0, false
	}
	out := make([]featureStat, len(d.ref.Features))
	for j, f := range d.ref.Features {
		total := 0.0
		for _, c := range d.counts[j] {
			total += c
		}
		psi := 0.0
		term := func(actual, expected float64) {
			a, e := max(actual, psiFloor), max(expected, psiFloor)
			psi += (a - e) * math.Log(a/e)
		}
		for b, p := range f.Fractions {
			term(d.counts[j][b]/total, p)
		}
		missing := d.counts[j][len(f.Fractions)] / total
		if missing > 0 || f.Missing > 0 {
			term(missing, f.Missing)
		}
		mean := math.NaN()
		if d.finite[j] > 0 {
			mean = d.sums[j] / d.finite[j]
		}
		out[j] = featureStat{psi: psi, mean: mean, missing: missing}
	}
	return out, d.rows, true
}

// driftCollector exports the drift of every loaded version at scrape time.
type driftCollector struct {
	repo                          *repository
	psi, score, mean, miss, count *prometheus.Desc
}

func newDriftCollector(r *repository) *driftCollector {
	mv := []string{"model", "version"}
	mvf := []string{"model", "version", "feature"}
	return &driftCollector{repo: r,
		psi:   prometheus.NewDesc("mle_feature_psi", "Population stability index of a feature's recent values against the training data's (mle.reference).", mvf, nil),
		mean:  prometheus.NewDesc("mle_feature_mean", "Mean of a feature's recent finite values.", mvf, nil),
		miss:  prometheus.NewDesc("mle_feature_missing_ratio", "Fraction of a feature's recent values that are NaN.", mvf, nil),
		score: prometheus.NewDesc("mle_drift_score", "The largest feature PSI of a model version: its drift from the training data.", mv, nil),
		count: prometheus.NewDesc("mle_drift_window_rows", "Rows the drift statistics weigh now (older rows count half at each window).", mv, nil),
	}
}

func (c *driftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.psi, c.mean, c.miss, c.score, c.count} {
		ch <- d
	}
}

func (c *driftCollector) Collect(ch chan<- prometheus.Metric) {
	for _, ms := range c.repo.state.Load().models {
		for _, v := range ms.versions {
			if v.drift == nil {
				continue
			}
			stats, rows, ok := v.drift.stats()
			if !ok {
				continue
			}
			worst := 0.0
			for j, st := range stats {
				worst = max(worst, st.psi)
				if j < maxFeatureSeries {
					name := v.drift.ref.Features[j].Name
					ch <- prometheus.MustNewConstMetric(c.psi, prometheus.GaugeValue, st.psi, v.model, v.label(), name)
					ch <- prometheus.MustNewConstMetric(c.mean, prometheus.GaugeValue, st.mean, v.model, v.label(), name)
					ch <- prometheus.MustNewConstMetric(c.miss, prometheus.GaugeValue, st.missing, v.model, v.label(), name)
				}
			}
			ch <- prometheus.MustNewConstMetric(c.score, prometheus.GaugeValue, worst, v.model, v.label())
			ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, rows, v.model, v.label())
		}
	}
}
