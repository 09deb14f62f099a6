package xray

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

// BenchmarkGetTraceSummariesSelective: GetTraceSummaries over 10,000
// traces (40,000 X-Ray spans) with a filter that 5 of them match,
// service("backend-flask") AND annotation.user = "u-0042": the store
// selects the traces by the filter's service name and annotation key, so
// the call reads the traces carrying the key, not the window.
func BenchmarkGetTraceSummariesSelective(b *testing.B) {
	th := newTraceHarness(b, 100)
	benchTracesEdit(b, th, 10000, func(i int, ev *model.Event) {
		if ev.ParentID.IsZero() && i%2000 == 42 {
			// One trace in 2000 carries the annotation (as an X-Ray SDK
			// sends it: in the document and as its stored attribute).
			ev.Attrs = append(ev.Attrs, model.Attr{Key: "aws.xray.annotations.user", Value: model.Str("u-0042")})
			ev.Doc = append(bytes.TrimSuffix(ev.Doc, []byte("}")), `,"annotations":{"user":"u-0042"}}`...)
		}
	})
	body := `{"StartTime": 1795607940, "EndTime": 1795608660, "FilterExpression": "service(\"backend-flask\") AND annotation.user = \"u-0042\""}`
	b.ReportAllocs()
	var r response
	for b.Loop() {
		if r = th.post("/TraceSummaries", body); r.status != 200 {
			b.Fatal(r.body)
		}
	}
	if n := strings.Count(r.body, `"Id":"1-`); n != 5 {
		b.Fatalf("%d summaries, want 5: %s", n, r.body)
	}
	b.ReportMetric(10000, "traces-in-window")
}
