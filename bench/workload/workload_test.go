package workload

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestTracesShape(t *testing.T) {
	g := New(1)
	req, sample := g.Traces(20)
	if got := len(req.ResourceSpans); got != Services {
		t.Fatalf("resource spans = %d, want %d", got, Services)
	}
	perTrace := map[string]int{}
	services := map[string]bool{}
	spanIDs := map[string]bool{}
	for _, rs := range req.ResourceSpans {
		svc := rs.Resource.Attributes[0].Value.GetStringValue()
		services[svc] = true
		for _, sp := range rs.ScopeSpans[0].Spans {
			perTrace[string(sp.TraceId)]++
			if spanIDs[string(sp.SpanId)] {
				t.Errorf("duplicate span id %x", sp.SpanId)
			}
			spanIDs[string(sp.SpanId)] = true
			if len(sp.Attributes) != AttrsPerSpan {
				t.Errorf("span has %d attributes, want %d", len(sp.Attributes), AttrsPerSpan)
			}
			seen := map[string]bool{}
			for _, kv := range sp.Attributes {
				if seen[kv.Key] {
					t.Errorf("duplicate key %s", kv.Key)
				}
				seen[kv.Key] = true
				if !strings.HasPrefix(kv.Key, "attr_") || !strings.HasPrefix(kv.Value.GetStringValue(), "value_") {
					t.Errorf("attribute %s=%s outside the key/value sets", kv.Key, kv.Value.GetStringValue())
				}
			}
			if sp.EndTimeUnixNano <= sp.StartTimeUnixNano {
				t.Errorf("span ends before it starts")
			}
		}
	}
	if len(services) != Services || len(perTrace) != 20 {
		t.Fatalf("services=%d traces=%d", len(services), len(perTrace))
	}
	for id, n := range perTrace {
		if n != SpansPerTrace {
			t.Errorf("trace %x has %d spans", id, n)
		}
	}
	if perTrace[string(sample.TraceID[:])] != SpansPerTrace || sample.Service != "svc-3" {
		t.Errorf("sample %+v does not name a generated trace", sample)
	}
}

func TestKeyValueSets(t *testing.T) {
	keys, vals := map[string]bool{}, map[string]bool{}
	for i := 0; i < AttrKeys; i++ {
		keys[AttrKey(i)] = true
	}
	for i := 0; i < AttrValues; i++ {
		vals[AttrValue(i)] = true
	}
	if len(keys) != 97 || len(vals) != 1000 {
		t.Fatalf("keys=%d values=%d", len(keys), len(vals))
	}
}

func TestBatchesRoundTrip(t *testing.T) {
	tests := []struct{ spans, per, wantBatches int }{
		{1000, 50, 2}, {1010, 50, 3}, {10, 50, 1},
	}
	for _, tt := range tests {
		bs, samples, err := New(2).Batches(tt.spans, tt.per)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != tt.wantBatches || len(samples) != tt.wantBatches {
			t.Errorf("%d spans by %d: %d batches, want %d", tt.spans, tt.per, len(bs), tt.wantBatches)
		}
		total := 0
		for _, b := range bs {
			var req coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(b.Body, &req); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, rs := range req.ResourceSpans {
				n += len(rs.ScopeSpans[0].Spans)
			}
			if n != b.Spans {
				t.Errorf("batch says %d spans, holds %d", b.Spans, n)
			}
			total += n
		}
		if total < tt.spans {
			t.Errorf("total %d < %d", total, tt.spans)
		}
		if total > tt.spans+tt.per*SpansPerTrace {
			t.Errorf("total %d < %d", total, tt.spans)
		}
	}
}

func TestDeterministic(t *testing.T) {
	fixed := func() time.Time { return time.Unix(1_700_000_000, 0) }
	ga, gb, gc := New(5), New(5), New(6)
	ga.now, gb.now, gc.now = fixed, fixed, fixed
	a, _, _ := ga.Batches(100, 10)
	b, _, _ := gb.Batches(100, 10)
	c, _, _ := gc.Batches(100, 10)
	if !bytes.Equal(a[0].Body, b[0].Body) {
		t.Error("same seed, different bodies")
	}
	if bytes.Equal(a[0].Body, c[0].Body) {
		t.Error("different seeds, same bodies")
	}
}

