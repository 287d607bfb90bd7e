package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/mle-runtime/mle/core/registry"
)

// ConfigFile is the optional per-model configuration file:
// REPOSITORY/<model>/config.json.
const ConfigFile = "config.json"

// maxConfigBytes bounds a configuration file.
const maxConfigBytes = 1 << 20

// ModelConfig is a model's serving configuration (docs/serve.md). Every
// field is optional.
type ModelConfig struct {
	// VersionPolicy picks the versions served: {"latest": N} (the N
	// highest, the default N = 1), {"all": {}} or {"specific": [1, 3]}.
	VersionPolicy *VersionPolicy `json:"version_policy,omitempty"`
	// Aliases name versions: {"production": 3}. A request may give an
	// alias where it gives a version.
	Aliases map[string]int64 `json:"aliases,omitempty"`
	// Threads and MaxSessions are the engine options of every version
	// (0: the server's defaults).
	Threads     int `json:"threads,omitempty"`
	MaxSessions int `json:"max_sessions,omitempty"`
	// KeyFile holds the 32-byte key of the model's encrypted files; a
	// relative path is relative to the model's directory.
	KeyFile string `json:"key_file,omitempty"`
	// DynamicBatching, when set, runs requests that arrive together as one
	// batch (every input and output needs a dynamic first dimension).
	DynamicBatching *Batching `json:"dynamic_batching,omitempty"`
	// Routing splits the requests that name no version between versions,
	// and mirrors them to shadow versions.
	Routing *Routing `json:"routing,omitempty"`
}

// Batching configures dynamic batching.
type Batching struct {
	// MaxBatchSize bounds the rows of one run (requests are never split).
	MaxBatchSize int64 `json:"max_batch_size"`
	// MaxQueueDelayMicros is the longest a request waits for others while
	// a session is free.
	MaxQueueDelayMicros int64 `json:"max_queue_delay_microseconds"`
}

// Routing is an A/B split and shadow traffic.
type Routing struct {
	// Split sends each request that names no version to one of these
	// versions, at random in proportion to the weights (versions not ready
	// drop out of the draw).
	Split []Weighted `json:"split,omitempty"`
	// Shadow versions receive a copy of every request served from the
	// split (or the latest version); their answers are compared with the
	// one returned and counted, never returned.
	Shadow []int64 `json:"shadow,omitempty"`
}

// Weighted is one arm of a split.
type Weighted struct {
	Version int64   `json:"version"`
	Weight  float64 `json:"weight"`
}

// VersionPolicy is Triton's version policy: exactly one field is set.
type VersionPolicy struct {
	Latest   int // serve the Latest highest versions
	All      bool
	Specific []int64
}

// UnmarshalJSON reads {"latest": {"num_versions": N}} (or {"latest": N}),
// {"all": {}} or {"specific": {"versions": [..]}} (or {"specific": [..]}).
func (p *VersionPolicy) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := strictUnmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 1 {
		return fmt.Errorf("version_policy must have exactly one of \"latest\", \"all\" and \"specific\"")
	}
	for k, v := range raw {
		switch k {
		case "latest":
			n, err := numberOr(v, "num_versions")
			if err != nil || n < 1 || n > 1<<20 {
				return fmt.Errorf("version_policy latest: want a count of versions >= 1 (N or {\"num_versions\": N})")
			}
			p.Latest = int(n)
		case "all":
			p.All = true
		case "specific":
			var vs []int64
			if err := strictUnmarshal(v, &vs); err != nil {
				var obj struct {
					Versions []int64 `json:"versions"`
				}
				if err2 := strictUnmarshal(v, &obj); err2 != nil {
					return fmt.Errorf("version_policy specific: want a list of versions ([1, 3] or {\"versions\": [1, 3]})")
				}
				vs = obj.Versions
			}
			if len(vs) == 0 {
				return fmt.Errorf("version_policy specific: the list of versions is empty")
			}
			for _, v := range vs {
				if v < 1 {
					return fmt.Errorf("version_policy specific: version %d is not a positive integer", v)
				}
			}
			p.Specific = vs
		default:
			return fmt.Errorf("version_policy: unknown policy %q (want latest, all or specific)", k)
		}
	}
	return nil
}

// MarshalJSON writes the policy in Triton's object form.
func (p VersionPolicy) MarshalJSON() ([]byte, error) {
	switch {
	case p.All:
		return []byte(`{"all":{}}`), nil
	case p.Specific != nil:
		return json.Marshal(map[string]any{"specific": map[string]any{"versions": p.Specific}})
	}
	return json.Marshal(map[string]any{"latest": map[string]any{"num_versions": max(p.Latest, 1)}})
}

