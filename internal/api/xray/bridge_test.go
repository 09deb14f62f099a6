package xray

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

func TestRequestTracedByBothSDKsCountsOnce(t *testing.T) {
	sid := func(b byte) model.SpanID { return model.SpanID{b} }
	events := []model.Event{
		{Source: model.SourceOTLP, SpanID: sid(1), Name: "GET /api/activities/home", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceXRay, SpanID: sid(2), ParentID: sid(1), Name: "backend-flask", ServiceName: "backend-flask", SpanKind: "server"},
		{Source: model.SourceOTLP, SpanID: sid(3), ParentID: sid(1), Name: "home-activities-mock-data", ServiceName: "backend-flask", SpanKind: "internal"},
		{Source: model.SourceXRay, SpanID: sid(4), ParentID: sid(2), Name: "mock-data", ServiceName: "backend-flask", SpanKind: "internal"},
		// Another service's server span under an OTel span of a different service is not a bridge.
		{Source: model.SourceOTLP, SpanID: sid(5), ParentID: sid(3), Name: "GET /x", ServiceName: "other", SpanKind: "server"},
		{Source: model.SourceXRay, SpanID: sid(6), ParentID: sid(5), Name: "third", ServiceName: "third", SpanKind: "server"},
	}
	tr := assembleTrace(model.TraceID{1}, events, false)
	parents := map[model.SpanID]model.SpanID{}
	for _, s := range tr.view.Segments {
		parents[s.ID] = s.ParentID
	}
	if _, ok := parents[sid(1)]; ok {
		t.Fatal("the OTel server span of a request the X-Ray SDK also traced is still in the X-Ray view")
	}
	if len(parents) != 5 {
		t.Fatalf("%d spans in the view, want 5: %v", len(parents), parents)
	}
	want := map[model.SpanID]model.SpanID{sid(2): {}, sid(3): sid(2), sid(4): sid(2), sid(5): sid(3), sid(6): sid(5)}
	for id, p := range want {
		if parents[id] != p {
			t.Errorf("span %v: parent %v, want %v", id, parents[id], p)
		}
	}
	// Without an X-Ray segment inside, the OTel server span is the segment.
	alone := assembleTrace(model.TraceID{1}, events[:1], false)
	if len(alone.view.Segments) != 1 || alone.view.Segments[0].Subsegment {
		t.Fatalf("lone OTel server span: %+v", alone.view.Segments)
	}
}
