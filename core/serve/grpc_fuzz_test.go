package serve

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/serve/oippb"
)

// grpcSeedDir holds ModelInferRequest messages in the protobuf wire format.
const grpcSeedDir = "../../tests/fuzz/serve-grpc"

var writeGRPCSeeds = flag.Bool("write-grpc-seeds", false, "rewrite tests/fuzz/serve-grpc from grpcSeeds")

func grpcSeeds() map[string]*oippb.ModelInferRequest {
	in := func(name, dt string, shape ...int64) *oippb.ModelInferRequest_InferInputTensor {
		return &oippb.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape}
	}
	raw := &oippb.ModelInferRequest{ModelName: "m", Inputs: []*oippb.ModelInferRequest_InferInputTensor{in("x", "FP32", 1, 3)},
		RawInputContents: [][]byte{f32bytes(1, 2, 3)}}
	typed := &oippb.ModelInferRequest{ModelName: "m", Id: "t", Inputs: []*oippb.ModelInferRequest_InferInputTensor{in("a", "INT64", 2), in("b", "UINT8", 2), in("c", "BOOL", 1)},
		Outputs: []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "y"}}}
	typed.Inputs[0].Contents = &oippb.InferTensorContents{Int64Contents: []int64{-1, 1}}
	typed.Inputs[1].Contents = &oippb.InferTensorContents{UintContents: []uint32{0, 255}}
	typed.Inputs[2].Contents = &oippb.InferTensorContents{BoolContents: []bool{true}}
	text := &oippb.ModelInferRequest{ModelName: "m", Inputs: []*oippb.ModelInferRequest_InferInputTensor{in("s", "BYTES", 2)},
		RawInputContents: [][]byte{bytesElems("héllo", "")},
		Parameters:       map[string]*oippb.InferParameter{"timeout": {ParameterChoice: &oippb.InferParameter_Int64Param{Int64Param: 5000}}}}
	return map[string]*oippb.ModelInferRequest{"ok-raw.bin": raw, "ok-typed.bin": typed, "ok-bytes.bin": text}
}

func TestGRPCSeeds(t *testing.T) {
	for name, m := range grpcSeeds() {
		b, err := proto.Marshal(m)
		must(t, err)
		path := filepath.Join(grpcSeedDir, name)
		if *writeGRPCSeeds {
			must(t, os.MkdirAll(grpcSeedDir, 0o755))
			must(t, os.WriteFile(path, b, 0o644))
		}
		got, err := os.ReadFile(path)
		must(t, err)
		var back oippb.ModelInferRequest
		must(t, proto.Unmarshal(got, &back))
		if _, err := fromProto(&back); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzDecodeGRPC: any message decodes into tensors of exactly their
// shape's size, or is refused with a badRequest; never a panic.
func FuzzDecodeGRPC(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(grpcSeedDir, "*.bin"))
	if len(paths) == 0 {
		f.Fatal("no seeds in " + grpcSeedDir)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m oippb.ModelInferRequest
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		req, err := fromProto(&m)
		if err != nil {
			if _, ok := err.(*badRequest); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, in := range req.Inputs {
			if in.DType == dtype.String {
				continue
			}
			if want, _ := dtype.ByteSize(in.DType, in.Shape); int64(len(in.Data)) != want {
				t.Fatalf("input %q: %d bytes for shape %v", in.Name, len(in.Data), in.Shape)
			}
		}
	})
}
