// Package model owns tracecomb's one trace model: a span, a span event or a
// link is a Honeycomb event (a flat set of typed fields) with a few hot fields
// held in typed struct members. OTLP spans and X-Ray segments both decode into
// Event; every store, query and API speaks Event. Stdlib only.
package model

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Honeycomb field names of the hot fields that Event keeps as struct members.
const (
	FieldTraceID        = "trace.trace_id"
	FieldSpanID         = "trace.span_id"
	FieldParentID       = "trace.parent_id"
	FieldName           = "name"
	FieldServiceName    = "service.name"
	FieldDurationMs     = "duration_ms"
	FieldSpanKind       = "span.kind"
	FieldType           = "type" // Honeycomb repeats span.kind here
	FieldStatusCode     = "status_code"
	FieldError          = "error"
	FieldAnnotationType = "meta.annotation_type"
	FieldTimestamp      = "timestamp" // the event time, as Honeycomb's exports show it
)

// Annotation types: span events and links are events of their own.
const (
	AnnotationSpanEvent = "span_event"
	AnnotationLink      = "link"
)

// Source tells how an event was encoded when it came in: an OTLP span, an
// X-Ray segment document or a Honeycomb event.
type Source uint8

// Sources.
const (
	SourceOTLP Source = iota
	SourceXRay
	SourceEvents // Honeycomb /1/events and /1/batch
)

func (s Source) String() string {
	switch s {
	case SourceOTLP:
		return "otlp"
	case SourceXRay:
		return "xray"
	case SourceEvents:
		return "events"
	}
	return "unknown"
}

// Door names the service whose doors an event was sent to. Each API shows
// what its real service would show: Honeycomb's API reads what was sent to
// Honeycomb's doors (OTLP with a Honeycomb key, the Events API), X-Ray's API
// what was sent to X-Ray's (the daemon's UDP port, PutTraceSegments). The
// store keeps each door's events apart (store.DoorEnv).
type Door uint8

// Doors.
const (
	DoorHoneycomb Door = iota
	DoorXRay
)

func (d Door) String() string {
	if d == DoorXRay {
		return "xray"
	}
	return "honeycomb"
}

// ParseDoor reads a Door's String form.
func ParseDoor(s string) (Door, bool) {
	switch s {
	case "honeycomb":
		return DoorHoneycomb, true
	case "xray":
		return DoorXRay, true
	}
	return 0, false
}

// Kind is a typed value's type, named as Honeycomb names column types.
type Kind uint8

// Value kinds.
const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "integer"
	case KindFloat:
		return "float"
	case KindBool:
		return "boolean"
	}
	return "string"
}

// Value is a typed field value: string, int64, float64 or bool.
type Value struct {
	Kind Kind
	Str  string
	Int  int64 // also holds a bool as 0/1
	Flt  float64
}

// Str returns a string value.
func Str(s string) Value { return Value{Kind: KindString, Str: s} }

// Int returns an integer value.
func Int(i int64) Value { return Value{Kind: KindInt, Int: i} }

// Float returns a float value.
func Float(f float64) Value { return Value{Kind: KindFloat, Flt: f} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, Int: 1}
	}
	return Value{Kind: KindBool}
}

// AsBool returns the boolean held by a KindBool value.
func (v Value) AsBool() bool { return v.Int != 0 }

// Any returns the value as a Go value (string, int64, float64 or bool).
func (v Value) Any() any {
	switch v.Kind {
	case KindInt:
		return v.Int
	case KindFloat:
		return v.Flt
	case KindBool:
		return v.Int != 0
	}
	return v.Str
}

// String formats the value as text.
func (v Value) String() string {
	switch v.Kind {
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Flt, 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.Int != 0)
	}
	return v.Str
}

// AppendJSON appends the value as a JSON literal. Non-finite floats, which
// JSON cannot carry, are written as null.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind {
	case KindInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case KindFloat:
		if math.IsNaN(v.Flt) || math.IsInf(v.Flt, 0) {
			return append(dst, "null"...)
		}
		return appendFloat(dst, v.Flt)
	case KindBool:
		return strconv.AppendBool(dst, v.Int != 0)
	}
	return appendJSONString(dst, v.Str)
}

// Attr is one named field.
type Attr struct {
	Key   string
	Value Value
}

// Event is one Honeycomb event: a span, a span event or a link. The hot
// fields are struct members; every other field (flattened resource, scope and
// span attributes, Honeycomb's meta fields) is in Attrs, each key at most once
// and never one of the hot field names.
type Event struct {
	Dataset string // the dataset the event belongs to (trimmed service.name)
	Time    time.Time
	Source  Source

	TraceID  TraceID
	SpanID   SpanID // zero for span events and links
	ParentID SpanID // zero for root spans

	Name           string
	ServiceName    string
	DurationMs     float64
	SpanKind       string // client, server, producer, consumer, internal, unspecified; "" for non-spans
	StatusCode     int64  // OTLP status: 0 unset, 1 ok, 2 error
	Error          bool
	AnnotationType string // "" for spans, AnnotationSpanEvent or AnnotationLink
	SampleRate     int64  // ≥1

	Attrs []Attr

	// Doc is the original X-Ray segment document of this span (without its
	// embedded subsegments, which are spans of their own), or nil.
	Doc []byte
}

