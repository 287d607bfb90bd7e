// Package serve is MLE's inference server: a model repository that reloads
// what changes on disk, and an HTTP handler speaking the Open Inference
// Protocol v2 (KServe's and Triton's), with Prometheus metrics. cmd/mle's
// "serve" command puts it on a socket; docs/serve.md describes it.
package serve

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
)

type graphValue = graph.ValueInfo

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	// Repository is the directory of models: <model>/<version>/model.mle,
	// with an optional <model>/config.json.
	Repository string
	// PollInterval is how often the repository is scanned for changes;
	// 0 means DefaultPollInterval, a negative value only the first scan.
	PollInterval time.Duration
	// Threads is each model's intra-op threads (0: one per CPU), and
	// MaxSessions how many runs of one model go at once (0: one per CPU);
	// a model's config.json may set its own.
	Threads, MaxSessions int
	// Key opens encrypted models (32 bytes); a model's config.json may
	// name its own key file.
	Key []byte
	// TrustedKeys and RequireSignature: see engine.Options.
	TrustedKeys      []ed25519.PublicKey
	RequireSignature bool
	// MaxBodyBytes bounds a request body, also after decompression
	// (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// RequestTimeout bounds the time from a request's arrival to the end
	// of its run (0: DefaultRequestTimeout; negative: none).
	RequestTimeout time.Duration
	// MaxInflight bounds the inference requests served at once; more are
	// refused with 429 (0: DefaultMaxInflight).
	MaxInflight int
	// ModelCacheBytes > 0 loads versions on their first request instead of
	// at the scan, and evicts the least recently used ones when the loaded
	// model files pass this many bytes (0: every selected version stays
	// loaded).
	ModelCacheBytes int64
	// ResultCacheBytes > 0 keeps inference results under this many bytes,
	// keyed by the model file's SHA-256 and the request's tensors; a request
	// equal to an earlier one is answered without a run (0: off).
	ResultCacheBytes int64
	// AuthToken, when set, is the bearer token every request but the
	// health checks must carry.
	AuthToken string
	// Logger receives the server's structured logs (nil: discarded).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultPollInterval   = 2 * time.Second
	DefaultMaxBodyBytes   = 64 << 20
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxInflight    = 1024
)

// Server serves a model repository over OIP v2 REST.
type Server struct {
	opts     Options
	repo     *repository
	metrics  *metrics
	log      *slog.Logger
	mux      *http.ServeMux
	inflight atomic.Int64
	draining atomic.Bool
	token    [sha256.Size]byte
	results  *resultCache // nil when off
	cancel   context.CancelFunc
	done     chan struct{}
}

