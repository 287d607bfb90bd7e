// Command mle-gentables writes MLE's status-code, dtype and version tables
// for every language from one source, tables.go in this directory.
//
// Usage, from the repository root (`make gen`):
//
//	go run ./cmd/mle-gentables          rewrite what is stale
//	go run ./cmd/mle-gentables -check   only report: exit 1 naming each stale file
//
// Whole files named *_gen.* (and capi/status_names.h) are generated
// outright. In files that are also edited by hand, only the lines between a
// "BEGIN GENERATED: <region>" marker comment and its "END GENERATED: <region>"
// are rewritten; everything else is left byte for byte.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mle-gentables", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "write nothing; exit 1 if a generated file or region is stale")
	root := fs.String("root", ".", "the repository root")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: mle-gentables [-check] [-root dir]")
		return 2
	}
	m, err := newModel()
	if err != nil {
		fmt.Fprintln(stderr, "mle-gentables: tables.go:", err)
		return 2
	}
	if err := checkRoot(*root); err != nil {
		fmt.Fprintln(stderr, "mle-gentables:", err)
		return 2
	}
	stale, err := generate(m, *root, !*check)
	if err != nil {
		fmt.Fprintln(stderr, "mle-gentables:", err)
		return 2
	}
	for _, p := range stale {
		if *check {
			fmt.Fprintf(stderr, "mle-gentables: %s is stale: run `make gen` (edit cmd/mle-gentables/tables.go, not the generated text)\n", p)
		} else {
			fmt.Fprintln(stdout, "wrote", p)
		}
	}
	if *check && len(stale) > 0 {
		return 1
	}
	return 0
}

// checkRoot refuses to write anywhere but this repository.
func checkRoot(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(b, []byte("module github.com/mle-runtime/mle\n")) {
		return fmt.Errorf("%s is not the MLE repository root: run from there or pass -root", root)
	}
	return nil
}

// A target is one file: generated whole, or only in its marked regions.
type target struct {
	path    string
	whole   func() (string, error)
	regions []region
}

type region struct {
	name   string
	render func() string
}

// generate computes every target and returns the paths whose contents
// differ from what is on disk; with write it also replaces them.
func generate(m *model, root string, write bool) ([]string, error) {
	var stale []string
	for _, t := range m.targets() {
		path := filepath.Join(root, filepath.FromSlash(t.path))
		old, err := os.ReadFile(path)
		if err != nil && !(t.whole != nil && errors.Is(err, os.ErrNotExist)) {
			return nil, err
		}
		var want string
		if t.whole != nil {
			want, err = t.whole()
		} else {
			want, err = replaceRegions(t.path, string(old), t.regions)
		}
		if err != nil {
			return nil, err
		}
		if old != nil && string(old) == want {
			continue
		}
		stale = append(stale, t.path)
		if write {
			if err := writeAtomic(path, []byte(want)); err != nil {
				return nil, err
			}
		}
	}
	return stale, nil
}

// Marker comments, by file type. The END marker names its region too, so a
// region cut or pasted into the wrong place is an error, not silent damage.
func markers(path, name string) (begin, end string) {
	open, close := "//", ""
	switch filepath.Ext(path) {
	case ".h", ".c":
		open, close = "/*", " */"
	case ".py", ".toml":
		open = "#"
	case ".md":
		open, close = "<!--", " -->"
	}
	return fmt.Sprintf("%s BEGIN GENERATED: %s (cmd/mle-gentables) - do not edit%s", open, name, close),
		fmt.Sprintf("%s END GENERATED: %s%s", open, name, close)
}

// replaceRegions rewrites the lines between each region's markers. The
// rendered text is indented like the BEGIN marker.
func replaceRegions(path, text string, regions []region) (string, error) {
	for _, r := range regions {
		begin, end := markers(path, r.name)
		lines := strings.SplitAfter(text, "\n")
		b, e := -1, -1
		for i, l := range lines {
			switch strings.TrimSpace(l) {
			case begin:
				if b >= 0 {
					return "", fmt.Errorf("%s: two BEGIN markers for region %q", path, r.name)
				}
				b = i
			case end:
				if e >= 0 {
					return "", fmt.Errorf("%s: two END markers for region %q", path, r.name)
				}
				e = i
			}
		}
		if b < 0 || e < 0 || e < b {
			return "", fmt.Errorf("%s: region %q needs the marker lines %q and %q, in that order", path, r.name, begin, end)
		}
		indent := lines[b][:len(lines[b])-len(strings.TrimLeft(lines[b], " \t"))]
		var out strings.Builder
		for _, l := range lines[:b+1] {
			out.WriteString(l)
		}
		for _, l := range strings.SplitAfter(r.render(), "\n") {
			if strings.TrimSpace(l) != "" {
				out.WriteString(indent)
			}
			out.WriteString(l)
		}
		for _, l := range lines[e:] {
			out.WriteString(l)
		}
		text = out.String()
	}
	return text, nil
}

// writeAtomic replaces path by a complete new file (temporary file in the
// same directory, then rename), so a reader or a crash never sees half of it.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
