package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/mle-runtime/mle/core/serve/oippb"
)

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"--repository", dir, "extra"},
		{"--repository", dir, "--tls-cert", "c.pem"},
		{"--repository", dir, "--log-level", "loud"},
		{"--repository", dir, "--require-signature"},
		{"--repository", dir, "--request-timeout", "-1s"},
	} {
		if _, err := cmdServe(args, io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := cmdServe([]string{"--repository", filepath.Join(dir, "none"), "--listen", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil {
		t.Error("a missing repository was accepted")
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mle test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

// TestServeTLSAndDrain runs the command itself: HTTPS with the given
// certificate, JSON logs, and a clean stop on SIGTERM.
func TestServeTLSAndDrain(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(filepath.Join(repo, "m", "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	bigModel(t, filepath.Join(repo, "m", "1", "model.mle"), `{"name":"m"}`, weights(1), nil)
	certPath, keyPath, pool := writeSelfSigned(t, dir)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := cmdServe([]string{"--repository", repo, "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
			"--tls-cert", certPath, "--tls-key", keyPath}, io.Discard, pw)
		pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	var addr, grpcAddr string
	var msgs []string
	for (addr == "" || grpcAddr == "") && lines.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", lines.Bytes())
		}
		msgs = append(msgs, rec["msg"].(string))
		if rec["msg"] == "listening" {
			switch rec["protocol"] {
			case "https":
				addr = rec["addr"].(string)
			case "grpc":
				grpcAddr = rec["addr"].(string)
			default:
				t.Errorf("protocol %v", rec["protocol"])
			}
		}
	}
	if addr == "" || grpcAddr == "" {
		t.Fatalf("no listening lines: %v (%v)", msgs, <-done)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if md, err := oippb.NewGRPCInferenceServiceClient(conn).ModelMetadata(context.Background(), &oippb.ModelMetadataRequest{Name: "m"}); err != nil || md.Inputs[0].Name != "X" {
		t.Fatalf("gRPC over TLS: %v %v", md, err)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r, err := c.Get("https://" + addr + "/v2/models/m/ready")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("ready over TLS: %d", r.StatusCode)
	}
	if r, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/v2/health/live"); err == nil && r.StatusCode == 200 {
		t.Fatal("plain HTTP was served on the TLS port")
	}
	// The signal reaches the command's NotifyContext, registered before
	// it logged "listening".
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr) // the drain's log lines
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}
