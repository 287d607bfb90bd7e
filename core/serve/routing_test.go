package serve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// Concurrent requests are batched, and each gets its own rows back; a
// request whose data fails the run fails alone.
func TestDynamicBatching(t *testing.T) {
	dir := repoWith(t)
	writeLookup(t, filepath.Join(dir, "lookup", "1", ModelFile))
	cfg := `{"dynamic_batching":{"max_batch_size":64,"max_queue_delay_microseconds":20000}}`
	must(t, os.WriteFile(filepath.Join(dir, "linear", ConfigFile), []byte(cfg), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "lookup", ConfigFile), []byte(cfg), 0o644))
	s, hs := newTestServer(t, Options{Repository: dir})
	var wg sync.WaitGroup
	errc := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := []float32{float32(g), 1, 0, 0, float32(g), 2}
			r := post(t, hs.URL+"/v2/models/linear/infer", fmt.Sprintf(
				`{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":%s}],"outputs":[{"name":"scores"}]}`, jsonFloats(x)))
			if want := fmt.Sprint(linearScores(2, x)); r.status != 200 || fmt.Sprint(floats(t, output(t, r.json(t), "scores")["data"])) != want {
				errc <- fmt.Sprintf("linear %d: %d %s, want %s", g, r.status, r.body, want)
			}
			idx := g % 7 // 5 and 6 are out of range
			r = post(t, hs.URL+"/v2/models/lookup/infer", fmt.Sprintf(`{"inputs":[{"name":"idx","shape":[1],"datatype":"INT64","data":[%d]}]}`, idx))
			switch {
			case idx < 5 && (r.status != 200 || !strings.Contains(string(r.body), fmt.Sprintf(`"data":[%d,%d]`, idx, 10*idx))):
				errc <- fmt.Sprintf("lookup %d: %d %s", idx, r.status, r.body)
			case idx >= 5 && (r.status != 400 || !strings.Contains(string(r.body), fmt.Sprintf("index %d is out of range", idx))):
				errc <- fmt.Sprintf("lookup %d: %d %s", idx, r.status, r.body)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Error(e)
	}
	m := &dto.Metric{}
	must(t, s.metrics.batch.WithLabelValues("linear", "2").(prometheus.Metric).Write(m))
	if m.Histogram.GetSampleSum() != 32 || m.Histogram.GetSampleCount() >= 16 {
		t.Fatalf("32 rows in 16 requests ran as %d runs summing to %v rows: no batching", m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum())
	}
}

func jsonFloats(x []float32) string {
	s := make([]string, len(x))
	for i, v := range x {
		s[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func TestSplitAndShadow(t *testing.T) {
	dir := repoWith(t)
	writeLinear(t, filepath.Join(dir, "linear", "3", ModelFile), 3)
	must(t, os.WriteFile(filepath.Join(dir, "linear", ConfigFile),
		[]byte(`{"routing":{"split":[{"version":1,"weight":1},{"version":2,"weight":3}],"shadow":[3]}}`), 0o644))
	s, hs := newTestServer(t, Options{Repository: dir})
	const n = 400
	count := map[string]int{}
	for i := 0; i < n; i++ {
		r := post(t, hs.URL+"/v2/models/linear/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}]}`)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		count[r.json(t)["model_version"].(string)]++
	}
	if count["3"] != 0 || count["1"]+count["2"] != n || count["2"] < n*6/10 || count["2"] > n*9/10 {
		t.Fatalf("split 1:3 gave %v", count)
	}
	// Naming a version bypasses routing, and is not mirrored.
	if r := post(t, hs.URL+"/v2/models/linear/versions/3/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}]}`); r.status != 200 {
		t.Fatalf("version 3: %d", r.status)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := testutil.ToFloat64(s.metrics.shadow.WithLabelValues("linear", "3", outcomeSuccess))
		dropped := testutil.ToFloat64(s.metrics.shadow.WithLabelValues("linear", "3", "dropped"))
		if ok+dropped == n {
			diffs := testutil.ToFloat64(s.metrics.shadowDiffs.WithLabelValues("linear", "3", "scores"))
			if ok == 0 || diffs != ok {
				t.Fatalf("%v shadow runs, %v score mismatches (all should differ)", ok, diffs)
			}
			if d := testutil.ToFloat64(s.metrics.shadowDiffs.WithLabelValues("linear", "3", "label")); d != 0 {
				t.Fatalf("%v label mismatches; the labels agree", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shadow runs: %v ok, %v dropped of %d", ok, dropped, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
