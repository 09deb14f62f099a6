package xrayview_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

var (
	t0         = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tmTrace, _ = model.ParseTraceID("5759e988bd862e3fe1be46a994272793")
	tmRoot, _  = model.ParseSpanID("1000000000000001")
	tmChild, _ = model.ParseSpanID("1000000000000002")
)

func a(k string, v model.Value) model.Attr { return model.Attr{Key: k, Value: v} }

func otelSpan(kind string, parent model.SpanID, attrs ...model.Attr) model.Event {
	return model.Event{
		Source: model.SourceOTLP, Time: t0, TraceID: tmTrace, SpanID: tmChild, ParentID: parent,
		Name: "op", ServiceName: "svc", DurationMs: 250, SpanKind: kind, Attrs: attrs,
	}
}

// decodeAll decodes X-Ray documents as the daemon door does.
func decodeAll(t testing.TB, docs ...string) []model.Event {
	t.Helper()
	var out []model.Event
	for _, d := range docs {
		var err error
		if out, err = xrayingest.AppendDocument(out, []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// fixtureEvents decodes testdata/segments.json.
func fixtureEvents(t testing.TB) []model.Event {
	t.Helper()
	raw, err := os.ReadFile("testdata/segments.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatal(err)
	}
	var out []model.Event
	for _, d := range docs {
		evs, err := xrayingest.Decode(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		out = append(out, evs...)
	}
	return out
}

func TestRenderSpan(t *testing.T) {
	errSpan := otelSpan("internal", tmRoot)
	errSpan.StatusCode = 2
	cases := []struct {
		name string
		ev   model.Event
		want map[string]any // top-level members of the document (JSON values)
		seg  xrayview.Segment
	}{
		{
			name: "server root is a segment named by service.name",
			ev:   otelSpan("server", model.SpanID{}, a("http.request.method", model.Str("GET")), a("http.response.status_code", model.Int(429)), a("user_id", model.Str("u1")), a("cloud.platform", model.Str("aws_ecs"))),
			want: map[string]any{"name": "svc", "trace_id": "1-5759e988-bd862e3fe1be46a994272793", "error": true, "throttle": true,
				"origin": "AWS::ECS::Container", "annotations": map[string]any{"user_id": "u1"}, "start_time": 1795608000.0, "end_time": 1795608000.25},
			seg: xrayview.Segment{ID: tmChild, Name: "svc", Origin: "AWS::ECS::Container", Start: 1795608000, End: 1795608000.25, Error: true, Throttle: true,
				HTTP: xrayview.HTTP{Method: "GET", Status: 429}, Annotations: map[string]model.Value{"user_id": model.Str("u1")}},
		},
		{
			name: "client span is a remote subsegment named by peer.service",
			ev:   otelSpan("client", tmRoot, a("peer.service", model.Str("users")), a("http.status_code", model.Int(503)), a("net.sock.peer.addr", model.Str("10.0.0.1"))),
			want: map[string]any{"name": "users", "namespace": "remote", "fault": true, "metadata": map[string]any{"default": map[string]any{"net.sock.peer.addr": "10.0.0.1"}}},
			seg: xrayview.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Namespace: "remote", Name: "users", Start: 1795608000, End: 1795608000.25,
				Fault: true, HTTP: xrayview.HTTP{Status: 503}},
		},
		{
			name: "AWS SDK call is an aws subsegment with its table",
			ev:   otelSpan("client", tmRoot, a("rpc.system", model.Str("aws-api")), a("rpc.service", model.Str("DynamoDB")), a("rpc.method", model.Str("Query")), a("aws.table_name", model.Str("users"))),
			want: map[string]any{"name": "DynamoDB", "namespace": "aws", "aws": map[string]any{"operation": "Query", "table_name": "users"}},
			seg: xrayview.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Namespace: "aws", TableName: "users", Name: "DynamoDB",
				Start: 1795608000, End: 1795608000.25},
		},
		{
			name: "database call has a sql block",
			ev:   otelSpan("client", tmRoot, a("db.system", model.Str("postgresql")), a("db.name", model.Str("cruddur")), a("db.statement", model.Str("SELECT 1"))),
			want: map[string]any{"name": "cruddur", "namespace": "remote", "sql": map[string]any{"database_type": "postgresql", "url": "cruddur", "sanitized_query": "SELECT 1"}},
			seg: xrayview.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Namespace: "remote", SQL: true, Name: "cruddur",
				Start: 1795608000, End: 1795608000.25},
		},
		{
			name: "error status without http is a fault",
			ev:   errSpan,
			want: map[string]any{"name": "op", "fault": true},
			seg:  xrayview.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Name: "op", Start: 1795608000, End: 1795608000.25, Fault: true},
		},
		{
			name: "names keep only X-Ray's characters",
			ev:   otelSpan("internal", tmRoot, a("peer.service", model.Str("a<b>(c)!"))),
			want: map[string]any{"name": "abc"},
			seg:  xrayview.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Name: "abc", Start: 1795608000, End: 1795608000.25},
		},
		{
			name: "a segment's account, typed and non-finite annotations",
			ev: otelSpan("server", model.SpanID{}, a("cloud.account.id", model.Str("123456789012")), a("n", model.Float(3)),
				a("inf", model.Float(math.Inf(1))), a("ok", model.Bool(true))),
			want: map[string]any{"aws": map[string]any{"account_id": "123456789012"}, "annotations": map[string]any{"n": 3.0, "inf": "+Inf", "ok": true}},
			seg: xrayview.Segment{ID: tmChild, Name: "svc", AccountID: "123456789012", Start: 1795608000, End: 1795608000.25,
				Annotations: map[string]model.Value{"n": model.Float(3), "inf": model.Str("+Inf"), "ok": model.Bool(true)}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := xrayview.Convert(tmTrace, []model.Event{c.ev}, xrayview.Full)
			if len(v.Entities) != 1 || len(v.Trace.Segments) != 1 {
				t.Fatalf("%d entities, %d segments", len(v.Entities), len(v.Trace.Segments))
			}
			doc, seg := v.Entities[0].Doc, v.Trace.Segments[0]
			var members map[string]any
			if err := json.Unmarshal(doc, &members); err != nil {
				t.Fatalf("document %s: %v", doc, err)
			}
			for k, want := range c.want {
				if g, w := fmt.Sprint(members[k]), fmt.Sprint(want); g != w {
					t.Errorf("%s = %s, want %s (document %s)", k, g, w, doc)
				}
			}
			if g, w := fmt.Sprintf("%+v", seg), fmt.Sprintf("%+v", c.seg); g != w {
				t.Errorf("segment view\n got %s\nwant %s", g, w)
			}
			// The document says what the segment view says: reading it
			// back gives the same Segment.
			back, err := xrayview.SegmentsFromDocument(doc)
			if err != nil {
				t.Fatal(err)
			}
			back[0].ID, back[0].ParentID, back[0].Subsegment = seg.ID, seg.ParentID, seg.Subsegment
			if g, w := fmt.Sprintf("%+v", back[0]), fmt.Sprintf("%+v", withNumbersAsRead(seg)); g != w {
				t.Errorf("document read back\n got %s\nwant %s", g, w)
			}
			// The graph's cheap view is the full one without annotations.
			quick := xrayview.Convert(tmTrace, []model.Event{c.ev}, xrayview.GraphOnly)
			full := seg
			full.Annotations = nil
			if g, w := fmt.Sprintf("%+v", quick.Trace.Segments[0]), fmt.Sprintf("%+v", full); g != w {
				t.Errorf("graph view\n got %s\nwant %s", g, w)
			}
			if quick.Entities != nil {
				t.Errorf("graph view has entities")
			}
			// Every rendered segment document is one X-Ray itself would accept.
			if !c.ev.ParentID.IsZero() && c.ev.SpanKind != "server" {
				return
			}
			if _, err := xrayingest.Decode(doc); err != nil {
				t.Errorf("rendered segment is not a valid X-Ray document: %v", err)
			}
		})
	}
}