// New checks the options, scans the repository once (loading every
// version its policy selects, unless the model cache loads them on demand)
// and starts polling it.
func New(opts Options) (*Server, error) {
	if opts.Repository == "" {
		return nil, errors.New("serve: no repository directory")
	}
	fi, err := os.Stat(opts.Repository)
	if err != nil {
		return nil, fmt.Errorf("serve: repository: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("serve: repository %s is not a directory", opts.Repository)
	}
	if opts.Threads < 0 || opts.Threads > engine.MaxThreads {
		return nil, fmt.Errorf("serve: threads %d: want 0 (one per CPU) to %d", opts.Threads, engine.MaxThreads)
	}
	if opts.MaxSessions < 0 || opts.MaxSessions > engine.MaxSessions {
		return nil, fmt.Errorf("serve: max sessions %d: want 0 (one per CPU) to %d", opts.MaxSessions, engine.MaxSessions)
	}
	if opts.MaxBodyBytes < 0 || opts.MaxInflight < 0 || opts.ModelCacheBytes < 0 || opts.ResultCacheBytes < 0 {
		return nil, errors.New("serve: the body, in-flight, model cache and result cache limits must not be negative")
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxInflight == 0 {
		opts.MaxInflight = DefaultMaxInflight
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, metrics: newMetrics(), log: opts.Logger, done: make(chan struct{})}
	if opts.AuthToken != "" {
		s.token = sha256.Sum256([]byte(opts.AuthToken))
	}
	s.repo = newRepository(repoOptions{dir: opts.Repository, threads: opts.Threads, maxSessions: opts.MaxSessions,
		key: opts.Key, trustedKeys: opts.TrustedKeys, requireSignature: opts.RequireSignature,
		log: opts.Logger, metrics: s.metrics, cacheBytes: opts.ModelCacheBytes, digests: opts.ResultCacheBytes > 0})
	if opts.ResultCacheBytes > 0 {
		s.results = newResultCache(opts.ResultCacheBytes)
	}
	s.metrics.reg.MustRegister(newDriftCollector(s.repo))
	s.repo.scan()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if opts.PollInterval > 0 {
			s.repo.poll(ctx, opts.PollInterval)
		}
	}()
	s.routes()
	return s, nil
}

// Registry returns the server's Prometheus registry (for adding
// collectors, or gathering in tests).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Rescan scans the repository now, as the poller does.
func (s *Server) Rescan() { s.repo.scan() }

// Drain makes the server report not ready and refuse new inference
// requests with 503; requests already in flight go on. Call it on SIGTERM,
// then shut the HTTP server down, then Close.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops polling and releases every model; runs still in flight
// finish on theirs first.
func (s *Server) Close() {
	s.cancel()
	<-s.done
	s.repo.close()
}

// Handler returns the HTTP handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	mux := http.NewServeMux()
	open := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, h) }
	authed := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.authorize(h)) }
	open("GET /v2/health/live", s.live)
	open("GET /v2/health/ready", s.ready)
	authed("GET /v2", s.serverMetadata)
	authed("GET /v2/models/{model}", s.modelMetadata)
	authed("GET /v2/models/{model}/versions/{version}", s.modelMetadata)
	authed("GET /v2/models/{model}/ready", s.modelReady)
	authed("GET /v2/models/{model}/versions/{version}/ready", s.modelReady)
	authed("POST /v2/models/{model}/infer", s.infer)
	authed("POST /v2/models/{model}/versions/{version}/infer", s.infer)
	authed("POST /v2/repository/index", s.repositoryIndex)
	authed("GET /v2/repository/index", s.repositoryIndex)
	authed("POST /v2/repository/models/{model}/load", s.repositoryLoad)
	authed("POST /v2/repository/models/{model}/unload", s.repositoryUnload)
	authed("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP)
	s.uiRoutes(mux, authed)
	// Anything else: the protocol's error object, not the mux's text.
	open("/", func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(&http.Request{Method: http.MethodGet, URL: r.URL, Host: r.Host})
		_, postPattern := mux.Handler(&http.Request{Method: http.MethodPost, URL: r.URL, Host: r.Host})
		if pattern != "/" || postPattern != "/" {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s", r.URL.Path))
	})
	s.mux = mux
}

// tokenOK compares a bearer token with the server's in constant time
// (hashed first, so that the length does not show either).
func (s *Server) tokenOK(tok string) bool {
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

// authorize checks the bearer token.
func (s *Server) authorize(h http.HandlerFunc) http.HandlerFunc {
	if s.opts.AuthToken == "" {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokenOK(tok) {
			if strings.HasSuffix(r.URL.Path, "/infer") {
				s.metrics.requests.WithLabelValues(s.modelLabel(r.PathValue("model")), "", outcomeUnauth).Inc()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="mle"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
			return
		}
		h(w, r)
	}
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes the protocol's error object.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSONBody(w, status, map[string]string{"error": msg})
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) {
	writeJSONBody(w, 200, map[string]bool{"live": true})
}

// isReady: the first scan is done and the server is not draining.
func (s *Server) isReady() bool { return !s.draining.Load() && s.repo.scanned.Load() }

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if !s.isReady() {
		writeJSONBody(w, 503, map[string]bool{"ready": false})
		return
	}
	writeJSONBody(w, 200, map[string]bool{"ready": true})
}

func (s *Server) serverMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSONBody(w, 200, map[string]any{"name": "mle", "version": format.LibraryVersion,
		"extensions": []string{"binary_tensor_data"}})
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// modelMeta is a model version's metadata.
type modelMeta struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetadata `json:"inputs"`
	Outputs  []tensorMetadata `json:"outputs"`
}

