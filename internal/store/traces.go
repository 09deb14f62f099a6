package store

import (
	"bytes"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// TraceQuery selects traces by their events (Reader.SelectTraces): the
// traces with an event in [Start, End) and, for every element of Require,
// an event in that range matching it.
type TraceQuery struct {
	Start, End time.Time // both required; End after Start
	// Require holds conditions that must each be met by at least one event
	// of the trace in the range (not necessarily the same event).
	Require []SpanMatch
	// Limit caps the traces returned; 0 returns all.
	Limit int
	// After continues a previous answer: only traces ordered after this
	// one (see SelectTraces) are returned.
	After *TraceRef
	// Count asks for TraceSelection.Total: every trace with an event in
	// range, ignoring Require, After and Limit.
	Count bool
}

// SpanMatch is a condition on one event. It matches an event that
// satisfies at least one of Any (Filter as in ScanQuery, same semantics);
// when Sources is not empty, events whose Source is not in Sources match
// too (the pushed-down part of a predicate that is only exact for some
// sources). A SpanMatch with neither matches no event.
type SpanMatch struct {
	Any     []Filter
	Sources []model.Source
}

// TraceRef is a selected trace.
type TraceRef struct {
	ID   model.TraceID
	Last time.Time // the time of its newest event in the range
}

// TraceSelection is the answer to a TraceQuery.
type TraceSelection struct {
	Traces []TraceRef
	More   bool // more traces follow the last one returned
	Total  int  // with TraceQuery.Count: traces with an event in range
}

// CompareTraces orders TraceRefs as SelectTraces does: negative when a
// comes first.
func CompareTraces(a, b TraceRef) int {
	if c := b.Last.Compare(a.Last); c != 0 {
		return c
	}
	return bytes.Compare(b.ID[:], a.ID[:])
}
