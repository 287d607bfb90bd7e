package serve

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHealthAndMetadata(t *testing.T) {
	_, hs := newTestServer(t, Options{Repository: repoWith(t)})
	for _, p := range []string{"/v2/health/live", "/v2/health/ready"} {
		if r := do(t, "GET", hs.URL+p, nil, nil); r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	m := do(t, "GET", hs.URL+"/v2", nil, nil).json(t)
	if m["name"] != "mle" || !slices.Contains(m["extensions"].([]any), any("binary_tensor_data")) {
		t.Fatalf("server metadata: %v", m)
	}
	r := do(t, "GET", hs.URL+"/v2/models/linear", nil, nil)
	want := `{"name":"linear","versions":["2"],"platform":"mle","inputs":[{"name":"x","datatype":"FP32","shape":[-1,3]}],"outputs":[{"name":"scores","datatype":"FP32","shape":[-1,2]},{"name":"label","datatype":"INT64","shape":[-1]}]}`
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("model metadata: %d\n got %s\nwant %s", r.status, r.body, want)
	}
	// Only the latest version is served by default.
	if r := do(t, "GET", hs.URL+"/v2/models/linear/versions/1/ready", nil, nil); r.status != 400 || !strings.Contains(string(r.body), "version policy") {
		t.Fatalf("version 1 ready: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", hs.URL+"/v2/models/linear/versions/2/ready", nil, nil); r.status != 200 {
		t.Fatalf("version 2 ready: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", hs.URL+"/v2/models/nope/ready", nil, nil); r.status != 404 {
		t.Fatalf("unknown model ready: %d %s", r.status, r.body)
	}
	if r := do(t, "DELETE", hs.URL+"/v2/models/linear", nil, nil); r.status != 405 || !strings.Contains(string(r.body), `"error"`) {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", hs.URL+"/v3", nil, nil); r.status != 404 || !strings.Contains(string(r.body), "no endpoint /v3") {
		t.Fatalf("unknown path: %d %s", r.status, r.body)
	}
}

func TestInferJSON(t *testing.T) {
	s, hs := newTestServer(t, Options{Repository: repoWith(t)})
	x := []float32{1, 2, 3, 0, 5.25, -1}
	// Nested data, as clients that send a 2-D list write it.
	r := post(t, hs.URL+"/v2/models/linear/infer",
		`{"id":"req-7","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[0,5.25,-1]]}]}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["id"] != "req-7" || m["model_name"] != "linear" || m["model_version"] != "2" {
		t.Fatalf("response header: %v", m)
	}
	if got, want := floats(t, output(t, m, "scores")["data"]), linearScores(2, x); !slices.Equal(got, want) {
		t.Fatalf("scores %v, want %v", got, want)
	}
	if got := output(t, m, "label")["data"]; fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("labels %v", got)
	}
	// One requested output, on version 1 by number.
	r = post(t, hs.URL+"/v2/models/linear/versions/2/infer",
		`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],"outputs":[{"name":"label"}]}`)
	if m := r.json(t); r.status != 200 || len(m["outputs"].([]any)) != 1 || fmt.Sprint(output(t, m, "label")["shape"]) != "[1]" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Strings.
	r = post(t, hs.URL+"/v2/models/echo/infer", `{"inputs":[{"name":"text","shape":[3],"datatype":"BYTES","data":["a","héllo","\"q\"\n"]}]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"data":["a","héllo","\"q\"\n"]`) {
		t.Fatalf("echo: %d %s", r.status, r.body)
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("linear", "2", outcomeSuccess)); got != 2 {
		t.Fatalf("success count %v", got)
	}
}

// binaryBody builds a request with its tensors as binary data.
func binaryBody(header string, bins ...[]byte) ([]byte, string) {
	b := []byte(header)
	for _, x := range bins {
		b = append(b, x...)
	}
	return b, strconv.Itoa(len(header))
}

func bytesElems(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func TestInferBinary(t *testing.T) {
	_, hs := newTestServer(t, Options{Repository: repoWith(t)})
	x := []float32{1, 2, 3, 0, 5.25, -1}
	body, hl := binaryBody(`{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}}],`+
		`"outputs":[{"name":"scores","parameters":{"binary_data":true}},{"name":"label"}]}`, f32bytes(x...))
	r := do(t, "POST", hs.URL+"/v2/models/linear/infer", body, map[string]string{"Inference-Header-Content-Length": hl})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	n, _ := strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
	if sz := output(t, m, "scores")["parameters"].(map[string]any)["binary_data_size"]; sz != float64(16) || len(r.body)-n != 16 {
		t.Fatalf("binary output of %v bytes, body has %d after the header", sz, len(r.body)-n)
	}
	if got, want := r.body[n:], f32bytes(linearScores(2, x)...); !bytes.Equal(got, want) {
		t.Fatalf("binary scores %v, want %v", got, want)
	}
	if fmt.Sprint(output(t, m, "label")["data"]) != "[0 1]" {
		t.Fatalf("label: %v", m)
	}
	// BYTES both ways, gzip-compressed, and the request-level binary flag.
	elems := bytesElems("", "multi\x00byte")
	body, hl = binaryBody(`{"parameters":{"binary_data_output":true},"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":`+
		strconv.Itoa(len(elems))+`}}]}`, elems)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	r = do(t, "POST", hs.URL+"/v2/models/echo/infer", gz.Bytes(), map[string]string{"Inference-Header-Content-Length": hl, "Content-Encoding": "gzip"})
	n, _ = strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
	if r.status != 200 || !bytes.Equal(r.body[n:], bytesElems("", "multi\x00byte")) {
		t.Fatalf("echo binary: %d %q", r.status, r.body)
	}
}

func TestBadRequests(t *testing.T) {
	s, hs := newTestServer(t, Options{Repository: repoWith(t), MaxBodyBytes: 4096})
	const ok = `{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}`
	hdr := func(n int) map[string]string {
		return map[string]string{"Inference-Header-Content-Length": strconv.Itoa(n)}
	}
	binHead := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}`
	strHead := `{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":12}}]}`
	cases := []struct {
		name, path string
		body       []byte
		header     map[string]string
		status     int
		msg        string
	}{
		{"malformed JSON", "linear", []byte(`{"inputs":[`), nil, 400, "malformed request JSON"},
		{"no inputs", "linear", []byte(`{"inputs":[]}`), nil, 400, "no inputs"},
		{"wrong datatype", "linear", []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`), nil, 400, `input "x": datatype FP64, but the model takes FP32`},
		{"unknown datatype", "linear", []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"UINT16","data":[1,2,3]}]}`), nil, 400, `datatype "UINT16" is not one MLE has`},
		{"too few elements", "linear", []byte(`{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3]}]}`), nil, 400, "data has 3 elements but the shape holds 6"},
		{"too many elements", "linear", []byte(`{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2,3]}]}`), nil, 400, "more than the 2 elements"},
		{"wrong shape", "linear", []byte(`{"inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","data":[1,2,3]}]}`), nil, 400, "x"},
		{"not a number", "linear", []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,"2",3]}]}`), nil, 400, `element 1: "2" is not a number`},
		{"out of range", "linear", []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,1e999,3]}]}`), nil, 400, "1e999 is not a valid FP32 value"},
		{"wrong input name", "linear", []byte(`{"inputs":[{"name":"y","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`), nil, 400, `the model has no input "y" (its inputs: "x")`},
		{"duplicate input", "linear", []byte(`{"inputs":[` + ok + `,` + ok + `]}`), nil, 400, `input "x" appears twice`},
		{"unknown output", "linear", []byte(`{"inputs":[` + ok + `],"outputs":[{"name":"proba"}]}`), nil, 400, `the model has no output "proba"`},
		{"classification", "linear", []byte(`{"inputs":[` + ok + `],"outputs":[{"name":"scores","parameters":{"classification":2}}]}`), nil, 400, "classification extension is not supported"},
		{"no data", "linear", []byte(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32"}]}`), nil, 400, "neither data nor binary_data_size"},
		{"body over limit", "linear", bytes.Repeat([]byte(" "), 5000), nil, 413, "over the limit of 4096 bytes"},
		{"binary shorter than declared", "linear", append([]byte(binHead), make([]byte, 8)...), hdr(len(binHead)), 400, "binary_data_size is 12 but only 8 bytes of binary data remain"},
		{"binary past the tensor", "linear", append([]byte(binHead), make([]byte, 16)...), hdr(len(binHead)), 400, "4 bytes of binary data follow"},
		{"header length past body", "linear", []byte(ok), hdr(1 << 20), 400, "Inference-Header-Content-Length is 1048576"},
		{"header length not a number", "linear", []byte(ok), map[string]string{"Inference-Header-Content-Length": "x"}, 400, "not a byte count"},
		{"BYTES length past the buffer", "echo", append([]byte(strHead), append(bytesElems("abc"), 200, 0, 0, 0, 'x')...), hdr(len(strHead)), 400, "BYTES element 1 is 200 bytes long but only 1 bytes remain"},
		{"BYTES not UTF-8", "echo", []byte(`{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["\ud800"]}]}`), nil, 200, ""},
		{"unknown model", "nope", []byte(`{"inputs":[` + ok + `]}`), nil, 404, `unknown model "nope"`},
		{"unknown version", "linear/versions/9", []byte(`{"inputs":[` + ok + `]}`), nil, 404, `model "linear" has no version 9`},
		{"unknown alias", "linear/versions/prod", []byte(`{"inputs":[` + ok + `]}`), nil, 404, `no version or alias "prod"`},
		{"unsupported encoding", "linear", []byte(`{}`), map[string]string{"Content-Encoding": "br"}, 400, `Content-Encoding "br" is not supported`},
		{"gzip bomb", "linear", gzipped(bytes.Repeat([]byte(" "), 1<<20)), map[string]string{"Content-Encoding": "gzip"}, 413, "over the limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, "POST", hs.URL+"/v2/models/"+c.path+"/infer", c.body, c.header)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status != 200 && !strings.Contains(r.json(t)["error"].(string), c.msg) {
				t.Fatalf("error %s, want it to contain %q", r.body, c.msg)
			}
		})
	}
	// Every outcome is counted, unknown models under one label.
	for _, c := range []struct {
		model, version, outcome string
		want                    float64
	}{
		{"linear", "2", outcomeBadRequest, 19}, {"linear", "2", outcomeTooLarge, 2}, {unknownModel, "", outcomeNotFound, 1},
		{"linear", "", outcomeNotFound, 2}, {"echo", "1", outcomeBadRequest, 1}, {"echo", "1", outcomeSuccess, 1},
	} {
		if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues(c.model, c.version, c.outcome)); got != c.want {
			t.Errorf("requests{%s,%s,%s} = %v, want %v", c.model, c.version, c.outcome, got, c.want)
		}
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestLimitsAndAuth(t *testing.T) {
	dir := repoWith(t)
	tok := "s3cret-token"
	s, hs := newTestServer(t, Options{Repository: dir, MaxInflight: 2, AuthToken: tok})
	body := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`
	auth := map[string]string{"Authorization": "Bearer " + tok}
	if r := do(t, "GET", hs.URL+"/v2/health/ready", nil, nil); r.status != 200 {
		t.Fatalf("health needs no token: %d", r.status)
	}
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": tok}} {
		if r := do(t, "POST", hs.URL+"/v2/models/linear/infer", []byte(body), h); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("with %v: %d %s", h, r.status, r.body)
		}
	}
	if r := do(t, "GET", hs.URL+"/metrics", nil, nil); r.status != 401 {
		t.Fatalf("metrics without a token: %d", r.status)
	}
	if r := do(t, "POST", hs.URL+"/v2/models/linear/infer", []byte(body), auth); r.status != 200 {
		t.Fatalf("with the token: %d %s", r.status, r.body)
	}
	// Two requests in flight fill the server: the third is refused.
	s.inflight.Store(2)
	r := do(t, "POST", hs.URL+"/v2/models/linear/infer", []byte(body), auth)
	s.inflight.Store(0)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "the limit is 2") {
		t.Fatalf("over the in-flight limit: %d %s", r.status, r.body)
	}
	// A timeout shorter than the request's own work.
	r = do(t, "POST", hs.URL+"/v2/models/linear/infer",
		[]byte(`{"parameters":{"timeout":1},"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`), auth)
	if r.status != 504 || !strings.Contains(string(r.body), "past its timeout of 1µs") {
		t.Fatalf("timeout: %d %s", r.status, r.body)
	}
	// Draining: not ready, new requests refused.
	s.Drain()
	if r := do(t, "GET", hs.URL+"/v2/health/ready", nil, nil); r.status != 503 {
		t.Fatalf("ready while draining: %d", r.status)
	}
	if r := do(t, "POST", hs.URL+"/v2/models/linear/infer", []byte(body), auth); r.status != 503 {
		t.Fatalf("infer while draining: %d", r.status)
	}
	m := do(t, "GET", hs.URL+"/metrics", nil, auth)
	for _, want := range []string{
		`mle_inference_requests_total{model="linear",outcome="unauthorized",version=""} 3`,
		`mle_inference_requests_total{model="linear",outcome="rejected",version=""} 1`,
		`mle_inference_requests_total{model="linear",outcome="timeout",version="2"} 1`,
		`mle_inference_requests_total{model="linear",outcome="success",version="2"} 1`,
		`mle_inference_compute_duration_seconds_count{model="linear",version="2"} 1`,
		`mle_batch_size_count{model="linear",version="2"} 1`,
		`mle_model_load_duration_seconds_count{model="linear"} 1`,
		"mle_models_loaded 2",
	} {
		if !strings.Contains(string(m.body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestConfigAliasesAndPolicy(t *testing.T) {
	dir := repoWith(t)
	cfg := filepath.Join(dir, "linear", ConfigFile)
	must(t, os.WriteFile(cfg, []byte(`{"version_policy":{"all":{}},"aliases":{"production":1,"canary":2}}`), 0o644))
	s, hs := newTestServer(t, Options{Repository: dir})
	infer := func(ver string) response {
		return post(t, hs.URL+"/v2/models/linear/versions/"+ver+"/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}],"outputs":[{"name":"scores"}]}`)
	}
	for ver, want := range map[string]string{"1": "[1.5 -0.5]", "production": "[1.5 -0.5]", "2": "[2.5 -0.5]", "canary": "[2.5 -0.5]"} {
		r := infer(ver)
		if r.status != 200 || fmt.Sprint(output(t, r.json(t), "scores")["data"]) != want {
			t.Fatalf("version %s: %d %s", ver, r.status, r.body)
		}
	}
	// A broken edit keeps the configuration in force and says why.
	must(t, os.WriteFile(cfg, []byte(`{"version_policy":{"newest":1}}`), 0o644))
	s.Rescan()
	if r := infer("production"); r.status != 200 {
		t.Fatalf("after a bad edit: %d %s", r.status, r.body)
	}
	idx := string(do(t, "POST", hs.URL+"/v2/repository/index", nil, nil).body)
	if !strings.Contains(idx, `unknown policy \"newest\"`) {
		t.Fatalf("index: %s", idx)
	}
	must(t, os.WriteFile(cfg, []byte(`{"version_policy":{"specific":{"versions":[1]}}}`), 0o644))
	s.Rescan()
	if r := infer("2"); r.status != 503 || !strings.Contains(string(r.body), "version policy does not select it") {
		t.Fatalf("unselected version: %d %s", r.status, r.body)
	}
	if r := infer("production"); r.status != 404 || !strings.Contains(r.json(t)["error"].(string), `no version or alias "production"`) {
		t.Fatalf("alias gone with its config: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"threads":-1}`, `{"aliases":{"1":2}}`, `{"version_policy":{"specific":[]}}`, `{"unknown":1}`, `[]`, `{"aliases":{"a":1}} x`} {
		must(t, os.WriteFile(cfg, []byte(bad), 0o644))
		if _, _, err := readConfig(filepath.Dir(cfg)); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
}

func TestHotReload(t *testing.T) {
	dir := repoWith(t)
	s, hs := newTestServer(t, Options{Repository: dir})
	scores := func() (int, string) {
		r := post(t, hs.URL+"/v2/models/linear/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}],"outputs":[{"name":"scores"}]}`)
		if r.status != 200 {
			return r.status, string(r.body)
		}
		return 200, fmt.Sprint(output(t, r.json(t), "scores")["data"])
	}
	if _, got := scores(); got != "[2.5 -0.5]" {
		t.Fatalf("version 2: %s", got)
	}
	// A new version appears.
	writeLinear(t, filepath.Join(dir, "linear", "3", ModelFile), 3)
	s.Rescan()
	if _, got := scores(); got != "[3.5 -0.5]" {
		t.Fatalf("version 3: %s", got)
	}
	// It is replaced by a new file (written elsewhere, renamed in).
	tmp := filepath.Join(dir, "v3.tmp")
	writeLinear(t, tmp, 5)
	must(t, os.Rename(tmp, filepath.Join(dir, "linear", "3", ModelFile)))
	s.Rescan()
	if _, got := scores(); got != "[5.5 -0.5]" {
		t.Fatalf("replaced version 3: %s", got)
	}
	// A broken replacement keeps the loaded file serving.
	must(t, os.WriteFile(tmp, []byte("not a model"), 0o644))
	must(t, os.Rename(tmp, filepath.Join(dir, "linear", "3", ModelFile)))
	s.Rescan()
	if _, got := scores(); got != "[5.5 -0.5]" {
		t.Fatalf("after a broken replacement: %s", got)
	}
	idx := string(do(t, "GET", hs.URL+"/v2/repository/index", nil, nil).body)
	if !strings.Contains(idx, `"version":"3","state":"READY","reason":"the file changed but failed to load`) {
		t.Fatalf("index: %s", idx)
	}
	// The version disappears: the previous one serves again.
	must(t, os.RemoveAll(filepath.Join(dir, "linear", "3")))
	s.Rescan()
	if _, got := scores(); got != "[2.5 -0.5]" {
		t.Fatalf("after removing version 3: %s", got)
	}
	// The model disappears: requests get 404.
	must(t, os.RemoveAll(filepath.Join(dir, "linear")))
	s.Rescan()
	if status, body := scores(); status != 404 || !strings.Contains(body, `unknown model \"linear\"`) {
		t.Fatalf("after removing the model: %d %s", status, body)
	}
	if got := testutil.ToFloat64(s.metrics.loaded); got != 1 {
		t.Fatalf("models loaded %v, want 1 (echo)", got)
	}
	// A model whose only version is broken is listed with the reason.
	must(t, os.MkdirAll(filepath.Join(dir, "broken", "1"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "broken", "1", ModelFile), []byte("MLE?"), 0o644))
	s.Rescan()
	r := post(t, hs.URL+"/v2/models/broken/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`)
	if r.status != 503 || !strings.Contains(string(r.body), "version 1 failed to load") {
		t.Fatalf("broken model: %d %s", r.status, r.body)
	}
}

// Requests keep succeeding while versions are swapped under them: each
// gets the answer of one whole version, and none is closed under a run.
func TestReloadUnderLoad(t *testing.T) {
	dir := repoWith(t)
	s, hs := newTestServer(t, Options{Repository: dir})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan string, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := post(t, hs.URL+"/v2/models/linear/infer", `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}],"outputs":[{"name":"scores"}]}`)
				if r.status != 200 {
					errc <- fmt.Sprintf("%d %s", r.status, r.body)
					return
				}
				got := string(r.body)
				if !strings.Contains(got, `"data":[2.5,-0.5]`) && !strings.Contains(got, `"data":[4.5,-0.5]`) {
					errc <- got
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		tmp := filepath.Join(dir, "swap.tmp")
		writeLinear(t, tmp, float32(2+2*(i%2)))
		must(t, os.Rename(tmp, filepath.Join(dir, "linear", "2", ModelFile)))
		s.Rescan()
	}
	close(stop)
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Error(e)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Repository: "/nonexistent/repo"}, {Repository: t.TempDir(), Threads: -1}, {Repository: t.TempDir(), MaxInflight: -1}} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Errorf("%+v accepted", o)
		}
	}
}