func TestXRaySegment(t *testing.T) {
	g := New(3)
	d := g.XRaySegment()
	head, body, ok := bytes.Cut(d, []byte("\n"))
	if !ok || string(head)+"\n" != XRayHeader {
		t.Fatalf("header = %q", head)
	}
	var seg struct {
		Name        string            `json:"name"`
		ID          string            `json:"id"`
		TraceID     string            `json:"trace_id"`
		Start       float64           `json:"start_time"`
		End         float64           `json:"end_time"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(body, &seg); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(seg.ID) != 16 || len(seg.TraceID) != 35 || !strings.HasPrefix(seg.TraceID, "1-") || seg.End <= seg.Start {
		t.Errorf("bad segment %+v", seg)
	}
	if len(seg.Annotations) != AttrsPerSpan {
		t.Errorf("%d annotations", len(seg.Annotations))
	}
	if len(d) > 64*1024 {
		t.Errorf("datagram of %d bytes exceeds 64 KiB", len(d))
	}
}

func TestBatchesSpreadOverWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := New(9)
	g.now = func() time.Time { return now }
	bs, _, err := g.Batches(1000, 10)
	if err != nil {
		t.Fatal(err)
	}
	var first, last coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(bs[0].Body, &first); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(bs[len(bs)-1].Body, &last); err != nil {
		t.Fatal(err)
	}
	lo := time.Unix(0, int64(first.ResourceSpans[0].ScopeSpans[0].Spans[0].StartTimeUnixNano))
	hi := time.Unix(0, int64(last.ResourceSpans[0].ScopeSpans[0].Spans[0].StartTimeUnixNano))
	if !lo.Equal(now.Add(-Window)) || hi.Before(now.Add(-Window/10)) || hi.After(now) {
		t.Errorf("traces start from %v to %v, want the %v before %v", lo, hi, Window, now)
	}
}

// StartEvery spaces the traces of successive Traces calls by its step,
// and step 0 brings them back to the last second.
func TestStartEvery(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := New(3)
	g.now = func() time.Time { return now }
	start := now.Add(-24 * time.Hour)
	g.StartEvery(start, time.Second)
	roots := func(req *coltracepb.ExportTraceServiceRequest) []time.Time {
		var out []time.Time
		for _, sp := range req.ResourceSpans[0].ScopeSpans[0].Spans { // svc-0: each trace's first span
			out = append(out, time.Unix(0, int64(sp.StartTimeUnixNano)))
		}
		return out
	}
	a, _ := g.Traces(3)
	b, _ := g.Traces(2)
	got := append(roots(a), roots(b)...)
	for i, ts := range got {
		if want := start.Add(time.Duration(i) * time.Second); !ts.Equal(want) {
			t.Errorf("trace %d starts at %v, want %v", i, ts, want)
		}
	}
	g.StartEvery(time.Time{}, 0)
	c, _ := g.Traces(1)
	if ts := roots(c)[0]; ts.Before(now.Add(-time.Second)) || ts.After(now) {
		t.Errorf("after StartEvery(0): trace starts at %v, want within the second before %v", ts, now)
	}
}

// TestSignalBatches: the three encodings carry the same spans, item for
// item: events with the span's Honeycomb fields and attributes, log
// records with its trace context.
func TestSignalBatches(t *testing.T) {
	sig, err := New(3).SignalBatches(1000, 20)
	if err != nil {
		t.Fatal(err)
	}
	count := func(bs []Batch) (n int) {
		for _, b := range bs {
			n += b.Spans
		}
		return n
	}
	if count(sig.Traces) != 1000 || count(sig.Events) != 1000 || count(sig.Logs) != 1000 {
		t.Fatalf("items: traces %d events %d logs %d, want 1000 each", count(sig.Traces), count(sig.Events), count(sig.Logs))
	}
	var events []struct {
		Time string         `json:"time"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(sig.Events[0].Body, &events); err != nil {
		t.Fatal(err)
	}
	e := events[0].Data
	if !strings.HasPrefix(sig.Events[0].Path, "/1/batch/svc-") || e["service.name"] == nil || len(e["trace.trace_id"].(string)) != 32 || len(e) < 6+AttrsPerSpan {
		t.Errorf("event %s %v", sig.Events[0].Path, e)
	}
	var logs collogspb.ExportLogsServiceRequest
	if err := proto.Unmarshal(sig.Logs[0].Body, &logs); err != nil {
		t.Fatal(err)
	}
	rec := logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0]
	if sig.Logs[0].Path != "/v1/logs" || len(rec.TraceId) != 16 || len(rec.SpanId) != 8 || len(rec.Attributes) != AttrsPerSpan || rec.Body.GetStringValue() == "" {
		t.Errorf("log record %v", rec)
	}
}
