package otlp

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/model"
)

// fuzzSeeds returns the testdata requests as OTLP/JSON and as protobuf.
func fuzzSeeds(f *testing.F) (jsonSeeds, pbSeeds [][]byte) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		jsonSeeds = append(jsonSeeds, b)
		var tb testing.TB = f
		pb, err := proto.Marshal(parseJSONRequest(tb, b))
		if err != nil {
			f.Fatal(err)
		}
		pbSeeds = append(pbSeeds, pb)
	}
	pbSeeds = append(pbSeeds, benchRequestProto(f, 2, 3, 4))
	return jsonSeeds, pbSeeds
}

// checkResult holds for every successful decode: every event has a valid
// trace id, spans a valid span id, the rest a parent, and the counts add up.
func checkResult(t *testing.T, res Result) {
	spans := 0
	for i := range res.Events {
		e := &res.Events[i]
		if e.TraceID.IsZero() {
			t.Fatalf("event %d has a zero trace id", i)
		}
		if e.Dataset == "" || e.ServiceName == "" || e.SampleRate < 1 {
			t.Fatalf("event %d: dataset %q service %q sample rate %d", i, e.Dataset, e.ServiceName, e.SampleRate)
		}
		switch e.AnnotationType {
		case "":
			spans++
			if e.SpanID.IsZero() {
				t.Fatalf("span %d has a zero span id", i)
			}
		case model.AnnotationSpanEvent, model.AnnotationLink:
			if e.ParentID.IsZero() {
				t.Fatalf("annotation %d has no parent", i)
			}
		}
		_ = e.AppendJSON(nil)
	}
	if spans != res.Accepted {
		t.Fatalf("%d span events, Accepted=%d", spans, res.Accepted)
	}
	if (res.Rejected > 0) != (res.RejectMessage != "") {
		t.Fatalf("rejected %d with message %q", res.Rejected, res.RejectMessage)
	}
}

