package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every command and registry verb answers -h and --help on stdout with its
// flags, exit 0, nothing on stderr.
func TestHelpOnEveryCommand(t *testing.T) {
	for name := range commands() {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := mle(name, h)
			if code != 0 || errOut != "" || !strings.Contains(out, "usage: mle "+name) {
				t.Errorf("mle %s %s: exit %d, stdout %q, stderr %q", name, h, code, out, errOut)
			}
		}
	}
	for _, verb := range registryVerbs {
		code, out, errOut := mle("registry", verb, "-h")
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: mle registry "+verb) || !strings.Contains(out, "-json") {
			t.Errorf("mle registry %s -h: exit %d, stdout %q, stderr %q", verb, code, out, errOut)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	_, want, _ := mle("version")
	for _, flag := range []string{"--version", "-V"} {
		code, out, errOut := mle(flag)
		if code != 0 || out != want || errOut != "" {
			t.Errorf("mle %s: exit %d, %q (want %q), stderr %q", flag, code, out, want, errOut)
		}
	}
	code, out, _ := mle("--version", "--json")
	var v map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["library"] == "" || v["format"] == "" {
		t.Errorf("mle --version --json: exit %d, %q", code, out)
	}
}

// The bash script, sourced into a real bash, completes commands, verbs and
// each command's own flags.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to test its completion script")
	}
	code, script, errOut := mle("completion", "bash")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p := filepath.Join(t.TempDir(), "mle.bash")
	if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words string
		want  []string
		not   []string
	}{
		{"mle ins", []string{"inspect"}, []string{"run"}},
		{"mle --ver", []string{"--version"}, nil},
		{"mle inspect --key", []string{"--key-file"}, []string{"--runs"}},
		{"mle bench --r", []string{"--runs", "--require-signature"}, nil},
		{"mle sign -", []string{"-o", "--key"}, nil},
		{"mle registry re", []string{"register", "resolve"}, []string{"list"}},
		{"mle registry gc --k", []string{"--keep", "--key-file"}, nil},
		{"mle completion f", []string{"fish"}, nil},
		{"mle inspect mod", nil, []string{"inspect"}}, // a file name: left to the shell
	} {
		cmd := exec.Command(bash, "--norc", "-c", `source "$1"; read -ra COMP_WORDS <<< "$2"; `+
			`[[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _mle; printf '%s\n' "${COMPREPLY[@]}"`,
			"bash", p, c.words)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v: %s", c.words, err, out)
		}
		got := strings.Fields(string(out))
		for _, w := range c.want {
			if !contains(got, w) {
				t.Errorf("%q completes to %v, missing %s", c.words, got, w)
			}
		}
		for _, w := range c.not {
			if contains(got, w) {
				t.Errorf("%q completes to %v, which should not hold %s", c.words, got, w)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// zsh and fish are not on the test machines: their scripts are checked for
// every command and a flag of each, and by the shell when it is there.
func TestZshFishCompletion(t *testing.T) {
	for _, shell := range []string{"zsh", "fish"} {
		code, script, errOut := mle("completion", shell)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d: %s", shell, code, errOut)
		}
		for name := range commands() {
			if !strings.Contains(script, name) {
				t.Errorf("%s script lacks command %s", shell, name)
			}
		}
		for _, flag := range []string{"key-file", "runs", "repository", "keep"} {
			if !strings.Contains(script, flag) {
				t.Errorf("%s script lacks flag %s", shell, flag)
			}
		}
		if path, err := exec.LookPath(shell); err == nil {
			if out, err := exec.Command(path, "-n", "-c", script).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v: %s", shell, err, out)
			}
		}
	}
	if code, _, errOut := mle("completion", "tcsh"); code != 2 || !strings.Contains(errOut, "bash, zsh or fish") {
		t.Errorf("unknown shell: exit %d, %q", code, errOut)
	}
}

// JSON lists are [] when empty, never null: the notes of a run without
// conversions, an empty registry, a gc that removes nothing, identical files.
func TestJSONListsNeverNull(t *testing.T) {
	dir := t.TempDir()
	m := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(1), nil)
	reg := filepath.Join(dir, "reg")
	if err := os.Mkdir(reg, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		args []string
	}{
		{"notes", []string{"run", m, "--input", "X=" + inputFile(t, dir), "--output-dir", dir}},
		{"models", []string{"registry", "list", reg}},
		{"removed", []string{"registry", "gc", reg}},
		{"differences", []string{"diff", m, m}},
	} {
		code, out, errOut := mle(append(c.args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		if got, ok := v[c.key].([]any); !ok || len(got) != 0 {
			t.Errorf("%v: %q is %#v, want []", c.args, c.key, v[c.key])
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &progressBar{w: &b, label: "validate", format: human}
	p.update(0, 4<<20)
	p.update(1<<20, 4<<20) // within 100 ms of the last draw: skipped
	p.update(4<<20, 4<<20) // the end is always drawn
	p.finish()
	got := b.String()
	for _, want := range []string{"validate [", "  0%", "100%  4.00 MiB / 4.00 MiB", "[" + strings.Repeat("=", 30) + "]"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, " 25%") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("bar %q: a throttled update was drawn, or the line was not cleared", got)
	}
	// Not a terminal, or JSON: no bar, and a nil bar is a no-op.
	f, err := os.Create(filepath.Join(t.TempDir(), "err"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, bar := range []*progressBar{newProgress(&b, "x", false, human), newProgress(f, "x", false, human),
		newProgress(os.Stderr, "x", true, human)} {
		if bar != nil {
			t.Errorf("a bar where none belongs: %+v", bar)
		}
		bar.update(1, 2)
		bar.finish()
	}
}
