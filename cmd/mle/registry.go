package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/registry"
)

const registryUsage = `usage: mle registry <verb> DIR ...

  register DIR FILE --model NAME [--version N] [--alias A] [--key-file F]
                      copy FILE in as the next (or the given) version of NAME
  list DIR            every model, its versions and aliases
  show DIR MODEL[@REF]
                      one version's record (REF: a number, an alias or latest)
  compare DIR MODEL REF1 REF2
                      what differs between two versions (exit 1 when anything does)
  alias DIR MODEL ALIAS VERSION
                      point ALIAS at VERSION (moving it)
  unalias DIR MODEL ALIAS
  deprecate DIR MODEL VERSION --reason TEXT  (--undo takes the mark away)
  gc DIR [--keep N] [--dry-run]
                      remove deprecated versions and, with --keep, all but the newest N (aliased ones stay)
  resolve URI [--verify]
                      print the file a registry://DIR/MODEL[@REF] names (--verify: check its SHA-256)

Every verb takes --json. Files are also accepted as registry://DIR/MODEL[@REF] by inspect, validate, run,
bench, verify, diff and convert (as input).
`

// registryVerbs are the verbs of mle registry, in the order of its usage.
var registryVerbs = []string{"register", "list", "show", "compare", "alias", "unalias", "deprecate", "gc", "resolve"}

// cmdRegistry runs a registry verb.
func cmdRegistry(args []string, w, _ io.Writer) (bool, error) {
	asJSON, err := runRegistry(args, w)
	return asJSON, registryError(err)
}

