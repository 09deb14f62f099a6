package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// FuzzGetTraceSummaries sends random bodies and random filter expressions
// to GetTraceSummaries over stored traces: every answer is a 200 or a 4xx
// in X-Ray's error shape, never a 5xx.
func FuzzGetTraceSummaries(f *testing.F) {
	th := newTraceHarness(f, 3)
	th.seed(f)
	for _, s := range []struct{ body, expr string }{
		{`{` + win + `}`, `service("backend-flask")`},
		{`{` + win + `, "TimeRangeType": "Event", "Sampling": true, "SamplingStrategy": {"Name": "FixedRate", "Value": 0.5}}`, `annotation.user_id = "u1"`},
		{`{"StartTime": 1e300, "EndTime": -1}`, `edge("frontend", "backend-flask") { fault }`},
		{`{"StartTime": "x"}`, `responsetime > 0.1 AND !partial`},
		{`{` + win + `, "NextToken": "dGMxOjI"}`, `rootcause.fault.service { name = "x" }`},
		{`[]`, `group.name = "nope" OR http.status = 404`},
		{``, `service(id(name: "frontend", type: "AWS::EC2::Instance")) { root = true }`},
		{`{` + win + `, "FilterExpression": 5}`, `(((`},
	} {
		f.Add(s.body, s.expr)
	}
	check := func(t *testing.T, r response) {
		if r.status >= 500 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if r.status != 200 && r.errorType == "" {
			t.Fatalf("status %d without X-Amzn-ErrorType: %s", r.status, r.body)
		}
		if !json.Valid([]byte(r.body)) {
			t.Fatalf("answer is not JSON: %q", r.body)
		}
	}
	f.Fuzz(func(t *testing.T, body, expr string) {
		check(t, th.post("/TraceSummaries", body))
		withExpr, _ := json.Marshal(map[string]any{"StartTime": 1795607940, "EndTime": 1795608120, "FilterExpression": expr})
		check(t, th.post("/TraceSummaries", string(withExpr)))
		check(t, th.post("/ServiceGraph", body))
		sel, _ := json.Marshal(map[string]any{"StartTime": 1795607940, "EndTime": 1795608120, "EntitySelectorExpression": expr})
		check(t, th.post("/TimeSeriesServiceStatistics", string(sel)))
	})
}

// benchTraces writes n traces of four spans (a frontend segment calling
// backend-flask, which calls DynamoDB) spread over ten minutes.
func benchTraces(b *testing.B, th *traceHarness, n int) { benchTracesEdit(b, th, n, nil) }

// benchTracesEdit is benchTraces with edit (when not nil) applied to each
// event of the i-th trace before it is stored.
func benchTracesEdit(b *testing.B, th *traceHarness, n int, edit func(i int, ev *model.Event)) {
	b.Helper()
	events := make([]model.Event, 0, n*4)
	for i := range n {
		first := len(events)
		at := t0.Add(time.Duration(i) * 600 * time.Second / time.Duration(n))
		tid := model.TraceID{0x6b, 0x06, 0xcd, 0xc0, byte(i >> 16), byte(i >> 8), byte(i), 1}
		sid := func(k int) model.SpanID { return model.SpanID{byte(i >> 16), byte(i >> 8), byte(i), byte(k + 1)} }
		status := []int64{200, 200, 200, 404, 429, 500}[i%6]
		doc := func(name string, k int, parent model.SpanID, extra string) []byte {
			start := float64(at.Add(time.Duration(k)*time.Millisecond).UnixNano()) / 1e9
			p := ""
			if !parent.IsZero() {
				p = fmt.Sprintf(`,"parent_id":%q`, parent.String())
			}
			return fmt.Appendf(nil, `{"trace_id":%q,"id":%q%s,"name":%q,"start_time":%.3f,"end_time":%.3f%s}`,
				tid.XRay(), sid(k).String(), p, name, start, start+0.1, extra)
		}
		span := func(name, svc, kind string, k int, parent model.SpanID, extra string) model.Event {
			return model.Event{Dataset: svc, Source: model.SourceXRay, Time: at.Add(time.Duration(k) * time.Millisecond), TraceID: tid,
				SpanID: sid(k), ParentID: parent, Name: name, ServiceName: svc, DurationMs: 100, SpanKind: kind, SampleRate: 1,
				Doc: doc(name, k, parent, extra)}
		}
		events = append(events,
			span("frontend", "frontend", "server", 0, model.SpanID{}, ""),
			span("backend-flask", "frontend", "client", 1, sid(0), `,"namespace":"remote"`),
			span("backend-flask", "backend-flask", "server", 2, sid(1), fmt.Sprintf(`,"http":{"response":{"status":%d}}`, status)),
			span("DynamoDB", "backend-flask", "client", 3, sid(2), `,"namespace":"aws","aws":{"table_name":"users"}`),
		)
		if edit != nil {
			for k := first; k < len(events); k++ {
				edit(i, &events[k])
			}
		}
	}
	if err := th.st.Write(context.Background(), []store.Batch{{Env: store.DoorEnv("test", model.DoorXRay), Events: events}}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkGetServiceGraph10kTraces(b *testing.B) {
	th := newTraceHarness(b, 100)
	benchTraces(b, th, 10000)
	body := `{"StartTime": 1795607940, "EndTime": 1795608660}`
	b.ReportAllocs()
	for b.Loop() {
		if r := th.post("/ServiceGraph", body); r.status != 200 {
			b.Fatal(r.body)
		}
	}
}

func BenchmarkGetTraceSummaries10kTraces(b *testing.B) {
	th := newTraceHarness(b, 100)
	benchTraces(b, th, 10000)
	body := `{"StartTime": 1795607940, "EndTime": 1795608660, "FilterExpression": "service(\"backend-flask\") { fault }"}`
	b.ReportAllocs()
	for b.Loop() {
		if r := th.post("/TraceSummaries", body); r.status != 200 {
			b.Fatal(r.body)
		}
	}
}
