package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	ingestxray "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
)

var (
	tmTrace, _ = model.ParseTraceID("5759e988bd862e3fe1be46a994272793")
	tmRoot, _  = model.ParseSpanID("1000000000000001")
	tmChild, _ = model.ParseSpanID("1000000000000002")
)

func otelSpan(kind string, parent model.SpanID, attrs ...model.Attr) model.Event {
	return model.Event{
		Source: model.SourceOTLP, Time: t0, TraceID: tmTrace, SpanID: tmChild, ParentID: parent,
		Name: "op", ServiceName: "svc", DurationMs: 250, SpanKind: kind, Attrs: attrs,
	}
}

func TestRenderSpan(t *testing.T) {
	a := func(k string, v model.Value) model.Attr { return model.Attr{Key: k, Value: v} }
	errSpan := otelSpan("internal", tmRoot)
	errSpan.StatusCode = 2
	cases := []struct {
		name string
		ev   model.Event
		want map[string]any // top-level members of the document (JSON values)
		seg  xrayfilter.Segment
	}{
		{
			name: "server root is a segment named by service.name",
			ev:   otelSpan("server", model.SpanID{}, a("http.request.method", model.Str("GET")), a("http.response.status_code", model.Int(429)), a("user_id", model.Str("u1")), a("cloud.platform", model.Str("aws_ecs"))),
			want: map[string]any{"name": "svc", "trace_id": "1-5759e988-bd862e3fe1be46a994272793", "error": true, "throttle": true,
				"origin": "AWS::ECS::Container", "annotations": map[string]any{"user_id": "u1"}, "start_time": 1795608000.0, "end_time": 1795608000.25},
			seg: xrayfilter.Segment{ID: tmChild, Name: "svc", Origin: "AWS::ECS::Container", Start: 1795608000, End: 1795608000.25, Error: true, Throttle: true,
				HTTP: xrayfilter.HTTP{Method: "GET", Status: 429}, Annotations: map[string]model.Value{"user_id": model.Str("u1")}},
		},
		{
			name: "client span is a remote subsegment named by peer.service",
			ev:   otelSpan("client", tmRoot, a("peer.service", model.Str("users")), a("http.status_code", model.Int(503)), a("net.sock.peer.addr", model.Str("10.0.0.1"))),
			want: map[string]any{"name": "users", "namespace": "remote", "fault": true, "metadata": map[string]any{"default": map[string]any{"net.sock.peer.addr": "10.0.0.1"}}},
			seg: xrayfilter.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Namespace: "remote", Name: "users", Start: 1795608000, End: 1795608000.25,
				Fault: true, HTTP: xrayfilter.HTTP{Status: 503}},
		},
		{
			name: "AWS SDK call is an aws subsegment with its table",
			ev:   otelSpan("client", tmRoot, a("rpc.system", model.Str("aws-api")), a("rpc.service", model.Str("DynamoDB")), a("rpc.method", model.Str("Query")), a("aws.table_name", model.Str("users"))),
			want: map[string]any{"name": "DynamoDB", "namespace": "aws", "aws": map[string]any{"operation": "Query", "table_name": "users"}},
			seg: xrayfilter.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Namespace: "aws", TableName: "users", Name: "DynamoDB",
				Start: 1795608000, End: 1795608000.25},
		},
		{
			name: "database call has a sql block",
			ev:   otelSpan("client", tmRoot, a("db.system", model.Str("postgresql")), a("db.name", model.Str("cruddur")), a("db.statement", model.Str("SELECT 1"))),
			want: map[string]any{"name": "cruddur", "namespace": "remote", "sql": map[string]any{"database_type": "postgresql", "url": "cruddur", "sanitized_query": "SELECT 1"}},
			seg: xrayfilter.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Namespace: "remote", SQL: true, Name: "cruddur",
				Start: 1795608000, End: 1795608000.25},
		},
		{
			name: "error status without http is a fault",
			ev:   errSpan,
			want: map[string]any{"name": "op", "fault": true},
			seg:  xrayfilter.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Name: "op", Start: 1795608000, End: 1795608000.25, Fault: true},
		},
		{
			name: "names keep only X-Ray's characters",
			ev:   otelSpan("internal", tmRoot, a("peer.service", model.Str("a<b>(c)!"))),
			want: map[string]any{"name": "abc"},
			seg:  xrayfilter.Segment{ID: tmChild, ParentID: tmRoot, Subsegment: true, Name: "abc", Start: 1795608000, End: 1795608000.25},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ent := spanEntity(&c.ev)
			var doc map[string]any
			if err := json.Unmarshal(ent.doc, &doc); err != nil {
				t.Fatalf("document %s: %v", ent.doc, err)
			}
			for k, want := range c.want {
				if g, w := fmt.Sprint(doc[k]), fmt.Sprint(want); g != w {
					t.Errorf("%s = %s, want %s (document %s)", k, g, w, ent.doc)
				}
			}
			if g, w := fmt.Sprintf("%+v", ent.seg), fmt.Sprintf("%+v", c.seg); g != w {
				t.Errorf("segment view\n got %s\nwant %s", g, w)
			}
			// The graph's cheap view agrees on what the graph reads.
			quick, full := renderedSegment(&c.ev), ent.seg
			full.Annotations, full.HTTP = nil, xrayfilter.HTTP{Status: full.HTTP.Status}
			if g, w := fmt.Sprintf("%+v", quick), fmt.Sprintf("%+v", full); g != w {
				t.Errorf("renderedSegment\n got %s\nwant %s", g, w)
			}
			// Every rendered document is one X-Ray itself would accept.
			if !c.ev.ParentID.IsZero() && c.ev.SpanKind != "server" {
				return
			}
			if _, err := ingestxray.Decode(ent.doc); err != nil {
				t.Errorf("rendered segment is not a valid X-Ray document: %v", err)
			}
		})
	}
}