func (s *Server) metadata(model, ver string) (*modelMeta, error) {
	v, err := s.repo.lookup(model, ver)
	if err != nil {
		return nil, err
	}
	defer v.release()
	md := &modelMeta{Name: v.model, Platform: "mle", Versions: []string{}, Inputs: []tensorMetadata{}, Outputs: []tensorMetadata{}}
	if st := s.repo.state.Load().models[v.model]; st != nil {
		for _, x := range st.versions {
			md.Versions = append(md.Versions, x.label())
		}
	}
	for _, in := range v.m.Inputs() {
		md.Inputs = append(md.Inputs, tensorMetadata{in.Name, oipName(in.DType), slices.Clone(in.Shape)})
	}
	for _, o := range v.m.Outputs() {
		md.Outputs = append(md.Outputs, tensorMetadata{o.Name, oipName(o.DType), slices.Clone(o.Shape)})
	}
	return md, nil
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	md, err := s.metadata(r.PathValue("model"), r.PathValue("version"))
	if err != nil {
		status, _ := statusCode(err)
		writeError(w, status, err.Error())
		return
	}
	writeJSONBody(w, 200, md)
}

// modelReady answers 200 when a request for the model (version) would be
// served, 400 when it would not and 404 when it is unknown, as the protocol
// has it. It loads nothing.
func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if err := s.repo.ready(r.PathValue("model"), r.PathValue("version")); err != nil {
		status, _ := statusCode(err)
		if status == 503 {
			status = 400 // known but not ready: the protocol's "false"
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSONBody(w, 200, map[string]any{"name": r.PathValue("model"), "ready": true})
}

func (s *Server) repositoryIndex(w http.ResponseWriter, r *http.Request) {
	idx := s.repo.index()
	if idx == nil {
		idx = []IndexEntry{}
	}
	writeJSONBody(w, 200, idx)
}

// repositoryLoad rescans the repository now instead of at the next poll,
// and reports the model's state.
func (s *Server) repositoryLoad(w http.ResponseWriter, r *http.Request) {
	s.repo.scan()
	v, err := s.repo.lookup(r.PathValue("model"), "")
	if err != nil {
		status, _ := statusCode(err)
		if status == 503 {
			status = 400
		}
		writeError(w, status, err.Error())
		return
	}
	v.release()
	w.WriteHeader(200)
}

func (s *Server) repositoryUnload(w http.ResponseWriter, r *http.Request) {
	writeError(w, 400, "explicit unload is not supported: the server follows the repository directory; remove the version directory (or change the version policy) to unload it")
}

// modelLabel bounds the model label to the repository's names.
func (s *Server) modelLabel(model string) string {
	if s.repo.has(model) {
		return model
	}
	return unknownModel
}

// infer serves one inference request over REST.
func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if s.opts.RequestTimeout > 0 { // a slow sender cannot hold the request past its timeout
		_ = http.NewResponseController(w).SetReadDeadline(start.Add(s.opts.RequestTimeout))
	}
	res := s.handle(r.Context(), r.PathValue("model"), r.PathValue("version"), start, func() (*inferRequest, error) {
		body, err := s.readBody(r)
		if err != nil {
			return nil, err
		}
		headerLen := int64(-1)
		if h := r.Header.Get("Inference-Header-Content-Length"); h != "" {
			headerLen, err = strconv.ParseInt(h, 10, 64)
			if err != nil || headerLen < 0 {
				return nil, bad("Inference-Header-Content-Length %q is not a byte count", h)
			}
		}
		return decodeRequest(body, headerLen)
	})
	if res.status != 200 {
		if res.status == 429 {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, res.status, res.msg)
		return
	}
	b, head := encodeResponse(res.model, res.version, res.id, res.outs)
	if head >= 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Inference-Header-Content-Length", strconv.Itoa(head))
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(200)
	_, _ = w.Write(b)
}

// handled is what an inference request came to, in either protocol.
type handled struct {
	status  int // an HTTP status: 200 or the failure's
	outcome string
	msg     string // the error message
	model   string
	version int64
	id      string
	outs    []respTensor
}

