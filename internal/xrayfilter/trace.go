package xrayfilter

import "github.com/tracecomb/tracecomb/internal/model"

// Trace is the view of one trace that expressions are evaluated on. The
// caller builds it (from stored spans or segment documents); Match only reads
// it.
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
