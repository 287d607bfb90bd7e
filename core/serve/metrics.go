package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// unknownModel is the model label of requests for a model the repository
// does not have: label values stay bounded whatever clients send.
const unknownModel = "_unknown"

// Request outcomes (the outcome label).
const (
	outcomeSuccess     = "success"
	outcomeBadRequest  = "bad_request"  // 400
	outcomeNotFound    = "not_found"    // 404
	outcomeTooLarge    = "too_large"    // 413
	outcomeRejected    = "rejected"     // 429: over --max-inflight
	outcomeTimeout     = "timeout"      // 504: past the request timeout
	outcomeCancelled   = "cancelled"    // the client went away
	outcomeUnavailable = "unavailable"  // 503: not ready, draining, unloaded
	outcomeError       = "error"        // 500
	outcomeUnauth      = "unauthorized" // 401
)

// metrics are the server's Prometheus collectors, on a registry of their
// own so that several servers (tests) do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	queue    *prometheus.HistogramVec
	compute  *prometheus.HistogramVec
	batch    *prometheus.HistogramVec
	load     *prometheus.HistogramVec
	loadErrs *prometheus.CounterVec
	loaded   prometheus.Gauge
	inflight prometheus.Gauge
	// Shadow traffic: requests mirrored by outcome (plus "dropped" when
	// no session was free, "incompatible" when the inputs or outputs
	// differ), and outputs that differed from the served one.
	shadow      *prometheus.CounterVec
	shadowDiffs *prometheus.CounterVec
	// The model cache (--model-cache-bytes): lookups that found the
	// version loaded or had to load it, evictions, bytes held.
	modelCache *prometheus.CounterVec
	evictions  prometheus.Counter
	cacheBytes prometheus.Gauge
	// The result cache (--result-cache-bytes).
	resultCache *prometheus.CounterVec
	resultBytes prometheus.Gauge
}

func newMetrics() *metrics {
	lat := prometheus.ExponentialBucketsRange(50e-6, 30, 20)
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mle_inference_requests_total",
			Help: "Inference requests by model, version and outcome.",
		}, []string{"model", "version", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mle_inference_request_duration_seconds", Buckets: lat,
			Help: "Time from a request's arrival to its response, in seconds.",
		}, []string{"model", "version"}),
		queue: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mle_inference_queue_duration_seconds", Buckets: lat,
			Help: "Time a decoded request waited for a free session of its model, in seconds.",
		}, []string{"model", "version"}),
		compute: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mle_inference_compute_duration_seconds", Buckets: lat,
			Help: "Time the engine took to run a request's model, in seconds.",
		}, []string{"model", "version"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mle_batch_size", Buckets: prometheus.ExponentialBuckets(1, 2, 14),
			Help: "Rows (the first input's leading dimension) per model run.",
		}, []string{"model", "version"}),
		load: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mle_model_load_duration_seconds", Buckets: prometheus.ExponentialBucketsRange(1e-4, 60, 16),
			Help: "Time to open, verify and compile a model version, in seconds.",
		}, []string{"model"}),
		loadErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mle_model_load_failures_total",
			Help: "Model versions that failed to load.",
		}, []string{"model"}),
		loaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mle_models_loaded",
			Help: "Model versions loaded and ready.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mle_inference_requests_in_flight",
			Help: "Inference requests being served now.",
		}),
		shadow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mle_shadow_requests_total",
			Help: "Requests mirrored to shadow versions, by outcome.",
		}, []string{"model", "version", "outcome"}),
		shadowDiffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mle_shadow_output_mismatches_total",
			Help: "Shadow runs whose output differed from the one served, by output.",
		}, []string{"model", "version", "output"}),
		modelCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mle_model_cache_lookups_total",
			Help: "Requests that found their model version in memory (hit) or had to load it (miss).",
		}, []string{"result"}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mle_model_cache_evictions_total",
			Help: "Model versions evicted from memory to keep the model cache within its budget.",
		}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mle_model_cache_bytes",
			Help: "Bytes of the model files loaded now.",
		}),
		resultCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mle_result_cache_lookups_total",
			Help: "Inference requests answered from the result cache (hit) or run (miss).",
		}, []string{"model", "result"}),
		resultBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mle_result_cache_bytes",
			Help: "Bytes of results held by the result cache.",
		}),
	}
	m.reg.MustRegister(m.resultCache, m.resultBytes, m.modelCache, m.evictions, m.cacheBytes, m.requests, m.duration, m.queue, m.compute, m.batch, m.load, m.loadErrs, m.loaded, m.inflight,
		m.shadow, m.shadowDiffs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