// withNumbersAsRead is s with its annotations as a document holds them:
// an integral float is read back as an integer.
func withNumbersAsRead(s xrayview.Segment) xrayview.Segment {
	if s.Annotations == nil {
		return s
	}
	m := make(map[string]model.Value, len(s.Annotations))
	for k, v := range s.Annotations {
		if v.Kind == model.KindFloat && v.Flt == math.Trunc(v.Flt) {
			v = model.Int(int64(v.Flt))
		}
		m[k] = v
	}
	s.Annotations = m
	return s
}

// TestRenderSpanURL: server spans carry no url.full; their URL is put
// together from the old or the new HTTP semantic conventions.
func TestRenderSpanURL(t *testing.T) {
	for _, c := range []struct {
		name  string
		attrs []model.Attr
		want  string
	}{
		{"client url.full", []model.Attr{a("url.full", model.Str("https://api.example.com/x?y=1"))}, "https://api.example.com/x?y=1"},
		{"old http.url", []model.Attr{a("http.url", model.Str("http://h/p"))}, "http://h/p"},
		{"new server conventions", []model.Attr{a("url.scheme", model.Str("http")), a("server.address", model.Str("127.0.0.1")),
			a("server.port", model.Int(4567)), a("url.path", model.Str("/api/activities/home")), a("url.query", model.Str("a=b"))},
			"http://127.0.0.1:4567/api/activities/home?a=b"},
		{"old server conventions", []model.Attr{a("http.scheme", model.Str("https")), a("http.host", model.Str("cruddur.example")),
			a("http.target", model.Str("/api/message_groups"))}, "https://cruddur.example/api/message_groups"},
		{"default port left out", []model.Attr{a("url.scheme", model.Str("https")), a("server.address", model.Str("h")),
			a("server.port", model.Int(443)), a("url.path", model.Str("/"))}, "https://h/"},
		{"net.host.name and port", []model.Attr{a("net.host.name", model.Str("h")), a("net.host.port", model.Int(8080)),
			a("http.target", model.Str("/t"))}, "http://h:8080/t"},
		{"no host: no URL", []model.Attr{a("url.path", model.Str("/t"))}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := otelSpan("server", model.SpanID{}, append(c.attrs, a("http.request.method", model.Str("GET")))...)
			v := xrayview.Convert(tmTrace, []model.Event{ev}, xrayview.Full)
			var doc struct {
				HTTP struct{ Request struct{ URL string } }
			}
			if err := json.Unmarshal(v.Entities[0].Doc, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.HTTP.Request.URL != c.want || v.Trace.Segments[0].HTTP.URL != c.want {
				t.Errorf("url %q (segment %q), want %q", doc.HTTP.Request.URL, v.Trace.Segments[0].HTTP.URL, c.want)
			}
		})
	}
}

