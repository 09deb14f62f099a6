package otlp

import (
	"context"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // OTel SDKs may send gzip-compressed messages
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// GRPCServerOptions returns the options the gRPC server carrying the trace
// service should have: the receive limit of cfg.MaxBodyBytes (applied to
// the decompressed message) and a codec that reads trace export requests
// with the allocation-lean wire decoder (every other message goes to the
// standard protobuf codec).
func GRPCServerOptions(cfg Config) []grpc.ServerOption {
	cfg = cfg.withDefaults()
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(cfg.MaxBodyBytes)),
		grpc.ForceServerCodecV2(traceCodec{base: encoding.GetCodecV2(grpcproto.Name)}),
	}
}

// traceCodec decodes ExportTraceServiceRequest with the wire decoder and
// delegates everything else to base.
type traceCodec struct{ base encoding.CodecV2 }

func (c traceCodec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c traceCodec) Unmarshal(data mem.BufferSlice, v any) error {
	req, ok := v.(*coltracepb.ExportTraceServiceRequest)
	if !ok {
		return c.base.Unmarshal(data, v)
	}
	// Materialize copies: the request may alias it after data is freed.
	parsed, err := decodeProtobufRequest(data.Materialize())
	if err != nil {
		return err
	}
	req.ResourceSpans = parsed.ResourceSpans
	return nil
}

func (c traceCodec) Name() string { return c.base.Name() }

// RegisterGRPC registers the OTLP TraceService on s. Create s with
// GRPCServerOptions(cfg) among its options. It panics like NewHTTPHandler
// on invalid cfg or deps.
func RegisterGRPC(s *grpc.Server, cfg Config, deps Deps) {
	svc := &TraceService{r: mustReceiver(cfg, deps)}
	coltracepb.RegisterTraceServiceServer(s, svc)
	svc.r.log.Info("OTLP trace service registered on gRPC server")
}

// TraceService implements the OTLP collector TraceService over gRPC.
type TraceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *receiver
}

// NewTraceService returns the gRPC trace service, for callers that register
// it themselves.
func NewTraceService(cfg Config, deps Deps) (*TraceService, error) {
	r, err := newReceiver(cfg, deps)
	if err != nil {
		return nil, err
	}
	return &TraceService{r: r}, nil
}

// Export implements coltracepb.TraceServiceServer.
func (s *TraceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	resp, err := s.export(ctx, req)
	c := status.Code(err)
	s.r.m.requests.WithLabelValues(transportGRPC, c.String()).Inc()
	if err != nil {
		remote := ""
		if p, ok := peer.FromContext(ctx); ok {
			remote = p.Addr.String()
		}
		s.r.rejected(transportGRPC, remote, c.String(), status.Convert(err).Message())
	}
	return resp, err
}

func (s *TraceService) export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := firstValue(md, auth.HeaderTeam)
	if key == "" {
		key = firstValue(md, headerHnyTeam)
	}
	principal, o, err := s.r.authenticate(ctx, key)
	switch o {
	case outcomeOK:
	case outcomeUnauthorized:
		return nil, status.Error(codes.Unauthenticated, err.Error())
	default:
		return nil, s.unavailable("authentication is unavailable, retry later")
	}

	res := Convert(req)
	switch o, err := s.r.consume(ctx, transportGRPC, principal.Env, res); o {
	case outcomeOK:
	case outcomeBadData:
		return nil, status.Error(codes.InvalidArgument, err.Error())
	case outcomeOverloaded:
		return nil, s.unavailable(err.Error())
	default:
		return nil, s.unavailable("temporarily unable to store spans, retry later: " + err.Error())
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if res.Rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: int64(res.Rejected),
			ErrorMessage:  res.RejectMessage,
		}
	}
	return resp, nil
}

// unavailable is a retryable gRPC error carrying RetryInfo.
func (s *TraceService) unavailable(msg string) error {
	st := status.New(codes.Unavailable, msg)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(s.r.cfg.RetryAfter)}); err == nil {
		st = d
	}
	return st.Err()
}

func firstValue(md metadata.MD, key string) string {
	for _, v := range md.Get(key) {
		if v != "" {
			return v
		}
	}
	return ""
}
