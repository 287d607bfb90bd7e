package serve

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
)

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
	head := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}],"outputs":[{"name":"scores","parameters":{"binary_data":true}}]}`
	binBody := append([]byte(head), f32bytes(1, 2, 3)...)
	for _, c := range []struct {
		name string
		body []byte
		hl   int
	}{{"json", jsonBody, -1}, {"binary", binBody, len(head)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("POST", "/v2/models/linear/infer", bytes.NewReader(c.body))
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
