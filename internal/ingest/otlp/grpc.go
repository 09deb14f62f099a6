package otlp

import (
	"context"
	"errors"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
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
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

// GRPCServerOptions returns the options the gRPC server carrying the OTLP
// services should have: the receive limit of cfg.MaxBodyBytes (applied to
// the decompressed message) and a codec that leaves trace export requests
// for Export to decode (after authentication, within the request's share
// of the pending budget, with DecodeProtobuf's pooled decoders) and reads
// logs export requests with the allocation-lean wire decoder, within
// cfg.MaxDecodedBytes (every other message goes to the standard protobuf
// codec).
func GRPCServerOptions(cfg Config) []grpc.ServerOption {
	cfg = cfg.withDefaults()
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(cfg.MaxBodyBytes)),
		grpc.ForceServerCodecV2(wireCodec{base: encoding.GetCodecV2(grpcproto.Name), ri: RequestInfo{MaxDecodedBytes: cfg.MaxDecodedBytes}}),
	}
}

// wireCodec keeps an ExportTraceServiceRequest's bytes for Export to
// decode (see keepBody), decodes ExportLogsServiceRequest with the wire
// decoder and delegates everything else to base. A logs request whose
// decoded form would pass ri's limit is not decoded: the codec marks it
// refused (see markRefused) for Export to answer InvalidArgument with the
// reason, where an unmarshalling error would be answered Internal.
type wireCodec struct {
	base encoding.CodecV2
	ri   RequestInfo
}

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch req := v.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		keepBody(req, data)
		return nil
	case *collogspb.ExportLogsServiceRequest:
		parsed, _, err := decodeLogsRequest(data.Materialize(), c.ri)
		if tooLarge := (*DecodedTooLargeError)(nil); errors.As(err, &tooLarge) {
			markRefused(req, err)
			return nil
		}
		if err != nil {
			return err
		}
		req.ResourceLogs = parsed.ResourceLogs
		return nil
	}
	return c.base.Unmarshal(data, v)
}

func (c wireCodec) Name() string { return c.base.Name() }

// refusedField is the field number under which the codec leaves, as an
// unknown field of an otherwise empty request, why it refused to decode it
// (the wire decoder drops every unknown field, so a client cannot set it).
const refusedField = protowire.MaxValidNumber

// bodyField is the field number under which the codec leaves a trace
// request's bytes, as the only unknown field of an otherwise empty
// request, for Export to decode.
const bodyField = protowire.MaxValidNumber - 1

// keepBody sets req's unknown fields to data (copied once: the request
// outlives data) under bodyField.
func keepBody(req *coltracepb.ExportTraceServiceRequest, data mem.BufferSlice) {
	n := data.Len()
	b := protowire.AppendTag(make([]byte, 0, n+16), bodyField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	off := len(b)
	b = b[:off+n]
	data.CopyTo(b[off:])
	req.ProtoReflect().SetUnknown(b)
}

// keptBody returns the bytes keepBody left on req, if req is otherwise
// empty: a request decoded by another codec carries its spans.
func keptBody(req *coltracepb.ExportTraceServiceRequest) ([]byte, bool) {
	if len(req.ResourceSpans) > 0 {
		return nil, false
	}
	u := req.ProtoReflect().GetUnknown()
	num, typ, n := protowire.ConsumeTag(u)
	if n <= 0 || num != bodyField || typ != protowire.BytesType {
		return nil, false
	}
	v, k := protowire.ConsumeBytes(u[n:])
	if k < 0 || n+k != len(u) {
		return nil, false
	}
	return v, true
}

// unmarshalError is gRPC's own answer to a message its codec cannot read.
func unmarshalError(err error) error {
	return status.Errorf(codes.Internal, "grpc: error unmarshalling request: %v", err)
}

// malformed returns unmarshalError when body is not a trace export
// request, as the codec's decoding once answered before anything else;
// nil if it is one (too large or not).
func malformed(body []byte, ri RequestInfo) error {
	d := decoders.Get().(*wireDecoder)
	defer d.release()
	_, _, err := d.request(body, RequestInfo{MaxDecodedBytes: ri.MaxDecodedBytes})
	if err == nil || isDecodeLimit(err) {
		return nil
	}
	return unmarshalError(err)
}

// isDecodeLimit tells a decoding stopped by its memory bounds from a
// malformed request.
func isDecodeLimit(err error) bool {
	var tooLarge *DecodedTooLargeError
	return errors.As(err, &tooLarge) || errors.Is(err, ingest.ErrOverloaded)
}

func markRefused(m proto.Message, err error) {
	b := protowire.AppendTag(nil, refusedField, protowire.BytesType)
	m.ProtoReflect().SetUnknown(protowire.AppendString(b, err.Error()))
}

// refusal returns the codec's refusal of m, if it left one.
func refusal(m proto.Message) error {
	u := m.ProtoReflect().GetUnknown()
	num, typ, n := protowire.ConsumeTag(u)
	if n <= 0 || num != refusedField || typ != protowire.BytesType {
		return nil
	}
	v, k := protowire.ConsumeBytes(u[n:])
	if k < 0 {
		return nil
	}
	return errors.New(string(v))
}

// RegisterGRPC registers the OTLP TraceService, LogsService and
// MetricsService on s. Create s with GRPCServerOptions(cfg) among its
// options. It panics like NewHTTPHandler on invalid cfg or deps.
func RegisterGRPC(s *grpc.Server, cfg Config, deps Deps) {
	r := mustReceiver(cfg, deps)
	coltracepb.RegisterTraceServiceServer(s, &TraceService{r: r})
	collogspb.RegisterLogsServiceServer(s, &LogsService{r: r})
	colmetricspb.RegisterMetricsServiceServer(s, &MetricsService{r: r})
	r.log.Info("OTLP trace, logs and metrics services registered on gRPC server")
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

// Export implements coltracepb.TraceServiceServer. A request that the
// server's codec (GRPCServerOptions) left undecoded is decoded here, once
// its sender is authenticated; a malformed one is answered as gRPC answers
// a message its codec cannot read (Internal), before anything else.
func (s *TraceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	convert := func(ri RequestInfo) (Result, error) {
		if err := refusal(req); err != nil {
			return Result{}, err
		}
		return Convert(req, ri)
	}
	var check func() error
	if body, ok := keptBody(req); ok {
		convert = func(ri RequestInfo) (Result, error) {
			res, err := decodeProtobuf(body, ri, true) // the kept body is never written again
			if err != nil && !isDecodeLimit(err) {
				return Result{}, unmarshalError(err)
			}
			return res, err
		}
		check = func() error { return malformed(body, RequestInfo{MaxDecodedBytes: s.r.cfg.MaxDecodedBytes}) }
	}
	res, err := s.r.grpcExportChecked(ctx, sigTraces, convert, check)
	if err != nil {
		return nil, err
	}
	return sigTraces.responseProto(res).(*coltracepb.ExportTraceServiceResponse), nil
}

// LogsService implements the OTLP collector LogsService over gRPC.
type LogsService struct {
	collogspb.UnimplementedLogsServiceServer
	r *receiver
}

// Export implements collogspb.LogsServiceServer.
func (s *LogsService) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	res, err := s.r.grpcExport(ctx, sigLogs, func(ri RequestInfo) (Result, error) {
		if err := refusal(req); err != nil {
			return Result{}, err
		}
		return ConvertLogs(req, ri)
	})
	if err != nil {
		return nil, err
	}
	return sigLogs.responseProto(res).(*collogspb.ExportLogsServiceResponse), nil
}

// MetricsService implements the OTLP collector MetricsService over gRPC.
type MetricsService struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *receiver
}

