package otlp

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func kvStr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func kvInt(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func kvFloat(k string, v float64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
}

func kvBool(k string, v bool) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}}
}

// benchRequest builds a request like a busy service sends: traces × spans
// spans, each with attrs attributes of mixed types, under one resource with
// the usual SDK attributes.
func benchRequest(traces, spans, attrs int) *coltracepb.ExportTraceServiceRequest {
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.60.0"}}
	start := uint64(1_700_000_000_000_000_000)
	for tr := 0; tr < traces; tr++ {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid, uint64(tr+1)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(tid[8:], uint64(tr+7))
		for s := 0; s < spans; s++ {
			sid := make([]byte, 8)
			binary.BigEndian.PutUint64(sid, uint64(tr*1000+s+1))
			sp := &tracepb.Span{
				TraceId:           tid,
				SpanId:            sid,
				Name:              fmt.Sprintf("GET /api/item/%d", s),
				Kind:              tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: start + uint64(s)*1000,
				EndTimeUnixNano:   start + uint64(s)*1000 + 1_500_000,
				Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
			}
			if s > 0 {
				sp.ParentSpanId = make([]byte, 8)
				binary.BigEndian.PutUint64(sp.ParentSpanId, uint64(tr*1000+1))
			}
			for a := 0; a < attrs; a++ {
				key := fmt.Sprintf("app.attr_%02d", a)
				switch a % 4 {
				case 0:
					sp.Attributes = append(sp.Attributes, kvStr(key, fmt.Sprintf("value-%d-%d", s, a)))
				case 1:
					sp.Attributes = append(sp.Attributes, kvInt(key, int64(s*a)))
				case 2:
					sp.Attributes = append(sp.Attributes, kvFloat(key, float64(a)/3))
				default:
					sp.Attributes = append(sp.Attributes, kvBool(key, s%2 == 0))
				}
			}
			ss.Spans = append(ss.Spans, sp)
		}
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			kvStr("service.name", "checkout"),
			kvStr("service.version", "1.4.2"),
			kvStr("telemetry.sdk.language", "go"),
			kvStr("telemetry.sdk.name", "opentelemetry"),
			kvStr("telemetry.sdk.version", "1.47.0"),
			kvStr("host.name", "web-7f9c"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}}
}

func benchRequestProto(tb testing.TB, traces, spans, attrs int) []byte {
	b, err := proto.Marshal(benchRequest(traces, spans, attrs))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// toOTLPJSON renders a request as OTLP/JSON: protojson, then ids from
// base64 to hex.
func toOTLPJSON(tb testing.TB, req proto.Message) []byte {
	b, err := protojson.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := rewriteIDs(b, func(dst []byte, id string) ([]byte, bool) {
		raw, err := base64.StdEncoding.DecodeString(id)
		if err != nil {
			tb.Fatalf("id %q: %v", id, err)
		}
		return hex.AppendEncode(dst, raw), true
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func BenchmarkDecode(b *testing.B) {
	const traces, spans, attrs = 100, 10, 11
	req := benchRequest(traces, spans, attrs)
	pb := benchRequestProto(b, traces, spans, attrs)
	js := toOTLPJSON(b, req)

	// The JSON form must decode to the same events as the protobuf form.
	rp, err := DecodeProtobuf(pb, RequestInfo{})
	if err != nil {
		b.Fatal(err)
	}
	rj, err := DecodeJSON(js, RequestInfo{})
	if err != nil {
		b.Fatal(err)
	}
	if rp.Accepted != traces*spans || string(render(rp)) != string(render(rj)) {
		b.Fatalf("protobuf and JSON decode differ (%d vs %d spans)", rp.Accepted, rj.Accepted)
	}

	for _, bc := range []struct {
		name string
		body []byte
		fn   func([]byte, RequestInfo) (Result, error)
	}{
		{"protobuf", pb, DecodeProtobuf},
		{"json", js, DecodeJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				if _, err := bc.fn(bc.body, RequestInfo{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*traces*spans)/b.Elapsed().Seconds(), "spans/s")
		})
	}
	b.Run("convert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = Convert(req, RequestInfo{})
		}
		b.ReportMetric(float64(b.N*traces*spans)/b.Elapsed().Seconds(), "spans/s")
	})
}
