package xrayview

import (
	"github.com/tracecomb/tracecomb/internal/model"
)

// Detail says how much of a trace Convert builds.
type Detail uint8

// Details.
const (
	// Full builds every span's segment document and whole Segment:
	// annotations, http request, user, resources, cause exceptions.
	Full Detail = iota
	// GraphOnly builds what the service graph reads: ids, names, namespace,
	// sql, table, origin, account, times, flags and HTTP status. X-Ray
	// spans are seen through their attributes (no document is read), other
	// spans without annotations; View.Entities is nil.
	GraphOnly
)

// View is one trace's stored spans seen as X-Ray segments and subsegments.
type View struct {
	// Trace is the filter and graph view; Trace.Segments[i] is the span
	// of Entities[i]. The caller may set Trace.Partial and
	// Trace.RootCauses.
	Trace Trace
	// Entities holds each span's document and cause (Full detail only).
	Entities []Entity
}

// Entity is what the X-Ray API returns of one span beyond its Segment.
type Entity struct {
	// Doc is the span's own segment document, without embedded
	// subsegments: the stored one for an X-Ray span, else rendered from
	// its attributes.
	Doc []byte
	// Exceptions are the exceptions of its cause (type as Name, message).
	Exceptions []CauseException

	// What an inferred segment copies from the calling subsegment: the
	// http and aws blocks of a stored document, or of a rendered one.
	http, aws []byte
	rendered  *rendered
}

// IsExceptionEvent reports whether ev is an OpenTelemetry span event
// recording an exception (semantic conventions: event name "exception"),
// which Convert makes the cause of its span.
func IsExceptionEvent(ev *model.Event) bool {
	return ev.AnnotationType == model.AnnotationSpanEvent && ev.Name == "exception" && ev.Source != model.SourceXRay
}

// Convert sees the stored events of trace id as X-Ray entities (see the
// package comment): one entity per span, in the order of the spans' first
// appearance, the spans stored twice once (Prefer). events are only read;
// the View refers to their documents.
func Convert(id model.TraceID, events []model.Event, detail Detail) *View {
	v := &View{Trace: Trace{ID: id}}
	bridged, reparent := bridgedSpans(events)
	var exceptions map[model.SpanID][]*model.Event
	if detail == Full {
		exceptions = exceptionEvents(events)
	}
	// One event per span id: the first one's place, the one Prefer keeps.
	chosen := make([]int, 0, len(events))
	at := make(map[model.SpanID]int, len(events))
	for i := range events {
		ev := &events[i]
		if !ev.IsSpan() {
			continue
		}
		if _, ok := bridged[ev.SpanID]; ok {
			continue
		}
		if j, ok := at[ev.SpanID]; ok {
			if Prefer(&events[chosen[j]], ev) {
				chosen[j] = i
			}
			continue
		}
		at[ev.SpanID] = len(chosen)
		chosen = append(chosen, i)
	}
	v.Trace.Segments = make([]Segment, len(chosen))
	if detail == Full {
		v.Entities = make([]Entity, len(chosen))
	}
	for k, i := range chosen {
		ev := &events[i]
		if p, ok := reparent[ev.SpanID]; ok {
			e := *ev
			e.ParentID = p
			ev = &e
		}
		s := &v.Trace.Segments[k]
		switch {
		case detail == Full:
			v.Entities[k] = entity(ev, exceptions[ev.SpanID], s)
		case ev.Source == model.SourceXRay && len(ev.Doc) > 0:
			graphSegment(ev, s)
		default:
			render(ev, nil, false, s)
		}
	}
	return v
}

// entity builds one span's entity and Segment.
func entity(ev *model.Event, exceptions []*model.Event, s *Segment) Entity {
	if ev.Source == model.SourceXRay && len(ev.Doc) > 0 {
		if d, err := Read(ev.Doc); err == nil {
			docSegment(&d, s)
			s.ID, s.ParentID, s.Subsegment = ev.SpanID, ev.ParentID, !isSegmentSpan(ev)
			if s.Start == 0 {
				s.Start = epochSeconds(ev)
			}
			// Complete or in progress as the decoder judged it (the rule
			// Prefer reads): a segment with an end_time is complete, and
			// one that ends before it starts lasted no time.
			s.InProgress = InProgress(ev)
			s.End, _ = JSONNumber(d.EndTime)
			switch {
			case s.InProgress:
				s.End = 0
			case s.End < s.Start:
				s.End = s.Start
			}
			return Entity{Doc: ev.Doc, Exceptions: causeExceptions(d.Cause), http: d.HTTP, aws: d.AWS}
		}
	}
	r := render(ev, exceptions, true, s)
	return Entity{Doc: r.document(), Exceptions: r.exceptions(), rendered: r}
}