// numberOr reads v as an integer, or as an object holding it under key.
func numberOr(v json.RawMessage, key string) (int64, error) {
	var n int64
	if err := strictUnmarshal(v, &n); err == nil {
		return n, nil
	}
	var obj map[string]int64
	if err := strictUnmarshal(v, &obj); err != nil {
		return 0, err
	}
	n, ok := obj[key]
	if !ok || len(obj) != 1 {
		return 0, fmt.Errorf("want {%q: N}", key)
	}
	return n, nil
}

// served returns the versions to load out of those present: the policy's,
// and those that aliases and routing name.
func (c *ModelConfig) served(present []int64) []int64 {
	vs := c.VersionPolicy.pick(present)
	named := slices.Collect(maps.Values(c.Aliases))
	if c.Routing != nil {
		for _, w := range c.Routing.Split {
			named = append(named, w.Version)
		}
		named = append(named, c.Routing.Shadow...)
	}
	for _, n := range named {
		if slices.Contains(present, n) && !slices.Contains(vs, n) {
			vs = append(vs, n)
		}
	}
	slices.Sort(vs)
	return vs
}

// pick returns the versions the policy serves out of those present
// (ascending).
func (p *VersionPolicy) pick(present []int64) []int64 {
	vs := slices.Clone(present)
	slices.Sort(vs)
	switch {
	case p == nil:
		return vs[max(0, len(vs)-1):]
	case p.All:
		return vs
	case p.Specific != nil:
		return slices.DeleteFunc(vs, func(v int64) bool { return !slices.Contains(p.Specific, v) })
	}
	return vs[max(0, len(vs)-max(p.Latest, 1)):]
}

// strictUnmarshal decodes one JSON value into v: unknown fields and
// trailing data are errors.
func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// readConfig reads dir's configuration file; a missing file is the
// default configuration. The bytes are returned so that a change can be
// noticed.
func readConfig(dir string) (*ModelConfig, []byte, error) {
	path := filepath.Join(dir, ConfigFile)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return &ModelConfig{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxConfigBytes {
		return nil, b, fmt.Errorf("%s is over %d bytes", path, maxConfigBytes)
	}
	c := &ModelConfig{}
	if err := strictUnmarshal(b, c); err != nil {
		return nil, b, fmt.Errorf("%s: %v", path, err)
	}
	if err := c.check(); err != nil {
		return nil, b, fmt.Errorf("%s: %v", path, err)
	}
	return c, b, nil
}

func (c *ModelConfig) check() error {
	for a, v := range c.Aliases {
		if err := registry.CheckAlias(a); err != nil {
			return err
		}
		if v < 1 {
			return fmt.Errorf("alias %q points to version %d, not a positive integer", a, v)
		}
	}
	if c.Threads < 0 || c.Threads > 1024 {
		return fmt.Errorf("threads %d: want 0 (the server's default) to 1024", c.Threads)
	}
	if c.MaxSessions < 0 || c.MaxSessions > 1<<16 {
		return fmt.Errorf("max_sessions %d: want 0 (the server's default) to 65536", c.MaxSessions)
	}
	if b := c.DynamicBatching; b != nil {
		if b.MaxBatchSize < 1 || b.MaxBatchSize > 1<<16 {
			return fmt.Errorf("dynamic_batching max_batch_size %d: want 1 to 65536 rows", b.MaxBatchSize)
		}
		if b.MaxQueueDelayMicros < 0 || b.MaxQueueDelayMicros > 1e6 {
			return fmt.Errorf("dynamic_batching max_queue_delay_microseconds %d: want 0 to 1000000", b.MaxQueueDelayMicros)
		}
	}
	if r := c.Routing; r != nil {
		seen := map[int64]bool{}
		for _, w := range r.Split {
			if w.Version < 1 || seen[w.Version] {
				return fmt.Errorf("routing split: version %d is not a positive integer or appears twice", w.Version)
			}
			if !(w.Weight > 0) || w.Weight > 1e9 {
				return fmt.Errorf("routing split: version %d has weight %v; want a positive number", w.Version, w.Weight)
			}
			seen[w.Version] = true
		}
		for _, v := range r.Shadow {
			if v < 1 {
				return fmt.Errorf("routing shadow: version %d is not a positive integer", v)
			}
		}
	}
	return nil
}
