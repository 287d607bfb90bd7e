package serve

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/registry"
)

// ModelFile is the file of a version: REPOSITORY/<model>/<version>/model.mle.
const ModelFile = "model.mle"

// Version states in the repository index (Triton's names).
const (
	StateReady       = "READY"
	StateUnavailable = "UNAVAILABLE"
)

// repoOptions are what the repository needs of the server's options.
type repoOptions struct {
	dir              string
	threads          int
	maxSessions      int
	key              []byte
	trustedKeys      []ed25519.PublicKey
	requireSignature bool
	log              *slog.Logger
	metrics          *metrics
	// cacheBytes > 0 loads versions on their first request and keeps the
	// loaded ones under this many bytes of model files, evicting the least
	// recently used.
	cacheBytes int64
	// digests: compute each version's file digest at load (the result
	// cache keys on it).
	digests bool
}

// repository keeps the loaded versions of the models under a directory,
// and swaps in what changed there at each scan. Lookups read an immutable
// snapshot through one atomic pointer; scans run one at a time.
type repository struct {
	opts    repoOptions
	scanMu  sync.Mutex // serializes scans and every other change of state
	state   atomic.Pointer[repoState]
	scanned atomic.Bool // the first scan is done

	flightMu sync.Mutex
	flights  map[string]*flight // on-demand loads in progress, by model/version
}

// flight is one on-demand load that concurrent requests wait for.
type flight struct {
	done chan struct{}
	err  error
}

type repoState struct {
	models map[string]*modelState
	err    string // the repository directory could not be read
}

// modelState is one model at one scan.
type modelState struct {
	name      string
	config    *ModelConfig
	configErr string
	key       loadKey
	versions  []*version         // ready, ascending
	failed    map[int64]*failure // versions that failed to load, by number
	present   []int64            // every version directory with a model file
	lazy      map[int64]fileAt   // selected but not in memory (model cache)
}

// fileAt is a version's file as the last scan saw it.
type fileAt struct {
	path  string
	stamp fileStamp
}

// clone copies a state for a change: the caller replaces what it changes.
func (ms *modelState) clone() *modelState {
	c := *ms
	c.versions = slices.Clone(ms.versions)
	c.failed = maps.Clone(ms.failed)
	c.lazy = maps.Clone(ms.lazy)
	return &c
}

// loadKey is what a version was loaded with: a change reloads it.
type loadKey struct {
	threads, maxSessions int
	keyFile              string
	keyStamp             fileStamp
	batching             Batching
}

type failure struct {
	stamp  fileStamp
	key    loadKey
	reason string
}

