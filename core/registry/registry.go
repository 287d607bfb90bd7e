// Package registry keeps versions of models in a directory, in the layout
// mle serve reads: DIR/<model>/<version>/model.mle, with a record of each
// version beside it (registry.json: SHA-256, size, semantic version,
// lineage, deprecation) and the model's aliases in DIR/<model>/config.json,
// the file whose other fields configure serving.
//
// Writers take an exclusive lock on DIR/.registry.lock; every change is a
// rename of a finished file or directory, so readers, which take no lock,
// see a version whole or not at all, and a writer that dies leaves only a
// temporary directory that GC removes.
package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

// File names inside a registry.
const (
	ModelFile  = "model.mle"
	RecordFile = "registry.json"
	ConfigFile = "config.json"
	lockFile   = ".registry.lock"
	tmpPrefix  = ".tmp-"
)

// Errors a caller may test for with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrDigest     = errors.New("digest mismatch")
	ErrLocked     = errors.New("locked by another writer")
	ErrDeprecated = errors.New("deprecated")
	ErrInvalid    = errors.New("invalid")
)

// Latest is the reference of the highest version that is not deprecated.
const Latest = "latest"

// Registry is a registry directory.
type Registry struct {
	dir string
	// LockTimeout bounds how long a writer waits for the lock.
	LockTimeout time.Duration
}

// Open returns the registry in dir, which must exist (Init makes it).
func Open(dir string) (*Registry, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", dir, notFoundIf(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("registry %s is not a directory: %w", dir, ErrInvalid)
	}
	return &Registry{dir: dir, LockTimeout: 30 * time.Second}, nil
}

// Init creates dir (and its parents) as an empty registry, or opens it.
func Init(dir string) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("registry %s: %w", dir, err)
	}
	return Open(dir)
}

// Dir returns the registry's directory.
func (r *Registry) Dir() string { return r.dir }

