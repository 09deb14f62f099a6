package xray

import (
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// How stored spans are seen through the X-Ray API: internal/xrayview
// converts a trace's stored events to X-Ray entities (xrayview.Convert):
// X-Ray spans with the documents they were sent with, other spans rendered
// as segments, each with the filter and graph view the operations here
// read. Full detail serves summaries, trace graphs and BatchGetTraces;
// GraphOnly the service graph and the time series without a group.

// traceSegment is a Segment of BatchGetTraces.
type traceSegment struct {
	ID       string `json:"Id"`
	Document string `json:"Document"`
}

// traceSegments returns the trace's documents as BatchGetTraces answers
// with them; g is the trace's graph.
func traceSegments(v *xrayview.View, g *xrayview.Graph) []traceSegment {
	docs := v.Documents(g)
	out := make([]traceSegment, len(docs))
	for i, d := range docs {
		out[i] = traceSegment{ID: d.ID, Document: string(d.Doc)}
	}
	return out
}

// epochSeconds is the start of an event in seconds since the epoch.
func epochSeconds(ev *model.Event) float64 { return xrayview.EpochSeconds(ev.Time) }