// graphSegment fills s, the graph's view of a stored X-Ray span, from the
// attributes its decoder wrote.
func graphSegment(ev *model.Event, s *Segment) {
	*s = Segment{
		ID: ev.SpanID, ParentID: ev.ParentID, Subsegment: !isSegmentSpan(ev), Name: ev.Name,
		Start: epochSeconds(ev),
	}
	for i := range ev.Attrs {
		a := &ev.Attrs[i]
		switch a.Key {
		case KeyNamespace:
			s.Namespace = a.Value.Str
		case KeyInferred:
			s.Inferred = a.Value.AsBool()
		case KeyTableName:
			if a.Value.Kind == model.KindString {
				s.TableName = a.Value.Str
			}
		case KeyOrigin:
			s.Origin = a.Value.Str
		case KeyAccountID:
			s.AccountID = a.Value.Str
		case KeyInProgress:
			s.InProgress = a.Value.AsBool()
		case KeyError:
			s.Error = a.Value.AsBool()
		case KeyFault:
			s.Fault = a.Value.AsBool()
		case KeyThrottle:
			s.Throttle = a.Value.AsBool()
		case KeyHTTPStatus:
			if a.Value.Kind == model.KindInt {
				s.HTTP.Status = HTTPStatus(a.Value.Int)
			}
		case KeyDBConnectionString, KeyDBSystem, KeyDBStatement, KeyDBUser, KeySQLDatabaseVersion,
			KeySQLDriverVersion, KeySQLPreparation:
			s.SQL = true
		}
	}
	if s.Subsegment {
		// Subsegments carry their segment's resource attributes; their
		// documents have no origin or account.
		s.Origin, s.AccountID = "", ""
	}
	if !s.InProgress {
		s.End = s.Start + ev.DurationMs/1000
	}
}

// bridgedSpans decides which spans the X-Ray view leaves out when an app
// traces with both SDKs at once (as the Cruddur backend does): in a trace
// where a service reported X-Ray segments, that service's OpenTelemetry
// spans describe the same requests again, so the X-Ray view keeps what the
// X-Ray SDK reported — what the app meant X-Ray to see — and each request
// counts once in the service graph. Services that sent only OTel spans
// stay in the view, rendered as segments. It returns the OTel span ids to
// leave out and the new parents of spans whose parent was left out: the
// nearest ancestor that stays (zero when there is none).
func bridgedSpans(events []model.Event) (bridged map[model.SpanID]model.SpanID, reparent map[model.SpanID]model.SpanID) {
	var xrayServices map[string]bool
	for i := range events {
		ev := &events[i]
		if ev.Source == model.SourceXRay && ev.IsSpan() && ev.ServiceName != "" {
			if xrayServices == nil {
				xrayServices = map[string]bool{}
			}
			xrayServices[ev.ServiceName] = true
		}
	}
	if xrayServices == nil {
		return nil, nil
	}
	for i := range events {
		ev := &events[i]
		if ev.Source != model.SourceXRay && ev.IsSpan() && xrayServices[ev.ServiceName] {
			if bridged == nil {
				bridged = map[model.SpanID]model.SpanID{}
			}
			bridged[ev.SpanID] = ev.ParentID
		}
	}
	if bridged == nil {
		return nil, nil
	}
	reparent = map[model.SpanID]model.SpanID{}
	for i := range events {
		ev := &events[i]
		if !ev.IsSpan() {
			continue
		}
		if _, gone := bridged[ev.SpanID]; gone {
			continue
		}
		p, moved := ev.ParentID, false
		for hops := 0; hops <= len(bridged); hops++ { // bounded: parent cycles end too
			up, gone := bridged[p]
			if !gone {
				break
			}
			p, moved = up, true
		}
		if moved {
			reparent[ev.SpanID] = p
		}
	}
	return bridged, reparent
}

// exceptionEvents returns the OpenTelemetry exception events of a trace by
// the id of their span.
func exceptionEvents(events []model.Event) map[model.SpanID][]*model.Event {
	var out map[model.SpanID][]*model.Event
	for i := range events {
		ev := &events[i]
		if IsExceptionEvent(ev) {
			if out == nil {
				out = map[model.SpanID][]*model.Event{}
			}
			out[ev.ParentID] = append(out[ev.ParentID], ev)
		}
	}
	return out
}
