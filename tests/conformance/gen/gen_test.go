package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The suite is deterministic and covers every malformed class it promises.
func TestSuiteIsDeterministicAndComplete(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if err := writeSuite(d); err != nil {
			t.Fatal(err)
		}
	}
	ma, _ := os.ReadFile(filepath.Join(a, "manifest.json"))
	mb, _ := os.ReadFile(filepath.Join(b, "manifest.json"))
	if !bytes.Equal(ma, mb) {
		t.Fatal("two runs wrote different manifests")
	}
	var m Manifest
	if err := json.Unmarshal(ma, &m); err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	runs := 0
	for _, c := range m.Cases {
		if c.OpenError != nil {
			codes[c.OpenError.Name] = true
		}
		for _, r := range c.Runs {
			runs++
			if r.Error != nil {
				codes[r.Error.Name] = true
			}
		}
		for _, f := range append([]string{c.Model}, files(c)...) {
			x, err := os.ReadFile(filepath.Join(a, f))
			y, _ := os.ReadFile(filepath.Join(b, f))
			if err != nil || !bytes.Equal(x, y) {
				t.Fatalf("%s differs between runs (%v)", f, err)
			}
		}
	}
	for _, want := range []string{"MLE_ERR_FORMAT_TRUNCATED", "MLE_ERR_FORMAT_BAD_MAGIC", "MLE_ERR_FORMAT_VERSION",
		"MLE_ERR_FORMAT_REQUIRED_FLAG", "MLE_ERR_FORMAT_SECTION_BOUNDS", "MLE_ERR_FORMAT_SECTION_OVERLAP",
		"MLE_ERR_FORMAT_GAP", "MLE_ERR_FORMAT_MISALIGNED", "MLE_ERR_FORMAT_SHAPE_OVERFLOW", "MLE_ERR_FORMAT_NEGATIVE_DIM",
		"MLE_ERR_FORMAT_DTYPE", "MLE_ERR_FORMAT_TENSOR_BOUNDS", "MLE_ERR_GRAPH_MISSING_TENSOR", "MLE_ERR_GRAPH_CYCLE",
		"MLE_ERR_GRAPH_UNKNOWN_OP", "MLE_ERR_GRAPH_ATTRIBUTE", "MLE_ERR_METADATA_DUPLICATE", "MLE_ERR_METADATA_TOO_LARGE",
		"MLE_ERR_CHECKSUM_SECTION", "MLE_ERR_CHECKSUM_TENSOR", "MLE_ERR_DTYPE", "MLE_ERR_SHAPE"} {
		if !codes[want] {
			t.Errorf("no case expects %s", want)
		}
	}
	if len(m.Cases) < 100 || runs < 100 {
		t.Errorf("only %d cases, %d runs", len(m.Cases), runs)
	}
}

func files(c Case) []string {
	var out []string
	for _, r := range c.Runs {
		for _, t := range append(r.Inputs, r.Outputs...) {
			if t.File != "" { // strings are in the manifest
				out = append(out, t.File)
			}
		}
	}
	return out
}