// IsSpan reports whether the event is a span: it has a span id and is not
// a span event or link. Anything else (a log record, a metric event, an
// Events API event without a span id) is a plain event, which has a
// duration_ms or status_code only if it was sent one.
func (e *Event) IsSpan() bool {
	return e.AnnotationType == "" && !e.SpanID.IsZero()
}

// Set assigns a field by its Honeycomb name, routing hot fields to their
// struct members (a value of the wrong type for a hot field is kept as an
// ordinary attribute so nothing is lost) and replacing an existing attribute
// of the same key. It is the slow, general path; decoders on hot paths may
// fill the members and Attrs directly.
func (e *Event) Set(key string, v Value) {
	switch key {
	case FieldName:
		if v.Kind == KindString {
			e.Name = v.Str
			return
		}
	case FieldServiceName:
		if v.Kind == KindString {
			e.ServiceName = v.Str
			return
		}
	case FieldDurationMs:
		switch v.Kind {
		case KindFloat:
			e.DurationMs = v.Flt
			return
		case KindInt:
			e.DurationMs = float64(v.Int)
			return
		}
	case FieldSpanKind:
		if v.Kind == KindString {
			e.SpanKind = v.Str
			return
		}
	case FieldStatusCode:
		if v.Kind == KindInt {
			e.StatusCode = v.Int
			return
		}
	case FieldError:
		if v.Kind == KindBool {
			e.Error = v.AsBool()
			return
		}
	case FieldAnnotationType:
		if v.Kind == KindString {
			e.AnnotationType = v.Str
			return
		}
	case FieldTraceID:
		if v.Kind == KindString {
			if id, err := ParseTraceID(v.Str); err == nil {
				e.TraceID = id
				return
			}
		}
	case FieldSpanID:
		if v.Kind == KindString {
			if id, err := ParseSpanID(v.Str); err == nil {
				e.SpanID = id
				return
			}
		}
	case FieldParentID:
		if v.Kind == KindString {
			if id, err := ParseSpanID(v.Str); err == nil {
				e.ParentID = id
				return
			}
		}
	case FieldType:
		// Honeycomb writes the span kind twice; the member is the truth.
		if v.Kind == KindString && v.Str == e.SpanKind {
			return
		}
	}
	for i := range e.Attrs {
		if e.Attrs[i].Key == key {
			e.Attrs[i].Value = v
			return
		}
	}
	e.Attrs = append(e.Attrs, Attr{Key: key, Value: v})
}

// Get returns a field by its Honeycomb name, hot fields included: the
// member when it holds the field, else an attribute of that name (a value
// Set kept because it did not fit the member).
func (e *Event) Get(key string) (Value, bool) {
	if v, ok := e.member(key); ok {
		return v, true
	}
	for i := range e.Attrs {
		if e.Attrs[i].Key == key {
			return e.Attrs[i].Value, true
		}
	}
	return Value{}, false
}

// member returns a hot field held by its struct member.
func (e *Event) member(key string) (Value, bool) {
	switch key {
	case FieldTraceID:
		return Str(e.TraceID.HoneycombString()), !e.TraceID.IsZero()
	case FieldSpanID:
		return Str(e.SpanID.String()), !e.SpanID.IsZero()
	case FieldParentID:
		return Str(e.ParentID.String()), !e.ParentID.IsZero()
	case FieldName:
		return Str(e.Name), e.Name != ""
	case FieldServiceName:
		return Str(e.ServiceName), e.ServiceName != ""
	case FieldDurationMs:
		return Float(e.DurationMs), e.IsSpan() || e.DurationMs != 0
	case FieldSpanKind, FieldType:
		return Str(e.SpanKind), e.SpanKind != ""
	case FieldStatusCode:
		return Int(e.StatusCode), e.IsSpan() || e.StatusCode != 0
	case FieldError:
		return Bool(true), e.Error
	case FieldAnnotationType:
		return Str(e.AnnotationType), e.AnnotationType != ""
	}
	return Value{}, false
}

// Range calls fn for every field the event has, hot fields first, in the
// order Honeycomb users read them, then the attributes. It stops when fn
// returns false.
func (e *Event) Range(fn func(key string, v Value) bool) {
	for _, k := range hotFields {
		if v, ok := e.member(k); ok {
			if !fn(k, v) {
				return
			}
		}
	}
	for _, a := range e.Attrs {
		if !fn(a.Key, a.Value) {
			return
		}
	}
}

var hotFields = []string{
	FieldTraceID, FieldSpanID, FieldParentID, FieldName, FieldServiceName,
	FieldDurationMs, FieldSpanKind, FieldType, FieldStatusCode, FieldError, FieldAnnotationType,
}

// AppendJSON appends the event as one flat JSON object with Honeycomb's field
// names plus "timestamp" (RFC 3339 with nanoseconds).
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = appendJSONString(dst, FieldTimestamp)
	dst = append(dst, ':', '"')
	dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	e.Range(func(k string, v Value) bool {
		dst = append(dst, ',')
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = v.AppendJSON(dst)
		return true
	})
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

func appendFloat(dst []byte, f float64) []byte {
	// JSON numbers: like encoding/json, 'f' for ordinary magnitudes, 'e' beyond.
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

func appendJSONString(dst []byte, s string) []byte {
	// Fast path for strings that need no escaping.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