func TestAssembleTrace(t *testing.T) {
	decode := func(doc string) []model.Event {
		evs, err := ingestxray.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	const tid = "1-5759e988-bd862e3fe1be46a994272793"
	inProgress := decode(`{"trace_id":"` + tid + `","id":"1000000000000001","name":"api","start_time":1.5,"in_progress":true}`)
	complete := decode(`{"trace_id":"` + tid + `","id":"1000000000000001","name":"api","start_time":1.5,"end_time":2.5,"fault":true,
		"subsegments":[{"id":"1000000000000002","name":"q","namespace":"aws","start_time":1.6,"end_time":1.7}]}`)
	independent := decode(`{"type":"subsegment","trace_id":"` + tid + `","parent_id":"1000000000000001","id":"1000000000000003","name":"late","start_time":2,"end_time":2.1}`)

	cases := []struct {
		name   string
		events []model.Event
		want   string // id:subsegment:parent:inprogress per entity
	}{
		{"complete replaces in-progress", append(append([]model.Event{}, inProgress...), complete...),
			"1000000000000001:false:0000000000000000:false 1000000000000002:true:1000000000000001:false"},
		{"in-progress after complete is ignored", append(append([]model.Event{}, complete...), inProgress...),
			"1000000000000001:false:0000000000000000:false 1000000000000002:true:1000000000000001:false"},
		{"independent subsegment", append(append([]model.Event{}, complete...), independent...),
			"1000000000000001:false:0000000000000000:false 1000000000000002:true:1000000000000001:false 1000000000000003:true:1000000000000001:false"},
		{"span events are skipped", []model.Event{{TraceID: tmTrace, AnnotationType: model.AnnotationSpanEvent}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := assembleTrace(tmTrace, c.events, true)
			var got []string
			for _, s := range tr.view.Segments {
				got = append(got, fmt.Sprintf("%s:%v:%s:%v", s.ID, s.Subsegment, s.ParentID, s.InProgress))
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Errorf("entities %q, want %q", g, c.want)
			}
		})
	}

	// The document of the segment embeds both subsegments and an inferred
	// document stands for the aws call.
	tr := assembleTrace(tmTrace, append(append(append([]model.Event{}, inProgress...), complete...), independent...), true)
	g := xrayfilter.BuildGraph(tr.view.Segments)
	docs := tr.segmentDocuments(&g)
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the segment and one inferred: %+v", len(docs), docs)
	}
	var seg struct {
		Fault       bool
		Subsegments []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(docs[0].Document), &seg); err != nil {
		t.Fatal(err)
	}
	if !seg.Fault || len(seg.Subsegments) != 2 {
		t.Errorf("segment document %s: want the complete one with 2 subsegments", docs[0].Document)
	}
	if !strings.Contains(docs[1].Document, `"inferred":true`) || !strings.Contains(docs[1].Document, `"origin":"AWS::q"`) ||
		!strings.Contains(docs[1].Document, `"parent_id":"1000000000000002"`) {
		t.Errorf("inferred document %s", docs[1].Document)
	}
}