// fileStamp notices a replaced or rewritten file.
type fileStamp struct {
	size, mtime int64
	ino         uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// version is a loaded model version. The repository holds one reference
// while the version is in its state; each request holds one while it uses
// the model; the last release closes the model.
type version struct {
	model    string
	number   int64
	path     string
	stamp    fileStamp
	key      loadKey
	m        *engine.Model
	refs     atomic.Int64
	sessions chan struct{} // a slot per engine session: waiting here is queueing
	batcher  *batcher      // nil without dynamic batching
	note     string        // why dynamic batching is off although configured
	loadedAt time.Time
	lastUsed atomic.Int64 // unix nanoseconds: the model cache evicts the oldest
	digest   [32]byte     // SHA-256 of the file, when the result cache is on
	drift    *drift       // nil unless the file carries mle.reference
	log      *slog.Logger
	metrics  *metrics
}

// acquire takes a reference; false when the version is already closing.
func (v *version) acquire() bool {
	for {
		n := v.refs.Load()
		if n <= 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (v *version) release() {
	if v.refs.Add(-1) == 0 {
		if v.batcher != nil {
			v.batcher.close()
		}
		_ = v.m.Close()
		v.log.Info("model version unloaded", "model", v.model, "version", v.number)
	}
}

// observeBatch records the rows of one run.
func (v *version) observeBatch(rows int64) {
	if v.metrics != nil && rows > 0 {
		v.metrics.batch.WithLabelValues(v.model, v.label()).Observe(float64(rows))
	}
}

// label is the version's metric label.
func (v *version) label() string { return strconv.FormatInt(v.number, 10) }

// errNotFound and errUnavailable classify lookups (HTTP 404 and 503).
type errNotFound struct{ msg string }

func (e *errNotFound) Error() string { return e.msg }

type errUnavailable struct{ msg string }

func (e *errUnavailable) Error() string { return e.msg }

func newRepository(o repoOptions) *repository {
	r := &repository{opts: o, flights: map[string]*flight{}}
	r.state.Store(&repoState{models: map[string]*modelState{}})
	return r
}

// has reports whether the repository has a model of that name.
func (r *repository) has(model string) bool {
	_, ok := r.state.Load().models[model]
	return ok
}

// lookup returns a model's version, acquired: the caller releases it. ver
// is a version number, an alias, or "" for the routing split or the highest
// ready version. A version the model cache does not hold is loaded first.
func (r *repository) lookup(model, ver string) (*version, error) {
	for try := 0; ; try++ {
		st := r.state.Load()
		ms, ok := st.models[model]
		if !ok {
			return nil, &errNotFound{fmt.Sprintf("unknown model %q", model)}
		}
		v, n, err := ms.find(ver)
		if err != nil {
			return nil, err
		}
		if v == nil {
			r.opts.metrics.modelCache.WithLabelValues("miss").Inc()
			if err := r.loadOnDemand(model, n); err != nil {
				return nil, err
			}
			continue // the next snapshot holds it
		}
		if v.acquire() {
			v.lastUsed.Store(time.Now().UnixNano())
			if r.opts.cacheBytes > 0 && try == 0 {
				r.opts.metrics.modelCache.WithLabelValues("hit").Inc()
			}
			return v, nil
		}
		// A scan or the cache unloaded it between the two loads: the next
		// snapshot has what replaced it. Retry a few times, then report.
		if try >= 3 {
			return nil, &errUnavailable{fmt.Sprintf("model %q version %d was just unloaded", model, v.number)}
		}
		runtime.Gosched()
	}
}

// ready reports whether a request for the version would be served,
// without loading anything.
func (r *repository) ready(model, ver string) error {
	ms, ok := r.state.Load().models[model]
	if !ok {
		return &errNotFound{fmt.Sprintf("unknown model %q", model)}
	}
	_, _, err := ms.find(ver)
	return err
}

// find resolves ver in one snapshot: a loaded version, or the number of
// one the model cache must load first.
func (ms *modelState) find(ver string) (*version, int64, error) {
	if ver == "" {
		n, ok := ms.split()
		if !ok {
			nums := ms.servable()
			if len(nums) == 0 {
				return nil, 0, &errUnavailable{fmt.Sprintf("model %q has no ready version: %s", ms.name, ms.whyNone())}
			}
			n = nums[len(nums)-1]
		}
		return ms.byNumber(n)
	}
	n, err := strconv.ParseInt(ver, 10, 64)
	if err != nil {
		a, ok := ms.config.Aliases[ver]
		if !ok {
			return nil, 0, &errNotFound{fmt.Sprintf("model %q has no version or alias %q", ms.name, ver)}
		}
		n = a
	}
	if v, n2, err := ms.byNumber(n); err == nil {
		return v, n2, nil
	}
	if f, ok := ms.failed[n]; ok {
		return nil, 0, &errUnavailable{fmt.Sprintf("model %q version %d failed to load: %s", ms.name, n, f.reason)}
	}
	if slices.Contains(ms.present, n) {
		return nil, 0, &errUnavailable{fmt.Sprintf("model %q version %d is not served: the version policy does not select it", ms.name, n)}
	}
	if ver != strconv.FormatInt(n, 10) {
		return nil, 0, &errNotFound{fmt.Sprintf("model %q alias %q points to version %d, which the repository does not have", ms.name, ver, n)}
	}
	return nil, 0, &errNotFound{fmt.Sprintf("model %q has no version %d", ms.name, n)}
}

// byNumber returns version n if loaded, or n if the cache can load it.
func (ms *modelState) byNumber(n int64) (*version, int64, error) {
	for _, v := range ms.versions {
		if v.number == n {
			return v, n, nil
		}
	}
	if _, ok := ms.lazy[n]; ok {
		return nil, n, nil
	}
	return nil, 0, &errNotFound{fmt.Sprintf("model %q has no version %d", ms.name, n)}
}

// servable lists the versions a request may get, loaded or not (ascending).
func (ms *modelState) servable() []int64 {
	nums := slices.Collect(maps.Keys(ms.lazy))
	for _, v := range ms.versions {
		nums = append(nums, v.number)
	}
	slices.Sort(nums)
	return nums
}

// split draws a version from the routing split among those servable;
// false when there is no split or none of its versions is servable.
func (ms *modelState) split() (int64, bool) {
	if ms.config.Routing == nil || len(ms.config.Routing.Split) == 0 {
		return 0, false
	}
	nums := ms.servable()
	var arms []int64
	var weights []float64
	total := 0.0
	for _, w := range ms.config.Routing.Split {
		if slices.Contains(nums, w.Version) {
			arms, weights = append(arms, w.Version), append(weights, w.Weight)
			total += w.Weight
		}
	}
	if len(arms) == 0 {
		return 0, false
	}
	x := rand.Float64() * total
	for i, w := range weights {
		if x < w {
			return arms[i], true
		}
		x -= w
	}
	return arms[len(arms)-1], true
}

// shadows returns the ready shadow versions other than primary.
func (ms *modelState) shadows(primary *version) []*version {
	if ms.config.Routing == nil {
		return nil
	}
	var out []*version
	for _, n := range ms.config.Routing.Shadow {
		for _, v := range ms.versions {
			if v.number == n && v != primary {
				out = append(out, v)
			}
		}
	}
	return out
}

// whyNone says why a model has no ready version.
func (ms *modelState) whyNone() string {
	switch {
	case ms.configErr != "":
		return ms.configErr
	case len(ms.failed) > 0:
		n := slices.Max(slices.Collect(maps.Keys(ms.failed)))
		return fmt.Sprintf("version %d failed to load: %s", n, ms.failed[n].reason)
	case len(ms.present) == 0:
		return fmt.Sprintf("no <version>/%s under its directory", ModelFile)
	}
	return "the version policy selects none of its versions"
}

// scan reads the repository directory and swaps in the new state: new and
// changed versions are loaded before the swap, so requests always find a
// ready model; versions that left are released after it, so in-flight
// requests finish on them.
func (r *repository) scan() {
	r.scanMu.Lock()
	defer r.scanMu.Unlock()
	old := r.state.Load()
	next := &repoState{models: map[string]*modelState{}}
	entries, err := os.ReadDir(r.opts.dir)
	if err != nil {
		// Keep serving what is loaded: a briefly unreadable directory (a
		// remount, a permission slip) should not take every model down.
		next.models = old.models
		next.err = fmt.Sprintf("reading the repository: %v", err)
		if old.err != next.err {
			r.opts.log.Error("repository unreadable", "dir", r.opts.dir, "error", err)
		}
		r.state.Store(next)
		r.scanned.Store(true)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !registry.ValidName(name) || !isDir(filepath.Join(r.opts.dir, name)) {
			continue
		}
		next.models[name] = r.scanModel(name, old.models[name])
	}
	r.state.Store(next)
	r.scanned.Store(true)
	// Release what the new state no longer holds.
	for name, ms := range old.models {
		nm := next.models[name]
		if nm == nil {
			r.opts.log.Info("model removed", "model", name)
		}
		for _, v := range ms.versions {
			if nm == nil || !slices.Contains(nm.versions, v) {
				v.release()
			}
		}
	}
	r.updateGauges(next)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// scanModel builds a model's next state from its directory and its
// previous state.
func (r *repository) scanModel(name string, prev *modelState) *modelState {
	dir := filepath.Join(r.opts.dir, name)
	cfg, _, err := readConfig(dir)
	if err != nil {
		// A half-edited configuration keeps the model as it was.
		if prev == nil {
			r.opts.log.Error("model configuration invalid", "model", name, "error", err)
			return &modelState{name: name, config: &ModelConfig{}, configErr: err.Error()}
		}
		if prev.configErr != err.Error() {
			r.opts.log.Error("model configuration invalid; keeping the previous one", "model", name, "error", err)
		}
		ms := *prev
		ms.configErr = err.Error()
		return &ms
	}
	ms := &modelState{name: name, config: cfg, failed: map[int64]*failure{}, lazy: map[int64]fileAt{}}
	ms.key = loadKey{threads: cfg.Threads, maxSessions: cfg.MaxSessions, keyFile: cfg.KeyFile}
	if cfg.DynamicBatching != nil {
		ms.key.batching = *cfg.DynamicBatching
	}
	if cfg.KeyFile != "" {
		if fi, err := os.Stat(r.keyPath(dir, cfg.KeyFile)); err == nil {
			ms.key.keyStamp = stampOf(fi)
		}
	}
	stamps := map[int64]fileStamp{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != e.Name() {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, e.Name(), ModelFile))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		stamps[n] = stampOf(fi)
		ms.present = append(ms.present, n)
	}
	slices.Sort(ms.present)
	for _, n := range cfg.served(ms.present) {
		stamp := stamps[n]
		var old *version
		if prev != nil {
			for _, v := range prev.versions {
				if v.number == n {
					old = v
				}
			}
			if f := prev.failed[n]; f != nil && f.stamp == stamp && f.key == ms.key {
				// Tried already and nothing changed: do not reload a bad
				// file at every scan.
				ms.failed[n] = f
				if old != nil {
					ms.versions = append(ms.versions, old)
				}
				continue
			}
		}
		if old != nil && old.stamp == stamp && old.key == ms.key {
			ms.versions = append(ms.versions, old)
			continue
		}
		if old == nil && r.opts.cacheBytes > 0 {
			// The model cache loads it when a request asks for it.
			ms.lazy[n] = fileAt{filepath.Join(dir, strconv.FormatInt(n, 10), ModelFile), stamp}
			continue
		}
		v, err := r.load(name, n, filepath.Join(dir, strconv.FormatInt(n, 10), ModelFile), stamp, ms.key, cfg)
		if err != nil {
			ms.failed[n] = &failure{stamp: stamp, key: ms.key, reason: err.Error()}
			if old != nil {
				r.opts.log.Error("model version reload failed; serving the previous file", "model", name, "version", n, "error", err)
				ms.versions = append(ms.versions, old)
			} else {
				r.opts.log.Error("model version load failed", "model", name, "version", n, "error", err)
			}
			continue
		}
		ms.versions = append(ms.versions, v)
	}
	return ms
}

func (r *repository) keyPath(dir, keyFile string) string {
	if filepath.IsAbs(keyFile) {
		return keyFile
	}
	return filepath.Join(dir, keyFile)
}

// load opens one version.
func (r *repository) load(name string, n int64, path string, stamp fileStamp, key loadKey, cfg *ModelConfig) (*version, error) {
	o := engine.Options{Verify: true, Threads: r.opts.threads, Key: r.opts.key,
		TrustedKeys: r.opts.trustedKeys, RequireSignature: r.opts.requireSignature}
	if cfg.Threads > 0 {
		o.Threads = cfg.Threads
	}
	sessions := r.opts.maxSessions
	if cfg.MaxSessions > 0 {
		sessions = cfg.MaxSessions
	}
	if sessions <= 0 {
		sessions = runtime.NumCPU()
	}
	o.Serve.MaxSessions = sessions
	if cfg.KeyFile != "" {
		k, err := format.ReadKeyFile(r.keyPath(filepath.Dir(filepath.Dir(path)), cfg.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("key_file: %w", err)
		}
		o.Key = k
	}
	start := time.Now()
	var digest [32]byte
	if r.opts.digests {
		d, err := fileDigest(path)
		if err != nil {
			return nil, err
		}
		digest = d
	}
	m, err := engine.Open(path, o)
	if err == nil && r.opts.digests {
		// The digest must describe the file the engine opened.
		if fi, serr := os.Stat(path); serr != nil || stampOf(fi) != stamp {
			_ = m.Close()
			err = fmt.Errorf("%s changed while it loaded; the next scan loads it again", path)
		}
	}
	took := time.Since(start)
	if err != nil {
		r.opts.metrics.loadErrs.WithLabelValues(name).Inc()
		return nil, err
	}
	r.opts.metrics.load.WithLabelValues(name).Observe(took.Seconds())
	v := &version{model: name, number: n, path: path, stamp: stamp, key: key, m: m,
		sessions: make(chan struct{}, sessions), loadedAt: time.Now(), log: r.opts.log, metrics: r.opts.metrics, digest: digest}
	v.refs.Store(1)
	if text, ok := m.File().Metadata.Properties[ReferenceProperty]; ok {
		if ref, in, err := parseReference(text, m); err == nil {
			v.drift = newDrift(ref, in)
		} else {
			v.note = joinReasons(v.note, "drift statistics are off: "+err.Error())
			r.opts.log.Warn("drift statistics are off for this version", "model", name, "version", n, "reason", err)
		}
	}
	if b := cfg.DynamicBatching; b != nil {
		if ok, why := batchable(m); ok {
			v.batcher = newBatcher(v, b.MaxBatchSize, time.Duration(b.MaxQueueDelayMicros)*time.Microsecond)
		} else {
			v.note = joinReasons(v.note, "dynamic batching is off: "+why)
			r.opts.log.Warn("dynamic batching is off for this version", "model", name, "version", n, "reason", why)
		}
	}
	r.opts.log.Info("model version loaded", "model", name, "version", n, "seconds", took.Seconds(), "path", path)
	return v, nil
}

// poll scans every interval until ctx ends.
func (r *repository) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.scan()
		}
	}
}

// close releases every version; in-flight requests finish first.
func (r *repository) close() {
	r.scanMu.Lock()
	defer r.scanMu.Unlock()
	old := r.state.Swap(&repoState{models: map[string]*modelState{}, err: "the server is shutting down"})
	for _, ms := range old.models {
		for _, v := range ms.versions {
			v.release()
		}
	}
	r.opts.metrics.loaded.Set(0)
}

// IndexEntry is one row of the repository index.
type IndexEntry struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
}