func runRegistry(args []string, w io.Writer) (bool, error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(w, registryUsage)
		if len(args) == 0 {
			return false, fmt.Errorf("%w: a verb is required", errUsage)
		}
		return false, nil
	}
	verb, args := args[0], args[1:]
	fs, asJSON := newFlags("registry "+verb, w)
	var (
		modelName = fs.String("model", "", "register: the model's name")
		version   = fs.Int64("version", 0, "register: the version number (default: the next)")
		alias     = fs.String("alias", "", "register: also point this alias at the new version")
		keyFile   = fs.String("key-file", "", "register: the key of an encrypted file, to validate all of it")
		reason    = fs.String("reason", "", "deprecate: why")
		undo      = fs.Bool("undo", false, "deprecate: take the mark away")
		keep      = fs.Int("keep", 0, "gc: keep the newest N versions of each model (0: all not deprecated)")
		dryRun    = fs.Bool("dry-run", false, "gc: list what would go")
		verify    = fs.Bool("verify", false, "resolve: hash the file and compare it with its record")
	)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return *asJSON, err
	}
	want := func(names ...string) error {
		if len(pos) != len(names) {
			return fmt.Errorf("%w: registry %s takes %s", errUsage, verb, strings.Join(names, " "))
		}
		return nil
	}
	var reg *registry.Registry
	switch verb {
	case "register", "list", "show", "compare", "alias", "unalias", "deprecate", "gc":
		if len(pos) == 0 {
			return *asJSON, fmt.Errorf("%w: registry %s needs the registry directory", errUsage, verb)
		}
		if verb == "register" {
			reg, err = registry.Init(pos[0])
		} else {
			reg, err = registry.Open(pos[0])
		}
		if err != nil {
			return *asJSON, err
		}
	case "resolve":
	default:
		return *asJSON, fmt.Errorf("%w: unknown registry verb %q\n\n%s", errUsage, verb, registryUsage)
	}
	switch verb {
	case "register":
		if err := want("DIR", "FILE"); err != nil {
			return *asJSON, err
		}
		if *modelName == "" {
			return *asJSON, fmt.Errorf("%w: registry register needs --model NAME", errUsage)
		}
		var key []byte
		if *keyFile != "" {
			if key, err = format.ReadKeyFile(*keyFile); err != nil {
				return *asJSON, err
			}
		}
		rec, err := reg.Register(pos[1], *modelName, registry.RegisterOptions{Version: *version, Alias: *alias, Key: key})
		if err != nil {
			return *asJSON, err
		}
		if *asJSON {
			writeJSON(w, map[string]any{"ok": true, "record": rec})
		} else {
			fmt.Fprintf(w, "registered %s version %d (sha256 %s, %s)%s\n", rec.Model, rec.Version, rec.SHA256[:16], human(rec.Size), aliasNote(rec.Aliases))
		}
	case "list":
		if err := want("DIR"); err != nil {
			return *asJSON, err
		}
		models, err := reg.List()
		if err != nil {
			return *asJSON, err
		}
		if *asJSON {
			writeJSON(w, map[string]any{"ok": true, "models": list(models)})
			return true, nil
		}
		for _, m := range models {
			fmt.Fprintf(w, "%s\n", m.Name)
			for _, rec := range m.Versions {
				fmt.Fprintf(w, "  %-4d %-10s %-9s %s%s%s\n", rec.Version, orDash(rec.SemVer), human(rec.Size), short(rec.SHA256),
					aliasNote(rec.Aliases), deprecatedNote(rec.Deprecated))
			}
		}
	case "show":
		if err := want("DIR", "MODEL[@REF]"); err != nil {
			return *asJSON, err
		}
		name, ref, _ := strings.Cut(pos[1], "@")
		rec, err := reg.Resolve(name, ref)
		if err != nil {
			return *asJSON, err
		}
		if *asJSON {
			writeJSON(w, map[string]any{"ok": true, "record": rec, "path": reg.Path(rec)})
			return true, nil
		}
		fmt.Fprintf(w, "%s version %d%s%s\n  file     %s\n  sha256   %s\n  size     %s\n  semver   %s\n  registered %s from %s\n",
			rec.Model, rec.Version, aliasNote(rec.Aliases), deprecatedNote(rec.Deprecated), reg.Path(rec), orDash(rec.SHA256),
			human(rec.Size), orDash(rec.SemVer), orDash(rec.RegisteredAt), orDash(rec.Source))
		for _, io := range rec.Inputs {
			fmt.Fprintf(w, "  input    %s %s %s\n", io.Name, io.DType, shapeString(io.Shape))
		}
		for _, io := range rec.Outputs {
			fmt.Fprintf(w, "  output   %s %s %s\n", io.Name, io.DType, shapeString(io.Shape))
		}
		if len(rec.Signers) > 0 {
			fmt.Fprintf(w, "  signed by %s\n", strings.Join(rec.Signers, ", "))
		}
	case "compare":
		if err := want("DIR", "MODEL", "REF1", "REF2"); err != nil {
			return *asJSON, err
		}
		a, err := reg.Resolve(pos[1], pos[2])
		if err != nil {
			return *asJSON, err
		}
		b, err := reg.Resolve(pos[1], pos[3])
		if err != nil {
			return *asJSON, err
		}
		diffs := registry.Compare(a, b)
		if *asJSON {
			writeJSON(w, map[string]any{"ok": true, "a": a.Version, "b": b.Version, "differences": list(diffs)})
		} else if len(diffs) == 0 {
			fmt.Fprintf(w, "versions %d and %d are the same file\n", a.Version, b.Version)
		}
		for _, d := range diffs {
			if !*asJSON {
				fmt.Fprintf(w, "%-10s %s\n%-10s %s\n", d.Field, "- "+d.A, "", "+ "+d.B)
			}
		}
		if len(diffs) > 0 {
			return *asJSON, &exitError{code: 1}
		}
	case "alias":
		if err := want("DIR", "MODEL", "ALIAS", "VERSION"); err != nil {
			return *asJSON, err
		}
		n, err := strconv.ParseInt(pos[3], 10, 64)
		if err != nil {
			return *asJSON, fmt.Errorf("%w: VERSION %q is not a number", errUsage, pos[3])
		}
		if err := reg.SetAlias(pos[1], pos[2], n); err != nil {
			return *asJSON, err
		}
		report(w, *asJSON, fmt.Sprintf("%s@%s -> version %d", pos[1], pos[2], n))
	case "unalias":
		if err := want("DIR", "MODEL", "ALIAS"); err != nil {
			return *asJSON, err
		}
		if err := reg.RemoveAlias(pos[1], pos[2]); err != nil {
			return *asJSON, err
		}
		report(w, *asJSON, fmt.Sprintf("removed %s@%s", pos[1], pos[2]))
	case "deprecate":
		if err := want("DIR", "MODEL", "VERSION"); err != nil {
			return *asJSON, err
		}
		n, err := strconv.ParseInt(pos[2], 10, 64)
		if err != nil {
			return *asJSON, fmt.Errorf("%w: VERSION %q is not a number", errUsage, pos[2])
		}
		if *undo == (*reason != "") {
			return *asJSON, fmt.Errorf("%w: deprecate takes --reason TEXT, or --undo", errUsage)
		}
		if err := reg.Deprecate(pos[1], n, *reason); err != nil {
			return *asJSON, err
		}
		report(w, *asJSON, fmt.Sprintf("%s version %d: %s", pos[1], n, map[bool]string{true: "in use again", false: "deprecated"}[*undo]))
	case "gc":
		if err := want("DIR"); err != nil {
			return *asJSON, err
		}
		gone, err := reg.GC(registry.GCOptions{KeepLatest: *keep, DryRun: *dryRun})
		if err != nil {
			return *asJSON, err
		}
		if *asJSON {
			writeJSON(w, map[string]any{"ok": true, "dry_run": *dryRun, "removed": list(gone)})
			return true, nil
		}
		verbWord := "removed"
		if *dryRun {
			verbWord = "would remove"
		}
		for _, rec := range gone {
			fmt.Fprintf(w, "%s %s version %d (%s)%s\n", verbWord, rec.Model, rec.Version, human(rec.Size), deprecatedNote(rec.Deprecated))
		}
		if len(gone) == 0 {
			fmt.Fprintln(w, "nothing to remove")
		}
	case "resolve":
		if err := want("URI"); err != nil {
			return *asJSON, err
		}
		path, rec, err := registry.ResolveURI(pos[0], *verify)
		if err != nil {
			return *asJSON, err
		}
		if *asJSON {
			writeJSON(w, map[string]any{"ok": true, "path": path, "record": rec, "verified": *verify})
		} else {
			fmt.Fprintln(w, path)
		}
	}
	return *asJSON, nil
}

func report(w io.Writer, asJSON bool, msg string) {
	if asJSON {
		writeJSON(w, map[string]any{"ok": true, "message": msg})
		return
	}
	fmt.Fprintln(w, msg)
}

func aliasNote(aliases []string) string {
	if len(aliases) == 0 {
		return ""
	}
	return " [" + strings.Join(aliases, ", ") + "]"
}

func deprecatedNote(reason string) string {
	if reason == "" {
		return ""
	}
	return " (deprecated: " + reason + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return orDash(sum)
}

// resolveFile maps a registry URI argument to its file, checking the
// file's digest against its record; other arguments are paths as given.
func resolveFile(arg string) (string, error) {
	if !registry.IsURI(arg) {
		return arg, nil
	}
	path, _, err := registry.ResolveURI(arg, true)
	if err != nil {
		return "", registryError(fmt.Errorf("%s: %w", arg, err))
	}
	return path, nil
}

// registryError gives a registry error its MLE status code; usage errors
// and exit statuses pass through.
func registryError(err error) error {
	var ee *exitError
	if errors.Is(err, errUsage) || errors.As(err, &ee) {
		return err
	}
	return registry.Coded(err)
}
