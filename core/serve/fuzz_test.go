package serve

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/strs"
)

// seedDir holds the committed request corpus: NAME.json is a JSON body,
// NAME.bin is "<header length>\n" and a binary-extension body.
const seedDir = "../../tests/fuzz/serve"

type seed struct {
	name      string
	body      []byte
	headerLen int64
}

func readSeeds(t testing.TB) []seed {
	var seeds []seed
	for _, pattern := range []string{"*.json", "*.bin"} {
		paths, _ := filepath.Glob(filepath.Join(seedDir, pattern))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h := int64(-1)
			if filepath.Ext(p) == ".bin" {
				line, rest, ok := bytes.Cut(b, []byte("\n"))
				n, err := strconv.ParseInt(string(line), 10, 64)
				if !ok || err != nil {
					t.Fatalf("%s: the first line must be the header length", p)
				}
				h, b = n, rest
			}
			seeds = append(seeds, seed{filepath.Base(p), b, h})
		}
	}
	if len(seeds) < 8 {
		t.Fatalf("only %d seeds in %s", len(seeds), seedDir)
	}
	return seeds
}

// The seeds decode as their names say: ok-* without error, bad-* with one.
func TestSeedCorpus(t *testing.T) {
	for _, sd := range readSeeds(t) {
		_, err := decodeRequest(sd.body, sd.headerLen)
		if wantOK := sd.name[:3] == "ok-"; (err == nil) != wantOK {
			t.Errorf("%s: err = %v", sd.name, err)
		}
	}
}

// FuzzDecodeRequest: any body decodes or is refused with a badRequest,
// never a panic; what decodes has data of exactly its shape's size, and
// survives an encode as a JSON response and a decode back bit for bit.
func FuzzDecodeRequest(f *testing.F) {
	for _, sd := range readSeeds(f) {
		f.Add(sd.body, sd.headerLen)
	}
	f.Fuzz(func(t *testing.T, body []byte, headerLen int64) {
		req, err := decodeRequest(body, headerLen)
		if err != nil {
			if _, ok := err.(*badRequest); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, in := range req.Inputs {
			n, ok := dtype.NumElements(in.Shape)
			if !ok {
				t.Fatalf("input %q: shape %v overflows but decoded", in.Name, in.Shape)
			}
			if in.DType == dtype.String {
				head, _ := strs.HeaderSize(n)
				if int64(len(in.Data)) < head || binary.LittleEndian.Uint64(in.Data[8*n:]) != uint64(int64(len(in.Data))-head) {
					t.Fatalf("input %q: packed strings inconsistent", in.Name)
				}
				continue
			}
			if want, _ := dtype.ByteSize(in.DType, in.Shape); int64(len(in.Data)) != want {
				t.Fatalf("input %q: %d bytes for shape %v", in.Name, len(in.Data), in.Shape)
			}
			if in.DType == dtype.Float16 || in.DType == dtype.BFloat16 {
				continue // NaN payloads need not survive a float32 detour
			}
			js := appendData(nil, in.DType, in.Data, n)
			back, err := parseJSONData(append(append([]byte{'['}, js...), ']'), in.DType, n)
			if err != nil {
				if bytes.Contains(js, []byte("NaN")) || bytes.Contains(js, []byte("Infinity")) {
					continue // binary data may hold what JSON cannot
				}
				t.Fatalf("input %q: its JSON %s does not decode: %v", in.Name, truncate(string(js), 80), err)
			}
			if !bytes.Equal(back, in.Data) && !hasNaN(in.DType, in.Data) {
				t.Fatalf("input %q: JSON round trip changed the data", in.Name)
			}
		}
	})
}

func hasNaN(dt dtype.DType, b []byte) bool {
	switch dt {
	case dtype.Float32:
		for i := 0; i+4 <= len(b); i += 4 {
			if v := math.Float32frombits(binary.LittleEndian.Uint32(b[i:])); v != v {
				return true
			}
		}
	case dtype.Float64:
		for i := 0; i+8 <= len(b); i += 8 {
			if v := math.Float64frombits(binary.LittleEndian.Uint64(b[i:])); v != v {
				return true
			}
		}
	}
	return false
}