// TestGraphOnlyAgreesWithFull: the cheap view of stored X-Ray spans, read
// from the attributes the decoder wrote, agrees with the view read from
// their documents on every field the service graph reads.
func TestGraphOnlyAgreesWithFull(t *testing.T) {
	evs := fixtureEvents(t)
	full := xrayview.Convert(tmTrace, evs, xrayview.Full).Trace.Segments
	quick := xrayview.Convert(tmTrace, evs, xrayview.GraphOnly).Trace.Segments
	if len(full) != len(evs) || len(quick) != len(evs) {
		t.Fatalf("%d events, %d full and %d graph segments", len(evs), len(full), len(quick))
	}
	if len(full) < 15 {
		t.Fatalf("only %d spans compared", len(full))
	}
	for i := range full {
		f, q := full[i], quick[i]
		want := xrayview.Segment{ID: f.ID, ParentID: f.ParentID, Subsegment: f.Subsegment, Inferred: f.Inferred, Namespace: f.Namespace,
			SQL: f.SQL, TableName: f.TableName, Name: f.Name, InProgress: f.InProgress,
			Error: f.Error, Fault: f.Fault, Throttle: f.Throttle, HTTP: xrayview.HTTP{Status: f.HTTP.Status}}
		if !f.Subsegment {
			want.Origin, want.AccountID = f.Origin, f.AccountID
		}
		if math.Abs(q.Start-f.Start) > 1e-6 || math.Abs(q.End-f.End) > 1e-6 {
			t.Errorf("%s: times %v..%v, want %v..%v", f.ID, q.Start, q.End, f.Start, f.End)
		}
		q.Start, q.End = 0, 0
		if g, w := fmt.Sprintf("%+v", q), fmt.Sprintf("%+v", want); g != w {
			t.Errorf("attribute view\n got %s\nwant %s", g, w)
		}
	}
}

