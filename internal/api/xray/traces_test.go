package xray

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
)

// traceHarness is the X-Ray handler with the trace operations over a real
// DuckDB store; PutTraceSegments writes straight to the store.
type traceHarness struct {
	*harness
	st *duckdb.Store
}

func validateFilter(expr string) error {
	_, err := xrayfilter.Parse(expr)
	return err
}

// newTraceHarness serves the trace operations over a fresh store, writing
// PutTraceSegments where the app writes X-Ray's doors (store.DoorEnv). The
// operations read both doors, as --xray-include-otel makes them, so that
// the OTel spans seedTraces writes to the Honeycomb door are converted to
// segments; TestDoors checks the default, X-Ray's door only.
func newTraceHarness(t testing.TB, pageSize int) *traceHarness {
	return newTraceHarnessDoors(t, pageSize, model.DoorXRay, model.DoorHoneycomb)
}

func newTraceHarnessDoors(t testing.TB, pageSize int, doors ...model.Door) *traceHarness {
	t.Helper()
	return newTraceHarnessWith(t, pageSize, nil, doors...)
}

// writeTo is a consumer writing to the store environment name gives.
func writeTo(st store.Writer, name func(env string) string) ingest.Consumer {
	return ingest.ConsumerFunc(func(ctx context.Context, env string, events []model.Event) error {
		return st.Write(ctx, []store.Batch{{Env: name(env), Events: events}})
	})
}

// newTraceHarnessWith is newTraceHarnessDoors with the consumer consume
// makes (nil: writing to X-Ray's door).
func newTraceHarnessWith(t testing.TB, pageSize int, consume func(st store.Writer, m *sampling.Manager) ingest.Consumer, doors ...model.Door) *traceHarness {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "tc.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := &fakeClock{t: t0}
	m, err := sampling.New(sampling.Config{Now: clk.Now, ValidateFilter: validateFilter})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Meta: m, DefaultEnv: "test", PageSize: pageSize, NewRequestID: func() string { return "00000000-0000-4000-8000-000000000000" }})
	if err != nil {
		t.Fatal(err)
	}
	consumer := writeTo(st, func(env string) string { return store.DoorEnv(env, model.DoorXRay) })
	if consume != nil {
		consumer = consume(st, m)
	}
	if err := h.RegisterTraceOperations(TraceDeps{Store: st, Doors: doors, Consumer: consumer}); err != nil {
		t.Fatal(err)
	}
	return &traceHarness{harness: &harness{h: h, m: m, clk: clk}, st: st}
}

// otlpTrace is an OTel trace (random W3C id) of two services: checkout's
// server span calls inventory through a client span.
func otlpTrace() []model.Event {
	tid, _ := model.ParseTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	sid := func(s string) model.SpanID { id, _ := model.ParseSpanID(s); return id }
	at := t0.Add(40 * time.Second)
	return []model.Event{
		{Dataset: "checkout", Source: model.SourceOTLP, Time: at, TraceID: tid, SpanID: sid("c000000000000001"),
			Name: "POST /pay", ServiceName: "checkout", DurationMs: 300, SpanKind: "server", SampleRate: 1,
			Attrs: []model.Attr{
				{Key: "http.request.method", Value: model.Str("POST")},
				{Key: "url.full", Value: model.Str("http://checkout/pay")},
				{Key: "http.response.status_code", Value: model.Int(201)},
				{Key: "order_id", Value: model.Str("o-17")},
				{Key: "telemetry.sdk.language", Value: model.Str("go")},
			}},
		{Dataset: "checkout", Source: model.SourceOTLP, Time: at.Add(10 * time.Millisecond), TraceID: tid, SpanID: sid("c000000000000002"),
			ParentID: sid("c000000000000001"), Name: "GET", ServiceName: "checkout", DurationMs: 200, SpanKind: "client", SampleRate: 1,
			Attrs: []model.Attr{
				{Key: "peer.service", Value: model.Str("inventory")},
				{Key: "http.request.method", Value: model.Str("GET")},
				{Key: "http.response.status_code", Value: model.Int(503)},
			}},
		{Dataset: "inventory", Source: model.SourceOTLP, Time: at.Add(20 * time.Millisecond), TraceID: tid, SpanID: sid("d000000000000001"),
			ParentID: sid("c000000000000002"), Name: "GET /stock", ServiceName: "inventory", DurationMs: 150, SpanKind: "server",
			StatusCode: 2, Error: true, SampleRate: 1},
	}
}

