// Command mle inspects, validates, runs and benchmarks .mle models.
//
// Exit status: 0 success; 1 the model or the run failed (the reason, with its
// MLE status code, is printed on stderr, and as JSON on stdout with --json);
// 2 bad usage.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
)

const usage = `usage: mle <command> [flags] FILE

commands:
  inspect FILE     header, sections, metadata, inputs/outputs, ops, tensors, planned memory
  validate FILE    every structural check and every CRC; exit 1 with the reason on failure
  run FILE --input NAME=X.npy ... [--output-dir DIR]
                   run the model on .npy inputs, write NAME.npy per output
  bench FILE       open latency and run latency percentiles
  version          print the library and format versions

Every command takes --json for machine-readable output. Run "mle <command> -h" for its flags.
`

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func([]string, io.Writer) (bool, error){
		"inspect": cmdInspect, "validate": cmdValidate, "run": cmdRun, "bench": cmdBench, "version": cmdVersion,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "mle: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	asJSON, err := cmd(args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "mle %s: %v\n", args[0], err)
		return 2
	}
	code := errs.CodeOf(err)
	fmt.Fprintf(stderr, "mle %s: %v\n", args[0], err)
	if asJSON {
		writeJSON(stdout, map[string]any{"ok": false, "error": map[string]any{
			"status": code.String(), "code": uint32(code), "message": err.Error()}})
	}
	return 1
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// parseArgs parses flags that may come before or after positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name string) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	return fs, asJSON
}

// parseFile parses the flags of a command that takes exactly one FILE.
func parseFile(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: want exactly one FILE, got %d arguments", errUsage, len(pos))
	}
	return pos[0], nil
}

func cmdVersion(args []string, w io.Writer) (bool, error) {
	fs, asJSON := newFlags("version")
	if _, err := parseArgs(fs, args); err != nil {
		return false, err
	}
	if *asJSON {
		writeJSON(w, map[string]any{"library": format.LibraryVersion,
			"format": fmt.Sprintf("%d.%d", format.VersionMajor, format.VersionMinor)})
		return true, nil
	}
	fmt.Fprintf(w, "mle %s (format %d.%d)\n", format.LibraryVersion, format.VersionMajor, format.VersionMinor)
	return false, nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
