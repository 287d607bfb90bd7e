package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

func TestDiffIdentical(t *testing.T) {
	dir := t.TempDir()
	a := bigModel(t, filepath.Join(dir, "a.mle"), baseMeta, weights(9), nil)
	b := bigModel(t, filepath.Join(dir, "b.mle"), baseMeta, weights(9), nil)
	code, out, errOut := mle("diff", a, b)
	if code != 0 || !strings.Contains(out, "are identical") || !strings.Contains(out, "2 nodes") || errOut != "" {
		t.Errorf("identical models: exit %d: %s %s", code, out, errOut)
	}
	// The same model compressed: the storage differs, the contents do not.
	z := filepath.Join(dir, "z.mle")
	if code, _, errOut := mle("convert", a, z, "--compress", "zstd"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ = mle("diff", a, z)
	if code != 1 || !strings.Contains(out, "W encoding: raw -> zstd") || strings.Contains(out, "contents") || !strings.Contains(out, "1 difference\n") {
		t.Errorf("compressed copy: exit %d:\n%s", code, out)
	}
	// Encrypted: compared inside with --key-file; the encryption is named.
	key := keyFile(t, dir, "k", 4)
	e := filepath.Join(dir, "e.mle")
	if code, _, errOut := mle("encrypt", "--key-file", key, a, e); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ = mle("diff", "--key-file", key, a, e)
	if code != 1 || !strings.Contains(out, "encryption: none -> AES-256-GCM") {
		t.Errorf("encrypted copy: exit %d:\n%s", code, out)
	}
	// Trouble is exit status 2, as for diff(1).
	if code, _, errOut := mle("diff", a, e); code != 2 || !strings.Contains(errOut, "MLE_ERR_KEY_REQUIRED") {
		t.Errorf("encrypted without key: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("diff", a, filepath.Join(dir, "missing.mle")); code != 2 || !strings.Contains(errOut, "MLE_ERR_IO_OPEN") {
		t.Errorf("missing file: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("diff", a); code != 2 || !strings.Contains(errOut, "want A B") {
		t.Errorf("one file: exit %d: %s", code, errOut)
	}
	code, out, _ = mle("diff", "--json", a, filepath.Join(dir, "missing.mle"))
	if code != 2 || !strings.Contains(out, `"status": "MLE_ERR_IO_OPEN"`) {
		t.Errorf("--json trouble: exit %d: %s", code, out)
	}
}

func TestDiffChanges(t *testing.T) {
	dir := t.TempDir()
	keyA, _, idA := keygen(t, filepath.Join(dir, "a"))
	a := bigModel(t, filepath.Join(dir, "a.mle"), baseMeta, weights(10), nil)
	w := weights(10)
	w[5] += 0.5
	meta := `{"name":"big","version":"2.1.0","created":"2024-05-01T12:00:00Z","properties":{"team":"ops","stage":"prod"},
		"lineage":{"author":"ann","params":{"lr":0.1}},"policy":{"users":["nobody-here"]}}`
	b := bigModelKeepdims(t, filepath.Join(dir, "b.mle"), meta, w, 1, func(b *format.Builder) {
		b.AddTensor("unused", dtype.Int64, []int64{1}, make([]byte, 8))
	})
	if code, _, errOut := mle("sign", "--key", keyA, b); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := mle("diff", a, b)
	if code != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	wantAll(t, "diff", out,
		"--- "+a+"\n+++ "+b+"\n",
		"metadata:\n",
		`version: "2.0.0" -> "2.1.0"`,
		`property stage: (absent) -> "prod"`,
		`property team: "ml" -> "ops"`,
		"lineage:\n",
		`author: (absent) -> "ann"`,
		"param lr: (absent) -> 0.1",
		`policy:`, `users: (absent) -> "nobody-here"`,
		"signatures:\n  signed by: (unsigned) -> "+idA,
		`node "am" (ArgMax) attr keepdims: 0 -> 1`,
		"graph:\n  output 1: label int64 [?] -> label int64 [?, 1]",
		"W contents: sha256 ",
		"(max abs difference 0.5)",
		"unused: (absent) -> int64 [1]",
	)
	if strings.Contains(out, "node \"mm\"") {
		t.Errorf("diff names the unchanged node:\n%s", out)
	}
	// The same, as JSON.
	code, out, _ = mle("diff", "--json", a, b)
	var v struct {
		OK          bool         `json:"ok"`
		Identical   bool         `json:"identical"`
		Differences []difference `json:"differences"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &v) != nil || !v.OK || v.Identical {
		t.Fatalf("--json: exit %d: %s", code, out)
	}
	found := false
	for _, d := range v.Differences {
		if d.Part == "metadata" && d.What == "version" && d.A == `"2.0.0"` && d.B == `"2.1.0"` {
			found = true
		}
	}
	if !found {
		t.Errorf("--json lacks the version change: %+v", v.Differences)
	}

	// Nodes without names are matched by index.
	c := bigModel(t, filepath.Join(dir, "c.mle"), baseMeta, weights(10), func(b *format.Builder) {
		b.AddNode(graph.Node{Op: "Relu", Inputs: []string{"Y"}, Outputs: []string{"r"}})
		b.AddOutput("r")
	})
	code, out, _ = mle("diff", a, c)
	wantAll(t, "diff with an added node", out, "nodes: 2 -> 3", "node #2: (absent) -> Relu(Y) -> r", "output 2: (absent) -> r float32 [?, 32]")
	if code != 1 {
		t.Errorf("exit %d", code)
	}
}

// inspect shows lineage, policy (even one refusing this process) and a
// quantization record; run refuses what the policy refuses.
func TestInspectLineagePolicy(t *testing.T) {
	dir := t.TempDir()
	sha := strings.Repeat("ab", 32)
	meta := `{"name":"big","version":"2.0.0","created":"2024-05-01T12:00:00Z",
		"lineage":{"parents":[{"name":"base","version":"1.0.0","sha256":"` + sha + `"}],
			"dataset":{"name":"iris","rows":150},"git_commit":"0123abc","author":"ann","params":{"lr":0.01,"opt":"adam"}},
		"policy":{"hosts":["no-such-host.invalid"],"expires":"2999-01-01T00:00:00Z"}}`
	p := bigModel(t, filepath.Join(dir, "m.mle"), meta, weights(11), nil)
	code, out, errOut := mle("inspect", p)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errOut)
	}
	wantAll(t, "inspect", out,
		"lineage:\n",
		"parent:      base 1.0.0 sha256:"+sha,
		"dataset:     iris (150 rows)",
		"git commit:  0123abc",
		"author:      ann",
		"param:       lr = 0.01",
		`param:       opt = "adam"`,
		"policy:\n",
		"expires:     2999-01-01T00:00:00Z",
		"hosts:       no-such-host.invalid",
		`refuses this process: access policy: host`,
		"MatMul",
		"memory: not planned: MLE_ERR_POLICY",
	)
	code, out, _ = mle("inspect", "--json", p)
	var v struct {
		Metadata struct {
			Lineage *format.Lineage `json:"lineage"`
			Policy  *format.Policy  `json:"policy"`
		} `json:"metadata"`
		PolicyCheck map[string]any `json:"policy_check"`
		Memory      map[string]any `json:"memory"`
		Nodes       int            `json:"nodes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Metadata.Lineage == nil || v.Metadata.Lineage.Author != "ann" ||
		v.Metadata.Policy == nil || v.PolicyCheck["allows_this_process"] != false || v.Nodes != 2 || v.Memory["error"] == nil {
		t.Errorf("inspect --json: exit %d: %s", code, out)
	}
	x := inputFile(t, dir)
	if code, _, errOut := mle("run", p, "--input", x); code != 1 || !strings.Contains(errOut, "MLE_ERR_POLICY") {
		t.Errorf("run under a refusing policy: exit %d: %s", code, errOut)
	}
	code, out, errOut = mle("validate", p)
	if code != 0 || !strings.Contains(out, "note: its access policy refuses this process") {
		t.Errorf("validate: exit %d: %s %s", code, out, errOut)
	}
	// Encrypted: the public part keeps lineage and policy.
	key := keyFile(t, dir, "k", 5)
	e := filepath.Join(dir, "e.mle")
	if code, _, errOut := mle("encrypt", "--key-file", key, p, e); code != 0 {
		t.Fatal(errOut)
	}
	_, out, _ = mle("inspect", e)
	wantAll(t, "inspect of the encrypted model", out, "pass --key-file to see the graph", "git commit:  0123abc", "refuses this process")
}
