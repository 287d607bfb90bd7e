package serve

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/serve/oippb"
	"github.com/mle-runtime/mle/core/strs"
)

// GRPCServer returns a gRPC server of inference.GRPCInferenceService over
// the same repository, limits and metrics as the REST handler; extra
// options (TLS credentials, say) are added to the server's own.
func (s *Server) GRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(min(s.opts.MaxBodyBytes, math.MaxInt32))),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.UnaryInterceptor(s.grpcAuth),
	}
	g := grpc.NewServer(append(opts, extra...)...)
	oippb.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
	return g
}

// grpcAuth checks the bearer token of every call but the health checks.
func (s *Server) grpcAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if s.opts.AuthToken == "" || strings.HasSuffix(info.FullMethod, "/ServerLive") || strings.HasSuffix(info.FullMethod, "/ServerReady") {
		return h(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, a := range md.Get("authorization") {
		if tok, ok := strings.CutPrefix(a, "Bearer "); ok && s.tokenOK(tok) {
			return h(ctx, req)
		}
	}
	if r, ok := req.(*oippb.ModelInferRequest); ok {
		s.metrics.requests.WithLabelValues(s.modelLabel(r.ModelName), "", outcomeUnauth).Inc()
	}
	return nil, status.Error(codes.Unauthenticated, "missing or wrong bearer token (metadata authorization: Bearer TOKEN)")
}

type grpcService struct {
	oippb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) ServerLive(context.Context, *oippb.ServerLiveRequest) (*oippb.ServerLiveResponse, error) {
	return &oippb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *oippb.ServerReadyRequest) (*oippb.ServerReadyResponse, error) {
	return &oippb.ServerReadyResponse{Ready: g.s.isReady()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *oippb.ServerMetadataRequest) (*oippb.ServerMetadataResponse, error) {
	return &oippb.ServerMetadataResponse{Name: "mle", Version: format.LibraryVersion, Extensions: []string{"binary_tensor_data"}}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *oippb.ModelReadyRequest) (*oippb.ModelReadyResponse, error) {
	if err := g.s.repo.ready(r.Name, r.Version); err != nil {
		if st, _ := statusCode(err); st == 404 {
			return nil, grpcError(404, err.Error())
		}
		return &oippb.ModelReadyResponse{Ready: false}, nil
	}
	return &oippb.ModelReadyResponse{Ready: true}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *oippb.ModelMetadataRequest) (*oippb.ModelMetadataResponse, error) {
	md, err := g.s.metadata(r.Name, r.Version)
	if err != nil {
		st, _ := statusCode(err)
		return nil, grpcError(st, err.Error())
	}
	resp := &oippb.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform}
	for _, t := range md.Inputs {
		resp.Inputs = append(resp.Inputs, &oippb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	for _, t := range md.Outputs {
		resp.Outputs = append(resp.Outputs, &oippb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	return resp, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *oippb.ModelInferRequest) (*oippb.ModelInferResponse, error) {
	res := g.s.handle(ctx, r.ModelName, r.ModelVersion, time.Now(), func() (*inferRequest, error) { return fromProto(r) })
	if res.status != 200 {
		return nil, grpcError(res.status, res.msg)
	}
	resp := &oippb.ModelInferResponse{ModelName: res.model, ModelVersion: strconv.FormatInt(res.version, 10), Id: res.id}
	for _, o := range res.outs {
		resp.Outputs = append(resp.Outputs, &oippb.ModelInferResponse_InferOutputTensor{Name: o.Name, Datatype: oipName(o.DType), Shape: o.Shape})
		raw := o.Data
		if o.DType == dtype.String {
			n, _ := dtype.NumElements(o.Shape)
			raw = packBinaryStrings(o.Data, n)
		}
		resp.RawOutputContents = append(resp.RawOutputContents, raw)
	}
	return resp, nil
}

// grpcError maps an HTTP status to the gRPC code clients expect.
func grpcError(httpStatus int, msg string) error {
	c := codes.Internal
	switch httpStatus {
	case 400:
		c = codes.InvalidArgument
	case 401:
		c = codes.Unauthenticated
	case 404:
		c = codes.NotFound
	case 413, 429:
		c = codes.ResourceExhausted
	case 499:
		c = codes.Canceled
	case 503:
		c = codes.Unavailable
	case 504:
		c = codes.DeadlineExceeded
	}
	return status.Error(c, msg)
}

// fromProto converts a gRPC request, with raw or typed contents.
func fromProto(r *oippb.ModelInferRequest) (*inferRequest, error) {
	if len(r.Inputs) == 0 {
		return nil, bad("the request has no inputs")
	}
	if len(r.RawInputContents) != 0 && len(r.RawInputContents) != len(r.Inputs) {
		return nil, bad("raw_input_contents has %d entries for %d inputs", len(r.RawInputContents), len(r.Inputs))
	}
	req := &inferRequest{ID: r.Id}
	if p, ok := r.Parameters["timeout"]; ok {
		us, isInt := p.ParameterChoice.(*oippb.InferParameter_Int64Param)
		if !isInt || us.Int64Param < 0 {
			return nil, bad("request parameter timeout: want microseconds as a non-negative int64_param")
		}
		req.TimeoutMicros = us.Int64Param
	}
	seen := map[string]bool{}
	for i, in := range r.Inputs {
		if in.Name == "" {
			return nil, bad("input %d has no name", i)
		}
		if seen[in.Name] {
			return nil, bad("input %q appears twice", in.Name)
		}
		seen[in.Name] = true
		t, n, err := newReqTensor(in.Name, in.Datatype, in.Shape)
		if err != nil {
			return nil, err
		}
		if len(r.RawInputContents) != 0 {
			if in.Contents != nil {
				return nil, bad("input %q has both contents and raw_input_contents", in.Name)
			}
			if err := t.setRaw(r.RawInputContents[i], n, "raw_input_contents"); err != nil {
				return nil, err
			}
		} else if err := t.setContents(in.Contents, n); err != nil {
			return nil, err
		}
		req.Inputs = append(req.Inputs, t)
	}
	for i, o := range r.Outputs {
		if o.Name == "" {
			return nil, bad("requested output %d has no name", i)
		}
		if slices.ContainsFunc(req.Outputs, func(x reqOutput) bool { return x.Name == o.Name }) {
			return nil, bad("output %q is requested twice", o.Name)
		}
		if _, ok := o.Parameters["classification"]; ok {
			return nil, bad("output %q: the classification extension is not supported; request the scores and take the top classes", o.Name)
		}
		req.Outputs = append(req.Outputs, reqOutput{Name: o.Name})
	}
	return req, nil
}

// setContents sets a tensor's data from typed contents.
func (t *reqTensor) setContents(c *oippb.InferTensorContents, n int64) error {
	if c == nil {
		return bad("input %q has neither contents nor raw_input_contents", t.Name)
	}
	count := func(have int, field string) error {
		if int64(have) != n {
			return bad("input %q: %s holds %d elements but the shape holds %d", t.Name, field, have, n)
		}
		return nil
	}
	var out []byte
	switch t.DType {
	case dtype.Float32:
		if err := count(len(c.Fp32Contents), "fp32_contents"); err != nil {
			return err
		}
		out = make([]byte, 0, 4*n)
		for _, v := range c.Fp32Contents {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	case dtype.Float64:
		if err := count(len(c.Fp64Contents), "fp64_contents"); err != nil {
			return err
		}
		out = make([]byte, 0, 8*n)
		for _, v := range c.Fp64Contents {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
		}
	case dtype.Int64:
		if err := count(len(c.Int64Contents), "int64_contents"); err != nil {
			return err
		}
		out = make([]byte, 0, 8*n)
		for _, v := range c.Int64Contents {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	case dtype.Int32, dtype.Int8:
		if err := count(len(c.IntContents), "int_contents"); err != nil {
			return err
		}
		for i, v := range c.IntContents {
			if t.DType == dtype.Int8 {
				if v < math.MinInt8 || v > math.MaxInt8 {
					return bad("input %q: element %d is %d, outside INT8", t.Name, i, v)
				}
				out = append(out, byte(v))
			} else {
				out = binary.LittleEndian.AppendUint32(out, uint32(v))
			}
		}
	case dtype.Uint8:
		if err := count(len(c.UintContents), "uint_contents"); err != nil {
			return err
		}
		for i, v := range c.UintContents {
			if v > math.MaxUint8 {
				return bad("input %q: element %d is %d, outside UINT8", t.Name, i, v)
			}
			out = append(out, byte(v))
		}
	case dtype.Bool:
		if err := count(len(c.BoolContents), "bool_contents"); err != nil {
			return err
		}
		out = make([]byte, n)
		for i, v := range c.BoolContents {
			if v {
				out[i] = 1
			}
		}
	case dtype.String:
		if err := count(len(c.BytesContents), "bytes_contents"); err != nil {
			return err
		}
		out = strs.Pack(c.BytesContents)
	default:
		return bad("input %q: %s has no typed contents field; send it in raw_input_contents", t.Name, oipName(t.DType))
	}
	if out == nil {
		out = []byte{}
	}
	t.Data = out
	return nil
}