func TestConvertDuplicates(t *testing.T) {
	const tid = "1-5759e988-bd862e3fe1be46a994272793"
	inProgress := decodeAll(t, `{"trace_id":"`+tid+`","id":"1000000000000001","name":"api","start_time":1.5,"in_progress":true}`)
	complete := decodeAll(t, `{"trace_id":"`+tid+`","id":"1000000000000001","name":"api","start_time":1.5,"end_time":2.5,"fault":true,
		"subsegments":[{"id":"1000000000000002","name":"q","namespace":"aws","start_time":1.6,"end_time":1.7}]}`)
	independent := decodeAll(t, `{"type":"subsegment","trace_id":"`+tid+`","parent_id":"1000000000000001","id":"1000000000000003","name":"late","start_time":2,"end_time":2.1}`)
	again := decodeAll(t, `{"trace_id":"`+tid+`","id":"1000000000000001","name":"api-again","start_time":1.5,"end_time":2.6}`)
	cat := func(lists ...[]model.Event) []model.Event {
		var out []model.Event
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	cases := []struct {
		name   string
		events []model.Event
		want   string // name:id:subsegment:parent:inprogress per entity
	}{
		{"complete replaces in-progress", cat(inProgress, complete),
			"api:1000000000000001:false:0000000000000000:false q:1000000000000002:true:1000000000000001:false"},
		{"in-progress after complete is ignored", cat(complete, inProgress),
			"api:1000000000000001:false:0000000000000000:false q:1000000000000002:true:1000000000000001:false"},
		{"the later of two complete forms", cat(complete, again),
			"api-again:1000000000000001:false:0000000000000000:false q:1000000000000002:true:1000000000000001:false"},
		{"independent subsegment", cat(complete, independent),
			"api:1000000000000001:false:0000000000000000:false q:1000000000000002:true:1000000000000001:false late:1000000000000003:true:1000000000000001:false"},
		{"in progress alone", inProgress, "api:1000000000000001:false:0000000000000000:true"},
		{"span events are skipped", []model.Event{{TraceID: tmTrace, AnnotationType: model.AnnotationSpanEvent}}, ""},
	}
	for _, c := range cases {
		for _, detail := range []xrayview.Detail{xrayview.Full, xrayview.GraphOnly} {
			t.Run(fmt.Sprint(c.name, detail), func(t *testing.T) {
				v := xrayview.Convert(tmTrace, c.events, detail)
				var got []string
				for _, s := range v.Trace.Segments {
					got = append(got, fmt.Sprintf("%s:%s:%v:%s:%v", s.Name, s.ID, s.Subsegment, s.ParentID, s.InProgress))
				}
				if g := strings.Join(got, " "); g != c.want {
					t.Errorf("entities %q, want %q", g, c.want)
				}
			})
		}
	}

	// The document of the segment embeds both subsegments and an inferred
	// document stands for the aws call.
	v := xrayview.Convert(tmTrace, cat(inProgress, complete, independent), xrayview.Full)
	g := xrayview.BuildGraph(v.Trace.Segments)
	docs := v.Documents(&g)
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the segment and one inferred: %+v", len(docs), docs)
	}
	var seg struct {
		Fault       bool
		Subsegments []struct{ ID string }
	}
	if err := json.Unmarshal(docs[0].Doc, &seg); err != nil {
		t.Fatal(err)
	}
	if !seg.Fault || len(seg.Subsegments) != 2 {
		t.Errorf("segment document %s: want the complete one with 2 subsegments", docs[0].Doc)
	}
	if d := string(docs[1].Doc); !strings.Contains(d, `"inferred":true`) || !strings.Contains(d, `"origin":"AWS::q"`) ||
		!strings.Contains(d, `"parent_id":"1000000000000002"`) {
		t.Errorf("inferred document %s", d)
	}
}

