package xrayfilter

import "github.com/tracecomb/tracecomb/internal/xrayview"

// The view that expressions are evaluated on is internal/xrayview's; these
// names keep the filter language's API whole.
type (
	// Trace is the view of one trace that expressions are evaluated on
	// (xrayview.Trace). The caller builds it; Match only reads it.
	Trace = xrayview.Trace
	// Segment is one X-Ray segment or subsegment (xrayview.Segment).
	Segment = xrayview.Segment
	// HTTP is a segment's http request and response (xrayview.HTTP).
	HTTP = xrayview.HTTP
	// RootCauses are a trace summary's root-cause lists.
	RootCauses = xrayview.RootCauses
	// Cause is one entry of a root-cause list.
	Cause = xrayview.Cause
	// CauseService is a service on a root-cause path.
	CauseService = xrayview.CauseService
	// CauseEntity is one entity (segment or subsegment) on a service's path.
	CauseEntity = xrayview.CauseEntity
	// CauseException is an exception recorded on an entity.
	CauseException = xrayview.CauseException
)
