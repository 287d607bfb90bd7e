package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/npy"
	"github.com/mle-runtime/mle/core/strs"
)

func f32s(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// model writes Y = X·W (X [-1, 2], W [2, 2]) plus label = ArgMax(Y).
func model(t *testing.T) string {
	t.Helper()
	b := format.NewBuilder()
	b.SetMetadataJSON([]byte(`{"name":"cli-test","version":"2.0.0","properties":{"team":"ml"}}`))
	b.AddInput("X", dtype.Float32, []int64{-1, 2})
	b.AddTensor("W", dtype.Float32, []int64{2, 2}, f32s(1, 0, 0, -1))
	b.AddNode(graph.Node{Op: "MatMul", Inputs: []string{"X", "W"}, Outputs: []string{"Y"}})
	b.AddNode(graph.Node{Op: "ArgMax", Inputs: []string{"Y"}, Outputs: []string{"label"},
		Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}, {Name: "keepdims", Type: graph.AttrInt}}})
	b.AddOutput("Y")
	b.AddOutput("label")
	p := filepath.Join(t.TempDir(), "m.mle")
	if _, err := b.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func mle(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspect(t *testing.T) {
	p := model(t)
	code, out, errOut := mle("inspect", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"cli-test", "2.0.0", "MatMul", "ArgMax", "WEIGHTS", "team = ml", "planned peak", "[?, 2]"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = mle("inspect", "--json", "--batch", "8", p)
	var v struct {
		OK      bool
		Inputs  []ioJSON
		Ops     map[string]int
		Memory  map[string]int64
		Tensors []map[string]any
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.OK {
		t.Fatalf("exit %d, json %q", code, out)
	}
	if v.Ops["MatMul"] != 1 || v.Memory["batch"] != 8 || v.Memory["planned_peak_bytes"] == 0 || len(v.Tensors) != 1 {
		t.Errorf("json %+v", v)
	}
}

func TestRunWithNpy(t *testing.T) {
	p := model(t)
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	// float64 input: the CLI converts it to the model's float32.
	data := make([]byte, 32)
	for i, v := range []float64{1, 2, 5, -3} {
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v))
	}
	if err := npy.WriteFile(x, &npy.Array{DType: dtype.Float64, Shape: []int64{2, 2}, Data: data}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := mle("run", p, "--input", "X="+x, "--output-dir", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "converted float64 to float32") || !strings.Contains(out, "[1 -2 5 3]") {
		t.Errorf("output:\n%s", out)
	}
	a, err := npy.ReadFile(filepath.Join(dir, "out", "label.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != dtype.Int64 || a.Shape[0] != 2 || binary.LittleEndian.Uint64(a.Data) != 0 || binary.LittleEndian.Uint64(a.Data[8:]) != 0 {
		t.Errorf("label.npy %+v", a)
	}
	// A single-input model takes a bare path.
	if code, _, errOut := mle("run", p, "--input", x); code != 0 {
		t.Errorf("bare --input: exit %d: %s", code, errOut)
	}
}

// A string-label model: `mle run` prints and writes the labels themselves.
func TestRunStringLabels(t *testing.T) {
	b := format.NewBuilder()
	b.AddInput("X", dtype.Float32, []int64{-1, 2})
	b.AddTensor("classes", dtype.String, []int64{2}, strs.PackStrings([]string{"spam", "ham ✓"}))
	b.AddNode(graph.Node{Op: "ArgMax", Inputs: []string{"X"}, Outputs: []string{"i"},
		Attrs: []graph.Attr{{Name: "axis", Type: graph.AttrInt, Int: 1}, {Name: "keepdims", Type: graph.AttrInt}}})
	b.AddNode(graph.Node{Op: "Gather", Inputs: []string{"classes", "i"}, Outputs: []string{"label"}})
	b.AddOutput("label")
	dir := t.TempDir()
	p := filepath.Join(dir, "m.mle")
	if _, err := b.Save(p); err != nil {
		t.Fatal(err)
	}
	x := filepath.Join(dir, "x.npy")
	if err := npy.WriteFile(x, &npy.Array{DType: dtype.Float32, Shape: []int64{3, 2}, Data: f32s(1, 0, 0, 1, 5, 6)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := mle("run", p, "--input", x, "--output-dir", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `label: string [3]`) || !strings.Contains(out, `["spam" "ham ✓" "ham ✓"]`) {
		t.Errorf("output:\n%s", out)
	}
	a, err := npy.ReadFile(filepath.Join(dir, "out", "label.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != dtype.String || strings.Join(strs.Unpack(a.Data, 3), ",") != "spam,ham ✓,ham ✓" {
		t.Errorf("label.npy: %v %q", a.DType, a.Data)
	}
	// Text where the model takes numbers is refused, naming the input.
	code, _, errOut = mle("run", p, "--input", filepath.Join(dir, "out", "label.npy"))
	if code == 0 || !strings.Contains(errOut, `input "X"`) || !strings.Contains(errOut, "MLE_ERR_DTYPE") {
		t.Errorf("text for a number input: exit %d: %s", code, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	p := model(t)
	bad := filepath.Join(t.TempDir(), "bad.mle")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 0xff // inside the weights
	os.WriteFile(bad, b, 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"inspect"}, 2, "exactly one FILE"},
		{[]string{"inspect", "--nope", p}, 2, "not defined"},
		{[]string{"validate", p}, 0, ""},
		{[]string{"validate", bad}, 1, "MLE_ERR_CHECKSUM_TENSOR"},
		{[]string{"inspect", bad}, 0, ""}, // inspect does not read weights
		{[]string{"validate", "/no/such/file.mle"}, 1, "MLE_ERR_IO_OPEN"},
		{[]string{"run", p}, 2, `no --input for "X"`},
		{[]string{"run", p, "--input", "Q=x.npy"}, 1, "MLE_ERR_INVALID_NAME"},
		{[]string{"bench", "--runs", "0", p}, 2, "--runs"},
		{[]string{"version"}, 0, ""},
	}
	for _, c := range cases {
		code, _, errOut := mle(c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("mle %v: exit %d (%q), want %d with %q", c.args, code, errOut, c.code, c.msg)
		}
	}
	code, out, _ := mle("validate", "--json", bad)
	if code != 1 || !strings.Contains(out, `"status": "MLE_ERR_CHECKSUM_TENSOR"`) {
		t.Errorf("json error: %d %s", code, out)
	}
}

func TestBench(t *testing.T) {
	code, out, errOut := mle("bench", "--runs", "50", "--opens", "5", "--batch", "3", model(t))
	if code != 0 || !strings.Contains(out, "p99") || !strings.Contains(out, "rows/s") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
}

// bench --input runs on the given array: its leading dimension is the batch
// reported, and its shape the profile's; a bad name is refused.
func TestBenchInput(t *testing.T) {
	p := model(t)
	x := filepath.Join(t.TempDir(), "x.npy")
	if err := npy.WriteFile(x, &npy.Array{DType: dtype.Float32, Shape: []int64{5, 2}, Data: f32s(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := mle("bench", "--runs", "10", "--opens", "1", "--profile", "--json", "--input", "X="+x, p)
	var got struct {
		Batch   int64
		Profile struct{ Steps []struct{ Shape []int64 } }
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s %s", code, err, out, errOut)
	}
	if got.Batch != 5 || len(got.Profile.Steps) != 2 || got.Profile.Steps[0].Shape[0] != 5 {
		t.Fatalf("bench on a [5, 2] input: %s", out)
	}
	if code, _, errOut := mle("bench", "--runs", "1", "--opens", "1", "--input", "Q="+x, p); code != 1 || !strings.Contains(errOut, "MLE_ERR_INVALID_NAME") {
		t.Fatalf("unknown input: exit %d: %s", code, errOut)
	}
}

func TestBenchProfile(t *testing.T) {
	p := model(t)
	code, out, errOut := mle("bench", "--runs", "20", "--opens", "1", "--profile", p)
	if code != 0 || !strings.Contains(out, "by op:") || !strings.Contains(out, "1× MatMul") || !strings.Contains(out, "1× ArgMax") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = mle("bench", "--runs", "20", "--opens", "1", "--profile", "--json", p)
	var got struct {
		Profile struct {
			Runs  int
			Steps []struct {
				Op     string
				Shape  []int64
				MeanUS float64 `json:"mean_us"`
			}
			ByOp []struct{ Op string } `json:"by_op"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s %s", code, err, out, errOut)
	}
	pr := got.Profile
	if pr.Runs != 20 || len(pr.Steps) != 2 || pr.Steps[0].Op != "MatMul" || pr.Steps[1].Op != "ArgMax" ||
		len(pr.Steps[0].Shape) != 2 || pr.Steps[0].Shape[0] != 1 || pr.Steps[0].MeanUS <= 0 || len(pr.ByOp) != 2 {
		t.Fatalf("profile: %+v", pr)
	}
}