// seed stores the fixture segments through PutTraceSegments and the OTel
// trace directly.
func (th *traceHarness) seed(t testing.TB) {
	t.Helper()
	raw, err := os.ReadFile("testdata/traces/segments.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs { // one call each, so the in-progress one lands first
		var c bytes.Buffer
		if err := json.Compact(&c, d); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string][]string{"TraceSegmentDocuments": {c.String()}})
		r := th.post("/TraceSegments", string(body))
		if r.status != 200 || r.body != "{\"UnprocessedTraceSegments\":[]}\n" {
			t.Fatalf("PutTraceSegments: %d %s", r.status, r.body)
		}
	}
	if err := th.st.Write(context.Background(), []store.Batch{{Env: "test", Events: otlpTrace()}}); err != nil {
		t.Fatal(err)
	}
}

func goldenJSON(t *testing.T, name string, r response) {
	t.Helper()
	var body bytes.Buffer
	if err := json.Indent(&body, []byte(r.body), "", "  "); err != nil {
		body.Reset()
		body.WriteString(r.body)
	}
	got := []byte("status: " + itoaTest(r.status) + "\nerror-type: " + r.errorType + "\n" + body.String() + "\n")
	path := filepath.Join("testdata", "traces", name+".golden")
	golden.Check(t, path, got)
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func itoaTest(n int) string { b, _ := json.Marshal(n); return string(b) }

const (
	win     = `"StartTime": 1795607940, "EndTime": 1795608120`
	traceA  = "1-6b06cdc0-aaaaaaaaaaaaaaaaaaaaaaa1"
	traceD  = "1-6b06cdde-ddddddddddddddddddddddd4"
	traceE  = "1-4bf92f35-77b34da6a3ce929d0e0e4736"
	badExpr = `service("backend-flask") AND responsetime >`
)

func TestTraceOperationsGolden(t *testing.T) {
	th := newTraceHarness(t, 100)
	th.seed(t)
	ctx := context.Background()
	frontend := "frontend-only"
	filter := `service("frontend")`
	group, err := th.m.CreateGroup(ctx, "test", sampling.GroupSpec{GroupName: &frontend, FilterExpression: &filter})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, body string
	}{
		{"service_graph", "/ServiceGraph", `{` + win + `}`},
		{"service_graph_group", "/ServiceGraph", `{` + win + `, "GroupName": "frontend-only"}`},
		{"service_graph_group_arn", "/ServiceGraph", `{` + win + `, "GroupARN": ` + jsonString(group.GroupARN) + `}`},
		{"timeseries_group", "/TimeSeriesServiceStatistics", `{` + win + `, "GroupName": "frontend-only", "EntitySelectorExpression": "service(\"backend-flask\")"}`},
		{"service_graph_default_group", "/ServiceGraph", `{"StartTime": 1795608005, "EndTime": 1795608015, "GroupName": "Default"}`},
		{"service_graph_unknown_group", "/ServiceGraph", `{` + win + `, "GroupName": "nope"}`},
		{"service_graph_no_start", "/ServiceGraph", `{"EndTime": 1795608120}`},
		{"service_graph_reversed", "/ServiceGraph", `{"StartTime": 1795608120, "EndTime": 1795607940}`},
		{"service_graph_too_long", "/ServiceGraph", `{"StartTime": 1795500000, "EndTime": 1795608120}`},
		{"service_graph_empty_window", "/ServiceGraph", `{"StartTime": 1795600000, "EndTime": 1795600060}`},
		{"summaries", "/TraceSummaries", `{` + win + `}`},
		{"summaries_service", "/TraceSummaries", `{` + win + `, "FilterExpression": "service(\"backend-flask\")"}`},
		{"summaries_annotation", "/TraceSummaries", `{` + win + `, "FilterExpression": "annotation.user_id = \"u1\""}`},
		{"summaries_fault", "/TraceSummaries", `{` + win + `, "FilterExpression": "fault OR throttle"}`},
		{"summaries_otel_edge", "/TraceSummaries", `{` + win + `, "FilterExpression": "edge(\"checkout\", \"inventory\") AND annotation.order_id = \"o-17\""}`},
		{"summaries_rootcause", "/TraceSummaries", `{` + win + `, "FilterExpression": "rootcause.fault.service { name = \"SNS\" }"}`},
		{"summaries_rootcause_responsetime", "/TraceSummaries", `{` + win + `, "FilterExpression": "rootcause.responsetime.entity { name = \"render\" AND coverage > 0.3 }"}`},
		{"summaries_group", "/TraceSummaries", `{` + win + `, "FilterExpression": "group.name = \"frontend-only\""}`},
		{"summaries_bad_expression", "/TraceSummaries", `{` + win + `, "FilterExpression": ` + jsonString(badExpr) + `}`},
		{"summaries_event_range", "/TraceSummaries", `{"StartTime": 1795608030.1, "EndTime": 1795608031, "TimeRangeType": "Event"}`},
		{"summaries_service_range", "/TraceSummaries", `{"StartTime": 1795608010, "EndTime": 1795608011, "TimeRangeType": "Service"}`},
		{"summaries_traceid_range", "/TraceSummaries", `{"StartTime": 1795608010, "EndTime": 1795608020, "TimeRangeType": "TraceId"}`},
		{"summaries_bad_range_type", "/TraceSummaries", `{` + win + `, "TimeRangeType": "Span"}`},
		{"summaries_sampling_zero", "/TraceSummaries", `{` + win + `, "Sampling": true, "SamplingStrategy": {"Name": "FixedRate", "Value": 0}}`},
		{"summaries_bad_token", "/TraceSummaries", `{` + win + `, "NextToken": "nonsense"}`},
		{"batch_get_traces", "/Traces", `{"TraceIds": ["` + traceA + `", "` + traceD + `", "` + traceE + `", "1-6b06cdc0-000000000000000000000000", "not-an-id"]}`},
		{"batch_get_traces_missing", "/Traces", `{}`},
		{"trace_graph", "/TraceGraph", `{"TraceIds": ["` + traceA + `", "` + traceE + `"]}`},
		{"timeseries_service", "/TimeSeriesServiceStatistics", `{` + win + `, "EntitySelectorExpression": "service(\"backend-flask\")", "Period": 60, "ForecastStatistics": true}`},
		{"timeseries_id", "/TimeSeriesServiceStatistics", `{` + win + `, "EntitySelectorExpression": "id(name: \"inventory\")"}`},
		{"timeseries_edge", "/TimeSeriesServiceStatistics", `{` + win + `, "EntitySelectorExpression": "edge(\"frontend\", \"backend-flask\")"}`},
		{"timeseries_clients", "/TimeSeriesServiceStatistics", `{` + win + `, "Period": 300}`},
		{"timeseries_bad_period", "/TimeSeriesServiceStatistics", `{` + win + `, "Period": 90}`},
		{"timeseries_bad_selector", "/TimeSeriesServiceStatistics", `{` + win + `, "EntitySelectorExpression": "fault"}`},
		{"put_trace_segments_invalid", "/TraceSegments", `{"TraceSegmentDocuments": ["{\"trace_id\":\"1-6b06cdc0-aaaaaaaaaaaaaaaaaaaaaaa1\",\"name\":\"x\",\"start_time\":1795608000,\"end_time\":1795608001}", "not json", "{\"id\":\"0000000000000009\",\"trace_id\":\"bad\",\"name\":\"x\",\"start_time\":1,\"end_time\":2}"]}`},
		{"put_trace_segments_missing", "/TraceSegments", `{}`},
		{"put_trace_segments_wrong_type", "/TraceSegments", `{"TraceSegmentDocuments": "x"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			goldenJSON(t, c.name, th.post(c.path, c.body))
		})
	}
}

// TestTraceSummariesPaging walks every page of a query and finds the same
// traces, newest first, as one page holds; the last page has no token.
func TestTraceSummariesPaging(t *testing.T) {
	th := newTraceHarness(t, 2)
	th.seed(t)
	var ids []string
	token := ""
	pages := 0
	for {
		body := `{` + win
		if token != "" {
			body += `, "NextToken": "` + token + `"`
		}
		r := th.post("/TraceSummaries", body+`}`)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		var out struct {
			TraceSummaries       []struct{ Id string }
			TracesProcessedCount int
			NextToken            *string
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatal(err)
		}
		if out.TracesProcessedCount != 5 {
			t.Errorf("TracesProcessedCount = %d, want 5", out.TracesProcessedCount)
		}
		for _, s := range out.TraceSummaries {
			ids = append(ids, s.Id)
		}
		pages++
		if out.NextToken == nil {
			break
		}
		token = *out.NextToken
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := []string{traceE, traceD, "1-6b06cdd4-ccccccccccccccccccccccc3", "1-6b06cdca-bbbbbbbbbbbbbbbbbbbbbbb2", traceA}
	if pages != 3 || !slices.Equal(ids, want) {
		t.Errorf("%d pages of %v, want 3 pages of %v", pages, ids, want)
	}
}

func TestRegisterTraceOperationsNeedsDeps(t *testing.T) {
	hs := newHarness(t, nil)
	if err := hs.h.RegisterTraceOperations(TraceDeps{}); err == nil {
		t.Fatal("no error without a store and a consumer")
	}
}

// TestDoors: by default the X-Ray API reads only what was sent to X-Ray's
// doors, as AWS X-Ray would; WithDoors chooses the Honeycomb door's OTel
// spans, or both.
func TestDoors(t *testing.T) {
	th := newTraceHarnessDoors(t, 100) // no doors: the default
	th.seed(t)
	xrayOnly := []string{traceD, "1-6b06cdd4-ccccccccccccccccccccccc3", "1-6b06cdca-bbbbbbbbbbbbbbbbbbbbbbb2", traceA}
	cases := []struct {
		name  string
		doors []model.Door
		want  []string
	}{
		{"default", nil, xrayOnly},
		{"honeycomb", []model.Door{model.DoorHoneycomb}, []string{traceE}},
		{"both", []model.Door{model.DoorXRay, model.DoorHoneycomb}, append([]string{traceE}, xrayOnly...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.doors != nil {
				ctx = WithDoors(ctx, c.doors...)
			}
			r := th.do(ctx, http.MethodPost, "/TraceSummaries", `{`+win+`}`)
			var out struct {
				TraceSummaries       []struct{ Id string }
				TracesProcessedCount int
			}
			if err := json.Unmarshal([]byte(r.body), &out); r.status != 200 || err != nil {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var ids []string
			for _, s := range out.TraceSummaries {
				ids = append(ids, s.Id)
			}
			if !slices.Equal(ids, c.want) || out.TracesProcessedCount != len(c.want) {
				t.Errorf("summaries %v (processed %d), want %v", ids, out.TracesProcessedCount, c.want)
			}
			// The service graph names the OTel-only services only when the
			// Honeycomb door is read.
			r = th.do(ctx, http.MethodPost, "/ServiceGraph", `{`+win+`}`)
			hasCheckout := strings.Contains(r.body, `"Name":"checkout"`)
			if wantCheckout := slices.Contains(c.want, traceE); hasCheckout != wantCheckout {
				t.Errorf("service graph names checkout: %v, want %v", hasCheckout, wantCheckout)
			}
			// A trace by id follows the same doors.
			r = th.do(ctx, http.MethodPost, "/Traces", `{"TraceIds":["`+traceE+`"]}`)
			if got, want := strings.Contains(r.body, `"Segments":[{`), slices.Contains(c.want, traceE); got != want {
				t.Errorf("BatchGetTraces(%s) has segments: %v, want %v: %s", traceE, got, want, r.body)
			}
		})
	}
}

// TestPutTraceSegmentsKeepsTheCompleteSegment: a segment sent complete and
// in progress in one PutTraceSegments call is stored once, complete, as
// the daemon door keeps it.
func TestPutTraceSegmentsKeepsTheCompleteSegment(t *testing.T) {
	th := newTraceHarness(t, 100)
	const tid = "1-6b06cdc0-eeeeeeeeeeeeeeeeeeeeeee5"
	complete := `{"trace_id":"` + tid + `","id":"e000000000000001","name":"api","start_time":1795608000,"end_time":1795608000.5}`
	open := `{"trace_id":"` + tid + `","id":"e000000000000001","name":"api","start_time":1795608000,"in_progress":true}`
	body, _ := json.Marshal(map[string][]string{"TraceSegmentDocuments": {complete, open}})
	if r := th.post("/TraceSegments", string(body)); r.status != 200 || r.body != "{\"UnprocessedTraceSegments\":[]}\n" {
		t.Fatalf("PutTraceSegments: %d %s", r.status, r.body)
	}
	id, _ := model.ParseXRayTraceID(tid)
	events, err := th.st.Trace(context.Background(), store.DoorEnv("test", model.DoorXRay), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || string(events[0].Doc) != complete {
		t.Fatalf("stored %d events %+v, want the complete segment once", len(events), events)
	}
	r := th.post("/Traces", `{"TraceIds": ["`+tid+`"]}`)
	if r.status != 200 || !strings.Contains(r.body, `\"end_time\":1795608000.5`) || strings.Contains(r.body, "in_progress") {
		t.Errorf("BatchGetTraces: %d %s", r.status, r.body)
	}
}
