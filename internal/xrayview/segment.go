package xrayview

import "github.com/tracecomb/tracecomb/internal/model"

// Trace is the view of one trace that filter expressions are evaluated on
// and service graphs are built from. Convert builds it from stored spans,
// SegmentsFromDocument from segment documents; readers only read it.
type Trace struct {
	ID model.TraceID
	// Segments holds every segment and subsegment of the trace, in any
	// order. Subsegments point to their parent (a segment or a subsegment)
	// through ParentID.
	Segments []Segment
	// Partial marks a trace known to miss segments (for the partial
	// keyword, which is also true when a segment is in progress or a
	// subsegment's parent is absent).
	Partial bool
	// RootCauses holds the trace summary's root-cause lists; nil when they
	// are not known, so that rootcause predicates are false.
	RootCauses *RootCauses
}

// Segment is one X-Ray segment or subsegment (or the span it was stored as).
// Zero values mean "absent": an empty string, a zero status or time.
type Segment struct {
	ID       model.SpanID
	ParentID model.SpanID // zero for a root segment
	// Subsegment is true for subsegments; false for segment documents,
	// which are the entry spans of a service.
	Subsegment bool
	// Inferred marks a segment that X-Ray infers for a downstream call
	// (inferred:true in the document).
	Inferred bool
	// Namespace of a subsegment: "aws", "remote" or empty.
	Namespace string
	// SQL is true when the subsegment has a sql block.
	SQL bool
	// TableName is aws.table_name; it names the inferred DynamoDB table node.
	TableName string

	Name      string
	Origin    string // e.g. "AWS::EC2::Instance"; the node type
	AccountID string

	Start, End float64 // seconds since the epoch; End is 0 while in progress
	InProgress bool

	Error, Fault, Throttle bool

	HTTP HTTP

	User             string
	ResourceARN      string
	InstanceID       string
	AvailabilityZone string

	// Annotations by key; values are strings, numbers (int or float) or
	// booleans.
	Annotations map[string]model.Value
}

// HTTP is a segment's http request and response.
type HTTP struct {
	Method    string
	URL       string
	UserAgent string
	ClientIP  string
	Status    int // 0 when absent
}

// RootCauses are a trace summary's root-cause lists.
type RootCauses struct {
	Fault        []Cause
	Error        []Cause
	ResponseTime []Cause
}

// Cause is one entry of a root-cause list.
type Cause struct {
	Services        []CauseService
	ClientImpacting bool
}

// CauseService is a service on a root-cause path.
type CauseService struct {
	Name       string
	Names      []string
	Type       string
	AccountID  string
	Inferred   bool
	EntityPath []CauseEntity
}

// CauseEntity is one entity (segment or subsegment) on a service's path.
type CauseEntity struct {
	Name       string
	Exceptions []CauseException
	Remote     bool
	Coverage   float64 // response-time root causes only
}

// CauseException is an exception recorded on an entity.
type CauseException struct {
	Name    string
	Message string
}

// ResponseTime is the one response-time rule: a completed (sub)segment's
// end − start in seconds. ok is false for a segment in progress or without
// an end time (or with an end before its start), which has none. Trace
// summaries (ResponseTime, response-time root causes), the service graph's
// statistics and histograms, and the responsetime keyword all use it;
// those that report milliseconds round its value.
func ResponseTime(s *Segment) (seconds float64, ok bool) {
	if s.InProgress || s.End <= 0 || s.End < s.Start {
		return 0, false
	}
	return s.End - s.Start, true
}

// RootIndex returns the index of a trace's root segment: the earliest
// segment (not a subsegment, not inferred) without a parent; when there is
// none, the earliest whose parent is not in the trace; -1 when there is no
// segment at all.
func RootIndex(segs []Segment) int {
	best := -1
	for i := range segs {
		s := &segs[i]
		if !s.Subsegment && !s.Inferred && s.ParentID.IsZero() && (best < 0 || s.Start < segs[best].Start) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	ids := indexIDs(segs)
	for i := range segs {
		s := &segs[i]
		if s.Subsegment || s.Inferred {
			continue
		}
		if _, ok := ids[s.ParentID]; ok {
			continue
		}
		if best < 0 || s.Start < segs[best].Start {
			best = i
		}
	}
	return best
}

// indexIDs maps each non-zero segment id to its first index.
func indexIDs(segs []Segment) map[model.SpanID]int {
	ids := make(map[model.SpanID]int, len(segs))
	for i := range segs {
		if id := segs[i].ID; !id.IsZero() {
			if _, dup := ids[id]; !dup {
				ids[id] = i
			}
		}
	}
	return ids
}