func TestWithSubsegments(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`{"id":"a"}`, `{"id":"a","subsegments":[{"id":"b"},{"id":"c"}]}`},
		{` { } `, `{"subsegments":[{"id":"b"},{"id":"c"}]}`},
	}
	for _, c := range cases {
		got := string(withSubsegments([]byte(c.doc), [][]byte{[]byte(`{"id":"b"}`), []byte(`{"id":"c"}`)}))
		if got != c.want {
			t.Errorf("withSubsegments(%s) = %s, want %s", c.doc, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON %s", got)
		}
	}
}

func TestTraceEpoch(t *testing.T) {
	x, _ := model.ParseXRayTraceID("1-6b06cdc0-aaaaaaaaaaaaaaaaaaaaaaa1")
	w3c, _ := model.ParseTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	start := float64(t0.Unix())
	if e, ok := traceEpoch(x, start+0.5); !ok || e != start {
		t.Errorf("X-Ray id epoch = %v, %v; want %v", e, ok, start)
	}
	if _, ok := traceEpoch(w3c, float64(t0.Add(time.Hour).Unix())); ok {
		t.Error("a random W3C id was taken for a time")
	}
}

// TestGraphSegmentAgreesWithDocument checks that the cheap attribute view
// of stored X-Ray spans, used for the service graph, agrees with the view
// decoded from their documents on every field the graph reads.
func TestGraphSegmentAgreesWithDocument(t *testing.T) {
	raw, err := os.ReadFile("testdata/traces/segments.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range docs {
		evs, err := ingestxray.Decode(d)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			full := spanEntity(&evs[i]).seg
			want := xrayfilter.Segment{ID: full.ID, ParentID: full.ParentID, Subsegment: full.Subsegment, Namespace: full.Namespace,
				SQL: full.SQL, TableName: full.TableName, Name: full.Name, InProgress: full.InProgress,
				Error: full.Error, Fault: full.Fault, Throttle: full.Throttle, HTTP: xrayfilter.HTTP{Status: full.HTTP.Status}}
			if !full.Subsegment {
				want.Origin, want.AccountID = full.Origin, full.AccountID
			}
			got := graphSegment(&evs[i])
			if math.Abs(got.Start-full.Start) > 1e-6 || math.Abs(got.End-full.End) > 1e-6 {
				t.Errorf("%s: times %v..%v, want %v..%v", full.ID, got.Start, got.End, full.Start, full.End)
			}
			got.Start, got.End = 0, 0
			if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
				t.Errorf("attribute view\n got %s\nwant %s", g, w)
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d spans compared", n)
	}
}