func TestRequestTracedByBothSDKsCountsOnce(t *testing.T) {
	sid := func(b byte) model.SpanID { return model.SpanID{b} }
	events := []model.Event{
		// backend-flask traced by both SDKs: its OTel spans (1, 3, 7) leave the X-Ray view.
		{Source: model.SourceOTLP, SpanID: sid(1), Name: "GET /api/activities/home", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceXRay, SpanID: sid(2), ParentID: sid(1), Name: "backend-flask", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceOTLP, SpanID: sid(3), ParentID: sid(1), Name: "HTTP GET", ServiceName: "backend-flask", SpanKind: "client"},
		{Source: model.SourceXRay, SpanID: sid(4), ParentID: sid(2), Name: "mock-data", ServiceName: "backend-flask", SpanKind: "internal"},
		// A service that sent only OTel spans stays, under the nearest span that stays.
		{Source: model.SourceOTLP, SpanID: sid(5), ParentID: sid(3), Name: "GET /x", ServiceName: "other", SpanKind: "server"},
		{Source: model.SourceOTLP, SpanID: sid(6), ParentID: sid(5), Name: "db", ServiceName: "other", SpanKind: "client"},
		// The self-call's X-Ray segment hangs off an X-Ray subsegment; the OTel server span of it goes.
		{Source: model.SourceOTLP, SpanID: sid(7), ParentID: sid(3), Name: "GET /api/health", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceXRay, SpanID: sid(8), ParentID: sid(4), Name: "backend-flask", ServiceName: "backend-flask", SpanKind: "server"},
	}
	for _, detail := range []xrayview.Detail{xrayview.Full, xrayview.GraphOnly} {
		v := xrayview.Convert(model.TraceID{1}, events, detail)
		parents := map[model.SpanID]model.SpanID{}
		for _, s := range v.Trace.Segments {
			parents[s.ID] = s.ParentID
		}
		want := map[model.SpanID]model.SpanID{sid(2): {}, sid(4): sid(2), sid(5): {}, sid(6): sid(5), sid(8): sid(4)}
		if len(parents) != len(want) {
			t.Fatalf("view has %v, want %v", parents, want)
		}
		for id, p := range want {
			if got, ok := parents[id]; !ok || got != p {
				t.Errorf("span %v: parent %v (present %v), want %v", id, got, ok, p)
			}
		}
		// Without X-Ray segments, OTel spans are the X-Ray view.
		alone := xrayview.Convert(model.TraceID{1}, []model.Event{events[0], events[2]}, detail)
		if len(alone.Trace.Segments) != 2 || alone.Trace.Segments[0].Subsegment {
			t.Fatalf("OTel-only trace: %+v", alone.Trace.Segments)
		}
	}
}

