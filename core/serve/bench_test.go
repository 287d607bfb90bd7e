package serve

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// writeWide writes y = x·W (x [-1, 64], W [64, 10]): a small MLP layer.
func writeWide(t testing.TB, path string) {
	b := format.NewBuilder()
	must(t, b.AddInput("x", dtype.Float32, []int64{-1, 64}))
	must(t, b.AddTensor("W", dtype.Float32, []int64{64, 10}, make([]byte, 64*10*4)))
	b.AddNode(graph.Node{Op: "MatMul", Name: "mm", Inputs: []string{"x", "W"}, Outputs: []string{"y"}})
	must(t, b.AddOutput("y"))
	save(t, b, path)
}

// BenchmarkInfer times the server's own work per single-row request (no
// network): routing, decoding, the run and encoding.
func BenchmarkInfer(b *testing.B) {
	dir := b.TempDir()
	writeLinear(b, filepath.Join(dir, "linear", "1", ModelFile), 1)
	s, err := New(Options{Repository: dir, PollInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	jsonBody := []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],"outputs":[{"name":"scores"},{"name":"label"}]}`)
	wide := strings.Repeat("0.123456,", 63) + "0.5"
	writeWide(b, filepath.Join(dir, "wide", "1", ModelFile))
	s.Rescan()
	wideBody := []byte(`{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[` + wide + `]}]}`)
	head := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}],"outputs":[{"name":"scores","parameters":{"binary_data":true}}]}`
	binBody := append([]byte(head), f32bytes(1, 2, 3)...)
	for _, c := range []struct {
		name  string
		body  []byte
		hl    int
		model string
	}{{"json", jsonBody, -1, "linear"}, {"binary", binBody, len(head), "linear"}, {"json-64", wideBody, -1, "wide"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("POST", "/v2/models/"+c.model+"/infer", bytes.NewReader(c.body))
					if c.hl >= 0 {
						r.Header.Set("Inference-Header-Content-Length", strconv.Itoa(c.hl))
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
