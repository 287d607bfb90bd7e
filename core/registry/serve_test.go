package registry_test

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/registry"
	"github.com/mle-runtime/mle/core/serve"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func model(t *testing.T, semver string) string {
	t.Helper()
	b := format.NewBuilder()
	md, _ := json.Marshal(map[string]any{"name": "churn", "version": semver})
	must(t, b.SetMetadataJSON(md))
	must(t, b.AddInput("x", dtype.Float32, []int64{-1, 1}))
	must(t, b.AddTensor("W", dtype.Float32, []int64{1, 1}, []byte{0, 0, 128, 63}))
	b.AddNode(graph.Node{Op: "MatMul", Name: "mm", Inputs: []string{"x", "W"}, Outputs: []string{"y"}})
	must(t, b.AddOutput("y"))
	path := filepath.Join(t.TempDir(), "m.mle")
	_, err := b.Save(path)
	must(t, err)
	return path
}

// mle serve reads a registry as its repository, aliases included.
func TestServedByMLEServe(t *testing.T) {
	dir := t.TempDir()
	r, err := registry.Init(dir)
	must(t, err)
	_, err = r.Register(model(t, "1.0.0"), "churn", registry.RegisterOptions{})
	must(t, err)
	_, err = r.Register(model(t, "1.1.0"), "churn", registry.RegisterOptions{Alias: "production"})
	must(t, err)
	s, err := serve.New(serve.Options{Repository: dir, PollInterval: -1})
	must(t, err)
	defer s.Close()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v2/models/churn/versions/production/ready", nil))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
