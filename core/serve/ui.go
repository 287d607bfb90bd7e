package serve

import (
	"cmp"
	"embed"
	"io/fs"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// The model viewer: static files embedded in the binary (no CDN, nothing
// fetched from elsewhere) that read the JSON endpoints below. The files
// carry no data, so they are served without the bearer token; the page
// asks for the token and sends it with every API call.

//go:embed ui
var uiFiles embed.FS

func (s *Server) uiRoutes(mux *http.ServeMux, authed func(string, http.HandlerFunc)) {
	static, _ := fs.Sub(uiFiles, "ui")
	files := http.StripPrefix("/ui/", http.FileServerFS(static))
	mux.HandleFunc("GET /ui/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	authed("GET /ui/api/repository", s.uiRepository)
	authed("GET /ui/api/models/{model}/versions/{version}", s.uiModel)
	authed("GET /ui/api/models/{model}/versions/{version}/stats", s.uiStats)
}

type uiVersion struct {
	Version string `json:"version"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
}

type uiModelEntry struct {
	Name     string      `json:"name"`
	Versions []uiVersion `json:"versions"`
}

// uiRepository lists the models and the state of each version.
func (s *Server) uiRepository(w http.ResponseWriter, _ *http.Request) {
	models := []uiModelEntry{}
	for _, e := range s.repo.index() {
		if len(models) == 0 || models[len(models)-1].Name != e.Name {
			models = append(models, uiModelEntry{Name: e.Name, Versions: []uiVersion{}})
		}
		m := &models[len(models)-1]
		if e.Version != "" || e.State != StateReady {
			m.Versions = append(m.Versions, uiVersion{e.Version, e.State, e.Reason})
		}
	}
	writeJSONBody(w, 200, map[string]any{"models": models, "server": map[string]any{
		"version": format.LibraryVersion, "ready": s.isReady()}})
}

type uiValue struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"` // -1: sized at run time
	Kind  string  `json:"kind"`  // input, constant, computed
}

type uiNode struct {
	Name    string   `json:"name"`
	Op      string   `json:"op"`
	Inputs  []int    `json:"inputs"` // value indices; -1: absent
	Outputs []int    `json:"outputs"`
	Attrs   []string `json:"attrs"`
}

type uiTensor struct {
	Name     string  `json:"name"`
	DType    string  `json:"dtype"`
	Shape    []int64 `json:"shape"`
	Encoding string  `json:"encoding"`
	Stored   uint64  `json:"stored_bytes"`
	Raw      uint64  `json:"raw_bytes"`
}

// uiModel describes one loaded version: graph, tensors, metadata, trust.
func (s *Server) uiModel(w http.ResponseWriter, r *http.Request) {
	v, err := s.repo.lookup(r.PathValue("model"), r.PathValue("version"))
	if err != nil {
		status, _ := statusCode(err)
		writeError(w, status, err.Error())
		return
	}
	defer v.release()
	f, g := v.m.File(), v.m.Graph()
	values := make([]uiValue, len(g.Values))
	for i, x := range g.Values {
		kind := map[graph.ValueKind]string{graph.KindInput: "input", graph.KindConstant: "constant", graph.KindComputed: "computed"}[x.Kind]
		values[i] = uiValue{x.Name, x.DType.String(), slices.Clone(x.Shape), kind}
	}
	nodes := make([]uiNode, len(g.Nodes))
	for i, n := range g.Nodes {
		attrs := make([]string, 0, len(n.Attrs))
		for _, a := range n.Attrs {
			attrs = append(attrs, a.Name+"="+truncate(a.ValueString(), 60))
		}
		nodes[i] = uiNode{Name: n.Name, Op: n.Op, Inputs: n.In, Outputs: n.Out, Attrs: attrs}
	}
	tensors := make([]uiTensor, len(f.Tensors))
	var stored, raw uint64
	for i, t := range f.Tensors {
		tensors[i] = uiTensor{t.Name, t.DType.String(), t.Shape, t.Encoding.String(), t.StoredLen, t.RawLen}
		stored, raw = stored+t.StoredLen, raw+t.RawLen
	}
	md := f.Metadata
	sig := map[string]any{"signed": f.Signed != nil}
	if f.Signed != nil {
		var keys []string
		for _, k := range f.Signed.Signatures {
			keys = append(keys, k.KeyID())
		}
		sig["keys"], sig["trusted_by"] = keys, f.Signed.TrustedBy
	}
	outs := make([]int, len(g.Outputs))
	copy(outs, g.Outputs)
	writeJSONBody(w, 200, map[string]any{
		"name": v.model, "version": v.label(), "path": v.path, "file_bytes": v.stamp.size,
		"loaded_at": v.loadedAt.UTC().Format(time.RFC3339), "note": v.note,
		"format": strconv.Itoa(int(f.Header.Major)) + "." + strconv.Itoa(int(f.Header.Minor)),
		"metadata": map[string]any{"name": md.Name, "description": md.Description, "version": md.Version, "created": md.Created,
			"producer": md.Producer, "writer": md.Writer, "properties": md.Properties},
		"lineage": md.Lineage, "signature": sig, "encrypted": f.Envelope != nil,
		"graph":   map[string]any{"values": values, "nodes": nodes, "inputs": g.Inputs, "outputs": outs},
		"tensors": tensors, "weights": map[string]uint64{"stored_bytes": stored, "raw_bytes": raw},
		"dynamic_batching": v.batcher != nil,
	})
}

// uiStats reads one version's request metrics from the registry.
func (s *Server) uiStats(w http.ResponseWriter, r *http.Request) {
	model, ver := r.PathValue("model"), r.PathValue("version")
	fams, err := s.metrics.reg.Gather()
	if err != nil {
		writeError(w, 500, err.Error())
		return
	}
	match := func(m *dto.Metric) bool {
		var okM, okV bool
		for _, l := range m.Label {
			okM = okM || l.GetName() == "model" && l.GetValue() == model
			okV = okV || l.GetName() == "version" && l.GetValue() == ver
		}
		return okM && okV
	}
	outcomes := map[string]float64{}
	hist := map[string]map[string]float64{}
	for _, f := range fams {
		for _, m := range f.Metric {
			if !match(m) {
				continue
			}
			switch f.GetName() {
			case "mle_inference_requests_total":
				for _, l := range m.Label {
					if l.GetName() == "outcome" {
						outcomes[l.GetValue()] = m.Counter.GetValue()
					}
				}
			case "mle_inference_request_duration_seconds", "mle_inference_queue_duration_seconds",
				"mle_inference_compute_duration_seconds", "mle_batch_size":
				h := m.Histogram
				hist[f.GetName()] = map[string]float64{"count": float64(h.GetSampleCount()), "sum": h.GetSampleSum()}
			}
		}
	}
	out := map[string]any{"outcomes": outcomes, "histograms": hist, "in_flight": s.inflight.Load()}
	if ms := s.repo.state.Load().models[model]; ms != nil {
		for _, v := range ms.versions {
			if v.label() != ver || v.drift == nil {
				continue
			}
			if stats, rows, ok := v.drift.stats(); ok {
				type feat struct {
					Name string  `json:"name"`
					PSI  float64 `json:"psi"`
					Mean float64 `json:"mean"`
				}
				fs := make([]feat, len(stats))
				for j, st := range stats {
					mean := st.mean
					if math.IsNaN(mean) {
						mean = 0
					}
					fs[j] = feat{v.drift.ref.Features[j].Name, st.psi, mean}
				}
				slices.SortFunc(fs, func(a, b feat) int { return cmp.Compare(b.PSI, a.PSI) })
				out["drift"] = map[string]any{"rows": rows, "features": fs[:min(len(fs), 10)], "score": fs[0].PSI}
			}
		}
	}
	writeJSONBody(w, 200, out)
}