func notFoundIf(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

// Record describes one registered version.
type Record struct {
	Model        string          `json:"model"`
	Version      int64           `json:"version"`
	SHA256       string          `json:"sha256"`
	Size         int64           `json:"size"`
	SemVer       string          `json:"semver,omitempty"` // the file's metadata version
	Name         string          `json:"name,omitempty"`   // the file's metadata name
	Description  string          `json:"description,omitempty"`
	Created      string          `json:"created,omitempty"` // when the file was written
	RegisteredAt string          `json:"registered_at"`
	Source       string          `json:"source,omitempty"` // the path it was registered from
	Encrypted    bool            `json:"encrypted"`
	Signers      []string        `json:"signers,omitempty"` // key ids of its signatures
	Inputs       []IO            `json:"inputs"`
	Outputs      []IO            `json:"outputs"`
	Lineage      *format.Lineage `json:"lineage,omitempty"`
	Deprecated   string          `json:"deprecated,omitempty"` // the reason; empty: in use
	Aliases      []string        `json:"aliases,omitempty"`    // filled in by Show and List
}

// IO is an input or output of a model.
type IO struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

func ioList(vs []graph.ValueInfo) []IO {
	out := make([]IO, len(vs))
	for i, v := range vs {
		out[i] = IO{v.Name, v.DType.String(), slices.Clone(v.Shape)}
	}
	return out
}

// ValidName reports whether s may name a model or an alias: ASCII letters,
// digits, '_', '-' and '.', 1 to 128 bytes, not "." or "..".
func ValidName(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func checkModel(model string) error {
	if !ValidName(model) {
		return fmt.Errorf("model name %q: want letters, digits, '_', '-' or '.': %w", model, ErrInvalid)
	}
	return nil
}

// lock takes the writers' lock; the returned func releases it.
func (r *Registry) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(r.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("registry lock: %w", err)
	}
	deadline := time.Now().Add(r.LockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("registry %s: %w for %v", r.dir, ErrLocked, r.LockTimeout)
			}
			return nil, fmt.Errorf("registry lock: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RegisterOptions are the options of Register.
type RegisterOptions struct {
	// Version is the number to register as; 0 takes the next one.
	Version int64
	// Alias, when set, is pointed at the new version.
	Alias string
	// Key opens an encrypted file to validate all of it; without it only
	// the public part is checked (the rest is authenticated when opened).
	Key []byte
}

// Register copies the model file src into the registry as a new version of
// model: the copy is validated (every CRC) and hashed before it appears, in
// one rename. It fails with ErrExists when that version exists already.
func (r *Registry) Register(src, model string, o RegisterOptions) (*Record, error) {
	if err := checkModel(model); err != nil {
		return nil, err
	}
	if o.Version < 0 {
		return nil, fmt.Errorf("version %d: want a positive number, or 0 for the next: %w", o.Version, ErrInvalid)
	}
	if o.Alias != "" {
		if err := CheckAlias(o.Alias); err != nil {
			return nil, err
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("registering %s: %w", src, notFoundIf(err))
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("registering %s: not a regular file: %w", src, ErrInvalid)
	}
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	mdir := filepath.Join(r.dir, model)
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return nil, err
	}
	versions, err := r.versionNumbers(model)
	if err != nil {
		return nil, err
	}
	n := o.Version
	if n == 0 {
		n = 1
		if len(versions) > 0 {
			n = versions[len(versions)-1] + 1
		}
	} else if slices.Contains(versions, n) {
		return nil, fmt.Errorf("model %s version %d: %w", model, n, ErrExists)
	}
	tmp, err := os.MkdirTemp(mdir, tmpPrefix)
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	rec, err := copyIn(in, filepath.Join(tmp, ModelFile), o.Key)
	if err != nil {
		return nil, fmt.Errorf("registering %s: %w", src, err)
	}
	rec.Model, rec.Version, rec.Source = model, n, src
	rec.RegisteredAt = time.Now().UTC().Format(time.RFC3339)
	if err := writeRecord(filepath.Join(tmp, RecordFile), rec); err != nil {
		return nil, err
	}
	final := filepath.Join(mdir, strconv.FormatInt(n, 10))
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return nil, fmt.Errorf("model %s version %d: %w", model, n, ErrExists)
		}
		return nil, err
	}
	done = true
	syncDir(mdir)
	if o.Alias != "" {
		if err := r.setAliasLocked(model, o.Alias, n); err != nil {
			return rec, err
		}
		rec.Aliases = []string{o.Alias}
	}
	return rec, nil
}

// copyIn copies a model file into dst (fsynced), hashing it, and validates
// the copy: what was checked is what was hashed and kept.
func copyIn(in io.Reader, dst string, key []byte) (*Record, error) {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	f, err := format.Open(dst, format.OpenOptions{Verify: true, SkipPolicy: true, Key: key, PublicOnly: key == nil, ReadAll: true})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	md := f.Metadata
	rec := &Record{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, SemVer: md.Version, Name: md.Name,
		Description: md.Description, Created: md.Created, Encrypted: f.Envelope != nil, Lineage: md.Lineage,
		Inputs: ioList(md.Inputs), Outputs: ioList(md.Outputs)}
	if f.Graph != nil {
		rec.Inputs, rec.Outputs = ioList(f.Graph.Inputs), ioList(f.Graph.Outputs)
	}
	if f.Signed != nil {
		for _, s := range f.Signed.Signatures {
			rec.Signers = append(rec.Signers, s.KeyID())
		}
	}
	return rec, nil
}

func writeRecord(path string, rec *Record) error {
	stored := *rec
	stored.Aliases = nil // aliases live in config.json
	b, err := json.MarshalIndent(&stored, "", "  ")
	if err != nil {
		return err
	}
	_, err = format.WriteFile(path, append(b, '\n'), false)
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// versionNumbers lists a model's registered versions, ascending.
func (r *Registry) versionNumbers(model string) ([]int64, error) {
	entries, err := os.ReadDir(filepath.Join(r.dir, model))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != e.Name() || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.dir, model, e.Name(), ModelFile)); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// record reads a version's record. A version put in by hand (no record)
// gets one made from its file, without a digest.
func (r *Registry) record(model string, n int64) (*Record, error) {
	vdir := filepath.Join(r.dir, model, strconv.FormatInt(n, 10))
	b, err := os.ReadFile(filepath.Join(vdir, RecordFile))
	if errors.Is(err, os.ErrNotExist) {
		fi, serr := os.Stat(filepath.Join(vdir, ModelFile))
		if serr != nil {
			return nil, fmt.Errorf("model %s version %d: %w", model, n, notFoundIf(serr))
		}
		return &Record{Model: model, Version: n, Size: fi.Size()}, nil
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", filepath.Join(vdir, RecordFile), err, ErrInvalid)
	}
	rec.Model, rec.Version = model, n
	return &rec, nil
}

// config reads a model's config.json as raw fields, so that the fields
// the registry does not own (serving settings) survive its writes.
func (r *Registry) config(model string) (map[string]json.RawMessage, map[string]int64, error) {
	path := filepath.Join(r.dir, model, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]json.RawMessage{}, map[string]int64{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, nil, fmt.Errorf("%s: %v: %w", path, err, ErrInvalid)
	}
	aliases := map[string]int64{}
	if raw, ok := fields["aliases"]; ok {
		if err := json.Unmarshal(raw, &aliases); err != nil {
			return nil, nil, fmt.Errorf("%s: aliases: %v: %w", path, err, ErrInvalid)
		}
	}
	return fields, aliases, nil
}

func (r *Registry) writeAliases(model string, fields map[string]json.RawMessage, aliases map[string]int64) error {
	if len(aliases) == 0 {
		delete(fields, "aliases")
	} else {
		b, _ := json.Marshal(aliases) // map keys are written sorted
		fields["aliases"] = b
	}
	b, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return err
	}
	_, err = format.WriteFile(filepath.Join(r.dir, model, ConfigFile), append(b, '\n'), false)
	return err
}

