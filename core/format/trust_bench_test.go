package format

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/graph"
)

// Benchmarks of signing and encryption at model sizes (bench/trust.sh runs
// them; docs/BENCHMARKS.md §14). MLE_BENCH_GIB=1 adds the 1 GiB size.

// bigSignedModel writes a model of about size bytes of float32 weights in
// 16 tensors, signed unless opts.SignKeys is set to an empty non-nil
// slice, and returns its path and public key.
func bigSignedModel(b *testing.B, size int64, opts WriteOptions) (string, ed25519.PublicKey) {
	b.Helper()
	k := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	m := NewBuilder()
	const parts = 16
	cols := int64(1024)
	rows := size / 4 / parts / cols
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(math.Sin(float64(i))) * 0.05
	}
	wb := f32bytes(w...)
	if err := m.AddInput("X", dtype.Float32, []int64{-1, rows}); err != nil {
		b.Fatal(err)
	}
	for p := 0; p < parts; p++ {
		name := fmt.Sprintf("W%d", p)
		if err := m.AddTensor(name, dtype.Float32, []int64{rows, cols}, wb); err != nil {
			b.Fatal(err)
		}
		m.AddNode(graph.Node{Op: "MatMul", Inputs: []string{"X", name}, Outputs: []string{fmt.Sprintf("Y%d", p)}})
		if err := m.AddOutput(fmt.Sprintf("Y%d", p)); err != nil {
			b.Fatal(err)
		}
	}
	if opts.SignKeys == nil {
		opts.SignKeys = []ed25519.PrivateKey{k}
	}
	data, _, err := m.BytesWith(opts)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "big.mle")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return path, k.Public().(ed25519.PublicKey)
}

func benchSizes() []int64 {
	s := []int64{1 << 20, 256 << 20}
	if os.Getenv("MLE_BENCH_GIB") != "" {
		s = append(s, 1<<30)
	}
	return s
}

func sizeName(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%dGiB", n>>30)
	}
	return fmt.Sprintf("%dMiB", n>>20)
}

// BenchmarkOpenSigned: opening a signed model with a trusted key checks
// the signature and the small sections only: the same time at every size.
func BenchmarkOpenSigned(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(sizeName(size), func(b *testing.B) {
			path, pub := bigSignedModel(b, size, WriteOptions{})
			benchOpen(b, path, OpenOptions{TrustedKeys: []ed25519.PublicKey{pub}, RequireSignature: true})
		})
	}
}

// BenchmarkVerifySigned: a verifying open reads every byte: CRCs and the
// SHA-256 of every tensor (in parallel across tensors).
func BenchmarkVerifySigned(b *testing.B) {
	for _, size := range benchSizes()[1:] {
		b.Run(sizeName(size), func(b *testing.B) {
			path, pub := bigSignedModel(b, size, WriteOptions{})
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			benchOpen(b, path, OpenOptions{TrustedKeys: []ed25519.PublicKey{pub}, RequireSignature: true, Verify: true})
		})
	}
}

// BenchmarkEncryptedLoad: open an encrypted (unsigned) model with its key
// and load every tensor (decrypting all of it), as the first run does.
func BenchmarkEncryptedLoad(b *testing.B) {
	for _, size := range benchSizes()[1:] {
		b.Run(sizeName(size), func(b *testing.B) {
			path, _ := bigSignedModel(b, size, WriteOptions{SignKeys: []ed25519.PrivateKey{}})
			plain, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			key := make([]byte, EncryptionKeySize)
			enc, err := Encrypt(plain, key, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, enc, 0o644); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			b.ResetTimer()
			for b.Loop() {
				f, err := Open(path, OpenOptions{Key: key})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := loadAll(f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// benchOpen times opening and closing path.
func benchOpen(b *testing.B, path string, opts OpenOptions) {
	b.ResetTimer()
	for b.Loop() {
		f, err := Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