// handle serves one inference request, whatever its protocol: decode
// reads and decodes it once the model is resolved. It counts the outcome
// and logs failures.
func (s *Server) handle(clientCtx context.Context, model, ver string, start time.Time, decode func() (*inferRequest, error)) (res handled) {
	label, verLabel := s.modelLabel(model), ""
	fail := func(status int, outcome, msg string) handled {
		return handled{status: status, outcome: outcome, msg: msg}
	}
	defer func() {
		if res.status != 200 {
			if res.status >= 500 || res.status == 429 {
				s.log.Warn("inference failed", "model", model, "version", ver, "status", res.status, "error", res.msg)
			} else {
				s.log.Debug("inference refused", "model", model, "version", ver, "status", res.status, "error", res.msg)
			}
		}
		s.metrics.requests.WithLabelValues(label, verLabel, res.outcome).Inc()
		if verLabel != "" {
			s.metrics.duration.WithLabelValues(label, verLabel).Observe(time.Since(start).Seconds())
		}
	}()
	if s.draining.Load() {
		return fail(503, outcomeUnavailable, "the server is shutting down")
	}
	n := s.inflight.Add(1)
	defer func() { s.metrics.inflight.Set(float64(s.inflight.Add(-1))) }()
	s.metrics.inflight.Set(float64(n))
	if n > int64(s.opts.MaxInflight) {
		return fail(429, outcomeRejected, fmt.Sprintf("the server is busy: %d inference requests are in flight (the limit is %d)", n-1, s.opts.MaxInflight))
	}
	v, err := s.repo.lookup(model, ver)
	if err != nil {
		status, outcome := statusCode(err)
		return fail(status, outcome, err.Error())
	}
	defer v.release()
	verLabel = v.label()
	req, err := decode()
	if err != nil {
		var tl *tooLarge
		if errors.As(err, &tl) {
			return fail(413, outcomeTooLarge, err.Error())
		}
		return fail(400, outcomeBadRequest, err.Error())
	}
	inputs, which, binary, err := bind(v.m, req)
	if err != nil {
		return fail(400, outcomeBadRequest, err.Error())
	}
	timeout := s.opts.RequestTimeout
	if req.TimeoutMicros > 0 {
		t := time.Duration(req.TimeoutMicros) * time.Microsecond
		if timeout < 0 || t < timeout {
			timeout = t
		}
	}
	ctx := clientCtx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(timeout))
		defer cancel()
	}
	var key [32]byte
	if s.results != nil {
		key = resultKey(v.digest, inputs, which)
		if outs, ok := s.results.get(key); ok {
			s.metrics.resultCache.WithLabelValues(label, "hit").Inc()
			if v.drift != nil {
				v.drift.observe(&inputs[v.drift.input])
			}
			return s.respond(v, req, which, binary, outs)
		}
		s.metrics.resultCache.WithLabelValues(label, "miss").Inc()
	}
	run := s.execute(ctx, v, inputs, which)
	if run.err != nil {
		switch {
		case clientCtx.Err() != nil:
			return fail(499, outcomeCancelled, "the client went away "+run.where)
		case ctx.Err() != nil:
			return fail(504, outcomeTimeout, fmt.Sprintf("the request ran past its timeout of %v %s", timeout, run.where))
		}
		status, outcome := statusCode(run.err)
		return fail(status, outcome, run.err.Error())
	}
	s.metrics.queue.WithLabelValues(label, verLabel).Observe(run.queued.Seconds())
	s.metrics.compute.WithLabelValues(label, verLabel).Observe(run.compute.Seconds())
	if ver == "" {
		s.shadow(v, inputs, which, run.outs)
	}
	if v.drift != nil {
		v.drift.observe(&inputs[v.drift.input])
	}
	if s.results != nil {
		s.results.put(key, run.outs)
		s.metrics.resultBytes.Set(float64(s.results.bytes()))
	}
	return s.respond(v, req, which, binary, run.outs)
}

// respond is a successful answer with outs.
func (s *Server) respond(v *version, req *inferRequest, which []int, binary []bool, outs []engine.Tensor) handled {
	mo := v.m.Outputs()
	res := handled{status: 200, outcome: outcomeSuccess, model: v.model, version: v.number, id: req.ID, outs: make([]respTensor, len(outs))}
	for i := range outs {
		o := &outs[i]
		res.outs[i] = respTensor{Name: mo[which[i]].Name, DType: o.DType, Shape: o.Shape(), Data: o.Data, Binary: binary[i]}
	}
	return res
}