// index lists every model and version directory with its state.
func (r *repository) index() []IndexEntry {
	st := r.state.Load()
	var out []IndexEntry
	for _, name := range slices.Sorted(maps.Keys(st.models)) {
		ms := st.models[name]
		if len(ms.present) == 0 && len(ms.versions) == 0 {
			out = append(out, IndexEntry{Name: name, State: StateUnavailable, Reason: ms.whyNone()})
			continue
		}
		seen := map[int64]bool{}
		var nums []int64
		for _, n := range ms.present {
			nums = append(nums, n)
			seen[n] = true
		}
		for _, v := range ms.versions {
			if !seen[v.number] {
				nums = append(nums, v.number)
			}
		}
		slices.Sort(nums)
		// (lazy versions are present ones: already in nums)
		for _, n := range nums {
			e := IndexEntry{Name: name, Version: strconv.FormatInt(n, 10), State: StateUnavailable}
			ready := slices.ContainsFunc(ms.versions, func(v *version) bool { return v.number == n })
			f := ms.failed[n]
			switch {
			case ready && f != nil:
				e.State, e.Reason = StateReady, "the file changed but failed to load, so the previous file is served: "+f.reason
			case ready:
				e.State = StateReady
				for _, v := range ms.versions {
					if v.number == n {
						e.Reason = v.note
					}
				}
			case f != nil:
				e.Reason = f.reason
			case ms.lazy[n] != fileAt{}:
				e.State, e.Reason = StateReady, "not in memory: the model cache loads it on its first request"
			case !slices.Contains(ms.present, n):
				e.Reason = "the version directory is gone"
			default:
				e.Reason = "not selected by the version policy"
			}
			if ms.configErr != "" {
				e.Reason = joinReasons(e.Reason, "config: "+ms.configErr)
			}
			out = append(out, e)
		}
	}
	return out
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// statusCode maps an engine error to its HTTP status and outcome.
func statusCode(err error) (int, string) {
	var nf *errNotFound
	var un *errUnavailable
	var br *badRequest
	switch {
	case errors.As(err, &br):
		return 400, outcomeBadRequest
	case errors.As(err, &nf):
		return 404, outcomeNotFound
	case errors.As(err, &un):
		return 503, outcomeUnavailable
	}
	switch c := errs.CodeOf(err); c.Primary() {
	case errs.InvalidArgument, errs.Shape, errs.DType:
		return 400, outcomeBadRequest
	case errs.NoMemory:
		return 413, outcomeTooLarge
	case errs.Cancelled:
		return 504, outcomeTimeout
	case errs.BadHandle, errs.IO, errs.Forked:
		return 503, outcomeUnavailable
	}
	return 500, outcomeError
}

// loadOnDemand loads a version the model cache does not hold. Concurrent
// requests for it wait for one load (single flight). Once it is in, the
// least recently used versions are evicted until the loaded files fit the
// budget again; a version larger than the whole budget is still served,
// alone.
func (r *repository) loadOnDemand(model string, n int64) error {
	key := model + "/" + strconv.FormatInt(n, 10)
	r.flightMu.Lock()
	if f, ok := r.flights[key]; ok {
		r.flightMu.Unlock()
		<-f.done
		return f.err
	}
	f := &flight{done: make(chan struct{})}
	r.flights[key] = f
	r.flightMu.Unlock()
	defer func() {
		r.flightMu.Lock()
		delete(r.flights, key)
		r.flightMu.Unlock()
		close(f.done)
	}()
	f.err = r.loadCached(model, n)
	return f.err
}

func (r *repository) loadCached(model string, n int64) error {
	r.scanMu.Lock()
	ms := r.state.Load().models[model]
	var at fileAt
	ok := false
	if ms != nil {
		at, ok = ms.lazy[n]
	}
	r.scanMu.Unlock()
	if !ok {
		return nil // loaded or gone meanwhile: the caller looks again
	}
	v, err := r.load(model, n, at.path, at.stamp, ms.key, ms.config)

	r.scanMu.Lock()
	defer r.scanMu.Unlock()
	st := r.state.Load()
	cur := st.models[model]
	if cur == nil || cur.lazy[n] != at {
		// A scan changed the version while it loaded: drop this copy.
		if v != nil {
			v.release()
		}
		return nil
	}
	next := &repoState{models: maps.Clone(st.models), err: st.err}
	c := cur.clone()
	delete(c.lazy, n)
	next.models[model] = c
	if err != nil {
		c.failed[n] = &failure{stamp: at.stamp, key: c.key, reason: err.Error()}
		r.state.Store(next)
		return &errUnavailable{fmt.Sprintf("model %q version %d failed to load: %v", model, n, err)}
	}
	v.lastUsed.Store(time.Now().UnixNano())
	c.versions = append(c.versions, v)
	slices.SortFunc(c.versions, func(a, b *version) int { return cmp.Compare(a.number, b.number) })
	evicted := r.evict(next, v)
	r.state.Store(next)
	for _, e := range evicted {
		r.opts.log.Info("model version evicted from the model cache", "model", e.model, "version", e.number, "bytes", e.stamp.size)
		r.opts.metrics.evictions.Inc()
		e.release()
	}
	r.updateGauges(next)
	return nil
}

// evict removes the least recently used versions from next (not keep)
// until the loaded files fit the cache budget; they become loadable again.
func (r *repository) evict(next *repoState, keep *version) []*version {
	var loaded []*version
	total := int64(0)
	for _, ms := range next.models {
		for _, v := range ms.versions {
			loaded = append(loaded, v)
			total += v.stamp.size
		}
	}
	slices.SortFunc(loaded, func(a, b *version) int { return cmp.Compare(a.lastUsed.Load(), b.lastUsed.Load()) })
	var out []*version
	for _, v := range loaded {
		if total <= r.opts.cacheBytes {
			break
		}
		if v == keep {
			continue
		}
		ms := next.models[v.model].clone()
		ms.versions = slices.DeleteFunc(ms.versions, func(x *version) bool { return x == v })
		ms.lazy[v.number] = fileAt{v.path, v.stamp}
		next.models[v.model] = ms
		total -= v.stamp.size
		out = append(out, v)
	}
	return out
}

// updateGauges sets the loaded-versions and cached-bytes gauges.
func (r *repository) updateGauges(st *repoState) {
	n, bytes := 0, int64(0)
	for _, ms := range st.models {
		n += len(ms.versions)
		for _, v := range ms.versions {
			bytes += v.stamp.size
		}
	}
	r.opts.metrics.loaded.Set(float64(n))
	r.opts.metrics.cacheBytes.Set(float64(bytes))
}
