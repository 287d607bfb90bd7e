package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// writeLinear writes a model with input x (FP32, [-1, 3]) and outputs
// scores = x·W + b (FP32, [-1, 2]) and label = argmax(scores) (INT64),
// where W = scale·[[1, 0], [0, 1], [1, -1]] and b = [0.5, -0.5].
func writeLinear(t testing.TB, path string, scale float32) {
	t.Helper()
	b := format.NewBuilder()
	must(t, b.AddInput("x", dtype.Float32, []int64{-1, 3}))
	must(t, b.AddTensor("W", dtype.Float32, []int64{3, 2}, f32bytes(scale, 0, 0, scale, scale, -scale)))
	must(t, b.AddTensor("b", dtype.Float32, []int64{2}, f32bytes(0.5, -0.5)))
	b.AddNode(graph.Node{Op: "Gemm", Name: "gemm", Inputs: []string{"x", "W", "b"}, Outputs: []string{"scores"}})
	b.AddNode(graph.Node{Op: "ArgMax", Name: "argmax", Inputs: []string{"scores"}, Outputs: []string{"label"},
		Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}, {Name: "keepdims", Type: graph.AttrInt, Int: 0}}})
	must(t, b.AddOutput("scores"))
	must(t, b.AddOutput("label"))
	save(t, b, path)
}

// linearScores is writeLinear's model in Go.
func linearScores(scale float32, x []float32) []float32 {
	var out []float32
	for i := 0; i+3 <= len(x); i += 3 {
		out = append(out, scale*x[i]+scale*x[i+2]+0.5, scale*x[i+1]-scale*x[i+2]-0.5)
	}
	return out
}

// writeEcho writes a model whose output "text" (BYTES) is its input "text".
func writeEcho(t testing.TB, path string) {
	t.Helper()
	b := format.NewBuilder()
	must(t, b.AddInput("text", dtype.String, []int64{-1}))
	b.AddNode(graph.Node{Op: "Identity", Name: "id", Inputs: []string{"text"}, Outputs: []string{"echo"}})
	must(t, b.AddOutput("echo"))
	save(t, b, path)
}

func save(t testing.TB, b *format.Builder, path string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	if _, err := b.Save(path); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func f32bytes(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// repoWith makes a repository with linear versions 1 (scale 1) and 2
// (scale 2), and the echo model.
func repoWith(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeLinear(t, filepath.Join(dir, "linear", "1", ModelFile), 1)
	writeLinear(t, filepath.Join(dir, "linear", "2", ModelFile), 2)
	writeEcho(t, filepath.Join(dir, "echo", "1", ModelFile))
	return dir
}

// newTestServer starts a Server over dir on an httptest server.
func newTestServer(t testing.TB, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.PollInterval == 0 {
		o.PollInterval = -1 // tests rescan by hand
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body's JSON (the header part of a binary response).
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	b := r.body
	if h := r.header.Get("Inference-Header-Content-Length"); h != "" {
		n, _ := strconv.Atoi(h)
		b = b[:n]
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.body)
	}
	return m
}

func do(t testing.TB, method, url string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func post(t testing.TB, url, body string) response {
	return do(t, "POST", url, []byte(body), nil)
}

// floats reads a JSON number array.
func floats(t testing.TB, v any) []float32 {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %v", v)
	}
	out := make([]float32, len(a))
	for i, x := range a {
		out[i] = float32(x.(float64))
	}
	return out
}

// output finds a named output in a decoded response.
func output(t testing.TB, m map[string]any, name string) map[string]any {
	t.Helper()
	outs, _ := m["outputs"].([]any)
	for _, o := range outs {
		if om := o.(map[string]any); om["name"] == name {
			return om
		}
	}
	t.Fatalf("no output %q in %v", name, m)
	return nil
}

// writeLookup writes a model whose output "row" (FP32, [-1, 2]) is row
// idx of a 5×2 table whose row i is [i, 10i]: an index past 4 fails the
// run with a data-dependent error.
func writeLookup(t testing.TB, path string) {
	t.Helper()
	b := format.NewBuilder()
	must(t, b.AddInput("idx", dtype.Int64, []int64{-1}))
	must(t, b.AddTensor("table", dtype.Float32, []int64{5, 2}, f32bytes(0, 0, 1, 10, 2, 20, 3, 30, 4, 40)))
	b.AddNode(graph.Node{Op: "Gather", Name: "g", Inputs: []string{"table", "idx"}, Outputs: []string{"row"}})
	must(t, b.AddOutput("row"))
	save(t, b, path)
}
