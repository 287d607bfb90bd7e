package serve

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mle-runtime/mle/core/format"
)

// Signed and encrypted models: repository-level trusted keys refuse what
// they do not vouch for, and a model's key_file opens its encrypted files.
func TestSignedAndEncryptedModels(t *testing.T) {
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(nil)
	must(t, err)
	_, other, err := ed25519.GenerateKey(nil)
	must(t, err)
	plain := filepath.Join(t.TempDir(), "plain.mle")
	writeLinear(t, plain, 1)
	for _, c := range []struct {
		model string
		key   ed25519.PrivateKey
	}{{"signed", priv}, {"foreign", other}} {
		must(t, os.MkdirAll(filepath.Join(dir, c.model, "1"), 0o755))
		must(t, format.SignFile(plain, filepath.Join(dir, c.model, "1", ModelFile), c.key))
	}
	writeLinear(t, filepath.Join(dir, "unsigned", "1", ModelFile), 1)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	must(t, os.MkdirAll(filepath.Join(dir, "sealed", "1"), 0o755))
	signed := filepath.Join(t.TempDir(), "signed.mle")
	must(t, format.SignFile(plain, signed, priv))
	must(t, format.EncryptFile(signed, filepath.Join(dir, "sealed", "1", ModelFile), key))
	must(t, os.WriteFile(filepath.Join(dir, "sealed", "model.key"), key, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "sealed", ConfigFile), []byte(`{"key_file":"model.key"}`), 0o644))

	_, hs := newTestServer(t, Options{Repository: dir, TrustedKeys: []ed25519.PublicKey{pub}, RequireSignature: true})
	body := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,0,0]}],"outputs":[{"name":"scores"}]}`
	for model, want := range map[string]string{
		"signed":   `"data":[1.5,-0.5]`,
		"sealed":   `"data":[1.5,-0.5]`,
		"foreign":  "failed to load",
		"unsigned": "failed to load",
	} {
		r := post(t, hs.URL+"/v2/models/"+model+"/infer", body)
		if !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d %s, want %q", model, r.status, r.body, want)
		}
	}
	idx := string(do(t, "GET", hs.URL+"/v2/repository/index", nil, nil).body)
	for _, want := range []string{`"name":"foreign","version":"1","state":"UNAVAILABLE","reason":"MLE_ERR_SIGNATURE_UNTRUSTED`,
		`"name":"unsigned","version":"1","state":"UNAVAILABLE","reason":"MLE_ERR_SIGNATURE_REQUIRED`} {
		if !strings.Contains(idx, want) {
			t.Errorf("index lacks %s:\n%s", want, idx)
		}
	}
}