// Export implements colmetricspb.MetricsServiceServer.
func (s *MetricsService) Export(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	res, err := s.r.grpcExport(ctx, sigMetrics, func(ri RequestInfo) (Result, error) { return ConvertMetrics(req, ri) })
	if err != nil {
		return nil, err
	}
	return sigMetrics.responseProto(res).(*colmetricspb.ExportMetricsServiceResponse), nil
}

// grpcExport is what every gRPC Export does: authenticate the key in the
// metadata, convert, hand the events to the consumer, map failures to gRPC
// codes, count the request and log a refusal.
func (r *receiver) grpcExport(ctx context.Context, sig signalKind, convert func(RequestInfo) (Result, error)) (Result, error) {
	return r.grpcExportChecked(ctx, sig, convert, nil)
}

// grpcExportChecked is grpcExport for a request not decoded yet: when the
// sender is not authenticated, check (if not nil) tells whether the
// request is malformed, which is answered first.
func (r *receiver) grpcExportChecked(ctx context.Context, sig signalKind, convert func(RequestInfo) (Result, error), check func() error) (Result, error) {
	res, err := r.grpcExportOnce(ctx, sig, convert, check)
	c := status.Code(err)
	r.m.requests.WithLabelValues(signals[sig].name, transportGRPC, c.String()).Inc()
	if err != nil {
		remote := ""
		if p, ok := peer.FromContext(ctx); ok {
			remote = p.Addr.String()
		}
		r.rejected(transportGRPC, remote, c.String(), status.Convert(err).Message())
	}
	return res, err
}

func (r *receiver) grpcExportOnce(ctx context.Context, sig signalKind, convert func(RequestInfo) (Result, error), check func() error) (Result, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := firstValue(md, auth.HeaderTeam)
	if key == "" {
		key = firstValue(md, headerHnyTeam)
	}
	principal, o, err := r.authenticate(ctx, key)
	if o != outcomeOK && check != nil {
		if err := check(); err != nil {
			return Result{}, err
		}
	}
	switch o {
	case outcomeOK:
	case outcomeUnauthorized:
		return Result{}, status.Error(codes.Unauthenticated, err.Error())
	default:
		return Result{}, r.unavailable("authentication is unavailable, retry later")
	}

	held := r.pending.NewReservation()
	defer held.Release()
	res, err := convert(RequestInfo{Dataset: firstValue(md, headerDataset), MaxDecodedBytes: r.cfg.MaxDecodedBytes, Reservation: held})
	var st interface{ GRPCStatus() *status.Status }
	switch {
	case errors.As(err, &st):
		return Result{}, err
	case errors.Is(err, ingest.ErrOverloaded):
		return Result{}, r.unavailable(overloadedMessage(sig))
	case err != nil:
		return Result{}, status.Error(codes.InvalidArgument, err.Error())
	}
	switch o, err := r.consume(ingest.WithReservation(ctx, held), transportGRPC, sig, principal.Env, &res); o {
	case outcomeOK:
	case outcomeBadData:
		return Result{}, status.Error(codes.InvalidArgument, err.Error())
	case outcomeOverloaded:
		return Result{}, r.unavailable(err.Error())
	default:
		return Result{}, r.unavailable("temporarily unable to store " + signals[sig].items + ", retry later: " + err.Error())
	}
	return res, nil
}

// unavailable is a retryable gRPC error carrying RetryInfo.
func (r *receiver) unavailable(msg string) error {
	st := status.New(codes.Unavailable, msg)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.cfg.RetryAfter)}); err == nil {
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
