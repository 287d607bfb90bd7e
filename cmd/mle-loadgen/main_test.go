package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestLoadgen(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != "{}" || r.Header.Get("Inference-Header-Content-Length") != "2" {
			w.WriteHeader(400)
			return
		}
		if n.Add(1)%10 == 0 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	body := filepath.Join(t.TempDir(), "b.json")
	os.WriteFile(body, []byte("{}"), 0o644)
	var out bytes.Buffer
	if err := run([]string{"-url", srv.URL, "-body", body, "-header-length", "2", "-c", "4", "-requests", "200", "-warmup", "0"}, &out); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 200 || rep.Errors != 20 || rep.Statuses["200"] != 180 || rep.Statuses["503"] != 20 || rep.P99ms < rep.P50ms || rep.RPS <= 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestLoadgenRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1/x", "http://example.com/x", "ftp://127.0.0.1/"} {
		if err := run([]string{"-url", u, "-body", "/dev/null"}, io.Discard); err == nil || !strings.Contains(err.Error(), "url") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