// execute runs a request on v: with the version's batcher when it has one
// and the request fits, else alone on a free session.
func (s *Server) execute(ctx context.Context, v *version, inputs []engine.Tensor, which []int) jobResult {
	for i, t := range inputs { // checked here, so that a bad one cannot fail a batch
		if t.DType == dtype.String {
			n, _ := dtype.NumElements(t.Shape())
			if err := strs.Check(t.Data, n, errs.InvalidString); err != nil {
				return jobResult{err: errs.Prefix(err, "input %q", v.m.Inputs()[i].Name)}
			}
		}
	}
	if rows, ok := sameRows(inputs); ok && v.batcher != nil && rows <= v.batcher.maxRows {
		j := &job{inputs: inputs, which: which, rows: rows, key: batchKey(inputs, which), ctx: ctx,
			enqueued: time.Now(), done: make(chan jobResult, 1)}
		select {
		case v.batcher.queue <- j:
		case <-ctx.Done():
			return jobResult{err: ctx.Err(), where: "while waiting to join a batch"}
		}
		select {
		case res := <-j.done:
			res.where = "while running in a batch"
			return res
		case <-ctx.Done():
			return jobResult{err: ctx.Err(), where: "while waiting in a batch"}
		}
	}
	queued := time.Now()
	if ctx.Err() != nil {
		return jobResult{err: ctx.Err(), where: "before it could run"}
	}
	select {
	case v.sessions <- struct{}{}:
	case <-ctx.Done():
		return jobResult{err: ctx.Err(), where: "while waiting for a free session"}
	}
	defer func() { <-v.sessions }()
	waited := time.Since(queued)
	start := time.Now()
	outs, err := runOne(v.m, inputs, which, ctx)
	rows, _ := sameRows(inputs)
	v.observeBatch(rows)
	return jobResult{outs: outs, err: err, queued: waited, compute: time.Since(start), where: "while running"}
}

// sameRows returns the inputs' common first dimension.
func sameRows(inputs []engine.Tensor) (int64, bool) {
	if len(inputs) == 0 || inputs[0].Rank == 0 {
		return 0, false
	}
	for _, t := range inputs {
		if t.Rank == 0 || t.Dims[0] != inputs[0].Dims[0] {
			return 0, false
		}
	}
	return inputs[0].Dims[0], true
}

// shadow mirrors a served request to the model's shadow versions, in the
// background and only where a session is free (shadows never queue), and
// counts whether their outputs equal the ones returned.
func (s *Server) shadow(v *version, inputs []engine.Tensor, which []int, served []engine.Tensor) {
	ms := s.repo.state.Load().models[v.model]
	if ms == nil {
		return
	}
	for _, sv := range ms.shadows(v) {
		if !sv.acquire() {
			continue
		}
		count := func(outcome string) { s.metrics.shadow.WithLabelValues(sv.model, sv.label(), outcome).Inc() }
		select {
		case sv.sessions <- struct{}{}:
		default:
			count("dropped")
			sv.release()
			continue
		}
		go func() {
			defer sv.release()
			defer func() { <-sv.sessions }()
			in, w, ok := rebind(v.m, sv.m, inputs, which)
			if !ok {
				count("incompatible")
				return
			}
			ctx := context.Background()
			if s.opts.RequestTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, s.opts.RequestTimeout)
				defer cancel()
			}
			outs, err := runOne(sv.m, in, w, ctx)
			if err != nil {
				_, outcome := statusCode(err)
				count(outcome)
				return
			}
			count(outcomeSuccess)
			for i, o := range outs {
				if !slices.Equal(o.Shape(), served[i].Shape()) || !bytes.Equal(o.Data, served[i].Data) {
					s.metrics.shadowDiffs.WithLabelValues(sv.model, sv.label(), sv.m.Outputs()[w[i]].Name).Inc()
				}
			}
		}()
	}
}

