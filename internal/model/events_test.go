package model

import (
	"encoding/json"
	"testing"
)

// Events API events are spans only with a span id; a plain event shows no
// duration_ms or status_code it was not sent, but keeps those it was.
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

	// Other sources are unchanged: a span without a span id is a span.
	otlp := Event{Source: SourceOTLP}
	if !otlp.IsSpan() {
		t.Fatal("an OTLP span without a span id is no longer a span")
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