// CheckAlias reports why alias cannot name a version: it must be a valid
// name that does not start with a digit (it would read as a version
// number) and is not "latest".
func CheckAlias(alias string) error {
	if !ValidName(alias) || alias == Latest || alias[0] >= '0' && alias[0] <= '9' {
		return fmt.Errorf("alias %q: want letters, digits, '_', '-' or '.', not starting with a digit, not %q: %w", alias, Latest, ErrInvalid)
	}
	return nil
}

// SetAlias points alias at a version of model (moving it if it pointed
// elsewhere). Deprecated versions cannot get an alias.
func (r *Registry) SetAlias(model, alias string, version int64) error {
	if err := checkModel(model); err != nil {
		return err
	}
	if err := CheckAlias(alias); err != nil {
		return err
	}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return r.setAliasLocked(model, alias, version)
}

func (r *Registry) setAliasLocked(model, alias string, version int64) error {
	rec, err := r.record(model, version)
	if err != nil {
		return err
	}
	if rec.Deprecated != "" {
		return fmt.Errorf("model %s version %d is deprecated (%s): %w", model, version, rec.Deprecated, ErrDeprecated)
	}
	fields, aliases, err := r.config(model)
	if err != nil {
		return err
	}
	aliases[alias] = version
	return r.writeAliases(model, fields, aliases)
}

// RemoveAlias removes an alias of model.
func (r *Registry) RemoveAlias(model, alias string) error {
	if err := checkModel(model); err != nil {
		return err
	}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	fields, aliases, err := r.config(model)
	if err != nil {
		return err
	}
	if _, ok := aliases[alias]; !ok {
		return fmt.Errorf("model %s has no alias %q: %w", model, alias, ErrNotFound)
	}
	delete(aliases, alias)
	return r.writeAliases(model, fields, aliases)
}

// Deprecate marks a version deprecated with a reason (an empty reason
// takes the mark away). An aliased version cannot be deprecated: move the
// alias first.
func (r *Registry) Deprecate(model string, version int64, reason string) error {
	if err := checkModel(model); err != nil {
		return err
	}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := r.record(model, version)
	if err != nil {
		return err
	}
	if reason != "" {
		_, aliases, err := r.config(model)
		if err != nil {
			return err
		}
		for a, v := range aliases {
			if v == version {
				return fmt.Errorf("model %s version %d is aliased as %q: move the alias first: %w", model, version, a, ErrInvalid)
			}
		}
	}
	rec.Deprecated = reason
	return writeRecord(filepath.Join(r.dir, model, strconv.FormatInt(version, 10), RecordFile), rec)
}

