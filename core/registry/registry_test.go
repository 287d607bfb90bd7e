package registry

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// model writes a small model file with the given semantic version and
// weight, and returns its path.
func model(t *testing.T, semver string, w float32) string {
	t.Helper()
	b := format.NewBuilder()
	md, _ := json.Marshal(map[string]any{"name": "churn", "version": semver})
	must(t, b.SetMetadataJSON(md))
	must(t, b.AddInput("x", dtype.Float32, []int64{-1, 1}))
	must(t, b.AddTensor("W", dtype.Float32, []int64{1, 1}, f32(w)))
	b.AddNode(graph.Node{Op: "MatMul", Name: "mm", Inputs: []string{"x", "W"}, Outputs: []string{"y"}})
	must(t, b.AddOutput("y"))
	path := filepath.Join(t.TempDir(), "m.mle")
	_, err := b.Save(path)
	must(t, err)
	return path
}

func leftovers(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), tmpPrefix) || strings.Contains(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestRegisterAndResolve(t *testing.T) {
	r, err := Init(filepath.Join(t.TempDir(), "reg"))
	must(t, err)
	src := model(t, "1.2.0", 1)
	rec, err := r.Register(src, "churn", RegisterOptions{Alias: "staging"})
	must(t, err)
	sum, err := FileSHA256(src)
	must(t, err)
	if rec.Version != 1 || rec.SHA256 != sum || rec.SemVer != "1.2.0" || rec.Name != "churn" || rec.Inputs[0].Name != "x" || !slices.Equal(rec.Aliases, []string{"staging"}) {
		t.Fatalf("record %+v", rec)
	}
	rec2, err := r.Register(model(t, "1.3.0", 2), "churn", RegisterOptions{})
	must(t, err)
	if rec2.Version != 2 {
		t.Fatalf("second version is %d", rec2.Version)
	}
	if _, err := r.Register(src, "churn", RegisterOptions{Version: 2}); !errors.Is(err, ErrExists) {
		t.Fatalf("re-registering version 2: %v", err)
	}
	for ref, want := range map[string]int64{"": 2, "latest": 2, "1": 1, "staging": 1} {
		got, err := r.Resolve("churn", ref)
		if err != nil || got.Version != want {
			t.Errorf("resolve %q: %v %v", ref, got, err)
		}
	}
	for _, ref := range []string{"3", "prod"} {
		if _, err := r.Resolve("churn", ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("resolve %q: %v", ref, err)
		}
	}
	if _, err := r.Resolve("nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown model: %v", err)
	}
	// Bad input leaves nothing behind.
	junk := filepath.Join(t.TempDir(), "junk.mle")
	must(t, os.WriteFile(junk, []byte("not a model at all"), 0o644))
	if _, err := r.Register(junk, "churn", RegisterOptions{}); err == nil {
		t.Fatal("a broken file was registered")
	}
	if _, err := r.Register(filepath.Join(t.TempDir(), "missing.mle"), "churn", RegisterOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	for _, name := range []string{"", "../x", "a/b", "."} {
		if _, err := r.Register(src, name, RegisterOptions{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("model name %q: %v", name, err)
		}
	}
	if l := leftovers(t, r.Dir()); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
	if v, _ := r.versionNumbers("churn"); !slices.Equal(v, []int64{1, 2}) {
		t.Fatalf("versions %v", v)
	}
	// A changed file no longer matches its digest.
	must(t, r.Verify(rec))
	must(t, os.WriteFile(r.Path(rec), append(mustRead(t, r.Path(rec)), 0), 0o644))
	if err := r.Verify(rec); !errors.Is(err, ErrDigest) {
		t.Fatalf("verify a changed file: %v", err)
	}
}

func f32(v float32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, math.Float32bits(v))
	return b
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}

// Writers racing for the same version: one wins, the others get ErrExists;
// racing for the next version: each gets its own.
func TestConcurrentWriters(t *testing.T) {
	r, err := Init(t.TempDir())
	must(t, err)
	src := model(t, "1.0.0", 1)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Register(src, "m", RegisterOptions{Version: 5})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrExists):
			t.Errorf("unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers registered version 5", won)
	}
	versions := make([]int64, 8)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := r.Register(src, "n", RegisterOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			versions[i] = rec.Version
		}()
	}
	wg.Wait()
	slices.Sort(versions)
	if !slices.Equal(versions, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("versions %v", versions)
	}
	if l := leftovers(t, r.Dir()); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestAliasesDeprecationAndGC(t *testing.T) {
	dir := t.TempDir()
	r, err := Init(dir)
	must(t, err)
	for i := 1; i <= 4; i++ {
		_, err := r.Register(model(t, "1.0."+string(rune('0'+i)), float32(i)), "m", RegisterOptions{})
		must(t, err)
	}
	// config.json's serving fields survive alias edits.
	must(t, os.WriteFile(filepath.Join(dir, "m", ConfigFile), []byte(`{"version_policy":{"all":{}},"threads":1}`), 0o644))
	must(t, r.SetAlias("m", "production", 2))
	must(t, r.SetAlias("m", "staging", 3))
	must(t, r.SetAlias("m", "production", 3)) // moves
	must(t, r.SetAlias("m", "production", 2)) // and back
	cfg := string(mustRead(t, filepath.Join(dir, "m", ConfigFile)))
	if !strings.Contains(cfg, `"version_policy"`) || !strings.Contains(cfg, `"threads": 1`) || !strings.Contains(cfg, `"production": 2`) {
		t.Fatalf("config.json: %s", cfg)
	}
	if err := r.SetAlias("m", "production", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("alias to a missing version: %v", err)
	}
	for _, bad := range []string{"latest", "7up", "a/b", ""} {
		if err := r.SetAlias("m", bad, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("alias %q: %v", bad, err)
		}
	}
	if err := r.Deprecate("m", 2, "leaks"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("deprecating an aliased version: %v", err)
	}
	must(t, r.Deprecate("m", 4, "bad calibration"))
	if err := r.SetAlias("m", "canary", 4); !errors.Is(err, ErrDeprecated) {
		t.Fatalf("aliasing a deprecated version: %v", err)
	}
	if rec, err := r.Resolve("m", Latest); err != nil || rec.Version != 3 {
		t.Fatalf("latest skips the deprecated: %v %v", rec, err)
	}
	a, _ := r.Resolve("m", "1")
	b, _ := r.Resolve("m", "4")
	fields := map[string]bool{}
	for _, d := range Compare(a, b) {
		fields[d.Field] = true
	}
	if !fields["sha256"] || !fields["semver"] || !fields["deprecated"] || fields["inputs"] {
		t.Fatalf("compare: %v", Compare(a, b))
	}
	if err := r.RemoveAlias("m", "canary"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing a missing alias: %v", err)
	}
	// A writer's leftover temporary directory.
	must(t, os.MkdirAll(filepath.Join(dir, "m", tmpPrefix+"dead"), 0o755))
	dry, err := r.GC(GCOptions{KeepLatest: 1, DryRun: true})
	must(t, err)
	var nums []int64
	for _, rec := range dry {
		nums = append(nums, rec.Version)
	}
	if !slices.Equal(nums, []int64{1, 4}) { // 2 and 3 are aliased; 4 deprecated
		t.Fatalf("gc would remove %v", nums)
	}
	if v, _ := r.versionNumbers("m"); len(v) != 4 {
		t.Fatal("a dry run removed versions")
	}
	_, err = r.GC(GCOptions{KeepLatest: 1})
	must(t, err)
	if v, _ := r.versionNumbers("m"); !slices.Equal(v, []int64{2, 3}) {
		t.Fatalf("after gc: %v", v)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
	models, err := r.List()
	must(t, err)
	if len(models) != 1 || len(models[0].Versions) != 2 || !slices.Equal(models[0].Versions[0].Aliases, []string{"production"}) {
		t.Fatalf("list: %+v", models)
	}
}

func TestURI(t *testing.T) {
	for s, want := range map[string]URI{
		"registry:///srv/models/churn@production": {"/srv/models", "churn", "production"},
		"registry://models/churn":                 {"models", "churn", Latest},
		"registry://a/b/c@7":                      {"a/b", "c", "7"},
	} {
		got, err := ParseURI(s)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", s, got, err)
		}
	}
	for _, s := range []string{"models/churn", "registry://churn", "registry://d/churn@", "registry://d/ch urn", "registry:///"} {
		if _, err := ParseURI(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", s, err)
		}
	}
	dir := t.TempDir()
	r, err := Init(dir)
	must(t, err)
	rec, err := r.Register(model(t, "2.0.0", 3), "churn", RegisterOptions{Alias: "production"})
	must(t, err)
	path, got, err := ResolveURI("registry://"+dir+"/churn@production", true)
	if err != nil || path != r.Path(rec) || got.SHA256 != rec.SHA256 {
		t.Fatalf("%s %+v %v", path, got, err)
	}
	if _, _, err := ResolveURI("registry://"+dir+"/churn@canary", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown alias: %v", err)
	}
	if _, _, err := ResolveURI("registry://"+filepath.Join(dir, "nope")+"/churn", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing registry: %v", err)
	}
}
