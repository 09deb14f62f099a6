package model

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestTraceIDForms(t *testing.T) {
	tests := []struct {
		in        string
		hex, xray string
		hc        string
	}{
		{"5759e988bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793"},
		{"1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793"},
		{"5759E988BD862E3FE1BE46A994272793", "5759e988bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793"},
		{"00f067aa0ba902b7", "000000000000000000f067aa0ba902b7", "1-00000000-0000000000f067aa0ba902b7", "00f067aa0ba902b7"},
	}
	for _, tt := range tests {
		id, err := ParseTraceID(tt.in)
		if err != nil {
			t.Fatalf("ParseTraceID(%q): %v", tt.in, err)
		}
		if id.String() != tt.hex || id.XRay() != tt.xray || id.HoneycombString() != tt.hc {
			t.Errorf("%q → %s %s %s", tt.in, id, id.XRay(), id.HoneycombString())
		}
		back, err := ParseXRayTraceID(id.XRay())
		if err != nil || back != id {
			t.Errorf("X-Ray round trip of %q: %v %v", tt.in, back, err)
		}
	}
	for _, bad := range []string{"", "xyz", "5759e988bd862e3fe1be46a99427279", "5759e988bd862e3fe1be46a99427279g", "2-5759e988-bd862e3fe1be46a994272793", "1-5759e988_bd862e3fe1be46a994272793", "1-5759e98g-bd862e3fe1be46a994272793"} {
		if _, err := ParseTraceID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseTraceID(%q) = %v, want ErrBadID", bad, err)
		}
	}
	if _, err := ParseSpanID("53995c3f42cd8ad8"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "53995c3f42cd8ad", "53995c3f42cd8adz"} {
		if _, err := ParseSpanID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseSpanID(%q) = %v", bad, err)
		}
	}
}

func TestEventSetRoutesHotFields(t *testing.T) {
	var e Event
	e.Set(FieldName, Str("GET /"))
	e.Set(FieldServiceName, Str("api"))
	e.Set(FieldDurationMs, Int(3))
	e.Set(FieldStatusCode, Int(2))
	e.Set(FieldError, Bool(true))
	e.Set(FieldSpanKind, Str("server"))
	e.Set(FieldType, Str("server"))
	e.Set(FieldTraceID, Str("5759e988bd862e3fe1be46a994272793"))
	e.Set(FieldSpanID, Str("53995c3f42cd8ad8"))
	e.Set("http.status_code", Int(500))
	e.Set("http.status_code", Int(503)) // replaces
	e.Set(FieldName, Int(7))            // wrong type: kept as an attribute, not lost
	if e.Name != "GET /" || e.ServiceName != "api" || e.DurationMs != 3 || e.StatusCode != 2 || !e.Error || e.SpanKind != "server" {
		t.Fatalf("hot fields not routed: %+v", e)
	}
	if len(e.Attrs) != 2 || e.Attrs[0] != (Attr{"http.status_code", Int(503)}) || e.Attrs[1].Key != FieldName {
		t.Fatalf("attrs = %+v", e.Attrs)
	}
	if v, ok := e.Get("http.status_code"); !ok || v.Int != 503 {
		t.Fatalf("Get = %v %v", v, ok)
	}
	if _, ok := e.Get(FieldParentID); ok {
		t.Fatal("a root span has no trace.parent_id")
	}
}

func TestEventJSON(t *testing.T) {
	e := Event{
		Time:        time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC),
		TraceID:     TraceID{0x57, 0x59, 0xe9, 0x88, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		SpanID:      SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		Name:        "q\"uote",
		ServiceName: "svc",
		DurationMs:  1.5,
		SpanKind:    "client",
		StatusCode:  0,
		Attrs:       []Attr{{"n", Int(-4)}, {"f", Float(math.Inf(1))}, {"b", Bool(false)}, {"s", Str("é<>")}},
	}
	var got map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", e.AppendJSON(nil), err)
	}
	want := map[string]any{
		"timestamp": "2026-11-25T10:00:00.123456789Z", "trace.trace_id": "5759e9880102030405060708090a0b0c",
		"trace.span_id": "0102030405060708", "name": "q\"uote", "service.name": "svc", "duration_ms": 1.5,
		"span.kind": "client", "type": "client", "status_code": 0.0, "n": -4.0, "f": nil, "b": false, "s": "é<>",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d fields %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{"5759e988bd862e3fe1be46a994272793", "1-5759e988-bd862e3fe1be46a994272793", "00f067aa0ba902b7", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTraceID(s)
		if err != nil {
			return
		}
		back, err := ParseTraceID(id.String())
		if err != nil || back != id {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
		if x, err := ParseXRayTraceID(id.XRay()); err != nil || x != id {
			t.Fatalf("X-Ray round trip of %q failed", s)
		}
	})
}

func BenchmarkEventAppendJSON(b *testing.B) {
	e := Event{Time: time.Now(), Name: "GET /api", ServiceName: "backend", DurationMs: 12.5, SpanKind: "server"}
	for i := range 11 {
		e.Attrs = append(e.Attrs, Attr{Key: "attr." + string(rune('a'+i)), Value: Str("value")})
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}
