package serve

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/mle-runtime/mle/core/serve/oippb"
)

// grpcClient serves s over gRPC on a loopback port.
func grpcClient(t *testing.T, s *Server) oippb.GRPCInferenceServiceClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := s.GRPCServer()
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return oippb.NewGRPCInferenceServiceClient(conn)
}

func TestGRPC(t *testing.T) {
	s, _ := newTestServer(t, Options{Repository: repoWith(t)})
	c := grpcClient(t, s)
	ctx := context.Background()
	if r, err := c.ServerReady(ctx, &oippb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ready: %v %v", r, err)
	}
	md, err := c.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: "linear"})
	if err != nil || md.Inputs[0].Datatype != "FP32" || !slices.Equal(md.Inputs[0].Shape, []int64{-1, 3}) || len(md.Outputs) != 2 {
		t.Fatalf("metadata: %v %v", md, err)
	}
	if r, err := c.ModelReady(ctx, &oippb.ModelReadyRequest{Name: "linear", Version: "1"}); err != nil || r.Ready {
		t.Fatalf("version 1 (not served) ready: %v %v", r, err)
	}
	x := []float32{1, 2, 3, 0, 5.25, -1}
	want := f32bytes(linearScores(2, x)...)
	// Raw contents.
	r, err := c.ModelInfer(ctx, &oippb.ModelInferRequest{ModelName: "linear", Id: "g1",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 3}}},
		Outputs:          []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "scores"}},
		RawInputContents: [][]byte{f32bytes(x...)}})
	if err != nil || r.Id != "g1" || r.ModelVersion != "2" || len(r.RawOutputContents) != 1 || string(r.RawOutputContents[0]) != string(want) {
		t.Fatalf("raw: %v %v", r, err)
	}
	// Typed contents.
	r, err = c.ModelInfer(ctx, &oippb.ModelInferRequest{ModelName: "linear", ModelVersion: "2",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 3},
			Contents: &oippb.InferTensorContents{Fp32Contents: x}}}})
	if err != nil || len(r.Outputs) != 2 || r.Outputs[1].Name != "label" || string(r.RawOutputContents[0]) != string(want) {
		t.Fatalf("typed: %v %v", r, err)
	}
	// BYTES both ways.
	r, err = c.ModelInfer(ctx, &oippb.ModelInferRequest{ModelName: "echo",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "text", Datatype: "BYTES", Shape: []int64{2},
			Contents: &oippb.InferTensorContents{BytesContents: [][]byte{[]byte("héllo"), {}}}}}})
	if err != nil || string(r.RawOutputContents[0]) != string(bytesElems("héllo", "")) {
		t.Fatalf("bytes: %v %v", r, err)
	}
	for _, c2 := range []struct {
		req  *oippb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{&oippb.ModelInferRequest{ModelName: "nope", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 3}}}}, codes.NotFound, `unknown model "nope"`},
		{&oippb.ModelInferRequest{ModelName: "linear", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 3}}}}, codes.InvalidArgument, "neither contents nor raw_input_contents"},
		{&oippb.ModelInferRequest{ModelName: "linear", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 3}}}, RawInputContents: [][]byte{make([]byte, 8)}}, codes.InvalidArgument, "raw_input_contents is 8 bytes but a FP32 tensor of shape [1 3] takes 12 bytes"},
		{&oippb.ModelInferRequest{ModelName: "linear", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 3}, Contents: &oippb.InferTensorContents{Fp32Contents: []float32{1}}}}}, codes.InvalidArgument, "fp32_contents holds 1 elements but the shape holds 3"},
		{&oippb.ModelInferRequest{ModelName: "linear", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP64", Shape: []int64{1, 3}, Contents: &oippb.InferTensorContents{Fp64Contents: []float64{1, 2, 3}}}}}, codes.InvalidArgument, "datatype FP64, but the model takes FP32"},
		{&oippb.ModelInferRequest{ModelName: "echo", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "text", Datatype: "BYTES", Shape: []int64{1}}}, RawInputContents: [][]byte{{9, 0, 0, 0, 'a'}}}, codes.InvalidArgument, "BYTES element 0 is 9 bytes long"},
	} {
		_, err := c.ModelInfer(ctx, c2.req)
		if st, _ := status.FromError(err); st.Code() != c2.code || !strings.Contains(st.Message(), c2.msg) {
			t.Errorf("%v: got %v, want %v %q", c2.req, err, c2.code, c2.msg)
		}
	}
}

func TestGRPCAuth(t *testing.T) {
	s, _ := newTestServer(t, Options{Repository: repoWith(t), AuthToken: "tk"})
	c := grpcClient(t, s)
	ctx := context.Background()
	if _, err := c.ServerLive(ctx, &oippb.ServerLiveRequest{}); err != nil {
		t.Fatalf("live needs no token: %v", err)
	}
	if _, err := c.ServerMetadata(ctx, &oippb.ServerMetadataRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tk")
	if r, err := c.ServerMetadata(ctx, &oippb.ServerMetadataRequest{}); err != nil || r.Name != "mle" {
		t.Fatalf("with the token: %v %v", r, err)
	}
}