func TestHintsExclude(t *testing.T) {
	const tid = "1-5759e988-bd862e3fe1be46a994272793"
	xr, err := ingestxray.Decode([]byte(`{"trace_id":"` + tid + `","id":"1000000000000001","name":"api","start_time":1,"end_time":2,
		"annotations":{"user_id":"u1","name":"taken"},
		"subsegments":[{"id":"1000000000000002","name":"DynamoDB","namespace":"aws","start_time":1.1,"end_time":1.2,"aws":{"table_name":"users"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	otel := []model.Event{otelSpan("server", model.SpanID{}, model.Attr{Key: "order_id", Value: model.Str("o")})}
	cases := []struct {
		expr    string
		evs     []model.Event
		exclude bool
	}{
		{`service("api")`, xr, false},
		{`service("users")`, xr, false},
		{`service("web")`, xr, true},
		{`annotation.user_id = "u1"`, xr, false},
		{`annotation.name = "taken"`, xr, false},
		{`annotation.other = 1`, xr, true},
		{`service("web") OR fault`, xr, false},
		{`service("svc")`, otel, false},
		{`service("elsewhere")`, otel, false}, // OTel names are known only once rendered
		{`annotation.order_id = "o"`, otel, false},
		{`annotation.user_id = "u1"`, otel, true},
	}
	for _, c := range cases {
		expr, err := xrayfilter.Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := hintsExclude(expr.Hints(), c.evs); got != c.exclude {
			t.Errorf("%s: exclude = %v, want %v", c.expr, got, c.exclude)
		}
		// Never exclude a trace that matches.
		tr := assembleTrace(tmTrace, c.evs, true)
		if hintsExclude(expr.Hints(), c.evs) && expr.Match(&tr.view, nil) {
			t.Errorf("%s: a matching trace was excluded", c.expr)
		}
	}
}

// TestRenderSpanURL: server spans carry no url.full; their URL is put
// together from the old or the new HTTP semantic conventions.
func TestRenderSpanURL(t *testing.T) {
	a := func(k string, v model.Value) model.Attr { return model.Attr{Key: k, Value: v} }
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
			var doc struct {
				HTTP struct{ Request struct{ URL string } }
			}
			if err := json.Unmarshal(renderSpan(&ev), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.HTTP.Request.URL != c.want {
				t.Errorf("url %q, want %q", doc.HTTP.Request.URL, c.want)
			}
		})
	}
}

// TestOTelSummaryURLAndCause: a summary built from OTel spans carries the
// request's URL and, from the span's exception events, the root cause's
// exception.
func TestOTelSummaryURLAndCause(t *testing.T) {
	th := newTraceHarness(t, 100)
	tid, _ := model.ParseTraceID("6b06cdc0aaaaaaaaaaaaaaaaaaaaaaaa")
	sid, _ := model.ParseSpanID("e000000000000001")
	at := t0.Add(30 * time.Second)
	a := func(k string, v model.Value) model.Attr { return model.Attr{Key: k, Value: v} }
	events := []model.Event{
		{Dataset: "backend-flask", Source: model.SourceOTLP, Time: at, TraceID: tid, SpanID: sid, Name: "GET /api/activities/home",
			ServiceName: "backend-flask", DurationMs: 40, SpanKind: "server", StatusCode: 2, Error: true, SampleRate: 1,
			Attrs: []model.Attr{a("http.request.method", model.Str("GET")), a("url.scheme", model.Str("http")),
				a("server.address", model.Str("localhost")), a("server.port", model.Int(4567)),
				a("url.path", model.Str("/api/activities/home")), a("http.response.status_code", model.Int(500))}},
		{Dataset: "backend-flask", Source: model.SourceOTLP, Time: at.Add(time.Millisecond), TraceID: tid, ParentID: sid,
			Name: "exception", ServiceName: "backend-flask", AnnotationType: model.AnnotationSpanEvent, SampleRate: 1,
			Attrs: []model.Attr{a("exception.type", model.Str("KeyError")), a("exception.message", model.Str("'handle'"))}},
	}
	if err := th.st.Write(context.Background(), []store.Batch{{Env: "test", Events: events}}); err != nil {
		t.Fatal(err)
	}
	r := th.post("/TraceSummaries", `{`+win+`, "FilterExpression": "service(\"backend-flask\") AND fault"}`)
	var out struct {
		TraceSummaries []struct {
			Id              string
			Http            struct{ HttpURL string }
			FaultRootCauses []struct {
				Services []struct {
					EntityPath []struct {
						Exceptions []struct{ Name, Message string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var found bool
	for _, s := range out.TraceSummaries {
		if s.Id != tid.XRay() {
			continue
		}
		found = true
		if s.Http.HttpURL != "http://localhost:4567/api/activities/home" {
			t.Errorf("HttpURL %q", s.Http.HttpURL)
		}
		var excs []string
		for _, rc := range s.FaultRootCauses {
			for _, svc := range rc.Services {
				for _, e := range svc.EntityPath {
					for _, x := range e.Exceptions {
						excs = append(excs, x.Name+": "+x.Message)
					}
				}
			}
		}
		if len(excs) != 1 || excs[0] != "KeyError: 'handle'" {
			t.Errorf("fault root cause exceptions %q, want the exception event's", excs)
		}
	}
	if !found {
		t.Fatalf("no summary of %s: %s", tid.XRay(), r.body)
	}
}
