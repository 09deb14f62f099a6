package xray

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

var (
	tmTrace, _ = model.ParseTraceID("5759e988bd862e3fe1be46a994272793")
	tmChild, _ = model.ParseSpanID("1000000000000002")
)

func otelSpan(kind string, parent model.SpanID, attrs ...model.Attr) model.Event {
	return model.Event{
		Source: model.SourceOTLP, Time: t0, TraceID: tmTrace, SpanID: tmChild, ParentID: parent,
		Name: "op", ServiceName: "svc", DurationMs: 250, SpanKind: kind, Attrs: attrs,
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

// TestPushdown: the store selects a trace by a filter's pushed-down hints
// exactly when the hints allow it to match, and never leaves out a trace
// the filter matches.
func TestPushdown(t *testing.T) {
	const tid = "1-5759e988-bd862e3fe1be46a994272793"
	xr, err := xrayingest.Decode([]byte(`{"trace_id":"` + tid + `","id":"1000000000000001","name":"api","start_time":1,"end_time":2,
		"annotations":{"user_id":"u1","name":"taken"},
		"subsegments":[{"id":"1000000000000002","name":"DynamoDB","namespace":"aws","start_time":1.1,"end_time":1.2,"aws":{"table_name":"users"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	otel := []model.Event{otelSpan("server", model.SpanID{}, model.Attr{Key: "order_id", Value: model.Str("o")})}
	otel[0].TraceID, _ = model.ParseTraceID("6b06cdc0aaaaaaaaaaaaaaaaaaaaaaaa")
	th := newTraceHarness(t, 100)
	env := store.DoorEnv("test", model.DoorXRay)
	ctx := context.Background()
	for _, evs := range [][]model.Event{xr, otel} {
		for i := range evs {
			evs[i].Dataset, evs[i].SampleRate = "svc", 1
		}
		if err := th.st.Write(ctx, []store.Batch{{Env: env, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		expr     string
		evs      []model.Event
		selected bool
	}{
		{`service("api")`, xr, true},
		{`service("users")`, xr, true},
		{`service("web")`, xr, false},
		{`annotation.user_id = "u1"`, xr, true},
		{`annotation.name = "taken"`, xr, true},
		{`annotation.other = 1`, xr, false},
		{`service("web") OR fault`, xr, true},
		{`service("svc")`, otel, true},
		{`service("elsewhere")`, otel, true}, // OTel names are known only once rendered
		{`annotation.order_id = "o"`, otel, true},
		{`annotation.user_id = "u1"`, otel, false},
	}
	for _, c := range cases {
		expr, err := xrayfilter.Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := th.st.SelectTraces(ctx, env, store.TraceQuery{Start: time.Unix(0, 0), End: t0.Add(time.Hour), Require: pushdown(expr.Hints())})
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, r := range sel.Traces {
			got = got || r.ID == c.evs[0].TraceID
		}
		if got != c.selected {
			t.Errorf("%s: selected = %v, want %v", c.expr, got, c.selected)
		}
		// Never leave out a trace that matches.
		tr := xrayview.Convert(c.evs[0].TraceID, c.evs, xrayview.Full)
		if !got && expr.Match(&tr.Trace, nil) {
			t.Errorf("%s: a matching trace was left out", c.expr)
		}
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
