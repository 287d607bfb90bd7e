package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every generated file and region in the repository must be what tables.go
// renders now: a table edited by hand, or tables.go edited without `make gen`,
// fails here.
func TestGeneratedTablesUpToDate(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-check", "-root", "../.."}, &stdout, &stderr); rc != 0 {
		t.Fatalf("mle-gentables -check exited %d:\n%s", rc, stderr.String())
	}
}

func TestTablesAreValid(t *testing.T) {
	m, err := newModel()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.byValue) != len(statuses) || len(m.dtypes) != len(dtypes) {
		t.Fatalf("%d codes of %d, %d dtypes of %d", len(m.byValue), len(statuses), len(m.dtypes), len(dtypes))
	}
}

func TestBadTablesAreRefused(t *testing.T) {
	ok := []Status{
		{Name: "MLE_OK", Go: "OK"},
		{Name: "MLE_ERR_A", Go: "A", Value: 1, Python: "E", Rust: "A"},
		{Name: "MLE_ERR_A_X", Go: "AX", Primary: "MLE_ERR_A", Ext: 1},
	}
	dt := []DType{{ID: 1, Name: "float32", Size: 4, Go: "Float32", Rust: "F32", JS: "Float32Array"}}
	if _, err := buildModel(version, ok, dt); err != nil {
		t.Fatalf("a valid table was refused: %v", err)
	}
	with := func(s Status) []Status { return append(append([]Status(nil), ok...), s) }
	bad := map[string][]Status{
		"duplicate value":    with(Status{Name: "MLE_ERR_B", Go: "B", Primary: "MLE_ERR_A", Ext: 1}),
		"duplicate name":     with(Status{Name: "MLE_ERR_A", Go: "A2", Value: 2, Python: "E", Rust: "A"}),
		"duplicate Go name":  with(Status{Name: "MLE_ERR_B", Go: "A", Value: 2, Python: "E", Rust: "A"}),
		"unknown primary":    with(Status{Name: "MLE_ERR_B", Go: "B", Primary: "MLE_ERR_NOPE", Ext: 1}),
		"extended primary":   with(Status{Name: "MLE_ERR_B", Go: "B", Primary: "MLE_ERR_A_X", Ext: 2}),
		"primary too large":  with(Status{Name: "MLE_ERR_B", Go: "B", Value: 256, Python: "E", Rust: "A"}),
		"no Python class":    with(Status{Name: "MLE_ERR_B", Go: "B", Value: 2, Rust: "A"}),
		"value and ext":      with(Status{Name: "MLE_ERR_B", Go: "B", Value: 2, Primary: "MLE_ERR_A", Ext: 2}),
		"bad C name":         with(Status{Name: "MLE_B", Go: "B", Value: 2, Python: "E", Rust: "A"}),
		"comment terminator": with(Status{Name: "MLE_ERR_B", Go: "B", Primary: "MLE_ERR_A", Ext: 2, Doc: "a */ b"}),
	}
	for name, sts := range bad {
		if _, err := buildModel(version, sts, dt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	badDT := map[string]DType{
		"duplicate id":   {ID: 1, Name: "int8", Size: 1, Go: "Int8", Rust: "I8", JS: "Int8Array"},
		"duplicate name": {ID: 3, Name: "float32", Size: 1, Go: "Int8", Rust: "I8", JS: "Int8Array"},
		"short clash":    {ID: 3, Name: "int8", Short: "float32", Size: 1, Go: "Int8", Rust: "I8", JS: "Int8Array"},
		"no TypedArray":  {ID: 3, Name: "int8", Size: 1, Go: "Int8", Rust: "I8", JS: "Array"},
		"zero size":      {ID: 3, Name: "int8", Go: "Int8", Rust: "I8", JS: "Int8Array"},
	}
	for name, d := range badDT {
		if _, err := buildModel(version, ok, append(append([]DType(nil), dt...), d)); err == nil {
			t.Errorf("dtype %s: accepted", name)
		}
	}
}

// Only the text between the markers changes, indented like the BEGIN marker;
// a missing or misplaced marker is an error, not a guess.
func TestReplaceRegions(t *testing.T) {
	r := []region{{"r", func() string { return "new 1\n\nnew 2\n" }}}
	in := "keep\n    // BEGIN GENERATED: r (cmd/mle-gentables) - do not edit\n    old\n    // END GENERATED: r\nkeep too\n"
	want := "keep\n    // BEGIN GENERATED: r (cmd/mle-gentables) - do not edit\n    new 1\n\n    new 2\n" +
		"    // END GENERATED: r\nkeep too\n"
	got, err := replaceRegions("x.rs", in, r)
	if err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if again, _ := replaceRegions("x.rs", got, r); again != got {
		t.Error("not idempotent")
	}
	for _, text := range []string{
		"no markers\n",
		"// END GENERATED: r\n// BEGIN GENERATED: r (cmd/mle-gentables) - do not edit\n",
		"// BEGIN GENERATED: r (cmd/mle-gentables) - do not edit\n// BEGIN GENERATED: r (cmd/mle-gentables) - do not edit\n// END GENERATED: r\n",
	} {
		if _, err := replaceRegions("x.rs", text, r); err == nil {
			t.Errorf("%q: accepted", text)
		}
	}
	if b, _ := markers("x.h", "r"); !strings.HasPrefix(b, "/* ") || !strings.HasSuffix(b, " */") {
		t.Errorf("C marker %q", b)
	}
}

// -check names a stale file and exits 1; a run rewrites it and -check then passes.
func TestCheckThenWrite(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/mle-runtime/mle\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := newModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range m.targets() {
		path := filepath.Join(root, filepath.FromSlash(tg.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var text string
		for _, r := range tg.regions {
			b, e := markers(tg.path, r.name)
			text += "hand-written\n" + b + "\nstale\n" + e + "\n"
		}
		if tg.whole == nil {
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out, errOut bytes.Buffer
	if rc := run([]string{"-check", "-root", root}, &out, &errOut); rc != 1 || !strings.Contains(errOut.String(), "include/mle.h is stale") {
		t.Fatalf("-check on stale files: exit %d, %q", rc, errOut.String())
	}
	if rc := run([]string{"-root", root}, &out, &errOut); rc != 0 {
		t.Fatalf("generate: exit %d, %q", rc, errOut.String())
	}
	errOut.Reset()
	if rc := run([]string{"-check", "-root", root}, &out, &errOut); rc != 0 {
		t.Fatalf("-check after generating: exit %d, %q", rc, errOut.String())
	}
	st, err := os.Stat(filepath.Join(root, "include", "mle.h"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode not kept: %v %v", st.Mode(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "include", "mle.h")); !bytes.Contains(b, []byte("hand-written\n")) ||
		!bytes.Contains(b, []byte("#define MLE_ERR_CANCELLED_DEADLINE")) {
		t.Errorf("include/mle.h:\n%s", b)
	}
}
