package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// writeReferenced writes the linear model with a reference for x: three
// standard normal features binned at their deciles.
func writeReferenced(t *testing.T, path string, ref string) {
	t.Helper()
	b := format.NewBuilder()
	md, _ := json.Marshal(map[string]any{"properties": map[string]string{ReferenceProperty: ref}})
	must(t, b.SetMetadataJSON(md))
	must(t, b.AddInput("x", dtype.Float32, []int64{-1, 3}))
	must(t, b.AddTensor("W", dtype.Float32, []int64{3, 2}, f32bytes(1, 0, 0, 1, 1, -1)))
	b.AddNode(graph.Node{Op: "MatMul", Name: "mm", Inputs: []string{"x", "W"}, Outputs: []string{"scores"}})
	must(t, b.AddOutput("scores"))
	save(t, b, path)
}

func normalReference() string {
	deciles := []float64{-1.2816, -0.8416, -0.5244, -0.2533, 0, 0.2533, 0.5244, 0.8416, 1.2816}
	fr := make([]float64, 10)
	for i := range fr {
		fr[i] = 0.1
	}
	var fs []map[string]any
	for _, n := range []string{"age", "income", "score"} {
		fs = append(fs, map[string]any{"name": n, "edges": deciles, "fractions": fr, "missing": 0, "mean": 0})
	}
	b, _ := json.Marshal(map[string]any{"input": "x", "rows": 1000, "features": fs})
	return string(b)
}

func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			must(t, err)
			return f
		}
	}
	t.Fatalf("no %s in the metrics", series)
	return 0
}

// Rows like the training data score a small PSI; shifted rows a large one.
func TestDrift(t *testing.T) {
	for _, c := range []struct {
		name  string
		shift float64
		lo    float64
		hi    float64
	}{{"same distribution", 0, 0, 0.05}, {"shifted by 2 sd", 2, 1, math.Inf(1)}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeReferenced(t, filepath.Join(dir, "m", "1", ModelFile), normalReference())
			_, hs := newTestServer(t, Options{Repository: dir})
			rng := rand.New(rand.NewPCG(1, 2))
			for req := 0; req < 20; req++ {
				vals := make([]string, 0, 300)
				for i := 0; i < 300; i++ {
					x := rng.NormFloat64()
					if i%3 == 1 {
						x += c.shift // only "income" moves
					}
					vals = append(vals, strconv.FormatFloat(x, 'g', 6, 64))
				}
				r := post(t, hs.URL+"/v2/models/m/infer", fmt.Sprintf(`{"inputs":[{"name":"x","shape":[100,3],"datatype":"FP32","data":[%s]}]}`, strings.Join(vals, ",")))
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
			}
			text := string(do(t, "GET", hs.URL+"/metrics", nil, nil).body)
			income := metricValue(t, text, `mle_feature_psi{feature="income",model="m",version="1"}`)
			age := metricValue(t, text, `mle_feature_psi{feature="age",model="m",version="1"}`)
			score := metricValue(t, text, `mle_drift_score{model="m",version="1"}`)
			if income < c.lo || income > c.hi || age > 0.05 || score != max(income, age, metricValue(t, text, `mle_feature_psi{feature="score",model="m",version="1"}`)) {
				t.Fatalf("PSI income %v (want %v..%v), age %v, score %v", income, c.lo, c.hi, age, score)
			}
			if mean := metricValue(t, text, `mle_feature_mean{feature="income",model="m",version="1"}`); math.Abs(mean-c.shift) > 0.15 {
				t.Fatalf("income mean %v, want about %v", mean, c.shift)
			}
			if rows := metricValue(t, text, `mle_drift_window_rows{model="m",version="1"}`); rows != 2000 {
				t.Fatalf("%v rows in the window", rows)
			}
			// The viewer's stats carry the same score, worst feature first.
			var st struct {
				Drift struct {
					Score    float64
					Features []struct{ Name string }
				}
			}
			must(t, json.Unmarshal(do(t, "GET", hs.URL+"/ui/api/models/m/versions/1/stats", nil, nil).body, &st))
			if st.Drift.Score != score || len(st.Drift.Features) != 3 || c.shift > 0 && st.Drift.Features[0].Name != "income" {
				t.Fatalf("viewer drift %+v, score %v", st.Drift, score)
			}
		})
	}
}

// A reference that does not fit the model turns drift off for that
// version and says why; the version still serves.
func TestDriftBadReference(t *testing.T) {
	for _, ref := range []string{`{`, `{"input":"y","features":[]}`,
		`{"input":"x","features":[{"name":"a","edges":[1],"fractions":[0.5,0.5]}]}`,
		strings.Replace(normalReference(), `"income"`, `"age"`, 1),
		strings.Replace(normalReference(), `"fractions":[0.1,`, `"fractions":[0.2,`, 1)} {
		dir := t.TempDir()
		writeReferenced(t, filepath.Join(dir, "m", "1", ModelFile), ref)
		_, hs := newTestServer(t, Options{Repository: dir})
		idx := string(do(t, "GET", hs.URL+"/v2/repository/index", nil, nil).body)
		if !strings.Contains(idx, `"state":"READY","reason":"drift statistics are off: mle.reference`) {
			t.Errorf("%.60s: %s", ref, idx)
		}
	}
}