// Resolve finds the version a reference names: a number, an alias or
// "latest" (the highest version not deprecated; "" means latest too).
func (r *Registry) Resolve(model, ref string) (*Record, error) {
	if err := checkModel(model); err != nil {
		return nil, err
	}
	versions, err := r.versionNumbers(model)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("registry %s has no model %q: %w", r.dir, model, ErrNotFound)
	}
	_, aliases, err := r.config(model)
	if err != nil {
		return nil, err
	}
	var n int64
	switch {
	case ref == "" || ref == Latest:
		for _, v := range slices.Backward(versions) {
			rec, err := r.record(model, v)
			if err != nil {
				return nil, err
			}
			if rec.Deprecated == "" {
				return r.withAliases(rec, aliases), nil
			}
		}
		return nil, fmt.Errorf("model %s: every version is deprecated: %w", model, ErrNotFound)
	default:
		if v, err := strconv.ParseInt(ref, 10, 64); err == nil {
			n = v
		} else if v, ok := aliases[ref]; ok {
			n = v
		} else {
			return nil, fmt.Errorf("model %s has no version or alias %q: %w", model, ref, ErrNotFound)
		}
	}
	if !slices.Contains(versions, n) {
		if ref != strconv.FormatInt(n, 10) {
			return nil, fmt.Errorf("model %s alias %q points to version %d, which is not in the registry: %w", model, ref, n, ErrNotFound)
		}
		return nil, fmt.Errorf("model %s has no version %d: %w", model, n, ErrNotFound)
	}
	rec, err := r.record(model, n)
	if err != nil {
		return nil, err
	}
	return r.withAliases(rec, aliases), nil
}

func (r *Registry) withAliases(rec *Record, aliases map[string]int64) *Record {
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		if aliases[a] == rec.Version {
			rec.Aliases = append(rec.Aliases, a)
		}
	}
	return rec
}

// Path returns the file of a version.
func (r *Registry) Path(rec *Record) string {
	return filepath.Join(r.dir, rec.Model, strconv.FormatInt(rec.Version, 10), ModelFile)
}

// Verify re-hashes a version's file and compares it with its record:
// ErrDigest when the file changed after it was registered.
func (r *Registry) Verify(rec *Record) error {
	if rec.SHA256 == "" {
		return fmt.Errorf("model %s version %d has no recorded digest (it was not registered through the registry): %w", rec.Model, rec.Version, ErrInvalid)
	}
	got, err := FileSHA256(r.Path(rec))
	if err != nil {
		return err
	}
	if got != rec.SHA256 {
		return fmt.Errorf("%s: SHA-256 %s, but it was registered as %s: %w", r.Path(rec), got, rec.SHA256, ErrDigest)
	}
	return nil
}

// FileSHA256 returns a file's SHA-256 in hex.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", notFoundIf(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Model is one model of List.
type Model struct {
	Name     string           `json:"name"`
	Versions []*Record        `json:"versions"`
	Aliases  map[string]int64 `json:"aliases"`
}

// List returns every model with its versions and aliases.
func (r *Registry) List() ([]Model, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	var out []Model
	for _, e := range entries {
		if !e.IsDir() || !ValidName(e.Name()) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		versions, err := r.versionNumbers(e.Name())
		if err != nil {
			return nil, err
		}
		if len(versions) == 0 {
			continue
		}
		_, aliases, err := r.config(e.Name())
		if err != nil {
			return nil, err
		}
		m := Model{Name: e.Name(), Aliases: aliases}
		for _, v := range versions {
			rec, err := r.record(e.Name(), v)
			if err != nil {
				return nil, err
			}
			m.Versions = append(m.Versions, r.withAliases(rec, aliases))
		}
		out = append(out, m)
	}
	return out, nil
}

