package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryVerbs(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "reg")
	src := model(t)
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"registry", "register", reg, src, "--model", "churn", "--alias", "staging"}, 0, "registered churn version 1"},
		{[]string{"registry", "register", reg, src, "--model", "churn"}, 0, "registered churn version 2"},
		{[]string{"registry", "register", reg, src, "--model", "churn", "--version", "2"}, 1, "already exists"},
		{[]string{"registry", "alias", reg, "churn", "production", "2"}, 0, "churn@production -> version 2"},
		{[]string{"registry", "list", reg}, 0, "[production]"},
		{[]string{"registry", "show", reg, "churn@staging"}, 0, "churn version 1 [staging]"},
		{[]string{"registry", "show", reg, "churn@canary"}, 1, "MLE_ERR_IO_OPEN"},
		{[]string{"registry", "compare", reg, "churn", "1", "2"}, 0, "the same file"},
		{[]string{"registry", "deprecate", reg, "churn", "2", "--reason", "x"}, 1, `aliased as "production"`},
		{[]string{"registry", "deprecate", reg, "churn", "1"}, 2, "--reason TEXT, or --undo"},
		{[]string{"registry", "unalias", reg, "churn", "staging"}, 0, "removed churn@staging"},
		{[]string{"registry", "deprecate", reg, "churn", "1", "--reason", "old"}, 0, "deprecated"},
		{[]string{"registry", "gc", reg, "--dry-run"}, 0, "would remove churn version 1"},
		{[]string{"registry", "gc", reg}, 0, "removed churn version 1"},
		{[]string{"registry", "resolve", "registry://" + reg + "/churn@production", "--verify"}, 0, filepath.Join(reg, "churn", "2", "model.mle")},
		{[]string{"inspect", "registry://" + reg + "/churn@production"}, 0, "MatMul"},
		{[]string{"run", "registry://" + reg + "/churn@nope"}, 1, "no version or alias"},
		{[]string{"registry", "list", filepath.Join(reg, "missing")}, 1, "MLE_ERR_IO_OPEN"},
		{[]string{"registry", "frobnicate", reg}, 2, "unknown registry verb"},
		{[]string{"registry", "show", reg}, 2, "takes DIR MODEL[@REF]"},
	}
	for _, s := range steps {
		code, out, errOut := mle(s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Fatalf("mle %s: exit %d (want %d)\n%s%s\nwant %q", strings.Join(s.args, " "), code, s.code, out, errOut, s.want)
		}
	}
	// --json, and a file changed after it was registered.
	code, out, _ := mle("registry", "show", reg, "churn@production", "--json")
	var show struct {
		Record struct{ SHA256 string }
		Path   string
	}
	if code != 0 || json.Unmarshal([]byte(out), &show) != nil || len(show.Record.SHA256) != 64 {
		t.Fatalf("show --json: %d %s", code, out)
	}
	b, err := os.ReadFile(show.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(show.Path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := mle("inspect", "registry://"+reg+"/churn@production"); code != 1 || !strings.Contains(errOut, "MLE_ERR_DIGEST_MISMATCH") {
		t.Fatalf("inspect after a change: %d %s", code, errOut)
	}
}