func FuzzDecodeProtobuf(f *testing.F) {
	_, pbSeeds := fuzzSeeds(f)
	for _, s := range pbSeeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeProtobuf(body, RequestInfo{})
		if err != nil {
			return
		}
		checkResult(t, res)
		// The hand-written wire decoder must agree with proto.Unmarshal
		// wherever proto.Unmarshal accepts the input.
		var req coltracepb.ExportTraceServiceRequest
		if proto.Unmarshal(body, &req) != nil {
			return
		}
		if got, want := render(res), render(mustConvert(t, &req)); !bytes.Equal(got, want) {
			t.Fatalf("wire decoder and proto.Unmarshal differ:\n got %s\nwant %s", got, want)
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	jsonSeeds, _ := fuzzSeeds(f)
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":"zz"}]}]}]}`))
	f.Add([]byte(`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0AF7651916CD43DD8448EB211C80319C","span_id":"t61rcWkgMzE="}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeJSON(body, RequestInfo{})
		if err != nil {
			return
		}
		checkResult(t, res)
	})
}

// FuzzHTTPHandler feeds bodies, content types and encodings to every
// signal's path: the answer is a success with consistent events or a
// client error with nothing stored.
func FuzzHTTPHandler(f *testing.F) {
	jsonSeeds, pbSeeds := fuzzSeeds(f)
	for _, s := range jsonSeeds {
		f.Add(s, "application/json", "", true, uint8(sigTraces))
	}
	for _, s := range pbSeeds {
		f.Add(s, "application/x-protobuf", "", true, uint8(sigTraces))
	}
	f.Add(gzipped(f, pbSeeds[0]), "application/protobuf", "gzip", true, uint8(sigTraces))
	f.Add(zstded(f, jsonSeeds[0]), "application/json; charset=utf-8", "zstd", false, uint8(sigTraces))
	f.Add([]byte("x"), "text/html", "br", true, uint8(sigTraces))
	for _, sc := range signalCases {
		js, pb := signalSeeds(f, sc)
		f.Add(js[0], "application/json", "", true, uint8(sc.sig))
		f.Add(gzipped(f, pb[0]), "application/x-protobuf", "gzip", true, uint8(sc.sig))
	}

	f.Fuzz(func(t *testing.T, body []byte, contentType, encoding string, withKey bool, signal uint8) {
		sig := signalKind(signal % uint8(numSignals))
		rec := &recorder{}
		h := NewHTTPHandler(Config{MaxBodyBytes: 1 << 20, MaxDecompressedBytes: 4 << 20, MaxDecodedBytes: 64 << 20}, newDeps(rec, nil))
		req := httptest.NewRequest(http.MethodPost, signals[sig].path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Content-Encoding", encoding)
		if withKey {
			req.Header.Set("X-Honeycomb-Team", goodKey)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200:
			for _, c := range rec.all() {
				if sig == sigTraces {
					checkResult(t, Result{Events: c.events, Accepted: countSpans(c.events)})
				} else {
					checkSignalResult(t, sig, Result{Events: c.events, Accepted: len(c.events)})
				}
			}
		case 400, 401, 413, 415:
			if len(rec.all()) != 0 {
				t.Fatalf("status %d but the consumer was called", w.Code)
			}
			if w.Code == 401 && withKey {
				t.Fatal("401 with a good key")
			}
		default:
			t.Fatalf("unexpected status %d: %s", w.Code, w.Body.Bytes())
		}
	})
}

func countSpans(events []model.Event) int {
	n := 0
	for i := range events {
		if events[i].IsSpan() {
			n++
		}
	}
	return n
}

// FuzzGRPCTraceExport feeds message bytes through the server codec and
// TraceService.Export, as a gRPC server does: a readable request stores
// what DecodeProtobuf makes of the bytes; an unreadable one gets gRPC's
// Internal whatever the key, and nothing is stored.
func FuzzGRPCTraceExport(f *testing.F) {
	_, pbSeeds := fuzzSeeds(f)
	for _, s := range pbSeeds {
		f.Add(s, true)
	}
	f.Add(pbSeeds[0], false)
	f.Add([]byte{0xff, 0xff}, false)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, body []byte, withKey bool) {
		rec := &recorder{}
		cfg := Config{MaxDecodedBytes: 64 << 20}
		svc, err := NewTraceService(cfg, newDeps(rec, nil))
		if err != nil {
			t.Fatal(err)
		}
		var req coltracepb.ExportTraceServiceRequest
		codec := wireCodec{base: encoding.GetCodecV2(grpcproto.Name), ri: RequestInfo{MaxDecodedBytes: cfg.MaxDecodedBytes}}
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(bytes.Clone(body))}, &req); err != nil {
			t.Fatalf("the codec refused a trace request: %v", err)
		}
		md := metadata.MD{}
		if withKey {
			md.Set("x-honeycomb-team", goodKey)
		}
		_, err = svc.Export(metadata.NewIncomingContext(context.Background(), md), &req)
		want, werr := DecodeProtobuf(body, RequestInfo{MaxDecodedBytes: cfg.MaxDecodedBytes})
		switch code := status.Code(err); {
		case werr != nil && !isDecodeLimit(werr):
			if code != codes.Internal || !strings.HasPrefix(status.Convert(err).Message(), "grpc: error unmarshalling request: ") {
				t.Fatalf("unreadable request (%v): %v, want Internal", werr, err)
			}
		case !withKey:
			if code != codes.Unauthenticated {
				t.Fatalf("no key: %v, want Unauthenticated", err)
			}
		case werr != nil:
			if code != codes.InvalidArgument {
				t.Fatalf("request over the limit: %v, want InvalidArgument", err)
			}
		case err != nil:
			t.Fatalf("readable request with a key: %v", err)
		default:
			var got []model.Event
			for _, c := range rec.all() {
				got = append(got, c.events...)
			}
			if g, w := render(Result{Events: got, Accepted: countSpans(got)}), render(Result{Events: want.Events, Accepted: countSpans(want.Events)}); !bytes.Equal(g, w) {
				t.Fatalf("stored events differ from DecodeProtobuf's:\n got %s\nwant %s", g, w)
			}
			return
		}
		if len(rec.all()) != 0 {
			t.Fatalf("%v but the consumer was called", err)
		}
	})
}