// TestExceptions: the exceptions of a stored cause, and of an OTel span's
// exception events, which become its rendered cause.
func TestExceptions(t *testing.T) {
	evs := fixtureEvents(t)
	v := xrayview.Convert(tmTrace, evs, xrayview.Full)
	got := map[string]string{}
	for i, e := range v.Entities {
		if len(e.Exceptions) > 0 {
			got[v.Trace.Segments[i].Name] = fmt.Sprint(e.Exceptions)
		}
	}
	if want := map[string]string{"SNS": "[{Throttled slow down} {Inner why}]"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored causes: %v, want %v (an exception-id cause has none)", got, want)
	}

	span := otelSpan("server", model.SpanID{})
	span.StatusCode = 2
	exc := model.Event{Source: model.SourceOTLP, Time: t0, TraceID: tmTrace, ParentID: tmChild, Name: "exception",
		AnnotationType: model.AnnotationSpanEvent, Attrs: []model.Attr{a("exception.type", model.Str("KeyError")), a("exception.message", model.Str("'x'"))}}
	if !xrayview.IsExceptionEvent(&exc) {
		t.Fatal("not an exception event")
	}
	v = xrayview.Convert(tmTrace, []model.Event{span, exc}, xrayview.Full)
	if len(v.Entities) != 1 || fmt.Sprint(v.Entities[0].Exceptions) != "[{KeyError 'x'}]" {
		t.Fatalf("entities %+v", v.Entities)
	}
	var doc struct {
		Cause struct {
			Exceptions []struct{ ID, Type, Message string }
		}
	}
	if err := json.Unmarshal(v.Entities[0].Doc, &doc); err != nil {
		t.Fatal(err)
	}
	if x := doc.Cause.Exceptions; len(x) != 1 || len(x[0].ID) != 16 || x[0].Type != "KeyError" || x[0].Message != "'x'" {
		t.Errorf("rendered cause %s", v.Entities[0].Doc)
	}
}

// TestConvertGolden: the entities of two traces, one of X-Ray and OTel
// spans, one of every kind of X-Ray document, and the documents
// BatchGetTraces answers with.
func TestConvertGolden(t *testing.T) {
	id, events := benchTrace(t)
	var b bytes.Buffer
	for _, tr := range []struct {
		id     model.TraceID
		events []model.Event
	}{{id, events}, {tmTrace, fixtureEvents(t)}} {
		fmt.Fprintf(&b, "trace %s\n", tr.id)
		v := xrayview.Convert(tr.id, tr.events, xrayview.Full)
		for i := range v.Trace.Segments {
			fmt.Fprintf(&b, "segment %s\n", nonZero(v.Trace.Segments[i]))
			if x := v.Entities[i].Exceptions; len(x) > 0 {
				fmt.Fprintf(&b, "  exceptions %+v\n", x)
			}
		}
		g := xrayview.BuildGraph(v.Trace.Segments)
		for _, d := range v.Documents(&g) {
			if !json.Valid(d.Doc) {
				t.Errorf("document %s is not JSON: %s", d.ID, d.Doc)
			}
			var c bytes.Buffer
			_ = json.Compact(&c, d.Doc)
			fmt.Fprintf(&b, "document %s %s\n", d.ID, c.Bytes())
		}
		start, end := v.Bounds()
		fmt.Fprintf(&b, "bounds %.3f %.3f\n\n", start, end)
	}
	golden.Check(t, filepath.Join("testdata", "convert.golden"), b.Bytes())
}

// nonZero formats the fields of a struct that are not zero.
func nonZero(v any) string {
	rv := reflect.ValueOf(v)
	var parts []string
	for i := range rv.NumField() {
		f := rv.Field(i)
		if f.IsZero() {
			continue
		}
		val := fmt.Sprintf("%v", f.Interface())
		switch x := f.Interface().(type) {
		case float64:
			val = strconv.FormatFloat(x, 'f', -1, 64)
		case xrayview.HTTP:
			val = "{" + nonZero(x) + "}"
		}
		parts = append(parts, rv.Type().Field(i).Name+":"+val)
	}
	return strings.Join(parts, " ")
}
