package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// encodingOf returns the encoding inspect --json reports for tensor W.
func encodingOf(t *testing.T, path string, extra ...string) (enc string, stored, raw float64, props map[string]string) {
	t.Helper()
	code, out, errOut := mle(append([]string{"inspect", "--json", path}, extra...)...)
	var v struct {
		Tensors  []map[string]any `json:"tensors"`
		Metadata struct {
			Properties map[string]string `json:"properties"`
		} `json:"metadata"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Tensors) != 1 {
		t.Fatalf("inspect --json %s: exit %d: %s %s", path, code, out, errOut)
	}
	w := v.Tensors[0]
	return w["encoding"].(string), w["bytes"].(float64), w["raw_bytes"].(float64), v.Metadata.Properties
}

func TestConvertLossless(t *testing.T) {
	dir := t.TempDir()
	src := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(4), nil)
	x := inputFile(t, dir)
	want := runY(t, src, x)
	for _, c := range []string{"zstd", "lz4", "brotli"} {
		out := filepath.Join(dir, c+".mle")
		code, stdout, errOut := mle("convert", src, out, "--compress", c)
		if code != 0 {
			t.Fatalf("convert --compress %s: exit %d: %s", c, code, errOut)
		}
		wantAll(t, "convert output", stdout, src+" -> "+out, "file:", "8.0 KiB stored (8.0 KiB raw; 1 raw)", "1 "+c+")")
		if strings.Contains(stdout, "quantized") || errOut != "" {
			t.Errorf("convert --compress %s: %s %s", c, stdout, errOut)
		}
		enc, stored, raw, _ := encodingOf(t, out)
		if enc != c || stored >= raw || raw != inDim*outDim*4 {
			t.Errorf("%s: W is %s, %v of %v bytes", c, enc, stored, raw)
		}
		if got := runY(t, out, x); !slices.Equal(got, want) {
			t.Errorf("%s: outputs differ: %v, want %v", c, got[:4], want[:4])
		}
		// Flags left out keep what the input has.
		kept := filepath.Join(dir, c+"-kept.mle")
		if code, _, errOut := mle("convert", out, kept); code != 0 {
			t.Fatalf("convert with no flags: %s", errOut)
		}
		if enc, _, _, _ := encodingOf(t, kept); enc != c {
			t.Errorf("convert with no flags turned %s into %s", c, enc)
		}
		// --compress none takes it back to raw, the same bytes as the source.
		back := filepath.Join(dir, c+"-none.mle")
		if code, _, errOut := mle("convert", out, back, "--compress", "none"); code != 0 {
			t.Fatalf("convert --compress none: %s", errOut)
		}
		if code, _, _ := mle("diff", src, back); code != 0 {
			_, d, _ := mle("diff", src, back)
			t.Errorf("%s then none differs from the source:\n%s", c, d)
		}
	}
	if code, _, errOut := mle("convert", src, filepath.Join(dir, "x.mle"), "--compress", "int8"); code != 2 || !strings.Contains(errOut, "zstd, lz4, brotli, none") {
		t.Errorf("--compress int8: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("convert", src, filepath.Join(dir, "x.mle"), "--quantize", "zstd"); code != 2 || !strings.Contains(errOut, "fp16, bf16, int8, none") {
		t.Errorf("--quantize zstd: exit %d: %s", code, errOut)
	}
	if code, _, errOut := mle("convert", src); code != 2 || !strings.Contains(errOut, "want IN OUT") {
		t.Errorf("convert with one argument: exit %d: %s", code, errOut)
	}
}

func TestConvertQuantize(t *testing.T) {
	dir := t.TempDir()
	src := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(5), nil)
	x := inputFile(t, dir)
	want := runY(t, src, x)
	for _, q := range []struct {
		scheme string
		tol    float64 // of an output, relative to the largest output
		bytes  int
	}{{"fp16", 1e-3, 2}, {"bf16", 1e-2, 2}, {"int8", 3e-2, 1}} {
		out := filepath.Join(dir, q.scheme+".mle")
		code, stdout, errOut := mle("convert", src, out, "--quantize", q.scheme, "--compress", "zstd", "--level", "3")
		if code != 0 {
			t.Fatalf("convert --quantize %s: exit %d: %s", q.scheme, code, errOut)
		}
		wantAll(t, "convert output", stdout, "quantized: 1 tensors to "+q.scheme, "max abs weight error")
		enc, stored, _, props := encodingOf(t, out)
		if enc != "zstd" || stored >= float64(inDim*outDim*q.bytes)+256 {
			t.Errorf("%s: W is %s, %v bytes", q.scheme, enc, stored)
		}
		var rec struct {
			Scheme  string  `json:"scheme"`
			Tensors int     `json:"tensors"`
			MaxErr  float64 `json:"max_abs_weight_error"`
		}
		if json.Unmarshal([]byte(props["mle.quantization"]), &rec) != nil || rec.Scheme != q.scheme || rec.Tensors != 1 {
			t.Errorf("%s: mle.quantization = %q", q.scheme, props["mle.quantization"])
		}
		_, text, _ := mle("inspect", out)
		wantAll(t, "inspect of a quantized model", text, "quantization: "+q.scheme+" of 1 tensors")

		got := runY(t, out, x)
		var scale, worst float64
		for i := range want {
			scale = math.Max(scale, math.Abs(float64(want[i])))
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > q.tol*scale {
			t.Errorf("%s: outputs off by %g (largest output %g)", q.scheme, worst, scale)
		}
		if q.scheme == "int8" && (worst == 0 || rec.MaxErr == 0) {
			t.Errorf("int8 changed nothing: output error %g, weight error %g", worst, rec.MaxErr)
		}
	}
	// --quantize none restores float32 storage (the values stay rounded).
	back := filepath.Join(dir, "back.mle")
	if code, _, errOut := mle("convert", filepath.Join(dir, "int8.mle"), back, "--quantize", "none", "--compress", "none"); code != 0 {
		t.Fatal(errOut)
	}
	if enc, _, _, _ := encodingOf(t, back); enc != "raw" {
		t.Errorf("--quantize none --compress none gives %s", enc)
	}
}

// Converting a signed model warns that the result is not signed; an
// encrypted one stays encrypted under its key.
func TestConvertSignedEncrypted(t *testing.T) {
	dir := t.TempDir()
	keyA, pubA, idA := keygen(t, filepath.Join(dir, "a"))
	src := bigModel(t, filepath.Join(dir, "m.mle"), baseMeta, weights(6), nil)
	x := inputFile(t, dir)
	want := runY(t, src, x)
	if code, _, errOut := mle("sign", "--key", keyA, src); code != 0 {
		t.Fatal(errOut)
	}
	out := filepath.Join(dir, "c.mle")
	code, _, errOut := mle("convert", src, out, "--compress", "lz4")
	if code != 0 || !strings.Contains(errOut, "warning: "+src+" was signed (key "+idA+")") || !strings.Contains(errOut, "sign it again") {
		t.Errorf("convert a signed model: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := mle("verify", "--pub", pubA, out); code != 1 || !strings.Contains(errOut, "MLE_ERR_SIGNATURE_REQUIRED") {
		t.Errorf("verify the converted model: exit %d: %s", code, errOut)
	}

	key := keyFile(t, dir, "k", 3)
	enc := filepath.Join(dir, "e.mle")
	if code, _, errOut := mle("encrypt", "--key-file", key, src, enc); code != 0 {
		t.Fatal(errOut)
	}
	// The signature is sealed inside: verify needs the key to reach it.
	if code, out, errOut := mle("verify", "--pub", pubA, "--key-file", key, enc); code != 0 || !strings.Contains(out, "signed by trusted key "+idA) {
		t.Errorf("verify an encrypted signed model: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := mle("verify", "--pub", pubA, enc); code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_REQUIRED") {
		t.Errorf("verify an encrypted model without key: exit %d: %s", code, errOut)
	}
	_, text, _ := mle("inspect", enc)
	wantAll(t, "inspect of an encrypted signed model", text, "signatures: sealed inside the encryption")
	if code, _, errOut := mle("inspect", "--pub", pubA, "--require-signature", enc); code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_REQUIRED") {
		t.Errorf("inspect --require-signature of an encrypted model without key: exit %d: %s", code, errOut)
	}
	_, text, _ = mle("inspect", "--key-file", key, "--pub", pubA, enc)
	wantAll(t, "inspect --key-file --pub", text, "key "+idA+"  verified by a trusted key")
	encOut := filepath.Join(dir, "ec.mle")
	code, stdout, errOut := mle("convert", enc, encOut, "--key-file", key, "--compress", "brotli")
	if code != 0 || !strings.Contains(stdout, "encrypted again with the same key") || !strings.Contains(errOut, "was signed") {
		t.Fatalf("convert an encrypted model: exit %d: %s %s", code, stdout, errOut)
	}
	if code, _, errOut := mle("run", encOut, "--input", x); code != 1 || !strings.Contains(errOut, "MLE_ERR_KEY_REQUIRED") {
		t.Errorf("converted encrypted model runs without a key: exit %d: %s", code, errOut)
	}
	if enc, _, _, _ := encodingOf(t, encOut, "--key-file", key); enc != "brotli" {
		t.Errorf("encrypted conversion stored W as %s", enc)
	}
	if got := runY(t, encOut, x, "--key-file", key); !slices.Equal(got, want) {
		t.Errorf("outputs differ after converting an encrypted model")
	}
}
