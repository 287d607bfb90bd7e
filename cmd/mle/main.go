// Command mle inspects, validates, runs, benchmarks, compares, converts,
// signs, verifies, encrypts and decrypts .mle models.
//
// Exit status: 0 success; 1 the model or the run failed (the reason, with its
// MLE status code, is printed on stderr, and as JSON on stdout with --json);
// 2 bad usage. diff follows diff(1): 0 identical, 1 different, 2 trouble.
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

const usage = `usage: mle <command> [flags] ARGS

commands:
  inspect FILE     header, sections, metadata, lineage, policy, signatures, encryption,
                   inputs/outputs, ops, tensors (stored and raw sizes), planned memory
  validate FILE    every structural check, every CRC and signed digest; exit 1 with the reason on failure
  run FILE --input NAME=X.npy ... [--output-dir DIR]
                   run the model on .npy inputs, write NAME.npy per output
  bench FILE       open latency and run latency percentiles
  diff A B         compare two models: metadata, signatures, graph, tensor contents
                   (exit 0 identical, 1 different, 2 trouble)
  convert IN OUT [--compress zstd|lz4|brotli|none] [--quantize fp16|bf16|int8|none] [--level N]
                   store the weights anew; absent flags keep what IN has; an encrypted IN
                   stays encrypted under its key; signatures are dropped (sign again)
  keygen PREFIX    write a new Ed25519 key pair: PREFIX.key (private) and PREFIX.pub
  sign --key K IN [-o OUT]
                   sign IN with the private key K (in place without -o)
  verify --pub P IN
                   exit 0 when IN carries a valid signature by a key P (repeatable)
                   and every byte checks; exit 1 with the reason otherwise
  encrypt --key-file F IN OUT
  decrypt --key-file F IN OUT
                   seal IN with AES-256-GCM under the 32 raw bytes in F, or open it
  serve --repository DIR [--listen HOST:PORT]
                   serve DIR/<model>/<version>/model.mle over the Open Inference Protocol v2
                   (REST, Prometheus /metrics); reloads what changes; docs/serve.md
  registry VERB DIR ...
                   register, list, show, compare, alias, unalias, deprecate, gc, resolve:
                   model versions in a directory mle serve reads ("mle registry -h")
  version          print the library and format versions (also mle --version)
  completion bash|zsh|fish
                   print a shell completion script: source <(mle completion bash)

Encrypted models: --key-file F on inspect, validate, run, bench, convert, diff and verify
(inspect without it shows the public part). Signed models: --pub P (repeatable) on inspect,
validate, run and bench requires a signed model's signature to be by one of those keys;
--require-signature also refuses unsigned ones.
A FILE may also be given as registry://DIR/MODEL[@REF] (its SHA-256 is checked against its record).
Every command takes --json for machine-readable output. Run "mle <command> -h" for its flags.
`

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

// exitError makes a command exit with a status other than 1: err (nil:
// nothing more to print) is reported as any failure.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// command runs one subcommand, writing its report to w and warnings to ew.
// It returns whether it was asked for JSON.
type command func(args []string, w, ew io.Writer) (bool, error)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := commands()
	cmd, ok := cmds[args[0]]
	if !ok {
		switch args[0] {
		case "-h", "--help", "help":
			fmt.Fprint(stdout, usage)
			return 0
		case "--version", "-version", "-V":
			cmd, args = cmdVersion, append([]string{"version"}, args[1:]...)
			ok = true
		}
	}
	if !ok {
		fmt.Fprintf(stderr, "mle: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	asJSON, err := cmd(args[1:], stdout, stderr)
	status := 1
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err == nil {
			return ee.code
		}
		status, err = ee.code, ee.err
	}
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
	if code == errs.KeyRequired && !strings.Contains(err.Error(), "--key-file") {
		err = errs.New(code, "%s (pass --key-file F)", errs.Message(err))
	}
	fmt.Fprintf(stderr, "mle %s: %v\n", args[0], err)
	if asJSON {
		writeJSON(stdout, map[string]any{"ok": false, "error": map[string]any{
			"status": code.String(), "code": uint32(code), "message": err.Error()}})
	}
	return status
}

// commands maps each subcommand's name to its function.
func commands() map[string]command {
	return map[string]command{
		"inspect": cmdInspect, "validate": cmdValidate, "run": cmdRun, "bench": cmdBench, "version": cmdVersion,
		"diff": cmdDiff, "convert": cmdConvert, "keygen": cmdKeygen, "sign": cmdSign, "verify": cmdVerify,
		"encrypt": cmdEncrypt, "decrypt": cmdDecrypt, "serve": cmdServe, "registry": cmdRegistry,
		"completion": cmdCompletion,
	}
}

// list is s, or an empty slice for nil: JSON lists are [] when empty, never null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
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

// newFlags is a command's flag set; -h and --help print its flags to w
// (the command's stdout).
func newFlags(name string, w io.Writer) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are reported as usage errors, once
	fs.Usage = func() {
		if hook, ok := w.(flagLister); ok { // completion asks for the flags, not the text
			hook.listFlags(name, fs)
			return
		}
		fmt.Fprintf(w, "usage: mle %s [flags]\n\nflags:\n", name)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	asJSON := fs.Bool("json", false, "print JSON")
	return fs, asJSON
}

// parseFile parses the flags of a command that takes exactly one FILE (a
// path or a registry URI).
func parseFile(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parsePositional(fs, args, "FILE")
	if err != nil {
		return "", err
	}
	return resolveFile(pos[0])
}

// parsePositional parses the flags of a command that takes exactly the
// positional arguments named.
func parsePositional(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != len(names) {
		what := "exactly one " + names[0]
		if len(names) > 1 {
			what = strings.Join(names, " ")
		}
		return nil, fmt.Errorf("%w: want %s, got %d arguments", errUsage, what, len(pos))
	}
	return pos, nil
}

func cmdVersion(args []string, w, _ io.Writer) (bool, error) {
	fs, asJSON := newFlags("version", w)
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
