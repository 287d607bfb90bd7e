package serve

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func loads(t *testing.T, s *Server, model string) uint64 {
	t.Helper()
	m := &dto.Metric{}
	must(t, s.metrics.load.WithLabelValues(model).(prometheus.Metric).Write(m))
	return m.Histogram.GetSampleCount()
}

// The model cache loads a version on its first request (once, however many
// ask at the same time) and evicts the least recently used past its budget.
func TestModelCache(t *testing.T) {
	dir := t.TempDir()
	for _, m := range []string{"a", "b", "c"} {
		writeLinear(t, filepath.Join(dir, m, "1", ModelFile), 1)
	}
	fi, err := os.Stat(filepath.Join(dir, "a", "1", ModelFile))
	must(t, err)
	s, hs := newTestServer(t, Options{Repository: dir, ModelCacheBytes: 2*fi.Size() + fi.Size()/2})
	body := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}],"outputs":[{"name":"label"}]}`
	if got := testutil.ToFloat64(s.metrics.loaded); got != 0 {
		t.Fatalf("%v versions loaded before any request", got)
	}
	if r := do(t, "GET", hs.URL+"/v2/models/a/ready", nil, nil); r.status != 200 {
		t.Fatalf("ready before loading: %d %s", r.status, r.body)
	}
	idx := string(do(t, "GET", hs.URL+"/v2/repository/index", nil, nil).body)
	if !strings.Contains(idx, `"name":"a","version":"1","state":"READY","reason":"not in memory`) {
		t.Fatalf("index: %s", idx)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := post(t, hs.URL+"/v2/models/a/infer", body); r.status != 200 {
				t.Errorf("a: %d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	if n := loads(t, s, "a"); n != 1 {
		t.Fatalf("8 concurrent first requests loaded a %d times", n)
	}
	for _, m := range []string{"b", "c"} {
		if r := post(t, hs.URL+"/v2/models/"+m+"/infer", body); r.status != 200 {
			t.Fatalf("%s: %d %s", m, r.status, r.body)
		}
	}
	// c pushed out a, the least recently used.
	if ev, loaded := testutil.ToFloat64(s.metrics.evictions), testutil.ToFloat64(s.metrics.loaded); ev != 1 || loaded != 2 {
		t.Fatalf("%v evictions, %v loaded", ev, loaded)
	}
	if r := post(t, hs.URL+"/v2/models/a/infer", body); r.status != 200 || loads(t, s, "a") != 2 {
		t.Fatalf("a again: %d, loaded %d times", r.status, loads(t, s, "a"))
	}
	if got := testutil.ToFloat64(s.metrics.cacheBytes); got != float64(2*fi.Size()) {
		t.Fatalf("cache bytes %v, want %d", got, 2*fi.Size())
	}
	if miss := testutil.ToFloat64(s.metrics.modelCache.WithLabelValues("miss")); miss < 4 {
		t.Fatalf("%v misses", miss)
	}
	// A broken version fails once, is remembered, and says why.
	must(t, os.MkdirAll(filepath.Join(dir, "d", "1"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "d", "1", ModelFile), []byte("junk"), 0o644))
	s.Rescan()
	for i := 0; i < 2; i++ {
		if r := post(t, hs.URL+"/v2/models/d/infer", body); r.status != 503 || !strings.Contains(string(r.body), "failed to load") {
			t.Fatalf("d: %d %s", r.status, r.body)
		}
	}
	if got := testutil.ToFloat64(s.metrics.loadErrs.WithLabelValues("d")); got != 1 {
		t.Fatalf("d failed to load %v times", got)
	}
}

func TestResultCache(t *testing.T) {
	dir := repoWith(t)
	s, hs := newTestServer(t, Options{Repository: dir, ResultCacheBytes: 1 << 20})
	q := func(x string) response {
		return post(t, hs.URL+"/v2/models/linear/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[`+x+`]}],"outputs":[{"name":"scores"}]}`)
	}
	first := q("1,0,0")
	second := q("1,0,0")
	if first.status != 200 || string(first.body) != string(second.body) || !strings.Contains(string(first.body), "[2.5,-0.5]") {
		t.Fatalf("%s / %s", first.body, second.body)
	}
	hit := func() float64 { return testutil.ToFloat64(s.metrics.resultCache.WithLabelValues("linear", "hit")) }
	if hit() != 1 || testutil.ToFloat64(s.metrics.resultCache.WithLabelValues("linear", "miss")) != 1 {
		t.Fatalf("hits %v", hit())
	}
	// A hit may still be asked for in binary.
	r := post(t, hs.URL+"/v2/models/linear/infer", `{"parameters":{"binary_data_output":true},"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}],"outputs":[{"name":"scores"}]}`)
	if hit() != 2 || r.header.Get("Inference-Header-Content-Length") == "" {
		t.Fatalf("binary hit: %v %s", hit(), r.body)
	}
	if r := q("0,1,0"); !strings.Contains(string(r.body), "[0.5,1.5]") || hit() != 2 {
		t.Fatalf("other input: %s", r.body)
	}
	// A new file for the version: the cached answers of the old one are
	// not given.
	tmp := filepath.Join(dir, "new.tmp")
	writeLinear(t, tmp, 7)
	must(t, os.Rename(tmp, filepath.Join(dir, "linear", "2", ModelFile)))
	s.Rescan()
	if r := q("1,0,0"); !strings.Contains(string(r.body), "[7.5,-0.5]") {
		t.Fatalf("after the file changed: %s", r.body)
	}
	if got := testutil.ToFloat64(s.metrics.resultBytes); got <= 0 {
		t.Fatalf("result cache bytes %v", got)
	}
}