// rebind maps inputs and requested outputs of model a to model b by name.
func rebind(a, b *engine.Model, inputs []engine.Tensor, which []int) ([]engine.Tensor, []int, bool) {
	ai, bi := a.Inputs(), b.Inputs()
	if len(ai) != len(bi) {
		return nil, nil, false
	}
	in := make([]engine.Tensor, len(bi))
	for k, x := range bi {
		i := slices.IndexFunc(ai, func(y graphValue) bool { return y.Name == x.Name })
		if i < 0 || ai[i].DType != x.DType {
			return nil, nil, false
		}
		in[k] = inputs[i]
	}
	ao, bo := a.Outputs(), b.Outputs()
	w := make([]int, len(which))
	for k, i := range which {
		j := slices.IndexFunc(bo, func(y graphValue) bool { return y.Name == ao[i].Name })
		if j < 0 {
			return nil, nil, false
		}
		w[k] = j
	}
	return in, w, true
}

// allocOutput gives each output a buffer of its own: the response encodes
// from it after the session is back in the pool.
func allocOutput(_ int, _ *engine.Tensor, n int64) ([]byte, error) { return make([]byte, n), nil }

// bind matches a request's tensors to the model's inputs and outputs: the
// inputs in graph order, the indices of the outputs to compute and
// whether each is to be sent as binary data.
func bind(m *engine.Model, req *inferRequest) ([]engine.Tensor, []int, []bool, error) {
	mi := m.Inputs()
	inputs := make([]engine.Tensor, len(mi))
	found := make([]bool, len(mi))
	for _, t := range req.Inputs {
		i := slices.IndexFunc(mi, func(x graphValue) bool { return x.Name == t.Name })
		if i < 0 {
			return nil, nil, nil, bad("the model has no input %q (its inputs: %s)", t.Name, names(mi))
		}
		if t.DType != mi[i].DType {
			return nil, nil, nil, bad("input %q: datatype %s, but the model takes %s", t.Name, oipName(t.DType), oipName(mi[i].DType))
		}
		inputs[i] = engine.NewTensor(t.DType, t.Shape, t.Data)
		found[i] = true
	}
	for i, ok := range found {
		if !ok {
			return nil, nil, nil, bad("input %q is missing (the model's inputs: %s)", mi[i].Name, names(mi))
		}
	}
	mo := m.Outputs()
	var which []int
	var binary []bool
	if len(req.Outputs) == 0 {
		for i := range mo {
			which = append(which, i)
			binary = append(binary, req.BinaryOut)
		}
		return inputs, which, binary, nil
	}
	for _, o := range req.Outputs {
		i := slices.IndexFunc(mo, func(x graphValue) bool { return x.Name == o.Name })
		if i < 0 {
			return nil, nil, nil, bad("the model has no output %q (its outputs: %s)", o.Name, names(mo))
		}
		which = append(which, i)
		b := req.BinaryOut
		if o.Binary != nil {
			b = *o.Binary
		}
		binary = append(binary, b)
	}
	return inputs, which, binary, nil
}

func names(vs []graphValue) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Quote(v.Name)
	}
	return strings.Join(s, ", ")
}

// tooLarge is a body past the limit (HTTP 413).
type tooLarge struct{ limit int64 }

func (e *tooLarge) Error() string {
	return fmt.Sprintf("the request body is over the limit of %d bytes", e.limit)
}

// readBody reads the request body within the limit, decompressing gzip
// and deflate (the limit applies to the decompressed bytes too).
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, &tooLarge{limit}
	}
	var body io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("the gzip body does not decode: %v", err)
		}
		defer zr.Close()
		body = zr
	case "deflate":
		zr := flate.NewReader(io.LimitReader(r.Body, limit+1))
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("Content-Encoding %q is not supported (gzip, deflate or none)", enc)
	}
	n := r.ContentLength
	if n < 0 || n > limit {
		n = 512
	}
	buf := make([]byte, 0, n+1)
	buf, err := readAllInto(buf, io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %v", err)
	}
	if int64(len(buf)) > limit {
		return nil, &tooLarge{limit}
	}
	return buf, nil
}

// readAllInto is io.ReadAll into buf's spare capacity.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