// Difference is one field that differs between two versions.
type Difference struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// Compare lists what differs between two records: digest, size, semantic
// version, name, inputs and outputs, signers, lineage, deprecation.
func Compare(a, b *Record) []Difference {
	var out []Difference
	add := func(field, x, y string) {
		if x != y {
			out = append(out, Difference{field, x, y})
		}
	}
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	add("sha256", a.SHA256, b.SHA256)
	add("size", strconv.FormatInt(a.Size, 10), strconv.FormatInt(b.Size, 10))
	add("semver", a.SemVer, b.SemVer)
	add("name", a.Name, b.Name)
	add("inputs", js(a.Inputs), js(b.Inputs))
	add("outputs", js(a.Outputs), js(b.Outputs))
	add("signers", strings.Join(a.Signers, ","), strings.Join(b.Signers, ","))
	add("encrypted", strconv.FormatBool(a.Encrypted), strconv.FormatBool(b.Encrypted))
	if !bytes.Equal([]byte(js(a.Lineage)), []byte(js(b.Lineage))) {
		out = append(out, Difference{"lineage", js(a.Lineage), js(b.Lineage)})
	}
	add("deprecated", a.Deprecated, b.Deprecated)
	return out
}

// GCOptions are the options of GC.
type GCOptions struct {
	// KeepLatest keeps the newest N versions of each model (0: keep all
	// that are not deprecated).
	KeepLatest int
	// DryRun reports what would go without removing it.
	DryRun bool
}

// GC removes the versions that are deprecated, or older than the newest
// KeepLatest, unless an alias points at them, and temporary directories
// that a writer left behind. It returns what it removed (or would).
func (r *Registry) GC(o GCOptions) ([]*Record, error) {
	if o.KeepLatest < 0 {
		return nil, fmt.Errorf("keep %d: want 0 or more: %w", o.KeepLatest, ErrInvalid)
	}
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	models, err := r.List()
	if err != nil {
		return nil, err
	}
	var gone []*Record
	for _, m := range models {
		aliased := map[int64]bool{}
		for _, v := range m.Aliases {
			aliased[v] = true
		}
		for i, rec := range m.Versions {
			old := o.KeepLatest > 0 && i < len(m.Versions)-o.KeepLatest
			if aliased[rec.Version] || (rec.Deprecated == "" && !old) {
				continue
			}
			gone = append(gone, rec)
			if !o.DryRun {
				if err := r.removeVersion(rec); err != nil {
					return gone, err
				}
			}
		}
		if !o.DryRun {
			r.removeTemps(m.Name)
		}
	}
	return gone, nil
}

// removeVersion renames a version out of sight first, so that readers
// never see half of it, then deletes it.
func (r *Registry) removeVersion(rec *Record) error {
	mdir := filepath.Join(r.dir, rec.Model)
	trash, err := os.MkdirTemp(mdir, tmpPrefix)
	if err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(mdir, strconv.FormatInt(rec.Version, 10)), filepath.Join(trash, "v")); err != nil {
		_ = os.Remove(trash)
		return err
	}
	syncDir(mdir)
	return os.RemoveAll(trash)
}

// removeTemps deletes temporary directories: under the lock no writer is
// using them.
func (r *Registry) removeTemps(model string) {
	entries, _ := os.ReadDir(filepath.Join(r.dir, model))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			_ = os.RemoveAll(filepath.Join(r.dir, model, e.Name()))
		}
	}
}

// Coded gives a registry error its MLE status code, for callers that report
// codes (the CLI, the C API): MLE_ERR_IO_OPEN for what does not exist,
// MLE_ERR_DIGEST_MISMATCH for a file changed after registration,
// MLE_ERR_BUSY for a lock held too long, MLE_ERR_INVALID_VALUE for names and
// conflicts. Errors that carry a code already keep it.
func Coded(err error) error {
	if err == nil || errs.CodeOf(err) != errs.Internal {
		return err
	}
	code := errs.IO
	switch {
	case errors.Is(err, ErrNotFound):
		code = errs.IOOpen
	case errors.Is(err, ErrDigest):
		code = errs.DigestMismatch
	case errors.Is(err, ErrLocked):
		code = errs.Busy
	case errors.Is(err, ErrExists), errors.Is(err, ErrDeprecated), errors.Is(err, ErrInvalid):
		code = errs.InvalidValue
	}
	return errs.Wrap(code, err, "registry")
}
