package model

import (
	"encoding/json"
	"testing"
)

// An event is a span only with a span id (and no annotation type); a plain
// event (an Events API event, a log record) shows no duration_ms or
// status_code it was not sent, but keeps those it was.
func TestEventsSourceSpanOrPlainEvent(t *testing.T) {
	fields := func(e *Event) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(e.AppendJSON(nil), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, FieldTimestamp)
		return m
	}

	plain := Event{Source: SourceEvents, Attrs: []Attr{{Key: "endpoint", Value: Str("/foo")}}}
	if plain.IsSpan() {
		t.Fatal("an Events API event without a span id is a span")
	}
	if got := fields(&plain); len(got) != 1 || got["endpoint"] != "/foo" {
		t.Fatalf("plain event fields = %v, want only endpoint", got)
	}

	plain.DurationMs, plain.StatusCode = 32, 200
	if got := fields(&plain); got[FieldDurationMs] != 32.0 || got[FieldStatusCode] != 200.0 {
		t.Fatalf("plain event lost sent fields: %v", got)
	}

	span := Event{Source: SourceEvents}
	span.Set(FieldSpanID, Str("53995c3f42cd8ad8"))
	if !span.IsSpan() {
		t.Fatal("an Events API event with a span id is not a span")
	}
	if got := fields(&span); got[FieldDurationMs] != 0.0 || got[FieldStatusCode] != 0.0 {
		t.Fatalf("span fields = %v, want duration_ms and status_code", got)
	}

	// The rule holds for every source: an OTLP log record without trace
	// context (no span id) is a plain event, an OTLP span has a span id.
	logRecord := Event{Source: SourceOTLP, Attrs: []Attr{{Key: "severity", Value: Str("info")}}}
	if logRecord.IsSpan() {
		t.Fatal("an OTLP log record without a span id is a span")
	}
	if got := fields(&logRecord); got[FieldDurationMs] != nil || got[FieldStatusCode] != nil {
		t.Fatalf("log record fields = %v, want no duration_ms or status_code", got)
	}
	otlpSpan := Event{Source: SourceOTLP}
	otlpSpan.Set(FieldSpanID, Str("53995c3f42cd8ad8"))
	if !otlpSpan.IsSpan() {
		t.Fatal("an OTLP span is not a span")
	}
	ev := Event{Source: SourceEvents, AnnotationType: AnnotationSpanEvent}
	ev.Set(FieldSpanID, Str("53995c3f42cd8ad8"))
	if ev.IsSpan() {
		t.Fatal("a span event is a span")
	}
}

// Set keeps what it cannot route as an attribute, and Range (so the JSON
// form) shows it under its own name: a beeline's UUID trace id is not lost.
func TestSetKeepsUnparseableIDs(t *testing.T) {
	const uuid = "7f8c2b8e-6a3e-4a35-9a63-1d2e0d4b5c6a"
	var e Event
	e.Source = SourceEvents
	e.Set(FieldTraceID, Str(uuid))
	e.Set(FieldSpanID, Str("not-a-span-id"))
	if !e.TraceID.IsZero() || !e.SpanID.IsZero() {
		t.Fatalf("ids parsed from %q", uuid)
	}
	var m map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	if m[FieldTraceID] != uuid || m[FieldSpanID] != "not-a-span-id" {
		t.Fatalf("fields = %v", m)
	}
}

// A hot field name kept as an attribute (Set could not route it) is found
// by Get and shown once by Range.
func TestHotNamedAttributes(t *testing.T) {
	var e Event
	e.Source = SourceEvents
	e.Set(FieldType, Str("http_request")) // no span kind: an ordinary field
	e.Set(FieldName, Int(7))
	if v, ok := e.Get(FieldType); !ok || v.Str != "http_request" {
		t.Fatalf("Get(type) = %v %v", v, ok)
	}
	if v, ok := e.Get(FieldName); !ok || v.Int != 7 {
		t.Fatalf("Get(name) = %v %v", v, ok)
	}
	seen := map[string]int{}
	e.Range(func(k string, _ Value) bool { seen[k]++; return true })
	if seen[FieldType] != 1 || seen[FieldName] != 1 || len(seen) != 2 {
		t.Fatalf("Range saw %v", seen)
	}
}
