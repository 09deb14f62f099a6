package xray

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

func TestRequestTracedByBothSDKsCountsOnce(t *testing.T) {
	sid := func(b byte) model.SpanID { return model.SpanID{b} }
	events := []model.Event{
		// backend-flask traced by both SDKs: its OTel spans (1, 3, 7) leave the X-Ray view.
		{Source: model.SourceOTLP, SpanID: sid(1), Name: "GET /api/activities/home", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceXRay, SpanID: sid(2), ParentID: sid(1), Name: "backend-flask", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceOTLP, SpanID: sid(3), ParentID: sid(1), Name: "HTTP GET", ServiceName: "backend-flask", SpanKind: "client"},
		{Source: model.SourceXRay, SpanID: sid(4), ParentID: sid(2), Name: "mock-data", ServiceName: "backend-flask", SpanKind: "internal"},
		// A service that sent only OTel spans stays, under the nearest span that stays.
		{Source: model.SourceOTLP, SpanID: sid(5), ParentID: sid(3), Name: "GET /x", ServiceName: "other", SpanKind: "server"},
		{Source: model.SourceOTLP, SpanID: sid(6), ParentID: sid(5), Name: "db", ServiceName: "other", SpanKind: "client"},
		// The self-call's X-Ray segment hangs off an X-Ray subsegment; the OTel server span of it goes.
		{Source: model.SourceOTLP, SpanID: sid(7), ParentID: sid(3), Name: "GET /api/health", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceXRay, SpanID: sid(8), ParentID: sid(4), Name: "backend-flask", ServiceName: "backend-flask", SpanKind: "server"},
	}
	tr := assembleTrace(model.TraceID{1}, events, false)
	parents := map[model.SpanID]model.SpanID{}
	for _, s := range tr.view.Segments {
		parents[s.ID] = s.ParentID
	}
	want := map[model.SpanID]model.SpanID{sid(2): {}, sid(4): sid(2), sid(5): {}, sid(6): sid(5), sid(8): sid(4)}
	if len(parents) != len(want) {
		t.Fatalf("view has %v, want %v", parents, want)
	}
	for id, p := range want {
		if got, ok := parents[id]; !ok || got != p {
			t.Errorf("span %v: parent %v (present %v), want %v", id, got, ok, p)
		}
	}
	// Without X-Ray segments, OTel spans are the X-Ray view.
	alone := assembleTrace(model.TraceID{1}, []model.Event{events[0], events[2]}, false)
	if len(alone.view.Segments) != 2 || alone.view.Segments[0].Subsegment {
		t.Fatalf("OTel-only trace: %+v", alone.view.Segments)
	}
}
