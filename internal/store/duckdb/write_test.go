package duckdb

import (
	"database/sql/driver"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// TestHotPresent checks that hotPresent names exactly the hot columns
// fillHot gives a value: appendEvents leaves the others out of the
// Appender, so a column it missed would be written NULL.
func TestHotPresent(t *testing.T) {
	if len(hotColumns) != hotCount {
		t.Fatalf("%d hot columns, hotCount %d", len(hotColumns), hotCount)
	}
	span := model.Event{
		Time: time.Unix(100, 0), Source: model.SourceOTLP, TraceID: model.TraceID{1}, SpanID: model.SpanID{2},
		Name: "op", ServiceName: "svc", DurationMs: 1, SpanKind: "server", SampleRate: 1,
	}
	child := span
	child.ParentID = model.SpanID{3}
	child.Error = true
	child.StatusCode = 2
	xray := span
	xray.Source = model.SourceXRay
	xray.Doc = []byte(`{}`)
	spanEvent := model.Event{Time: time.Unix(100, 0), TraceID: model.TraceID{1}, ParentID: model.SpanID{2}, Name: "exception", AnnotationType: "span_event", SampleRate: 1}
	link := model.Event{TraceID: model.TraceID{1}, ParentID: model.SpanID{2}, AnnotationType: "link"}
	plain := model.Event{Time: time.Unix(100, 0), Source: model.SourceEvents, SampleRate: 1}
	for name, e := range map[string]model.Event{
		"span": span, "child": child, "xray": xray, "span event": spanEvent, "link": link, "plain": plain, "zero": {},
	} {
		row := make([]driver.Value, hotCount)
		fillHot(row, &e, 1)
		m := hotPresent(&e)
		for i, c := range hotColumns {
			if got, want := m&(1<<i) != 0, row[i] != nil; got != want {
				t.Errorf("%s: %s: hotPresent %v, fillHot gives a value %v", name, c, got, want)
			}
		}
	}
}
