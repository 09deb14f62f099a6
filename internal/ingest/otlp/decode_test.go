package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// render writes a decode result as stable, reviewable JSON: one event per
// line with the members AppendJSON leaves out.
func render(res Result) []byte {
	var b []byte
	b = append(b, `{"spans":`...)
	b = strconv.AppendInt(b, int64(res.Accepted), 10)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendInt(b, int64(res.Rejected), 10)
	b = append(b, `,"reject_message":`...)
	b = appendJSONString(b, res.RejectMessage)
	b = append(b, `,"events":[`...)
	for i := range res.Events {
		e := &res.Events[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{\"dataset\":"...)
		b = appendJSONString(b, e.Dataset)
		b = append(b, `,"source":`...)
		b = appendJSONString(b, e.Source.String())
		b = append(b, `,"sample_rate":`...)
		b = strconv.AppendInt(b, e.SampleRate, 10)
		b = append(b, `,"fields":`...)
		b = e.AppendJSON(b)
		b = append(b, '}')
	}
	return append(b, "\n]}\n"...)
}

// parseJSONRequest reads an OTLP/JSON request as DecodeJSON does, for
// tests that need the request itself.
func parseJSONRequest(t testing.TB, body []byte) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	b, err := hexIDsToBase64(body)
	if err != nil {
		t.Fatal(err)
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := jsonUnmarshal.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

// TestDecodeGolden decodes every testdata/*.json request both as OTLP/JSON
// and, re-encoded, as protobuf; both must render to testdata/*.golden.
func TestDecodeGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			res, err := DecodeJSON(body, RequestInfo{})
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			got := render(res)
			path := filepath.Join("testdata", name+".golden")
			golden.Check(t, path, got)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			pb, err := proto.Marshal(parseJSONRequest(t, body))
			if err != nil {
				t.Fatal(err)
			}
			pres, err := DecodeProtobuf(pb, RequestInfo{})
			if err != nil {
				t.Fatalf("DecodeProtobuf: %v", err)
			}
			if got := render(pres); !bytes.Equal(got, want) {
				t.Errorf("protobuf decode differs from %s:\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
}

func decodeFile(t *testing.T, name string) Result {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := DecodeJSON(body, RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func getField(t *testing.T, e *model.Event, key string) (model.Value, bool) {
	t.Helper()
	return e.Get(key)
}

// TestDecodeMapping checks the spec's mapping rules one by one, so a wrong
// golden file cannot hide them.
func TestDecodeMapping(t *testing.T) {
	res := decodeFile(t, "basic.json")
	if res.Accepted != 3 || res.Rejected != 0 {
		t.Fatalf("spans=%d rejected=%d, want 3 and 0", res.Accepted, res.Rejected)
	}
	// span events, links, then the span: root (1), then child's 3 events + 1 link + span, then the third.
	if len(res.Events) != 1+5+1 {
		t.Fatalf("got %d events, want 7", len(res.Events))
	}
	root, child, skew := &res.Events[0], &res.Events[5], &res.Events[6]
	retry, exc, before, link := &res.Events[1], &res.Events[2], &res.Events[3], &res.Events[4]

	str := func(e *model.Event, key string) string {
		v, ok := getField(t, e, key)
		if !ok {
			return "<absent>"
		}
		return v.String()
	}
	tests := []struct {
		name string
		e    *model.Event
		key  string
		want string
	}{
		{"dataset trimmed, service.name kept", root, "service.name", "  checkout  "},
		{"trace id lower hex", root, "trace.trace_id", "5b8efff798038103d269b633813fc60c"},
		{"span id", root, "trace.span_id", "eee19b7ec3c1b174"},
		{"root has no parent", root, "trace.parent_id", "<absent>"},
		{"span.kind", root, "span.kind", "server"},
		{"type repeats kind", root, "type", "server"},
		{"status ok", root, "status_code", "1"},
		{"no error unless ERROR", root, "error", "<absent>"},
		{"duration", root, "duration_ms", "250"},
		{"int attribute", root, "http.status_code", "200"},
		{"double attribute", root, "http.ratio", "0.5"},
		{"bytes as JSON", root, "payload", "\"aGVsbG8=\"\n"},
		{"array as JSON without HTML escaping", root, "tags", "[\"a<b>\",3,1.5,true]\n"},
		{"kvlist flattened", root, "user.address.city", "Oslo"},
		{"kvlist depth 5 then JSON", root, "deep.l1.l2.l3.l4.l5", "{\"l6\":\"bottom\"}\n"},
		{"resource attr", root, "process.pid", "4242"},
		{"scope attr", root, "scope.attr", "true"},
		{"library.name", root, "library.name", "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"},
		{"library.version", root, "library.version", "0.60.0"},
		{"instrumentation library", root, "telemetry.instrumentation_library", "true"},
		{"resource schema", root, "resource.schema_url", "https://opentelemetry.io/schemas/1.26.0"},
		{"scope schema", root, "scope.schema_url", "https://opentelemetry.io/schemas/1.24.0"},
		{"signal type", root, "meta.signal_type", "trace"},
		{"num events", child, "span.num_events", "3"},
		{"num links", child, "span.num_links", "1"},
		{"sampleRate removed", root, "sampleRate", "<absent>"},
		{"empty key skipped", root, "", "<absent>"},
		{"parent id", child, "trace.parent_id", "eee19b7ec3c1b174"},
		{"client kind by name", child, "span.kind", "client"},
		{"error on ERROR", child, "error", "true"},
		{"status message", child, "status_message", "connection reset"},
		{"trace state", child, "trace.trace_state", "vendor=x"},
		{"exception copied", child, "exception.message", "connection reset"},
		{"exception escaped copied", child, "exception.escaped", "false"},
		{"span's own exception field wins", child, "exception.type", "span's own type wins"},
		{"64-bit trace id as 16 hex", skew, "trace.trace_id", "1234567890abcdef"},
		{"negative duration is 0", skew, "duration_ms", "0"},
		{"negative duration flagged", skew, "meta.invalid_duration", "true"},
		{"span attribute name wins", skew, "name", "renamed by attribute"},
		{"span event parent", retry, "trace.parent_id", "1111111111111111"},
		{"span event has no span id", retry, "trace.span_id", "<absent>"},
		{"span event name", retry, "name", "retry"},
		{"span event parent_name", retry, "parent_name", "SELECT carts"},
		{"span event annotation", retry, "meta.annotation_type", "span_event"},
		{"span event since start", retry, "meta.time_since_span_start_ms", "5"},
		{"span event error from span", retry, "error", "true"},
		{"span event attr", retry, "attempt", "2"},
		{"span event resource attr", retry, "host.name", "box-1"},
		{"span event service", retry, "service.name", "  checkout  "},
		{"span event no kind", retry, "span.kind", "<absent>"},
		{"exception event kept", exc, "exception.type", "*pq.Error"},
		{"event before span start", before, "meta.time_since_span_start_ms", "0"},
		{"event before span start flagged", before, "meta.invalid_time_since_span_start", "true"},
		{"link annotation", link, "meta.annotation_type", "link"},
		{"link trace id", link, "trace.link.trace_id", "aaaaaaaaaaaaaaaa"},
		{"link span id", link, "trace.link.span_id", "bbbbbbbbbbbbbbbb"},
		{"link parent", link, "trace.parent_id", "1111111111111111"},
		{"link has no name", link, "name", "<absent>"},
		{"link parent_name", link, "parent_name", "SELECT carts"},
		{"link attr", link, "link.kind", "follows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := str(tt.e, tt.key); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}

	for i := range res.Events {
		e := &res.Events[i]
		if e.Dataset != "checkout" || e.Source != model.SourceOTLP {
			t.Errorf("event %d: dataset %q source %v", i, e.Dataset, e.Source)
		}
	}
	if root.SampleRate != 10 || child.SampleRate != 1 {
		t.Errorf("sample rates %d, %d; want 10, 1", root.SampleRate, child.SampleRate)
	}
	if got := root.Time.UnixNano(); got != 1700000000000000000 {
		t.Errorf("span time %d", got)
	}
	if got := retry.Time.UnixNano(); got != 1700000000015000000 {
		t.Errorf("span event time %d", got)
	}
	if link.Time != child.Time {
		t.Errorf("link time %v, want span start %v", link.Time, child.Time)
	}
}

func TestDecodeDatasets(t *testing.T) {
	res := decodeFile(t, "datasets.json")
	want := []struct{ dataset, service, kind string }{
		{"unknown_service", "unknown_service:java", "client"},
		{"unknown_service", "unknown_service", "producer"},
		{"unknown_service", "   ", "consumer"},
		{"unknown_service", "12", "unspecified"}, // an integer service.name is kept as text
		{"Frontend", "Frontend", "unspecified"},
		{"Frontend", "Frontend", "unspecified"},
	}
	if len(res.Events) != len(want) {
		t.Fatalf("got %d events, want %d", len(res.Events), len(want))
	}
	for i, w := range want {
		e := &res.Events[i]
		if e.Dataset != w.dataset || e.ServiceName != w.service || e.SpanKind != w.kind {
			t.Errorf("event %d: dataset %q service %q kind %q; want %+v", i, e.Dataset, e.ServiceName, e.SpanKind, w)
		}
	}
	for _, a := range res.Events[3].Attrs {
		if a.Key == model.FieldServiceName {
			t.Errorf("service.name left in Attrs as %v", a.Value)
		}
	}
	if v, _ := res.Events[5].Get("library.version"); v.Str != "2.0" {
		t.Errorf("second scope's version = %q", v.Str)
	}
	if _, ok := res.Events[4].Get("library.version"); ok {
		t.Error("first scope got the second scope's version")
	}
}

func TestDecodeRejected(t *testing.T) {
	res := decodeFile(t, "rejected.json")
	if res.Rejected != 6 || res.Accepted != 2 || len(res.Events) != 2 {
		t.Fatalf("rejected=%d spans=%d events=%d; want 6, 2, 2", res.Rejected, res.Accepted, len(res.Events))
	}
	if !strings.Contains(res.RejectMessage, "6 span(s) rejected") || !strings.Contains(res.RejectMessage, `"no trace id"`) {
		t.Errorf("reject message %q", res.RejectMessage)
	}
	if !res.Events[0].ParentID.IsZero() {
		t.Error("all-zero parent id should make a root span")
	}
	if got := res.Events[1].TraceID.String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("base64 trace id decoded as %s", got)
	}
}

func TestDecodePrecedenceAndSampleRate(t *testing.T) {
	res := decodeFile(t, "precedence.json")
	byName := map[string]*model.Event{}
	for i := range res.Events {
		e := &res.Events[i]
		if e.IsSpan() {
			byName[e.Name] = e
		}
	}
	charge := byName["charge"]
	if charge == nil {
		t.Fatalf("span charge missing: %s", render(res))
	}
	checks := map[string]string{
		"layer":            "span, last wins",
		"only.resource":    "r",
		"only.scope":       "s",
		"library.name":     "resource beats husky",
		"meta.signal_type": "span beats husky",
		"SampleRate":       "4", // sampleRate was the one used; SampleRate stays
		"error":            "true",
		"duration_ms":      "100",
		"service.name":     "span-level service",
	}
	for k, want := range checks {
		v, ok := charge.Get(k)
		if !ok || v.String() != want {
			t.Errorf("%s = %q (present %v), want %q", k, v.String(), ok, want)
		}
	}
	if charge.Dataset != "billing" {
		t.Errorf("dataset %q: a span attribute must not move the span", charge.Dataset)
	}
	if charge.SampleRate != 3 {
		t.Errorf("sampleRate 2.6 → %d, want 3", charge.SampleRate)
	}
	wrongType := false
	for _, a := range charge.Attrs {
		if a.Key == "duration_ms" && a.Value.Str == "wrong type kept as attribute" {
			wrongType = true
		}
	}
	if !wrongType {
		t.Error("a wrong-typed duration_ms attribute must be kept")
	}
	for i := range res.Events {
		if e := &res.Events[i]; e.AnnotationType == model.AnnotationSpanEvent {
			if v, _ := e.Get("layer"); v.Str != "event" {
				t.Errorf("span event layer = %q", v.Str)
			}
			if e.SampleRate != 3 {
				t.Errorf("span event sample rate %d, want the span's 3", e.SampleRate)
			}
		}
	}
	rates := map[string]int64{
		"resource SampleRate":    4,
		"ot th:8 is 1 in 2":      2,
		"th:c is 1 in 4":         4,
		"sampleRate 0 is 1":      1,
		"huge sampleRate clamps": math.MaxInt32,
		"unparseable sampleRate": 1,
	}
	for name, want := range rates {
		e := byName[name]
		if e == nil {
			t.Errorf("span %q missing", name)
			continue
		}
		if e.SampleRate != want {
			t.Errorf("%s: sample rate %d, want %d", name, e.SampleRate, want)
		}
		for _, a := range e.Attrs {
			if a.Key == "sampleRate" || (a.Key == "SampleRate" && name == "resource SampleRate") {
				t.Errorf("%s: %s attribute not removed", name, a.Key)
			}
		}
	}
	for i := range res.Events {
		if e := &res.Events[i]; e.AnnotationType == model.AnnotationLink {
			if _, ok := e.Get("SampleRate"); ok {
				t.Error("link kept the span's sample-rate attribute")
			}
			if e.SampleRate != 4 {
				t.Errorf("link sample rate %d, want 4", e.SampleRate)
			}
		}
	}
}

func TestThresholdSampleRate(t *testing.T) {
	tests := []struct {
		ts   string
		want int64
	}{
		{"", 1},
		{"ot=th:0", 1},
		{"ot=th:8", 2},
		{"ot=th:c", 4},
		{"ot=th:fc", 64},
		{"ot=rv:123;th:e", 8},
		{"a=b, ot=th:8", 2},
		{"th=8", 2},
		{"ot=th:zz", 1},
		{"ot=th:ffffffffffffff", math.MaxInt32},
		{"ot=th:fffffffffffffff", 1}, // 15 digits: invalid
	}
	for _, tt := range tests {
		if got := thresholdSampleRate(tt.ts); got != tt.want {
			t.Errorf("thresholdSampleRate(%q) = %d, want %d", tt.ts, got, tt.want)
		}
	}
}

func TestHexIDsToBase64(t *testing.T) {
	b64 := func(h string) string {
		b, _ := hex.DecodeString(h)
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct{ name, in, want string }{
		{"no ids untouched", `{"a":"traceId"}`, `{"a":"traceId"}`},
		{"camel", `{"traceId":"0AF7651916CD43DD8448EB211C80319C"}`, `{"traceId":"` + b64("0af7651916cd43dd8448eb211c80319c") + `"}`},
		{"snake and spaces", `{"span_id" : "b7ad6b7169203331"}`, `{"span_id" : "` + b64("b7ad6b7169203331") + `"}`},
		{"escaped key", `{"parent\u0053panId":"b7ad6b7169203331"}`, `{"parent\u0053panId":"` + b64("b7ad6b7169203331") + `"}`},
		{"value named like a key", `{"key":"spanId","value":{"stringValue":"b7ad6b7169203331"}}`, `{"key":"spanId","value":{"stringValue":"b7ad6b7169203331"}}`},
		{"base64 kept", `{"spanId":"t61rcWkgMzE="}`, `{"spanId":"t61rcWkgMzE="}`},
		{"garbage is a bad id", `{"spanId":"no!"}`, `{"spanId":"AA=="}`},
		{"empty stays empty", `{"spanId":""}`, `{"spanId":""}`},
		{"escaped quote in other string", `{"x":"a\"b","spanId":"00"}`, `{"x":"a\"b","spanId":"AA=="}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hexIDsToBase64([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := hexIDsToBase64([]byte(`{"traceId":"abc`)); err == nil {
		t.Error("unterminated string: want an error")
	}
}

func TestDecodeBadInput(t *testing.T) {
	tests := []struct {
		name string
		json bool
		body string
	}{
		{"proto garbage", false, "\xff\xff\xff\xff"},
		{"json garbage", true, "{not json"},
		{"json wrong type", true, `{"resourceSpans":{"x":1}}`},
		{"json bad int", true, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.json {
				_, err = DecodeJSON([]byte(tt.body), RequestInfo{})
			} else {
				_, err = DecodeProtobuf([]byte(tt.body), RequestInfo{})
			}
			if err == nil {
				t.Error("want an error")
			}
		})
	}
	// An empty protobuf body is an empty request; an empty JSON body is not JSON.
	if res, err := DecodeProtobuf(nil, RequestInfo{}); err != nil || len(res.Events) != 0 {
		t.Errorf("empty protobuf: %v, %d events", err, len(res.Events))
	}
	if _, err := DecodeJSON(nil, RequestInfo{}); err == nil {
		t.Error("empty JSON body: want an error")
	}
	if _, err := DecodeJSON([]byte(`{}`), RequestInfo{}); err != nil {
		t.Errorf("{}: %v", err)
	}
}

func TestJSONTextTruncated(t *testing.T) {
	big := strings.Repeat("é", 40000) // 80,000 bytes
	req := parseJSONRequest(t, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331",
		"attributes":[{"key":"big","value":{"arrayValue":{"values":[{"stringValue":"`+big+`"}]}}}]}]}]}]}`))
	res := mustConvert(t, req)
	v, _ := res.Events[0].Get("big")
	if len(v.Str) > maxJSONString || len(v.Str) < maxJSONString-4 {
		t.Errorf("JSON text length %d, want just under %d", len(v.Str), maxJSONString)
	}
	if !strings.HasPrefix(v.Str, `["éé`) || !isValidUTF8(v.Str) {
		t.Error("truncated JSON text is not a valid UTF-8 prefix")
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"<&>", `"<&>"`},
		{"a\"b\\c\n\t\r\x01", `"a\"b\\c\n\t\r\u0001"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"line\u2028sep", `"line\u2028sep"`},
		{"ünï", `"ünï"`},
	}
	for _, tt := range tests {
		if got := string(appendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestProtojsonBase64IDsAccepted: JSON written by protojson (ids in
// base64, as some senders do) decodes to the same events.
func TestProtojsonBase64IDsAccepted(t *testing.T) {
	body, err := os.ReadFile("testdata/basic.json")
	if err != nil {
		t.Fatal(err)
	}
	want := render(mustConvert(t, parseJSONRequest(t, body)))
	b64JSON, err := protojson.Marshal(parseJSONRequest(t, body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := DecodeJSON(b64JSON, RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(res); !bytes.Equal(got, want) {
		t.Errorf("base64-id JSON decoded differently:\n got %s\nwant %s", got, want)
	}
}

// TestDecodeProtobufInvalidUTF8: a string that is not UTF-8 keeps its span
// (proto.Unmarshal would fail the whole request).
func TestDecodeProtobufInvalidUTF8(t *testing.T) {
	body, err := os.ReadFile("testdata/basic.json")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := proto.Marshal(parseJSONRequest(t, body))
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(pb, []byte("box-1"), []byte("\xff\xfe-1!"), 1)
	if bytes.Equal(bad, pb) {
		t.Fatal("marker not found")
	}
	var req coltracepb.ExportTraceServiceRequest
	if proto.Unmarshal(bad, &req) == nil {
		t.Fatal("proto.Unmarshal accepted invalid UTF-8; the test no longer shows the difference")
	}
	res, err := DecodeProtobuf(bad, RequestInfo{})
	if err != nil {
		t.Fatalf("DecodeProtobuf: %v", err)
	}
	if res.Accepted != 3 {
		t.Errorf("spans %d, want 3", res.Accepted)
	}
	if v, _ := res.Events[0].Get("host.name"); v.Str != "\xff\xfe-1!" {
		t.Errorf("host.name %q", v.Str)
	}
}

// TestDecodeManyAttributes exercises the indexed attribute path: later
// duplicates win, wrong-typed hot fields stay single attributes.
func TestDecodeManyAttributes(t *testing.T) {
	sp := benchRequest(1, 1, 0)
	span := sp.ResourceSpans[0].ScopeSpans[0].Spans[0]
	for round := 0; round < 2; round++ {
		for i := 0; i < 100; i++ {
			span.Attributes = append(span.Attributes, kvInt(fmt.Sprintf("k%d", i), int64(round*1000+i)))
		}
		span.Attributes = append(span.Attributes, kvInt("name", int64(round)), kvStr("trace.span_id", "not an id"))
	}
	res := mustConvert(t, sp)
	e := &res.Events[0]
	seen := map[string]int{}
	for _, a := range e.Attrs {
		seen[a.Key]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("key %q appears %d times", k, n)
		}
	}
	for i := 0; i < 100; i++ {
		if v, _ := e.Get(fmt.Sprintf("k%d", i)); v.Int != int64(1000+i) {
			t.Fatalf("k%d = %d, want the later %d", i, v.Int, 1000+i)
		}
	}
	if e.Name != "GET /api/item/0" {
		t.Errorf("an integer name attribute replaced the span name: %q", e.Name)
	}
	var name, sid model.Value
	for _, a := range e.Attrs {
		switch a.Key {
		case "name":
			name = a.Value
		case "trace.span_id":
			sid = a.Value
		}
	}
	if name.Kind != model.KindInt || name.Int != 1 || sid.Str != "not an id" {
		t.Errorf("wrong-typed hot fields: name %v, trace.span_id %v", name, sid)
	}
}

// TestDecoderReuse: a decoder reused after reset (as DecodeProtobuf's
// pooled ones are) decodes every request as a new decoder does, after
// large, small and malformed requests alike.
func TestDecoderReuse(t *testing.T) {
	big := benchRequestProto(t, 20, 10, 11)
	small := benchRequestProto(t, 1, 2, 3)
	var seeds [][]byte
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := proto.Marshal(parseJSONRequest(t, b))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, pb)
	}
	bodies := append([][]byte{big, small, big[:len(big)/2], big}, seeds...)
	bodies = append(bodies, big[:len(big)-3], small, big)
	d := new(wireDecoder)
	for i, body := range bodies {
		fresh, _, ferr := decodeProtobufRequest(body, RequestInfo{})
		reused, _, rerr := d.request(body, RequestInfo{})
		if (ferr == nil) != (rerr == nil) {
			t.Fatalf("body %d: new decoder %v, reused %v", i, ferr, rerr)
		}
		if ferr == nil {
			got, want := render(mustConvert(t, reused)), render(mustConvert(t, fresh))
			if !bytes.Equal(got, want) {
				t.Fatalf("body %d: reused decoder differs:\n got %s\nwant %s", i, got, want)
			}
			// A body handed over for good (gRPC's kept bytes) decodes the same.
			owned, err := decodeProtobuf(bytes.Clone(body), RequestInfo{}, true)
			if err != nil {
				t.Fatalf("body %d owned: %v", i, err)
			}
			if got := render(owned); !bytes.Equal(got, want) {
				t.Fatalf("body %d: decoding an owned body differs:\n got %s\nwant %s", i, got, want)
			}
		}
		if n := d.reset(); n <= 0 {
			t.Fatalf("body %d: reset kept %d bytes of chunks", i, n)
		}
	}
}
